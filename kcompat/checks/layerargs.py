"""KC302: layer config keys that the installed layer class's constructor rejects.

Mirrors the loaders' own translations so that what they fix is not flagged:
* Keras 3 Layer.__init__ pops ``input_shape`` and ``input_dim``; Keras 3 InputLayer ignores
  unknown keyword arguments (it pops ``input_shape``/``batch_input_shape`` and drops the rest).
* Keras 3 legacy path (a layer config without a ``module`` key: Keras 2 .h5/JSON, Keras 3 .h5):
  ``saving_utils.model_from_config`` turns ``batch_input_shape`` into ``input_shape`` (``batch_shape``
  for InputLayer) and drops Lambda's ``module``/``function_type``/``output_shape_type``/
  ``output_shape_module``. Configs with ``module`` (.keras) go through serialization_lib untranslated.
* Keras 2 / tf_keras Layer.__init__ accepts input_dim, input_shape, batch_input_shape, batch_size,
  weights, activity_regularizer, autocast and implementation.
"""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._operations import owned_by_kc218
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

KERAS3_LAYER_EXTRAS = {"input_shape", "input_dim"}
KERAS3_LEGACY_EXTRAS = {"batch_input_shape", "module", "function_type", "output_shape_type", "output_shape_module"}
KERAS2_LAYER_EXTRAS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
                       "activity_regularizer", "autocast", "implementation"}
