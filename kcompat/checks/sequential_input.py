"""KC217: a Keras 2 Sequential whose first layer carries batch_input_shape, read by Keras 3's legacy loader.

Keras 3's legacy ``saving_utils.model_from_config`` turns a layer's ``batch_input_shape`` into
``input_shape`` whole, batch dimension included, and ``Sequential.add`` builds the model's Input from
it: ``[None, 28, 28, 1]`` becomes an input of shape ``(None, None, 28, 28, 1)``. Multi-backend Keras 2
wrote such configs (a Keras 2.3.1 .h5 from a public repository fails so); tf.keras writes an InputLayer
first. What follows the extra dimension decides the load.
"""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._rewrite import layer_name
from kcompat.checks.base import Hit
from kcompat.checks.layerargs import _input_layer
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

# Layers that build and run on a tensor of any rank (checked on Keras 3.15.1: a Sequential of these
# builds, and its weights keep their shapes); any other layer fails to build on the extra dimension
# (Conv2D: "Kernel shape must have the same length as input", LSTM: "expected ndim=3, found ndim=4",
# Flatten then Dense: "Shapes used to initialize variables must be fully-defined").
ANY_RANK = {"Dense", "Dropout", "Activation", "BatchNormalization", "LayerNormalization", "GaussianNoise",
            "GaussianDropout", "AlphaDropout", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU",
            "ActivityRegularization", "Masking", "Embedding"}


def _shifted(config) -> tuple[dict, list[dict]] | None:
    """(first layer, the config's own layer list) of a Sequential whose first layer holds batch_input_shape.

    Only the top-level model: how a nested Sequential with the extra dimension fares inside a Functional
    has not been seen.
    """
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        return None
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    first = layers[0] if isinstance(layers, list) and layers else None
    if not isinstance(first, dict) or first.get("class_name") == "InputLayer" or "module" in first:
        return None  # a .keras layer (with "module") goes through serialization_lib, which keeps the key
    shape = first.get("config", {}).get("batch_input_shape") if isinstance(first.get("config"), dict) else None
    return (first, layers) if isinstance(shape, list) and shape else None


def _reached(layers: list) -> list[dict]:
    """The layers the extra dimension reaches: all of them, or those up to a Reshape to a fully given shape,
    whose output has that shape whatever its input's rank (a Keras 2.2.4 Reshape-first CNN loads in 3.15.1)."""
    out = []
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        out.append(layer)
        if _fixed_reshape(layer):
            break
    return out


def _fixed_reshape(layer: dict) -> bool:
    target = layer.get("config", {}).get("target_shape") if isinstance(layer.get("config"), dict) else None
    return (layer.get("class_name") == "Reshape" and isinstance(target, list) and bool(target)
            and all(isinstance(d, int) and d > 0 for d in target))


def legacy_sequential_input_shape(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 3 or artifact.format is not Format.hdf5_model:
        return
    found = _shifted(artifact.config)
    if found is None:
        return
    first, layers = found
    shape = first["config"]["batch_input_shape"]
    reached = _reached(layers)
    seen = {str(layer.get("class_name")) for layer in reached}
    breaking = sorted({str(layer.get("class_name")) for layer in reached if not _fixed_reshape(layer)} - ANY_RANK)
    built = "(None, " + ", ".join("None" if d is None else str(d) for d in shape) + ")"
    head = (f"{first.get('class_name')} '{layer_name(first)}' is the first layer of this Keras "
            f"{artifact.keras_version or '2'} Sequential and holds batch_input_shape={shape}: "
            f"{R.keras_label(env)}'s legacy loader passes it whole as input_shape, so the model's input "
            f"becomes {built}, one dimension too many")
    if breaking:
        yield Hit(f"{head}; {', '.join(breaking)} cannot be built on it, so load_model fails (for a Conv2D: "
                  "'Kernel shape must have the same length as input')",
                  location=layer_name(first), fix=FIX, evidence={"batch_input_shape": shape, "rank_bound": breaking})
    else:
        fixed = (f"its Reshape '{layer_name(reached[-1])}' gives the layers after it a fixed shape"
                 if reached and reached[-1].get("class_name") == "Reshape" else
                 f"its layers ({', '.join(sorted(seen))}) build on any rank")
        yield Hit(f"{head}; {fixed}, so it loads, but calling it "
                  f"on the inputs it was trained on raises 'Invalid input shape ... Expected shape {built}' "
                  "(seen with Keras 3.15.1 on a Dense model)",
                  location=layer_name(first), fix=FIX, severity="warning", evidence={"batch_input_shape": shape})


FIX = ("Load it with tf_keras (pip install tf_keras; tf_keras.models.load_model(path)), or let `kcompat fix` put an "
       "InputLayer with that batch_input_shape before the first layer")


def fix_legacy_sequential_input_shape(rewrite, artifact: Artifact, env: Environment, findings=()) -> None:
    """Move the first layer's batch_input_shape to a new InputLayer, which Keras 3 reads as batch_shape."""
    found = _shifted(rewrite.model)
    if found is None:
        return
    first, layers = found
    config = first["config"]
    shape = config.pop("batch_input_shape")
    name = layer_name(first)
    layers.insert(0, _input_layer(shape, config.get("dtype"), f"{name}_input", keras3=False))
    rewrite.change(f"{first.get('class_name')} '{name}': batch_input_shape={shape} moved to a new InputLayer")
