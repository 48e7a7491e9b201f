"""Decide what a path is from its bytes, not its extension."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

from kcompat.model import Format
from kcompat.sources import is_local, walk

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
TABLE_MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")  # TF tensor-bundle index footer
KERAS_ZIP_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")
JSON_SNIFF_LIMIT = 64 * 1024 * 1024
NPY_MAGIC = b"\x93NUMPY"
IDENTIFIER = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_>.")
MODEL_SUFFIXES = {".h5", ".hdf5", ".keras", ".pb", ".pbtxt", ".tflite", ".index", ".ckpt", ".weights"}


def hdf5_offset(head: bytes, path: Path, size: int) -> int | None:
    """HDF5 allows a user block, so the signature may sit at 0, 512, 1024, 2048, ..."""
    if head.startswith(HDF5_SIGNATURE):
        return 0
    offset = 512
    with path.open("rb") as fh:
        if hasattr(fh, "prefetch"):  # a remote file: every probe in one round trip
            fh.prefetch([(512 << i, (512 << i) + 8) for i in range(22) if (512 << i) + 8 <= size], exact=True)
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


SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                 (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def special_kind(path: Path) -> str | None:
    """What a path is when it is not a regular file or folder, from stat alone: opening a FIFO
    blocks until a writer comes, and reading a device may never end."""
    if not is_local(path):  # an object in a bucket is a regular object
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((what for test, what in SPECIAL_KINDS if test(mode)), None)


def detect(path: Path) -> Format:
    if special_kind(path) is not None:
        return Format.unreadable
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
            if hasattr(fh, "prefetch"):  # a remote file: its head and tail in one round trip
                fh.prefetch([(0, 1024), (size - 8, size)])
            head = fh.read(1024)
            tail = b""
            if size >= 48:
                fh.seek(size - 8)
                tail = fh.read(8)
    except OSError:
        return Format.unreadable
    if size == 0:
        return Format.empty
    if path.suffix == ".keras" and head.startswith(b"PK\x03\x04"):
        # Keras opens a .keras that is a zip as a zip, whatever it holds: so does kcompat, without
        # probing for an HDF5 user block (20 reads, each a round trip when the file is remote)
        return zip_format(path)
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
    if head.startswith(NPY_MAGIC):
        return Format.numpy
    if head.lstrip()[:1] in (b"{", b"[") and size <= JSON_SNIFF_LIMIT:
        return json_format(path)
    return graph_format(head, path)


def zip_format(path: Path) -> Format:
    try:
        with path.open("rb") as fh, zipfile.ZipFile(fh) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return Format.keras_zip if path.suffix == ".keras" else Format.zip_other
    if "config.json" in names and names & {"metadata.json", "model.weights.h5"}:
        return Format.keras_zip
    if names and all(n.endswith(".npy") for n in names) and path.suffix != ".keras":
        return Format.numpy  # np.savez writes a zip of .npy members
    if path.suffix == ".keras" and names & KERAS_ZIP_MEMBERS:
        return Format.keras_zip  # a damaged .keras: the reader names what is missing
    return Format.zip_other


def json_format(path: Path) -> Format:
    """A model config (``to_json()`` or ``get_config()``), a TF.js model.json, or neither."""
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, OSError, RecursionError):
        return Format.unknown
    if not isinstance(data, dict):
        return Format.unknown
    if isinstance(data.get("modelTopology"), dict) or "weightsManifest" in data:
        topology = data.get("modelTopology") or {}
        if data.get("format") == "graph-model" or "node" in topology or "library" in topology:
            return Format.tfjs_graph
        return Format.tfjs_layers
    if "class_name" in data and "config" in data:
        return Format.json_config
    if isinstance(data.get("layers"), list) and "name" in data:  # model.get_config(): no class_name wrapper
        return Format.json_config
    return Format.unknown


def varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
    return -1, len(data)


def field(data: bytes, pos: int, tag: int) -> tuple[int, int] | None:
    """(start, end) of the length-delimited protobuf field ``tag`` at ``pos``, or None."""
    if pos >= len(data) or data[pos] != tag:
        return None
    length, start = varint(data, pos + 1)
    return (start, start + length) if length >= 0 else None


def is_identifier(raw: bytes) -> bool:
    return 0 < len(raw) <= 256 and all(c in IDENTIFIER for c in raw)


def graph_format(head: bytes, path: Path) -> Format:
    """A TF1 GraphDef (``.pb``) or MetaGraphDef (``.meta``), told by the shape of their first fields.

    A GraphDef starts with a NodeDef (field 1) whose own fields 1 and 2 are the node's name and its op,
    an identifier. A MetaGraphDef starts with its MetaInfoDef (field 1), then its GraphDef (field 2).
    """
    node = field(head, 0, 0x0A)
    if node is None:
        return Format.unknown
    name = field(head, node[0], 0x0A)
    if name is not None and name[1] <= len(head):
        op = field(head, name[1], 0x12)
        if op is not None and op[1] <= len(head) and is_identifier(head[op[0]:op[1]]) and head[name[0]:name[1]]:
            return Format.graphdef
    if path.suffix in (".meta", ".pb"):
        try:
            with path.open("rb") as fh:
                fh.seek(node[1])
                after = fh.read(1)
        except OSError:
            return Format.unknown
        if after == b"\x12":
            return Format.metagraph
    return Format.unknown


def skip_reason(path: Path, name: str) -> str | None:
    """Why an entry of a walked folder is not looked at, from lstat alone; None to look at it."""
    if is_local(path) and os.path.islink(path):
        return "symbolic link, not followed"
    if name.startswith("."):
        return "hidden folder, not searched" if path.is_dir() else "hidden file"
    return None


def discover(root: Path, skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """The artifacts under a directory: a SavedModel, unzipped .keras or checkpoint directory is one.

    Every other entry is appended to ``skipped`` with the reason, so that a report can account for
    each entry it was given. A special file (FIFO, socket, device) counts as an artifact: it gets
    its own finding, and it is never opened.
    """
    skipped = [] if skipped is None else skipped
    if not root.is_dir() or detect(root) is not Format.unknown:
        return [root]
    found: list[Path] = []
    for here, dirnames, filenames in walk(root):
        if not dirnames and not filenames and here != root:
            skipped.append((here, "empty folder"))
        dirnames.sort()
        keep = []
        for d in dirnames:
            sub = here / d
            why = skip_reason(sub, d)
            if why:
                skipped.append((sub, why))
            elif detect(sub) is not Format.unknown:
                found.append(sub)
            else:
                keep.append(d)
        dirnames[:] = keep
        prefixes: set[str] = set()
        for name in sorted(filenames):
            file = here / name
            why = skip_reason(file, name)
            if why:
                skipped.append((file, why))
                continue
            if special_kind(file) is not None:
                found.append(file)
                continue
            prefix = checkpoint_prefix(file)
            if prefix is not None:
                if str(prefix) not in prefixes:
                    prefixes.add(str(prefix))
                    found.append(prefix)
                continue
            if file.suffix.lower() in MODEL_SUFFIXES:  # kept whatever it holds: no need to read it here
                found.append(file)
            elif detect(file) is not Format.unknown:
                found.append(file)
            else:
                skipped.append((file, not_model_reason(file)))
    return found


def not_model_reason(path: Path) -> str:
    """What a file that is not a model artifact looks like, in a few words."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        return f"not read: {exc.strerror or exc}"
    if head.lstrip()[:1] in (b"{", b"["):
        return "JSON, not a model config"
    return "not a model artifact"
