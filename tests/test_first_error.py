"""The first error kcompat reports is the one a real load raises first.

For every fixture (ours and the real-world corpus) whose real `keras.saving.load_model(compile=True)`
failed in the reference environment, the observed exception is classified with the guarded load's own
classifier, and compared with the first code the static verdict gives that loader (its codes are in the
order a load meets them; a format with no verdict falls back to the first error finding), checked against
the profile of that environment. "To fix the first error" is only useful when this holds. Target: >= 95%.
"""

from __future__ import annotations

import json

from kcompat.config import RunConfig
from kcompat.load.classify import classify
from kcompat.pipeline.runner import check_paths
from tests.envbuild import build_env
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"


def rows():
    env = build_env({"preset": "keras3.15-tf2.21"})
    for manifest in ("manifest.json", "wild/manifest.json"):
        for entry in json.loads((FIXTURES / manifest).read_text())["entries"]:
            outcome = (entry.get("observed") or {}).get("keras_compile")
            if not outcome or outcome["ok"]:
                continue
            report = check_paths([str(FIXTURES / entry["path"])], RunConfig(), env=env)
            artifact = report.artifacts[0]
            real = classify(outcome["message"], exception_type=outcome["exception"], fmt=artifact.artifact.format.value)
            # What Keras load_model meets first: the first code of the verdict for that loader (codes are in
            # the order a load meets them), or, for a format with no verdict, the first error finding.
            verdict = {v["loader"]: v["codes"] for v in artifact.verdict}
            errors = verdict.get("keras") or [f.code for f in artifact.findings if f.severity.value == "error"]
            yield entry["id"], real, errors, outcome


def test_first_error_is_the_one_the_real_load_raises(capsys):
    found = list(rows())
    assert len(found) >= 200, "observed keras_compile failures are missing from the manifests"
    wrong = [r for r in found if not r[2] or r[2][0] != r[1]]
    share = 1 - len(wrong) / len(found)
    with capsys.disabled():
        print(f"\nfirst error finding vs the real load's first exception: {len(found) - len(wrong)}/{len(found)} "
              f"({share:.1%})")
        for fixture, real, errors, outcome in wrong:
            print(f"  {fixture}: first={errors[:1]} real={real} ({outcome['exception']}: {(outcome['message'] or '')[:80]})")
    assert share >= 0.95
