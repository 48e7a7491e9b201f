"""KC220: a layer nested in a wrapper or an RNN, in a Keras 2 .h5, which Keras 3 looks up by module only."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._rewrite import object_dicts
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

# Keras 3 classes whose from_config rebuilds a nested layer with serialization_lib, which finds a class by
# its module or its registration only (keras/src/layers/core/wrapper.py, rnn/bidirectional.py, rnn/rnn.py,
# rnn/stacked_rnn_cells.py); the legacy .h5 loader's own lookup among keras.layers covers the outer layer only.
NESTING = {"TimeDistributed": {"layer"}, "Bidirectional": {"layer", "backward_layer"}, "RNN": {"cell"},
           "StackedRNNCells": {"cells"}}


def nested_unlocatable(artifact: Artifact, env: Environment) -> list:
    """(layer, parent) of each nested layer a Keras 3 legacy load cannot locate, outermost only."""
    if R.keras_major(env) != 3 or artifact.format is not Format.hdf5_model or artifact.keras_major == 3:
        return []
    by_path = {layer.path: layer for layer in artifact.layers}
    customs = R.custom_names(env)
    out, flagged = [], []
    for layer in artifact.layers:
        parent = by_path.get(layer.path.rsplit("/", 1)[0]) if "/" in layer.path else None
        if (parent is None or layer.module or layer.wrapper_key not in NESTING.get(parent.class_name, ())
                or any(layer.path.startswith(f + "/") for f in flagged)):
            continue
        if layer.class_name in customs or (layer.registered_name or "") in customs:
            continue
        if R.find(env, layer.class_name, {"layer"}) is None:
            continue  # not a Keras 3 layer at all: KC301's
        out.append((layer, parent))
        flagged.append(layer.path)
    return out


def legacy_h5_nested_layer(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    found = nested_unlocatable(artifact, env)
    if not found:
        return
    classes = list(dict.fromkeys(layer.class_name for layer, _ in found))
    fix = ("model = keras.saving.load_model(path, custom_objects={"
           + ", ".join(f'"{c}": keras.layers.{c}' for c in classes)
           + "}); or load it with tf_keras; or let `kcompat fix` name each nested layer's module (keras.layers)")
    for layer, parent in found:
        yield Hit(f"{parent.class_name} '{parent.name}' holds {layer.class_name} '{layer.name}' as its "
                  f"{layer.wrapper_key}, and this Keras {artifact.keras_version or '2'} .h5 names no module for it: "
                  f"{R.keras_label(env)}'s {parent.class_name}.from_config finds a nested class by its module or "
                  f"registration only, so load_model raises \"Could not locate class '{layer.class_name}'\" although "
                  f"{layer.class_name} is built in",
                  location=layer.path, fix=fix, key=layer.path, group="nested",
                  group_message=f"{{n}} nested layers ({{locations}}) of this .h5 name no module, and "
                                f"{R.keras_label(env)} cannot locate their classes ({', '.join(classes)}) although "
                                "they are built in",
                  evidence={"class": layer.class_name, "parent": parent.class_name, "key": layer.wrapper_key})


def fix_legacy_h5_nested_layer(rewrite, artifact: Artifact, env: Environment, findings=()) -> None:
    """Name keras.layers as the module of each nested built-in layer, where Keras 3 looks it up."""
    targets = {(parent.name, layer.wrapper_key, layer.name) for layer, parent in nested_unlocatable(artifact, env)}
    if not targets:
        return
    for node in object_dicts(rewrite.model):
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        for key in NESTING.get(node.get("class_name"), ()):
            nested = config.get(key)
            for child in nested if isinstance(nested, list) else [nested]:
                name = child.get("config", {}).get("name") if isinstance(child, dict) else None
                if isinstance(child, dict) and (config.get("name"), key, name) in targets and "module" not in child:
                    child["module"] = "keras.layers"
                    rewrite.change(f"{node.get('class_name')} '{config.get('name')}': its {key} "
                                   f"{child.get('class_name')} '{name}' names module keras.layers")
