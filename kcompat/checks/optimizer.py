"""KC4xx: optimizer and training config.

These mirror what the target Keras does when ``load_model(path, compile=True)`` rebuilds
the optimizer, losses and metrics from an HDF5 ``training_config``:

* Keras 3 (``keras/src/legacy/saving/saving_utils.compile_args_from_training_config``):
  ``optimizers.deserialize`` lower-cases a built-in class name; a name it cannot find comes
  back as a plain string, and ``_resolve_compile_arguments_compat`` then calls
  ``optimizers.get(config["config"]["name"])``: a default-configured optimizer of that
  name, or ``KeyError: 'name'`` / ``Could not interpret optimizer identifier``.
  The base optimizer pops ``decay`` with a warning and raises ``Argument(s) not
  recognized`` for any other unknown argument.
* Keras 2.11+ (``keras/src/optimizers/__init__.deserialize``): a config without
  ``is_legacy_optimizer`` builds the legacy class (which takes ``lr`` and ``decay``);
  new-style classes are registered as ``Custom>Name``.

Pure functions over (Artifact, Environment); nothing here imports TF or Keras.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks._optimizers import Resolution, changed_hyperparameters, rejected_arguments, resolve
from kcompat.checks._resolve import MODEL_CLASSES
from kcompat.checks._target import custom_names, loader_major, loader_name, loader_version, pool
from kcompat.checks.base import Hit
from kcompat.model import Artifact, Format, Problem

COMPILE_FALSE = "model = keras.saving.load_model(path, compile=False)\nmodel.compile(optimizer=..., loss=..., metrics=[...])"

# Loss names Keras 2 resolved that Keras 3 no longer knows (the tf2.15 / tf_keras profiles).
KERAS2_ONLY_LOSSES = {"logcosh", "kullback_leibler_divergence", "huber_loss", "cosine_proximity"}
# keras.losses.Reduction.AUTO, gone in Keras 3: used only when the environment's loss classes carry no
# probed `accepted` values (snapshots taken before probe v2).
KERAS2_LOSS_REDUCTIONS_REJECTED = {"auto"}


def compiles_from_training_config(artifact: Artifact, env) -> bool:
    """load_model(compile=True) rebuilds the optimizer from this artifact's training config."""
    if artifact.training is None:
        return False
    if artifact.format is Format.hdf5_model:
        return True
    # A Keras 2 SavedModel compiles from keras_metadata.pb, but only under Keras 2.
    return artifact.format is Format.saved_model and loader_major(env) == 2


def compiles_from_compile_config(artifact: Artifact, env) -> bool:
    """Keras 3 load_model(compile=True) of a .keras zip compiles a built-in model from its compile_config.

    serialization_lib.deserialize_keras_object calls compile_from_config, which deserializes the optimizer
    (``cls(**config)``) and lets its error end the load (seen with Keras 3.15.1 on a tf_keras 2.21 .keras:
    "Argument(s) not recognized: {'jit_compile': False, 'is_legacy_optimizer': False}"). A custom model
    class may override compile(), and then Keras skips compiling with a warning.
    """
    return (artifact.training is not None and artifact.format is Format.keras_zip and loader_major(env) == 3
            and artifact.model_class in MODEL_CLASSES)


def optimizer_config(artifact: Artifact) -> tuple[str | None, dict[str, Any]]:
    t = artifact.training
    if t is None or not t.optimizer_class:
        return None, {}
    return t.optimizer_class, dict(t.optimizer_args or {})


# --- KC401 ----------------------------------------------------------------------------------------

