"""KC214-KC216: what Keras 3 minor releases read differently (folders, node numbering, Bidirectional)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks._target import loader_major, loader_name, loader_version
from kcompat.checks.base import Hit
from kcompat.checks._rewrite import model_levels, node_name
from kcompat.checks.versions import KERAS_READ_FORMATS
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format


# --- KC214 ----------------------------------------------------------------------------------------

# keras.saving.load_model reads a folder holding config.json as an unzipped .keras from Keras 3.6, the release
# that added model.save(..., zipped=False) (keras/src/saving/saving_api.py, is_keras_dir). Before it the
# folder is "File format not supported"; Keras 2 and tf_keras take any folder for a SavedModel.
KERAS_DIR_SINCE = (3, 6)


def keras_dir_unsupported(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is not Format.keras_dir:
        return
    major, version, label = loader_major(env), loader_version(env), loader_name(env)
    if major == 2:
        why = ("Keras 2 load_model takes any folder for a SavedModel and fails with 'SavedModel file does not "
               "exist at: <folder>/{saved_model.pbtxt|saved_model.pb}'")
        fix = ("Load it with Keras >= 3.6: keras.saving.load_model(path); Keras 2 and tf_keras cannot read a "
               "Keras 3 .keras in any form")
    elif major == 3 and version < KERAS_DIR_SINCE:
        why = ("Keras 3 reads an unzipped .keras folder from 3.6 on; before that load_model says 'File format not "
               "supported: ... Keras 3 only supports V3 `.keras` files and legacy H5 format files'")
        fix = (f"python -c \"import shutil, os; shutil.make_archive('model', 'zip', '{artifact.path}'); "
               "os.replace('model.zip', 'model.keras')\"  # then keras.saving.load_model('model.keras')")
    else:
        return
    yield Hit(f"an unzipped .keras folder given to {label}: {why}", fix=fix,
              evidence={"target": label, "reads_folders_since": ".".join(map(str, KERAS_DIR_SINCE))})


# --- KC215 ----------------------------------------------------------------------------------------

# From Keras 3.3 a Functional model starts out with a node of its own, so the configs it writes call a nested
# Functional through node index n + 1 for its n-th call, and functional_from_config subtracts one again
# ("Functional models start out with a built-in node", keras/src/models/functional.py). Keras 3.0-3.2 index
# the nested model's call nodes as written: layer._inbound_nodes[node_index] raises IndexError.
FUNCTIONAL_OWN_NODE_SINCE = (3, 3)


def _histories(value: Any) -> Iterator[list]:
    """The keras_history triples anywhere in a Keras 3 node's args or kwargs."""
    if isinstance(value, dict):
        history = (value.get("config") or {}).get("keras_history") if value.get("class_name") == "__keras_tensor__" else None
        if isinstance(history, list):
            yield history
        for item in value.values():
            yield from _histories(item)
    elif isinstance(value, list):
        for item in value:
            yield from _histories(item)


def _outputs(refs: Any) -> list:
    """output_layers: one [name, node, tensor] triple, a list of them, or a dict of them."""
    if isinstance(refs, dict):
        return list(refs.values())
    if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
        return [refs]
    return refs if isinstance(refs, list) else []


def _functional_refs_past_calls(config: Any) -> Iterator[tuple[str, str, int, int]]:
    """(where, nested Functional, node index, its calls) for references no Keras 3.0-3.2 node answers."""
    for path, inner, layers in model_levels(config):
        calls = {node_name(layer): len(layer.get("inbound_nodes") or [])
                 for layer in layers if layer.get("class_name") in ("Functional", "Model")}
        refs = [(f"{path}{layer.get('name')}", ref) for layer in layers
                for node in layer.get("inbound_nodes") or [] if isinstance(node, dict) for ref in _histories(node)]
        refs += [(f"{path}output_layers", ref) for ref in _outputs(inner.get("output_layers"))]
        for where, ref in refs:
            if (isinstance(ref, list) and len(ref) >= 2 and ref[0] in calls and isinstance(ref[1], int)
                    and ref[1] >= calls[ref[0]]):
                yield where, ref[0], ref[1], calls[ref[0]]


def nested_functional_node_index(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if (loader_major(env) != 3 or loader_version(env) >= FUNCTIONAL_OWN_NODE_SINCE or artifact.keras_major != 3
            or artifact.format not in KERAS_READ_FORMATS or not artifact.config):
        return
    late = list(_functional_refs_past_calls(artifact.config))
    if not late:
        return
    where, name, index, calls = late[0]
    yield Hit(
        f"the config calls nested Functional model(s) {', '.join(sorted({n for _, n, _, _ in late}))} through node "
        f"index {index}, past its {calls} call(s): Keras 3.3 and later count a Functional's own construction as "
        f"node 0 and write n + 1 for its n-th call, {loader_name(env)} does not, and load_model fails with "
        "'IndexError: list index out of range'",
        location=where,
        fix="Load it with Keras >= 3.3, or lower each nested-Functional node index by one in config.json "
            "(model_config for .h5)",
        evidence={"references": [{"at": w, "model": n, "node_index": i, "calls": c} for w, n, i, c in late]},
    )


# --- KC216 ----------------------------------------------------------------------------------------

# Keras 3.0-3.2's Bidirectional is a Wrapper: besides its forward and backward copies it keeps the wrapped
# layer as `self.layer`, which it deserializes from config["layer"] and, that config carrying a build_config,
# builds; its variables join the layer's weights, which no saved file holds (Keras 3.3 made Bidirectional
# a plain Layer). tensorflow/tensorflow#64391: Keras 3.0.5 does not reload its own Bidirectional either.
BIDIRECTIONAL_FIXED_IN = (3, 3)
WEIGHT_FORMATS = (Format.hdf5_model, Format.keras_zip, Format.keras_dir)


def bidirectional_extra_weights(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if (loader_major(env) != 3 or loader_version(env) >= BIDIRECTIONAL_FIXED_IN or artifact.keras_major != 3
            or artifact.format not in WEIGHT_FORMATS):
        return
    layers = [layer for layer in artifact.layers if layer.class_name == "Bidirectional"
              and isinstance(layer.config.get("layer"), dict) and "build_config" in layer.config["layer"]]
    if not layers:
        return
    raised = ("'Weight count mismatch for layer ... Layer expects 3n weight(s). Received 2n saved weight(s)'"
              if artifact.format is Format.hdf5_model else
              "'A total of N objects could not be loaded ... expected 3 variables, but received 0 variables'")
    yield Hit(
        f"{len(layers)} Bidirectional layer(s) ({', '.join(layer.path for layer in layers)}): {loader_name(env)}'s "
        "Bidirectional also builds the wrapped layer it is configured with, beside its forward and backward copies, "
        f"and expects weights for it that the file does not hold: load_model fails with {raised}",
        location=layers[0].path,
        fix="Load it with Keras >= 3.3 (pip install 'keras>=3.3'); Keras 3.0-3.2 cannot reload a Bidirectional "
            "layer, even one they saved",
        evidence={"layers": [layer.path for layer in layers]},
    )
