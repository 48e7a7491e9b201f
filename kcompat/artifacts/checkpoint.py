"""Read a TF checkpoint (object-based or name-based) from its index: names, dtypes, shapes."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from kcompat.artifacts.detect import TABLE_MAGIC, checkpoint_prefix
from kcompat.artifacts.tfindex import BundleIndexError, read_index
from kcompat.model import Artifact, Problem, Weight
from kcompat.sources import is_local

SLOT_MARKER = "/.OPTIMIZER_SLOT/"


class OutsideFolder(ValueError):
    """The `checkpoint` file names a prefix outside its folder, which kcompat does not read."""


def inside(folder: Path, named: Path) -> Path:
    """``named`` if it lies in ``folder``; else the same name in ``folder`` (a checkpoint folder that was
    moved keeps its old absolute paths), if that exists."""
    if not is_local(folder):  # in a bucket a folder is a prefix with no links: the same test on names alone
        inner = posixpath.normpath(str(named))
        if not named.is_absolute() and inner != ".." and not inner.startswith("../"):
            return folder / inner
    else:
        target = named if named.is_absolute() else folder / named
    try:
        root = os.path.realpath(folder) if is_local(folder) else ""
        if is_local(folder) and os.path.commonpath([root, os.path.realpath(target)]) == root:
            return target
    except ValueError as exc:  # a NUL byte in the name
        raise OutsideFolder(f"the checkpoint file names {str(named)!r}, not a valid path: {exc}") from None
    local = folder / named.name
    if local.with_name(local.name + ".index").is_file():
        return local
    raise OutsideFolder(f"the checkpoint file names {str(named)!r}, outside its folder; kcompat reads only the folder it was given")


def resolve_prefix(path: Path) -> Path | None:
    """A checkpoint directory names its latest prefix in the `checkpoint` file."""
    if path.is_dir() or path.name == "checkpoint":
        folder = path if path.is_dir() else path.parent
        state = folder / "checkpoint"
        if state.is_file():
            with state.open("rb") as fh:
                text = fh.read(1024 * 1024).decode("utf-8", "replace")
            match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', text, re.M)
            if match:
                return inside(folder, Path(match.group(1)))
        indexes = sorted(folder.glob("*.index"))
        return indexes[-1].with_suffix("") if indexes else None
    return checkpoint_prefix(path) or path


def read_bundle(artifact: Artifact, prefix: Path, member: str | None = None) -> None:
    index = prefix.with_name(prefix.name + ".index")
    try:
        bundle = read_index(index)
    except (BundleIndexError, OSError) as exc:
        artifact.problems.append(Problem(kind="checkpoint-index-corrupt", member=member or index.name, detail=str(exc)))
        return
    artifact.checkpoint_keys = [e.key for e in bundle.entries]
    artifact.weights = [
        Weight(name=e.key, shape=[d if d is not None else -1 for d in (e.shape or [])], dtype=e.dtype)
        for e in bundle.entries
        if SLOT_MARKER not in e.key and not e.key.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "optimizer/"))
    ]
    artifact.optimizer_weight_count = sum(SLOT_MARKER in e.key for e in bundle.entries)
    missing = [
        f"{prefix.name}.data-{i:05d}-of-{bundle.num_shards:05d}"
        for i in range(bundle.num_shards)
        if not prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{bundle.num_shards:05d}").is_file()
    ]
    if missing:
        artifact.problems.append(Problem(kind="checkpoint-shard-missing", member=missing[0],
                                         detail=f"{len(missing)} data shard(s) missing: {', '.join(missing[:3])}"))


def v1_table(prefix: Path) -> bool:
    """A V1 checkpoint (tf.compat.v1.train.Saver, write_version=V1, the default before TF 0.12) is one table
    file named by the prefix itself, with no .index beside it."""
    try:  # from a bucket or a server too: one ranged read of the file's last 8 bytes
        size = prefix.stat().st_size if prefix.is_file() else 0
        if size < 48:
            return False
        with prefix.open("rb") as fh:
            fh.seek(size - 8)
            return fh.read(8) == TABLE_MAGIC
    except OSError:
        return False


def read_checkpoint(artifact: Artifact, path: Path) -> None:
    try:
        prefix = resolve_prefix(path)
    except OutsideFolder as exc:
        artifact.problems.append(Problem(kind="checkpoint-index-corrupt", member="checkpoint", detail=str(exc)))
        return
    indexed = prefix is not None and prefix.with_name(prefix.name + ".index").is_file()  # a request in a bucket
    if prefix is not None and not indexed and v1_table(prefix):
        artifact.notes["checkpoint_prefix"] = str(prefix)
        artifact.notes["checkpoint_version"] = "V1"
        return
    if not indexed:
        artifact.problems.append(Problem(kind="checkpoint-index-corrupt", detail="no .index file found for this checkpoint"))
        return
    artifact.notes["checkpoint_prefix"] = str(prefix)
    read_bundle(artifact, prefix)
