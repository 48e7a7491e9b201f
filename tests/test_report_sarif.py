"""SARIF output validates against the official SARIF 2.1.0 schema; the JSON report against `kcompat schema`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import jsonschema
import pytest

from kcompat.catalog import load_catalog
from kcompat.config import RunConfig
from kcompat.model import Finding, Severity
from kcompat.report import WRITERS, sarif
from kcompat.pipeline.runner import check_paths

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text("utf-8"))
# RFC 3986 URI-reference characters (jsonschema does not check "uri-reference" without extra packages)
URI_REF = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


def make_tree(root: Path) -> None:
    (root / "sub dir").mkdir()
    (root / "sub dir" / "model #1.h5").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 20480\n")
    with h5py.File(root / "w.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.create_group("dense").attrs["weight_names"] = []
    (root / "m.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(56))
    (root / "empty.h5").write_bytes(b"")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "kcompat", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture()
def report(tmp_path, monkeypatch):
    make_tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    rep = check_paths(["."], RunConfig())
    entry = rep.artifacts[0]
    entry.findings.append(Finding(code="KC999", name="not-in-catalog", severity=Severity.info, message="m",
                                  path=entry.artifact.path, location="outer/inner", fingerprint="abc"))
    return rep


def validate(document: dict) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(document)


def test_schema_copy_is_the_official_one():
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(SCHEMA)


def test_sarif_validates_and_maps_fields(report):
    document = json.loads(WRITERS["sarif"](report))
    validate(document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    catalog = load_catalog()
    assert set(catalog) <= set(ids) and "KC999" in ids
    kc101 = rules[ids.index("KC101")]
    assert kc101["name"] == "lfs-pointer"
    assert kc101["shortDescription"]["text"] == catalog["KC101"].title
    assert kc101["defaultConfiguration"]["level"] == "error"
    assert "git lfs pull" in kc101["help"]["markdown"] and "How to fix" in kc101["help"]["text"]
    assert rules[ids.index("KC111")]["defaultConfiguration"]["level"] == "warning"
    assert rules[ids.index("KC118")]["defaultConfiguration"]["level"] == "note"

    results = run["results"]
    assert len(results) == len(report.findings)
    for result, finding in zip(results, report.findings):
        assert result["ruleId"] == finding.code
        assert rules[result["ruleIndex"]]["id"] == finding.code
        assert result["level"] == {"error": "error", "warning": "warning", "info": "note"}[finding.severity.value]
        assert result["partialFingerprints"] == {"kcompat/v1": finding.fingerprint}
        assert result["message"]["text"].startswith(finding.message)
        if finding.fix:
            assert finding.fix in result["message"]["text"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert URI_REF.match(uri), uri
        assert not uri.startswith("/")
        if finding.location:
            logical = result["locations"][0]["logicalLocations"][0]
            assert logical["fullyQualifiedName"] == finding.location
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "sub%20dir/model%20%231.h5" in uris
    extra = [r for r in results if r["ruleId"] == "KC999"][0]
    assert extra["locations"][0]["logicalLocations"][0]["name"] == "inner"


def test_artifact_uri():
    assert sarif.artifact_uri("models/a b.h5") == "models/a%20b.h5"
    assert sarif.artifact_uri("/abs/m.keras") == "file:///abs/m.keras"
    assert sarif.artifact_uri("odd:name.h5") == "odd%3Aname.h5"  # never read as a URI scheme
    assert sarif.artifact_uri("C:\\m\\a.h5") == "file:///C:/m/a.h5"


def test_cli_writes_sarif_and_json_that_validate(tmp_path):
    make_tree(tmp_path)
    proc = run_cli("check", ".", "--no-env", "-o", "sarif=out/r.sarif", "--json", "out/r.json", "-o", "html=out/r.html",
                   cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    validate(json.loads((tmp_path / "out" / "r.sarif").read_text("utf-8")))
    schema = run_cli("schema", cwd=tmp_path)
    assert schema.returncode == 0, schema.stderr
    validator_cls = jsonschema.validators.validator_for(json.loads(schema.stdout))
    validator_cls(json.loads(schema.stdout)).validate(json.loads((tmp_path / "out" / "r.json").read_text("utf-8")))
    assert (tmp_path / "out" / "r.html").read_text("utf-8").startswith("<!DOCTYPE html>")


def test_json_report_with_loads_validates_against_kcompat_schema(report):
    schema = json.loads(run_cli("schema", cwd=REPO).stdout)
    report.artifacts[0].loads = [{"loader": "keras", "strategy": "default", "status": "ok", "wall_s": 1.0,
                                  "max_abs_diff": 0.0, "code": None, "message": None}]
    document = json.loads(WRITERS["json"](report))
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    broken = dict(document, artifacts="not a list")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(broken)
