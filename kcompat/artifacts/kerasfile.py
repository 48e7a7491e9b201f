"""Read the Keras v3 `.keras` format: a zip (or its unzipped directory) of config, metadata and weights."""

from __future__ import annotations

import json
import posixpath
import zipfile
from collections import Counter
from pathlib import Path

from kcompat.artifacts import h5meta
from kcompat.artifacts.hdf5 import fill_weights
from kcompat.artifacts.keras_config import apply_model_config
from kcompat.model import Artifact, Problem
from kcompat.sources import RemoteError

MAX_JSON_MEMBER = 64 * 1024 * 1024
MAX_MEMBER_RATIO = 1000  # inflated / compressed, above which a member is treated as a zip bomb
MAX_MEMBER_BYTES = 32 * 1024**3
REQUIRED = ("config.json", "metadata.json", "model.weights.h5")


def unsafe_name(name: str) -> bool:
    norm = name.replace("\\", "/")
    return norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in posixpath.normpath(norm).split("/")


def load_json(artifact: Artifact, name: str, raw: bytes) -> dict | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        artifact.problems.append(Problem(kind="config-unparseable", member=name, detail=f"{name} is not valid JSON: {exc}"))
        return None
    if not isinstance(data, dict):
        artifact.problems.append(Problem(kind="config-unparseable", member=name, detail=f"{name} holds a {type(data).__name__}, not an object"))
        return None
    return data


def apply_members(artifact: Artifact, config: dict | None, metadata: dict | None) -> None:
    if metadata:
        artifact.keras_version = str(metadata.get("keras_version") or "") or None
        artifact.date_saved = str(metadata.get("date_saved") or "") or None
        if isinstance(metadata.get("backend"), str):
            artifact.backend = metadata["backend"]
    if config is not None:
        apply_model_config(artifact, config)


def read_weights(artifact: Artifact, path: Path, info: zipfile.ZipInfo | None = None) -> None:
    """The weights inventory of model.weights.h5: a file, or a stored (uncompressed) zip member."""
    try:
        with path.open("rb") as f:
            if info is None:
                fill_weights(artifact, h5meta.open_hdf5(f))
            else:
                fill_weights(artifact, h5meta.open_hdf5(f, h5meta.member_offset(f, info.header_offset), info.file_size))
    except RemoteError:
        raise
    except Exception as exc:  # noqa: BLE001 - Unsupported, or damaged: h5py decides, in a child process
        from kcompat.artifacts.h5isolate import read_isolated  # a child process with h5py: rarely wanted

        artifact.weights, artifact.optimizer_weight_count = [], None
        read_isolated("keras-weights", artifact, exc, source=path)


def read_keras_zip(artifact: Artifact, path: Path) -> None:
    fh = None
    try:
        fh = path.open("rb")
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if fh is not None:
            fh.close()
        artifact.problems.append(Problem(kind="zip-corrupt", detail=f"not a readable zip archive: {exc}"))
        return
    with fh, zf:
        infos = zf.infolist()
        artifact.members = [i.filename for i in infos]
        for info in infos:
            if unsafe_name(info.filename):
                artifact.problems.append(Problem(kind="zip-path-traversal", member=info.filename,
                                                 detail=f"member name {info.filename!r} escapes the extraction folder"))
            ratio = info.file_size / max(info.compress_size, 1)
            limit = MAX_JSON_MEMBER if info.filename.endswith(".json") else MAX_MEMBER_BYTES
            if info.file_size > limit or (ratio > MAX_MEMBER_RATIO and info.file_size > 16 * 1024 * 1024):
                artifact.problems.append(Problem(
                    kind="zip-oversized-member", member=info.filename,
                    detail=f"{info.filename} inflates to {info.file_size} bytes from {info.compress_size} (ratio {ratio:.0f})"))
        counts = Counter(artifact.members)  # list.count per name made a 20,000-member zip take 16 s
        names = set(counts)
        for name in sorted(n for n, count in counts.items() if count > 1):
            artifact.problems.append(Problem(kind="zip-duplicate-member", member=name,
                                             detail=f"{counts[name]} members are named {name}"))
        present = set(names)
        if "model.weights.npz" in names:  # Keras 3 also writes its weights as an .npz store
            present.add("model.weights.h5")
            read_npz_members(artifact, zf, [i for i in infos if i.filename == "model.weights.npz"])
        for required in REQUIRED:
            if required not in present:
                artifact.problems.append(Problem(kind="keras-member-missing", member=required,
                                                 detail=f"{required} is missing from the archive"))
        flagged = {p.member for p in artifact.problems}
        docs = {}
        for name in ("config.json", "metadata.json"):
            if name in names and name not in flagged:
                docs[name] = read_member_json(artifact, zf, name)
        apply_members(artifact, docs.get("config.json"), docs.get("metadata.json"))
        if "model.weights.h5" in names and "model.weights.h5" not in flagged:
            info = zf.getinfo("model.weights.h5")
            if info.compress_type == zipfile.ZIP_STORED:  # seekable without inflating the weights
                read_weights(artifact, path, info)
            else:
                artifact.notes["weights_inventory"] = "skipped: model.weights.h5 is compressed in the zip"


