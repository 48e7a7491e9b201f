"""The proof behind `kcompat fix`: load the original and its repaired copy, compare their outputs.

One worker process (``worker/kcw_prove.py``, in the target interpreter) runs every item of a batch in
turn, so a batch pays TensorFlow's import once. A process that crashes or overruns its per-item
timeout is killed with its process group; its item is recorded as such and a fresh process takes the
items left. Imports no TF/Keras; numpy reads the saved outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from kcompat.load import tolerance
from kcompat.load.classify import classify
from kcompat.load.runner import default_python

PROVER = str(Path(__file__).with_name("worker") / "kcw_prove.py")
# The copy runs under another Keras, whose float32 kernels may sum in another order: a Keras 2.2 CNN migrated to
# Keras 3 differed from tf_keras by 5e-6 on softmax outputs. 1e-5 is the guarded load's own absolute tolerance.
FLOAT32_RTOL, FLOAT32_ATOL = 1e-5, 1e-5


def _tolerance(dtype: str) -> tuple[float, float]:
    return (FLOAT32_ATOL, FLOAT32_RTOL) if dtype in ("float32", "float64") else tolerance(dtype)


def compare(ref_file: str, got_file: str, shapes_only: bool = False) -> dict:
    """{agrees, max_abs_diff, max_rel_diff, why} between two saved output lists."""
    with np.load(ref_file, allow_pickle=False) as a, np.load(got_file, allow_pickle=False) as b:
        ref = [a[f"o{i}"] for i in range(len(a.files))]
        got = [b[f"o{i}"] for i in range(len(b.files))]
    if len(ref) != len(got):
        return {"agrees": False, "why": f"{len(got)} outputs where the original has {len(ref)}"}
    max_abs = max_rel = 0.0
    for r, g in zip(ref, got):
        if r.shape != g.shape:
            return {"agrees": False, "why": f"output shape {list(g.shape)} where the original has {list(r.shape)}"}
        if shapes_only or not r.size:
            continue
        rf, gf = r.astype(np.float64), g.astype(np.float64)
        diff = np.abs(gf - rf)
        atol, rtol = _tolerance(str(r.dtype))
        if (~(diff <= atol + rtol * np.abs(rf)) & ~(np.isnan(rf) & np.isnan(gf))).any():
            max_abs = max(max_abs, float(np.nanmax(diff)))
            return {"agrees": False, "max_abs_diff": max_abs, "why": f"outputs differ by up to {max_abs:.3g}"}
        finite = np.where(np.isfinite(diff), diff, 0.0)
        max_abs = max(max_abs, float(finite.max()))
        max_rel = max(max_rel, float((finite / np.maximum(np.abs(rf), 1e-12)).max()))
    if shapes_only:
        return {"agrees": True, "why": "output shapes only (a config without weights)"}
    return {"agrees": True, "max_abs_diff": max_abs, "max_rel_diff": max_rel}


def _run(python: str, spec_path: Path, first: int, out_dir: Path, timeout_s: float, n: int) -> dict[int, dict]:
    """Run the prover from item ``first``; return the results it wrote, the item it died on marked."""
    events = out_dir / "events.jsonl"
    env = dict(os.environ, HOME=str(out_dir), KERAS_HOME=str(out_dir / ".keras"), TMPDIR=str(out_dir),
               PYTHONDONTWRITEBYTECODE="1")
    env.pop("TF_CONFIG", None)
    with open(out_dir / f"process-{first}.log", "wb") as log:
        proc = subprocess.Popen([python, PROVER, str(spec_path), str(first)], cwd=out_dir, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        since, current, results = time.time(), None, {}
        while True:
            done = proc.poll() is not None
            for line in (events.read_text().splitlines() if events.exists() else []):
                ev = json.loads(line) if line.endswith("}") else {}
                if ev.get("event") == "start" and ev["item"] >= first and ev["item"] not in results:
                    if current != ev["item"]:
                        current, since = ev["item"], ev["t"]
                elif ev.get("event") == "end" and ev["item"] >= first:
                    results[ev["item"]] = ev["result"]
                elif ev.get("event") == "setup-error":
                    return {i: {"error": ev["result"]} for i in range(first, n)}
            if done:
                break
            if time.time() - since > timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {**results, current if current is not None else first:
                        {"error": {"status": "timeout", "message": f"no result within {timeout_s:.0f} s"}}}
            time.sleep(0.1)
    if current is not None and current not in results:
        results[current] = {"error": {"status": "crash", "message": f"the prover exited with {proc.returncode}"}}
    return results


def prove_batch(items: list[dict], python: str | None = None, timeout_s: float = 120,
                custom_objects: list[str] | None = None) -> list[dict]:
    """Each item: original, original_fmt, original_loaders, copy, copy_fmt, copy_loader, convert_to (optional).

    Returns one dict per item: status (proven, outputs-differ, still-fails, original-fails, error), the
    loaders used, the comparison, and the copy's error with its rule code. Where no loader reads the
    original and the fix only moved weight groups (``moved_weights``), the proof is by weights: every
    variable of the loaded copy equals the original's array for it (``proof_by: weights``)."""
    if not items:
        return []
    python = python or default_python()
    base = Path(tempfile.mkdtemp(prefix="kcompat-prove-"))
    try:
        spec = {"items": items, "out_dir": str(base), "custom_objects": custom_objects or []}
        spec_path = base / "spec.json"
        spec_path.write_text(json.dumps(spec))
        raw: dict[int, dict] = {}
        while len(raw) < len(items):
            first = min(i for i in range(len(items)) if i not in raw)
            got = _run(python, spec_path, first, base, timeout_s, len(items))
            if not got:
                got = {first: {"error": {"status": "crash", "message": "the prover wrote nothing"}}}
            raw.update(got)
        return [verdict(items[i], raw[i]) for i in range(len(items))]
    finally:
        if os.environ.get("KCOMPAT_KEEP_LOAD_DIRS") != "1":
            shutil.rmtree(base, ignore_errors=True)


