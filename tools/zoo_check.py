"""Save a zoo of common models with the installed Keras 3 and tf_keras, load each for real, and compare.

    .venv/bin/python tools/zoo_check.py [--out DIR] [--old PYTHON]

Every model is saved as .keras and .h5 by Keras 3 (``k3/``) and by tf_keras (``tk/``, TF_USE_LEGACY_KERAS=1),
plus SavedModels (``model.export``, ``tf.saved_model.save`` and tf_keras ``model.save(dir)``); with ``--old``, also
by another interpreter's TensorFlow and its own tf.keras (``tf/``: TF 2.15 writes what most models in the wild
are). Then one process
per loader (keras, keras-nocompile, tf_keras, tf_saved_model, tfsmlayer) loads every file in turn, and
``kcompat check`` judges the same files statically; each artifact x loader pair where the verdict and the real
load disagree is printed. Needs the reference venv (TensorFlow, keras, tf_keras); takes a few minutes.
Not a test: the files are written here, by the versions installed here, and thrown away.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOADERS = ("keras", "keras-nocompile", "tf_keras", "tf_saved_model", "tfsmlayer")

MAKE = r'''
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
which, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
import numpy as np
import tensorflow as tf
if which == "k3":
    import keras
    from keras import layers
elif which == "tf":  # an older TensorFlow's own tf.keras (Keras 2), from the interpreter given as --old
    from tensorflow import keras
    from tensorflow.keras import layers
    which = "tk"  # it builds what tf_keras builds
else:
    import tf_keras as keras
    from tf_keras import layers
S = keras.optimizers.schedules

def save(m, name, fmts=("keras", "h5")):
    for f in fmts:
        try:
            m.save(os.path.join(out, f"{name}.{f}"))
        except Exception as e:
            print("could not save", which, name, f, type(e).__name__, str(e)[:120])

def export(m, name):
    try:
        if which == "k3":
            m.export(os.path.join(out, name + "_export"))
            tf.saved_model.save(m, os.path.join(out, name + "_tfsave"))
        else:
            m.save(os.path.join(out, name + "_savedmodel"))
    except Exception as e:
        print("could not export", which, name, type(e).__name__, str(e)[:120])

def sq(*ls, inp=(4,)):
    return keras.Sequential([keras.Input(inp), *ls])

def dense():
    return sq(layers.Dense(3, activation="relu"), layers.Dense(1))

x, y = np.random.rand(8, 4).astype("float32"), np.random.rand(8, 1).astype("float32")
optimizers = {
    "adam_expdecay": lambda: keras.optimizers.Adam(learning_rate=S.ExponentialDecay(0.01, 100, 0.9)),
    "sgd_nesterov": lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "rmsprop_centered": lambda: keras.optimizers.RMSprop(centered=True, clipnorm=1.0),
    "nadam": lambda: keras.optimizers.Nadam(), "adagrad": lambda: keras.optimizers.Adagrad(),
    "adamax": lambda: keras.optimizers.Adamax(), "ftrl": lambda: keras.optimizers.Ftrl(),
    "adamw": lambda: keras.optimizers.AdamW(weight_decay=0.01),
}
for name, opt in optimizers.items():
    m = dense(); m.compile(optimizer=opt(), loss="mse"); save(m, f"opt_{name}")
m = dense(); m.compile(optimizer="adam", loss="mse"); m.fit(x, y, epochs=1, verbose=0); save(m, "trained_adam")
losses = {"bce_auc": (keras.losses.BinaryCrossentropy(), [keras.metrics.AUC(), keras.metrics.Precision()]),
          "huber": (keras.losses.Huber(delta=2.0), ["mae"]), "names": ("mean_absolute_error", ["mse"])}
for name, (loss, metrics) in losses.items():
    m = dense(); m.compile(optimizer="adam", loss=loss, metrics=metrics); save(m, f"loss_{name}")
models = {
    "conv": sq(layers.Conv2D(2, 3, padding="same"), layers.BatchNormalization(), layers.MaxPooling2D(2),
               layers.SpatialDropout2D(0.1), layers.GlobalAveragePooling2D(), layers.Dense(1), inp=(8, 8, 3)),
    "rnn": sq(layers.Masking(0.0), layers.GRU(3, return_sequences=True), layers.Bidirectional(layers.LSTM(2)),
              layers.Dense(1), inp=(5, 3)),
    "embedding": sq(layers.Embedding(20, 4, mask_zero=True), layers.LSTM(3), layers.Dense(1), inp=(7,)),
    "frozen_bn": sq(layers.Dense(3, trainable=False), layers.BatchNormalization(), layers.Dense(1)),
    "discretize": sq(layers.Discretization(bin_boundaries=[0.0, 1.0]), layers.CategoryEncoding(3), layers.Dense(1),
                     inp=(1,)),
}
q = keras.Input((5, 4)); v = keras.Input((6, 4))
o = layers.Dense(1)(layers.GlobalAveragePooling1D()(layers.Attention()([q, v])))
models["attention"] = keras.Model([q, v], o)
inp = keras.Input((5, 4)); a = layers.MultiHeadAttention(2, 2)(inp, inp)
models["mha"] = keras.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(layers.Add()([inp, a]))))
for name, m in models.items():
    m.compile(optimizer="adam", loss="mse"); save(m, f"layer_{name}")
    if name in ("conv", "rnn", "mha"):
        export(m, name)

def attempt(name, build, fmts=("keras", "h5"), compile_with=("adam", "mse")):
    try:
        m = build()
        if compile_with:
            m.compile(optimizer=compile_with[0], loss=compile_with[1], **(compile_with[2] if len(compile_with) > 2 else {}))
    except Exception as e:
        print("could not build", which, name, type(e).__name__, str(e)[:120])
        return
    save(m, name, fmts)

L = layers
wider = {
    "timedistributed": lambda: sq(L.TimeDistributed(L.Dense(2)), L.Flatten(), L.Dense(1), inp=(3, 4)),
    "convlstm": lambda: sq(L.ConvLSTM2D(2, 3, padding="same"), L.Flatten(), L.Dense(1), inp=(2, 6, 6, 1)),
    "convtranspose": lambda: sq(L.Conv1DTranspose(2, 3), L.UpSampling1D(2), L.Flatten(), L.Dense(1), inp=(6, 2)),
    "separable": lambda: sq(L.SeparableConv2D(2, 3), L.DepthwiseConv2D(3), L.ZeroPadding2D(1), L.Cropping2D(1),
                            L.UpSampling2D(2), L.Flatten(), L.Dense(1), inp=(9, 9, 2)),
    "norms": lambda: sq(L.LayerNormalization(), L.UnitNormalization(), L.Reshape((2, 2)),
                        L.GroupNormalization(groups=1), L.Flatten(), L.Dense(1)),
    "activations": lambda: sq(L.Dense(3, activation="gelu"), L.Dense(3, activation="swish"), L.LeakyReLU(),
                              L.PReLU(), L.ELU(), L.ReLU(max_value=6.0), L.Dense(3, activation="selu"),
                              L.Dense(3, activation="hard_sigmoid"), L.Softmax(), L.Dense(1, activation="softplus")),
    "noise_reg": lambda: sq(L.GaussianNoise(0.1), L.AlphaDropout(0.1),
                            L.Dense(3, kernel_regularizer=keras.regularizers.L1L2(0.01, 0.01),
                                    kernel_constraint=keras.constraints.MaxNorm(2.0),
                                    kernel_initializer=keras.initializers.Orthogonal()),
                            L.ActivityRegularization(0.01), L.Dense(1)),
    "repeat_permute": lambda: sq(L.RepeatVector(3), L.Permute((2, 1)), L.Flatten(), L.Dense(1)),
    "preprocess_img": lambda: sq(L.Rescaling(1 / 255.0), L.Resizing(6, 6), L.RandomFlip(), L.RandomRotation(0.1),
                                 L.Conv2D(2, 3), L.Flatten(), L.Dense(1), inp=(8, 8, 3)),
    "lambda": lambda: sq(L.Lambda(lambda t: t * 2.0), L.Dense(1)),
}
def normalization():
    n = L.Normalization(); n.adapt(np.random.rand(16, 4).astype("float32")); return sq(n, L.Dense(1))
wider["normalization"] = normalization
def text():
    tv = L.TextVectorization(max_tokens=20, output_sequence_length=4); tv.adapt(["a b c", "b c d e"])
    i = keras.Input((), dtype="string"); return keras.Model(i, L.Dense(1)(L.Embedding(20, 2)(tv(i))[:, 0]))
wider["textvectorization"] = text
def lookups():
    i = keras.Input((1,), dtype="string"); j = keras.Input((1,), dtype="int64")
    s = L.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")(i)
    n = L.IntegerLookup(vocabulary=[3, 5], output_mode="one_hot")(j)
    h = L.Hashing(4, output_mode="one_hot")(i)
    return keras.Model([i, j], L.Dense(1)(L.Concatenate()([L.Flatten()(s), L.Flatten()(n), L.Flatten()(h)])))
wider["lookups"] = lookups
def nested():
    inner = sq(L.Dense(3), L.Dense(2)); shared = L.Dense(2)
    a = keras.Input((4,)); b = keras.Input((4,))
    return keras.Model([a, b], L.Dense(1)(L.Dot(axes=1)([shared(inner(a)), shared(inner(b))])))
wider["nested_shared"] = nested
for name, build in wider.items():
    attempt(f"wide_{name}", build)
def multi():
    i = keras.Input((4,)); h = L.Dense(3)(i)
    return keras.Model(i, {"reg": L.Dense(1, name="reg")(h), "cls": L.Dense(2, activation="softmax", name="cls")(h)})
attempt("multi_output", multi, compile_with=("adam", {"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        {"loss_weights": {"reg": 1.0, "cls": 0.5}, "metrics": {"reg": ["mae"], "cls": ["accuracy"]}}))
more_losses = {
    "focal": lambda: keras.losses.CategoricalFocalCrossentropy(),
    "sparse_logits": lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    "kld": lambda: keras.losses.KLDivergence(), "cosine": lambda: keras.losses.CosineSimilarity(axis=-1),
    "logcosh": lambda: keras.losses.LogCosh(),
}
for name, loss in more_losses.items():
    attempt(f"loss2_{name}", dense, compile_with=("adam", loss()))
more_metrics = {"f1": lambda: keras.metrics.F1Score(), "r2": lambda: keras.metrics.R2Score(),
                "topk": lambda: keras.metrics.TopKCategoricalAccuracy(k=1), "iou": lambda: keras.metrics.MeanIoU(2)}
for name, metric in more_metrics.items():
    attempt(f"metric_{name}", dense, compile_with=("adam", "mse", {"metrics": [metric()]}))
more_opts = {
    "lion": lambda: keras.optimizers.Lion(), "adafactor": lambda: keras.optimizers.Adafactor(),
    "cosine_warmup": lambda: keras.optimizers.Adam(S.CosineDecay(0.0, 100, warmup_target=0.01, warmup_steps=10)),
    "cosine": lambda: keras.optimizers.Adam(S.CosineDecay(0.01, 100)),
    "piecewise": lambda: keras.optimizers.SGD(S.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001])),
    "polynomial": lambda: keras.optimizers.SGD(S.PolynomialDecay(0.1, 100)),
    "inverse_time": lambda: keras.optimizers.SGD(S.InverseTimeDecay(0.1, 10, 0.5)),
    "restarts": lambda: keras.optimizers.SGD(S.CosineDecayRestarts(0.1, 10)),
}
for name, opt in more_opts.items():
    attempt(f"opt2_{name}", dense, compile_with=(opt(), "mse"))
keras.mixed_precision.set_global_policy("mixed_float16")
attempt("mixed_float16", lambda: sq(L.Dense(3), L.Dense(1, dtype="float32")))
keras.mixed_precision.set_global_policy("float32")
@keras.saving.register_keras_serializable(package="zoo") if which == "k3" else keras.utils.register_keras_serializable(package="zoo")
class Scale(L.Layer):
    def __init__(self, factor=2.0, **kw):
        super().__init__(**kw); self.factor = factor
    def call(self, t):
        return t * self.factor
    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
attempt("custom_registered", lambda: sq(Scale(), L.Dense(1)))
more = {
    "rnn_cells": lambda: sq(L.RNN([L.LSTMCell(3), L.GRUCell(2)]), L.Dense(1), inp=(5, 3)),
    "simple_rnn": lambda: sq(L.SimpleRNN(3, return_sequences=True), L.Bidirectional(L.GRU(2)), L.Dense(1), inp=(5, 3)),
    "conv3d": lambda: sq(L.Conv3D(2, 2), L.AveragePooling3D(1), L.GlobalMaxPooling3D(), L.Dense(1), inp=(4, 4, 4, 1)),
    "conv2d_transpose": lambda: sq(L.Conv2DTranspose(2, 3, strides=2), L.UpSampling2D(interpolation="bilinear"),
                                   L.GlobalAveragePooling2D(), L.Dense(1), inp=(4, 4, 1)),
    "timedistributed_conv": lambda: sq(L.TimeDistributed(L.Conv2D(2, 3)), L.TimeDistributed(L.Flatten()),
                                       L.LSTM(2), L.Dense(1), inp=(3, 6, 6, 1)),
    "masking_embedding": lambda: sq(L.Embedding(30, 4, embeddings_regularizer="l2", mask_zero=True),
                                    L.GlobalAveragePooling1D(), L.Dense(1), inp=(6,)),
    "category_encoding": lambda: sq(L.CategoryEncoding(5, output_mode="multi_hot"), L.Dense(1), inp=(3,)),
    "augment": lambda: sq(L.RandomZoom(0.1), L.RandomContrast(0.1), L.RandomTranslation(0.1, 0.1), L.Flatten(),
                          L.Dense(1), inp=(8, 8, 3)),
    "rescaling_list": lambda: sq(L.Rescaling([0.5, 0.25, 1.0], offset=[0.0, 0.1, 0.0]), L.Flatten(), L.Dense(1),
                                 inp=(2, 2, 3)),
    "normalization_given": lambda: sq(L.Normalization(mean=[0.5] * 4, variance=[2.0] * 4), L.Dense(1)),
    "dot_normalize": lambda: (lambda a, b: keras.Model([a, b], L.Dense(1)(L.Dot(axes=1, normalize=True)([a, b]))))(
        keras.Input((4,)), keras.Input((4,))),
    "dict_inputs": lambda: (lambda a, b: keras.Model({"a": a, "b": b}, L.Dense(1)(L.Concatenate()([a, b]))))(
        keras.Input((4,), name="a"), keras.Input((2,), name="b")),
    "unbuilt": lambda: keras.Sequential([L.Dense(3), L.Dense(1)]),
    "identity_minmax": lambda: sq(L.Dense(3, kernel_constraint=keras.constraints.MinMaxNorm(0.1, 1.0),
                                          bias_constraint=keras.constraints.NonNeg()),
                                  L.Dense(1, kernel_initializer=keras.initializers.HeNormal(seed=1))),
}
for name, build in more.items():
    attempt(f"more_{name}", build)
def no_opt():
    m = dense(); m.compile(optimizer="adam", loss="mse")
    try:
        m.save(os.path.join(out, "more_no_optimizer.h5"), include_optimizer=False)
    except Exception as e:
        print("could not save", which, "more_no_optimizer", type(e).__name__, str(e)[:120])
no_opt()
@(keras.saving.register_keras_serializable(package="zoo") if which == "k3" else keras.utils.register_keras_serializable(package="zoo"))
class TwoDense(keras.Model):
    def __init__(self, **kw):
        super().__init__(**kw); self.a = L.Dense(3); self.b = L.Dense(1)
    def call(self, t):
        return self.b(self.a(t))
m = TwoDense(); m(np.zeros((1, 4), "float32")); m.compile(optimizer="adam", loss="mse")
save(m, "more_subclassed_model", ("keras",))
P = keras.ops if which == "k3" else tf  # operations on symbolic tensors: Keras 3 ops, tf_keras TFOpLambda
operations = {"add_const": lambda x: x + 3.0, "mul_tensors": lambda x: x * L.Dense(4)(x),
              "concat": lambda x: P.concat([x, x], -1) if which == "tk" else P.concatenate([x, x], axis=-1),
              "relu": lambda x: tf.nn.relu(x) if which == "tk" else P.relu(x),
              "mean": lambda x: P.reduce_mean(x, -1, keepdims=True) if which == "tk" else P.mean(x, -1, keepdims=True)}
for name, op in operations.items():
    def build(op=op):
        i = keras.Input((4,)); return keras.Model(i, L.Dense(1)(op(i)))
    attempt(f"op_{name}", build)
apps = {"mobilenetv2": lambda: keras.applications.MobileNetV2((32, 32, 3), alpha=0.35, weights=None, classes=3),
        "mobilenetv3": lambda: keras.applications.MobileNetV3Small((32, 32, 3), weights=None, classes=3),
        "efficientnetb0": lambda: keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=3)}
for name, build in apps.items():
    attempt(f"app_{name}", build, compile_with=("adam", "categorical_crossentropy"))
if which == "k3":
    keras.mixed_precision.set_global_policy("bfloat16")
    m = sq(layers.Dense(3), layers.Dense(1, dtype="float32")); m.compile(optimizer="adam", loss="mse"); save(m, "bf16")
    keras.mixed_precision.set_global_policy("float32")
    m = sq(layers.Dense(8), layers.Dense(1)); m.quantize("int8"); save(m, "quantized_int8", ("keras",))
'''

LOAD = r'''
import os, sys, json, glob
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
loader, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
if loader == "tf_keras":
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras
    load = tf_keras.models.load_model
elif loader == "tf_saved_model":
    import tensorflow as tf
    load = tf.saved_model.load
elif loader == "tfsmlayer":
    import keras
    load = lambda p: keras.layers.TFSMLayer(p, call_endpoint="serving_default")
else:
    import keras
    load = lambda p: keras.saving.load_model(p, compile=loader == "keras")
done = {}
for path in sorted(glob.glob(os.path.join(root, "*", "*"))):
    if loader in ("tf_saved_model", "tfsmlayer") and not os.path.isdir(path):
        continue
    try:
        load(path)
        done[path] = [True, ""]
    except BaseException as exc:
        text = str(exc)
        done[path] = [False, f"{type(exc).__name__}: {text.split(chr(10))[0][:160]} "
                             f"{text.split('Exception encountered:')[-1].strip()[:160] if 'Exception encountered:' in text else ''}"]
json.dump(done, open(out, "w"))
'''


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, **kw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="where to write the zoo (default: a temporary folder)")
    parser.add_argument("--old", metavar="PYTHON", help="also save the zoo with this interpreter's TensorFlow and its "
                                                         "tf.keras (a venv with tensorflow 2.15, say), into tf/")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="kcompat-zoo-"))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    makers = [(sys.executable, "k3", {}), (sys.executable, "tk", {"TF_USE_LEGACY_KERAS": "1"})]
    for python, which, extra in makers + ([(args.old, "tf", {})] if args.old else []):
        made = run([python, "-c", MAKE, which, str(out / which)], env=env | extra)
        print("\n".join(line for line in made.stdout.splitlines() if line.startswith("could not")))
    real = {}
    for loader in LOADERS:
        target = out / f"real_{loader}.json"
        run([sys.executable, "-c", LOAD, loader, str(out), str(target)], env=env)
        real[loader] = json.loads(target.read_text()) if target.exists() else {}
    report = out / "static.json"
    run([sys.executable, "-m", "kcompat", "check", *(str(p) for p in sorted(out.iterdir()) if p.is_dir()),
         "--json", str(report), "-q",
         "--python", sys.executable], cwd=ROOT, env=env | {"PYTHONPATH": str(ROOT)})
    pairs = wrong = 0
    for entry in json.loads(report.read_text())["artifacts"]:
        path = str(Path(entry["artifact"]["path"]).resolve())
        for verdict in entry["verdict"]:
            seen = real.get(verdict["loader"], {}).get(path)
            if seen is None:
                continue
            pairs += 1
            if verdict["ok"] != seen[0]:
                wrong += 1
                said = "loads" if verdict["ok"] else f"fails ({', '.join(verdict['codes'])})"
                print(f"DISAGREE {Path(path).relative_to(out)} [{verdict['loader']}]: kcompat says it {said}; "
                      f"the real load {'succeeds' if seen[0] else 'raises ' + seen[1]}")
    print(f"{pairs - wrong}/{pairs} artifact x loader pairs agree (files in {out})")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
