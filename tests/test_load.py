"""Guarded load (kcompat.load): real subprocesses, real tf.distribute strategies, no mocks.

The test process never imports TF/Keras: models are built by a subprocess of the reference venv
(``KC_TEST_PYTHON``, default /work/main/.venv/bin/python) and every load runs in kcompat's workers.
Fast tests (classifier table, comparison, import boundary) need no TF. TF tests are marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kcompat.load import compare_outputs, run_matrix, tolerance
from kcompat.load.classify import TABLE, classify, is_safe_mode_refusal

REPO = Path(__file__).resolve().parents[1]
VENV_PY = os.environ.get("KC_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))
ALL4 = ["default", "one-device-cpu", "mirrored", "multi-worker"]

# ----------------------------------------------------------------------------------------------
# Classifier: one case per row, each a message OBSERVED with TF 2.21.0 / Keras 3.15.1 / tf_keras
# 2.21.0 in /work/main/.venv (Python 3.11), unless marked as quoted from FAILURE_MODES.md.
# ----------------------------------------------------------------------------------------------
OBSERVED = [
    # keras.saving.load_model(<SavedModel dir exported by Model.export>)
    (
        "File format not supported: filepath=/tmp/kc/small_sm. Keras 3 only supports V3 `.keras` files, legacy H5 "
        "format files (`.h5` extension). Note that the legacy SavedModel format is not supported by `load_model()` "
        "in Keras 3. In order to reload a TensorFlow SavedModel as an inference-only layer in Keras 3, use "
        "`keras.layers.TFSMLayer(/tmp/kc/small_sm, call_endpoint='serving_default')`",
        None, "saved-model", "KC204",
    ),
    # keras.saving.load_model(<tf.train.Checkpoint prefix>)
    (
        "File format not supported: filepath=/tmp/kc/ckpt/ck. Keras 3 only supports V3 `.keras` files, legacy H5 "
        "format files (`.h5` extension).",
        None, "tf-checkpoint", "KC108",
    ),
    # keras.saving.load_model(<model.save_weights('x.weights.h5')>)
    ("No model config found in the file at /tmp/kc/small.weights.h5.", None, "hdf5-weights-v3", "KC107"),
    # keras.saving.load_model(<Keras 3.15 .h5 compiled with loss='mse'>, compile=True)
    ("Could not deserialize 'keras.metrics.mse' because it is not a KerasSaveable subclass", None, "hdf5-model", "KC404"),
    # load_model on the first half of a real .h5 file
    (
        "Unable to synchronously open file (truncated file: eof = 9416, sblock->base_addr = 0, stored_eof = 18832)",
        None, "hdf5-model", "KC102",
    ),
    # load_model on a git-LFS pointer saved as .h5 (h5py message; kcompat's static rule names KC101,
    # the load-time text alone cannot tell LFS from any non-HDF5 file, so it lands on KC102)
    ("Unable to synchronously open file (file signature not found)", None, "hdf5-model", "KC102"),
    # what a worker reports when it is handed the pointer text itself
    ("version https://git-lfs.github.com/spec/v1 oid sha256:abc", None, "hdf5-model", "KC101"),
    # tf.saved_model.load(<tf.Module saved without signatures>).signatures['serving_default']
    ("serving_default", "KeyError", "saved-model", "KC601"),
    # keras.layers.Dense.from_config({... 'batch_input_shape': ..., 'bogus': 1})
    (
        "Error when deserializing class 'Dense' using config={'units': 2, 'batch_input_shape': [None, 3], "
        "'bogus': 1, 'quantization_config': None}.\n\nException encountered: Unrecognized keyword arguments "
        "passed to Dense: {'batch_input_shape': [None, 3], 'bogus': 1}",
        "TypeError", "keras-zip", "KC302",
    ),
    # keras.optimizers.deserialize({'class_name': 'Adam', 'config': {'lr': 0.1, 'decay': 0.01}})
    ("Argument(s) not recognized: {'lr': 0.1}", "ValueError", "hdf5-model", "KC402"),
    # keras.optimizers.get('Custom>Adam') (Keras 3 wording; Keras 2 said "Unknown optimizer: Custom>Adam")
    ("Could not interpret optimizer identifier: Custom>Adam", "ValueError", "hdf5-model", "KC401"),
    # keras.saving.deserialize_keras_object({'module': 'mylayers', 'class_name': 'Scale', ...})
    (
        "Could not locate class 'Scale'. Make sure custom classes and functions are decorated with "
        "`@keras.saving.register_keras_serializable()`.",
        "TypeError", "keras-zip", "KC301",
    ),
    # marshal.loads(b'\xff\x00garbage') (what Lambda code from another Python version gives)
    ("bad marshal data (unknown type code)", "ValueError", "hdf5-model", "KC206"),
    # tf_keras.models.load_model(<Keras 3.15 .keras zip>) -- seen in this file's matrix runs
    (
        "Could not deserialize class 'Functional' because its parent module tf_keras.src.models.functional "
        "cannot be imported. Full object config: {'module': 'keras.src.models.functional', 'class_name': "
        "'Functional', ...}",
        "TypeError", "keras-zip", "KC203",
    ),
    # keras.saving.deserialize_keras_object({'module': 'keras.src.engine.functional', ...}) (Keras 2.13-2.15 files)
    (
        "Could not deserialize class 'Functional' because its parent module keras.src.engine.functional cannot "
        "be imported.",
        "TypeError", "keras-zip", "KC203",
    ),
    # tf.raw_ops.AddV2(x=float16, y=float32) in eager mode
    (
        "cannot compute AddV2 as input #1(zero-based) was expected to be a half tensor but is a float tensor "
        "[Op:AddV2] name: ",
        "InvalidArgumentError", "saved-model", "KC504",
    ),
    # tf.nn.conv2d(..., data_format='NCHW') on CPU
    (
        "{{function_node __wrapped__Conv2D_device_/job:localhost/replica:0/task:0/device:CPU:0}} The Conv2D op "
        "currently only supports the NHWC tensor format on the CPU. The op was given the format: NCHW [Op:Conv2D]",
        "UnimplementedError", "saved-model", "KC503",
    ),
    # Keras 3 model.fit under MultiWorkerMirroredStrategy (numpy AND tf.data input), 2 workers on 127.0.0.1
    (
        "Attempt to convert a value (PerReplica:{\n  0: <tf.Tensor: shape=(1, 4), dtype=float32, numpy=...>\n}) "
        "with an unsupported type (<class 'tensorflow.python.distribute.values.PerReplica'>) to a Tensor.",
        "ValueError", "keras-zip", "KC809",
    ),
    # keras.saving.load_model(<.keras with a Lambda>, safe_mode=True) -- seen in test_safe_mode_refusal
    (
        "Requested the deserialization of a `Lambda` layer whose `function` is a Python lambda. This carries a "
        "potential risk of arbitrary code execution and thus it is disallowed by default. If you trust the "
        "source of the artifact, you can override this error by passing `safe_mode=False` to the loading "
        "function, or calling `keras.config.enable_unsafe_deserialization().",
        "ValueError", "keras-zip", "KC701",
    ),
    # Keras 3 load_model of fixtures/tf2.15/seq_compiled.keras (a Keras 2.15 .keras): the outer message
    # names keras.src.models (NOT KC203); the innermost "Exception encountered:" is the real cause
    (
        "<class 'keras.src.models.sequential.Sequential'> could not be deserialized properly. Please ensure that "
        "components that are Python object instances (layers, models, etc.) returned by `get_config()` are "
        "explicitly deserialized in the model's `from_config()` method.\n\nconfig={'module': 'keras.layers', "
        "'class_name': 'Dense', 'config': {'name': 'dense', 'batch_input_shape': [None, 4], 'units': 4}}.\n\n"
        "Exception encountered: Error when deserializing class 'Dense' using config={'name': 'dense', "
        "'batch_input_shape': [None, 4], 'units': 4, 'quantization_config': None}.\n\nException encountered: "
        "Unrecognized keyword arguments passed to Dense: {'batch_input_shape': [None, 4]}",
        "TypeError", "keras-zip", "KC302",
    ),
    # Keras 3 load_model of fixtures/tf2.15/custom_unregistered.h5 (custom activation function)
    (
        "Error when deserializing class 'Dense' using config={'name': 'dense_9', 'activation': {'module': "
        "'builtins', 'class_name': 'function', 'config': 'my_activation', 'registered_name': 'function'}}.\n\n"
        "Exception encountered: Could not locate function 'my_activation'. Make sure custom classes and functions "
        "are decorated with `@keras.saving.register_keras_serializable()`.",
        "TypeError", "hdf5-model", "KC301",
    ),
    # tf_keras.models.load_model of fixtures/tf2.15/custom_unregistered_savedmodel
    (
        'Unable to restore custom object of class "MyMetric" (type _tf_keras_metric). Please make sure that this '
        "class is included in the `custom_objects` arg when calling `load_model()`.",
        "ValueError", "saved-model", "KC301",
    ),
    # keras.layers.TFSMLayer(fixtures/tf2.15/subclassed_uncalled_savedmodel, call_endpoint='serving_default')
    (
        "The endpoint 'serving_default' is neither an attribute of the reloaded SavedModel, nor an entry in the "
        "`signatures` field of the reloaded SavedModel. Select another endpoint via the `call_endpoint` argument.",
        "ValueError", "saved-model", "KC601",
    ),
    # Quoted from FAILURE_MODES.md (not reproducible with the reference venv): Keras 2 / TF runtime wording
    ("Unknown layer: 'Scale'. Please ensure you are using a `keras.utils.custom_object_scope`", None, "hdf5-model", "KC301"),
    ("Unknown optimizer: Custom>Adam", None, "hdf5-model", "KC401"),
    ("decay is deprecated in the new Keras optimizer, please check the docstring", None, "hdf5-model", "KC402"),
    ("Keyword argument not understood: data_format", None, "hdf5-model", "KC302"),
    ("Op type not registered 'CaseFoldUTF8' in binary running on host", None, "saved-model", "KC604"),
    ("NodeDef mentions attr 'explicit_paddings' not in Op<name=Conv2D>", None, "saved-model", "KC605"),
    # tf_saved_model of keras3.15-jax/seq_compiled_export in TF 2.12.0 (fixtures/observed_releases/tf2.12.0.json)
    ("NodeDef missing attr 'dim_args_spec' from Op<name=XlaCallModule; signature=args: -> output:; attr=version:int; "
     "attr=module:string; attr=Sout:list(shape),min=0; attr=Tout:list(type),min=0; attr=Tin:lis", "ValueError",
     "saved-model", "KC608"),
    ("'_UserObject' object has no attribute 'add_slot'", "AttributeError", "saved-model", "KC606"),
    # tf.saved_model.load (TF 2.21) of a real TF1 export, Ekkalak-T/word_segmentation export/ at ba5387f
    ("A SavedModel signature needs an input for each placeholder the signature's outputs use. An output for signature "
     "'word_segmentation' depends on a placeholder which is not an input (i.e. the placeholder is not fed a value).",
     "UnliftableError", "saved-model", "KC609"),
    # tf_keras 2.21 load_model of a real Keras 2.5 SavedModel, Tsmith5151/recommendation-systems models/ at 4ff0014
    ("Found 1 Python objects that were not bound to checkpointed values, likely due to changes in the Python program. "
     "Showing 1 of 1 unmatched objects: [<tensorflow.python.ops.lookup_ops.MutableHashTable object at 0x7f78c77d5c90>]",
     "AssertionError", "saved-model", "KC223"),
    # keras-nocompile and tf_keras of a real Keras 2.0.4 GRU classifier, CSE5393/Lab9 gru.h5
    ("{{function_node __wrapped__StatelessRandomUniformIntV2_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
     "Need minval < maxval, got 0 >= 0 [Op:StatelessRandomUniformIntV2] name:", "InvalidArgumentError", "hdf5-model",
     "KC224"),
    ("Cannot convert -0.05 to EagerTensor of dtype int32", "TypeError", "hdf5-model", "KC224"),
    # keras of the same file once KC224 was repaired (kcompat fix's proof)
    ("Shape mismatch in layer #1 (named gru_2)for weight gru_2/gru_cell/bias. Weight expects shape (2, 150). Received "
     "saved weight with shape (150,)", "ValueError", "hdf5-model", "KC225"),
    ("Input 'y' of 'AddV2' Op has type float16 that does not match type float32 of argument 'x'.", None, "saved-model", "KC504"),
    ("SystemError: unknown opcode", None, "hdf5-model", "KC206"),
    ("something nobody has seen before", None, "keras-zip", "KC801"),
    # From fixtures/manifest.json, recorded by real loads in the reference environment (observe.py):
    # keras_compile of tf2.12/mixed_float16.h5
    ("'str' object has no attribute 'quantization_mode'", "AttributeError", "hdf5-model", "KC504"),
    # keras_compile of tf2.12/seq_compiled.keras (HDF5 content under a .keras name)
    ("File not found: filepath=<fixtures>/tf2.12/seq_compiled.keras. Please ensure the file is an accessible "
     "`.keras` zip file.", "ValueError", "hdf5-model", "KC119"),
    # tf_keras of tf2.15/subclassed_uncalled_savedmodel
    ("Unable to create a TF-Keras model from SavedModel at <fixtures>/tf2.15/subclassed_uncalled_savedmodel. This "
     "SavedModel was exported with `tf.saved_model.save`, and lacks the TF-Keras metadata file.", "ValueError",
     "saved-model", "KC208"),
    # keras_compile of wild/ikukang__DeepLearningWithPythonKeras/mnist_cnn.h5 (Keras 2.3.1, Conv2D first)
    ("Kernel shape must have the same length as input, but received kernel of shape (3, 3, 1, 32) and input of "
     "shape (None, None, 28, 28, 1).", "ValueError", "hdf5-model", "KC217"),
    # keras.saving.load_model (Keras 3.15.1) of keras.applications.MobileNetV3Small saved to .h5 by Keras 3.15.1
    ("Only input tensors may be passed as positional arguments. The following argument value should be passed as a "
     "keyword argument: 3.0 (of type <class 'float'>)", "ValueError", "hdf5-model", "KC218"),
    # keras.saving.load_model (Keras 3.15.1) of a Keras 3.15.1 .h5 holding x + y of two tensors
    ("too many positional arguments", "TypeError", "hdf5-model", "KC218"),
    # tf_keras.models.load_model (tf_keras 2.21.0) of a tf_keras .h5 holding an adapted StringLookup
    ("Save or restore weights that is not an instance of `tf.Variable` is not supported in h5, use "
     "`save_format='tf'` instead. Received a model or layer StringLookup with weights", "NotImplementedError",
     "hdf5-model", "KC219"),
    # keras.saving.load_model (Keras 3.15.1) of the same file: its StringLookup holds batch_input_shape
    ("Error when deserializing class 'StringLookup' using config={'name': 'string_lookup_1', 'trainable': True}."
     "\n\nException encountered: Unrecognized keyword argument(s): {'input_shape': [None]}", "TypeError",
     "hdf5-model", "KC302"),
    # keras.saving.load_model (Keras 3.15.1) of a Keras 2.0.9 .h5 holding Bidirectional(LSTM) (erincmer/AdvGan)
    ("Could not locate class 'LSTM'. Make sure custom classes and functions are decorated with "
     "`@keras.saving.register_keras_serializable()`.", "TypeError", "hdf5-model", "KC220"),
    # keras.saving.load_model (Keras 3.15.1) of a Keras 2.2.5 seq2seq .h5 (udnet96/lstm_seq2seq s2s.h5)
    ('Layer "lstm_2" expects 1 input(s), but it received 3 input tensors. Inputs received: [<KerasTensor shape=(None, '
     'None, 101), dtype=float32, sparse=False, ragged=False, name=input_2>', "ValueError", "hdf5-model", "KC221"),
    # keras_compile of wild/dusanstanojeviccs__cart-pole-system-keras/dqn_weights.h5f (keras-rl weights)
    ("File format not supported: filepath=<fixtures>/wild/dusanstanojeviccs__cart-pole-system-keras/dqn_weights.h5f. "
     "Keras 3 only supports V3 `.keras` files, legacy H5 format files (`.h5` extension).", "ValueError",
     "hdf5-weights", "KC119"),
    # keras_compile of wild/csci-599-applied-ml-for-games__ZeroGo/models/AlphaGo/alphago_valuev1-2-6.h5 (a Go bot's
    # own HDF5 layout: /encoder and /model/kerasmodel, no model_config at the root)
    ("No model config found in the file at <fixtures>/wild/csci-599-applied-ml-for-games__ZeroGo/models/AlphaGo/"
     "alphago_valuev1-2-6.h5.", "ValueError", "hdf5-other", "KC120"),
    # keras_compile of tf2.12/nested.h5
    ("Invalid Functional model configuration. The graph of the Functional model either has loops or disconnected "
     "nodes. The following nodes failed to be resolved: {<Functional name=inner_fn, built=True>: [[", "ValueError",
     "hdf5-model", "KC207"),
    # keras 3.3.3 of a real Keras 3.10 siamese .h5 (momen28121993/attendance_system), whose Lambda reads 'tf'
    ("Exception encountered when calling Lambda.call().\n\nWe could not automatically infer the shape of the "
     "Lambda's output. Please specify the `output_shape` argument for this Lambda layer.", "NotImplementedError",
     "hdf5-model", "KC505"),
    # tf_keras of tf2.13/two_dense.keras (tf.keras 2.13's '_layer_checkpoint_dependencies/' layout)
    ("Layer 'dense' expected 2 variables, but received 0 variables during loading. Expected: ['dense/kernel:0', "
     "'dense/bias:0']", "ValueError", "keras-zip", "KC212"),
    # keras.models.model_from_json of fixtures/tf2.15/seq_compiled.json (Keras 3.15.1)
    ("Could not locate class 'Sequential'. Make sure custom classes and functions are decorated with "
     "`@keras.saving.register_keras_serializable()`.", "TypeError", "json-config", "KC211"),
    # keras_compile of wild/12end__evil_keras/model.keras (object arrays and a pickle in model.weights.npz)
    ("This file contains pickled (object) data. If you trust the file you can load it unsafely using the "
     "`allow_pickle=` keyword argument or `keras.config.enable_unsafe_deserialization()`.", "ValueError",
     "keras-zip", "KC704"),
    # keras_compile of derived/bad_crc.keras
    ("Bad CRC-32 for file 'config.json'", "BadZipFile", "keras-zip", "KC103"),
    # keras_compile of derived/keras3.15-tf2.21_missing_weights.keras
    ("Expected a model.weights.h5 or model.weights.npz file.", "ValueError", "keras-zip", "KC104"),
    # keras_compile of tf2.12/adam_objloss.h5 (a loss object saved with reduction='auto')
    ("Invalid value for argument `reduction`. Expected one of {'sum_over_batch_size', 'sum', "
     "'mean_with_sample_weight', 'none', 'mean', None}. Received: reduction=auto", "ValueError", "hdf5-model", "KC404"),
    # keras_compile of tf_keras2.21/functional_multi_io.keras (module tf_keras.src.engine.functional)
    ("Could not locate class 'Functional'. Make sure custom classes and functions are decorated with "
     "`@keras.saving.register_keras_serializable()`.", "TypeError", "keras-zip", "KC203"),
    # keras_compile of synthetic_keras1/keras1.2.2_theano_th.h5 (a Sequential config that is a list)
    ("pop expected at most 1 argument, got 2", "TypeError", "hdf5-model", "KC210"),
    # keras_compile of derived/empty_model.h5 and derived/lfs_pointer/model.h5: h5py's words for "not HDF5"
    ("Unable to synchronously open file (file signature not found)", "OSError", "empty", "KC112"),
    ("Unable to synchronously open file (file signature not found)", "OSError", "lfs-pointer", "KC101"),
    # keras.saving.load_model(keras3.15-torch/seq_compiled.keras), compile=True, reference env (no torch)
    (
        "Could not deserialize class 'Adam' because its parent module keras.src.backend.torch.optimizers.torch_adam "
        "cannot be imported. Full object config: {'module': 'keras.src.backend.torch.optimizers.torch_",
        "TypeError", "keras-zip", "KC507",
    ),
    # keras.saving.load_model(keras3.15-torch/torch_module_wrapper.keras), reference env (no torch)
    ("No module named 'torch'", "ModuleNotFoundError", "keras-zip", "KC506"),
    # keras.layers.TFSMLayer(tf2.12/seq_compiled_savedmodel) with KERAS_BACKEND=jax
    ("The TFSMLayer is only currently supported with the TensorFlow backend.", "NotImplementedError", "saved-model",
     "KC502"),
    # model(x) after keras.saving.load_model(keras3.15-jax/lambda_jnp.keras, safe_mode=False), TF backend
    (
        "Exception encountered when calling Lambda.call().\n\n\x1b[1mname 'jnp' is not defined\x1b[0m\n\nArguments "
        "received by Lambda.call():\n  • inputs=tf.Tensor(shape=(1, 4), dtype=float32)\n  • mask=None\n  • training=None",
        "NameError", "keras-zip", "KC505",
    ),
]


@pytest.mark.parametrize("message,etype,fmt,code", OBSERVED, ids=[f"{c[3]}-{i}" for i, c in enumerate(OBSERVED)])
def test_classifier_rows(message, etype, fmt, code):
    assert classify(message, exception_type=etype, fmt=fmt) == code


def test_every_table_code_has_a_case():
    covered = {c[3] for c in OBSERVED}
    assert {row.code for row in TABLE} <= covered


def test_safe_mode_refusal_detection():
    refusal = next(c[0] for c in OBSERVED if c[3] == "KC701")
    assert is_safe_mode_refusal(refusal)
    assert not is_safe_mode_refusal("Could not locate class 'Scale'")


def test_compare_outputs_tolerance():
    ref = [("y", np.array([[1.0, 2.0]], dtype=np.float32))]
    near = [("y", np.array([[1.0 + 5e-6, 2.0001]], dtype=np.float32))]
    far = [("y", np.array([[1.1, 2.0]], dtype=np.float32))]
    assert compare_outputs(ref, near)[2] is True
    mabs, mrel, ok, _ = compare_outputs(ref, far)
    assert ok is False and mabs == pytest.approx(0.1, rel=1e-3) and mrel == pytest.approx(0.1, rel=1e-3)
    assert compare_outputs(ref, [("z", np.zeros((2, 2), np.float32))])[2] is False
    assert tolerance("float16")[0] > tolerance("float32")[0]


def test_parent_side_never_imports_tf():
    code = (
        "import sys, kcompat.load, kcompat.load.runner, kcompat.load.classify, kcompat.load.model;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('tensorflow','keras','tf_keras')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


# ----------------------------------------------------------------------------------------------
# Slow: real models, real worker processes
# ----------------------------------------------------------------------------------------------

HANG_MOD = """
import time
import keras

