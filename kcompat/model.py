"""The typed facts kcompat passes between its stages: Artifact, Finding, Report."""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from kcompat.record import Field, Record

# Finding fingerprints and the environment cache key: CPython's own SHA-256, where hashlib would load OpenSSL
# first (~3 ms of every run). The digests are the same.
try:
    from _sha256 import sha256  # Python 3.10, 3.11
except ImportError:
    try:
        from _sha2 import sha256  # Python 3.12+
    except ImportError:
        from hashlib import sha256


# 1.1: Report.matrix and Report.targets (kcompat matrix, check --target). 1.2: ArtifactReport.fixes (kcompat
# fix) and .intended, Finding.locations (one finding per cause), Report.skipped. 1.3: Artifact.source (a remote
# artifact's URL, object size, bytes fetched, ETag and mtime) and Format "unreachable". 1.4:
# SavedModelFacts.op_attrs_every_node (KC608). 1.5: Signature.unfed_placeholders (KC609) and
# SavedModelFacts.keras_metadata_classes (KC223). 1.6: SavedModelFacts.unbuilt_restored_layers (KC226).
# Additions only.
SCHEMA_VERSION = "1.6"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match) -> str:
    point = ord(match.group())
    if 0xDC80 <= point <= 0xDCFF:  # a byte that os.fsdecode could not decode (surrogateescape)
        return f"\\x{point - 0xDC00:02x}"
    return f"\\u{point:04x}"


def safe_text(text: str) -> str:
    """``text`` without lone surrogates, which no UTF-8 output can hold: shown as ``\\xff`` or ``\\ud800``."""
    if text.isascii():
        return text
    return _SURROGATE.sub(_escape_surrogate, text)


def _safe_key(key: Any) -> Any:
    return safe_text(key) if isinstance(key, str) else key


def scrub(value: Any, done: tuple = ()) -> Any:
    """Make every string in ``value`` safe, in place where it can (models, dicts, lists); returns it.

    Strings from a file or a file name enter the model here. The walk uses its own stack, so a
    config nested thousands of levels deep cannot exhaust the recursion limit. ``done``: parts
    already scrubbed, not walked again (an artifact's config can be most of a report).
    """
    if isinstance(value, str):
        return safe_text(value)
    stack = [value]
    seen: set[int] = {id(part) for part in done}
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Record):
            for name in type(item).model_fields:
                child = getattr(item, name)
                if isinstance(child, str):
                    setattr(item, name, safe_text(child))
                elif isinstance(child, (Record, dict, list)):
                    stack.append(child)
        elif isinstance(item, dict):
            for key in list(item):
                child = item[key]
                if isinstance(child, str):
                    child = safe_text(child)
                elif isinstance(child, tuple):
                    child = list(child)
                if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                    del item[key]
                    item[_safe_key(key)] = child
                else:
                    item[key] = child
                if isinstance(child, (Record, dict, list)):
                    stack.append(child)
        elif isinstance(item, list):
            for i, child in enumerate(item):
                if isinstance(child, str):
                    item[i] = safe_text(child)
                elif isinstance(child, tuple):
                    item[i] = child = list(child)
                if isinstance(child, (Record, dict, list)):
                    stack.append(child)
    return value


class Severity(str, Enum):
    error = "error"
    warning = "warning"
    info = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Format(str, Enum):
    hdf5_model = "hdf5-model"
    hdf5_weights = "hdf5-weights"  # Keras 2 model.save_weights layout
    hdf5_weights_v3 = "hdf5-weights-v3"  # Keras 3 .weights.h5 layout
    hdf5_other = "hdf5-other"
    keras_zip = "keras-zip"
    keras_dir = "keras-dir"
    saved_model = "saved-model"
    tf_checkpoint = "tf-checkpoint"
    json_config = "json-config"
    lfs_pointer = "lfs-pointer"
    tflite = "tflite"
    tfjs_layers = "tfjs-layers"  # TF.js Layers model: model.json with modelTopology and weight shards
    tfjs_graph = "tfjs-graph"  # TF.js Graph model: model.json with a GraphDef topology
    graphdef = "graphdef"  # a TF1 (frozen) GraphDef .pb
    metagraph = "metagraph"  # a TF1 MetaGraphDef .meta (a checkpoint's graph, or a SessionBundle export)
    numpy = "numpy"  # a NumPy .npy array or .npz archive
    zip_other = "zip-other"
    empty = "empty"
    unknown = "unknown"
    missing = "missing"
    unreadable = "unreadable"  # no read permission, or not a regular file (a FIFO, socket or device)
    unchecked = "unchecked"  # kcompat gave up on it (a timeout, or a reader crash): KC117 says why
    unreachable = "unreachable"  # a remote source failed (credentials, 403, connection, timeout): KC123 says why