def read_npz_members(artifact: Artifact, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """The array headers of each model.weights.npz member (object arrays are pickles); never the data."""
    from kcompat.artifacts.foreign import array_facts, MAX_NPY_HEADER

    arrays = artifact.notes.setdefault("numpy", [])
    for n, info in enumerate(infos, 1):
        label = info.filename if len(infos) == 1 else f"{info.filename} (member {n} of {len(infos)})"
        try:
            with zf.open(info) as member, zipfile.ZipFile(member) as npz:
                for inner in npz.infolist()[:10_000]:
                    with npz.open(inner) as stream:
                        arrays.append(array_facts(f"{label}/{inner.filename}", stream.read(MAX_NPY_HEADER + 12)))
        except zipfile.BadZipFile:  # not an npz: numpy.load reads it as a pickle
            arrays.append({"name": label, "dtype": "pickle", "shape": [], "object": True})
        except (ValueError, SyntaxError, OSError, EOFError, NotImplementedError) as exc:
            artifact.problems.append(Problem(kind="reader-error", member=info.filename,
                                             detail=f"unreadable array header in {label}: {exc}"[:300]))


def read_member_json(artifact: Artifact, zf: zipfile.ZipFile, name: str) -> dict | None:
    try:
        with zf.open(name) as member:
            raw = member.read(MAX_JSON_MEMBER + 1)  # bounded even if the header lies about size
    except zipfile.BadZipFile as exc:
        artifact.problems.append(Problem(kind="zip-corrupt", member=name, detail=f"{name}: {exc}"))
        return None
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        artifact.problems.append(Problem(kind="zip-corrupt", member=name, detail=f"{name}: {type(exc).__name__}: {exc}"))
        return None
    if len(raw) > MAX_JSON_MEMBER:
        artifact.problems.append(Problem(kind="zip-oversized-member", member=name,
                                         detail=f"{name} inflates past the {MAX_JSON_MEMBER}-byte limit"))
        return None
    return load_json(artifact, name, raw)


def read_keras_dir(artifact: Artifact, path: Path) -> None:
    artifact.members = sorted(p.name for p in path.iterdir())
    for required in REQUIRED:
        if not (path / required).is_file():
            artifact.problems.append(Problem(kind="keras-member-missing", member=required,
                                             detail=f"{required} is missing from the directory"))
    docs = {}
    for name in ("config.json", "metadata.json"):
        file = path / name
        if file.is_file():
            if file.stat().st_size > MAX_JSON_MEMBER:
                artifact.problems.append(Problem(kind="zip-oversized-member", member=name, detail=f"{name} is over the size limit"))
                continue
            docs[name] = load_json(artifact, name, file.read_bytes())
    apply_members(artifact, docs.get("config.json"), docs.get("metadata.json"))
    if (path / "model.weights.h5").is_file():
        read_weights(artifact, path / "model.weights.h5")
