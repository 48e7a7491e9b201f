"""Check many artifacts in parallel (``--jobs N``), with the report in the order of the paths.

Static checking is pure Python, so threads would share one core: the work goes to forked worker
processes, which inherit the environment snapshot (probed once, in the parent), the config and
the rules instead of receiving them with every task. Each worker runs ``check_one`` in its main
thread, so the per-artifact budget holds there as it does in a serial run. A run with one
artifact, or ``--jobs 1``, starts no pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from kcompat.model import Artifact, ArtifactReport

SHARED: tuple = ()  # (check, config, env, rules, tf_keras_env): set before the fork, read in the workers


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_shared(item: Path | Artifact) -> str:
    check, config, env, rules, tf_keras_env = SHARED
    # As JSON: pydantic's own encoder is several times faster than pickling the model back to the parent.
    return check(item, config, env, rules, tf_keras_env).model_dump_json()


def check_all(items: list[Path | Artifact], jobs: int, check: Callable[..., ArtifactReport], config: Any, env: Any,
              rules: list, tf_keras_env: Any, progress: Callable[[str], None] | None = None) -> list[ArtifactReport]:
    """``check(item, config, env, rules, tf_keras_env, progress)`` of every item, in order."""
    if jobs <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [check(item, config, env, rules, tf_keras_env, progress) for item in items]
    global SHARED
    SHARED = (check, config, env, rules, tf_keras_env)
    # the first artifact is checked here, before the fork: the workers inherit what it imported and
    # the validators pydantic builds on first use, instead of each paying for them
    results = [check(items[0], config, env, rules, tf_keras_env, progress)]
    rest = items[1:]
    try:
        with ProcessPoolExecutor(min(jobs, len(rest)), mp_context=multiprocessing.get_context("fork")) as pool:
            # Chunks: an artifact takes milliseconds, so one task per artifact would spend the run on IPC.
            chunk = max(1, len(rest) // (4 * jobs))
            done = pool.map(run_shared, rest, chunksize=chunk)
            for item in rest:
                if progress is not None:
                    progress(str(item.path if isinstance(item, Artifact) else item))
                try:
                    results.append(ArtifactReport.model_validate_json(next(done)))
                except StopIteration:
                    results.append(check(item, config, env, rules, tf_keras_env))
                except Exception:  # noqa: BLE001 - a worker died: this artifact is checked here instead
                    done = iter(())
                    results.append(check(item, config, env, rules, tf_keras_env))
    finally:
        SHARED = ()
    return results
