"""Read Keras HDF5 files: attributes and dataset metadata only, never dataset contents.

The functions here take an open file of either kcompat.artifacts.h5meta (the fast path) or h5py
(the fallback), so they test groups and datasets by shape, not by class.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kcompat.artifacts.h5meta import PastEOA, is_dataset, is_group
from kcompat.artifacts.h5meta.base import MAX_DEPTH
from kcompat.artifacts.keras_config import apply_model_config, collect_loss_names, collect_objects, training_config
from kcompat.model import Artifact, Format, Problem, Weight

MAX_ATTR_BYTES = 64 * 1024 * 1024
MAX_DATASETS = 200_000


def text_attr(attrs, key: str) -> tuple[str | None, str | None]:
    """An attribute as text, and its stored type: h5py 2 wrote bytes, h5py 3 writes str."""
    if key not in attrs:
        return None, None
    value = attrs[key]
    stored = attrs.stored(key) if hasattr(attrs, "stored") else type(value).__name__
    if hasattr(value, "tobytes") and not isinstance(value, (bytes, str)):
        value = value.tobytes() if value.dtype.kind == "S" else str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value), stored


def json_attr(artifact: Artifact, attrs, key: str) -> Any:
    text, _ = text_attr(attrs, key)
    if text is None:
        return None
    if len(text) > MAX_ATTR_BYTES:
        artifact.problems.append(Problem(kind="config-unparseable", member=key,
                                         detail=f"attribute {key} is {len(text)} bytes, over the limit"))
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        artifact.problems.append(Problem(kind="config-unparseable", member=key,
                                         detail=f"attribute {key} is not valid JSON: {exc}"))
        return None


# An object libhdf5 cannot open stops h5py's visititems (RuntimeError) and fails its lookup (KeyError);
# h5meta raises PastEOA for the one such damage it recognises, and gives every other kind to h5py.
UNOPENABLE = (PastEOA, KeyError, RuntimeError)


def inventory(group: Any, artifact: Artifact, prefix: str = "") -> list[Weight]:
    """The datasets below ``group`` (``prefix``: its path in the file, for the problems)."""
    weights: list[Weight] = []

    def visit(name: str, obj: Any) -> None:
        if is_dataset(obj) and len(weights) < MAX_DATASETS:
            weights.append(Weight(name=name, shape=list(obj.shape or ()), dtype=str(obj.dtype)))

    try:
        group.visititems(visit)
    except UNOPENABLE:
        # libhdf5 refuses only the damaged objects: walk again, noting each one that does not open, as a
        # loader that opens them meets it and one that never opens them (compile=False) does not.
        weights.clear()
        walk(group, "", visit, artifact, prefix, {identity(group)})
    return weights


def opened(handle: Any, name: str, artifact: Artifact) -> Any:
    """handle[name], or None without such a link. An object that will not open is noted: h5py's get() returns
    None for it, while Keras, seeing the link (``name in f``), opens it and fails."""
    if name not in handle:
        return None
    try:
        return handle[name]
    except UNOPENABLE as exc:
        unreadable(artifact, name, exc)
        return None


def identity(obj: Any) -> Any:
    """What tells two links to one object apart from two objects: h5meta's header address, h5py's object id."""
    return getattr(obj, "addr", None) or getattr(obj, "id", None) or id(obj)


def walk(group: Any, path: str, visit: Callable[[str, Any], None], artifact: Artifact, prefix: str, seen: set) -> None:
    """Depth first, names in byte order, each object once, like visititems (hard links can make cycles)."""
    if len(seen) > MAX_DATASETS or path.count("/") >= MAX_DEPTH:
        return
    try:
        names = list(group.keys())  # h5py opens a group whose links lie past the end, and fails to list them
    except UNOPENABLE as exc:
        unreadable(artifact, (prefix + path).rstrip("/"), exc)
        return
    for name in names:
        try:
            obj = group[name]
        except UNOPENABLE as exc:
            unreadable(artifact, f"{prefix}{path}{name}", exc)
            continue
        if identity(obj) in seen:
            continue
        seen.add(identity(obj))
        visit(path + name, obj)
        if is_group(obj):
            walk(obj, f"{path}{name}/", visit, artifact, prefix, seen)


def unreadable(artifact: Artifact, member: str, exc: Exception) -> None:
    # libhdf5 words it "actual len exceeds EOA", "len not positive after adjustment for EOA", "addr overflow ...
    # eoa = ...", "address of object past end of allocation"
    eoa = isinstance(exc, PastEOA) or any(word in str(exc).lower() for word in ("eoa", "past end of allocation"))
    artifact.problems.append(Problem(
        kind="hdf5-object-unreadable", member=member,
        detail="it lies past the end of the address space the superblock declares (libhdf5: actual len exceeds EOA)"
               if eoa else f"{type(exc).__name__}: {exc}"[:300]))


def corrupt_detail(exc: Exception) -> str:
    """What h5py says of a file it cannot open; for a truncated file, libhdf5's own words, as h5meta gives them."""
    text = str(exc)
    start = text.find("(truncated file: ")
    return text[start + 1 : text.index(")", start)] if start >= 0 and ")" in text[start:] else f"{type(exc).__name__}: {text}"[:400]