def optimizer_unknown(artifact: Artifact, env) -> Iterator[Hit]:
    if not compiles_from_training_config(artifact, env):
        return
    class_name, config = optimizer_config(artifact)
    if not class_name:
        return
    res = resolve(class_name, config, env)
    if res.mode in ("direct", "custom"):
        return
    where = loader_name(env)
    if res.mode == "fallback":
        lost = changed_hyperparameters(config, res.cls.name)
        message = (f"optimizer class {class_name!r} is unknown to {where}: load_model(compile=True) does not fail, "
                   f"it silently builds a default {res.cls.name}() from the config's name, so the saved "
                   f"hyperparameters{f' ({lost})' if lost else ''} and the saved optimizer state are dropped")
    else:
        message = (f"optimizer class {class_name!r} is unknown to {where}: load_model(compile=True) raises "
                   f"{res.error}")
    yield Hit(message, location="training_config.optimizer_config",
              fix=COMPILE_FALSE.replace("optimizer=...", f"optimizer=keras.optimizers.{(res.cls.name if res.cls else 'Adam')}(...)"),
              evidence={"class_name": class_name, "resolution": res.mode, "error": res.error,
                        "substitute": res.cls.name if res.cls else None},
              key=class_name)


# --- KC402 ----------------------------------------------------------------------------------------

def optimizer_arg_removed(artifact: Artifact, env) -> Iterator[Hit]:
    if compiles_from_training_config(artifact, env):
        where = "training_config.optimizer_config"
    elif compiles_from_compile_config(artifact, env):
        where = "compile_config.optimizer"
    else:
        return
    class_name, config = optimizer_config(artifact)
    if not class_name:
        return
    targets = [(class_name, config, where)]
    inner = config.get("inner_optimizer")
    if isinstance(inner, dict) and isinstance(inner.get("class_name"), str):
        res_outer = resolve(class_name, config, env)
        if res_outer.mode in ("direct", "custom"):
            inner_cfg = inner.get("config") if isinstance(inner.get("config"), dict) else {}
            targets.append((inner["class_name"], inner_cfg, f"{where}.inner_optimizer"))
    for name, cfg, location in targets:
        res = resolve(name, cfg, env)
        rejected = rejected_arguments(res, cfg)
        if not rejected:
            continue
        if res.flavour == "k3":
            error = f"ValueError: Argument(s) not recognized: {rejected}"
        elif res.flavour == "k2new" and "decay" in rejected:
            error = "ValueError: decay is deprecated in the new Keras optimizer"
        else:
            error = f"TypeError: unexpected keyword argument(s) {sorted(rejected)}"
        renames = {"lr": "learning_rate"}
        hint = "; ".join(f"{k} -> {renames[k]}" for k in rejected if k in renames)
        yield Hit(
            f"{loader_name(env)} {res.cls.name} does not accept {sorted(rejected)} from the saved {name} config: "
            f"load_model(compile=True) raises {error}" + (f" (renamed: {hint})" if hint else ""),
            location=location, fix=COMPILE_FALSE,
            evidence={"class_name": name, "rejected": sorted(rejected), "flavour": res.flavour},
            key=f"{location}:{','.join(sorted(rejected))}",
        )


# --- KC403 ----------------------------------------------------------------------------------------

LEGACY_SLOT_MARK = "/.OPTIMIZER_SLOT/optimizer/"


def _legacy_config(artifact: Artifact, class_name: str, config: dict[str, Any]) -> bool:
    """A Keras 1/2 legacy (OptimizerV2 or older) optimizer config."""
    if class_name.lower().startswith("lossscaleoptimizer"):
        return False  # a wrapper; its inner optimizer says what it is
    if class_name.startswith("Custom>") or "is_legacy_optimizer" in config:
        return config.get("is_legacy_optimizer") is True
    if artifact.training and (artifact.training.optimizer_module or "").endswith(".legacy"):
        return True
    major = (artifact.keras_version or "").split(".")[0]
    return major in ("1", "2") and bool(config)


