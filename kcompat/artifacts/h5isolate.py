"""Run the h5py reader (``h5read``) in one long-lived child process per run.

The fast reader (h5meta) hands h5py the files it does not handle, which are mostly damaged ones,
and libhdf5 can crash the interpreter on a damaged file (a single flipped bit in an attribute's
datatype is enough: SIGSEGV). In a child, a crash becomes a finding on that file and the run goes
on. The child imports h5py once (~0.5 s) and reads the files it is sent one after another, as JSON
lines over stdin and stdout (``python -m kcompat.artifacts.h5read``); if it crashes or runs past
the per-file timeout, the file it was reading gets the finding and a fresh child takes the rest.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from kcompat.model import Artifact, Problem
from kcompat.sources import is_local

TIMEOUT_S = 20  # a metadata read takes well under a second; libhdf5 can loop on a damaged file. Below the
# 30 s artifact budget, so such a file gets the precise KC102 "h5py did not finish" rather than KC117.


def read_isolated(kind: str, artifact: Artifact, cause: Exception, source: Any = None) -> None:
    """Fill ``artifact`` as the in-process h5py reader would (``kind``: hdf5 or keras-weights),
    noting the ``cause`` that sent it here: why the fast reader gave the file up.

    ``source`` is the file read; a remote one is downloaded first, since libhdf5 reads local files.
    """
    if source is not None and not is_local(source):
        read_downloaded(kind, artifact, source)
    else:
        read_in_child(kind, artifact)
    artifact.notes["hdf5_reader"] = f"h5py ({type(cause).__name__}: {cause})"[:300]


def read_downloaded(kind: str, artifact: Artifact, source: Any) -> None:
    """The h5py read of a remote file, from a whole copy in a private temporary folder."""
    import shutil

    from kcompat.sources.remote import private_folder

    folder = private_folder()
    url = artifact.path
    try:
        if source.name == "model.weights.h5" and kind == "keras-weights" and source.parent.is_dir():
            (folder / source.parent.name).mkdir()
            source.download(folder / source.parent.name)  # a .keras directory: only its weights file
            artifact.path = str(folder / source.parent.name)
        else:
            artifact.path = str(source.download(folder))
        read_in_child(kind, artifact)
    finally:
        artifact.path = url
        shutil.rmtree(folder, ignore_errors=True)


def read_in_child(kind: str, artifact: Artifact) -> None:
    result, why = WORKER.read(kind, artifact)
    if result is not None:
        artifact.take(result)
        return
    member = "model.weights.h5" if kind == "keras-weights" else None
    artifact.problems.append(Problem(kind="hdf5-corrupt", member=member, detail=why))


class Worker:
    """The child, started on the first file that needs it; one file at a time."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.errors = None
        self.lock = threading.Lock()
        self.owner = os.getpid()

    def start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.errors = tempfile.TemporaryFile()
            self.proc = subprocess.Popen([sys.executable, "-m", "kcompat.artifacts.h5read"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.errors)
        return self.proc

    def read(self, kind: str, artifact: Artifact) -> tuple[Artifact | None, str]:
        if self.owner != os.getpid():  # a forked copy (a --jobs process) starts its own child
            self.__init__()
        with self.lock:
            proc = self.start()
            try:
                proc.stdin.write(json.dumps({"kind": kind, "artifact": artifact.model_dump(mode="json")}).encode() + b"\n")
                proc.stdin.flush()
                line = read_line(proc.stdout.fileno(), time.monotonic() + TIMEOUT_S)
            except BrokenPipeError:
                line = b""
            except BaseException:  # the artifact's time budget ran out mid-read: leave no child spinning in libhdf5
                self.stop()
                raise
            if line is None:
                self.stop()
                return None, f"h5py did not finish reading it in {TIMEOUT_S} s"
            if line:
                try:
                    return Artifact.from_data(json.loads(line)), ""
                except ValueError:
                    self.stop()
                    return None, "h5py's reader returned no result"
            code = proc.wait()
            self.proc = None
            if code < 0:
                return None, f"libhdf5 crashed reading it ({signal.Signals(-code).name})"
            return None, f"h5py's reader failed: {self.stderr_tail()}"

    def stderr_tail(self) -> list[str]:
        self.errors.seek(0)
        return self.errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def read_line(fd: int, deadline: float) -> bytes | None:
    """One line from ``fd``: b"" if the child ended first, None if the deadline passed."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b""
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


WORKER = Worker()
