"""Ground truth across releases: the `--target R` verdict per loader against real loads in R's venv.

fixtures/observed_releases/<R>.json holds what each loader really did with every fixture in a
virtualenv of release R (fixtures/observe_release.py); the manifest's own `observed` is the
reference stack, recorded release keras3.15. The verdict here comes from the static rules run
against R's recorded environment, exactly as `kcompat check --target R` computes it. The test
prints the agreement per release and every disagreement (explained in fixtures/README.md).
fixtures/observed_releases/wild/<R>.json.gz holds the same for the real-world corpus (fixtures/wild/).
"""

from __future__ import annotations

import gzip
import json

import pytest

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from kcompat.releases import store
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
OBSERVED = FIXTURES / "observed_releases"
LOADER = {"keras_compile": "keras", "keras_nocompile": "keras-nocompile", "tf_keras": "tf_keras",
          "tf_saved_model": "tf_saved_model", "tfsmlayer": "tfsmlayer", "keras_json": "keras",
          "tf_keras_json": "tf_keras"}
# What each release is held to (see fixtures/README.md, "Observed outcomes in other releases").
FLOOR: dict[str, float] = {}
DEFAULT_FLOOR = 0.97


def observations() -> dict[str, dict]:
    out = {}
    for path in sorted(OBSERVED.glob("*.json")):
        data = json.loads(path.read_text())
        out[data["release"]] = data["observed"]
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    out["keras3.15"] = {e["id"]: e["observed"] for e in manifest["entries"] if e.get("observed")}
    # tf_keras2.21 pins exactly the reference stack (TF 2.21.0, Keras 3.15.1, tf_keras 2.21.0) and adds only
    # TF_USE_LEGACY_KERAS=1, which changes what tf.keras is; the loaders observed call keras, tf_keras and
    # tf.saved_model directly, so the reference loads are its loads.
    out["tf_keras2.21"] = out["keras3.15"]
    return out


def wild_observations() -> dict[str, dict]:
    return {(data := json.loads(gzip.decompress(path.read_bytes())))["release"]: data["observed"]
            for path in sorted((OBSERVED / "wild").glob("*.json.gz"))}


def pairs(release: str, observed: dict[str, dict], manifest: str = "manifest.json"):
    env = store.environment(release)
    entries = {e["id"]: e for e in json.loads((FIXTURES / manifest).read_text())["entries"]}
    for fixture, outcomes in sorted(observed.items()):
        entry = entries.get(fixture)
        if entry is None:
            continue
        report = check_paths([str(FIXTURES / entry["path"])], RunConfig(jobs=1), env=env)
        verdict = {v["loader"]: v for artifact in report.artifacts for v in artifact.verdict}
        for key, outcome in outcomes.items():
            if outcome.get("ok") is None:
                continue
            predicted = verdict.get(LOADER[key])
            # No verdict (a checkpoint, a weights file, a broken copy): predicted to fail every loader
            # exactly when there is an error finding, as in tests/test_agreement.py.
            said_ok = predicted["ok"] if predicted else not any(f.severity.value == "error" for f in report.findings)
            yield fixture, key, said_ok, outcome, (predicted or {}).get("codes", [])


RELEASES = sorted(observations())


@pytest.mark.parametrize("release", RELEASES)
def test_target_verdicts_agree_with_real_loads_in_that_release(release, capsys):
    rows = list(pairs(release, observations()[release]))
    assert len(rows) >= 200, f"too few observed outcomes for {release}"
    wrong = [r for r in rows if r[2] != r[3]["ok"]]
    share = 1 - len(wrong) / len(rows)
    with capsys.disabled():
        print(f"\n--target {release}: {len(rows) - len(wrong)}/{len(rows)} fixture x loader pairs agree ({share:.1%})")
        for fixture, key, said_ok, outcome, codes in wrong:
            real = "ok" if outcome["ok"] else f"{outcome['exception']}: {(outcome['message'] or '')[:100]}"
            print(f"  DISAGREE {fixture} [{key}] static={'ok' if said_ok else 'fails ' + ','.join(codes)} real={real}")
    assert share >= FLOOR.get(release, DEFAULT_FLOOR)


WILD_RELEASES = sorted(wild_observations())


@pytest.mark.parametrize("release", WILD_RELEASES)
def test_target_verdicts_agree_with_real_loads_of_the_wild_corpus_in_that_release(release, capsys):
    rows = list(pairs(release, wild_observations()[release], "wild/manifest.json"))
    assert len(rows) >= 150, f"too few observed outcomes for {release}"
    wrong = [r for r in rows if r[2] != r[3]["ok"]]
    with capsys.disabled():
        print(f"\n--target {release}, real-world corpus: {len(rows) - len(wrong)}/{len(rows)} artifact x loader pairs agree")
        for artifact, key, said_ok, outcome, codes in wrong:
            real = "ok" if outcome["ok"] else f"{outcome['exception']}: {(outcome['message'] or '')[:100]}"
            print(f"  DISAGREE {artifact} [{key}] static={'ok' if said_ok else 'fails ' + ','.join(codes)} real={real}")
    assert not wrong  # every pair agrees today: a new disagreement is a false verdict to fix by its cause


def test_every_observed_release_is_recorded():
    assert {"keras3.15", "tf2.12", "tf2.15", "keras3.3", "tf_keras2.15"} <= set(RELEASES)
    assert set(RELEASES) <= set(store.names())
    assert {"tf2.15", "keras3.0"} <= set(WILD_RELEASES) <= set(store.names())
