"""The guarded load under Keras 3's JAX backend: one device, and DataParallel over several CPU devices.

Where the TensorFlow matrix uses ``tf.distribute`` strategies, a target that runs Keras on JAX has its
own distribution API: ``keras.distribution.DataParallel`` over a device mesh. The worker
(``jaxworker/``, launched by folder path in the target interpreter) loads the model once per
(distribution, loader) unit and saves its outputs; here the outputs of every unit are compared with
the one-device ``keras`` load (or, failing that, ``keras-nocompile``), and optionally with a
TensorFlow-backend load of the same file in another interpreter.

JAX splits the host CPU into devices only when ``XLA_FLAGS=--xla_force_host_platform_device_count=N``
is set before it initialises, so each backend run is its own process with that set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kcompat.load import compare_outputs
from kcompat.load.classify import classify, is_safe_mode_refusal
from kcompat.load.model import Attempt, LoadMatrix, OutputSummary
from kcompat.load.sandbox import signal_name

WORKER = Path(__file__).resolve().parent / "jaxworker"
DISTRIBUTIONS = ("one-device", "data-parallel")


def _env(backend: str, devices: int, home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KERAS_", "XLA_", "JAX_", "TF_USE_LEGACY"))}
    env.update({"KERAS_BACKEND": backend, "HOME": home, "KERAS_HOME": os.path.join(home, ".keras"),
                "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"})
    if backend == "jax":
        env.update({"JAX_PLATFORMS": "cpu", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"})
    return env


def _run(python: str, backend: str, units: list[tuple[str, str]], path: str, devices: int, timeout_s: float,
         unsafe: bool, out_dir: Path, batch: int) -> list[dict]:
    """Run the units in one contained process; a unit in flight when it died is a crash or a timeout."""
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / "spec.json"
    spec.write_text(json.dumps({"path": os.path.abspath(path), "out_dir": str(out_dir), "units": units,
                                "unsafe": unsafe, "batch": batch}))
    log = open(out_dir / "log.txt", "wb")
    python = os.path.abspath(python) if os.sep in python else python  # the worker runs in out_dir
    proc = subprocess.Popen([python, str(WORKER), str(spec)], stdout=log, stderr=subprocess.STDOUT,
                            env=_env(backend, devices, str(out_dir)), cwd=str(out_dir), start_new_session=True)
    status = None
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        status = "timeout"
    finally:
        log.close()
    results, running = [], None
    lines = (out_dir / "results.jsonl").read_text().splitlines() if (out_dir / "results.jsonl").exists() else []
    for line in lines:
        rec = json.loads(line)
        if "begin" in rec:
            running = tuple(rec["begin"])
        else:
            results.append(rec)
            running = None
    if running is not None or len(results) < len(units):
        left = units[len(results):]
        died = status or "crash"
        for distribution, loader in left[:1]:
            results.append({"distribution": distribution, "loader": loader, "status": died,
                            "signal": signal_name(proc.returncode),
                            "message": f"the worker process ended ({died}, rc={proc.returncode})"})
    return results


def _attempt(rec: dict, strategy: str, fmt: str) -> Attempt:
    status = rec.get("status", "crash")
    code = None
    if status == "error":
        full = rec.get("full_message") or rec.get("message") or ""
        if is_safe_mode_refusal(full):
            status, code = "refused-unsafe", "KC701"
        else:
            code = classify(full, exception_type=rec.get("exception_type"), traceback=rec.get("traceback_tail"),
                            fmt=fmt)
    note = None
    if rec.get("mesh"):
        note = f"DataParallel mesh {rec['mesh']['shape']} over {len(rec.get('devices', []))} devices"
    return Attempt(loader=rec["loader"], strategy=strategy, status=status, exception_type=rec.get("exception_type"),
                   message=rec.get("message"), traceback_tail=rec.get("traceback_tail"), signal=rec.get("signal"),
                   wall_s=rec.get("wall_s") or 0.0, num_replicas=rec.get("replicas"),
                   outputs=[OutputSummary(**o) for o in rec.get("outputs", [])], loaded=bool(rec.get("loaded")),
                   code=code, note=note, isolation=["process-group", "fresh-home"])


def _outputs(rec: dict):
    import numpy as np

    f = rec.get("outputs_file")
    if not f or not os.path.exists(f):
        return None
    with np.load(f, allow_pickle=False) as z:
        return [(f"output_{i}", z[f"o{i}"]) for i in range(len(z.files))]


def run_backend_matrix(path: str, fmt: str, python: str | None = None, devices: int = 2, timeout_s: float = 300.0,
                       unsafe: bool = False, tensorflow_python: str | None = None,
                       work_dir: str | None = None) -> LoadMatrix:
    """Load ``path`` under KERAS_BACKEND=jax with one device and DataParallel over ``devices`` CPU devices.

    With ``tensorflow_python``, the same file is also loaded under KERAS_BACKEND=tensorflow there (one
    device) and compared. Strategies are named ``jax/one-device``, ``jax/data-parallel`` and
    ``tensorflow/one-device``; the reference is ``jax/one-device``.
    """
    python = python or sys.executable
    t0 = time.time()
    base = Path(work_dir or tempfile.mkdtemp(prefix="kcompat-jax-"))
    units = [(d, lo) for d in DISTRIBUTIONS for lo in ("keras", "keras-nocompile")]
    runs = [("jax", python, units, devices)]
    if tensorflow_python:
        runs.append(("tensorflow", tensorflow_python, [("one-device", "keras"), ("one-device", "keras-nocompile")], 1))
    matrix = LoadMatrix(path=path, format=fmt, python=python, isolation=["process-group", "fresh-home"])
    records = []
    for backend, py, backend_units, n in runs:
        # One batch for every run, divisible by the device count, so that all outputs compare.
        for rec in _run(py, backend, backend_units, path, n, timeout_s, unsafe, base / backend, 2 * devices):
            strategy = f"{backend}/{rec['distribution']}"
            records.append((rec, strategy))
            matrix.attempts.append(_attempt(rec, strategy, fmt))
    ref = next(((r, s) for r, s in records if s == "jax/one-device" and r.get("status") == "ok"
                and r["loader"] == "keras"), None) or next(
        ((r, s) for r, s in records if s == "jax/one-device" and r.get("status") == "ok"), None)
    if ref is not None:
        matrix.reference = f"{ref[0]['loader']}/{ref[1]}"
        want = _outputs(ref[0])
        for (rec, _strategy), attempt in zip(records, matrix.attempts):
            if rec is ref[0]:
                attempt.note = f"{attempt.note + '; ' if attempt.note else ''}the reference"
            got = _outputs(rec) if rec is not ref[0] else None
            if want is not None and got is not None:
                attempt.max_abs_diff, attempt.max_rel_diff, attempt.agrees, problem = compare_outputs(want, got)
                if problem:
                    attempt.note = f"{attempt.note + '; ' if attempt.note else ''}{problem}"
                if attempt.agrees is False and attempt.code is None:
                    attempt.code = "KC805"
    # As in the TensorFlow matrix: a failure only under DataParallel, where one device works, is KC806.
    ok_alone = {a.loader for a in matrix.attempts if a.strategy == "jax/one-device" and a.status == "ok"}
    for attempt in matrix.attempts:
        if attempt.strategy == "jax/data-parallel" and attempt.status == "error" and attempt.loader in ok_alone:
            attempt.note = f"fails only under DataParallel (one device works); on its own it reads as {attempt.code}"
            attempt.code = "KC806"
    matrix.total_wall_s = time.time() - t0
    return matrix


def run_target_backend(path: str, fmt: str, config) -> LoadMatrix:
    """``check --load`` for a target that runs Keras on JAX: the JAX matrix in the target interpreter,
    compared with a TensorFlow-backend load in the same interpreter when TensorFlow is there too."""
    from kcompat.load import _target_has
    from kcompat.load.runner import default_python

    python = config.python or default_python()
    return run_backend_matrix(path, fmt, python=python, devices=2, timeout_s=config.load.timeout_s,
                              unsafe=config.load.unsafe,
                              tensorflow_python=python if _target_has(python, "tensorflow") else None)
