"""Agreement with reality: the static verdict per loader against the manifest's observed real loads.

The observed outcomes were recorded by really loading each fixture in the reference environment
(TF 2.21, Keras 3.15.1, tf_keras 2.21); the verdict here comes from the static rules run against the
shipped profile of that same environment. Targets: at least 95% of our own fixtures' fixture x loader
pairs agree, at least 98% of the real-world corpus's (fixtures/wild, written by other people), and
among the pairs that really load, at most 1% are predicted to fail (a false error blocks a good model).
The same fixtures were also loaded with KERAS_BACKEND=jax and torch (``observed_backends``): per loader
and backend, at least 97% agree with the static verdict for a target running Keras on that backend.
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


def backend_env(backend: str, manifest: dict):
    """The reference environment as the observing interpreter had it: KERAS_BACKEND=backend, and the
    backends installed beside it (read from the versions observe.py recorded there)."""
    env = profile("keras3.15-tf2.21")
    if backend == "tensorflow":
        return env
    versions = manifest["backend_environments"][backend]
    installed = set(env.available_backends) | {name for name in ("jax", "torch") if versions.get(name)}
    return env.model_copy(update={"keras_backend": backend, "available_backends": sorted(installed)})


def pairs(manifest: str = "manifest.json", backend: str = "tensorflow"):
    data = json.loads((FIXTURES / manifest).read_text())
    env = backend_env(backend, data)
    for entry in data["entries"]:
        observed = entry.get("observed") if backend == "tensorflow" else entry.get("observed_backends", {}).get(backend)
        if not observed:
            continue
        report = check_paths([str(FIXTURES / entry["path"])], RunConfig(), env=env)
        verdict = {v["loader"]: v for artifact in report.artifacts for v in artifact.verdict}
        for key, outcome in observed.items():
            loader = OBSERVED_KEYS[key]
            if outcome.get("ok") is None:
                continue
            predicted = verdict.get(loader)
            # A format kcompat gives no verdict for (a checkpoint, weights-only file, broken copy) is
            # predicted to fail every model loader: those are KC1xx errors that break all of them.
            said_ok = predicted["ok"] if predicted else not any(
                f.severity.value == "error" for f in report.findings)
            yield entry["id"], key, said_ok, outcome, (predicted or {}).get("codes", [])


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


BACKENDS = ("tensorflow", "jax", "torch")


def test_static_verdict_agrees_per_loader_and_backend(capsys):
    """The same fixtures loaded with KERAS_BACKEND=jax and torch (observe.py --backend), against the
    static verdict for a target with that backend: each loader x backend cell agrees on >= 97%."""
    cells = {}
    for backend in BACKENDS:
        rows = list(pairs(backend=backend))
        if backend != "tensorflow":
            assert len(rows) >= 200, f"the manifest's observed_backends[{backend!r}] are missing"
        for row in rows:
            cells.setdefault((row[1], backend), []).append(row)
    with capsys.disabled():
        print("\nagreement per loader x backend (static verdict vs real load):")
        for backend in BACKENDS:
            line = [f"{loader}={sum(r[2] == r[3]['ok'] for r in rows)}/{len(rows)}"
                    for (loader, b), rows in sorted(cells.items()) if b == backend]
            print(f"  {backend}: " + " ".join(line))
        for (loader, backend), rows in sorted(cells.items()):
            for fixture, _, said_ok, outcome, codes in rows:
                if said_ok != outcome["ok"] and backend != "tensorflow":
                    real = "ok" if outcome["ok"] else f"{outcome['exception']}: {(outcome['message'] or '')[:90]}"
                    print(f"  DISAGREE [{backend}] {fixture} [{loader}] "
                          f"static={'ok' if said_ok else 'fails ' + ','.join(codes)} real={real}")
    low = {cell: f"{sum(r[2] == r[3]['ok'] for r in rows)}/{len(rows)}" for cell, rows in cells.items()
           if sum(r[2] == r[3]["ok"] for r in rows) < 0.97 * len(rows)}
    assert not low, f"loader x backend cells under 97%: {low}"
