"""Operation nodes that Keras 3 wrote into a legacy config (an .h5's model_config).

A Keras 3 functional model records ``x + 3.0`` or ``keras.ops.relu(x)`` as an operation node. The .keras
format names its module (keras.src.ops.numpy), the legacy .h5 writer does not: the node is a layer-list
entry named like a class (Add, Relu), whose config lacks the ``trainable`` and ``dtype`` keys that every
Keras 3 ``Layer.get_config`` writes, and whose inbound node holds the call's ``args`` as Keras 3 writes
them. Shared by KC218, which owns these nodes under Keras 3, and KC301/KC302, which leave them to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks import _resolve as R
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format
from kcompat.record import Record


class OpNode(Record, frozen=True):
    location: str  # as ObjectRef.location: config.layers[3]
    path: str  # as Layer.path: add_1, or inner_model/add_1 inside a nested model
    class_name: str
    config: dict
    calls: list  # each inbound node's positional args


def _calls(entry: dict) -> list | None:
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or not nodes:
        return None
    if not all(isinstance(n, dict) and isinstance(n.get("args"), list) for n in nodes):
        return None  # Keras 2 writes [[name, node, tensor, kwargs]] lists: no operation nodes there
    return [n["args"] for n in nodes]


def _walk(obj: dict, location: str, path: str, depth: int = 0) -> Iterator[OpNode]:
    config = obj.get("config")
    if depth > 200:  # as deep as the config reader goes
        return
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        return
    for i, entry in enumerate(layers):
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            continue
        inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        where = f"{location}.layers[{i}]"
        name = str(inner.get("name") or entry.get("name") or entry["class_name"])
        here = f"{path}/{name}" if path else name
        calls = _calls(entry)
        if ("module" not in entry and calls is not None and "trainable" not in inner and "dtype" not in inner
                and entry["class_name"] != "InputLayer"):
            yield OpNode(where, here, entry["class_name"], inner, calls)
        yield from _walk(entry, f"{where}.config", here, depth + 1)


def operation_nodes(artifact: Artifact) -> list[OpNode]:
    if artifact.format is not Format.hdf5_model or not isinstance(artifact.config, dict):
        return []
    return list(_walk(artifact.config, "config", ""))


def owned_by_kc218(artifact: Artifact, env: Environment) -> set[str]:
    """Locations and paths of the operation nodes KC218 reports for this target (Keras 3 only)."""
    if R.keras_major(env) != 3:
        return set()
    return {key for node in operation_nodes(artifact) for key in (node.location, node.path)}


def is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    else:
        yield value
