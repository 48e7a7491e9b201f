"""`kcompat check --load` end to end: the matrix lands in the report, failures speak the static codes."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT, run_check_json

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "fixtures"


def test_check_load_reports_matrix_and_confirms_static_findings(tmp_path):
    broken = FIXTURES / "keras3.15-tf2.21" / "custom_unregistered.keras"
    healthy = FIXTURES / "keras3.15-tf2.21" / "seq_uncompiled.keras"
    proc, report = run_check_json(str(broken), str(healthy), extra=("--load", "--strategy", "default",
                                                                    "--strategy", "mirrored"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    by_path = {a["artifact"]["path"]: a for a in report["artifacts"]}
    bad, good = by_path[str(broken)], by_path[str(healthy)]
    assert {(a["loader"], a["strategy"]) for a in bad["loads"]} >= {("keras", "default"), ("keras", "mirrored")}
    keras_default = next(a for a in bad["loads"] if a["loader"] == "keras" and a["strategy"] == "default")
    assert keras_default["status"] == "error" and keras_default["code"] == "KC301"
    custom = [f for f in bad["findings"] if f["code"] == "KC301"]
    assert custom and "keras/default" in custom[0]["evidence"].get("confirmed_by_load", "")
    assert not [f for f in bad["findings"] if f["code"] == "KC808"], bad["findings"]
    ok = [a for a in good["loads"] if a["loader"] == "keras"]
    assert ok and all(a["status"] == "ok" for a in ok)
    mirrored = next(a for a in ok if a["strategy"] == "mirrored")
    assert mirrored["num_replicas"] == 2 and mirrored["agrees"] is True
    assert not [f for f in good["findings"] if f["severity"] == "error"], good["findings"]
