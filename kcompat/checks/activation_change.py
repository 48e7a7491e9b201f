"""KC222: a Keras 2 model using hard_sigmoid, read by Keras 3, whose hard_sigmoid has another slope."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

KEYS = ("activation", "recurrent_activation")


def hard_sigmoid_redefined(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    # Keras 2 (and tf_keras): clip(0.2 * x + 0.5, 0, 1). Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1),
    # as in PyTorch and JAX (keras-team/keras#19477; tensorflow/tensorflow#65381 shows it in TF 2.16.1).
    if (R.keras_major(env) != 3 or artifact.keras_major != 2
            or artifact.format not in (Format.hdf5_model, Format.keras_zip, Format.keras_dir)):
        return
    for layer in artifact.layers:
        keys = [k for k in KEYS if _names_hard_sigmoid(layer.config.get(k))]
        for key in keys:
            yield Hit(f"{layer.class_name} '{layer.name}' has {key}='hard_sigmoid': Keras {artifact.keras_version} "
                      f"computes it as clip(0.2 * x + 0.5, 0, 1), {R.keras_label(env)} as clip(x / 6 + 0.5, 0, 1), "
                      "so the model loads and its outputs differ from the ones it was trained to give",
                      location=layer.path, key=f"{layer.path}:{key}",
                      fix="Load it with tf_keras, whose hard_sigmoid is Keras 2's; or, in Keras 3, give these layers "
                          "a function computing keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0) instead and check the outputs",
                      evidence={"key": key, "breaks": []}, group="hard_sigmoid",
                      group_message=f"{{n}} layers ({{locations}}) use hard_sigmoid, which {R.keras_label(env)} "
                                    "computes as clip(x / 6 + 0.5, 0, 1) where Keras 2 computed clip(0.2 * x + 0.5, "
                                    "0, 1): the model loads and its outputs differ")


def _names_hard_sigmoid(value) -> bool:
    if isinstance(value, dict):  # Keras 2.13+ .keras: {"module": "keras.activations", "class_name": "function", ...}
        value = value.get("config") if value.get("class_name") == "function" else None
    return value == "hard_sigmoid"
