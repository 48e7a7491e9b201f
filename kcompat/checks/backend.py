"""KC5xx: backend, dtype policy and device facts against the target environment."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format

LEGACY_BACKENDS = ("theano", "cntk")


# What only Keras 1 wrote into layer configs: a load fails at the first layer that has one (an InputLayer's
# extra keys are ignored), so an error of an earlier layer (a Lambda under safe_mode) is met first.
KERAS1_CLASSES = {"Convolution1D", "Convolution2D", "Convolution3D", "AtrousConvolution1D", "AtrousConvolution2D",
                  "Deconvolution2D", "SeparableConvolution2D", "Merge", "MaxoutDense", "Highway", "TimeDistributedDense"}
KERAS1_KEYS = {"border_mode", "dim_ordering", "nb_filter", "nb_row", "nb_col", "init", "inner_init", "inner_activation",
               "W_regularizer", "b_regularizer", "U_regularizer", "W_constraint", "b_constraint", "U_constraint",
               "subsample", "subsample_length", "filter_length", "bias", "consume_less", "dropout_W", "dropout_U"}


def _first_keras1_layer(artifact: Artifact) -> str | None:
    return next((layer.path for layer in artifact.layers if layer.class_name != "InputLayer"
                 and (layer.class_name in KERAS1_CLASSES or KERAS1_KEYS & set(layer.config))), None)


def legacy_backend(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    backend = (artifact.backend or "").lower()
    if artifact.keras_major == 1:
        why = (f"a Keras {artifact.keras_version} file (Keras 1 layer names and arguments such as "
               "Convolution2D, nb_filter, border_mode, dim_ordering)")
        if backend in LEGACY_BACKENDS:
            why += f" saved with the {backend} backend (kernels in {backend} layout)"
        yield Hit(f"{why}: no modern Keras can load it as a model; only its weights can be salvaged",
                  location=_first_keras1_layer(artifact),
                  fix="Rebuild the architecture in current Keras code, then copy the weights over with h5py "
                      "(f['model_weights'][layer][...]); flip Theano convolution kernels "
                      "(kernel[::-1, ::-1]) and convert channels_first to channels_last where needed",
                  evidence={"keras_version": artifact.keras_version, "backend": artifact.backend})
        return
    convs = [layer.path for layer in artifact.layers if "Conv" in layer.class_name]
    if backend not in LEGACY_BACKENDS or not convs:
        return  # Keras 2 stored every other kernel the same way under each backend
    # Keras 2 loads the file (tf_keras reads a 2.0.8 Theano .h5), but Theano convolves with flipped kernels.
    yield Hit(f"saved by Keras {artifact.keras_version} with the {backend} backend: it loads, but {len(convs)} "
              f"convolution layer(s) ({', '.join(convs[:3])}) hold kernels in {backend}'s flipped convention, so "
              "their outputs are wrong on TensorFlow until the kernels are flipped",
              location=convs[0],
              fix="After loading, flip each convolution kernel once and save again: "
                  "for layer in conv_layers: k, *rest = layer.get_weights(); "
                  "layer.set_weights([k[::-1, ::-1], *rest])",
              evidence={"keras_version": artifact.keras_version, "backend": artifact.backend, "breaks": []})


def backend_mismatch(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    # Only TFSMLayer reads KERAS_BACKEND here. A Keras 3 file saved under another backend is not flagged
    # for that alone: its weights and built-in layers load under every backend (observed for the JAX and
    # torch fixtures); backend-bound content has its own rules (KC505, KC506, KC507).
    target = env.keras_backend or "tensorflow"
    if artifact.format is not Format.saved_model or target == "tensorflow" or R.keras_major(env) != 3:
        return
    yield Hit(f"a TensorFlow SavedModel, but the target runs Keras on {target}: keras.layers.TFSMLayer raises "
              "NotImplementedError ('The TFSMLayer is only currently supported with the TensorFlow backend'); "
              "tf.saved_model.load does not read KERAS_BACKEND and still loads it",
              fix="KERAS_BACKEND=tensorflow python your_script.py  # or load it with tf.saved_model.load(path)",
              severity="error",
              evidence={"target_backend": target, "breaks": ["tfsmlayer"]}, key="savedmodel")


# Layers whose TensorFlow CPU kernels reject NCHW. Keras 3 (TF backend) transposes pooling and, in
# newer releases, depthwise/separable convolutions itself, and compiles 3D and grouped convolutions
# with XLA; plain 1D/2D (transposed) convolutions still reach tf.nn.convolution in NCHW.
KERAS3_NCHW_CPU = {"Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "Convolution1D", "Convolution2D"}
KERAS3_OLD_NCHW_CPU = KERAS3_NCHW_CPU | {"DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"}
KERAS2_NCHW_CPU = KERAS3_OLD_NCHW_CPU | {"MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                                        "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "Conv2DTranspose"}


def _failing_layers(env: Environment) -> set[str]:
    if R.keras_major(env) == 2:
        return KERAS2_NCHW_CPU
    return KERAS3_NCHW_CPU if R.keras_at_least(env, (3, 15)) else KERAS3_OLD_NCHW_CPU


def channels_first_cpu(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if not env.devices or any(d.device_type.upper() != "CPU" for d in env.devices):
        return
    if (env.keras_backend or "tensorflow") != "tensorflow" and R.framework(env) == "keras":
        return  # jax and torch run NCHW convolutions on CPU
    failing = _failing_layers(env)
    for layer in artifact.layers:
        fmt = layer.config.get("data_format") or layer.config.get("dim_ordering")
        if fmt not in ("channels_first", "th") or layer.class_name not in failing:
            continue
        yield Hit(f"{layer.class_name} '{layer.name}' uses channels_first (NCHW) and the target has only CPUs: "
                  f"predict/call fails with \"The {layer.class_name.replace('Convolution', 'Conv')} op currently only "
                  "supports the NHWC tensor format on the CPU\" (the load itself succeeds)",
                  location=layer.path, group="channels_first",
                  group_message="{n} layers ({locations}) use channels_first (NCHW) and the target has only CPUs: "
                                "predict/call fails with \"... op currently only supports the NHWC tensor format on "
                                "the CPU\" (the load itself succeeds)",
                  fix="Run on a GPU; or rebuild the model with data_format='channels_last', copy the weights "
                      "(kernels are layout-independent for Conv layers; transpose the Dense kernel after Flatten), "
                      "and feed NHWC inputs (np.transpose(x, (0, 2, 3, 1)))",
                  evidence={"data_format": fmt, "devices": [d.device_type for d in env.devices]})


def _policy_name(value) -> str | None:
    cfg = value.get("config") if isinstance(value, dict) else None
    return cfg.get("name") if isinstance(cfg, dict) else None


def mixed_precision_policy(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format is Format.saved_model:
        return  # the graph carries the policy's casts; TFSMLayer and tf.saved_model.load never rebuild it
    known = {c.name for c in R.pool(env) if c.kind == "dtype_policy"}
    label = R.keras_label(env)
    found: dict[tuple[str, str], list[str]] = {}

    def visit(value, where: str, depth: int = 0) -> None:
        if depth > 100:
            return
        if isinstance(value, dict):
            name = value.get("class_name")
            if name in R.POLICY_CLASSES:
                policy = str(_policy_name(value) or "")
                if name not in known and (name == "Policy" or policy.startswith("mixed_")):
                    found.setdefault((name, policy), []).append(where)
                return
            for key, item in value.items():
                visit(item, f"{where}.{key}" if where else key, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, f"{where}[{i}]", depth + 1)

    visit(artifact.config, "")
    for (name, policy), where in found.items():
        locations = [R.layer_of(artifact, w) for w in where]
        renamed = "DTypePolicy" if "DTypePolicy" in known else ("Policy" if "Policy" in known else "a string")
        yield Hit(f"{len(where)} layer dtype(s) are a serialized {name}('{policy}'); {label} has no {name} class "
                  f"(its dtype policies: {', '.join(sorted(known)) or 'none'}), so the load fails (Keras 3 reading a "
                  "Keras 2 Policy: \"'str' object has no attribute 'quantization_mode'\"; Keras 2: \"Could not locate "
                  f"class '{name}'\")",
                  location=locations[0],
                  fix=f"Load under the Keras that saved it; or rewrite each dtype to the string '{policy}' (or to "
                      f"{{'class_name': '{renamed}', 'config': {{'name': '{policy}'}}}}) before loading, then call "
                      f"keras.mixed_precision.set_global_policy('{policy}') and feed inputs of the matching dtype",
                  evidence={"class_name": name, "policy": policy, "layers": locations[:20]}, key=f"{name}:{policy}")


def fix_mixed_precision_policy(rewrite, artifact: Artifact, env: Environment, findings=()) -> None:
    """A serialized dtype policy class the target lacks becomes the one it has (DTypePolicy), same name."""
    from kcompat.checks._rewrite import object_dicts

    known = {c.name for c in R.pool(env) if c.kind == "dtype_policy"}
    for obj in list(object_dicts(rewrite.model)):
        name = obj.get("class_name")
        policy = _policy_name(obj)
        if name not in R.POLICY_CLASSES or name in known or not isinstance(policy, str):
            continue
        if "DTypePolicy" in known:
            obj.clear()
            obj.update({"module": "keras", "class_name": "DTypePolicy", "config": {"name": policy},
                        "registered_name": None})
        else:
            obj.clear()
            obj.update({"class_name": "Policy", "config": {"name": policy}})
        rewrite.change(f"dtype policy {name}('{policy}') written as {obj['class_name']}('{policy}')")


def h5_opaque_weights(artifact: Artifact, env) -> Iterator[Hit]:
    """Keras 3 writes bfloat16 weights into an .h5 as 2-byte opaque data (h5py has no bfloat16), and its
    legacy loader cannot cast them back: seen with Keras 3.15.1 on a model saved under the bfloat16 policy."""
    if artifact.format is not Format.hdf5_model or R.keras_major(env) != 3:
        return
    opaque = [w for w in artifact.weights if w.dtype.startswith("|V")]
    if opaque:
        yield Hit(f"{len(opaque)} weight(s) are stored as untyped {opaque[0].dtype[2:]}-byte values ({opaque[0].name} "
                  f"first), as h5py stores bfloat16: {R.keras_label(env)}'s legacy .h5 loader cannot cast them into the "
                  "layers' variables, so load_model raises 'ValueError: No cast function available.'",
                  location=opaque[0].name, evidence={"weights": [w.name for w in opaque[:50]], "dtype": opaque[0].dtype},
                  fix="Save the model as .keras (it keeps the bfloat16 dtype), or cast its variables to float32 "
                      "before saving the .h5")
