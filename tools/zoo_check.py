"""Save a zoo of common models with the installed Keras 3 and tf_keras, load each for real, and compare.

    .venv/bin/python tools/zoo_check.py [--out DIR] [--keep]

Every model is saved as .keras and .h5 by Keras 3 (``k3/``) and by tf_keras (``tk/``, TF_USE_LEGACY_KERAS=1),
plus SavedModels (``model.export``, ``tf.saved_model.save`` and tf_keras ``model.save(dir)``). Then one process
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
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="kcompat-zoo-"))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    for which, extra in (("k3", {}), ("tk", {"TF_USE_LEGACY_KERAS": "1"})):
        made = run([sys.executable, "-c", MAKE, which, str(out / which)], env=env | extra)
        print("\n".join(line for line in made.stdout.splitlines() if line.startswith("could not")))
    real = {}
    for loader in LOADERS:
        target = out / f"real_{loader}.json"
        run([sys.executable, "-c", LOAD, loader, str(out), str(target)], env=env)
        real[loader] = json.loads(target.read_text()) if target.exists() else {}
    report = out / "static.json"
    run([sys.executable, "-m", "kcompat", "check", str(out / "k3"), str(out / "tk"), "--json", str(report), "-q",
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
