"""What the benchmark scripts share: the environment their subprocesses run in, and a median wall time."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def wall(cmd: list[str], runs: int) -> float:
    """Median wall time. Short runs on a shared machine are bimodal (here ~240 or ~350 ms for the
    same check), so it takes many runs for the median to settle; see each script's --runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}): {proc.stderr[-800:]}")
    return statistics.median(times)
