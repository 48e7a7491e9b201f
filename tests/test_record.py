"""Records: what they convert, what they refuse, and that pydantic still has the last word on types and JSON."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kcompat.config import LoadConfig, RunConfig
from kcompat.model import Artifact, ArtifactReport, Finding, Format, Layer, Report, Severity, Weight
from kcompat.pipeline.runner import check_paths
from kcompat.record import mirror

ROOT = Path(__file__).resolve().parent.parent


def test_construction_converts_what_pydantic_converted():
    finding = Finding(code="KC100", name="x", severity="warning", message="m", path="p")
    assert finding.severity is Severity.warning
    artifact = Artifact(path="p", format="keras-zip", layers=[{"path": "a", "name": "a", "class_name": "Dense"}],
                        weights=[Weight(name="w", shape=(2, 3), dtype="float32")])
    assert artifact.format is Format.keras_zip
    assert isinstance(artifact.layers[0], Layer) and artifact.layers[0].config == {}
    assert artifact.weights[0].shape == [2, 3]
    assert LoadConfig(timeout_s=5).timeout_s == 5.0 and isinstance(LoadConfig(timeout_s=5).timeout_s, float)


def test_defaults_are_not_shared_and_unknown_fields_are_refused():
    a, b = Artifact(path="a", format="unknown"), Artifact(path="b", format="unknown")
    a.members.append("x")
    assert b.members == []
    with pytest.raises(TypeError, match="no field 'colour'"):
        Artifact(path="a", format="unknown", colour=1)
    with pytest.raises(TypeError, match="missing field 'format'"):
        Artifact(path="a")


def test_a_frozen_record_refuses_assignment():
    from kcompat.catalog import load_catalog

    rule = load_catalog()["KC100"]
    with pytest.raises(TypeError, match="frozen"):
        rule.severity = Severity.info


def test_validators_run_on_construction_and_in_validation():
    assert RunConfig(target="keras==3.9.2").target == ["keras==3.9.2"]
    assert RunConfig.model_validate({"target": "latest", "fail-on": "warning"}).fail_on is Severity.warning
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        RunConfig.model_validate({"jobs": 0})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RunConfig.model_validate({"colour": "red"})


@pytest.fixture(scope="module")
def report() -> Report:
    # every fixture: ours, the damaged and hostile ones under derived/, and the real-world corpus
    return check_paths([str(ROOT / "fixtures")], RunConfig(jobs=2))


def test_reports_read_by_pydantic_are_the_same_records(report):
    # nothing validates a reader's facts as they are made: pydantic checks every field's type here
    assert len(report.artifacts) > 400
    for entry in report.artifacts:
        assert ArtifactReport.model_validate(entry.model_dump()) == entry
        assert ArtifactReport.from_data(json.loads(entry.model_dump_json())) == entry  # a worker's JSON, read back


def test_json_is_what_pydantic_writes(report):
    model = mirror(Report)
    assert report.model_dump_json(indent=2) == model.model_validate(report.model_dump()).model_dump_json(indent=2)
    assert json.loads(report.model_dump_json()) == report.model_dump(mode="json")
    assert Report.model_validate_json(report.model_dump_json()) == report


def test_copies_and_pickles_are_equal_and_independent(report):
    entry = report.artifacts[0]
    deep = entry.model_copy(deep=True)
    assert deep == entry and deep.artifact is not entry.artifact
    deep.artifact.notes["x"] = 1
    assert "x" not in entry.artifact.notes
    assert pickle.loads(pickle.dumps(entry)) == entry == copy.deepcopy(entry)
    assert entry.model_copy(update={"intended": ["keras"]}).intended == ["keras"]


def test_a_static_check_imports_no_pydantic(tmp_path):
    artifact = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_compiled.keras"
    code = ("import sys; from kcompat.cli import main; "
            f"code = main(['check', '-q', '--no-report', '--jobs', '2', {str(artifact)!r}, {str(artifact)!r}]); "
            "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))")
    for _ in range(2):  # the first may probe the environment: the probe's output is validated by pydantic
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.stdout.split("\n")[-2] == "0 []", out.stdout + out.stderr
