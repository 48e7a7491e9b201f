"""KC219: an adapted StringLookup, IntegerLookup or TextVectorization in an .h5, read by tf.keras / tf_keras."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

LOOKUPS = {"StringLookup", "IntegerLookup", "TextVectorization"}

FIX = ("Save the model from the code that built it as .keras or as a SavedModel, which keep the lookup table; or give "
       "the layer its vocabulary in the constructor (StringLookup(vocabulary=adapted.get_vocabulary())) before "
       "saving to .h5")


def h5_adapted_lookup(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 2 or artifact.format is not Format.hdf5_model or artifact.keras_major == 3:
        return  # Keras 3 saves such a layer to .h5 whole (it loads in Keras 3); tf_keras refuses the file for its InputLayer
    for layer in artifact.layers:
        # An adapted layer writes "vocabulary": null; one given a vocabulary writes the list, and
        # builds a table from it that the load rebuilds too (a StringLookup(vocabulary=[...]) .h5 loads).
        if layer.class_name not in LOOKUPS or "vocabulary" not in layer.config or layer.config["vocabulary"] is not None:
            continue
        yield Hit(f"{layer.class_name} '{layer.name}' was adapted (its config holds no vocabulary), so its vocabulary "
                  f"lives in a lookup table, not in a tf.Variable: {R.keras_label(env)} cannot restore it from HDF5, "
                  "and load_model raises \"NotImplementedError: Save or restore weights that is not an instance of "
                  "`tf.Variable` is not supported in h5\". Saving it to .h5 raises the same, so this file is what an "
                  "interrupted save left behind",
                  location=layer.path, fix=FIX, evidence={"layer": layer.class_name})
