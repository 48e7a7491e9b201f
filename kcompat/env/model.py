"""Typed snapshot of the environment a model must load in.

Built from the JSON the probe script writes (see ``probe_script.py``), from the
on-disk cache, or from a declared target profile. Nothing here imports
TensorFlow or Keras.
"""

from __future__ import annotations

from typing import Literal

from kcompat.record import Field, Record

# Bump when the probe output changes shape or meaning: it is part of the cache key,
# so old cache entries are re-probed instead of being misread.
PROBE_VERSION = "5"  # 2: keras_ops, loaders, KerasClass.accepted and .slots; 3: h5_honours_compile_false; 4: ops_required; 5: TF functions in Keras 2 activations

TRACKED_DISTRIBUTIONS = ("tensorflow", "keras", "tf_keras", "h5py", "numpy", "protobuf")

KerasKind = Literal[
    "layer",
    "model",
    "optimizer",
    "lr_schedule",
    "loss",
    "metric",
    "activation",
    "initializer",
    "regularizer",
    "constraint",
    "dtype_policy",
    "object",
    "op",  # a Keras 3 operation class (keras.src.ops.*), in Environment.keras_ops only
]


def _major(version: str | None) -> int | None:
    if not version:
        return None
    head = version.split(".", 1)[0]
    digits = "".join(ch for ch in head if ch.isdigit())
    return int(digits) if digits else None


class KerasClass(Record):
    """One class or function that Keras can resolve when it deserializes a config."""

    kind: KerasKind
    name: str  # the name a config uses to find it (class_name, or a string alias such as "mse")
    module: str | None = None  # the real ``__module__``, e.g. keras.src.layers.core.dense
    qualname: str | None = None  # the object's own ``__name__`` when it differs from ``name``
    registered_name: str | None = None  # keras.saving.get_registered_name(obj)
    obj_type: Literal["class", "function"] = "class"
    params: list[str] = Field(default_factory=list)  # named args of __init__ (or of the function)
    var_kwargs: bool = False  # __init__ takes **kwargs
    # Named args of the base-class __init__s reached by forwarding **kwargs up the MRO
    # (an upper bound: it assumes each __init__ passes **kwargs on to super()).
    base_params: list[str] = Field(default_factory=list)
    api_names: list[str] = Field(default_factory=list)  # public paths, e.g. keras.layers.Dense
    framework: Literal["keras", "tf_keras"] | None = None
    # Constructor argument -> the values its own `if ARG not in VALUES: raise` check accepts, read from the
    # installed source (followed into super().__init__, self methods and module helpers it hands ARG to).
    # Other branches before that check may accept more (a DTypePolicy object for `dtype`, say).
    accepted: dict[str, list[str | int | float | bool | None]] = Field(default_factory=dict)
    # Optimizers: the names of the variables it holds once built for one variable named "w"
    # (e.g. Keras 3 Adam: adam/iteration, adam/learning_rate, adam/w_momentum, adam/w_velocity).
    slots: list[str] | None = None


class LoaderFacts(Record):
    """How one Keras package's ``load_model`` behaves, found by the probe saving and loading tiny models."""

    load_model_params: list[str] = Field(default_factory=list)  # named parameters of models.load_model
    keras_ext_writes: Literal["zip", "hdf5", "other"] | None = None  # what model.save("m.keras") writes
    # HDF5 dataset paths inside a .keras zip's model.weights.h5 for Sequential([Conv2D, Flatten, Dense]):
    # Keras 2.12 "_layer_checkpoint_dependencies/conv2d/vars/0", 2.13+ and 3 "layers/conv2d/vars/0".
    keras_zip_weight_paths: list[str] = Field(default_factory=list)
    h5_safe_mode: bool | None = None  # load_model(.h5 with a Lambda, safe_mode=True) refuses; None: no safe_mode
    # load_model(.h5 compiled with an unknown loss, compile=False) loads: False where the loader compiles anyway.
    h5_honours_compile_false: bool | None = None
    savedmodel_plain: str | None = None  # load_model on a tf.saved_model.save(tf.Module) dir: "ok" or "Error: message"


