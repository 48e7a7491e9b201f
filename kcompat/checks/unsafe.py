"""KC701, KC702: executable content in a model config.

Keras 3 refuses a Python lambda under safe_mode in `.keras` (and `.h5` since 3.11.3,
GHSA-36rr-ww3j-vrjv / keras-team/keras#21602); Keras 2 refuses it in `.keras` and
`model_from_json` since 2.13, never in `.h5`. Keras 3 imports a config `module` only from
the `keras`, `keras_hub`, `keras_cv` and `keras_nlp` packages
(`serialization_lib._retrieve_class_or_fn`).
"""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks.base import Hit
from kcompat.checks._target import loader_major, loader_name, loader_version
from kcompat.model import Artifact, Format

KERAS_PACKAGES = ("keras", "tf_keras", "tensorflow", "keras_hub", "keras_cv", "keras_nlp", "tensorflow_text")
TRUSTED_FIX = ("Only if you trust the file: keras.saving.load_model(path, safe_mode=False) "
               "(or keras.config.enable_unsafe_deserialization() first). Safer: rebuild the model in code with a "
               "named function in place of the lambda, then load_weights.")


def _python_lambdas(artifact: Artifact) -> list[str]:
    """Paths of Lambda layers (or config entries) that hold marshalled Python bytecode."""
    found = []
    for layer in artifact.layers:
        if layer.class_name != "Lambda":
            continue
        fn = layer.config.get("function")
        keras2 = layer.config.get("function_type") == "lambda" and isinstance(fn, (list, dict, str))
        keras3 = isinstance(fn, dict) and fn.get("class_name") == "__lambda__"
        if keras2 or keras3:
            found.append(layer.path)
    if not found:  # a lambda serialized somewhere other than a Lambda layer's own config
        found = [obj.location for obj in artifact.objects if obj.class_name == "__lambda__"]
    return sorted(set(found))


def _refusal(artifact: Artifact, env) -> str | None:
    """Why this env's default load refuses a Python lambda, or None when it runs it."""
    major = loader_major(env)
    version = loader_version(env)
    fmt = artifact.format
    if major == 3:
        if fmt in (Format.keras_zip, Format.keras_dir, Format.json_config):
            return f"{loader_name(env)} refuses it under the default safe_mode=True"
        if fmt is Format.hdf5_model and version >= (3, 11):
            keras = env.versions.get("keras") or ""
            parts = [int(p) if p.isdigit() else 0 for p in keras.split(".")[:3]] + [0, 0, 0]
            if tuple(parts[:3]) >= (3, 11, 3):
                return f"{loader_name(env)} applies safe_mode to .h5 files too (since 3.11.3)"
        return None
    if major == 2 and version >= (2, 13) and fmt in (Format.keras_zip, Format.keras_dir, Format.json_config):
        return f"{loader_name(env)} refuses it under the default safe_mode=True"
    return None


def lambda_layer(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.saved_model:
        return  # Keras 3 cannot load_model a SavedModel at all; tf.saved_model.load runs the traced graph
    reason = _refusal(artifact, env)
    if reason is None:
        return
    for path in _python_lambdas(artifact):
        yield Hit(
            f"Lambda {path!r} holds a Python lambda as marshalled bytecode: {reason}, so load_model raises "
            "'Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda ...'. "
            "That refusal is right for a file you do not trust (loading runs its code); for a trusted file, "
            "the bytecode also only runs under the Python minor version that wrote it",
            location=path, fix=TRUSTED_FIX, evidence={"reason": reason}, key=path, group="lambda",
            group_message=f"{{n}} Lambda layers ({{locations}}) hold Python lambdas as marshalled bytecode: {reason}, "
                          "so load_model raises 'Requested the deserialization of a `Lambda` layer whose `function` is "
                          "a Python lambda ...' at the first; that refusal is right for a file you do not trust")


def _foreign(module: str | None) -> bool:
    if not module or not isinstance(module, str):
        return False
    return module.split(".", 1)[0] not in KERAS_PACKAGES


def foreign_module(artifact: Artifact, env) -> Iterator[Hit]:
    seen: set[tuple[str, str]] = set()
    hits = []
    for obj in artifact.objects:
        if obj.kind == "function" and obj.module == "builtins":
            continue  # what Keras writes for a plain function, resolved by name
        if _foreign(obj.module):
            hits.append((obj.location or obj.class_name, obj.module, obj.registered_name or obj.class_name))
    for layer in artifact.layers:
        if _foreign(layer.module):
            hits.append((layer.path, layer.module, layer.registered_name or layer.class_name))
        if layer.class_name == "Lambda":  # Keras 2 Lambda: function_type 'function' imports `module`
            for kind_key, module_key, fn_key in (("function_type", "module", "function"),
                                                 ("output_shape_type", "output_shape_module", "output_shape")):
                if layer.config.get(kind_key) == "function" and _foreign(layer.config.get(module_key)):
                    hits.append((f"{layer.path}.{fn_key}", layer.config[module_key], str(layer.config.get(fn_key))))
    for location, module, name in hits:
        if (module, name) in seen:
            continue
        seen.add((module, name))
        yield Hit(
            f"config names {name!r} from module {module!r}, outside the Keras packages: Keras 3 never imports it "
            "(the class must be registered or passed in custom_objects), while Keras 2 Lambda configs import it and "
            "call what they find; the file is not portable and, if untrusted, is a code-execution risk",
            location=location,
            group=f"module:{module}",
            group_message=f"config names {{n}} objects ({{locations}}) from module {module!r}, outside the Keras "
                          "packages: Keras 3 never imports it, while Keras 2 Lambda configs import it and call what "
                          "they find; the file is not portable and, if untrusted, is a code-execution risk",
            fix=(f"Trusted file: import {module.split('.')[0]!r} yourself and pass the object, e.g. "
                 f"load_model(path, custom_objects={{{name.split('>')[-1]!r}: ...}}); untrusted file: do not load it."),
            evidence={"module": module, "name": name}, key=f"{location}:{module}")


def numpy_pickle(artifact: Artifact, env) -> Iterator[Hit]:
    pickled = [a["name"] for a in artifact.notes.get("numpy", []) if a.get("object")]
    if pickled:
        yield Hit(f"{len(pickled)} NumPy array(s) with an object dtype ({', '.join(pickled[:5])}): they are pickles, so "
                  "numpy.load refuses them ('Object arrays cannot be loaded when allow_pickle=False'), and "
                  "allow_pickle=True runs whatever code the file carries",
                  location=pickled[0],
                  fix="Do not load it unless you trust its source. Re-save the arrays with a numeric dtype "
                      "(numpy.save(path, array.astype('float32'))), or as a .keras / .weights.h5 file.")
