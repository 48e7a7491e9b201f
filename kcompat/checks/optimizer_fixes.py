"""KC402 and KC404 fixers: rewrite an .h5 training config so the target rebuilds it, or drop it and say so."""

from __future__ import annotations

from kcompat.checks._optimizers import rejected_arguments, resolve
from kcompat.checks._target import loader_name, pool
from kcompat.checks.optimizer import _loss_entries, optimizer_config, undeserializable_losses
from kcompat.model import Artifact


RENAMED_ARGS = {"lr": "learning_rate"}
# Arguments tf.keras 2.11+ wrote into every optimizer config that carry nothing Keras 3 needs.
DROPPED_ARGS = {
    "is_legacy_optimizer": "a tf.keras marker of the optimizer's generation",
    "jit_compile": "Keras 3 takes XLA compilation from model.compile(jit_compile=...)",
}


def _drop_training(rewrite, why: str) -> None:
    if isinstance(rewrite.model, dict) and isinstance(rewrite.model.get("compile_config"), dict):
        rewrite.model["compile_config"] = None  # a .keras: Keras compiles only from a non-empty compile_config
    else:
        rewrite.drop_training = True
    rewrite.change(f"training config dropped ({why}): the copy loads uncompiled, as load_model(compile=False) "
                   "would; compile it again before training")


def _saved_optimizer(rewrite) -> dict | None:
    """The optimizer's saved config: an .h5's training_config.optimizer_config, a .keras's compile_config.optimizer."""
    if isinstance(rewrite.training, dict):
        return rewrite.training.get("optimizer_config")
    compile_config = rewrite.model.get("compile_config") if isinstance(rewrite.model, dict) else None
    return compile_config.get("optimizer") if isinstance(compile_config, dict) else None


def fix_optimizer_arg_removed(rewrite, artifact: Artifact, env, findings=()) -> None:
    """lr -> learning_rate, decay=0 dropped; any other rejected argument drops the training config."""
    opt = _saved_optimizer(rewrite)
    if not isinstance(opt, dict) or not isinstance(opt.get("config"), dict):
        return
    parts = [opt]
    inner = opt["config"].get("inner_optimizer")
    if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
        parts.append(inner)
    for part in parts:
        cfg = part["config"]
        for key in sorted(rejected_arguments(resolve(str(part.get("class_name")), cfg, env), cfg)):
            if key in RENAMED_ARGS and RENAMED_ARGS[key] not in cfg:
                cfg[RENAMED_ARGS[key]] = cfg.pop(key)
                rewrite.change(f"optimizer {part.get('class_name')}: {key} renamed {RENAMED_ARGS[key]}")
            elif key in DROPPED_ARGS:
                value = cfg.pop(key)
                rewrite.change(f"optimizer {part.get('class_name')}: {key}={value!r} dropped ({DROPPED_ARGS[key]})")
            elif key == "decay" and cfg[key] in (0, 0.0, None):
                cfg.pop(key)
                rewrite.change(f"optimizer {part.get('class_name')}: decay=0 dropped (the no-op value)")
            else:
                _drop_training(rewrite, f"optimizer {part.get('class_name')} argument {key}={cfg[key]!r} has no "
                                        f"equivalent in {loader_name(env)}")
                return


def _loss_class(env, alias: str):
    """The target's Loss class for a loss function alias ('mse' -> MeanSquaredError), if it has one."""
    classes = pool(env)
    entry = next((c for c in _loss_entries(classes, alias) if c.obj_type == "function" and c.qualname), None)
    if entry is None:
        return None
    camel = "".join(part.capitalize() for part in entry.qualname.split("_"))
    cls = next((c for c in classes if c.kind == "loss" and c.obj_type == "class" and c.name == camel), None)
    return (cls, entry.qualname) if cls else None


def _fix_loss(item, env, rewrite):
    """The loss value the target can rebuild, or None when there is none."""
    if isinstance(item, str):
        found = _loss_class(env, item)
        if found is None:
            return None
        cls, qualname = found
        rewrite.change(f"loss {item!r} written as {cls.name} (Keras 3 rebuilds loss classes, not function aliases)")
        return {"class_name": cls.name, "config": {"name": qualname, "reduction": "sum_over_batch_size"}}
    config = item.get("config") if isinstance(item.get("config"), dict) else {}
    cls = next((c for c in pool(env) if c.kind == "loss" and c.name == item.get("class_name")), None)
    accepted = (cls.accepted.get("reduction") if cls else None) or ["sum_over_batch_size"]
    if config.get("reduction") == "auto" and "sum_over_batch_size" in accepted:
        config["reduction"] = "sum_over_batch_size"  # what Keras 2's AUTO meant outside a custom loop
        rewrite.change(f"loss {item.get('class_name')}: reduction 'auto' written as 'sum_over_batch_size'")
        return item
    return None


def _fix_compile_config_losses(rewrite, compile_config: dict, env) -> None:
    """A .keras's tf.keras loss objects: 'fn' (the function the Keras 3 class already wraps) is dropped and
    reduction='auto' becomes 'sum_over_batch_size' (what AUTO meant outside a distribution strategy)."""
    classes = {c.name: c for c in pool(env) if c.kind == "loss" and c.obj_type == "class"}

    def visit(value):
        if isinstance(value, dict) and isinstance(value.get("config"), dict) and value.get("class_name") in classes:
            cls, config = classes[value["class_name"]], value["config"]
            if "fn" in config and "fn" not in cls.params:
                config.pop("fn")
                rewrite.change(f"loss {value['class_name']}: fn dropped (the class computes it)")
            if config.get("reduction") == "auto" and "auto" not in cls.accepted.get("reduction", ["auto"]):
                config["reduction"] = "sum_over_batch_size"
                rewrite.change(f"loss {value['class_name']}: reduction 'auto' -> 'sum_over_batch_size'")
            if not cls.var_kwargs and any(k not in cls.params for k in config):
                raise LookupError(value["class_name"])
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    try:
        visit(compile_config.get("loss"))
    except LookupError as exc:
        _drop_training(rewrite, f"{loader_name(env)} has no loss to stand for {exc.args[0]!r}")


def fix_training_config_undeserializable(rewrite, artifact: Artifact, env, findings=()) -> None:
    """Rewrite the losses the target knows under another form; otherwise drop the training config."""
    training = rewrite.training
    compile_config = rewrite.model.get("compile_config") if isinstance(rewrite.model, dict) else None
    if training is None and isinstance(compile_config, dict):
        _fix_compile_config_losses(rewrite, compile_config, env)
        return
    if not isinstance(training, dict):
        return
    class_name, config = optimizer_config(artifact)
    if class_name and resolve(class_name, config, env).mode == "fail":
        _drop_training(rewrite, f"{loader_name(env)} cannot rebuild optimizer {class_name!r}")
        return
    bad = {value for _loc, value, _err in undeserializable_losses(artifact, env)}

    def visit(value):
        if isinstance(value, str) or isinstance(value, dict) and "class_name" in value:
            shown = value if isinstance(value, str) else \
                f"{value['class_name']}(reduction={(value.get('config') or {}).get('reduction')!r})"
            if shown not in bad:
                return value
            fixed = _fix_loss(value, env, rewrite)
            if fixed is None:
                raise LookupError(shown)
            return fixed
        if isinstance(value, dict):
            return {k: visit(v) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v) for v in value]
        return value

    try:
        training["loss"] = visit(training.get("loss"))
    except LookupError as exc:
        _drop_training(rewrite, f"{loader_name(env)} has no loss to stand for {exc.args[0]!r}")