class Device(Record):
    name: str
    device_type: str


class Environment(Record):
    """Everything kcompat knows about the interpreter a model will be loaded in."""

    probe_version: str = PROBE_VERSION
    python: str  # "3.11.7"
    python_executable: str
    platform: str
    versions: dict[str, str | None] = Field(
        default_factory=lambda: {name: None for name in TRACKED_DISTRIBUTIONS}
    )
    keras_backend: str = "tensorflow"  # KERAS_BACKEND, else keras.json "backend", else tensorflow
    keras_json: dict | None = None
    tf_use_legacy_keras: bool = False
    available_backends: list[str] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    ops: dict[str, list[str]] = Field(default_factory=dict)  # op name -> sorted attr names
    ops_required: dict[str, list[str]] = Field(default_factory=dict)  # op name -> its attrs without a default
    keras_classes: list[KerasClass] = Field(default_factory=list)
    tf_keras_classes: list[KerasClass] = Field(default_factory=list)
    custom_objects: list[KerasClass] = Field(default_factory=list)
    custom_object_modules: list[str] = Field(default_factory=list)
    keras_ops: list[KerasClass] = Field(default_factory=list)  # Keras 3 operation classes (kind "op")
    loaders: dict[str, LoaderFacts] = Field(default_factory=dict)  # "keras" / "tf_keras" -> LoaderFacts
    errors: list[str] = Field(default_factory=list)
    probe_seconds: float = 0.0
    fingerprint: str = ""  # the cache key this snapshot is stored under
    # Where this object came from in this run; not a fact about the target environment.
    source: Literal["probe", "cache", "profile", "release"] = "probe"
    cache_path: str | None = None
    release: str | None = None  # the knowledge-base release this snapshot was read from (source "release")

    @property
    def from_cache(self) -> bool:
        return self.source == "cache"

    @property
    def keras_major(self) -> int | None:
        """Major version of the ``keras`` distribution (2 or 3), or None when absent."""
        return _major(self.versions.get("keras"))

    @property
    def tensorflow_major_minor(self) -> tuple[int, int] | None:
        version = self.versions.get("tensorflow")
        if not version:
            return None
        parts = version.split(".")
        try:
            return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
        except (IndexError, ValueError):
            return None

    @property
    def tf_keras_major(self) -> int | None:
        """Major version of the Keras you get through ``tf.keras``.

        TF < 2.16 bundles Keras 2. From TF 2.16 ``tf.keras`` is Keras 3, unless
        ``TF_USE_LEGACY_KERAS`` is set and the ``tf_keras`` package (Keras 2) is
        installed. None when TensorFlow is not installed.
        """
        tf_version = self.tensorflow_major_minor
        if tf_version is None:
            return None
        if tf_version < (2, 16):
            return 2
        if self.tf_use_legacy_keras and self.versions.get("tf_keras"):
            return 2
        return self.keras_major

    def find_class(
        self, name: str, kind: str | None = None, framework: str = "keras"
    ) -> KerasClass | None:
        """First known class/function named ``name`` (optionally of one ``kind``)."""
        pool = self.tf_keras_classes if framework == "tf_keras" else self.keras_classes
        for entry in pool:
            if entry.name == name and (kind is None or entry.kind == kind):
                return entry
        return None

    def find_op(self, name: str, module: str | None = None) -> KerasClass | None:
        """The Keras 3 operation class ``name`` (optionally in ``module``, e.g. keras.src.ops.numpy)."""
        for entry in self.keras_ops:
            if entry.name == name and (module is None or entry.module == module):
                return entry
        return None

    def summary_counts(self) -> dict[str, int]:
        return {
            "ops": len(self.ops),
            "keras_classes": len(self.keras_classes),
            "tf_keras_classes": len(self.tf_keras_classes),
            "custom_objects": len(self.custom_objects),
            "keras_ops": len(self.keras_ops),
        }
