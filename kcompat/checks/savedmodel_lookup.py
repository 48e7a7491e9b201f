"""KC223: a Keras <= 2.5 SavedModel's adapted lookup table, under the name Keras 2.6+ no longer gives it."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit, saved_model_facts
from kcompat.checks.lookup_tables import LOOKUPS
from kcompat.env.model import Environment
from kcompat.model import Artifact

OLD_TABLE = "/_table/.ATTRIBUTES/table-keys"  # Keras <= 2.5; Keras 2.6+ tracks it as lookup_table

SERVE = ("loaded = tf.saved_model.load(path)  # serves it without rebuilding the Keras layers\n"
         "# or, in Keras 3: keras.layers.TFSMLayer(path, call_endpoint='serving_default')\n")
FIX = (SERVE + "# to keep it a Keras model: in TF <= 2.5 read layer.get_vocabulary() and rebuild the layer with\n"
       "# StringLookup(vocabulary=vocab) in a current Keras, then save it again")


def savedmodel_legacy_lookup_table(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or not (facts.has_keras_metadata or facts.keras_metadata_classes) or R.keras_major(env) != 2:
        return  # Keras 3 does not rebuild SavedModels at all (KC204)
    classes = facts.keras_metadata_classes
    for key in artifact.checkpoint_keys:
        if not key.endswith(OLD_TABLE):
            continue
        owner = key[: -len(OLD_TABLE)].split("/")
        # the layer holding the table, or the TextVectorization whose inner lookup layer holds it
        paths = [".".join(["root", *owner[:n]]) for n in (len(owner), len(owner) - 1) if n > 0]
        found = next(((p, classes[p]) for p in paths if classes.get(p) in LOOKUPS), None)
        if found is None:
            continue
        path, class_name = found
        yield Hit(f"{class_name} '{path.removeprefix('root.')}' was adapted and saved by Keras "
                  f"{artifact.keras_version or '<= 2.5'}, which checkpointed its lookup table as '_table'; "
                  f"{R.keras_label(env)} rebuilds the layer with a table named 'lookup_table', finds no value for it, "
                  "and load_model raises \"AssertionError: Found 1 Python objects that were not bound to checkpointed "
                  "values ... MutableHashTable\" (tf.saved_model.load, which rebuilds no Keras layer, loads it)",
                  location=key.removesuffix("/.ATTRIBUTES/table-keys"), fix=FIX,
                  evidence={"layer": class_name, "checkpoint_key": key})