@keras.saving.register_keras_serializable(package="kctest")
class Hang(keras.layers.Layer):
    def call(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        while True:  # a custom layer whose deserialisation never returns
            time.sleep(0.2)
"""

ALLOC_MOD = """
import keras

@keras.saving.register_keras_serializable(package="kctest")
class Alloc(keras.layers.Layer):
    def call(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        blocks = []
        while True:  # allocate (and touch) memory without bound
            blocks.append(b"x" * (64 << 20))
"""

NOSTRAT_MOD = """
import keras
import tensorflow as tf

@keras.saving.register_keras_serializable(package="kctest")
class NoStrategy(keras.layers.Layer):
    def call(self, x):
        if tf.distribute.has_strategy():  # code that only works outside a tf.distribute scope
            raise RuntimeError("NoStrategy refuses to run inside a tf.distribute strategy scope")
        return x * 1.0
"""

BUILD = r"""
import base64, json, marshal, os, sys, zipfile
out = sys.argv[1]
sys.path.insert(0, out)
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import hang_layer, alloc_layer, nostrat_layer

def small(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,), name="x")
    h = keras.layers.Dense(8, activation="relu")(inp)
    m = keras.Model(inp, keras.layers.Dense(3)(h))
    m.compile(optimizer="adam", loss="mse")
    return m

m = small()
m.save(f"{out}/small.keras")
m.save_weights(f"{out}/small.weights.h5")
open(f"{out}/small.json", "w").write(m.to_json())
m.export(f"{out}/small_sm")

# saved under MirroredStrategy over 2 logical CPUs, after one training step
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert strategy.num_replicas_in_sync == 2
with strategy.scope():
    mm = small(1)
import numpy as np
x = np.random.default_rng(1).standard_normal((8, 4)).astype("float32")
mm.fit(tf.data.Dataset.from_tensor_slices((x, x[:, :3])).batch(4), epochs=1, verbose=0)
mm.save(f"{out}/mirrored.keras")

# a Lambda whose marshalled code dereferences NULL when Keras calls it while rebuilding the model
keras.utils.set_random_seed(0)
inp = keras.Input((4,))
lm = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2.0)(inp))
lm.save(f"{out}/lambda_ok.keras")
evil = base64.b64encode(marshal.dumps((lambda t: __import__("ctypes").string_at(0)).__code__)).decode()
with zipfile.ZipFile(f"{out}/lambda_ok.keras") as z:
    members = {n: z.read(n) for n in z.namelist()}
