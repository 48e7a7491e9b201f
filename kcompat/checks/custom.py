"""KC301: classes and functions in a config that the target Keras cannot resolve."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._operations import owned_by_kc218
from kcompat.checks.loaders import compiles_anyway
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import KERAS_METADATA_NODE, Artifact, Format, ObjectRef

# Keras 2 revives a SavedModel's layers without their classes, but with compile=True it rebuilds the
# metric objects of keras_metadata.pb from their configs ("Unable to restore custom object of class
# 'MyMetric' (type _tf_keras_metric)"); Keras 3's load_model does not read SavedModels (KC204).
# Legacy-backend files are KC501's.
METRICS_ONLY = (Format.saved_model,)


def unresolved_objects(artifact: Artifact, env: Environment) -> list[ObjectRef]:
    seen: set[tuple[str, str]] = set()
    out: list[ObjectRef] = []
    for ref in artifact.objects:
        name = ref.class_name
        if (not name or R.is_special(name) or name in R.POLICY_CLASSES or name == "function"
                or "optimizer" in ref.location or (ref.location, name) in seen):
            continue  # optimizers are KC401's, dtype policies KC504's
        seen.add((ref.location, name))
        if not R.resolvable(env, ref):
            out.append(ref)
    return out


def _snippet(refs: list[ObjectRef]) -> str:
    keys = list(dict.fromkeys(R.lookup_key(r) for r in refs))
    body = ", ".join(f'"{k}": {k.split(">")[-1]}' for k in keys)
    packages = sorted({k.split(">")[0] for k in keys if ">" in k})
    register = (f"; or decorate each class/function with @keras.saving.register_keras_serializable(package="
                f"{packages[0]!r}) and import its module before loading") if packages else (
        "; or decorate each with @keras.saving.register_keras_serializable() and import it before loading")
    return (f"model = keras.saving.load_model(path, custom_objects={{{body}}})  "
            f"# import these from the code that defined them{register}")


def custom_object_unresolved(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.keras_major == 1 or (artifact.backend or "") in ("theano", "cntk"):
        return
    owned = owned_by_kc218(artifact, env)  # Keras 3 operations saved into an .h5 are KC218's
    refs = [r for r in unresolved_objects(artifact, env) if r.location not in owned]
    if artifact.format in METRICS_ONLY:
        if R.keras_major(env) != 2:
            return
        # compile=True only: compile=False leaves the metrics alone
        yield from _hits(artifact, env, [r for r in refs if r.location.startswith(KERAS_METADATA_NODE)], ["keras"])
        yield from _text_functions(artifact, env)
        return
    if artifact.format in (Format.keras_zip, Format.keras_dir):
        # load_model rebuilds compile_config only with compile=True (compile_from_config raises "Could not
        # locate function 'Custom>stock_return_loss'"); compile=False loads (a real Keras 3.10 .keras in 3.15.1)
        # one finding for all of them: load_model(compile=True) needs every name at once
        yield from _hits(artifact, env, refs, None, compile_only=lambda r: r.location.startswith("compile_config"))
        return
    if artifact.format is not Format.hdf5_model:
        yield from _hits(artifact, env, refs, None)
        return
    compiling = [r for r in refs if r.location.startswith("training_config")]
    yield from _hits(artifact, env, [r for r in refs if not r.location.startswith("training_config")], None)
    if not compiling:
        return
    if R.keras_major(env) == 3:
        # A loss named by a bare string is KC404's under Keras 3 (it deserializes names its own way).
        compiling = [r for r in compiling if not (r.kind == "string" and r.location.startswith("training_config.loss"))]
        if not compiling:
            return
        # Keras 3's legacy HDF5 compile hands a loss or metric it cannot find back as its name, and compile()
        # resolves names only when it builds: load_model(compile=True) succeeds with no loss (Keras 3.15.1,
        # a tf_keras 'Custom>FocalLoss'), and evaluate raises "No loss to compute".
        yield from _hits(artifact, env, compiling, [], severity="warning", after=(
            f"; {R.keras_label(env)}'s .h5 loader keeps it as a bare name and the load succeeds, but compile() resolves "
            "names only when fit or evaluate build the loss and metrics, and they fail then (a lost loss: \"No loss "
            "to compute\")"))
    else:
        yield from _hits(artifact, env, compiling, None if compiles_anyway(env) else ["keras"])


TEXT_BUILT_INS = {"standardize": ("lower_and_strip_punctuation", "lower", "strip_punctuation"),
                  "split": ("whitespace", "character")}


def _text_functions(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """tf_keras rebuilds a SavedModel's built-in layers from their configs; TextVectorization.from_config looks a
    standardize or split that is not built in up by its bare name with no module to search, so an unregistered
    one raises "AttributeError: 'NoneType' object has no attribute 'get'" (a real tf.keras 2.15 sentiment model
    with the tutorials' custom_standardization, in tf_keras 2.21)."""
    known = R.custom_names(env)
    for layer in artifact.layers:
        if layer.class_name != "TextVectorization":
            continue
        for key, built_in in TEXT_BUILT_INS.items():
            value = layer.config.get(key)
            if isinstance(value, str) and value not in built_in and value not in known:
                yield Hit(f"TextVectorization '{layer.name}' has {key}={value!r}, a function {R.keras_label(env)} "
                          "must find by that name: it rebuilds the layer from the SavedModel's config, and "
                          "from_config looks the name up with no module to search, so load_model raises "
                          "\"AttributeError: 'NoneType' object has no attribute 'get'\"",
                          location=layer.path, key=f"{layer.path}:{key}",
                          evidence={"name": value, "breaks": ["keras"]},
                          fix=f"tf_keras.models.load_model(path, custom_objects={{{value!r}: {value}}})  # import it from "
                              "the code that defined it; or serve the model with tf.saved_model.load or TFSMLayer, "
                              "which do not rebuild Keras layers")


def _hits(artifact: Artifact, env: Environment, refs: list[ObjectRef], breaks: list[str] | None,
          severity: str | None = None, after: str = "", compile_only=None) -> Iterator[Hit]:
    """``compile_only(ref)``: that ref breaks compile=True only (its finding says so with breaks=['keras'])."""
    if not refs:
        return
    ref_breaks = [["keras"] if compile_only is not None and compile_only(r) else breaks for r in refs]
    only = all(b is not None and "keras-nocompile" not in b for b in ref_breaks)  # every ref: compile=True only
    fix = _snippet(refs) + ("; or load it with compile=False and compile it in code" if only else "")
    keys = list(dict.fromkeys(R.lookup_key(r) for r in refs))
    names = ", ".join(keys)
    hidden = after
    late_refs = [r for r in refs if R.found_too_late(env, r)]
    late = sorted({r.class_name for r in late_refs})
    why = ("(not under that name)" if len(late_refs) == len(refs)
           else "(not built in, not registered, not in custom_objects)")
    if late:  # built in, under another name that release's deserializer looks up
        hidden += (f"; {', '.join(late)} is built in, but {R.keras_label(env)}'s deserializer knows it only by its class "
                   f"name ('Could not interpret initializer identifier'), which Keras 3.4 fixed")
        fix = (f"model = keras.saving.load_model(path, custom_objects={{{', '.join(repr(n) + ': ' + R.LATE_CLASS[n] for n in late)}}})"
               "; or load it with Keras 3.4 or later")
    if artifact.format in (Format.keras_zip, Format.keras_dir) and R.keras_major(env) == 3 and not only:
        hidden = (f"; Keras 3 may report this only as \"<class {artifact.model_class or 'Functional'}> could not be "
                  "deserialized properly\", which hides the real class")
    for ref, ref_break in zip(refs, ref_breaks):
        where = R.layer_of(artifact, ref.location)
        what = {"function": "function", "string": "name"}.get(ref.kind, "class")
        module = f" from module {ref.module!r}" if ref.module and ref.module != "builtins" else ""
        yield Hit(f"{what} '{R.lookup_key(ref)}'{module} at {ref.location or '<model>'} cannot be resolved by "
                  f"{R.keras_label(env)} {why}; all unresolved: {names}{hidden}",
                  location=where, fix=fix, severity=severity,
                  evidence={"name": R.lookup_key(ref), "module": ref.module, "config_location": ref.location,
                            "all_unresolved": list(keys), **({"breaks": ref_break} if ref_break is not None else {})},
                  key=f"{ref.location}:{R.lookup_key(ref)}",
                  group="unresolved-compile" if severity else "unresolved",
                  group_message=f"{{n}} objects ({{locations}}) cannot be resolved by {R.keras_label(env)} {why}; all "
                                f"unresolved: {names}{hidden}")
