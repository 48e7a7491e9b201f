"""Check many artifacts in parallel (``--jobs N``), with the report in the order of the paths.

Static checking is pure Python, so threads would share one core: the work goes to forked worker
processes, which inherit the environment snapshot (probed once, in the parent), the config and
the rules instead of receiving them with every task. The parent is one of the N: it claims chunks
from the same queue as the N-1 workers and checks them in place, so its share costs no encoding,
and no third process competes for two cores. Each process runs ``check_one`` in its main thread,
so the per-artifact budget holds there as it does in a serial run. A run with one artifact, or
``--jobs 1``, forks nothing.

Plain ``os.fork`` and two kinds of file descriptor, not ``multiprocessing``: its shared counter,
locks and queue cost ~10 ms to set up (ctypes, semaphores, a feeder thread), a twentieth of what
``--jobs 2`` saves on 200 artifacts. The chunks to claim are 4-byte numbers in one pipe, written
before the fork: a read of 4 bytes takes one whole number, so each chunk goes to exactly one
process, and an empty pipe whose writer is closed reads as the end. Each worker appends its
results, pickled with a length in front, to a file of its own that only the parent reads.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kcompat.model import Artifact, ArtifactReport

NUMBER = struct.Struct("=I")
HEADER = struct.Struct("=Q")
PIPE_ROOM = 60000  # under what a pipe holds on Linux (64 KiB): the chunk numbers are written before any reader runs


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def claim(queue: int) -> int | None:
    """The next chunk nobody has taken, or None."""
    data = os.read(queue, NUMBER.size)
    return NUMBER.unpack(data)[0] if len(data) == NUMBER.size else None


def schedule(count: int, jobs: int) -> list[range]:
    """Chunks of items 1..count-1, each a third of what is left per process: large ones first, then smaller
    ones, so that the processes end together (one slow file no longer holds a long tail) in ~20 messages
    for two processes, where one task per artifact would spend the run on messages."""
    least = -(-(count - 1) // (PIPE_ROOM // NUMBER.size))  # every chunk number fits in the pipe before the fork
    chunks, start = [], 1
    while start < count:
        step = max(least, -(-(count - start) // (3 * jobs)))
        chunks.append(range(start, min(start + step, count)))
        start += step
    return chunks


def result_file() -> int:
    if hasattr(os, "memfd_create"):
        return os.memfd_create("kcompat-results")
    import tempfile

    with tempfile.TemporaryFile() as handle:
        return os.dup(handle.fileno())


def work(queue: int, out: int, chunks: list[range], items: list, check: Callable, args: tuple) -> None:
    """A worker: chunks until none is left, each appended to ``out`` as its pickled reports."""
    while (index := claim(queue)) is not None:
        body = pickle.dumps((index, [check(items[i], *args) for i in chunks[index]]), pickle.HIGHEST_PROTOCOL)
        os.write(out, HEADER.pack(len(body)) + body)


class Results:
    """What one worker has written so far, read from where the last read stopped."""

    def __init__(self, fd: int) -> None:
        self.fd, self.offset = fd, 0

    def read(self) -> list[tuple[int, list[ArtifactReport]]]:
        found = []
        size = os.fstat(self.fd).st_size
        while size - self.offset >= HEADER.size:
            (length,) = HEADER.unpack(os.pread(self.fd, HEADER.size, self.offset))
            if size - self.offset - HEADER.size < length:
                break  # still being written
            found.append(pickle.loads(os.pread(self.fd, length, self.offset + HEADER.size)))
            self.offset += HEADER.size + length
        return found


def check_all(items: list[Path | Artifact], jobs: int, check: Callable[..., ArtifactReport], config: Any, env: Any,
              rules: list, tf_keras_env: Any, progress: Callable[[str], None] | None = None) -> list[ArtifactReport]:
    """``check(item, config, env, rules, tf_keras_env, progress)`` of every item, in order."""
    if jobs <= 1 or len(items) <= 1 or not hasattr(os, "fork"):
        return [check(item, config, env, rules, tf_keras_env, progress) for item in items]
    done: list[ArtifactReport | None] = [None] * len(items)
    # the first artifact is checked here, before the fork: the workers inherit what it imported
    done[0] = check(items[0], config, env, rules, tf_keras_env, progress)
    chunks = schedule(len(items), jobs)
    args = (config, env, rules, tf_keras_env)
    queue, feed = os.pipe()
    os.write(feed, b"".join(NUMBER.pack(i) for i in range(len(chunks))))
    os.close(feed)  # read to the end, the queue is empty: no process waits on it
    workers: dict[int, Results] = {}
    running: set[int] = set()
    # Frozen, the objects made so far are left alone by the collector: a forked worker does not copy the pages
    # holding them when a collection would otherwise touch their headers.
    frozen_before = gc.get_freeze_count()
    gc.freeze()

    def take(results: Results) -> None:
        for index, entries in results.read():
            for i, entry in zip(chunks[index], entries):
                if progress is not None:
                    progress(str(items[i].path if isinstance(items[i], Artifact) else items[i]))
                done[i] = entry

    try:
        for _ in range(min(jobs, len(chunks)) - 1):
            out = result_file()
            pid = os.fork()
            if pid == 0:  # the worker: it never returns into the caller's code
                code = 0
                try:
                    work(queue, out, chunks, items, check, args)
                except BaseException:
                    code = 70
                finally:
                    os._exit(code)
            workers[pid] = Results(out)
            running.add(pid)
        while (index := claim(queue)) is not None:
            for i in chunks[index]:
                done[i] = check(items[i], config, env, rules, tf_keras_env, progress)
            for results in workers.values():
                take(results)
        for pid, results in workers.items():
            os.waitpid(pid, 0)  # until it has written its last chunk, or died (its chunks are left to the end)
            running.discard(pid)
            take(results)
    finally:
        if not frozen_before:  # a caller's own frozen objects stay frozen
            gc.unfreeze()
        os.close(queue)
        for results in workers.values():
            os.close(results.fd)
        for pid in running:  # an exception here (Ctrl-C) leaves no worker running
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    # a worker that died mid-chunk (killed, out of memory) left its artifacts: they are checked here
    return [entry if entry is not None else check(item, config, env, rules, tf_keras_env, progress)
            for item, entry in zip(items, done)]