def _error(result: dict | None, fmt: str) -> dict:
    result = result or {}
    message = result.get("full_message") or result.get("message") or ""
    return {"exception": result.get("exception_type"), "message": (result.get("message") or "")[:300],
            "code": classify(message, exception_type=result.get("exception_type"),
                             traceback=result.get("traceback_tail"), fmt=fmt) if message else None}


def verdict(item: dict, raw: dict) -> dict:
    out = {"original_loader": None, "copy_loader": item["copy_loader"]}
    if "error" in raw:
        return {**out, "status": "error", "error": raw["error"].get("message")}
    original, copy = raw.get("original") or {}, raw.get("copy")
    if original.get("status") == "ok":
        out["original_loader"] = original["loader"]
    if raw.get("convert") and raw["convert"].get("status") != "ok":
        return {**out, "status": "still-fails", "stage": "save as .keras",
                "copy_error": _error(raw["convert"], item["copy_fmt"])}
    if not copy or copy.get("status") != "ok":
        return {**out, "status": "still-fails", "copy_error": _error(copy, item["copy_fmt"])}
    if original.get("status") != "ok":
        out["original_error"] = _error(original, item["original_fmt"])
        weights = raw.get("weights")
        if weights is None:
            return {**out, "status": "original-fails"}
        if weights.get("status") != "ok":
            return {**out, "status": "original-fails", "weights": {"error": weights.get("message")}}
        same = weights["compared"] > 0 and not (weights["differ"] or weights["missing"] or weights["unused"])
        return {**out, "status": "proven" if same else "original-fails", "proof_by": "weights", "weights": weights}
    comparison = compare(original["outputs_file"], copy["outputs_file"], shapes_only=bool(copy.get("json_only")))
    return {**out, "status": "proven" if comparison["agrees"] else "outputs-differ", **comparison}
