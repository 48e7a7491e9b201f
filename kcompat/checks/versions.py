"""KC2xx: the versions that wrote an artifact against the versions that must read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kcompat.checks import _marshal
from kcompat.checks import _resolve as R
from kcompat.checks._rewrite import model_levels, node_name
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

CONFIG_FORMATS = (Format.hdf5_model, Format.keras_zip, Format.keras_dir, Format.saved_model, Format.json_config)
TF_KERAS_FIX = "pip install tf_keras && TF_USE_LEGACY_KERAS=1 python your_script.py  # then tf_keras.models.load_model(path)"


def _artifact_major(artifact: Artifact) -> int | None:
    if artifact.keras_major is not None:
        return artifact.keras_major
    version = R.version_tuple(artifact.keras_version)
    return version[0] if version else None


def keras_major_mismatch(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    saved, target = _artifact_major(artifact), R.keras_major(env)
    if artifact.format not in CONFIG_FORMATS or saved not in (2, 3) or target is None or saved == target:
        return
    label = R.keras_label(env)
    evidence = {"saved_by": artifact.keras_version, "target": label, "format": artifact.format.value}
    fmt = artifact.format
    if saved == 2 and fmt is Format.hdf5_model:
        yield Hit(f"saved by Keras {artifact.keras_version}, loaded by {label}: Keras 3 reads a Keras 2 HDF5 model with "
                  "its legacy H5 loader, which translates the common configs (batch_input_shape, Lambda) but not "
                  "every argument, custom object or optimizer; expect the KC3xx/KC4xx findings to decide it",
                  fix="keras.saving.load_model(path, compile=False); if a layer still fails, load under "
                      "Keras 2 (" + TF_KERAS_FIX + ") and re-save as .keras",
                  evidence=evidence, key="h5-2to3")
    elif saved == 2 and fmt in (Format.keras_zip, Format.keras_dir):
        yield Hit(f".keras file saved by Keras {artifact.keras_version}, loaded by {label}: Keras 3 cannot read the "
                  "Keras 2 .keras config (it names Keras 2 internal modules and arguments)",
                  fix=TF_KERAS_FIX + "; or rebuild the architecture in Keras 3 code and model.load_weights(...)",
                  evidence=evidence, key="keras-2to3")
    elif saved == 2 and fmt is Format.saved_model:
        yield Hit(f"Keras 2 SavedModel (keras {artifact.keras_version}) given to {label}: Keras 3 load_model cannot "
                  "read SavedModels at all",
                  fix="keras.layers.TFSMLayer(path, call_endpoint='serving_default') for inference, or "
                      + TF_KERAS_FIX,
                  evidence=evidence, key="sm-2to3")
    elif saved == 2 and fmt is Format.json_config:
        yield Hit(f"model JSON written by Keras {artifact.keras_version}, read by {label}: model_from_json reads it "
                  "through the legacy config path; arguments Keras 3 dropped will be rejected",
                  fix="keras.models.model_from_json(text); on failure rebuild the model in Keras 3 code",
                  evidence=evidence, key="json-2to3")
    elif saved == 3 and fmt in (Format.keras_zip, Format.keras_dir):
        yield Hit(f".keras file saved by Keras {artifact.keras_version}, loaded by {label}: tf_keras/Keras 2 cannot "
                  "read a Keras 3 .keras config (it fails on keras.src.models.functional)",
                  fix="Load it with Keras 3 (unset TF_USE_LEGACY_KERAS; pip install 'keras>=3'), or rebuild the "
                      "model in Keras 2 code and load only the weights",
                  evidence=evidence, key="keras-3to2")
    elif saved == 3:
        yield Hit(f"{fmt.value} saved by Keras {artifact.keras_version}, loaded by {label}: Keras 2 reads it only "
                  "where the Keras 3 configs still match Keras 2 (batch_shape, DTypePolicy dtypes do not)",
                  fix="Load it with Keras 3 (unset TF_USE_LEGACY_KERAS; pip install 'keras>=3')",
                  evidence=evidence, key=f"{fmt.value}-3to2")


def saved_by_newer(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    saved, installed = R.version_tuple(artifact.keras_version), R.version_tuple(R.keras_version(env))
    if saved and installed and saved[0] == installed[0] and saved[:2] > installed[:2]:
        yield Hit(f"saved by Keras {artifact.keras_version}, newer than the installed {R.keras_label(env)}: "
                  "configs may carry arguments and classes this Keras does not know",
                  fix=f"pip install 'keras>={'.'.join(map(str, saved[:2]))}'  # or tf_keras/tensorflow of that "
                      "version; or re-save the model from the newer Keras in a format the older one reads",
                  evidence={"saved_by": artifact.keras_version, "installed": R.keras_version(env)}, key="keras")
    tf_saved = R.version_tuple(artifact.tensorflow_version)
    tf_installed = R.version_tuple(env.versions.get("tensorflow"))
    if tf_saved and tf_installed and tf_saved[:2] > tf_installed[:2]:
        yield Hit(f"saved by TensorFlow {artifact.tensorflow_version}, newer than the installed "
                  f"{env.versions.get('tensorflow')}: its graph may use ops or attrs this runtime lacks",
                  fix=f"pip install 'tensorflow>={'.'.join(map(str, tf_saved[:2]))}'",
                  evidence={"saved_by": artifact.tensorflow_version, "installed": env.versions.get("tensorflow")},
                  key="tensorflow")


def keras_internal_module(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    # Only the module-aware loaders (.keras, model_from_json) import the module a config names;
    # the legacy H5 and SavedModel paths look classes up by class_name alone.
    if artifact.format not in (Format.keras_zip, Format.keras_dir, Format.json_config):
        return
    existing, api = R.existing_modules(env), R.public_api(env)
    missing: dict[str, list[str]] = {}
    classes: dict[str, str] = {}
    for ref in artifact.objects:
        module = ref.module
        if (not module or ref.class_name in R.POLICY_CLASSES or R.is_special(ref.class_name)
                or "optimizer" in (ref.location or "")):  # optimizers are KC4xx's
            continue
        norm = R.normalise_module(module)
        if norm.split(".")[0] != "keras" or norm in existing or f"{norm}.{ref.class_name}" in api:
            continue
        missing.setdefault(module, []).append(ref.location or "<model>")
        classes.setdefault(module, ref.class_name)
    prefix = "tf_keras" if R.framework(env) == "tf_keras" else "keras"
    for module, locations in missing.items():
        shown = prefix + module[len("keras"):] if prefix == "tf_keras" else module
        if prefix == "keras" and module.startswith("tf_keras"):  # Keras 3 never imports tf_keras modules
            says = f"Could not locate class '{classes[module]}'"
        else:
            says = f"Could not deserialize class '{classes[module]}' because its parent module {shown} cannot be imported"
        yield Hit(f"the config names module {module!r} (class {classes[module]}), which does not exist in "
                  f"{R.keras_label(env)}: loading fails with \"{says}\"",
                  location=locations[0],
                  fix="Load under the Keras major that saved it (Keras 2: TF_USE_LEGACY_KERAS=1 with tf_keras; "
                      "Keras 3: keras>=3), or rebuild the architecture in code and model.load_weights(path)",
                  evidence={"module": module, "locations": locations[:20]}, key=module)


def savedmodel_keras3(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is not Format.saved_model or R.framework(env) != "keras" or R.keras_major(env) != 3:
        return
    keras2 = artifact.saved_model is not None and artifact.saved_model.has_keras_metadata
    yield Hit(f"a SavedModel directory: {R.keras_label(env)} load_model rejects it with 'File format not supported "
              "… legacy SavedModel format is not supported by load_model() in Keras 3'",
              fix=f"layer = keras.layers.TFSMLayer({artifact.path!r}, call_endpoint='serving_default')  "
                  "# inference only" + ("; or, for the full Keras 2 model: " + TF_KERAS_FIX if keras2 else ""),
              evidence={"keras_metadata": keras2})


def _attr_type(artifact: Artifact) -> str | None:
    return artifact.notes.get("keras_version_attr_type")


def h5py3_old_keras(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format not in (Format.hdf5_model, Format.hdf5_weights):
        return
    h5py = R.version_tuple(env.versions.get("h5py"))
    tf = R.version_tuple(env.versions.get("tensorflow"))
    keras = R.version_tuple(env.versions.get("keras"))
    old = (tf is not None and tf[:2] < (2, 4)) or (tf is None and keras is not None and keras[:2] < (2, 4))
    if not h5py or h5py[0] < 3 or not old:
        return
    stored = _attr_type(artifact)
    # h5py >= 3 returns variable-length string attributes as str, and old Keras calls .decode on them.
    # Fixed-length (bytes_) attributes, as h5py 2 wrote them, come back as bytes and still decode.
    if stored in ("bytes_", "bytes"):
        return
    yield Hit(f"h5py {env.versions.get('h5py')} with TensorFlow/Keras {env.versions.get('tensorflow') or env.versions.get('keras')}"
              f" (< 2.4): h5py 3 reads this file's string attributes as str ({stored or 'str'}), and the old loader "
              "calls .decode on them: AttributeError: 'str' object has no attribute 'decode'",
              fix="pip install 'h5py<3'  # or upgrade: pip install 'tensorflow>=2.4'",
              evidence={"h5py": env.versions.get("h5py"), "attr_type": stored})


def _lambda_payloads(config: dict[str, Any]) -> list[str]:
    function = config.get("function")
    if isinstance(function, dict) and function.get("class_name") == "__lambda__":
        inner = function.get("config")
        code = inner.get("code") if isinstance(inner, dict) else None
        return [code] if isinstance(code, str) else []
    if isinstance(function, (list, tuple)) and function and isinstance(function[0], str):
        return [function[0]]
    if isinstance(function, str) and config.get("function_type") == "lambda":
        return [function]
    return []


def lambda_python_version(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    target = ".".join(env.python.split(".")[:2]) if env.python else None
    if not target:
        return
    for layer in artifact.layers:
        if layer.class_name != "Lambda":
            continue
        for payload in _lambda_payloads(layer.config):
            data = _marshal.decode(payload)
            versions = _marshal.writer_versions(data) if data else None
            if versions is None:
                yield Hit(f"Lambda '{layer.name}' holds bytes that are not a marshalled code object of any known "
                          f"Python layout; Python {target} will fail with 'bad marshal data'",
                          location=layer.path,
                          fix="Rebuild the Lambda in code: replace it with the Python function, then "
                              "model.load_weights(path); or re-save with a named, registered function",
                          evidence={"target_python": target}, key=layer.path, group="not-marshal",
                          group_message=f"{{n}} Lambda layers ({{locations}}) hold bytes that are not a marshalled "
                                        f"code object of any known Python layout; Python {target} will fail with "
                                        "'bad marshal data'")
            elif target not in versions:
                yield Hit(f"Lambda '{layer.name}' bytecode was written by Python {_marshal.describe(versions)} "
                          f"(inferred from its marshal layout), the target is Python {target}: loading fails with "
                          "'bad marshal data' / 'unknown opcode', or runs the wrong code",
                          location=layer.path,
                          group=f"python:{_marshal.describe(versions)}",
                          group_message=f"{{n}} Lambda layers ({{locations}}) hold bytecode written by Python "
                                        f"{_marshal.describe(versions)}, the target is Python {target}: loading fails "
                                        "with 'bad marshal data' / 'unknown opcode', or runs the wrong code",
                          fix=f"Load under Python {_marshal.describe(versions)}; or define the function in code and "
                              "pass it in: keras.layers.Lambda(my_fn) rebuilt, then model.load_weights(path); or "
                              "replace the Lambda with a registered custom layer",
                          evidence={"writer_python": versions, "target_python": target}, key=layer.path)



def late_nested_refs(config: Any, outputs_shifted: bool = False) -> Iterator[tuple[str, list]]:
    """(where, the reference itself) for legacy list-style references to a nested model's node >= 1.
    ``outputs_shifted``: the reader lowers a model output's node index on a nested Functional itself."""
    for path, inner, layers in model_levels(config):
        nested = {node_name(layer) for layer in layers if layer.get("class_name") in R.MODEL_CLASSES}
        refs = [(f"{path}{layer.get('name')}", ref) for layer in layers for node in layer.get("inbound_nodes") or []
                if isinstance(node, list) for ref in node]
        sequential = {node_name(layer) for layer in layers if layer.get("class_name") == "Sequential"}
        refs += [(f"{path}output_layers", ref) for ref in inner.get("output_layers") or []
                 if not outputs_shifted or (isinstance(ref, list) and ref and ref[0] in sequential)]
        for where, ref in refs:
            if isinstance(ref, list) and len(ref) >= 2 and ref[0] in nested and isinstance(ref[1], int) and ref[1] >= 1:
                yield where, ref


