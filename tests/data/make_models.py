"""Save small models in every format with the installed TF/Keras and print what was saved as JSON.

Run by tests/test_real_artifacts.py in a subprocess; the test process never imports TensorFlow.
"""

import json
import os
import shutil
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

out = sys.argv[1]
truth = {"keras": keras.__version__, "tensorflow": tf.__version__, "files": {}}


def record(name, fmt, model=None, signatures=None, **extra):
    entry = {"format": fmt, **extra}
    if model is not None:
        entry["layers"] = [layer.__class__.__name__ for layer in model.layers]
        entry["model_class"] = model.__class__.__name__
    if signatures is not None:
        entry["signatures"] = sorted(signatures)
    truth["files"][name] = entry


def p(name):
    return os.path.join(out, name)


inp = keras.Input((6, 4), name="seq")
x = keras.layers.Bidirectional(keras.layers.LSTM(3))(inp)
inner = keras.Sequential([keras.layers.Dense(5, activation="relu"), keras.layers.Dense(2)], name="head")
a = inner(x)
b = keras.layers.TimeDistributed(keras.layers.Dense(2), name="td")(inp)
nested = keras.Model(inp, [a, b], name="nested")
nested.compile(optimizer="adam", loss="mse")

simple = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)], name="simple")
simple.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
simple.fit(np.zeros((4, 4)), np.zeros((4, 2)), verbose=0)

nested.save(p("nested.keras"))
record("nested.keras", "keras-zip", nested)
simple.save(p("simple.h5"))
record("simple.h5", "hdf5-model", simple, optimizer="Adam", loss="mse")
shutil.copy(p("simple.h5"), p("simple_h5_named.bin"))
record("simple_h5_named.bin", "hdf5-model", simple)
simple.save(p("simple.keras"))
record("simple.keras", "keras-zip", simple, optimizer="Adam", loss="mse")
shutil.copy(p("simple.keras"), p("simple_keras_named.h5"))
record("simple_keras_named.h5", "keras-zip", simple)
with zipfile.ZipFile(p("simple.keras")) as zf:
    zf.extractall(p("simple_unzipped"))
record("simple_unzipped", "keras-dir", simple)
simple.save_weights(p("simple.weights.h5"))
record("simple.weights.h5", "hdf5-weights-v3", weight_count=4)
with open(p("simple.json"), "w") as fh:
    fh.write(simple.to_json())
record("simple.json", "json-config", simple)
simple.export(p("simple_export"))
sigs = list(tf.saved_model.load(p("simple_export")).signatures.keys())
record("simple_export", "saved-model", signatures=sigs, tensorflow=tf.__version__)


class Adder(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="a"), tf.TensorSpec([None, 3], tf.int32, name="b")])
    def add(self, a, b):
        return {"sum": a + tf.cast(b, tf.float32)}


adder = Adder()
tf.saved_model.save(adder, p("adder_sm"), signatures={"add_two": adder.add})
record("adder_sm", "saved-model", signatures=list(tf.saved_model.load(p("adder_sm")).signatures.keys()),
       inputs={"a": ["float32", [None, 3]], "b": ["int32", [None, 3]]})
os.makedirs(p("ckpt"))
tf.train.Checkpoint(model=simple).save(p("ckpt/model"))
record("ckpt", "tf-checkpoint")
record("ckpt/model-1", "tf-checkpoint")
record("ckpt/model-1.index", "tf-checkpoint")
tflite = tf.lite.TFLiteConverter.from_saved_model(p("simple_export")).convert()
with open(p("simple.tflite"), "wb") as fh:
    fh.write(tflite)
record("simple.tflite", "tflite")
print(json.dumps(truth))
