"""KC301: classes and functions in a config that the target Keras cannot resolve."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format, ObjectRef

# SavedModels revive without custom classes (tf_keras) or are not read by load_model at all (Keras 3,
# KC204); legacy-backend files are KC501's.
SKIP_FORMATS = (Format.saved_model,)


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
    if artifact.format in SKIP_FORMATS or artifact.keras_major == 1 or (artifact.backend or "") in ("theano", "cntk"):
        return
    refs = unresolved_objects(artifact, env)
    if not refs:
        return
    fix = _snippet(refs)
    names = ", ".join(dict.fromkeys(R.lookup_key(r) for r in refs))
    hidden = ""
    if artifact.format in (Format.keras_zip, Format.keras_dir) and R.keras_major(env) == 3:
        hidden = (f"; Keras 3 may report this only as \"<class {artifact.model_class or 'Functional'}> could not be "
                  "deserialized properly\", which hides the real class")
    for ref in refs:
        where = R.layer_of(artifact, ref.location)
        what = {"function": "function", "string": "name"}.get(ref.kind, "class")
        module = f" from module {ref.module!r}" if ref.module and ref.module != "builtins" else ""
        yield Hit(f"{what} '{R.lookup_key(ref)}'{module} at {ref.location or '<model>'} cannot be resolved by "
                  f"{R.keras_label(env)} (not built in, not registered, not in custom_objects); all unresolved: "
                  f"{names}{hidden}",
                  location=where, fix=fix,
                  evidence={"name": R.lookup_key(ref), "module": ref.module, "config_location": ref.location,
                            "all_unresolved": list(dict.fromkeys(R.lookup_key(r) for r in refs))},
                  key=f"{ref.location}:{R.lookup_key(ref)}",
                  group="unresolved",
                  group_message=f"{{n}} objects ({{locations}}) cannot be resolved by {R.keras_label(env)} (not "
                                f"built in, not registered, not in custom_objects); all unresolved: {names}{hidden}")
