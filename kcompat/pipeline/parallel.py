"""Check many artifacts in parallel (``--jobs N``), with the report in the order of the paths.

Static checking is pure Python, so threads would share one core: the work goes to forked worker
processes, which inherit the environment snapshot (probed once, in the parent), the config and
the rules instead of receiving them with every task. The parent is one of the N: it takes chunks
from the same counter as the N-1 workers and checks them in place, so its share costs no
encoding, and no third process competes for two cores. Each process runs ``check_one`` in its main
thread, so the per-artifact budget holds there as it does in a serial run. A run with one artifact,
or ``--jobs 1``, forks nothing.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kcompat.model import Artifact, ArtifactReport

SHARED: tuple = ()  # (check, config, env, rules, tf_keras_env, items, chunks, counter, results): set before the fork


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def claim(counter: Any, total: int) -> int | None:
    """The next chunk nobody has taken, or None."""
    with counter.get_lock():
        index = counter.value
        if index >= total:
            return None
        counter.value = index + 1
    return index


def work() -> None:
    """A worker: chunks until none is left, each sent back as its reports' JSON."""
    check, config, env, rules, tf_keras_env, items, chunks, counter, results = SHARED
    while (index := claim(counter, len(chunks))) is not None:
        # As JSON: pydantic's own encoder is several times faster than pickling the model back to the parent.
        results.put((index, [check(items[i], config, env, rules, tf_keras_env).model_dump_json() for i in chunks[index]]))
    results.put((None, []))  # done: the parent stops waiting now, not when it notices the process has ended


def check_all(items: list[Path | Artifact], jobs: int, check: Callable[..., ArtifactReport], config: Any, env: Any,
              rules: list, tf_keras_env: Any, progress: Callable[[str], None] | None = None) -> list[ArtifactReport]:
    """``check(item, config, env, rules, tf_keras_env, progress)`` of every item, in order."""
    if jobs <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [check(item, config, env, rules, tf_keras_env, progress) for item in items]
    done: list[ArtifactReport | None] = [None] * len(items)
    # the first artifact is checked here, before the fork: the workers inherit what it imported and
    # the validators pydantic builds on first use, instead of each paying for them
    done[0] = check(items[0], config, env, rules, tf_keras_env, progress)
    # Small chunks keep the processes busy to the end (one slow file no longer holds a long tail);
    # an artifact takes milliseconds, so one task each would spend the run on messages.
    size = max(1, (len(items) - 1) // (8 * jobs))
    chunks = [range(i, min(i + size, len(items))) for i in range(1, len(items), size)]
    ctx = multiprocessing.get_context("fork")
    counter, results = ctx.Value("i", 0), ctx.Queue()
    global SHARED
    SHARED = (check, config, env, rules, tf_keras_env, items, chunks, counter, results)
    workers = [ctx.Process(target=work, daemon=True) for _ in range(min(jobs, len(chunks)) - 1)]
    # Frozen, the objects made so far are left alone by the collector: a forked worker does not copy the pages
    # holding them when a collection would otherwise touch their headers.
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        for worker in workers:
            worker.start()

        finished = 0

        def receive(block: bool) -> bool:
            nonlocal finished
            try:
                index, texts = results.get(timeout=0.05) if block else results.get_nowait()
            except queue.Empty:
                return False
            if index is None:
                finished += 1
                return True
            for i, text in zip(chunks[index], texts):
                if progress is not None:
                    progress(str(items[i].path if isinstance(items[i], Artifact) else items[i]))
                done[i] = ArtifactReport.model_validate_json(text)
            return True

        while (index := claim(counter, len(chunks))) is not None:
            for i in chunks[index]:
                done[i] = check(items[i], config, env, rules, tf_keras_env, progress)
            while receive(block=False):
                pass
        # until every worker has said it is done; one that died without saying so leaves its chunk to the end
        while finished < len(workers):
            if not receive(block=True) and not any(worker.is_alive() for worker in workers):
                break
        while receive(block=False):
            pass
    finally:
        if not frozen_before:  # a caller's own frozen objects stay frozen
            gc.unfreeze()
        SHARED = ()
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
    # a worker that died mid-chunk (killed, out of memory) left its artifacts: they are checked here
    return [entry if entry is not None else check(item, config, env, rules, tf_keras_env, progress)
            for item, entry in zip(items, done)]
