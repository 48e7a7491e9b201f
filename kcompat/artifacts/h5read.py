"""Read HDF5 metadata with h5py: the fallback for files the fast reader (h5meta) gives up.

Only ever run in a child process (``h5isolate``), since libhdf5 can crash on a damaged file:
``python -m kcompat.artifacts.h5read`` reads requests as JSON lines on stdin, ``{"kind": KIND,
"artifact": {...}}``, and writes each Artifact back filled in, one line each. KIND is ``hdf5`` (a
file) or ``keras-weights`` (a .keras zip's or directory's ``model.weights.h5``).
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

from kcompat.artifacts import reader_error
from kcompat.artifacts.hdf5 import corrupt_detail, fill_weights, read_hdf5
from kcompat.model import Artifact, Problem


def read_hdf5_h5py(artifact: Artifact, path: Path) -> None:
    import h5py  # numpy and h5py cost ~130-170 ms to import: only the fallback pays it

    try:
        with h5py.File(path, "r") as handle:
            read_hdf5(artifact, handle)
    except (OSError, RuntimeError, KeyError) as exc:  # what h5py raises on damaged files
        artifact.problems.append(Problem(kind="hdf5-corrupt", detail=corrupt_detail(exc)))
    except UnicodeDecodeError as exc:  # a damaged name: h5py, and so every Keras loader, cannot decode it
        artifact.problems.append(Problem(kind="hdf5-corrupt", detail=f"a name in the file is not UTF-8 ({exc})"[:400]))


def read_weights_h5py(artifact: Artifact, path: Path) -> None:
    """The same inventory read with h5py: a .keras zip's stored member, or a .keras directory's file."""
    import h5py

    try:
        if path.is_dir():
            with h5py.File(path / "model.weights.h5", "r") as handle:
                fill_weights(artifact, handle)
        else:
            with zipfile.ZipFile(path) as zf, zf.open("model.weights.h5") as member, h5py.File(member, "r") as handle:
                fill_weights(artifact, handle)
    except Exception as exc:  # h5py raises OSError, KeyError, RuntimeError on damaged files
        artifact.problems.append(Problem(kind="hdf5-corrupt", member="model.weights.h5", detail=str(exc)[:300]))



READERS = {"hdf5": read_hdf5_h5py, "keras-weights": read_weights_h5py}


def main() -> int:
    for line in sys.stdin:
        request = json.loads(line)
        artifact = Artifact.from_data(request["artifact"])
        try:
            READERS[request["kind"]](artifact, Path(artifact.path))
        except Exception as exc:  # as read_artifact does in-process: a reader bug is a finding
            artifact.problems.append(reader_error(exc))
        sys.stdout.write(artifact.model_dump_json() + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
