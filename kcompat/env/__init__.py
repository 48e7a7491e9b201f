"""The environment stage: a typed snapshot of where a model must load.

``get_environment()`` returns an :class:`Environment` gathered by a probe subprocess
in the target interpreter (cached on disk), or loaded from a declared target profile.
Importing this package never imports TensorFlow or Keras.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from kcompat.env import cache
from kcompat.env.model import PROBE_VERSION, Device, Environment, KerasClass
from kcompat.env.probe import EnvironmentProbeError, resolve_python, run_probe
from kcompat.env.profile import ProfileError, load_profile, save_profile

__all__ = [
    "PROBE_VERSION",
    "Device",
    "Environment",
    "EnvironmentProbeError",
    "KerasClass",
    "ProfileError",
    "get_environment",
    "load_profile",
    "save_profile",
]


def get_environment(
    python: str | None = None,
    custom_objects: Sequence[str] = (),
    profile: str | None = None,
    refresh: bool = False,
    timeout: float = 300,
    *,
    hide_devices: bool = False,
) -> Environment:
    """Snapshot of the environment to check against.

    - ``profile``: load a declared target profile (JSON) instead of probing.
    - ``python``: interpreter to probe (default: the current one).
    - ``custom_objects``: modules to import in the probe; what they register with
      Keras is reported in ``Environment.custom_objects``.
    - ``refresh``: ignore the cache and re-probe.
    - ``hide_devices``: set ``CUDA_VISIBLE_DEVICES=""`` in the probe.

    Raises :class:`EnvironmentProbeError` when the probe cannot run or crashes, and
    :class:`ProfileError` when a profile cannot be read.
    """
    if profile is not None:
        return load_profile(profile)
    if isinstance(custom_objects, str):
        custom_objects = [custom_objects]
    interpreter = resolve_python(python)
    modules = sorted(set(custom_objects))
    try:
        key = cache.fingerprint(interpreter, modules, hide_devices=hide_devices)
    except cache.FingerprintError as exc:
        raise EnvironmentProbeError(str(exc), exc.stderr) from exc
    if not refresh:
        hit = cache.load(key)
        if hit is not None:
            return hit
    started = time.monotonic()
    env = run_probe(interpreter, modules, timeout=timeout, hide_devices=hide_devices)
    env = env.model_copy(
        update={
            "fingerprint": key,
            "probe_seconds": round(time.monotonic() - started, 3),
            "source": "probe",
        }
    )
    try:
        path = cache.store(env)
    except OSError as exc:
        env.errors.append(f"could not write the environment cache: {exc}")
        return env
    return env.model_copy(update={"cache_path": str(path)})
