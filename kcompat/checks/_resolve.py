"""Which Keras a load would use in an Environment, and whether it can resolve a config's names.

Shared by the 2xx, 3xx and 5xx checks. Pure: reads the Environment snapshot, imports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from kcompat.env.model import Environment, KerasClass
from kcompat.model import Artifact, ObjectRef

POLICY_CLASSES = {"Policy", "PolicyV1", "DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy",
                  "QuantizedFloat8DTypePolicy", "DTypePolicyMap", "GPTQDTypePolicy", "AWQDTypePolicy"}
MODEL_CLASSES = {"Sequential", "Functional", "Model"}


def version_tuple(version: str | None) -> tuple[int, ...] | None:
    """'2.15.0' -> (2, 15, 0); '2.2.4-tf' -> (2, 2, 4); None or junk -> None."""
    if not version:
        return None
    parts = []
    for piece in str(version).split(".")[:3]:
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts) or None


def framework(env: Environment) -> str:
    """'tf_keras' when load_model resolves to tf_keras (TF >= 2.16 with TF_USE_LEGACY_KERAS=1), else 'keras'."""
    tf = env.tensorflow_major_minor
    if env.tf_use_legacy_keras and env.versions.get("tf_keras") and (tf is None or tf >= (2, 16)):
        return "tf_keras"
    return "keras"


def keras_version(env: Environment) -> str | None:
    """Version of the Keras that load_model uses."""
    if framework(env) == "tf_keras":
        return env.versions.get("tf_keras")
    return env.versions.get("keras") or (
        env.versions.get("tensorflow") if env.tensorflow_major_minor and env.tensorflow_major_minor < (2, 16) else None)


def keras_major(env: Environment) -> int | None:
    if framework(env) == "tf_keras":
        return 2
    version = version_tuple(keras_version(env))
    return version[0] if version else None


def keras_label(env: Environment) -> str:
    name = "tf_keras" if framework(env) == "tf_keras" else "Keras"
    return f"{name} {keras_version(env) or '?'}"


def pool(env: Environment) -> list[KerasClass]:
    return env.tf_keras_classes if framework(env) == "tf_keras" else env.keras_classes


def _names(entry: KerasClass) -> Iterable[str]:
    yield entry.name
    if (entry.module or "").startswith("tensorflow."):
        # a TensorFlow function in Keras 2's activations/losses/metrics module is found by that module's
        # key only: tf.nn.log_softmax is 'log_softmax' there, and the 'log_softmax_v2' (its __name__)
        # that TF 2.12 wrote raises "Unknown activation function" in tf.keras 2.12 and tf_keras alike
        return
    if entry.registered_name:
        yield entry.registered_name
    if entry.qualname:
        yield entry.qualname


_MEMO: dict[tuple[int, str], tuple[object, Any]] = {}


def memo(source: list, key: str, build: Callable[[], Any]) -> Any:
    """``build()``, computed once per class list: rules ask for the same name sets thousands of times in
    a run, and an environment's lists never change once it is loaded."""
    hit = _MEMO.get((id(source), key))
    if hit is not None and hit[0] is source:
        return hit[1]
    value = build()
    if len(_MEMO) > 256:  # a run uses one or two environments; tests build many
        _MEMO.clear()
    _MEMO[(id(source), key)] = (source, value)
    return value


def known_names(env: Environment, kinds: set[str] | None = None) -> set[str]:
    classes = pool(env)
    return memo(classes, f"names:{sorted(kinds) if kinds else ''}",
                lambda: {n for c in classes if kinds is None or c.kind in kinds for n in _names(c)})


def custom_names(env: Environment) -> set[str]:
    def build() -> set[str]:
        names: set[str] = set()
        for entry in env.custom_objects:
            names.update(_names(entry))
            if entry.registered_name and ">" in entry.registered_name:
                names.add(entry.registered_name.split(">", 1)[1])
        return names

    return memo(env.custom_objects, "custom", build)


def find(env: Environment, name: str, kinds: set[str] | None = None) -> KerasClass | None:
    for entry in pool(env):
        if entry.name == name and (kinds is None or entry.kind in kinds):
            return entry
    return None


def normalise_module(module: str) -> str:
    return "keras" + module[len("tf_keras"):] if module.startswith("tf_keras") else module


QUANTIZERS = ("keras.quantizers", "keras.src.quantizers")
OPS = "keras.src.ops."  # a Keras 3 functional model's operation nodes (keras.ops.add, x[:, :2]...) live here


def is_op(module: str | None) -> bool:
    return bool(module) and normalise_module(module).startswith(OPS)


def find_op(env: Environment, name: str) -> KerasClass | None:
    """The target's Keras 3 operation class of that name (the probe records them in keras_ops)."""
    ops = env.keras_ops if framework(env) == "keras" else []
    return memo(ops, "ops", lambda: {o.name: o for o in ops}).get(name)


