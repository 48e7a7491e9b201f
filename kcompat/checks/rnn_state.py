"""KC221: a Keras 2 .h5 calls a recurrent layer with its initial state, which Keras 3 passes as more inputs."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._rewrite import layer_name, model_levels
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

# Keras 2 records lstm(x, initial_state=[h, c]) as one node of three inbound tensors; Keras 3's legacy
# deserialize_node hands them to the layer as one list, which a recurrent layer takes as its input.
RECURRENT = {"LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}


def legacy_rnn_initial_state(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 3 or artifact.format is not Format.hdf5_model or artifact.keras_major == 3:
        return
    for entry in (layer for _, _, layers in model_levels(artifact.config) for layer in layers):
        nodes = entry.get("inbound_nodes")
        if entry.get("class_name") not in RECURRENT or not isinstance(nodes, list):
            continue
        widest = max((len(n) for n in nodes if isinstance(n, list)), default=0)
        if widest < 2:
            continue
        name = layer_name(entry)
        yield Hit(f"{entry['class_name']} '{name}' is called with {widest} tensors, its input and its initial state "
                  f"(Keras 2 records lstm(x, initial_state=[h, c]) so): {R.keras_label(env)}'s legacy loader passes "
                  f"all of them as the layer's input, and load_model raises \"Layer \"{name}\" expects 1 input(s), "
                  f"but it received {widest} input tensors\"",
                  location=name, key=name,
                  fix="Load it with tf_keras (tf_keras.models.load_model(path)), or rebuild the model in code with "
                      "Keras 3 and load the weights with model.load_weights(path)",
                  evidence={"layer": name, "inbound_tensors": widest})
