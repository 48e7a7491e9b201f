"""A healthy model's guarded load is quiet: 0 warnings and exit 0 under every strategy."""

from __future__ import annotations

import json

import pytest

from kcompat.cli import main
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"


@pytest.mark.slow
@pytest.mark.parametrize("fixture,extra", [
    ("keras3.15-tf2.21/seq_compiled.keras", []),  # a Keras 3 model, meant for keras
    ("tf2.15/seq_compiled.h5", ["--loader", "tf_keras"]),  # a Keras 2 .h5, loaded with tf_keras
])
def test_healthy_model_under_every_strategy_reports_no_warning(fixture, extra, tmp_path):
    out = tmp_path / "report.json"
    rc = main(["check", "--load", str(FIXTURES / fixture), *extra, "-o", f"json={out}", "-q"])
    report = json.loads(out.read_text())
    entry = report["artifacts"][0]
    strategies = {a["strategy"] for a in entry["loads"]}
    assert {"default", "one-device-cpu", "mirrored", "multi-worker"} <= strategies
    assert any(a["status"] == "ok" for a in entry["loads"])
    loud = [(f["code"], f["severity"], f["message"][:120]) for f in entry["findings"] if f["severity"] != "info"]
    assert loud == [] and rc == 0