cfg = json.loads(members["config.json"])
for layer in cfg["config"]["layers"]:
    if layer["class_name"] == "Lambda":
        layer["config"]["function"]["config"]["code"] = evil
members["config.json"] = json.dumps(cfg).encode()
with zipfile.ZipFile(f"{out}/lambda_segv.keras", "w") as z:
    for n, b in members.items():
        z.writestr(n, b)

# a tf_keras (Keras 2 API) .h5 with a Lambda: tf_keras itself does not apply safe_mode to .h5
import tf_keras
ti = tf_keras.Input((4,))
tf_keras.Model(ti, tf_keras.layers.Lambda(lambda t: t * 2.0)(ti)).save(f"{out}/lambda_tfk.h5")

for name, cls in (("hang", hang_layer.Hang), ("alloc", alloc_layer.Alloc), ("nostrat", nostrat_layer.NoStrategy)):
    inp = keras.Input((4,))
    keras.Model(inp, cls()(inp)).save(f"{out}/{name}.keras")
print("BUILT")
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    if not Path(VENV_PY).exists():
        pytest.skip(f"reference venv python not found: {VENV_PY}")
    d = tmp_path_factory.mktemp("load-models")
    (d / "hang_layer.py").write_text(textwrap.dedent(HANG_MOD))
    (d / "alloc_layer.py").write_text(textwrap.dedent(ALLOC_MOD))
    (d / "nostrat_layer.py").write_text(textwrap.dedent(NOSTRAT_MOD))
    (d / "build.py").write_text(BUILD)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
    r = subprocess.run([VENV_PY, str(d / "build.py"), str(d)], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert "BUILT" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    return d


@pytest.fixture(autouse=True)
def _no_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="module")
def small_matrix(models):
    with pytest.MonkeyPatch.context() as mp:  # restored after: the variable is part of the environment cache key
        mp.setenv("CUDA_VISIBLE_DEVICES", "")
        return run_matrix(str(models / "small.keras"), "keras-zip", python=VENV_PY, loaders=["keras"], strategies=ALL4)


