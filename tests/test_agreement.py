"""Agreement with reality: the static verdict per loader against the manifest's observed real loads.

The observed outcomes were recorded by really loading each fixture in the reference environment
(TF 2.21, Keras 3.15.1, tf_keras 2.21); the verdict here comes from the static rules run against the
shipped profile of that same environment. Target: at least 95% of fixture x loader pairs agree.
"""

from __future__ import annotations

import json

from kcompat.config import RunConfig
from kcompat.env import load_profile
from kcompat.env.targets import shipped
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
OBSERVED_KEYS = {"keras_compile": "keras", "keras_nocompile": "keras-nocompile", "tf_keras": "tf_keras",
                 "tf_saved_model": "tf_saved_model", "tfsmlayer": "tfsmlayer"}


def pairs():
    env = load_profile(str(shipped()["keras3.15-tf2.21"]))
    entries = json.loads((FIXTURES / "manifest.json").read_text())["entries"]
    for entry in entries:
        if not entry.get("observed"):
            continue
        report = check_paths([str(FIXTURES / entry["path"])], RunConfig(), env=env)
        verdict = {v["loader"]: v for artifact in report.artifacts for v in artifact.verdict}
        for key, outcome in entry["observed"].items():
            loader = OBSERVED_KEYS[key]
            if outcome.get("ok") is None:
                continue
            predicted = verdict.get(loader)
            # A format kcompat gives no verdict for (a checkpoint, weights-only file, broken copy) is
            # predicted to fail every model loader: those are KC1xx errors that break all of them.
            said_ok = predicted["ok"] if predicted else not any(
                f.severity.value == "error" for f in report.findings)
            yield entry["id"], loader, said_ok, outcome, (predicted or {}).get("codes", [])


def test_static_verdict_agrees_with_real_loads(capsys):
    rows = list(pairs())
    assert len(rows) >= 200, "the manifest's observed outcomes are missing"
    wrong = [r for r in rows if r[2] != r[3]["ok"]]
    share = 1 - len(wrong) / len(rows)
    with capsys.disabled():
        print(f"\nstatic verdict vs real load: {len(rows) - len(wrong)}/{len(rows)} fixture x loader pairs agree "
              f"({share:.1%})")
        for fixture, loader, said_ok, outcome, codes in wrong:
            real = "ok" if outcome["ok"] else f"{outcome['exception']}: {(outcome['message'] or '')[:90]}"
            print(f"  DISAGREE {fixture} [{loader}] static={'ok' if said_ok else 'fails ' + ','.join(codes)} real={real}")
    assert share >= 0.95
