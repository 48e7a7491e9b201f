"""Baseline flow with the real CLI: record, unchanged passes, new fails, fixed is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_config import run_cli

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 20480\n".format("b" * 64)
WEIGHTS_ONLY = ROOT / "fixtures" / "tf2.15" / "rnn_weights.h5"  # KC107 error
HEALTHY = ROOT / "fixtures" / "tf2.15" / "seq_uncompiled.h5"  # no findings expected


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "models" / "pointer.h5").write_text(POINTER)
    shutil.copyfile(WEIGHTS_ONLY, root / "models" / "weights.h5")
    return root


def check(cwd: Path, *args: str):
    return run_cli("check", *args, "--no-env", "--no-report", cwd=cwd)


def record(cwd: Path, *args: str) -> dict:
    proc = run_cli("baseline", *args, "--no-env", cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "recorded 2 finding(s)" in proc.stdout, proc.stdout
    return json.loads((cwd / ".kcompat-baseline.json").read_text())


def test_record_then_unchanged_then_new_then_fixed(project):
    data = record(project, "models")
    assert [(f["code"], f["path"]) for f in data["findings"]] == [("KC101", "models/pointer.h5"), ("KC107", "models/weights.h5")]
    assert all(len(f["fingerprint"]) == 16 for f in data["findings"])
    assert not (project / "reports").exists()  # recording writes no report

    assert check(project, "models").returncode == 1  # without the baseline it fails
    unchanged = check(project, "models", "--baseline", ".kcompat-baseline.json")
    assert unchanged.returncode == 0, unchanged.stdout
    assert "0 new finding(s), 2 suppressed, 0 fixed" in unchanged.stdout
    assert "KC101 error" not in unchanged.stdout and "KC107 error" not in unchanged.stdout

    (project / "models" / "new.h5").write_text(POINTER)
    new = check(project, "models", "--baseline", ".kcompat-baseline.json")
    assert new.returncode == 1, new.stdout
    assert "1 new finding(s), 2 suppressed, 0 fixed" in new.stdout
    assert "models/new.h5" in new.stdout and "  KC101 error" in new.stdout
    assert new.stdout.count("  KC101 error") == 1

    (project / "models" / "new.h5").unlink()
    shutil.copyfile(HEALTHY, project / "models" / "pointer.h5")
    fixed = check(project, "models", "--baseline", ".kcompat-baseline.json")
    assert fixed.returncode == 0, fixed.stdout
    assert "0 new finding(s), 1 suppressed, 1 fixed" in fixed.stdout
    assert "fixed: KC101 lfs-pointer in models/pointer.h5" in fixed.stdout


def test_match_ignores_how_the_path_is_written_and_unstable_fields(project):
    record(project, "models")
    baseline = project / ".kcompat-baseline.json"
    data = json.loads(baseline.read_text())
    for item in data["findings"]:  # messages, severities and order are not matched
        item["message"] = "saved by some other version"
        item["severity"] = "info"
    data["findings"].reverse()
    baseline.write_text(json.dumps(data))
    for cwd, paths in ((project, ["./models/"]), (project, [str(project / "models")]),
                       (project / "models", ["pointer.h5", "weights.h5"])):
        proc = check(cwd, *paths, "--baseline", str(baseline))
        assert proc.returncode == 0, (cwd, paths, proc.stdout)
        assert "2 suppressed" in proc.stdout


def test_only_checked_artifacts_count_as_fixed(project):
    """pre-commit passes only the changed files: baselined findings of other files are not 'fixed'."""
    record(project, "models")
    proc = check(project / "models", "weights.h5", "--baseline", "../.kcompat-baseline.json")
    assert proc.returncode == 0, proc.stdout
    assert "0 new finding(s), 1 suppressed, 0 fixed" in proc.stdout


def test_json_report_carries_the_baseline(project):
    record(project, "models")
    shutil.copyfile(HEALTHY, project / "models" / "pointer.h5")
    (project / "models" / "new.h5").write_text(POINTER)
    proc = run_cli("check", "models", "--no-env", "--baseline", ".kcompat-baseline.json", "--json", "r.json", cwd=project)
    assert proc.returncode == 1
    report = json.loads((project / "r.json").read_text())
    assert report["exit_code"] == 1
    codes = [(a["artifact"]["path"], f["code"]) for a in report["artifacts"] for f in a["findings"]]
    assert codes == [("models/new.h5", "KC101")], codes
    notes = {a["artifact"]["path"]: a["artifact"]["notes"].get("baseline") for a in report["artifacts"]}
    assert [f["code"] for f in notes["models/weights.h5"]["suppressed"]] == ["KC107"]
    assert [f["code"] for f in notes["models/pointer.h5"]["fixed"]] == ["KC101"]
    if "baseline" in report:  # once Report carries the top-level summary
        assert report["baseline"]["new"] == 1 and report["baseline"]["suppressed"] == 1
        assert [f["code"] for f in report["baseline"]["fixed"]] == ["KC101"]


def test_baseline_from_the_config_file(project):
    (project / "ci").mkdir()
    (project / ".kcompat.toml").write_text('baseline = "ci/kcompat-baseline.json"\n')
    proc = run_cli("baseline", ".", "--no-env", cwd=project / "models")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((project / "ci" / "kcompat-baseline.json").read_text())
    assert {f["path"] for f in data["findings"]} == {"../models/pointer.h5", "../models/weights.h5"}
    proc = check(project / "models", ".")
    assert proc.returncode == 0 and "2 suppressed" in proc.stdout, proc.stdout


def test_a_missing_or_broken_baseline_is_exit_2(project):
    proc = check(project, "models", "--baseline", "nope.json")
    assert proc.returncode == 2
    assert proc.stderr.startswith("kcompat: error: nope.json: no such baseline file") and len(proc.stderr.splitlines()) == 1
    (project / "bad.json").write_text("[1, 2]")
    proc = check(project, "models", "--baseline", "bad.json")
    assert proc.returncode == 2 and "not a kcompat baseline" in proc.stderr