KERAS_READ_FORMATS = {Format.hdf5_model, Format.keras_zip, Format.keras_dir, Format.json_config}


def outputs_shifted(env: Environment) -> bool:
    """Keras 3.3+ functional_from_config takes one from a model output's node index on a nested Functional
    ("Functional models start out with a built-in node"; not in 3.0.5-3.2.1); a layer's inputs get no such help."""
    return R.keras_at_least(env, (3, 3))


def legacy_nested_node_index(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    # Keras 3 numbers the nodes it writes itself; only Keras 2 configs read by Keras 3 are off by one.
    if R.keras_major(env) != 3 or artifact.keras_major == 3 or artifact.format not in KERAS_READ_FORMATS or not artifact.config:
        return
    late = [(where, ref[0], ref[1]) for where, ref in late_nested_refs(artifact.config, outputs_shifted(env))]
    if not late:
        return
    names = sorted({name for _, name, _ in late})
    yield Hit(
        f"the Keras 2 config calls nested model(s) {', '.join(names)} through node index "
        f"{max(i for _, _, i in late)}: Keras 2 counts a nested model's own construction as node 0, "
        f"{R.keras_label(env)} does not, so its legacy loader fails with 'Invalid Functional model "
        "configuration. The graph of the Functional model either has loops or disconnected nodes', or, in the "
        "Keras 3 releases whose functional_from_config has no progress check, never returns"
        + ("; as a model output, with 'IndexError: list index out of range'" if any(
            w.endswith("output_layers") for w, _, _ in late) else ""),
        location=late[0][0],
        fix="Load it with tf_keras (os.environ['TF_USE_LEGACY_KERAS'] = '1'; import tf_keras; "
            "tf_keras.models.load_model(path)) and rebuild in Keras 3 with the weights, or lower each nested-model "
            "node index by one in the model_config attribute",
        evidence={"references": [{"at": w, "model": n, "node_index": i} for w, n, i in late]},
    )


def savedmodel_no_keras_metadata(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    sm = artifact.saved_model
    # tf_keras reads Keras objects' configs from keras_metadata.pb, or from older SavedModels' inline
    # metadata; objects that have neither make it raise (tf_keras/src/saving/legacy/saved_model/load.py).
    if (artifact.format is not Format.saved_model or sm is None or sm.has_keras_metadata
            or not sm.bare_keras_objects or R.keras_major(env) != 2):
        return
    yield Hit(
        f"SavedModel with {sm.bare_keras_objects} Keras object(s) but no keras_metadata.pb (a Keras model saved "
        f"with tf.saved_model.save): {R.keras_label(env)} load_model cannot rebuild them and fails "
        "with 'Unable to create a TF-Keras model from SavedModel ... lacks the TF-Keras metadata file'",
        location="keras_metadata.pb",
        fix="loaded = tf.saved_model.load(path); outputs = loaded.signatures['serving_default'](**inputs)",
    )


def savedmodel_tf1(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    sm = artifact.saved_model
    # tf_keras reads the root of the object graph (object_graph_def.nodes[0]) before anything else, so a
    # SavedModel with no object graph raises IndexError (tf_keras/src/saving/legacy/saved_model/load.py).
    if (artifact.format is not Format.saved_model or sm is None or sm.object_graph_nodes
            or not sm.signatures and not sm.ops or R.keras_major(env) != 2):
        return
    version = f" (saved by TF {sm.tensorflow_version})" if sm.tensorflow_version else ""
    yield Hit(
        f"a TF1 SavedModel with no object graph{version}, as SavedModelBuilder and Estimator exports write: "
        f"{R.keras_label(env)} load_model fails with 'IndexError: list index out of range'; "
        "tf.saved_model.load and TF Serving load it",
        location="saved_model.pb",
        fix="loaded = tf.saved_model.load(path); outputs = loaded.signatures['serving_default'](**inputs)",
    )


def _list_sequentials(obj, path: str = "") -> Iterator[str]:
    """Paths of Sequential models whose config is a bare list of layers (Keras 1 to 2.2.x)."""
    if isinstance(obj, dict):
        config = obj.get("config")
        here = path
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            here = f"{path}/{config['name']}" if path else config["name"]
        if obj.get("class_name") == "Sequential" and isinstance(config, list):
            yield path or "model"
        children = config if isinstance(config, list) else (config or {}).get("layers") if isinstance(config, dict) else None
        for child in children or []:
            yield from _list_sequentials(child, here)


def sequential_list_config(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    # Keras 3 reads a Sequential config as a dict ({"name", "layers"}); Keras before 2.2.3 wrote a bare list.
    if R.keras_major(env) != 3 or not isinstance(artifact.config, dict):
        return
    paths = list(_list_sequentials(artifact.config))
    if not paths:
        return
    raises = ("model_from_json raises \"TypeError: Expected 'config' to be a dict for Sequential\""
              if artifact.format is Format.json_config else
              "load_model raises 'TypeError: pop expected at most 1 argument, got 2'")
    yield Hit(
        f"Sequential model config written as a bare list of layers, as Keras {artifact.keras_version or '1.x-2.2'} "
        f"did: {R.keras_label(env)} cannot rebuild it; {raises}",
        location=paths[0], evidence={"paths": paths},
        fix="Load it with Keras 2 (pip install tf_keras; tf_keras.models.load_model(path)) and rebuild or re-save "
            "it there, or wrap the list: config['config'] = {'name': 'sequential', 'layers': config['config']}",
    )


def json_config_keras2(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    config = artifact.config
    # Keras 3's model_from_json resolves the top-level class through its `module`, which Keras 2's
    # to_json() never wrote; its .h5 loader has a legacy path for Keras 2 configs, model_from_json has not.
    if (artifact.format is not Format.json_config or R.keras_major(env) != 3 or not isinstance(config, dict)
            or config.get("module") or artifact.keras_major == 3 or isinstance(config.get("config"), list)
            or any(p.kind == "config-without-wrapper" for p in artifact.problems)):
        return
    yield Hit(
        f"a Keras {artifact.keras_version or '2'} model.to_json() config (no 'module' keys): {R.keras_label(env)} "
        f"model_from_json raises \"TypeError: Could not locate class '{config.get('class_name')}'\"",
        location="class_name",
        fix="model = tf_keras.models.model_from_json(open(path).read())   # pip install tf_keras; "
            "or load the Keras 2 .h5 saved with it: keras.saving.load_model('model.h5') reads Keras 2 configs",
    )