def _brief(m) -> str:
    return "\n".join(
        f"{a.loader}/{a.strategy}: {a.status} {a.code} {a.exception_type}: {a.message} sig={a.signal} note={a.note}"
        for a in m.attempts
    )


@pytest.mark.slow
def test_small_model_agrees_under_all_four_strategies(small_matrix):
    m = small_matrix
    assert m.reference == "keras/default"
    by = {a.strategy: a for a in m.attempts if a.loader == "keras"}
    assert set(by) == set(ALL4), _brief(m)
    for s in ALL4:
        a = by[s]
        assert a.status == "ok", _brief(m)
        assert a.agrees is True and a.max_abs_diff is not None and a.max_abs_diff <= 1e-5, _brief(m)
        assert a.outputs and a.outputs[0].shape == [2, 3] and a.outputs[0].dtype == "float32"
        assert a.wall_s > 0
        assert a.trained is True, _brief(m)  # one real training step under every strategy
    assert by["default"].num_replicas == 1 and by["one-device-cpu"].num_replicas == 1
    assert by["mirrored"].num_replicas == 2  # 2 logical CPU devices
    assert m.total_wall_s > 0
    assert "keras-nocompile" not in {a.loader for a in m.attempts}  # compile=True worked: no retry


@pytest.mark.slow
def test_multi_worker_forms_a_real_two_worker_cluster(small_matrix):
    a = small_matrix.get("keras", "multi-worker")
    assert a is not None and a.status == "ok", _brief(small_matrix)
    # each of the 2 worker processes reports num_replicas_in_sync == 2 (1 CPU replica per worker)
    assert a.worker_replicas == [2, 2]
    assert a.num_replicas == 2
    # Keras 3 fit() under MWMS fails with the PerReplica conversion error (numpy AND tf.data input);
    # the worker reproduces it, classifies it, and still trains one step with strategy.run
    assert a.code == "KC809", a.note
    assert "PerReplica" in (a.note or "")


