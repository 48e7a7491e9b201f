"""The target's Keras as the loader sees it: which Keras loads, its version, its class pool.

``TF_USE_LEGACY_KERAS=1`` with tf_keras installed makes ``tf.keras`` Keras 2 even beside Keras 3.
"""

from __future__ import annotations


def legacy_keras(env) -> bool:
    """tf.keras is tf_keras (Keras 2) here: TF_USE_LEGACY_KERAS=1 with tf_keras installed."""
    return bool(env.tf_use_legacy_keras and env.versions.get("tf_keras"))


def loader_major(env) -> int | None:
    if legacy_keras(env):
        return 2
    return env.keras_major or env.tf_keras_major


def loader_version(env) -> tuple[int, int]:
    raw = env.versions.get("tf_keras" if legacy_keras(env) else "keras") or ""
    parts = [int("".join(ch for ch in p if ch.isdigit()) or 0) for p in raw.split(".")[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def loader_name(env) -> str:
    if legacy_keras(env):
        return f"tf_keras {env.versions.get('tf_keras')}"
    return f"Keras {env.versions.get('keras')}"


def pool(env):
    return env.tf_keras_classes if legacy_keras(env) else env.keras_classes


def custom_names(env) -> set[str]:
    return {n for c in env.custom_objects for n in (c.name, c.registered_name) if n}


def optimizer_classes(env):
    return [c for c in pool(env) if c.kind == "optimizer" and c.obj_type == "class"]
