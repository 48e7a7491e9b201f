"""How tf.keras 2.12-2.14 and Keras 3 name the layer groups of a .keras weights file (for KC212).

Both name a model's layers by their class in snake case, a repeated name getting _1, _2, ... in turn.
tf.keras 2.12-2.14 walked ``Model._layer_checkpoint_dependencies``, which holds each layer with weights
twice (as 'layer_with_weights-k' and as 'layer-i'), so such a layer uses up two numbers: a model's second
Dense is 'dense_2' in its file. Keras 3 walks ``model.layers`` once each, so it looks for 'dense_1'
(read in keras 2.13.1's and keras 3.15.1's saving_lib).
"""

from __future__ import annotations

import re

LEGACY = "_layer_checkpoint_dependencies"


def snake(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _next(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def misnamed(layers: list, paths: list[str], prefix: str = LEGACY) -> list[tuple[str, str, str]]:
    """(layer name, the group Keras 3 looks for, the group the file has) of each layer with weights that
    Keras 3 would not find in a tf.keras 2.12-2.14 file; nested models are followed."""
    old: dict[str, int] = {}
    new: dict[str, int] = {}
    found = []
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            continue
        config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        base = snake(layer["class_name"])
        saved, wanted = f"{prefix}/{_next(base, old)}", f"{prefix}/{_next(base, new)}"
        if not any(p.startswith(saved + "/") for p in paths):
            continue
        _next(base, old)  # the layer's second entry in _layer_checkpoint_dependencies
        if saved != wanted:
            found.append((str(config.get("name") or layer.get("name") or base), wanted, saved))
        elif isinstance(config.get("layers"), list):
            found += misnamed(config["layers"], paths, f"{saved}/{LEGACY}")
    return found
