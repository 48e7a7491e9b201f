"""The guarded load reproduces the manifest's observed outcomes on the fixture corpus (default strategy).

The manifest's outcomes were recorded by fixtures/observe.py, an independent loader script; here the
same fixtures go through kcompat.load.run_matrix. A representative subset keeps CI time bounded: the
first fixture of every producer x format, and the first of every failure mode the manifest lists.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from kcompat.load import run_matrix
from tests.helpers import ROOT

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "fixtures"
LOADABLE = {"hdf5-model", "keras-zip", "keras-dir", "saved-model"}
OBSERVED = {"keras": "keras_compile", "keras-nocompile": "keras_nocompile", "tf_keras": "tf_keras",
            "tf_saved_model": "tf_saved_model", "tfsmlayer": "tfsmlayer"}


def subset() -> list[dict]:
    entries = [e for e in json.loads((FIXTURES / "manifest.json").read_text())["entries"]
               if e["observed"] and e["format"] in LOADABLE and not e.get("derived_from")]
    chosen: dict[str, dict] = {}
    for e in entries:
        chosen.setdefault(f"{e['producer']}|{e['format']}", e)
        for mode in e["failure_modes"]:
            chosen.setdefault(f"mode|{mode}", e)
    return list({e["id"]: e for e in chosen.values()}.values())


def outcome(entry: dict):
    matrix = run_matrix(str(FIXTURES / entry["path"]), entry["format"], strategies=["default"], jobs=1,
                        timeout_s=240)
    return entry, matrix


def test_guarded_load_reproduces_observed_outcomes(capsys):
    entries = subset()
    assert len(entries) >= 25
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(outcome, entries))
    compared, wrong = 0, []
    for entry, matrix in results:
        for attempt in matrix.attempts:
            key = OBSERVED.get(attempt.loader)
            seen = entry["observed"].get(key or "")
            if not seen or attempt.status == "skipped":
                continue
            if attempt.status == "refused-unsafe" and attempt.loader == "tf_keras" and seen["ok"]:
                continue  # kcompat refuses a Lambda that tf_keras would run without safe_mode: on purpose
            compared += 1
            if attempt.loaded != seen["ok"] or (not seen["ok"] and attempt.exception_type
                                                and attempt.exception_type != seen["exception"]):
                wrong.append((entry["id"], attempt.loader, attempt.status, attempt.exception_type,
                              attempt.message, seen))
    with capsys.disabled():
        print(f"\nguarded load vs observed: {compared - len(wrong)}/{compared} loader outcomes reproduced "
              f"on {len(entries)} fixtures")
        for row in wrong:
            print("  MISMATCH", row[0], row[1], row[2], row[3], (row[4] or "")[:100], "| observed:", row[5])
    assert compared >= 60
    assert not wrong
