"""Build an Environment for a rule case: a shipped real profile plus the case's overrides."""

from __future__ import annotations

from typing import Any

from kcompat.env.model import Device, KerasClass, LoaderFacts
from kcompat.releases.store import profile

_CACHE: dict[str, Any] = {}


def build_env(spec: dict[str, Any]):
    preset = spec.get("preset", "keras3.15-tf2.21")
    if preset not in _CACHE:
        _CACHE[preset] = profile(preset)  # a former shipped profile's name, or a release name
    env = _CACHE[preset].model_copy(deep=True)
    env.versions.update(spec.get("versions", {}))
    for key in ("tf_use_legacy_keras", "keras_backend", "python", "available_backends", "platform"):
        if key in spec:
            setattr(env, key, spec[key])
    if "devices" in spec:
        env.devices = [Device(name=f"/physical_device:{d}:{i}", device_type=d) for i, d in enumerate(spec["devices"])]
    for name in spec.get("remove_ops", []):
        env.ops.pop(name, None)
    env.ops.update(spec.get("add_ops", {}))
    env.ops_required.update(spec.get("add_ops_required", {}))
    env.custom_objects.extend(KerasClass(**c) for c in spec.get("custom_objects", []))
    env.keras_ops.extend(KerasClass(**c) for c in spec.get("keras_ops", []))
    for name, facts in spec.get("loaders", {}).items():  # "keras" / "tf_keras" -> LoaderFacts fields
        env.loaders[name] = LoaderFacts(**facts)
    for name, accepted in spec.get("accepted", {}).items():  # class name -> {argument: accepted values}
        for entry in env.keras_classes + env.tf_keras_classes:
            if entry.name == name:
                entry.accepted = {**entry.accepted, **accepted}
    return env
