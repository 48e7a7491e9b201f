"""detect + readers: turn a path into an Artifact of facts, reading metadata only."""

from __future__ import annotations

import os
import re
from pathlib import Path

from kcompat.artifacts.detect import detect, discover, special_kind
from kcompat.artifacts.kerasfile import load_json, read_keras_dir, read_keras_zip
from kcompat.artifacts.keras_config import apply_model_config
from kcompat.model import Artifact, Format, Problem, SourceFacts, scrub
from kcompat.sources import RemoteError, is_local

__all__ = ["detect", "discover", "read_artifact"]


def read_lfs_pointer(artifact: Artifact, path: Path) -> None:
    text = path.read_bytes()[:1024].decode("utf-8", "replace")
    for key in ("oid", "size"):
        match = re.search(rf"^{key} (\S+)", text, re.M)
        if match:
            artifact.notes[f"lfs_{key}"] = match.group(1)


def read_json_config(artifact: Artifact, path: Path) -> None:
    data = load_json(artifact, path.name, path.read_bytes())
    if data is None:
        return
    artifact.keras_version = data.get("keras_version") if isinstance(data.get("keras_version"), str) else None
    artifact.backend = data.get("backend") if isinstance(data.get("backend"), str) else None
    if "class_name" not in data and isinstance(data.get("layers"), list):
        # model.get_config() output: the model's own config without its {class_name, config} wrapper
        kind = "Functional" if "input_layers" in data else "Sequential"
        artifact.problems.append(Problem(kind="config-without-wrapper", detail=kind))
        data = {"class_name": kind, "config": data}
    apply_model_config(artifact, data)


def read_hdf5_file(artifact: Artifact, path: Path) -> None:
    from kcompat.artifacts import h5meta
    from kcompat.artifacts.hdf5 import read_hdf5

    scratch = artifact.model_copy(deep=True)
    try:
        with path.open("rb") as f:
            read_hdf5(scratch, h5meta.open_hdf5(f))
    except RemoteError:
        raise
    except h5meta.Truncated as exc:  # refused by libhdf5 whatever reads it; no need to ask h5py
        artifact.problems.append(Problem(kind="hdf5-corrupt", detail=str(exc)))
    except Exception as exc:  # noqa: BLE001 - Unsupported, or a damaged file: h5py decides
        from kcompat.artifacts.h5isolate import read_isolated

        read_isolated("hdf5", artifact, exc, source=path)
    else:
        artifact.take(scratch)


def read_saved_model(artifact: Artifact, path: Path) -> None:
    from kcompat.artifacts.savedmodel import read_saved_model as read  # protobuf: ~25 ms to import

    read(artifact, path)


def read_checkpoint(artifact: Artifact, path: Path) -> None:
    from kcompat.artifacts.checkpoint import read_checkpoint as read  # protobuf, as above

    read(artifact, path)


def read_tfjs(artifact: Artifact, path: Path) -> None:
    from kcompat.artifacts.foreign import read_tfjs as read

    read(artifact, path)


def read_numpy(artifact: Artifact, path: Path) -> None:
    from kcompat.artifacts.foreign import read_numpy as read

    read(artifact, path)


READERS = {
    Format.tfjs_layers: read_tfjs,
    Format.tfjs_graph: read_tfjs,
    Format.numpy: read_numpy,
    Format.hdf5_other: read_hdf5_file,
    Format.keras_zip: read_keras_zip,
    Format.keras_dir: read_keras_dir,
    Format.saved_model: read_saved_model,
    Format.tf_checkpoint: read_checkpoint,
    Format.json_config: read_json_config,
    Format.lfs_pointer: read_lfs_pointer,
}


def reader_error(exc: Exception) -> Problem:
    import traceback  # a reader's crash is rare: not worth ~1 ms of every run

    return Problem(kind="reader-error", detail=f"{type(exc).__name__}: {exc}"[:400],
                   member="".join(traceback.format_exception_only(type(exc), exc)).strip()[:200])


def read_artifact(path: Path) -> Artifact:
    """Never raises for bad input: what cannot be read becomes a Problem on the Artifact.

    ``path`` is a ``pathlib.Path`` or a ``kcompat.sources`` remote path; a remote failure (no
    credentials, 403, connection, timeout) makes the artifact ``unreachable``, with cause and fix.
    """
    try:
        artifact = read_any(path)
    except RemoteError as exc:
        artifact = Artifact(path=str(path), format=Format.unreachable,
                            problems=[Problem(kind="remote-error", detail=exc.cause)], notes={"remote_fix": exc.fix})
    if not is_local(path):
        try:
            artifact.source = SourceFacts(**path.facts())
        except RemoteError as exc:  # the listing failed after the reads worked: keep what was read
            artifact.source = SourceFacts(url=str(path), bytes_fetched=path.meter.bytes, requests=path.meter.requests)
            artifact.notes["source_error"] = exc.cause
    return scrub(artifact)


def read_any(path: Path) -> Artifact:
    fmt = detect(path)
    artifact = Artifact(path=str(path), format=fmt)
    special = special_kind(path)
    if special is not None:  # never opened: a FIFO would block the run until a writer came
        artifact.problems.append(Problem(kind="unreadable", detail=f"{path.name} is {special}, not a regular file"))
        return scrub(artifact)
    try:
        if path.is_file():
            artifact.size_bytes = path.stat().st_size
        reader = READERS.get(fmt)
        if reader is not None:
            reader(artifact, path)
    except PermissionError as exc:
        artifact.format = Format.unreadable
        artifact.problems.append(Problem(kind="unreadable", detail=str(exc)))
    except RemoteError:
        raise
    except Exception as exc:  # a reader bug must not end the run; it is reported as a finding
        artifact.problems.append(reader_error(exc))
    if fmt is Format.unreadable or (is_local(path) and path.exists() and not os.access(path, os.R_OK)):
        artifact.format = Format.unreadable
    if artifact.keras_version:
        major = artifact.keras_version.split(".")[0]
        artifact.keras_major = int(major) if major.isdigit() else None
    if not artifact.tensorflow_version and artifact.saved_model:
        artifact.tensorflow_version = artifact.saved_model.tensorflow_version
    return artifact  # read_artifact scrubs: names and config strings enter the model there, made safe for every output
