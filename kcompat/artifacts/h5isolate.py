"""Run the h5py reader (``h5read``) in a child process.

The fast reader (h5meta) hands h5py the files it does not handle, which are mostly damaged ones,
and libhdf5 can crash the interpreter on a damaged file (a single flipped bit in an attribute's
datatype is enough: SIGSEGV). In a child, a crash becomes a finding on that file and the run goes
on. Parent and child pass the Artifact as JSON: ``python -m kcompat.artifacts.h5read KIND``.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from kcompat.model import Artifact, Problem

TIMEOUT_S = 30  # a metadata read takes well under a second; libhdf5 can loop on a damaged file


def read_isolated(kind: str, artifact: Artifact, cause: Exception) -> None:
    """Fill ``artifact`` as the in-process h5py reader would (``kind``: hdf5 or keras-weights),
    noting the ``cause`` that sent it here: why the fast reader gave the file up."""
    read_in_child(kind, artifact)
    artifact.notes["hdf5_reader"] = f"h5py ({type(cause).__name__}: {cause})"[:300]


def read_in_child(kind: str, artifact: Artifact) -> None:
    try:
        proc = subprocess.run([sys.executable, "-m", "kcompat.artifacts.h5read", kind],
                              input=artifact.model_dump_json(), capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        why = f"h5py did not finish reading it in {TIMEOUT_S} s"
    else:
        if proc.returncode == 0:
            try:
                result = Artifact.model_validate_json(proc.stdout)
            except ValueError:
                why = "h5py's reader returned no result"
            else:
                artifact.take(result)
                return
        elif proc.returncode < 0:
            why = f"libhdf5 crashed reading it ({signal.Signals(-proc.returncode).name})"
        else:
            why = f"h5py's reader failed: {proc.stderr.strip().splitlines()[-1:]}"
    member = "model.weights.h5" if kind == "keras-weights" else None
    artifact.problems.append(Problem(kind="hdf5-corrupt", member=member, detail=why))

