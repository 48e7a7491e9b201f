"""KC221: a Keras 2 .h5 calls a recurrent layer with its initial state, which Keras 3 passes as more inputs."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._rewrite import layer_name, model_levels
from kcompat.checks.base import Hit, Rewrite
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


def _reference(ref) -> bool:
    return isinstance(ref, list) and len(ref) in (3, 4) and isinstance(ref[0], str) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in ref[1:3])


def _tensor(ref: list) -> dict:
    # Keras 3 revives a node's tensors from keras_history alone: the shape and dtype are placeholders it replaces
    return {"class_name": "__keras_tensor__", "config": {"shape": [None], "dtype": "float32",
                                                          "keras_history": [ref[0], ref[1], ref[2]]}}


def fix_legacy_rnn_initial_state(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """The call as Keras 3 records it: the input as the layer's argument and the states as ``initial_state``.

    Keras 3's functional loader reads a node of that form ({"args", "kwargs"}) in a legacy .h5 config too,
    reviving each tensor from the layer, node and tensor index it names.
    """
    for entry in (layer for _, _, layers in model_levels(rewrite.model) for layer in layers):
        nodes = entry.get("inbound_nodes")
        if entry.get("class_name") not in RECURRENT or not isinstance(nodes, list):
            continue
        for i, node in enumerate(nodes):
            if not (isinstance(node, list) and len(node) > 1 and all(_reference(ref) for ref in node)):
                continue
            kwargs = node[0][3] if len(node[0]) == 4 and isinstance(node[0][3], dict) else {}
            nodes[i] = {"args": [_tensor(node[0])], "kwargs": {**kwargs, "initial_state": [_tensor(r) for r in node[1:]]}}
            rewrite.change(f"{entry['class_name']} '{layer_name(entry)}': called on its input with initial_state="
                           f"[{', '.join(r[0] + '[' + str(r[2]) + ']' for r in node[1:])}], as Keras 3 records the call")