def optimizer_state_legacy(artifact: Artifact, env) -> Iterator[Hit]:
    major = loader_major(env)
    version = loader_version(env)
    new_default = major == 3 or (major == 2 and version >= (2, 11))
    if artifact.format is Format.tf_checkpoint and new_default:
        legacy_keys = [k for k in artifact.checkpoint_keys
                       if LEGACY_SLOT_MARK in k or k.startswith(("optimizer/iter/", "optimizer/decay/"))]
        if legacy_keys:
            fix = ("ckpt = tf.train.Checkpoint(model=model)  # leave the legacy optimizer state behind\n"
                   "ckpt.restore(path).expect_partial()")
            if major == 2:
                fix = ("optimizer = tf.keras.optimizers.legacy.Adam()  # the legacy class that wrote the slots\n"
                       "tf.train.Checkpoint(model=model, optimizer=optimizer).restore(path)")
            yield Hit(
                f"checkpoint holds legacy Keras optimizer state ({len(legacy_keys)} entries such as "
                f"{legacy_keys[0]!r}); restoring it into the v2.11+ optimizer {loader_name(env)} builds fails "
                "with 'You are trying to restore a checkpoint from a legacy Keras optimizer into a v2.11+ Optimizer'",
                location=legacy_keys[0], fix=fix, evidence={"legacy_keys": len(legacy_keys)}, key="checkpoint")
        return
    if major != 3 or artifact.format not in (Format.hdf5_model, Format.keras_zip, Format.keras_dir):
        return
    class_name, config = optimizer_config(artifact)
    if not class_name or not _legacy_config(artifact, class_name, config):
        return
    decay = config.get("decay")
    dropped = f"; its decay={decay!r} is ignored ('Argument `decay` is no longer supported and will be ignored')" \
        if decay not in (None, 0, 0.0) else ""
    yield Hit(
        f"the optimizer was saved by a legacy Keras {artifact.keras_version or '1/2'} {class_name} (OptimizerV2 or older); "
        f"{loader_name(env)} rebuilds it as a new-style optimizer whose state layout differs, so the saved "
        f"optimizer state is not restored{dropped}",
        location="training_config.optimizer_config",
        fix=("model = keras.saving.load_model(path, compile=False)\n"
             "model.compile(optimizer=keras.optimizers.Adam(learning_rate=keras.optimizers.schedules."
             "InverseTimeDecay(0.01, decay_steps=1, decay_rate=decay)), loss=...)  # re-create any decay explicitly"),
        evidence={"class_name": class_name, "decay": decay}, key=class_name)


# --- KC404 ----------------------------------------------------------------------------------------

def _loss_entries(pool_classes, name: str):
    return [c for c in pool_classes if c.kind == "loss" and c.name == name]