@pytest.mark.slow
def test_model_saved_under_mirrored_loads_under_default_and_mirrored(models):
    m = run_matrix(
        str(models / "mirrored.keras"), "keras-zip", python=VENV_PY, loaders=["keras"], strategies=["default", "mirrored"]
    )
    d, mi = m.get("keras", "default"), m.get("keras", "mirrored")
    assert d.status == "ok" and mi.status == "ok", _brief(m)
    assert mi.num_replicas == 2
    assert mi.agrees is True and mi.max_abs_diff <= 1e-5


@pytest.mark.slow
def test_crash_hang_and_oom_are_contained(models, monkeypatch):
    crash = run_matrix(
        str(models / "lambda_segv.keras"), "keras-zip", python=VENV_PY, loaders=["keras", "tf_keras"],
        strategies=["default"], unsafe=True, timeout_s=60,
    )
    a = crash.get("keras", "default")
    assert a.status == "crash" and a.signal == "SIGSEGV" and a.code == "KC802", _brief(crash)
    nc = crash.get("keras-nocompile", "default")  # compile=False retried in a fresh process: same crash
    assert nc is not None and nc.status == "crash" and nc.signal == "SIGSEGV", _brief(crash)
    tk = crash.get("tf_keras", "default")  # the attempt after the crash still ran
    assert tk is not None and tk.status == "error" and tk.code == "KC203", _brief(crash)

    hang = run_matrix(
        str(models / "hang.keras"), "keras-zip", python=VENV_PY, loaders=["keras-nocompile", "tf_keras"],
        strategies=["default"], timeout_s=20, custom_objects=[str(models / "hang_layer.py")],
    )
    a = hang.get("keras-nocompile", "default")
    assert a.status == "timeout" and a.code == "KC803", _brief(hang)
    assert 19 <= a.wall_s <= 40
    assert hang.get("tf_keras", "default").status == "error", _brief(hang)

    # custom_objects by module name this time: importable through the worker's PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", str(models))
    oom = run_matrix(
        str(models / "alloc.keras"), "keras-zip", python=VENV_PY, loaders=["keras-nocompile", "tf_keras"],
        strategies=["default"], memory_mb=1500, timeout_s=60, custom_objects=["alloc_layer"],
    )
    a = oom.get("keras-nocompile", "default")
    assert a.status == "oom" and a.code == "KC804" and a.signal == "SIGKILL", _brief(oom)
    assert "1500 MB" in (a.note or "")
    assert oom.get("tf_keras", "default").status == "error", _brief(oom)
    # the parent is fine: it can still run a normal load afterwards
    ok = run_matrix(str(models / "small.keras"), "keras-zip", python=VENV_PY, loaders=["keras"], strategies=["default"])
    assert ok.get("keras", "default").status == "ok"


