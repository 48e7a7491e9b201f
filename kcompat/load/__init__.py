"""Guarded load: try every applicable loader under every distribution strategy, contained.

This package is the only part of kcompat that runs TensorFlow/Keras, and it does so ONLY in the
worker folder ``worker/`` (``worker/__main__.py`` and its ``kcw_*`` modules), launched by folder path in
the target interpreter. Nothing else here imports TF, Keras or tf_keras, not even lazily; numpy is used
to compare outputs.

Entry point: :func:`run_matrix`. See ``runner.py`` for how processes are isolated, parallelised and
re-run after a crash (``sandbox.py``: the process and sandbox utilities it uses; ``protocol.py``: how it
reads what a worker leaves behind), and ``classify.py`` for the failure -> rule-code table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from kcompat.load.classify import PROCESS_CODES, classify, is_safe_mode_refusal
from kcompat.load.model import (
    FORMATS,
    LOADERS,
    STRATEGIES,
    Attempt,
    LoadMatrix,
    OutputSummary,
)
from kcompat.load.runner import (
    Job,
    RawResult,
    default_python,
    run_job,
    unshare_net_works,
)

__all__ = ["Attempt", "LoadMatrix", "applicable_loaders", "compare_outputs", "run_matrix", "tolerance"]

# Which loaders apply to which format ('keras-nocompile' follows 'keras' automatically on failure).
APPLICABLE: dict[str, tuple[str, ...]] = {
    "hdf5-model": ("keras", "tf_keras"),
    "keras-zip": ("keras", "tf_keras"),
    "keras-dir": ("keras",),
    "saved-model": ("keras", "tf_keras", "tf_saved_model", "tfsmlayer"),
    "hdf5-weights": ("config+weights",),
    "hdf5-weights-v3": ("config+weights",),
    "tf-checkpoint": ("config+weights",),
    "json-config": ("config+weights",),
}
DEFAULT_STRATEGIES = ("default", "one-device-cpu", "one-device-gpu", "mirrored", "multi-worker")


@cache
def _target_has(python: str, module: str) -> bool:
    """Whether ``module`` is importable in the target interpreter (find_spec only: no import)."""
    code = f"import importlib.util,sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 3)"
    try:
        return subprocess.run([python, "-c", code], capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _gpu_possible() -> bool:
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip() in ("", "-1"):
        return False
    return os.path.exists("/dev/nvidia0") or os.path.isdir("/proc/driver/nvidia/gpus")


def applicable_loaders(fmt: str, python: str, config_path: str | None) -> dict[str, str | None]:
    """Loader -> None when it applies, or the reason it is skipped."""
    out: dict[str, str | None] = {}
    for lo in LOADERS:
        if lo == "keras-nocompile":
            continue
        if lo not in APPLICABLE.get(fmt, ()):
            out[lo] = f"does not apply to {fmt}"
        elif lo == "tf_keras" and not _target_has(python, "tf_keras"):
            out[lo] = "tf_keras is not importable in the target interpreter"
        elif lo in ("keras", "tfsmlayer") and not _target_has(python, "keras"):
            out[lo] = "keras is not importable in the target interpreter"
        elif lo == "config+weights" and fmt != "json-config" and not config_path:
            out[lo] = "needs config_path (a model.to_json() file or a full .keras/.h5 model)"
        else:
            out[lo] = None
    return out


def tolerance(dtype: str) -> tuple[float, float]:
    """(atol, rtol) for comparing outputs of this dtype."""
    if dtype == "float16":
        return 1e-3, 1e-2
    if dtype == "bfloat16":
        return 1e-2, 2e-2
    if dtype.startswith(("float", "complex")):
        return 1e-5, 1e-4
    return 0.0, 0.0


def compare_outputs(
    ref: list[tuple[str, np.ndarray]], got: list[tuple[str, np.ndarray]]
) -> tuple[float | None, float | None, bool | None, str | None]:
    """Max abs / rel difference and agreement (dtype-aware tolerance) between two output lists."""
    if len(ref) != len(got):
        return None, None, False, f"{len(got)} outputs where the reference has {len(ref)}"
    ref_names = [n for n, _ in ref]
    got_names = [n for n, _ in got]
    pairs = (
        [(dict(ref)[n], dict(got)[n]) for n in ref_names]
        if sorted(ref_names) == sorted(got_names) and len(set(ref_names)) == len(ref_names)
        else [(r, g) for (_, r), (_, g) in zip(ref, got)]
    )
    max_abs = max_rel = 0.0
    agrees = True
    for r, g in pairs:
        if r.shape != g.shape:
            return None, None, False, f"output shape {list(g.shape)} differs from the reference {list(r.shape)}"
        if r.dtype.kind in "fc" or g.dtype.kind in "fc":
            rf, gf = r.astype(np.float64), g.astype(np.float64)
        else:
            rf, gf = r.astype(np.float64), g.astype(np.float64)
        diff = np.abs(gf - rf)
        if diff.size:
            finite = np.isfinite(diff)
            if not finite.all() and not np.array_equal(np.isnan(rf), np.isnan(gf)):
                agrees = False
            diff = np.where(finite, diff, 0.0)
            max_abs = max(max_abs, float(diff.max()))
            max_rel = max(max_rel, float((diff / np.maximum(np.abs(rf), 1e-12)).max()))
            atol, rtol = tolerance(str(r.dtype))
            if (diff > atol + rtol * np.abs(rf)).any():
                agrees = False
    return max_abs, max_rel, agrees, None


def _load_outputs(data: dict) -> list[tuple[str, np.ndarray]] | None:
    f = data.get("outputs_file")
    if not f or not os.path.exists(f):
        return None
    with np.load(f, allow_pickle=False) as z:
        arrays = [z[f"o{i}"] for i in range(len(z.files))]
    names = [o["name"] for o in data.get("outputs", [])]
    return list(zip(names or [f"output_{i}" for i in range(len(arrays))], arrays))


def _first_line(s: str | None, n: int = 300) -> str | None:
    if not s:
        return None
    s = s.strip()
    return (s.splitlines()[0] if s else "")[:n]


def _to_attempt(raw: RawResult, strategy: str, fmt: str) -> Attempt:
    d = raw.data
    status = d.get("status", "crash")
    notes = list(d.get("notes") or [])
    code = None
    if status == "error":
        full = d.get("full_message") or d.get("message") or ""
        if is_safe_mode_refusal(full):
            status = "refused-unsafe"
            code = "KC701"
        else:
            code = classify(full, exception_type=d.get("exception_type"), traceback=d.get("traceback_tail"), fmt=fmt)
    elif status in PROCESS_CODES:
        code = PROCESS_CODES[status]
    trained = d.get("trained")
    if d.get("numpy_fit_error"):
        e = d["numpy_fit_error"]
        c = classify(e.get("full_message"), exception_type=e.get("exception_type"), traceback=e.get("traceback_tail"))
        if c == "KC809" and code is None:
            code = "KC809"
    if d.get("train_error") and code is None:
        # The training step uses synthetic targets (the model's own outputs), so an unexplained
        # failure may be ours (e.g. a sparse loss): only a specific, known cause earns a code.
        e = d["train_error"]
        c = classify(e.get("full_message"), exception_type=e.get("exception_type"), traceback=e.get("traceback_tail"))
        if c != "KC801":
            code = c
    worker_replicas = None
    if len(raw.worker_results) > 1:
        worker_replicas = [w.get("num_replicas") for w in raw.worker_results]
        for i, w in enumerate(raw.worker_results):
            if w.get("status") != d.get("status"):
                notes.append(f"worker {i}: {w.get('status')} {w.get('message') or ''}".strip())
        if any(w.get("trained") is False for w in raw.worker_results):
            trained = False
    outputs = [OutputSummary(**o) for o in d.get("outputs", [])]
    wall = d.get("wall_s")
    if len(raw.worker_results) > 1:
        walls = [w.get("wall_s") or 0.0 for w in raw.worker_results]
        wall = max(walls)
    return Attempt(
        loader=raw.loader,
        strategy=strategy,
        status=status,
        exception_type=d.get("exception_type"),
        message=_first_line(d.get("message")),
        traceback_tail=d.get("traceback_tail"),
        signal=d.get("signal"),
        stdout_tail=d.get("stdout_tail"),
        wall_s=round(float(wall or 0.0), 3),
        num_replicas=d.get("num_replicas"),
        worker_replicas=worker_replicas,
        outputs=outputs,
        loaded=bool(d.get("loaded")) or status == "ok",
        trained=trained,
        code=code,
        note="; ".join(n for n in notes if n) or None,
        isolation=list(d.get("isolation") or []),
    )


def run_matrix(
    path: str,
    fmt: str,
    *,
    python: str | None = None,
    loaders: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    unsafe: bool = False,
    timeout_s: float = 120,
    memory_mb: int = 4096,
    inputs_npz: str | None = None,
    config_path: str | None = None,
    custom_objects: Sequence[str] = (),
    jobs: int | None = None,
) -> LoadMatrix:
    """Load ``path`` (of format ``fmt``) with each applicable loader under each strategy.

    Every attempt runs in a contained subprocess of ``python`` (default: this interpreter); see
    ``kcompat.load.runner``. ``custom_objects`` are module names or ``.py`` paths the worker imports
    (only when given) so that their registered classes resolve. ``unsafe=True`` turns Keras
    ``safe_mode`` off: only for trusted files.
    """
    t0 = time.time()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    if not (os.path.exists(path) or (fmt == "tf-checkpoint" and os.path.exists(f"{path}.index"))):
        raise FileNotFoundError(path)
    python = python or default_python()
    if os.sep in python:
        python = os.path.abspath(python)  # workers run in their own directory
    if not (os.path.exists(python) or shutil.which(python)):
        raise FileNotFoundError(f"target interpreter not found: {python}")
    strategies = list(strategies) if strategies is not None else list(DEFAULT_STRATEGIES)
    for s in strategies:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; expected one of {STRATEGIES}")
    app = applicable_loaders(fmt, python, config_path)
    if loaders is None:
        wanted = [lo for lo, why in app.items() if why is None]
        # applicable to the format but not usable here (missing config_path, tf_keras absent...)
        skipped_loaders = {lo: why for lo, why in app.items() if why and lo in APPLICABLE.get(fmt, ())}
    else:
        for lo in loaders:
            if lo not in LOADERS:
                raise ValueError(f"unknown loader {lo!r}; expected one of {LOADERS}")
        wanted = [lo for lo in loaders if app.get(lo if lo != "keras-nocompile" else "keras") is None]
        skipped_loaders = {lo: app.get(lo if lo != "keras-nocompile" else "keras") for lo in loaders if lo not in wanted}
    jobs = jobs or os.cpu_count() or 1
    base_tmp = tempfile.mkdtemp(prefix="kcompat-load-")
    keep = os.environ.get("KCOMPAT_KEEP_LOAD_DIRS") == "1"
    slots = threading.BoundedSemaphore(jobs)  # launches, not processes: see runner's docstring
    by_strategy: dict[str, list[Attempt]] = {}
    outputs: dict[tuple[str, str], list[tuple[str, np.ndarray]]] = {}

    # Process plan (see runner's docstring): default, one-device-* and mirrored share one process,
    # their units in sequence; multi-worker (TF_CONFIG, collectives) gets its own pair.
    groups: list[list[str]] = []
    shared = [s for s in strategies if s != "multi-worker"]
    if shared:
        groups.append(shared)
    groups += [[s] for s in strategies if s not in shared]

    def one(group: list[str]) -> None:
        run_here = []
        for strategy in group:
            if strategy == "one-device-gpu" and not _gpu_possible():
                by_strategy[strategy] = [
                    Attempt(
                        loader=lo, strategy=strategy, status="skipped",
                        note="no GPU on this machine (or CUDA_VISIBLE_DEVICES hides it)",
                    )
                    for lo in wanted
                ]
            else:
                by_strategy[strategy] = []
                run_here.append(strategy)
        if not wanted or not run_here:
            return
        job = Job(
            path=path, fmt=fmt, units=[(s, lo) for s in run_here for lo in wanted], python=python, unsafe=unsafe,
            timeout_s=timeout_s, memory_mb=memory_mb, inputs_npz=inputs_npz, config_path=config_path,
            custom_objects=list(custom_objects), base_tmp=base_tmp,
        )
        with slots:
            raws = run_job(job)
        for raw in raws:
            a = _to_attempt(raw, raw.strategy, fmt)
            if a.status == "ok":
                got = _load_outputs(raw.data)
                if got is not None:
                    outputs[(a.loader, a.strategy)] = got
            by_strategy.setdefault(raw.strategy, []).append(a)

    try:
        with ThreadPoolExecutor(max_workers=max(1, len(groups))) as ex:
            list(ex.map(one, groups))
    finally:
        if not keep:
            shutil.rmtree(base_tmp, ignore_errors=True)

    attempts: list[Attempt] = []
    for s in strategies:
        attempts.extend(by_strategy.get(s, []))
        for lo, why in skipped_loaders.items():
            attempts.append(Attempt(loader=lo, strategy=s, status="skipped", note=why))

    # reference: default-strategy keras load, else the first ok attempt with outputs
    ref_key = None
    for key in (("keras", "default"), ("keras-nocompile", "default")):
        if key in outputs:
            ref_key = key
            break
    if ref_key is None:
        for a in attempts:
            if (a.loader, a.strategy) in outputs:
                ref_key = (a.loader, a.strategy)
                break
    if ref_key is not None:
        ref = outputs[ref_key]
        for a in attempts:
            got = outputs.get((a.loader, a.strategy))
            if got is None:
                continue
            a.max_abs_diff, a.max_rel_diff, a.agrees, why = compare_outputs(ref, got)
            if why:
                a.note = f"{a.note}; {why}" if a.note else why
            if a.agrees is False and a.code is None:
                a.code = "KC805"

    # strategy failures: fails only under a non-default strategy while default works
    ok_default = {a.loader for a in attempts if a.strategy == "default" and a.status == "ok"}
    for a in attempts:
        if a.strategy != "default" and a.status == "error" and a.loader in ok_default and a.code != "KC809":
            extra = f"fails only under {a.strategy} (default works); on its own it reads as {a.code}"
            a.note = f"{a.note}; {extra}" if a.note else extra
            a.code = "KC806"

    iso = ["subprocess", "process-group", "tmp-home", "rss-watch", "unshare-net" if unshare_net_works() else "net-shared"]
    return LoadMatrix(
        path=str(path),
        format=fmt,
        attempts=attempts,
        total_wall_s=round(time.time() - t0, 3),
        reference=f"{ref_key[0]}/{ref_key[1]}" if ref_key else None,
        python=python,
        isolation=iso,
    )
