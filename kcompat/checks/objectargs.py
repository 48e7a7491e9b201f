"""KC304: a serialized initializer, regularizer or constraint in a layer config with keys its class rejects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

KINDS = {"initializer", "regularizer", "constraint"}


def _objects(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(argument, serialized object) for each object a layer's own arguments hold."""
    for key, value in sorted(config.items()):
        if isinstance(value, dict) and isinstance(value.get("class_name"), str) and isinstance(value.get("config"), dict):
            yield key, value


def object_arg_unrecognized(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is Format.saved_model or artifact.keras_major == 1 or (artifact.backend or "") in ("theano", "cntk"):
        return  # a SavedModel's layers are revived from their functions when a config fails (see KC302)
    label = R.keras_label(env)
    for layer in artifact.layers:
        for key, value in _objects(layer.config):
            cls = R.find(env, value["class_name"], KINDS)
            if cls is None or cls.var_kwargs or not (cls.params or cls.base_params):
                continue  # unknown classes are KC301's; **kwargs takes anything
            taken = set(cls.params) | set(cls.base_params)
            if cls.kind == "initializer" and R.keras_major(env) == 2:
                taken.add("dtype")  # Keras 2's Initializer.from_config pops it (TF 1 initializers wrote it); Keras 3's does not
            bad = sorted(k for k in value["config"] if k not in taken)
            if not bad:
                continue
            yield Hit(
                f"{value['class_name']} at layer '{layer.name}' argument {key!r} has config key(s) {bad} that "
                f"{label}'s {value['class_name']}.__init__ does not take (it takes {sorted(cls.params)}): "
                f"deserializing the layer raises \"{value['class_name']}.__init__() got an unexpected keyword "
                f"argument '{bad[0]}'\"",
                location=layer.path,
                fix=(f"Delete {', '.join(repr(k) for k in bad)} from the {key} config of layer '{layer.name}' (for "
                     ".keras: config.json in the archive; for .h5: the model_config attribute), or load it with the "
                     "Keras that wrote it"),
                evidence={"layer": layer.name, "argument": key, "class": value["class_name"], "keys": bad},
                key=f"{layer.path}:{key}", group=f"{value['class_name']}:{','.join(bad)}",
                group_message=f"{{n}} layers ({{locations}}) hold a {value['class_name']} with config key(s) {bad} "
                              f"that {label}'s {value['class_name']} does not take")