@pytest.mark.slow
def test_safe_mode_refusal(models):
    m = run_matrix(
        str(models / "lambda_segv.keras"), "keras-zip", python=VENV_PY, loaders=["keras"], strategies=["default"]
    )
    a = m.get("keras", "default")
    assert a.status == "refused-unsafe" and a.code == "KC701", _brief(m)
    assert "Lambda" in a.message
    assert m.get("keras-nocompile", "default") is None  # compile=False would be refused the same way

    # tf_keras would run an .h5 Lambda's code even with safe_mode on: kcompat refuses it itself
    h5 = str(models / "lambda_tfk.h5")
    m2 = run_matrix(h5, "hdf5-model", python=VENV_PY, loaders=["tf_keras"], strategies=["default"])
    a2 = m2.get("tf_keras", "default")
    assert a2.status == "refused-unsafe" and a2.code == "KC701", _brief(m2)
    m3 = run_matrix(h5, "hdf5-model", python=VENV_PY, loaders=["tf_keras"], strategies=["default"], unsafe=True)
    a3 = m3.get("tf_keras", "default")
    assert a3.status == "ok" and a3.outputs[0].shape == [2, 4], _brief(m3)


@pytest.mark.slow
def test_saved_model_gets_tf_saved_model_and_tfsmlayer(models):
    m = run_matrix(str(models / "small_sm"), "saved-model", python=VENV_PY, strategies=["default"])
    loaders = {a.loader: a for a in m.attempts}
    assert {"tf_saved_model", "tfsmlayer", "keras"} <= set(loaders), _brief(m)
    assert loaders["keras"].status == "error" and loaders["keras"].code == "KC204", _brief(m)
    for lo in ("tf_saved_model", "tfsmlayer"):
        assert loaders[lo].status == "ok", _brief(m)
        assert loaders[lo].outputs[0].shape == [2, 3]
    assert loaders["tfsmlayer"].agrees is True  # compared with the reference (first ok attempt)
    assert "config+weights" not in loaders


