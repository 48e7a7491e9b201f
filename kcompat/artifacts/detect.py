"""Decide what a path is from its bytes, not its extension."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from kcompat.model import Format

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")  # TF tensor-bundle index footer
KERAS_ZIP_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
JSON_SNIFF_LIMIT = 64 * 1024 * 1024
MODEL_SUFFIXES = {".h5", ".hdf5", ".keras", ".pb", ".pbtxt", ".tflite", ".index", ".ckpt", ".weights"}


def hdf5_offset(head: bytes, path: Path, size: int) -> int | None:
    """HDF5 allows a user block, so the signature may sit at 0, 512, 1024, 2048, ..."""
    if head.startswith(HDF5_SIGNATURE):
        return 0
    offset = 512
    with path.open("rb") as fh:
        while offset + 8 <= size and offset <= 1 << 30:
            fh.seek(offset)
            if fh.read(8) == HDF5_SIGNATURE:
                return offset
            offset *= 2
    return None


def is_saved_model_dir(path: Path) -> bool:
    return any((path / name).is_file() for name in SAVED_MODEL_FILES)


def is_keras_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and (
        (path / "metadata.json").is_file() or (path / "model.weights.h5").is_file()
    )


def checkpoint_prefix(path: Path) -> Path | None:
    """The prefix of a TF checkpoint named by its prefix, its .index or one of its shards."""
    name = path.name
    if name.endswith(".index"):
        return path.with_name(name[: -len(".index")])
    if ".data-" in name:
        return path.with_name(name.split(".data-")[0])
    if not path.exists() and path.with_name(name + ".index").is_file():
        return path
    return None


def detect(path: Path) -> Format:
    if path.is_dir():
        if is_saved_model_dir(path):
            return Format.saved_model
        if is_keras_dir(path):
            return Format.keras_dir
        if (path / "checkpoint").is_file():
            return Format.tf_checkpoint
        return Format.unknown
    if not path.exists():
        prefix = checkpoint_prefix(path)
        return Format.tf_checkpoint if prefix is not None else Format.missing
    if path.name in SAVED_MODEL_FILES:
        return Format.saved_model
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(1024)
            tail = b""
            if size >= 48:
                fh.seek(size - 8)
                tail = fh.read(8)
    except OSError:
        return Format.unreadable
    if size == 0:
        return Format.empty
    if hdf5_offset(head, path, size) is not None:
        return Format.hdf5_other  # refined by the HDF5 reader, which must open the file
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return zip_format(path)
    if head.startswith(LFS_PREFIX):
        return Format.lfs_pointer
    if head[4:8] == b"TFL3":
        return Format.tflite
    if tail == TABLE_MAGIC or ".data-" in path.name:
        return Format.tf_checkpoint
    if path.name == "checkpoint" and head.lstrip().startswith(b"model_checkpoint_path"):
        return Format.tf_checkpoint
    if head.lstrip()[:1] in (b"{", b"[") and size <= JSON_SNIFF_LIMIT and looks_like_model_json(path):
        return Format.json_config
    return Format.unknown


def zip_format(path: Path) -> Format:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return Format.keras_zip if path.suffix == ".keras" else Format.zip_other
    if "config.json" in names and names & {"metadata.json", "model.weights.h5"}:
        return Format.keras_zip
    if path.suffix == ".keras" and names & KERAS_ZIP_MEMBERS:
        return Format.keras_zip  # a damaged .keras: the reader names what is missing
    return Format.zip_other


def looks_like_model_json(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, OSError, RecursionError):
        return False
    return isinstance(data, dict) and "class_name" in data and "config" in data


def discover(root: Path) -> list[Path]:
    """The artifacts under a directory: a SavedModel, unzipped .keras or checkpoint directory is one."""
    if not root.is_dir() or detect(root) is not Format.unknown:
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames.sort()
        keep = []
        for d in dirnames:
            sub = here / d
            if d.startswith(".") or sub.is_symlink():
                continue
            if detect(sub) is not Format.unknown:
                found.append(sub)
            else:
                keep.append(d)
        dirnames[:] = keep
        prefixes: set[str] = set()
        for name in sorted(filenames):
            file = here / name
            if name.startswith(".") or file.is_symlink():
                continue
            prefix = checkpoint_prefix(file)
            if prefix is not None:
                if str(prefix) not in prefixes:
                    prefixes.add(str(prefix))
                    found.append(prefix)
                continue
            fmt = detect(file)
            if fmt is not Format.unknown or file.suffix.lower() in MODEL_SUFFIXES:
                found.append(file)
    return found