def _iter_strings(value: Any, location: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and "class_name" in value:
        yield location, value
    elif isinstance(value, str):
        yield location, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _iter_strings(v, f"{location}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _iter_strings(v, f"{location}[{i}]")


def undeserializable_losses(artifact: Artifact, env) -> Iterator[tuple[str, str, str]]:
    """(location, saved value, the error Keras 3 raises) for each loss Keras 3 cannot rebuild."""
    classes = pool(env)
    known = {c.name for c in classes if c.kind == "loss"}
    custom = custom_names(env)
    for location, item in _iter_strings(artifact.training.loss, "training_config.loss"):
        if isinstance(item, str):
            if item in custom:
                continue
            entries = _loss_entries(classes, item)
            alias = next((c for c in entries if c.obj_type == "function" and c.qualname and c.qualname != item), None)
            if alias is not None:
                module = (alias.api_names[0].rsplit(".", 1)[0] if alias.api_names else "keras.losses")
                yield location, item, (f"ValueError: Could not deserialize '{module}.{item}' because it is not a "
                                       "KerasSaveable subclass")
            elif item not in known and item in KERAS2_ONLY_LOSSES:
                yield location, item, "TypeError: string indices must be integers, not 'str'"
        else:
            config = item.get("config") if isinstance(item.get("config"), dict) else {}
            cls = next((c for c in classes if c.kind == "loss" and c.name == item.get("class_name")), None)
            if cls is None or "reduction" not in config:
                continue
            accepted = cls.accepted.get("reduction")
            # The probed class says which reductions it accepts; an environment probed before it recorded
            # them falls back to the one value Keras 3 dropped.
            if accepted is not None and config["reduction"] not in accepted or \
                    accepted is None and config["reduction"] in KERAS2_LOSS_REDUCTIONS_REJECTED:
                expected = accepted if accepted is not None else ["mean", "sum_over_batch_size", "sum", "none", None]
                yield location, f"{item['class_name']}(reduction={config['reduction']!r})", (
                    "ValueError: Invalid value for argument `reduction`. Expected one of "
                    f"{{{', '.join(repr(v) for v in sorted(expected, key=str))}}}. "
                    f"Received: reduction={config['reduction']}")


def compile_config_losses(artifact: Artifact, env) -> Iterator[tuple[str, str, str]]:
    """(location, saved value, the error) for each loss object of a .keras compile_config that the target's
    class refuses: Keras 3 rebuilds it with cls(**config), so tf.keras's 'fn' and reduction='auto' end the load
    (seen with Keras 3.15.1 on tf_keras 2.21 .keras files). Loss names and metric objects load."""
    classes = pool(env)
    for location, item in _iter_strings(artifact.training.loss, "compile_config.loss"):
        if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
            continue
        config = item["config"]
        cls = next((c for c in classes if c.kind == "loss" and c.obj_type == "class" and c.name == item.get("class_name")),
                   None)
        if cls is None or not cls.params:
            continue
        extra = [k for k in config if k not in cls.params] if not cls.var_kwargs else []
        accepted = cls.accepted.get("reduction")
        if extra:
            yield location, item["class_name"], f"TypeError: {cls.name}.__init__() got an unexpected keyword argument '{extra[0]}'"
        elif accepted is not None and "reduction" in config and config["reduction"] not in accepted:
            yield location, f"{item['class_name']}(reduction={config['reduction']!r})", (
                f"ValueError: Invalid value for argument `reduction`. Received: reduction={config['reduction']}")


def training_config_undeserializable(artifact: Artifact, env) -> Iterator[Hit]:
    if compiles_from_compile_config(artifact, env):
        for location, value, error in compile_config_losses(artifact, env):
            yield Hit(f"{loader_name(env)} cannot rebuild the saved loss {value!r} from this .keras compile_config: "
                      f"load_model(compile=True) raises {error}",
                      location=location, fix=COMPILE_FALSE,
                      evidence={"part": "loss", "value": value, "error": error}, key=f"{location}:{value}")
        return
    if not compiles_from_training_config(artifact, env):
        return
    class_name, config = optimizer_config(artifact)
    if class_name:
        res = resolve(class_name, config, env)
        if res.mode == "fail":
            yield Hit(
                f"the training config cannot be rebuilt by {loader_name(env)}: optimizer {class_name!r} raises "
                f"{res.error} under load_model(compile=True)",
                location="training_config.optimizer_config", fix=COMPILE_FALSE,
                evidence={"part": "optimizer", "value": class_name, "error": res.error}, key=f"optimizer:{class_name}")
    if loader_major(env) != 3 or artifact.format is not Format.hdf5_model:
        return
    for location, value, error in undeserializable_losses(artifact, env):
        yield Hit(
            f"{loader_name(env)} cannot deserialize the saved loss {value!r} from this .h5 training_config: "
            f"load_model(compile=True) raises {error}",
            location=location, fix=COMPILE_FALSE,
            evidence={"part": "loss", "value": value, "error": error}, key=f"{location}:{value}")


# --- KC405 ----------------------------------------------------------------------------------------

def _slots(name: str, config: dict[str, Any]) -> int | None:
    n = name.lower()
    if n in ("adam", "adamw"):
        return 3 if config.get("amsgrad") else 2
    if n in ("adamax", "adadelta", "ftrl", "nadam"):
        return 2
    if n in ("adagrad", "lion"):
        return 1
    if n == "sgd":
        return 1 if (config.get("momentum") or 0) > 0 else 0
    if n == "rmsprop":
        return 1 + bool((config.get("momentum") or 0) > 0) + bool(config.get("centered"))
    return None


def trainable_count(artifact: Artifact) -> int | None:
    if any(l.config.get("trainable") is False for l in artifact.layers):
        return None  # frozen layers: no optimizer slots, not visible in the inventory
    weights = [w for w in artifact.weights
               if not w.name.startswith(("metrics/", "optimizer/"))
               and "moving_mean" not in w.name and "moving_variance" not in w.name]
    count = len(weights)
    if artifact.format in (Format.keras_zip, Format.keras_dir):  # vars/N names hide which are trainable
        count -= 2 * sum(1 for l in artifact.layers if l.class_name == "BatchNormalization")
    return count if count > 0 else None


def expected_optimizer_variables(res: Resolution, config: dict[str, Any], trainable: int) -> int | None:
    cls = res.cls
    if cls is None or res.mode not in ("direct", "fallback"):
        return None
    used = {} if res.mode == "fallback" else config
    if used.get("use_ema"):
        return None
    slots = _slots(cls.name, used)
    if slots is None:
        return None
    count = 1 + slots * trainable  # iterations + slots
    if res.flavour == "k3":
        count += 0 if isinstance(used.get("learning_rate"), dict) else 1  # learning_rate variable
        count += 1 if cls.name.lower() == "nadam" else 0  # u_product
    return count


def optimizer_variable_count(artifact: Artifact, env) -> Iterator[Hit]:
    saved = artifact.optimizer_weight_count
    if not saved or artifact.format not in (Format.hdf5_model, Format.keras_zip, Format.keras_dir):
        return
    class_name, config = optimizer_config(artifact)
    if not class_name:
        return
    res = resolve(class_name, config, env)
    trainable = trainable_count(artifact)
    if trainable is None:
        return
    expected = expected_optimizer_variables(res, config, trainable)
    if expected is None or expected == saved:
        return
    name = res.cls.name
    yield Hit(
        f"the saved optimizer state has {saved} variables but the {name} that {loader_name(env)} builds for "
        f"{trainable} trainable weights has {expected}: Keras skips the saved state ('Skipping variable loading "
        f"for optimizer ..., because it has {expected} variables whereas the saved optimizer has {saved} "
        "variables', or 'Error in loading the saved optimizer state') and training resumes from a fresh optimizer",
        location="optimizer_weights" if artifact.format is Format.hdf5_model else "model.weights.h5:optimizer",
        fix=("Accept a fresh optimizer state (load with compile=False and re-compile), or resume training in the "
             "Keras version that saved the file."),
        evidence={"saved": saved, "expected": expected, "trainable": trainable, "optimizer": name},
        key="optimizer-variables")


# --- KC406 ----------------------------------------------------------------------------------------

def in_legacy_optimizer_state(problem: Problem) -> bool:
    """The problem lies in a .h5's optimizer_weights group, which only a compiling load opens."""
    return (problem.member or "").split("/")[0] == "optimizer_weights"


def optimizer_state_unreadable(artifact: Artifact, env) -> Iterator[Hit]:
    """Legacy .h5 optimizer state that libhdf5 will not open: only a compiling load reads it, after
    compile_args_from_training_config (Keras 2 and 3 alike: load_optimizer_weights_from_hdf5_group)."""
    if artifact.format is not Format.hdf5_model or artifact.training is None:
        return
    damaged = [p for p in artifact.problems if p.kind == "hdf5-object-unreadable" and in_legacy_optimizer_state(p)]
    if damaged:
        first = damaged[0]
        yield Hit(
            f"{len(damaged)} object(s) of the saved optimizer state cannot be opened, {first.member} first: "
            f"{first.detail}; load_model(compile=True) fails when it restores the optimizer, compile=False loads",
            location=first.member,
            fix=COMPILE_FALSE + "\n# the optimizer state is lost; re-download the file to keep it",
            evidence={"objects": [p.member for p in damaged]},
        )
