"""How each Keras names the layer groups of a .keras weights file (for KC212).

All name a model's layers by their class in snake case, a repeated name getting _1, _2, ... in turn.
tf.keras 2.12 and 2.13 walked ``Model._layer_checkpoint_dependencies``, which holds each layer with
weights twice (as 'layer_with_weights-k' and as 'layer-i'), so such a layer uses up two numbers: a
model's second Dense is 'dense_2' in their files. tf.keras 2.14 keeps the '_layer_checkpoint_dependencies/'
group but counts each layer once, as 2.15+, tf_keras and Keras 3 do under 'layers/': 'dense_1' (real saves
and loads of a two-Dense model in TF 2.12.1, 2.13.1, 2.14.1 and 2.15.1; keras 2.13.1's and 3.15.1's saving_lib).
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


def _walk(layers: list, paths: list[str], twice: bool, target_twice: bool, file: str = LEGACY, now: str = LEGACY,
          new: str = "layers") -> list[tuple[str, str, str, str]]:
    """(layer name, its group in the file, where that group is once its model's group has moved, the group
    a reader that counts ``target_twice`` looks for) for each layer with weights of a file that counted
    ``twice``; a nested model's layers come after the model."""
    old: dict[str, int] = {}
    count: dict[str, int] = {}
    found = []
    for layer in layers:
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            continue
        config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        base = snake(layer["class_name"])
        saved, wanted = _next(base, old), _next(base, count)
        if not any(p.startswith(f"{file}/{saved}/") for p in paths):
            continue
        if twice:
            _next(base, old)  # the layer's second entry in _layer_checkpoint_dependencies
        if target_twice:
            _next(base, count)
        name = str(config.get("name") or layer.get("name") or base)
        found.append((name, f"{file}/{saved}", f"{now}/{saved}", f"{new}/{wanted}"))
        if isinstance(config.get("layers"), list):
            found += _walk(config["layers"], paths, twice, target_twice, f"{file}/{saved}/{LEGACY}",
                           f"{new}/{wanted}/{LEGACY}", f"{new}/{wanted}/layers")
    return found


def _fits(layers: list, paths: list[str], twice: bool) -> bool:
    """Every weight of the file sits in the group of a layer named with that count."""
    groups = [saved for _, saved, _, _ in _walk(layers, paths, twice, twice)]
    for path in paths:
        if path.startswith(LEGACY + "/"):
            owner = max((g for g in groups if path.startswith(g + "/")), key=len, default=None)
            if owner is None or path[len(owner):].startswith(f"/{LEGACY}/"):
                return False
    return True


def counts_twice(layers: list, paths: list[str]) -> bool | None:
    """Whether a '_layer_checkpoint_dependencies/' file counted each layer with weights twice (tf.keras 2.12,
    2.13) or once (2.14); None when its names fit both (no class has two layers with weights) or neither."""
    twice, once = _fits(layers, paths, True), _fits(layers, paths, False)
    return None if twice == once else twice


def misnamed(layers: list, paths: list[str], twice: bool, target_twice: bool) -> list[tuple[str, str, str]]:
    """(layer name, the group the reader looks for, the group the file has) of each layer with weights that a
    reader of '_layer_checkpoint_dependencies/' counting ``target_twice`` would not find in a file that
    counted ``twice``; the layers of a model it misses are not counted."""
    found, missed = [], []
    for name, saved, _, wanted in _walk(layers, paths, twice, target_twice):
        if any(saved.startswith(m + "/") for m in missed):
            continue
        parent, own = saved.rsplit("/", 1)
        if own != wanted.rsplit("/", 1)[1]:
            missed.append(saved)
            found.append((name, f"{parent}/{wanted.rsplit('/', 1)[1]}", saved))
    return found


def renames(layers: list, paths: list[str], twice: bool) -> list[tuple[str, str]]:
    """The moves that lay a '_layer_checkpoint_dependencies/' file out as tf.keras 2.15+, tf_keras and Keras 3
    read it: (group, new path) for each layer with weights, in an order that can be applied one by one."""
    return [(now, wanted) for _, _, now, wanted in _walk(layers, paths, twice, False)]
