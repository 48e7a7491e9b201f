"""Map a guarded-load failure message to a rule code.

A small ordered table of ``(regex, code, formats)``: the first row whose regex matches the
exception message (then, failing that, the traceback tail) wins. ``formats`` narrows a row to
some artifact formats (the same Keras message means KC204 on a SavedModel and KC108 on a
checkpoint). Anything that matches no row is KC801. Process-level outcomes (crash, timeout,
oom, safe_mode refusal) and cross-attempt outcomes (KC805, KC806) are set by the runner.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Row(NamedTuple):
    pattern: re.Pattern[str]
    code: str
    formats: tuple[str, ...] | None = None


def _r(p: str) -> re.Pattern[str]:
    return re.compile(p, re.IGNORECASE | re.DOTALL)


SAFE_MODE = _r(r"Requested the deserialization of a .*Lambda|safe_mode=False|`safe_mode`|enable_unsafe_deserialization")

# Order matters: more specific rows first.
TABLE: tuple[Row, ...] = (
    Row(_r(r"version https://git-lfs"), "KC101"),
    # h5py says "file signature not found" of anything that is not HDF5: the format tells what it was.
    Row(_r(r"file signature not found"), "KC101", ("lfs-pointer",)),
    Row(_r(r"file signature not found"), "KC112", ("empty", "unknown")),
    Row(_r(r"truncated file|file signature not found"), "KC102"),
    Row(_r(r"pop expected at most 1 argument, got 2|Expected 'config' to be a dict for Sequential"), "KC210"),
    Row(_r(r"bad marshal data|unknown opcode"), "KC206"),
    Row(_r(r"contains pickled \(object\) data|Object arrays cannot be loaded when allow_pickle=False"), "KC704"),  # before safe_mode: its advice names enable_unsafe_deserialization
    Row(SAFE_MODE, "KC701"),
    Row(_r(r"PerReplica"), "KC809"),
    Row(_r(r"Unknown optimizer|Could not interpret optimizer identifier"), "KC401"),
    Row(_r(r"Argument\(s\) not recognized|decay is deprecated|`decay` is no longer supported"), "KC402"),
    Row(_r(r"not a KerasSaveable subclass"), "KC404"),
    # One backend's own module (a torch-compiled optimizer) before the general missing module.
    Row(_r(r"parent module keras\.src\.backend\.(jax|torch|tensorflow|numpy)\.[\w.]+ cannot be imported"), "KC507"),
    Row(_r(r"parent module [\w.]+ cannot be imported"), "KC203"),
    Row(_r(r"No module named '(torch|jax|flax)'"), "KC506"),  # a wrapper layer imports its framework
    Row(_r(r"TFSMLayer is only currently supported with the TensorFlow backend"), "KC502"),
    Row(_r(r"calling Lambda\.call\(\).*name '\w+' is not defined"), "KC505"),
    # a Functional rebuild infers a Lambda's output shape by calling it: the NameError becomes this
    Row(_r(r"could not automatically infer the shape of the Lambda's output"), "KC505"),
    Row(_r(r"Could not locate class '(Sequential|Functional|Model)'"), "KC211", ("json-config",)),
    # A .keras from tf_keras names tf_keras.src.engine.* modules, which Keras 3 never imports.
    Row(_r(r"Could not locate class '(Sequential|Functional|Model)'"), "KC203", ("keras-zip", "keras-dir")),
    Row(_r(r"Bad CRC-32|File is not a zip file"), "KC103"),
    Row(_r(r"Expected a model\.weights\.h5"), "KC104"),
    Row(_r(r"Invalid value for argument `reduction`"), "KC404"),
    # A built-in layer nested in a Keras 2 .h5's Bidirectional, TimeDistributed or RNN, which Keras 3 looks up by module.
    Row(_r(r"Could not locate class '(LSTM|GRU|SimpleRNN|LSTMCell|GRUCell|SimpleRNNCell|StackedRNNCells|Dense|"
           r"Conv[123]D|Conv2DTranspose|Dropout|Embedding|Flatten|BatchNormalization|Activation|Bidirectional|"
           r"TimeDistributed|MaxPooling[123]D|ConvLSTM2D)'"), "KC220", ("hdf5-model",)),
    Row(
        _r(r"Unknown layer|Could not locate (class|function)|Unknown (object|class|activation|loss|metric)"
           r"|Unable to restore custom object|Could not interpret (activation function|initializer) identifier"),
        "KC301",
    ),
    Row(_r(r"Unrecognized keyword argument(s|\(s\))|Keyword argument not understood"), "KC302"),
    Row(_r(r"File format not supported"), "KC204", ("saved-model",)),
    Row(_r(r"File format not supported"), "KC108", ("tf-checkpoint",)),
    # An HDF5 file named neither .h5 nor .hdf5 (keras-rl writes weights as .h5f): Keras 3 goes by the name.
    Row(_r(r"File format not supported"), "KC119", ("hdf5-model", "hdf5-weights")),
    Row(_r(r"No model found in config file|No model config found"), "KC120", ("hdf5-other",)),
    Row(_r(r"No model found in config file|No model config found"), "KC107"),
    Row(_r(r"Op type not registered"), "KC604"),
    Row(_r(r"NodeDef mentions attr"), "KC605"),
    Row(_r(r"NodeDef missing attr"), "KC608"),
    Row(_r(r"needs an input for each placeholder|depends transitively on placeholder"), "KC609"),
    Row(_r(r"not bound to checkpointed values.*MutableHashTable"), "KC223", ("saved-model",)),
    Row(_r(r"Need minval < maxval, got 0 >= 0|Cannot convert -?[0-9.]+ to EagerTensor of dtype u?int"), "KC224"),
    Row(_r(r"gru\w*/bias\. Weight expects shape \(2, \d+\)\. Received saved weight with shape \(\d+,\)"), "KC225"),
    Row(_r(r"'_UserObject' object has no attribute 'add_slot'"), "KC606"),
    Row(_r(r"^'?serving_default'?$|KeyError: '?serving_default|endpoint 'serving_default' is neither"), "KC601"),
    Row(_r(r"only supports the NHWC"), "KC503"),
    Row(_r(r"has type b?float16 that does not match|expected to be a (half|bfloat16) tensor but is a float tensor"), "KC504"),
    # Keras 3.15 reading a Keras 2 mixed_float16 .h5 (fixtures tf2.15/mixed_float16.h5), and Keras 3.3.
    Row(_r(r"'str' object has no attribute '(quantization_mode|convert_input)'"), "KC504"),
    Row(_r(r"File not found: filepath=.*accessible `?\.keras`? zip"), "KC119"),
    Row(_r(r"lacks the TF-Keras metadata file"), "KC208"),
    Row(_r(r"Invalid Functional model configuration"), "KC207"),
    # A layer whose group the loader finds nowhere in a .keras weights file: laid out or named for another Keras.
    Row(_r(r"expected \d+ variables, but received 0 variables during loading"), "KC212", ("keras-zip", "keras-dir")),
    # A Keras 2 Sequential's first-layer batch_input_shape taken whole as input_shape by Keras 3's legacy loader.
    Row(_r(r"Kernel shape must have the same length as input.*input of shape \(None, None,"), "KC217", ("hdf5-model",)),
    Row(_r(r"Save or restore weights that is not an instance of `?tf\.Variable`? is not supported in h5"), "KC219",
        ("hdf5-model",)),
    # A Keras 2 recurrent layer called with its initial state, whose inbound tensors Keras 3 passes as one input.
    Row(_r(r"expects 1 input\(s\), but it received \d+ input tensors"), "KC221", ("hdf5-model",)),
    # A Keras 3 operation (x + 3.0, x * y) in an .h5, rebuilt by the legacy loader as the merge layer of its name.
    Row(_r(r"Only input tensors may be passed as positional arguments|too many positional arguments"), "KC218",
        ("hdf5-model",)),
)

FALLBACK = "KC801"
PROCESS_CODES = {"crash": "KC802", "timeout": "KC803", "oom": "KC804", "refused-unsafe": "KC701"}


def classify(
    message: str | None,
    *,
    exception_type: str | None = None,
    traceback: str | None = None,
    fmt: str | None = None,
) -> str:
    """Return the rule code for one failure (KC801 when nothing matches)."""
    msg = message or ""
    if exception_type == "KeyError":
        msg = f"KeyError: {msg}"
    texts = []
    # Keras chains causes as "... Exception encountered: <cause>": the innermost cause decides first
    if "Exception encountered:" in msg:
        texts.append(msg.rsplit("Exception encountered:", 1)[1])
    texts.append(msg)
    if traceback:
        texts.append(traceback)
    for text in texts:
        if not text:
            continue
        for row in TABLE:
            if row.formats is not None and fmt not in row.formats:
                continue
            if row.pattern.search(text):
                return row.code
    return FALLBACK


def candidates(message: str, *, exception_type: str | None = None) -> list[tuple[str, tuple[str, ...] | None]]:
    """Every (code, formats) a failure message may stand for, most specific first: what `classify` would
    say for each artifact format, for an error seen without its artifact (``kcompat explain``)."""
    msg = f"KeyError: {message}" if exception_type == "KeyError" else message
    texts = ([msg.rsplit("Exception encountered:", 1)[1]] if "Exception encountered:" in msg else []) + [msg]
    for text in texts:
        found: list[tuple[str, tuple[str, ...] | None]] = []
        for row in TABLE:
            if row.pattern.search(text) and all(code != row.code for code, _ in found):
                found.append((row.code, row.formats))
                if row.formats is None:
                    break  # a row for every format ends the list, as it ends classify's search
        if found:
            return found
    return [(FALLBACK, None)]


def is_safe_mode_refusal(message: str | None) -> bool:
    return bool(message) and bool(SAFE_MODE.search(message or "")) and "lambda" in (message or "").lower()