# Keyword arguments a Keras 3 class pops from **kwargs itself, with the first version that pops it (read
# from keras/src/layers in the wheels of 3.0.5, 3.1.1, 3.2.1, 3.3.3, 3.4.1 and 3.15.1).
KERAS3_POPPED = {
    "LSTM": {"implementation": (3, 0)}, "LSTMCell": {"implementation": (3, 0)},
    "GRU": {"implementation": (3, 4)}, "GRUCell": {"implementation": (3, 0)},
    "LayerNormalization": {"rms_scaling": (3, 4)}, "LeakyReLU": {"alpha": (3, 0)},
    "Embedding": {"input_length": (3, 2)},
    "TextVectorization": {"vocabulary_size": (3, 0), "has_input_vocabulary": (3, 0)},
    "StringLookup": {"vocabulary_size": (3, 0), "has_input_vocabulary": (3, 0)},
    "IntegerLookup": {"vocabulary_size": (3, 0), "has_input_vocabulary": (3, 0)},
}
# Keras 3's IndexLookup takes the popped keys above, trainable and dtype from **kwargs, and raises
# "Unrecognized keyword argument(s)" for any other: the input_shape the legacy loader makes of the
# batch_input_shape tf_keras writes for a StringLookup adapted before it was called, too.
KERAS3_CLOSED_KWARGS = {"StringLookup", "IntegerLookup"}
# Keyword arguments Keras 2 / tf_keras classes pop from **kwargs, or their from_config pops from the config
# before calling the constructor (read from tf_keras/src/layers).
_RNN2 = {"zero_output_for_mask", "input_length", "return_runtime", "enable_caching_device"}
KERAS2_POPPED = {
    **{name: _RNN2 for name in ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")},
    "RNN": _RNN2 | {"num_constants"}, "Bidirectional": {"num_constants"},
    "MultiHeadAttention": {"query_shape", "key_shape", "value_shape"},
    "LSTMCell": {"enable_caching_device"}, "GRUCell": {"enable_caching_device"}, "SimpleRNNCell": {"enable_caching_device"},
    "Embedding": {"use_one_hot_matmul"}, "Attention": {"causal"}, "AdditiveAttention": {"causal"},
    "BatchNormalization": {"synchronized"},
    "TextVectorization": {"vocabulary_size"},
    "StringLookup": {"vocabulary_size", "has_static_table"}, "IntegerLookup": {"vocabulary_size", "has_static_table"},
}
WHY = {
    "groups": "tf.keras 2.x wrote groups=1 into DepthwiseConv2D configs; Keras 3 has no such argument (keras-team/keras#19151)",
    "batch_input_shape": "Keras 3 accepts batch_input_shape only on Input/InputLayer (keras-team/keras#20106)",
    "batch_shape": "batch_shape is the Keras 3 name; Keras 2/tf_keras InputLayer knows batch_input_shape (tensorflow/tensorflow#66381)",
    "quantization_config": "quantization_config was added in a later Keras 3.x release",
    "time_major": "Keras 3 RNN layers dropped time_major",
    "input_length": "Keras 3 has no input_length (from Keras 3.2 Embedding alone takes it and ignores it, with a warning)",
}


def allowed_keys(env: Environment, cls, legacy_path: bool) -> set[str]:
    if not cls.var_kwargs and cls.params:
        # No **kwargs (Keras 3 Discretization, SpatialDropout*): from_config's cls(**config) takes the named
        # parameters only, so even the trainable every Keras 2 layer config holds is refused.
        return set(cls.params)
    allowed = set(cls.params) | set(cls.base_params) | {"name", "trainable", "dtype"}
    if R.keras_major(env) == 3:
        allowed |= {k for k, since in KERAS3_POPPED.get(cls.name, {}).items() if R.keras_at_least(env, since)}
        if cls.name in KERAS3_CLOSED_KWARGS:
            return allowed  # its parents' parameters (oov_method...), not the input_shape every other layer takes
        allowed |= KERAS3_LAYER_EXTRAS
        if legacy_path:
            allowed |= KERAS3_LEGACY_EXTRAS
    else:
        allowed |= KERAS2_LAYER_EXTRAS | KERAS2_POPPED.get(cls.name, set())
        if cls.name == "Lambda":
            allowed |= {"module", "function_type", "output_shape_type", "output_shape_module"}
    return allowed


def _policy_unknown(env: Environment, value) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        name = value["class_name"]
        policy = (value.get("config") or {}).get("name") if isinstance(value.get("config"), dict) else None
        known = {c.name for c in R.pool(env) if c.kind == "dtype_policy"}
        if name not in known and not str(policy or "").startswith("mixed_") and name != "Policy":
            return name  # mixed policies and Keras 2 Policy are KC504's
    return None


def _strict_layers(artifact: Artifact) -> list:
    """The layers a load rebuilds from their configs, where a rejected key raises.

    From a SavedModel, Keras 2 revives a layer whose config it cannot use from the saved functions
    instead; only a Sequential's leading InputLayer is rebuilt with InputLayer.from_config, unguarded.
    """
    if artifact.format is not Format.saved_model:
        return artifact.layers
    first = artifact.layers[:1]
    return first if artifact.model_class == "Sequential" and first and first[0].class_name == "InputLayer" else []


def layer_arg_unrecognized(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    major = R.keras_major(env)
    if (artifact.format is Format.saved_model and major != 2) or artifact.keras_major == 1 \
            or (artifact.backend or "") in ("theano", "cntk"):
        return  # Keras 3's load_model does not read SavedModels at all (KC204)
    label = R.keras_label(env)
    owned = owned_by_kc218(artifact, env)  # Keras 3 operations saved into an .h5 are KC218's
    for layer in _strict_layers(artifact):
        if layer.path in owned:
            continue
        cls = R.find_op(env, layer.class_name) if R.is_op(layer.module) else R.find(env, layer.class_name, {"layer"})
        if cls is None:
            continue  # unknown classes are KC301's
        if major == 3 and cls.name == "InputLayer":
            continue
        legacy_path = layer.module is None
        allowed = allowed_keys(env, cls, legacy_path)
        bad = {k: layer.config[k] for k in layer.config_keys if k not in allowed and k != "layers"}
        policy = _policy_unknown(env, layer.config.get("dtype"))
        if policy:
            bad["dtype"] = f"<{policy} object>"
        if not bad:
            continue
        reasons = "; ".join(WHY[k] for k in bad if k in WHY)
        if policy:
            reasons = (reasons + "; " if reasons else "") + (
                f"dtype is a serialized {policy} (Keras >= 3.4 writes dtype policies as objects), which {label} cannot read")
        drop = ", ".join(repr(k) for k in bad if k != "dtype")
        fix_parts = []
        if drop:
            fix_parts.append(f"delete {drop} from the '{layer.name}' layer config (for .keras: edit config.json in the "
                             f"archive; for .h5: rewrite the model_config attribute with h5py), or "
                             + _writer_load_hint(artifact, env))
        if policy:
            fix_parts.append("replace the dtype object with its name string, e.g. \"dtype\": \"float32\"")
        if "groups" in bad and layer.class_name == "DepthwiseConv2D":
            fix_parts.append("or load with custom_objects={'DepthwiseConv2D': lambda **kw: "
                             "keras.layers.DepthwiseConv2D(**{k: v for k, v in kw.items() if k != 'groups'})}")
        raises = ("Unrecognized keyword argument(s): {...}" if major == 3 and cls.name in KERAS3_CLOSED_KWARGS
                  else f"Unrecognized keyword arguments passed to {layer.class_name}" if cls.var_kwargs or not cls.params
                  else f"{cls.name}.__init__() got an unexpected keyword argument '{next(k for k in layer.config if k in bad)}'")
        yield Hit(f"{layer.class_name} '{layer.name}' config has {sorted(bad)} that {label}'s {cls.name} does not "
                  f"accept: loading fails with \"{raises}\""
                  + (f" ({reasons})" if reasons else ""),
                  location=layer.path, fix="; ".join(fix_parts),
                  evidence={"keys": sorted(bad), "class": cls.name, "module": cls.module, "legacy_translation": legacy_path},
                  key=f"{layer.path}:{','.join(sorted(bad))}",
                  group=f"{layer.class_name}:{','.join(sorted(bad))}",
                  group_message=f"{{n}} {layer.class_name} layers ({{locations}}) carry {sorted(bad)} that {label}'s "
                                f"{cls.name} does not accept: loading fails with \"{raises}\""
                                + (f" ({reasons})" if reasons else ""))


def _writer_load_hint(artifact: Artifact, env: Environment) -> str:
    """Where tf_keras is installed, a Keras 2 file loads with it; say so with the exact call."""
    if artifact.keras_major == 2 and env.versions.get("tf_keras") and not env.tf_use_legacy_keras:
        return ("load it with tf_keras, which reads the Keras 2 config as written: "
                "os.environ['TF_USE_LEGACY_KERAS'] = '1'; import tf_keras; model = tf_keras.models.load_model(path)")
    return "load under the Keras that wrote it and re-save"



def _accepts(values: list, value) -> bool:
    if value in values:
        return True
    # Keras lower-cases some string arguments before it checks them (padding, data_format...)
    return isinstance(value, str) and value.lower() in values


# Functions in keras.layers: Keras 3's legacy deserializer looks every string of a layer config up among the
# module's objects, and a string that names one of these is handed to the layer as that function.
KERAS3_LAYERS_FUNCTIONS = {"Input", "add", "average", "concatenate", "deserialize", "dot", "maximum", "minimum",
                           "multiply", "serialize", "subtract"}


def _numpy_json(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """Keras 2.0's JSON encoder wrote a NumPy value (a float32 alpha) as {"type": "ndarray", "value": ...}; no
    loader decodes it, so the layer gets the dict: Keras 3.15.1's LeakyReLU raises "'<' not supported between
    instances of 'dict' and 'int'", tf_keras 2.21's "float() argument must be a string or a real number"."""
    for layer in artifact.layers:
        bad = sorted(k for k, v in layer.config.items()
                     if isinstance(v, dict) and v.get("type") == "ndarray" and "value" in v and len(v) == 2)
        if not bad:
            continue
        shown = ", ".join(f"{k}={layer.config[k]!r}" for k in bad)
        plain = ", ".join(f"{k}={layer.config[k]['value']!r}" for k in bad)
        yield Hit(f"{layer.class_name} '{layer.name}' holds {shown}: Keras 2.0 wrote a NumPy value so, and "
                  f"{R.keras_label(env)} does not decode it, so {layer.class_name} gets a dict where it expects a "
                  "number and loading fails (for a LeakyReLU: \"'<' not supported between instances of 'dict' and "
                  "'int'\")",
                  location=layer.path, key=f"{layer.path}:ndarray",
                  fix=f"Replace each {{\"type\": \"ndarray\", \"value\": v}} in the model_config attribute with v "
                      f"(here {plain})",
                  group="ndarray", group_message="{n} layers ({locations}) hold NumPy values as Keras 2.0 wrote "
                                                 "them ({{'type': 'ndarray', 'value': ...}}), which no Keras decodes")


def layer_arg_value(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    yield from _numpy_json(artifact, env)
    yield from _slashed_names(artifact, env)
    yield from _strings_made_functions(artifact, env)
    yield from _listed_axis(artifact, env)
    rejected: dict[tuple[str, str, str], list[str]] = {}
    for layer in artifact.layers:
        cls = None if R.is_op(layer.module) else R.find(env, layer.class_name, {"layer", "model"})
        if cls is None:
            continue
        for arg, values in cls.accepted.items():
            value = layer.config.get(arg)
            if arg not in layer.config or not isinstance(value, (str, int, float, bool)) or _accepts(values, value):
                continue
            rejected.setdefault((layer.class_name, arg, repr(value)), []).append(layer.path)
    for (class_name, arg, value), paths in rejected.items():
        accepted = ", ".join(repr(v) for v in R.find(env, class_name, {"layer", "model"}).accepted[arg])
        yield Hit(f"{len(paths)} {class_name} layer(s) ({', '.join(paths[:3])}) have {arg}={value}, which "
                  f"{R.keras_label(env)}'s {class_name} rejects (it accepts {accepted}): loading raises "
                  f"ValueError at the first of them",
                  location=paths[0], evidence={"argument": arg, "value": value, "locations": paths[:50]},
                  key=f"{class_name}.{arg}",
                  fix=f"Set {arg} to one of {accepted} in those layers' configs (the meaning may differ: check "
                      f"the {class_name} docs of both Keras versions), or load under the Keras that saved it")


def _slashed_names(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """Keras 3 refuses a layer name with '/' (the name-scope separator); tf.keras wrote such names
    (DenseNet's 'conv1/conv'). Seen with Keras 3.15.1 on a tf_keras 2.21 DenseNet121 .h5."""
    if R.keras_major(env) != 3 or artifact.format not in (Format.hdf5_model, Format.keras_zip, Format.json_config):
        return
    paths = [layer.path for layer in artifact.layers if "/" in layer.name]
    if paths:
        yield Hit(f"{len(paths)} layer name(s) contain '/' ({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''}): "
                  f"{R.keras_label(env)} raises \"Argument `name` must be a string and cannot contain character `/`\" "
                  "at the first of them",
                  location=paths[0], evidence={"locations": paths[:50]}, key="name:/",
                  fix="Load it with tf_keras (pip install tf_keras), or rename those layers without '/' in the saved "
                      "config (and the weight groups of an .h5 that name them)")


def _listed_axis(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """Keras 3 BatchNormalization takes int(axis); Keras 2 writes axis as a list once the layer is built. The
    legacy .h5 path turns a one-element list into its int, a .keras config reaches the class as saved
    (seen with Keras 3.15.1 on a tf_keras 2.21 .keras)."""
    if R.keras_major(env) != 3:
        return
    paths = [layer.path for layer in artifact.layers if layer.class_name == "BatchNormalization"
             and isinstance(layer.config.get("axis"), list)
             and (layer.module is not None or len(layer.config["axis"]) != 1)]
    if paths:
        yield Hit(f"{len(paths)} BatchNormalization layer(s) ({', '.join(paths[:3])}) have axis as a list, as Keras 2 "
                  f"writes it: {R.keras_label(env)}'s BatchNormalization takes one int and raises \"int() argument must "
                  "be a string, a bytes-like object or a real number, not 'list'\"",
                  location=paths[0], evidence={"locations": paths[:50]}, key="BatchNormalization.axis:list",
                  fix="Load it with tf_keras (pip install tf_keras), or write the axis as an int (axis=[3] -> axis=3) "
                      "in those layers' configs")


def _strings_made_functions(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if R.keras_major(env) != 3 or artifact.format is not Format.hdf5_model:
        return  # .keras configs (with "module") go through serialization_lib, which keeps strings as they are
    swapped: dict[tuple[str, str, str], list[str]] = {}
    for layer in artifact.layers:
        cls = R.find(env, layer.class_name, {"layer"}) if layer.module is None else None
        for arg in cls.accepted if cls is not None else ():
            value = layer.config.get(arg)
            if isinstance(value, str) and value in KERAS3_LAYERS_FUNCTIONS:
                swapped.setdefault((layer.class_name, arg, value), []).append(layer.path)
    for (class_name, arg, value), paths in swapped.items():
        yield Hit(f"{len(paths)} {class_name} layer(s) ({', '.join(paths[:3])}) have {arg}={value!r}: "
                  f"{R.keras_label(env)}'s legacy .h5 loader turns a config string that names a keras.layers function "
                  f"into that function (keras.layers.{value}), and {class_name} then raises \"Invalid value for "
                  f"argument {arg}\"",
                  location=paths[0], evidence={"argument": arg, "value": value, "locations": paths[:50]},
                  key=f"{class_name}.{arg}:function",
                  fix="Load it with tf_keras (pip install tf_keras), or save the model as .keras from the Keras that "
                      "wrote it: a .keras config keeps the string")


# --- fixer --------------------------------------------------------------------------------------

# Arguments whose saved value is the one that changes nothing, so a copy without them computes the same.
# None as the value list: any value is a performance hint only (which RNN kernel runs).
NOOP_VALUES = {"groups": [1], "time_major": [False], "quantization_config": [None], "weights": [None],
               "activity_regularizer": [None], "synchronized": [False], "causal": [False],
               "return_runtime": [False], "enable_caching_device": None, "implementation": None,
               "use_one_hot_matmul": [False]}


def _input_layer(shape, dtype, name: str, keras3: bool) -> dict:
    dtype = dtype if isinstance(dtype, str) else "float32"
    if keras3:
        return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                "config": {"batch_shape": shape, "dtype": dtype, "sparse": False, "name": name}}
    return {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "dtype": dtype, "name": name}}


def fix_layer_arg_unrecognized(rewrite, artifact: Artifact, env: Environment, findings=()) -> None:
    """Drop rejected arguments that hold their no-op value; move batch_input_shape to an InputLayer;
    rename InputLayer batch_shape for Keras 2; a dtype policy object becomes its name for Keras 2."""
    from kcompat.checks._rewrite import layer_dicts, layer_name

    major = R.keras_major(env)
    for layer, siblings in list(layer_dicts(rewrite.model, None if rewrite.model is None else [])):
        config = layer.get("config")
        cls = R.find(env, str(layer.get("class_name")), {"layer"})
        if cls is None or not isinstance(config, dict):
            continue
        name = layer_name(layer)
        if cls.name == "InputLayer":
            if major == 2 and "batch_shape" in config and "batch_input_shape" not in config:
                config["batch_input_shape"] = config.pop("batch_shape")
                config.pop("optional", None)
                rewrite.change(f"InputLayer '{name}': batch_shape renamed batch_input_shape")
            continue
        allowed = allowed_keys(env, cls, "module" not in layer)
        policy = _policy_unknown(env, config.get("dtype"))
        if policy:
            config["dtype"] = (config["dtype"].get("config") or {}).get("name") or "float32"
            rewrite.change(f"{cls.name} '{name}': dtype {policy} object replaced by its name {config['dtype']!r}")
        for key in [k for k in config if k not in allowed and k != "layers" and k != "dtype"]:
            value = config[key]
            if key == "batch_input_shape":
                config.pop(key)
                first = siblings is not None and siblings and siblings[0] is layer
                in_sequential = first and not any(s.get("class_name") == "InputLayer" for s in siblings
                                                  if isinstance(s, dict))
                if in_sequential and "inbound_nodes" not in layer:
                    siblings.insert(0, _input_layer(value, config.get("dtype"), f"{name}_input", major == 3))
                    rewrite.change(f"{cls.name} '{name}': batch_input_shape={value} moved to a new InputLayer")
                else:
                    rewrite.change(f"{cls.name} '{name}': batch_input_shape dropped (its input comes from a layer)")
            elif key in NOOP_VALUES and (NOOP_VALUES[key] is None or value in NOOP_VALUES[key]):
                config.pop(key)
                rewrite.change(f"{cls.name} '{name}': {key}={value!r} dropped (the no-op value)")
            else:
                rewrite.refuse(f"{cls.name} '{name}' has {key}={value!r}, which {R.keras_label(env)} does not accept "
                               "and which is not a no-op: dropping it would change what the layer computes")
