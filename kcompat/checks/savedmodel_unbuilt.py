"""KC226: a Keras 2.5 SavedModel's random augmentation layer, which a later Keras 2 rebuilds but cannot build."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit, saved_model_facts
from kcompat.checks.savedmodel_lookup import SERVE
from kcompat.env.model import Environment
from kcompat.model import Artifact

# tf_keras's BaseRandomLayer subclasses: their build() is their own, so a rebuilt one is built only from a shape
RANDOM_LAYERS = {"RandomCrop", "RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom", "RandomContrast",
                 "RandomBrightness", "RandomHeight", "RandomWidth"}

FIX = (SERVE + "# to keep it a Keras model: rebuild the architecture in code (augmentation layers hold no weights) and\n"
       "# copy the weights over from the loaded SavedModel's variables, then save it again")


def savedmodel_unbuilt_random_layer(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or R.keras_major(env) != 2:
        return  # Keras 3 does not rebuild SavedModels at all (KC204)
    paths = [p for p in facts.unbuilt_restored_layers if facts.keras_metadata_classes.get(p) in RANDOM_LAYERS]
    if not paths:
        return
    classes = sorted({facts.keras_metadata_classes[p] for p in paths})
    first = paths[0].removeprefix("root.")
    yield Hit(f"{len(paths)} augmentation layer(s) ({', '.join(classes)}) must be rebuilt from their config, which "
              f"Keras {artifact.keras_version or '2.5'} saved with no build_input_shape and no traced call: "
              f"{R.keras_label(env)} cannot build them, keeps a placeholder instead, and load_model raises \"Cannot "
              f"call custom layer ... because the call function was not serialized to the SavedModel\" at "
              f"'{first}' (tf.saved_model.load, which rebuilds no Keras layer, loads it)",
              location=first, fix=FIX, evidence={"layers": [p.removeprefix("root.") for p in paths]})
