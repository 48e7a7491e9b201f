"""KC505, KC506: content of a Keras 3 model that is bound to one backend, read from the config alone.

Keras 3 weights and built-in layers load under every backend (observed: the same files load under
tensorflow, jax and torch). What does not travel is code: a Lambda's marshalled bytecode, whose
global names are read here without unmarshalling it (``_code_names``), and the wrapper layers that
hold a JAX function, a Flax module or a pickled torch module.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator

from kcompat.checks import _code_names
from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

# Global name a script binds to a backend library -> (the module it names, the backend it needs).
BACKEND_NAMES = {
    "jax": ("jax", "jax"), "jnp": ("jax.numpy", "jax"), "lax": ("jax.lax", "jax"), "flax": ("flax", "jax"),
    "torch": ("torch", "torch"), "tf": ("tensorflow", "tensorflow"), "tensorflow": ("tensorflow", "tensorflow"),
}
# Keras 3 rebuilds a saved lambda with python_utils.func_load(code), whose globals are that module's:
# these imports, its own functions and the builtins. Any other global is undefined when the layer runs.
FUNC_LOAD_GLOBALS = {"binascii", "codecs", "marshal", "os", "python_types"}
BUILTINS = set(dir(builtins))


def _lambda_code(config: dict) -> str | None:
    function = config.get("function")
    if isinstance(function, dict) and function.get("class_name") == "__lambda__":
        inner = function.get("config")
        code = inner.get("code") if isinstance(inner, dict) else None
        return code if isinstance(code, str) else None
    return None


def _unbound(names: list[str]) -> list[str]:
    return [n for n in names if n not in BUILTINS and n not in FUNC_LOAD_GLOBALS]


def lambda_globals(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is Format.saved_model or R.keras_major(env) != 3:
        return  # a SavedModel runs its traced graph; tf_keras keeps a lambda's module globals
    target = env.keras_backend or "tensorflow"
    for layer in artifact.layers:
        code = _lambda_code(layer.config) if layer.class_name == "Lambda" else None
        names = _code_names.global_names(code) if code else None
        missing = _unbound(names or [])
        if not missing:
            continue
        bound = {n: BACKEND_NAMES[n] for n in missing if n in BACKEND_NAMES}
        named = ", ".join(f"'{n}'" + (f" ({bound[n][0]})" if n in bound else "") for n in missing)
        backends = sorted({b for _, b in bound.values()})
        tail = ""
        if backends:
            modules = ", ".join(sorted({m for m, _ in bound.values()}))
            tail = (f"; and its code calls {modules}, which runs on the {' / '.join(backends)} backend only"
                    + (f" (the target runs Keras on {target})" if target not in backends else ""))
        unbuilt = _weighted_after(artifact, layer)
        inferred = not unbuilt and _infers_shape(artifact, layer)
        if unbuilt:
            tail += (f"; in this .h5 the Sequential is rebuilt by calling its layers on a symbolic input, the Lambda's "
                     f"call fails there, the build stops before '{unbuilt[0]}', and loading the weights fails with "
                     "'Layer count mismatch when loading weights from file'")
        elif inferred:
            tail += ("; its config gives no output_shape, so rebuilding the Functional model calls it on symbolic "
                     "inputs to infer one, and the load itself fails there: NotImplementedError \"We could not "
                     "automatically infer the shape of the Lambda's output\"")
        yield Hit(f"Lambda '{layer.name}' reads the global name(s) {named}: Keras 3 rebuilds a saved lambda with the "
                  "globals of keras.src.utils.python_utils, where they are not defined, so calling the layer raises "
                  f"NameError: name '{missing[0]}' is not defined under every backend, even with safe_mode=False"
                  + tail,
                  location=layer.path,
                  fix="Rebuild the model in code with a named function written in keras.ops "
                      "(@keras.saving.register_keras_serializable() def fn(x): return keras.ops.tanh(x); "
                      "keras.layers.Lambda(fn)), then model.load_weights(path); a registered function is found by "
                      "name when the loading script has imported it",
                  evidence={"globals": missing, "modules": {n: m for n, (m, _) in bound.items()},
                            "backends": backends, "target_backend": target,
                            **({"breaks": ["keras", "keras-nocompile"], "unbuilt": unbuilt} if unbuilt else {}),
                            **({"breaks": ["keras", "keras-nocompile"]} if inferred else {})},
                  key=layer.path)


def _weighted_after(artifact: Artifact, layer) -> list[str]:
    """Top-level layers with weights after this Lambda in a legacy .h5 Sequential.

    Keras 3's Sequential.build stops quietly at a layer whose symbolic call fails, so those layers
    stay unbuilt and the .h5 weights no longer fit (seen in Keras 3.6 and 3.9 with JAX-written files).
    """
    if artifact.format is not Format.hdf5_model or artifact.model_class != "Sequential":
        return []
    top = [item for item in artifact.layers if "/" not in item.path]
    if layer not in top:
        return []
    weighted = {w.name.split("/", 1)[0] for w in artifact.weights}
    return [item.name for item in top[top.index(layer) + 1:] if item.name in weighted]


def _infers_shape(artifact: Artifact, layer) -> bool:
    """A top-level Lambda of a Functional model (any format) with no output_shape: functional_from_config
    calls it on symbolic inputs to infer the shape (seen in Keras 3.3.3 and 3.15.1, .keras and .h5)."""
    config = layer.config if isinstance(layer.config, dict) else {}
    return artifact.model_class in ("Functional", "Model") and "/" not in layer.path and not config.get("output_shape")


# Wrapper layer -> (backends it runs under, the distribution it imports).
WRAPPERS = {
    "JaxLayer": (("jax", "tensorflow"), "jax"),
    "FlaxLayer": (("jax", "tensorflow"), "jax"),
    "TorchModuleWrapper": (("torch",), "torch"),
}


def wrapper_layer(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is Format.saved_model or R.keras_major(env) != 3:
        return
    target = env.keras_backend or "tensorflow"
    installed = set(env.available_backends)
    for layer in artifact.layers:
        if layer.class_name not in WRAPPERS:
            continue
        backends, needs = WRAPPERS[layer.class_name]
        what = f"{layer.class_name} '{layer.name}'"
        if target not in backends:
            yield Hit(f"{what} runs only under the {' or '.join(backends)} backend, and the target runs Keras on "
                      f"{target}: the load fails (Keras words it as '<class Functional> could not be deserialized "
                      "properly')",
                      location=layer.path, fix=f"KERAS_BACKEND={backends[0]} python your_script.py",
                      evidence={"target_backend": target, "backends": list(backends)}, key=f"{layer.path}:backend")
        elif needs not in installed:
            yield Hit(f"{what} imports {needs}, which the target does not have"
                      + (" (under TensorFlow, Keras runs it through jax2tf)" if needs == "jax" else ""),
                      location=layer.path, fix=f"pip install {needs}",
                      evidence={"needs": needs, "installed": sorted(installed)}, key=f"{layer.path}:install")
        if layer.class_name == "TorchModuleWrapper" and isinstance(layer.config.get("module"), str):
            # The module is torch.save bytes (a pickle), base64 in the config; it is never decoded here.
            yield Hit(f"{what} holds its torch module as a torch.save pickle: load_model refuses it under the "
                      "default safe_mode=True ('Requested the deserialization of a `torch.nn.Module` object via "
                      "`torch.load()`'), under every backend",
                      location=layer.path,
                      fix="Only if you trust the file: keras.saving.load_model(path, safe_mode=False) under "
                          "KERAS_BACKEND=torch. Safer: rebuild the torch module in code and load the weights",
                      evidence={"pickle": "torch.save"}, key=f"{layer.path}:pickle")


BACKEND_PACKAGES = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow", "numpy": "numpy"}


def _backend_of(module: str | None) -> str | None:
    """'torch' for keras.src.backend.torch.optimizers.torch_adam: a module of one backend's own classes."""
    parts = (module or "").split(".")
    if parts[:3] == ["keras", "src", "backend"] and len(parts) > 3 and parts[3] in BACKEND_PACKAGES:
        return parts[3]
    return None


def backend_module(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 3:
        return
    installed = set(env.available_backends)
    for obj in artifact.objects:
        backend = _backend_of(obj.module)
        if backend is None or BACKEND_PACKAGES[backend] in installed:
            continue
        compile_only = (obj.location or "").startswith(("compile_config", "training_config"))
        yield Hit(f"{obj.class_name} at {obj.location} is serialized from {obj.module}, the {backend} backend's own "
                  f"class (the file was compiled under KERAS_BACKEND={backend}); that module imports {backend}, which "
                  f"the target does not have, so the load fails with \"Could not deserialize class "
                  f"'{obj.class_name}' because its parent module {obj.module} cannot be imported\"",
                  location=obj.location,
                  fix=("keras.saving.load_model(path, compile=False), then compile again with the optimizer you "
                       "want" if compile_only else f"pip install {backend}; or re-save the model under the target's "
                                                    "backend"),
                  evidence={"module": obj.module, "backend": backend, "installed": sorted(installed),
                            **({"breaks": ["keras"]} if compile_only else {})},
                  key=f"{obj.location}:{obj.module}")
