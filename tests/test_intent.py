"""Intended loaders decide the gate: a serving export is judged by the loaders it is meant for."""

from __future__ import annotations

import json

from kcompat.config import LoadConfig, RunConfig
from kcompat.pipeline.runner import check_paths
from tests.envbuild import build_env
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"


def serving_exports():
    """Every SavedModel in the fixtures (ours and wild) that tf.saved_model.load and TFSMLayer really load."""
    for manifest in ("manifest.json", "wild/manifest.json"):
        for entry in json.loads((FIXTURES / manifest).read_text())["entries"]:
            seen = entry.get("observed") or {}
            if entry["format"] == "saved-model" and all(seen.get(k, {}).get("ok") for k in ("tf_saved_model", "tfsmlayer")):
                yield entry["id"], FIXTURES / entry["path"]


def test_serving_exports_pass_the_default_gate_and_fail_under_keras():
    env = build_env({"preset": "keras3.15-tf2.21"})
    exports = list(serving_exports())
    assert len(exports) >= 15
    for fixture, path in exports:
        report = check_paths([str(path)], RunConfig(), env=env)
        assert report.exit_code == 0, (fixture, [(f.code, f.severity.value) for f in report.findings])
        entry = report.artifacts[0]
        assert {"tf_saved_model", "tfsmlayer"} <= set(entry.intended)
        kc204 = [f for f in report.findings if f.code == "KC204"]
        assert kc204 and kc204[0].severity.value == "warning" and "only under keras" in kc204[0].message
        assert {v["loader"]: v["ok"] for v in entry.verdict}["keras"] is False  # the verdict still says it

        as_keras = check_paths([str(path)], RunConfig(load=LoadConfig(loaders=["keras"])), env=env)
        assert as_keras.exit_code == 1
        assert any(f.code == "KC204" and f.severity.value == "error" for f in as_keras.findings), fixture


def test_a_keras_model_keeps_its_errors():
    env = build_env({"preset": "keras3.15-tf2.21"})
    report = check_paths([str(FIXTURES / "tf2.15" / "depthwise.h5")], RunConfig(), env=env)
    assert report.artifacts[0].intended == ["keras", "keras-nocompile"]
    assert any(f.code == "KC302" and f.severity.value == "error" for f in report.findings)
    assert report.exit_code == 1


def test_a_weights_file_is_judged_by_its_restore_path():
    env = build_env({"preset": "keras3.15-tf2.21"})
    report = check_paths([str(FIXTURES / "tf2.15" / "seq_compiled_weights.h5")], RunConfig(), env=env)
    kc107 = [f for f in report.findings if f.code == "KC107"]
    assert kc107 and kc107[0].severity.value == "warning"
    assert report.artifacts[0].intended == []