def has_quantizers(env: Environment) -> bool:
    """Whether the target's Keras has the quantization config classes of keras.quantizers (a quantized Keras 3
    model's layers name Int8QuantizationConfig, AbsMaxQuantizer there). The probe does not list them; they
    ship with the quantization_config argument of the layers that take one."""
    return memo(pool(env), "quantizers", lambda: keras_major(env) == 3 and any(
        "quantization_config" in c.params for c in pool(env) if c.kind == "layer"))


def existing_modules(env: Environment) -> set[str]:
    """Every module (and parent package) that the env's Keras classes live in, keras-rooted."""
    def build() -> set[str]:
        out: set[str] = set(QUANTIZERS) if has_quantizers(env) else set()
        # Keras 3 serializes ops too (a keras.applications model holds keras.src.ops.numpy.Add), so a
        # module exists if any serializable object the probe found lives there, not only a layer.
        for entry in [*pool(env), *(env.keras_ops if framework(env) == "keras" else [])]:
            if entry.module:
                parts = normalise_module(entry.module).split(".")
                out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
        return out

    return memo(pool(env), "modules", build)


def public_api(env: Environment) -> set[str]:
    ops = env.keras_ops if framework(env) == "keras" else []
    return memo(pool(env), "api", lambda: {normalise_module(a) for c in [*pool(env), *ops] for a in c.api_names})


def is_special(name: str) -> bool:
    """Serialization markers that are not classes: __lambda__, __tensor__, __tuple__, __numpy__..."""
    return name.startswith("__") and name.endswith("__")


def lookup_key(ref: ObjectRef) -> str:
    """The name Keras looks up: registered_name for classes (it carries 'package>Name'), else class_name."""
    if ref.kind == "function" or not ref.registered_name or ref.registered_name == "function":
        return ref.class_name
    return ref.registered_name


# Names Keras 3 exports whose own deserializer found them only from a release on: initializers.get looks a
# config's class up there whether or not it names a module ("Could not interpret initializer identifier").
# Read in keras 3.3.3: initializers.ALL_OBJECTS_DICT holds OrthogonalInitializer and orthogonal, not the
# Orthogonal that every Keras 2 LSTM/GRU writes as its recurrent_initializer, nor Keras 3.4+ with module
# 'keras.initializers' (real Keras 3.7 and 3.8 LSTM files fail so in 3.3.3); 3.4.1 finds it.
KERAS3_LOOKUP_SINCE = {"Orthogonal": (3, 4)}
LATE_CLASS = {"Orthogonal": "keras.initializers.OrthogonalInitializer"}  # what to pass as custom_objects


def keras_at_least(env: Environment, since: tuple[int, int]) -> bool:
    """The target's Keras is ``since`` (major, minor) or later; an unknown version counts as x.0."""
    return (version_tuple(keras_version(env)) or (since[0], 0))[:2] >= since


def found_too_late(env: Environment, ref: ObjectRef) -> bool:
    since = KERAS3_LOOKUP_SINCE.get(ref.class_name)
    if since is None or keras_major(env) != 3:
        return False
    if ref.module and not normalise_module(ref.module).startswith("keras"):
        return False  # a class of the user's own module of that name
    return not keras_at_least(env, since)


def resolvable(env: Environment, ref: ObjectRef) -> bool:
    if found_too_late(env, ref):
        return False
    customs = custom_names(env)
    key = lookup_key(ref)
    for name in {key, ref.class_name}:
        if name in customs:
            return True
    if ">" in key:  # 'package>Name' only resolves through the registry or custom_objects
        return False
    if ref.module and not (ref.module == "builtins" or normalise_module(ref.module).startswith("keras")):
        # A non-Keras module: Keras 3 never imports it; Keras 2 imports it if it is importable,
        # which we know only for the modules named by --custom-objects.
        return keras_major(env) == 2 and ref.module in env.custom_object_modules
    if is_op(ref.module):  # an operation class, not a layer: Add the op is not Add the layer
        return find_op(env, ref.class_name) is not None
    names = known_names(env)
    if ref.class_name in names:
        return True
    if ref.module and normalise_module(ref.module).startswith(QUANTIZERS) and has_quantizers(env):
        return True
    if ref.kind == "string":
        lowered = memo(pool(env), "lowered", lambda: {n.lower() for n in names})
        return ref.class_name.lower() in lowered or ref.class_name.replace("_", "").lower() in lowered
    return False


def layer_of(artifact: Artifact, location: str) -> str:
    """A readable layer path for an object location such as config.layers[2].config.activation."""
    path = []
    node = artifact.config or {}
    for part in re.findall(r"layers\[(\d+)\]|\.(layer|cell|forward_layer|backward_layer)\b", location):
        index, key = part
        inner = node.get("config") if isinstance(node, dict) else None
        if not isinstance(inner, dict):
            break
        child = inner.get("layers")[int(index)] if index and isinstance(inner.get("layers"), list) and int(index) < len(inner["layers"]) else inner.get(key) if key else None
        if not isinstance(child, dict):
            break
        cfg = child.get("config") if isinstance(child.get("config"), dict) else {}
        path.append(str(cfg.get("name") or child.get("name") or child.get("class_name")))
        node = child
    return "/".join(path) or location or "<model>"
