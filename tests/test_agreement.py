"""Agreement with reality: the static verdict per loader against the manifest's observed real loads.

The observed outcomes were recorded by really loading each fixture in the reference environment
(TF 2.21, Keras 3.15.1, tf_keras 2.21); the verdict here comes from the static rules run against the
shipped profile of that same environment. Targets: at least 95% of our own fixtures' fixture x loader
pairs agree, at least 98% of the real-world corpus's (fixtures/wild, written by other people), and
among the pairs that really load, at most 1% are predicted to fail (a false error blocks a good model).
"""

from __future__ import annotations

import json

from kcompat.config import RunConfig
from kcompat.releases.store import profile
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
OBSERVED_KEYS = {"keras_compile": "keras", "keras_nocompile": "keras-nocompile", "tf_keras": "tf_keras",
                 "tf_saved_model": "tf_saved_model", "tfsmlayer": "tfsmlayer",
                 "keras_json": "keras", "tf_keras_json": "tf_keras"}  # model_from_json of a json config


def pairs(manifest: str = "manifest.json"):
    env = profile("keras3.15-tf2.21")
    entries = json.loads((FIXTURES / manifest).read_text())["entries"]
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


def report(rows, label: str, capsys) -> tuple[float, float]:
    wrong = [r for r in rows if r[2] != r[3]["ok"]]
    loads = [r for r in rows if r[3]["ok"]]
    false_errors = [r for r in loads if not r[2]]
    share = 1 - len(wrong) / len(rows)
    with capsys.disabled():
        print(f"\n{label}: static verdict vs real load: {len(rows) - len(wrong)}/{len(rows)} fixture x loader pairs "
              f"agree ({share:.1%}); false errors {len(false_errors)}/{len(loads)} of the pairs that load")
        for fixture, loader, said_ok, outcome, codes in wrong:
            real = "ok" if outcome["ok"] else f"{outcome['exception']}: {(outcome['message'] or '')[:90]}"
            print(f"  DISAGREE {fixture} [{loader}] static={'ok' if said_ok else 'fails ' + ','.join(codes)} real={real}")
    return share, len(false_errors) / max(1, len(loads))


def test_static_verdict_agrees_with_real_loads(capsys):
    rows = list(pairs())
    assert len(rows) >= 200, "the manifest's observed outcomes are missing"
    share, _ = report(rows, "fixtures", capsys)
    assert share >= 0.95


def test_static_verdict_agrees_with_real_loads_on_the_wild_corpus(capsys):
    rows = list(pairs("wild/manifest.json"))
    assert len(rows) >= 200, "the wild manifest's observed outcomes are missing"
    share, false_errors = report(rows, "fixtures/wild", capsys)
    assert share >= 0.98
    assert false_errors <= 0.01
