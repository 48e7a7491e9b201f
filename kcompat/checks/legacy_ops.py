"""KC218: Keras 3 operations (x + 3.0, keras.ops.relu) in an .h5, which Keras 3's legacy loader rebuilds as layers."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._operations import is_tensor, leaves, operation_nodes
from kcompat.checks.base import Hit
from kcompat.checks.layerargs import allowed_keys
from kcompat.env.model import Environment
from kcompat.model import Artifact

FIX = ("Save the model again from the code that built it as .keras (model.save('model.keras')), which records each "
       "operation's module; or load this file with the Keras 3 version that wrote it only after wrapping the "
       "operations in layers (keras.layers.Lambda or a Layer subclass) and saving again")


def _why(node, env: Environment) -> str | None:
    """Why the legacy loader fails on this node, in its words, or None when the same-named layer takes the call."""
    layer = R.find(env, node.class_name, {"layer", "model"})
    if layer is None and node.class_name not in R.custom_names(env):
        return f"no layer is named '{node.class_name}', so load_model raises \"Unknown layer: '{node.class_name}'\""
    if layer is None:
        return None  # a registered class of that name takes it: what it does with the call is not known here
    for args in node.calls:
        constant = next((v for v in leaves(args) if v is not None and not is_tensor(v)), None)
        if constant is not None:
            return (f"it builds the {layer.name} layer and calls it with {constant!r} as a positional argument: "
                    "\"Only input tensors may be passed as positional arguments\"")
        if len(args) > 1:
            return (f"it builds the {layer.name} layer, whose call takes one input, and calls it with {len(args)} "
                    "positional tensors: \"too many positional arguments\"")
    extra = sorted(k for k in node.config if k not in allowed_keys(env, layer, True))
    if extra:
        return (f"it builds the {layer.name} layer from the operation's config, and {layer.name} does not accept "
                f"{extra}")
    return None


def legacy_h5_operation(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 3:
        return
    for node in operation_nodes(artifact):
        why = _why(node, env)
        if why is None:
            continue
        yield Hit(f"'{node.path}' is a Keras 3 operation ({node.class_name}), saved into this .h5 without its module; "
                  f"{R.keras_label(env)}'s legacy loader looks the name up among layers only: {why}",
                  location=node.path, fix=FIX, key=node.location, group="operations",
                  group_message=f"{{n}} Keras 3 operations ({{locations}}) saved into this .h5 cannot be rebuilt by "
                                f"{R.keras_label(env)}'s legacy loader, which looks their names up among layers only",
                  evidence={"operation": node.class_name, "config_location": node.location})
