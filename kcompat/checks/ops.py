"""KC604, KC605, KC608, KC703: the op types a SavedModel graph uses, against the env's op registry."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks.base import Hit, saved_model_facts
from kcompat.checks.op_packages import IMPORT_NAMES, package_for
from kcompat.model import Artifact

# Names a node's `op` can take that are library functions, not registered ops.
FUNCTION_PREFIXES = ("__inference_", "__forward_", "__backward_", "__inference")

# Attributes the installed op does not define, but which real runtimes tolerate: observed that TF 2.12
# loads SavedModels written by TF 2.15/2.16/2.21 whose VarHandleOp nodes carry `debug_name`.
TOLERATED_ATTRS = {("VarHandleOp", "debug_name")}

# Ops that read, write, list or delete files. A model graph does not need them; the standard
# saver ops (SaveV2, RestoreV2, MergeV2Checkpoints, ShardedFilename, StringJoin) are not listed,
# and neither are vocabulary-table initialisers that read the SavedModel's own assets.
FILESYSTEM_OPS = {
    "ReadFile": "reads any file into a tensor",
    "WriteFile": "writes a tensor to any file",
    "MatchingFiles": "lists files matching a glob",
    "Save": "TF1 saver: writes tensors to a file",
    "SaveSlices": "TF1 saver: writes tensor slices to a file",
    "WholeFileReader": "reads whole files",
    "WholeFileReaderV2": "reads whole files",
    "TextLineReader": "reads text files",
    "TextLineReaderV2": "reads text files",
    "TFRecordReader": "reads TFRecord files",
    "TFRecordReaderV2": "reads TFRecord files",
    "FixedLengthRecordReader": "reads binary files",
    "FixedLengthRecordReaderV2": "reads binary files",
    "LMDBReader": "reads an LMDB database",
    "TextLineDataset": "reads text files",
    "TFRecordDataset": "reads TFRecord files",
    "TFRecordDatasetV2": "reads TFRecord files",
    "FixedLengthRecordDataset": "reads binary files",
    "FixedLengthRecordDatasetV2": "reads binary files",
    "DatasetToTFRecord": "writes a TFRecord file",
    "SaveDataset": "writes a dataset to files",
    "SaveDatasetV2": "writes a dataset to files",
    "LoadDataset": "reads a dataset from files",
    "CreateSummaryFileWriter": "opens an event file for writing",
    "WriteSummary": "writes an event file",
    "WriteRawProtoSummary": "writes an event file",
    "ImportEvent": "writes an event file",
    "LoadAndRemapMatrix": "reads a checkpoint file at run time",
    "GenerateVocabRemapping": "reads vocabulary files at run time",
    "ImmutableConst": "memory-maps a file",
    "DebugIdentityV2": "dumps tensors to a debug directory",
    "DebugNumericSummaryV2": "dumps tensors to a debug directory",
}



def _is_op(name: str) -> bool:
    return bool(name) and not name.startswith(FUNCTION_PREFIXES)


def _tf_pin(env) -> str:
    mm = env.tensorflow_major_minor
    return f"=={mm[0]}.{mm[1]}.*" if mm else ""


def op_unregistered(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or not env.ops:
        return
    tf_version = env.versions.get("tensorflow") or "this TensorFlow"
    for op in facts.ops:
        if not _is_op(op) or op in env.ops:
            continue
        package = package_for(op)
        if package:
            module = IMPORT_NAMES.get(package, package.replace("-", "_"))
            pin = _tf_pin(env) if package in ("tensorflow-text", "tensorflow-decision-forests") else ""
            fix = f'pip install "{package}{pin}"   # then, before loading:\nimport {module}'
            where = f"; it is registered by {package} (import {module} before loading)"
        else:
            fix = ("Install and import the library that registers this op before loading, or load under the "
                   "TensorFlow version that wrote the SavedModel "
                   f"({facts.tensorflow_version or 'see saved_model.pb meta_info_def'}).")
            where = (f"; the SavedModel was written by TF {facts.tensorflow_version}, newer than this runtime"
                     if facts.tensorflow_version else "")
        yield Hit(
            f"op type {op!r} is not registered in TensorFlow {tf_version}: loading fails with "
            f"\"Op type not registered '{op}' in binary\"{where}",
            location=op, fix=fix, evidence={"op": op, "package": package}, key=op,
            group=f"package:{package}" if package else None,
            group_message=f"{{n}} op types ({{locations}}) are not registered in TensorFlow {tf_version}: loading "
                          f"fails with \"Op type not registered '{op}' in binary\"{where}")


def op_attr_unknown(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or not env.ops:
        return
    for op, attrs in sorted(facts.op_attrs.items()):
        known = env.ops.get(op)
        if known is None:
            continue  # KC604 reports the op itself
        unknown = [a for a in attrs if not a.startswith("_") and a not in known and (op, a) not in TOLERATED_ATTRS]
        if not unknown:
            continue
        runtime = f"TensorFlow {env.versions.get('tensorflow')}"
        fix = (f"Load under TensorFlow >= {facts.tensorflow_version or 'the producing version'}, or re-export the "
               "model from its source with the older TensorFlow.")
        evidence = {"op": op, "attrs": unknown, "producer_tf": facts.tensorflow_version}
        # A TF1 SavedModel's graph is imported, and each top-level node validated, on load. Otherwise
        # the nodes sit in graph functions, which are validated when they first run: the load succeeds.
        if facts.object_graph_nodes == 0 and set(unknown) & set(facts.graph_op_attrs.get(op, [])):
            yield Hit(
                f"{op} nodes set attr(s) {unknown} that {runtime}'s {op} does not define: loading fails with "
                f"\"NodeDef mentions attr '{unknown[0]}' not in Op<name={op}; ...>\" (the graph was written by TF "
                f"{facts.tensorflow_version or 'a newer version'})",
                location=op, fix=fix, evidence=evidence, key=op)
            continue
        yield Hit(
            f"{op} nodes in the graph's functions set attr(s) {unknown} that {runtime}'s {op} does not define (the "
            f"graph was written by TF {facts.tensorflow_version or 'a newer version'}): the SavedModel loads, since "
            "a function is checked only when it first runs, but the first call of a function holding such a node "
            f"fails (\"NodeDef mentions attr '{unknown[0]}' not in Op\", or the op rejects what the newer writer "
            "encoded)",
            location=op, fix=fix, evidence={**evidence, "breaks": [], "fails_on": "first call"}, key=op)


def op_attr_missing(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or not env.ops_required:  # a snapshot from before probes recorded defaults: nothing to judge
        return
    runtime = f"TensorFlow {env.versions.get('tensorflow')}"
    for op, present in sorted(facts.op_attrs_every_node.items()):
        if op not in env.ops:
            continue  # KC604 reports the op itself
        missing = [a for a in env.ops_required.get(op, []) if a not in present]
        if not missing:
            continue
        yield Hit(
            f"{op} nodes lack attr(s) {missing}, which {runtime}'s {op} requires (it declares no default there): loading "
            f"fails with \"NodeDef missing attr '{missing[0]}' from Op<name={op}; ...>\" (the graph was written by TF "
            f"{facts.tensorflow_version or 'another version'}; a writer leaves out of a node each attr that holds its own "
            "default, and a later TensorFlow gave this one a default)",
            location=op,
            fix=(f"Load under TensorFlow >= {facts.tensorflow_version or 'the producing version'}, or re-export the model "
                 f"under {runtime}, whose writer keeps the attr in the nodes."),
            evidence={"op": op, "attrs": missing, "producer_tf": facts.tensorflow_version}, key=op)


def filesystem_op(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None:
        return
    for op in facts.ops:
        if op in FILESYSTEM_OPS:
            yield Hit(
                f"the graph contains {op}, which {FILESYSTEM_OPS[op]}: an inference graph does not need file-system "
                "access, so serving this model can read or write files on the serving host",
                location=op,
                fix=("Inspect where it is used (saved_model_cli show --dir PATH --all); if the file is untrusted, "
                     "do not serve it, or re-export the model without the file I/O."),
                evidence={"op": op}, key=op)
