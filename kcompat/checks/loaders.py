"""Checks on how the target's own loader behaves, as the environment probe recorded it."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format


def compiles_anyway(env: Environment) -> bool:
    """Whether the target's load_model compiles a .h5 model even when told compile=False."""
    facts = env.loaders.get("tf_keras" if R.framework(env) == "tf_keras" else "keras") if env else None
    return bool(facts) and facts.h5_honours_compile_false is False


def h5_compile_false_ignored(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is not Format.hdf5_model or artifact.training is None or not compiles_anyway(env):
        return
    yield Hit(
        f"{R.keras_label(env)} compiles a .h5 model even when load_model is given compile=False (its load_model "
        "does not hand `compile` on to the HDF5 loader), so this file's training config (loss, metrics, "
        "optimizer) is rebuilt on every load: whatever breaks compile=True breaks compile=False too",
        location="training_config", key="compile",
        fix="Load it with a Keras that honours compile=False (3.3 or later), or save it again without its "
            "training config (model.save('model.h5', include_optimizer=False) under the Keras that wrote it)",
    )
