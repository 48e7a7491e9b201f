"""Walks over a saved model config as written (plain JSON), for the rules' fixers.

Fixers edit the dicts they are handed in place; these helpers find them. Nothing here imports
TensorFlow or Keras, and nothing runs what a config names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks._resolve import MODEL_CLASSES

# Keys under which a layer config holds other layers (wrappers, RNN cells, nested models).
CHILD_KEYS = ("layer", "cell", "forward_layer", "backward_layer", "cells", "layers")


def layer_dicts(obj: Any, parent: list | None = None, depth: int = 0) -> Iterator[tuple[dict, list | None]]:
    """Every {"class_name", "config"} layer dict below the model config, with the list that holds it."""
    if depth > 200 or not isinstance(obj, dict):
        return
    config = obj.get("config")
    if "class_name" in obj and parent is not None:
        yield obj, parent
    children: Any = config if isinstance(config, list) else None
    if isinstance(config, dict):
        for key in CHILD_KEYS:
            value = config.get(key)
            if isinstance(value, list):
                for child in value:
                    yield from layer_dicts(child, value, depth + 1)
            elif isinstance(value, dict):
                yield from layer_dicts(value, [value], depth + 1)
    for child in children or []:
        yield from layer_dicts(child, children, depth + 1)


def object_dicts(obj: Any, depth: int = 0) -> Iterator[dict]:
    """Every dict that names a class ({"class_name": ...}) anywhere below ``obj``."""
    if depth > 200:
        return
    if isinstance(obj, dict):
        if isinstance(obj.get("class_name"), str):
            yield obj
        for value in obj.values():
            yield from object_dicts(value, depth + 1)
    elif isinstance(obj, list):
        for value in obj:
            yield from object_dicts(value, depth + 1)


def layer_name(layer: dict) -> str:
    config = layer.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return str(name or layer.get("name") or layer.get("class_name"))


def model_levels(config: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, dict, list[dict]]]:
    """(path, inner config, layers) of a model config and of every model nested in it, outermost first."""
    inner = config.get("config") if isinstance(config, dict) else None
    if depth > 100 or not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        return
    layers = [layer for layer in inner["layers"] if isinstance(layer, dict)]
    yield path, inner, layers
    for layer in layers:
        if layer.get("class_name") in MODEL_CLASSES:
            yield from model_levels(layer, f"{path}{layer.get('name')}/", depth + 1)


def node_name(layer: dict) -> str:
    """The name that node references (inbound_nodes, output_layers) give a layer."""
    return str(layer.get("name") or (layer.get("config") or {}).get("name"))