@pytest.mark.slow
def test_weights_only_with_config_path(models):
    m = run_matrix(
        str(models / "small.weights.h5"), "hdf5-weights-v3", python=VENV_PY, strategies=["default"],
        config_path=str(models / "small.json"),
    )
    assert [a.loader for a in m.attempts] == ["config+weights"], _brief(m)
    a = m.attempts[0]
    assert a.status == "ok" and a.outputs[0].shape == [2, 3], _brief(m)
    # caller-supplied inputs (batch of 5) instead of the generated ones
    np.savez(models / "inputs.npz", x=np.ones((5, 4), np.float32))
    m3 = run_matrix(
        str(models / "small.weights.h5"), "hdf5-weights-v3", python=VENV_PY, strategies=["default"],
        config_path=str(models / "small.keras"), inputs_npz=str(models / "inputs.npz"),
    )
    a3 = m3.attempts[0]
    assert a3.status == "ok" and a3.outputs[0].shape == [5, 3], _brief(m3)
    assert "architecture from keras-zip file" in a3.note
    # without a config the loader is skipped, with a reason
    m2 = run_matrix(str(models / "small.weights.h5"), "hdf5-weights-v3", python=VENV_PY, strategies=["default"])
    assert [(a.loader, a.status) for a in m2.attempts] == [("config+weights", "skipped")]
    assert "config_path" in m2.attempts[0].note


@pytest.mark.slow
def test_failure_only_under_a_strategy_is_kc806(models):
    m = run_matrix(
        str(models / "nostrat.keras"), "keras-zip", python=VENV_PY, loaders=["keras-nocompile"],
        strategies=["default", "one-device-cpu"], custom_objects=[str(models / "nostrat_layer.py")],
    )
    d, o = m.get("keras-nocompile", "default"), m.get("keras-nocompile", "one-device-cpu")
    assert d.status == "ok", _brief(m)
    assert o.status == "error" and o.code == "KC806", _brief(m)
    assert "NoStrategy refuses" in (o.message or "") + (o.traceback_tail or "")
    assert "fails only under one-device-cpu" in o.note