def fill_weights(artifact: Artifact, handle) -> None:
    artifact.weights = [w for w in inventory(handle, artifact) if not w.name.startswith("optimizer/")]
    if is_group(handle.get("optimizer")):
        artifact.optimizer_weight_count = len(inventory(handle["optimizer"], artifact))


def classify(handle: Any) -> Format:
    attrs = handle.attrs
    if "model_config" in attrs:
        return Format.hdf5_model
    if "layer_names" in attrs:
        return Format.hdf5_weights
    # Keras 3 saving_lib writes groups of `vars/<i>` datasets: layers/<name>/vars for functional
    # models, <attribute>/vars for subclassed ones, and a top-level vars group.
    if is_group(handle.get("layers")) or is_group(handle.get("vars")):
        return Format.hdf5_weights_v3
    return Format.hdf5_other


def read_hdf5(artifact: Artifact, handle: Any) -> None:
    """Fill an Artifact from an open HDF5 file (a file on disk or a member of a .keras zip)."""
    attrs = handle.attrs
    if artifact.format is Format.hdf5_other:  # detect() cannot tell HDF5 kinds apart without opening the file
        artifact.format = classify(handle)
    artifact.keras_version, stored = text_attr(attrs, "keras_version")
    if stored:
        artifact.notes["keras_version_attr_type"] = stored
    artifact.backend, _ = text_attr(attrs, "backend")
    config = json_attr(artifact, attrs, "model_config")
    if config is not None:
        apply_model_config(artifact, config)
    training = json_attr(artifact, attrs, "training_config")
    if isinstance(training, dict):
        artifact.training = training_config(training)
        collect_objects(training, "training_config", artifact.objects)
        collect_loss_names(training, artifact.objects)
    if "model_weights" in handle:
        weights = opened(handle, "model_weights", artifact)
        artifact.weights = inventory(weights, artifact, "model_weights/") if weights is not None else []
    elif artifact.format in (Format.hdf5_weights, Format.hdf5_weights_v3):
        artifact.weights = inventory(handle, artifact)
        if artifact.format is Format.hdf5_weights_v3:
            artifact.weights = [w for w in artifact.weights if not w.name.startswith("optimizer/")]
    before = len(artifact.problems)
    name = "optimizer_weights"
    optimizer = opened(handle, name, artifact)
    if not optimizer:  # none, or an empty group: Keras 3's .weights.h5 layout
        name, optimizer = "optimizer", opened(handle, "optimizer", artifact)
    if is_group(optimizer):
        count = len(inventory(optimizer, artifact, f"{name}/"))
        # a state with objects nobody can open has no count to compare
        artifact.optimizer_weight_count = count if len(artifact.problems) == before else None
    if "layer_names" in attrs:
        artifact.notes["layer_names"] = [
            n.decode() if isinstance(n, bytes) else str(n) for n in attrs["layer_names"]
        ]