class Problem(Record):
    """Something a reader could not read; rules turn problems into findings."""

    kind: str
    detail: str
    member: str | None = None


# The location prefix of an object read from a SavedModel's keras_metadata.pb node other than the root.
KERAS_METADATA_NODE = "keras_metadata.pb:"


class ObjectRef(Record):
    """A serialized Keras object (class or function) named anywhere in a config."""

    location: str  # layer path plus the config key that holds it
    class_name: str
    module: str | None = None
    registered_name: str | None = None
    kind: str = "object"  # layer, model, object, function, string


class Layer(Record):
    path: str
    name: str
    class_name: str
    module: str | None = None
    registered_name: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    wrapper_key: str | None = None  # 'layer', 'cell', 'forward_layer'... when nested in a wrapper

    @property
    def config_keys(self) -> list[str]:
        return sorted(self.config)


class TrainingConfig(Record):
    optimizer_class: str | None = None
    optimizer_module: str | None = None
    optimizer_registered_name: str | None = None
    optimizer_args: dict[str, Any] = Field(default_factory=dict)
    loss: Any = None
    metrics: Any = None
    weighted_metrics: Any = None
    loss_weights: Any = None


class Weight(Record):
    name: str
    shape: list[int]
    dtype: str


class TensorSpec(Record):
    name: str | None = None
    dtype: str
    shape: list[int | None] | None = None  # None: unknown rank


class Signature(Record):
    key: str
    method_name: str = ""
    inputs: dict[str, TensorSpec] = Field(default_factory=dict)
    outputs: dict[str, TensorSpec] = Field(default_factory=dict)
    unfed_placeholders: list[str] = Field(default_factory=list)  # TF1 graphs: placeholders its outputs need, not fed


class SavedModelFacts(Record):
    tags: list[list[str]] = Field(default_factory=list)
    tensorflow_version: str | None = None
    tensorflow_git_version: str | None = None
    graph_producer: int | None = None
    signatures: list[Signature] = Field(default_factory=list)
    ops: list[str] = Field(default_factory=list)
    op_attrs: dict[str, list[str]] = Field(default_factory=dict)  # attrs set on an op's nodes, not at the producer's default
    graph_op_attrs: dict[str, list[str]] = Field(default_factory=dict)  # the same, top-level GraphDef nodes only
    op_attrs_every_node: dict[str, list[str]] = Field(default_factory=dict)  # attrs every node of the op sets, at any value
    stripped_ops: list[str] = Field(default_factory=list)
    object_identifiers: list[str] = Field(default_factory=list)
    slot_variable_count: int = 0
    variable_count: int = 0
    object_graph_nodes: int = 0  # 0: a TF1 SavedModel (SavedModelBuilder, Estimator export) with no object graph
    graph_variables: int = 0  # variable ops in the top-level GraphDef (what a TF1 SavedModel restores)
    has_keras_metadata: bool = False
    bare_keras_objects: int = 0  # Keras 2 user objects (_tf_keras_*) with no inline metadata
    keras_metadata_identifiers: list[str] = Field(default_factory=list)
    keras_metadata_classes: dict[str, str] = Field(default_factory=dict)  # node path (root.a.b) -> its class_name
    # node paths whose metadata says must_restore_from_config and gives no build_input_shape (KC226)
    unbuilt_restored_layers: list[str] = Field(default_factory=list)
    fingerprint: dict[str, Any] | None = None
    has_variables_dir: bool = False


class SourceFacts(Record):
    """Where a remote artifact was read from, and what reading it cost (schema 1.3)."""

    url: str
    object_size: int = 0  # the object, or every object under the prefix, in bytes
    bytes_fetched: int = 0  # over the wire, for this artifact
    requests: int = 0
    etag: str | None = None
    mtime: float | None = None
    downloaded: bool = False  # fetched whole: only for the guarded load or the h5py fallback


