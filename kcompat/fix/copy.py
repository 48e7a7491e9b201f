"""Read the parts of an artifact a fixer may change, and write the repaired copy.

HDF5: attributes are read and rewritten by h5py in a child process (``h5child``) on a byte copy.
``.keras``: a new zip with every member as it was except ``config.json`` (and ``model.weights.h5`` when a
fixer moves its groups, through the same child). JSON: the config itself.
The input is only ever opened for reading.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from kcompat.checks.base import Rewrite
from kcompat.model import Artifact, Format

EDITABLE = (Format.hdf5_model, Format.keras_zip, Format.json_config)
WEIGHTS = "model.weights.h5"
CHILD_TIMEOUT_S = 60


class CopyError(Exception):
    """The artifact cannot be read or its copy written; the message says why."""


def _child(request: dict) -> dict:
    try:
        proc = subprocess.run([sys.executable, "-m", "kcompat.fix.h5child"], input=json.dumps(request),
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise CopyError(f"h5py did not answer within {CHILD_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        raise CopyError(f"h5py failed: {(proc.stderr.strip().splitlines() or ['exit ' + str(proc.returncode)])[-1]}")
    return json.loads(proc.stdout)


def _loads(text: str | None, what: str):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CopyError(f"{what} is not JSON: {exc}") from exc


def read_parts(artifact: Artifact) -> Rewrite:
    path = artifact.path
    suffix = Path(path).suffix
    if artifact.format is Format.hdf5_model:
        attrs = _child({"op": "read", "path": path})["attrs"]
        return Rewrite(model=_loads(attrs["model_config"], "model_config"),
                       training=_loads(attrs["training_config"], "training_config"), suffix=suffix)
    if artifact.format is Format.keras_zip:
        try:
            with zipfile.ZipFile(path) as zf:
                return Rewrite(model=_loads(zf.read("config.json").decode("utf-8"), "config.json"), suffix=suffix)
        except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise CopyError(f"cannot read config.json: {exc}") from exc
    if artifact.format is Format.json_config:
        try:
            return Rewrite(model=_loads(Path(path).read_text("utf-8"), "the file"), suffix=suffix)
        except (OSError, UnicodeDecodeError) as exc:
            raise CopyError(str(exc)) from exc
    raise CopyError(f"kcompat fix rewrites .h5 models, .keras zips and JSON configs, not {artifact.format.value}")


def _moved(data: bytes, dest: Path, moves: list[tuple[str, str]]) -> bytes:
    """A .keras's weights file with its groups moved (h5py, in the child)."""
    src, out = dest.with_name(dest.name + ".weights-in.h5"), dest.with_name(dest.name + ".weights-out.h5")
    try:
        src.write_bytes(data)
        _child({"op": "move", "src": str(src), "dst": str(out), "moves": [list(m) for m in moves]})
        return out.read_bytes()
    finally:
        src.unlink(missing_ok=True)
        out.unlink(missing_ok=True)


def write_copy(artifact: Artifact, rewrite: Rewrite, dest: Path) -> None:
    """Write ``dest``: the artifact with the rewritten configs; the original is never opened for writing."""
    if Path(artifact.path).resolve() == dest.resolve():
        raise CopyError("the output would overwrite the input; choose another -o")
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(rewrite.model)
    if artifact.format is Format.hdf5_model:
        training = None if rewrite.drop_training or rewrite.training is None else json.dumps(rewrite.training)
        attrs = {"model_config": text}
        if rewrite.drop_training or rewrite.training is not None:
            attrs["training_config"] = training
        _child({"op": "write", "src": artifact.path, "dst": str(dest), "attrs": attrs})
    elif artifact.format is Format.keras_zip:
        with zipfile.ZipFile(artifact.path) as src, zipfile.ZipFile(dest, "w") as out:
            for info in src.infolist():
                data = text.encode("utf-8") if info.filename == "config.json" else src.read(info)
                if info.filename == WEIGHTS and rewrite.weight_moves:
                    data = _moved(data, dest, rewrite.weight_moves)
                out.writestr(info, data, compress_type=info.compress_type)
    else:
        dest.write_text(text, "utf-8")
