"""Normalise Keras 1, 2 and 3 model configs into one layer tree plus the objects they name."""

from __future__ import annotations

from typing import Any

from kcompat.model import Artifact, Layer, ObjectRef, Problem, TrainingConfig

WRAPPED_KEYS = ("layer", "forward_layer", "backward_layer", "cell")
# Config keys whose string values name a Keras function or object looked up by name.
NAMED_KEYS = {
    "activation", "recurrent_activation", "kernel_initializer", "bias_initializer",
    "recurrent_initializer", "embeddings_initializer", "depthwise_initializer", "pointwise_initializer",
    "kernel_regularizer", "bias_regularizer", "activity_regularizer", "recurrent_regularizer",
    "kernel_constraint", "bias_constraint", "recurrent_constraint",
    "fn",  # a metric or loss wrapper's function (tf.keras 2.13+ writes MeanMetricWrapper configs so)
}


def _parse_class(obj: dict[str, Any]) -> tuple[str, str | None, str | None, dict[str, Any]]:
    """class name, module, registered name and config; Keras 2 writes `package>Name` as the class name."""
    config = obj.get("config")
    class_name = str(obj.get("class_name"))
    registered = obj.get("registered_name") if isinstance(obj.get("registered_name"), str) else None
    if ">" in class_name:
        registered = registered or class_name
        class_name = class_name.rsplit(">", 1)[1]
    return (
        class_name,
        obj.get("module") if isinstance(obj.get("module"), str) else None,
        registered,
        config if isinstance(config, dict) else {},
    )


def _child_layers(obj: dict[str, Any]) -> list[Any]:
    config = obj.get("config")
    if isinstance(config, list):  # Keras 1 Sequential: config is the list of layers
        return config
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"]
    return []


def walk_layers(obj: dict[str, Any], parent: str, out: list[Layer], wrapper_key: str | None = None) -> None:
    class_name, module, registered_name, config = _parse_class(obj)
    name = str(config.get("name") or obj.get("name") or class_name)
    path = f"{parent}/{name}" if parent else name
    stored = {k: (f"<{len(v)} layers>" if k == "layers" and isinstance(v, list) else v) for k, v in config.items()}
    out.append(
        Layer(path=path, name=name, class_name=class_name, module=module,
              registered_name=registered_name, config=stored, wrapper_key=wrapper_key)
    )
    for child in _child_layers(obj):
        if isinstance(child, dict) and "class_name" in child:
            walk_layers(child, path, out)
    for key in WRAPPED_KEYS:
        child = config.get(key)
        if isinstance(child, dict) and "class_name" in child:
            walk_layers(child, path, out, key)
    for child in config.get("cells", []) if isinstance(config.get("cells"), list) else []:
        if isinstance(child, dict) and "class_name" in child:
            walk_layers(child, path, out, "cells")


def collect_objects(value: Any, location: str, out: list[ObjectRef], depth: int = 0) -> None:
    """Every serialized class or function in a config, wherever it sits."""
    if depth > 200:
        return
    if isinstance(value, dict):
        if "class_name" in value and isinstance(value.get("class_name"), str):
            class_name, module, registered_name, _ = _parse_class(value)
            kind = "function" if class_name == "function" else "object"
            if class_name == "function" and isinstance(value.get("config"), str):
                class_name = value["config"]
            out.append(ObjectRef(location=location, class_name=class_name, module=module,
                                 registered_name=registered_name, kind=kind))
        for key, item in value.items():
            if key in ("inbound_nodes", "build_config", "shared_object_id"):
                continue
            child = f"{location}.{key}" if location else str(key)
            if isinstance(item, str) and key in NAMED_KEYS:
                out.append(ObjectRef(location=child, class_name=item, kind="string"))
            else:
                collect_objects(item, child, out, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            collect_objects(item, f"{location}[{i}]", out, depth + 1)


def collect_loss_names(training: Any, out: list[ObjectRef]) -> None:
    """The losses an .h5 training config names by a bare string ("mse", or a custom function's name), per
    output too: Keras 2's compile=True looks each up as it loads ("Unknown loss function: 'f'")."""
    loss = training.get("loss") if isinstance(training, dict) else None
    if isinstance(loss, dict) and "class_name" in loss:
        return  # one loss object: collect_objects has it
    items = loss.items() if isinstance(loss, dict) else enumerate(loss) if isinstance(loss, list) else [(None, loss)]
    for key, item in items:  # per output: a name, or an object (collect_objects has those)
        if isinstance(item, str):
            where = "training_config.loss" + ("" if key is None else f"[{key}]" if isinstance(key, int) else f".{key}")
            out.append(ObjectRef(location=where, class_name=item, kind="string"))


def training_config(raw: dict[str, Any]) -> TrainingConfig:
    """Keras 2 `training_config` (h5) and Keras 3 `compile_config` (.keras) share these keys."""
    opt = raw.get("optimizer_config", raw.get("optimizer"))
    tc = TrainingConfig(
        loss=raw.get("loss"), metrics=raw.get("metrics"),
        weighted_metrics=raw.get("weighted_metrics"), loss_weights=raw.get("loss_weights"),
    )
    if isinstance(opt, dict):
        _, module, registered_name, config = _parse_class(opt)
        tc.optimizer_class, tc.optimizer_module = str(opt.get("class_name")), module  # as written: "Custom>Adam"
        tc.optimizer_registered_name, tc.optimizer_args = registered_name, config
    elif isinstance(opt, str):
        tc.optimizer_class = opt
    return tc


def apply_model_config(artifact: Artifact, config: Any) -> None:
    if not isinstance(config, dict) or "class_name" not in config:
        artifact.problems.append(Problem(
            kind="config-unparseable",
            detail=f"model config is a {type(config).__name__}, not a Keras class config"))
        return
    class_name, module, _, inner = _parse_class(config)
    artifact.model_class, artifact.model_module = class_name, module
    artifact.config = config
    layers: list[Layer] = []
    for child in _child_layers(config):
        if isinstance(child, dict) and "class_name" in child:
            walk_layers(child, "", layers)
    if not layers and class_name not in ("Sequential", "Functional", "Model"):
        walk_layers(config, "", layers)  # a subclassed model or a single layer at the top
    artifact.layers = layers
    collect_objects(config, "", artifact.objects)
    compile_config = config.get("compile_config")
    if isinstance(compile_config, dict) and artifact.training is None:
        artifact.training = training_config(compile_config)  # its objects were collected with the config