class Artifact(Record):
    path: str
    format: Format
    size_bytes: int = 0
    source: SourceFacts | None = None  # set for a remote artifact (s3://, https://, models:/ ...)
    members: list[str] = Field(default_factory=list)  # zip members or directory files
    keras_version: str | None = None
    tensorflow_version: str | None = None
    backend: str | None = None
    date_saved: str | None = None
    keras_major: int | None = None
    model_class: str | None = None
    model_module: str | None = None
    config: dict[str, Any] | None = None
    layers: list[Layer] = Field(default_factory=list)
    objects: list[ObjectRef] = Field(default_factory=list)
    training: TrainingConfig | None = None
    weights: list[Weight] = Field(default_factory=list)
    optimizer_weight_count: int | None = None
    saved_model: SavedModelFacts | None = None
    checkpoint_keys: list[str] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    notes: dict[str, Any] = Field(default_factory=dict)

    def problem(self, *kinds: str) -> Problem | None:
        return next((p for p in self.problems if p.kind in kinds), None)

    def take(self, other: Artifact) -> None:
        """Become ``other``, field by field: readers fill a copy and keep it only if it worked."""
        for name in type(self).model_fields:
            setattr(self, name, getattr(other, name))


class Finding(Record):
    code: str
    name: str
    severity: Severity
    message: str
    path: str
    location: str | None = None
    fix: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str = ""
    locations: list[str] = Field(default_factory=list)  # every place this one cause shows, the first is `location`


# How each FixResult.status reads, in the terminal and in the HTML report alike.
FIX_STATUS_WORDS = {"nothing-to-fix": "nothing to fix", "proven": "repaired and proven", "fixed": "can be repaired",
                    "outputs-differ": "repaired copy loads but its outputs differ", "still-fails": "still fails",
                    "not-fixed": "not fixed", "unproven": "repaired copy loads; the original loads nowhere to compare",
                    "error": "error"}


class FixResult(Record):
    """What `kcompat fix` did to one artifact: the rewrites, what it left, and the proof (schema: additive)."""

    path: str
    output: str | None = None  # the repaired copy; None when nothing was written
    status: str  # nothing-to-fix, proven, fixed (not proven: --dry-run), outputs-differ, still-fails, not-fixed, error
    changes: list[dict[str, str]] = Field(default_factory=list)  # {code, change}
    not_fixed: list[dict[str, str]] = Field(default_factory=list)  # {code, reason}
    remaining: list[str] = Field(default_factory=list)  # error codes a check of the copy still finds
    proof: dict[str, Any] | None = None  # loaders, comparison (max_abs_diff, max_rel_diff), the copy's error
    kept: bool = False  # the copy is on disk


class ArtifactReport(Record):
    artifact: Artifact
    findings: list[Finding] = Field(default_factory=list)
    verdict: list[dict[str, Any]] = Field(default_factory=list)  # per loader: {loader, ok, codes}
    intended: list[str] = Field(default_factory=list)  # the loaders this artifact is meant for: they decide the gate
    loads: list[dict[str, Any]] = Field(default_factory=list)  # guarded-load attempts
    load_wall_s: float | None = None
    fixes: list[FixResult] = Field(default_factory=list)  # kcompat fix: the repair of this artifact


class Skipped(Record):
    """An entry of a checked folder that is not an artifact: counted and listed, never dropped."""

    path: str
    reason: str


class MatrixRow(Record):
    """One recorded release in a matrix: per loader, whether the artifact loads and the failing codes."""

    release: str
    versions: dict[str, str | None] = Field(default_factory=dict)
    loaders: dict[str, dict[str, Any]] = Field(default_factory=dict)  # loader -> {ok, codes}


class Matrix(Record):
    """Release x loader for one artifact (`kcompat matrix`, or `check` with several --target)."""

    path: str
    summary: str  # "loads with Keras 3.0.5 to 3.15.1 (compile=False); not with tf_keras 2.16 to 2.21 because KC302"
    loaders: list[str] = Field(default_factory=list)
    rows: list[MatrixRow] = Field(default_factory=list)


class Report(Record):
    schema_version: str = SCHEMA_VERSION
    tool: str = "kcompat"
    tool_version: str
    started_at: str
    duration_s: float
    environment: dict[str, Any] | None = None
    fail_on: Severity = Severity.error
    artifacts: list[ArtifactReport] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)  # folder entries that are not artifacts, and why
    baseline: dict[str, Any] | None = None  # {file, new, suppressed, fixed: [...]} with --baseline
    # --target: [{spec, releases, warning}]; matrix: one per artifact (schema 1.1)
    targets: list[dict[str, Any]] = Field(default_factory=list)
    matrix: list[Matrix] = Field(default_factory=list)
    exit_code: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.artifacts for f in a.findings]
