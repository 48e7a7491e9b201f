"""How the target Keras resolves a saved optimizer config, and which arguments its class rejects.

Keras 3 resolves by lower-cased class name, then falls back to the config's ``name``; Keras 2.11+
keeps the legacy classes (``lr``, ``decay``) beside the new ones, registered as ``Custom>Name``.
See the KC4xx module (``optimizer``) for the sources read.
"""

from __future__ import annotations

from typing import Any

from kcompat.checks._target import custom_names, loader_major, loader_version, optimizer_classes

# Keras 2.11+ registers its new-style optimizers as "Custom>Name" (some probes miss them).
KERAS2_NEW_OPTIMIZERS = {"Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion",
                         "Nadam", "RMSprop", "SGD"}
# Names Keras 2's optimizers.deserialize maps itself (keras/src/optimizers/__init__.py).
KERAS2_OPTIMIZER_MAP = {"adadelta", "adagrad", "adam", "adamax", "nadam", "rmsprop", "sgd", "ftrl",
                        "experimentaladadelta", "experimentaladagrad", "experimentaladam", "experimentalsgd",
                        "lossscaleoptimizer", "lossscaleoptimizerv3", "lossscaleoptimizerv1"}
KERAS2_LEGACY_KWARGS = {"clipnorm", "clipvalue", "lr", "decay", "global_clipnorm"}
# What a Keras 2 legacy class pops itself: Nadam takes Keras 1's schedule_decay as its decay
# (tf_keras/src/optimizers/legacy/nadam.py; the new-style Nadam does not).
KERAS2_LEGACY_POPPED = {"Nadam": {"schedule_decay"}}


def _is_legacy_class(cls) -> bool:
    return ".legacy" in (cls.module or "") or cls.registered_name in ("OptimizerV2",)


class Resolution:
    """What the env's loader builds for a saved optimizer config."""

    def __init__(self, mode: str, cls=None, error: str | None = None, flavour: str = "k3"):
        self.mode = mode  # direct | custom | fallback | fail
        self.cls = cls
        self.error = error
        self.flavour = flavour  # k3 | k2new | k2legacy


def _find(classes, name: str, legacy: bool | None = None):
    for cls in classes:
        if cls.name.lower() == name.lower() and (legacy is None or _is_legacy_class(cls) == legacy):
            return cls
    return None


def resolve(class_name: str, config: dict[str, Any], env) -> Resolution:
    classes = optimizer_classes(env)
    if class_name in custom_names(env):
        return Resolution("custom")
    if loader_major(env) == 2:
        return _resolve_keras2(class_name, config, env, classes)
    cls = _find([c for c in classes if not _is_legacy_class(c)], class_name)
    if cls is not None:
        return Resolution("direct", cls)
    name = config.get("name")
    if not isinstance(name, str):
        return Resolution("fail", error="KeyError: 'name'")
    cls = _find([c for c in classes if not _is_legacy_class(c)], name)
    if cls is None:
        return Resolution("fail", error=f"ValueError: Could not interpret optimizer identifier: {name}")
    return Resolution("fallback", cls)


def _resolve_keras2(class_name: str, config: dict[str, Any], env, classes) -> Resolution:
    version = loader_version(env)
    by_registered = next((c for c in classes if c.registered_name == class_name), None)
    if class_name.startswith("Custom>"):
        short = class_name.split(">", 1)[1]
        if by_registered is None and version >= (2, 11) and short in KERAS2_NEW_OPTIMIZERS:
            by_registered = _find(classes, short, legacy=False)
            if by_registered is None:  # Keras 2.11+ has it; this profile's probe missed the new classes
                return Resolution("custom")
        if by_registered is None:
            return Resolution("fail", error=f"ValueError: Unknown optimizer: '{class_name}'")
        return Resolution("direct", by_registered, flavour="k2new")
    lower = class_name.lower()
    if lower in KERAS2_OPTIMIZER_MAP:
        if "lossscale" in lower:
            return Resolution("custom")  # wrapper: not checked argument by argument
        new = version >= (2, 11) and config.get("is_legacy_optimizer", True) is False
        base = lower.replace("experimental", "")
        cls = _find(classes, base, legacy=not new) if version >= (2, 11) else _find(classes, base)
        if cls is None and new:
            return Resolution("custom")  # Keras 2.11+ has it; this profile's probe missed the new classes
        cls = cls or _find(classes, base)
        return Resolution("direct", cls, flavour="k2new" if new else "k2legacy")
    if by_registered is not None:
        return Resolution("direct", by_registered, flavour="k2legacy" if _is_legacy_class(by_registered) else "k2new")
    return Resolution("fail", error=f"ValueError: Unknown optimizer: '{class_name}'")


def rejected_arguments(res: Resolution, config: dict[str, Any]) -> dict[str, Any]:
    """Config keys the resolved class's constructor raises on."""
    cls = res.cls
    if res.mode != "direct" or cls is None:
        return {}
    accepted = set(cls.params) | set(cls.base_params) | {"name"}
    if res.flavour == "k3":
        accepted |= {"decay"}  # popped with a warning, then ignored
    elif res.flavour == "k2new":
        accepted |= {"lr", "is_legacy_optimizer"}
    else:
        accepted |= KERAS2_LEGACY_KWARGS | KERAS2_LEGACY_POPPED.get(cls.name, set())
    if not cls.var_kwargs and not cls.base_params and not cls.params:
        return {}  # nothing known about this class
    return {k: v for k, v in config.items() if k not in accepted}


DEFAULT_LEARNING_RATE = {"sgd": 0.01}


def changed_hyperparameters(config: dict[str, Any], name: str = "") -> str:
    """The saved hyperparameters that differ from a default-constructed optimizer."""
    shown = []
    for key in ("learning_rate", "lr", "decay", "weight_decay", "momentum"):
        value = config.get(key)
        if value in (None, 0, 0.0, False):
            continue
        if key in ("learning_rate", "lr") and isinstance(value, (int, float)) and \
                abs(value - DEFAULT_LEARNING_RATE.get(name.lower(), 0.001)) < 1e-6:
            continue
        shown.append(f"{key}={value!r}")
    return ", ".join(shown)
