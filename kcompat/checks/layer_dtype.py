"""KC224: a Keras 2.0 layer config whose dtype is an integer type, which later Keras takes as its weights' dtype."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit, Rewrite
from kcompat.env.model import Environment
from kcompat.model import Artifact

INTEGER = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
# Initializers that only make values, never draw them: an integer variable takes them, truncated.
CONSTANT = {"zeros", "ones", "constant", "identity"}


def _initializers(config: dict) -> list[str]:
    names = []
    for key, value in config.items():
        if key.endswith("_initializer"):
            name = value.get("class_name") if isinstance(value, dict) else value
            if isinstance(name, str):
                names.append(name)
    return names


def integer_dtype_layers(artifact: Artifact):
    """(layer, dtype, initializer class names) of every layer that makes weights and says an integer dtype."""
    for layer in artifact.layers:
        dtype = layer.config.get("dtype")
        names = _initializers(layer.config)
        if isinstance(dtype, str) and dtype in INTEGER and names:
            yield layer, dtype, names


def legacy_integer_layer_dtype(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    for layer, dtype, names in integer_dtype_layers(artifact):
        drawn = [n for n in names if n.lower().replace("_", "") not in CONSTANT]
        if R.keras_major(env) == 3:
            raised = "InvalidArgumentError: Need minval < maxval, got 0 >= 0 (RandomUniform)"
        else:
            raised = "TypeError: Cannot convert -0.05 to EagerTensor of dtype int32 (RandomUniform) or " \
                     "ValueError: Expected floating point type (the other random initializers)"
        where = f"{layer.class_name} '{layer.name}' has dtype {dtype!r} (Keras {artifact.keras_version or '2.0'} wrote "
        where += "an Embedding's input dtype there)"
        if drawn:
            message = (f"{where}; {R.keras_label(env)} takes dtype as the dtype of the layer's weights and draws "
                       f"its {drawn[0]} values as {dtype} when it rebuilds the layer, so load_model raises {raised}")
        else:
            message = (f"{where}; {R.keras_label(env)} takes dtype as the dtype of the layer's weights, so the saved "
                       f"float weights load truncated to {dtype}: the model loads and computes something else")
        kind = "error" if drawn else "warning"
        yield Hit(message, location=layer.path, key=f"{layer.path}:{kind}", severity=None if drawn else "warning",
                  group=kind, group_message="{n} layers ({locations}): " + message.replace("{", "{{").replace("}", "}}"),
                  evidence={"dtype": dtype, "initializers": names},
                  fix="kcompat fix writes a copy whose layer dtype is float32 (what its weights are); or set "
                      "config['dtype'] = 'float32' on the layer in the model_config")


def fix_legacy_integer_layer_dtype(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """The layer's weights were always float32 (Keras 2.0 meant the input dtype): the copy says so."""
    from kcompat.checks._rewrite import layer_dicts, layer_name

    for layer, _siblings in list(layer_dicts(rewrite.model, None if rewrite.model is None else [])):
        config = layer.get("config") if isinstance(layer, dict) else None
        if not isinstance(config, dict) or config.get("dtype") not in INTEGER or not _initializers(config):
            continue
        rewrite.change(f"{layer.get('class_name')} '{layer_name(layer)}': dtype {config['dtype']!r} -> 'float32'")
        config["dtype"] = "float32"
