"""The fix a root-cause finding gives, applied by hand, makes the real load succeed (reference env).

Each case: a failing fixture, the error finding that names its root cause, and the load that the fix
text tells the user to run. The plain load is shown to fail first, so the fix is what made it work.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from kcompat.config import LoadConfig, RunConfig
from kcompat.releases.store import profile
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "fixtures"
ENV = profile("keras3.15-tf2.21")


def run_load(code: str) -> dict:
    script = (
        "import json, os, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tests' / 'data')!r})\n"
        "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) +
        "    print(json.dumps({'ok': True}))\n"
        "except Exception as exc:\n"
        "    print(json.dumps({'ok': False, 'error': f'{type(exc).__name__}: {str(exc)[:200]}'}))\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def root_cause(fixture: str, code: str):
    # Judged by keras.saving.load_model, the load each case repairs (a SavedModel is otherwise judged by its
    # serving loaders, under which KC204 is only a warning).
    report = check_paths([str(FIXTURES / fixture)], RunConfig(load=LoadConfig(loaders=["keras"])), env=ENV)
    found = [f for f in report.findings if f.code == code]
    assert found, f"{fixture}: expected {code}, got {[f.code for f in report.findings]}"
    assert found[0].severity.value == "error"
    return found[0]


def custom_objects_from(fix: str) -> str:
    match = re.search(r"custom_objects=(\{.*?\})", fix)
    assert match, fix
    return match.group(1)


CASES = [
    # (fixture, code, plain load, how the fix says to load)
    ("keras3.15-tf2.21/custom_unregistered.keras", "KC301", "keras.saving.load_model(p)", "custom_objects"),
    ("keras3.15-tf2.21/seq_compiled.h5", "KC404", "keras.saving.load_model(p)", "compile=False"),
    ("tf2.15/seq_compiled.h5", "KC404", "keras.saving.load_model(p)", "compile=False"),
    ("tf2.15/seq_compiled_savedmodel", "KC204", "keras.saving.load_model(p)", "TFSMLayer"),
    ("tf2.15/seq_compiled.keras", "KC302", "keras.saving.load_model(p)", "tf_keras"),
]


@pytest.mark.parametrize(("fixture", "code", "plain", "how"), CASES, ids=[c[0] for c in CASES])
def test_fix_makes_the_load_succeed(fixture, code, plain, how):
    finding = root_cause(fixture, code)
    path = str(FIXTURES / fixture)
    head = f"import keras\np = {path!r}\n"
    assert not run_load(head + plain)["ok"], "the plain load must fail, or the fix proves nothing"
    assert how in finding.fix, finding.fix
    if how == "custom_objects":
        fixed = (f"from custom_k3 import *\nobjs = {custom_objects_from(finding.fix)}\n"
                 "keras.saving.load_model(p, custom_objects=objs)")
    elif how == "compile=False":
        fixed = "keras.saving.load_model(p, compile=False)"
    elif how == "TFSMLayer":
        fixed = "layer = keras.layers.TFSMLayer(p, call_endpoint='serving_default')"
    else:
        fixed = "os.environ['TF_USE_LEGACY_KERAS'] = '1'\nimport tf_keras\ntf_keras.models.load_model(p)"
    result = run_load(head + fixed)
    assert result["ok"], result
