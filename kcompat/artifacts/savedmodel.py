"""Read a SavedModel directory through the subset protos: no TensorFlow import."""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf.message import DecodeError

from kcompat.artifacts import protos
from kcompat.artifacts.checkpoint import read_bundle
from kcompat.artifacts.keras_config import apply_model_config, collect_objects, training_config
from kcompat.model import KERAS_METADATA_NODE, Artifact, Problem, SavedModelFacts, Signature, TensorSpec

MAX_PB_BYTES = 2 * 1024**3  # protobuf's own message size limit
VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp", "VariableV1"}


def parse_saved_model(path: Path):
    message = protos.SavedModel()
    pb = path / "saved_model.pb"
    if pb.is_file():
        if pb.stat().st_size > MAX_PB_BYTES:
            raise ValueError("saved_model.pb is larger than protobuf's 2 GiB limit")
        message.ParseFromString(pb.read_bytes())
    else:
        from google.protobuf import text_format  # ~10-20 ms to import; only .pbtxt needs it

        try:
            text_format.Parse((path / "saved_model.pbtxt").read_text("utf-8"), message,
                              allow_unknown_field=True, allow_unknown_extension=True)
        except text_format.ParseError as exc:
            raise ValueError(str(exc)) from exc
    return message


def tensor_spec(info) -> TensorSpec:
    shape = protos.shape_dims(info.tensor_shape) if info.HasField("tensor_shape") else None
    return TensorSpec(name=info.name or None, dtype=protos.dtype_name(info.dtype), shape=shape)


def graph_ops(meta_graph) -> tuple[list[str], dict[str, list[str]], dict[str, list[str]], dict[str, set[str]]]:
    """The ops of the graph and its functions, per op the attrs its nodes set, the same for the
    top-level graph's nodes only (what a TF1 import validates; function bodies are checked when they run),
    and per op the attrs every one of its nodes has, whatever their value (what a required attr needs).

    An attr left at the default the producer declares (meta_info_def.stripped_op_list) is not
    counted: a consumer whose op lacks it removes it before validating the node (TF's
    RemoveNewDefaultAttrsFromGraphDef), so only attrs set to another value can break a load.
    """
    defaults = {(op.name, attr.name): attr.default_value.SerializeToString()
                for op in meta_graph.meta_info_def.stripped_op_list.op for attr in op.attr
                if attr.HasField("default_value")}
    attrs: dict[str, set[str]] = {}
    top: dict[str, set[str]] = {}
    every: dict[str, set[str]] = {}
    functions = [node for function in meta_graph.graph_def.library.function for node in function.node_def]
    for place, nodes in ((top, meta_graph.graph_def.node), (None, functions)):
        for node in nodes:
            names = attrs.setdefault(node.op, set())
            keys = set(node.attr)
            every[node.op] = every[node.op] & keys if node.op in every else keys
            for key, value in node.attr.items():
                default = defaults.get((node.op, key))
                if default is None or value.SerializeToString() != default:
                    names.add(key)
                    if place is not None:
                        place.setdefault(node.op, set()).add(key)
    return (sorted(attrs), {op: sorted(names) for op, names in sorted(attrs.items())},
            {op: sorted(names) for op, names in sorted(top.items())}, every)


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":", 1)[0]


def unfed_placeholders(graph: dict[str, tuple[str, list[str]]], signature) -> list[str] | None:
    """The Placeholder nodes a signature's outputs reach through data and control inputs without passing
    a fed input: tf.saved_model.load of a TF1 SavedModel prunes the graph to each signature and raises
    UnliftableError on the first one (tensorflow/python/ops/op_selector.py map_subgraph). None when a
    tensor is not named (a sparse or composite TensorInfo)."""
    tensors = [*signature.inputs.values(), *signature.outputs.values()]
    if any(not info.name for info in tensors):
        return None
    visited = {_node_name(info.name) for info in signature.inputs.values()}
    todo = [_node_name(info.name) for info in signature.outputs.values()]
    unfed = set()
    while todo:
        name = todo.pop()
        if name in visited or name not in graph:
            continue
        visited.add(name)
        op, inputs = graph[name]
        if op == "Placeholder":
            unfed.add(name)
        todo.extend(_node_name(i) for i in inputs)
    return sorted(unfed)


def read_saved_model(artifact: Artifact, path: Path) -> None:
    if path.is_file():
        path = path.parent
        artifact.path = str(path)
    artifact.members = sorted(p.name for p in path.iterdir())
    facts = SavedModelFacts(has_variables_dir=(path / "variables").is_dir())
    artifact.saved_model = facts
    try:
        message = parse_saved_model(path)
    except (DecodeError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        artifact.problems.append(Problem(kind="savedmodel-corrupt", member="saved_model.pb",
                                         detail=f"saved_model.pb does not parse: {exc}"))
        return
    if not message.meta_graphs:
        artifact.problems.append(Problem(kind="savedmodel-corrupt", member="saved_model.pb",
                                         detail="saved_model.pb holds no MetaGraphDef"))
        return
    ops: set[str] = set()
    op_attrs: dict[str, set[str]] = {}
    graph_op_attrs: dict[str, set[str]] = {}
    every_node: dict[str, set[str]] = {}
    # tf.saved_model.load takes the TF2 path only for one MetaGraph with an object graph; otherwise it
    # imports the TF1 graph and prunes it to each signature.
    v1 = len(message.meta_graphs) == 1 and not message.meta_graphs[0].HasField("object_graph_def")
    for meta_graph in message.meta_graphs:
        info = meta_graph.meta_info_def
        facts.tags.append(list(info.tags))
        facts.tensorflow_version = facts.tensorflow_version or info.tensorflow_version or None
        facts.tensorflow_git_version = facts.tensorflow_git_version or info.tensorflow_git_version or None
        facts.stripped_ops = sorted(set(facts.stripped_ops) | {op.name for op in info.stripped_op_list.op})
        if meta_graph.graph_def.HasField("versions"):
            facts.graph_producer = meta_graph.graph_def.versions.producer
        names, attrs, top, every = graph_ops(meta_graph)
        ops.update(names)
        for op, keys in every.items():
            every_node[op] = every_node[op] & keys if op in every_node else keys
        for op, keys in attrs.items():
            op_attrs.setdefault(op, set()).update(keys)
        for op, keys in top.items():
            graph_op_attrs.setdefault(op, set()).update(keys)
        graph = {node.name: (node.op, list(node.input)) for node in meta_graph.graph_def.node} if v1 else {}
        for key in sorted(meta_graph.signature_def):
            sig = meta_graph.signature_def[key]
            facts.signatures.append(Signature(
                key=key, method_name=sig.method_name,
                inputs={k: tensor_spec(v) for k, v in sorted(sig.inputs.items())},
                outputs={k: tensor_spec(v) for k, v in sorted(sig.outputs.items())},
                unfed_placeholders=(unfed_placeholders(graph, sig) or []) if v1 else [],
            ))
        facts.graph_variables += sum(node.op in VARIABLE_OPS for node in meta_graph.graph_def.node)
        facts.object_graph_nodes += len(meta_graph.object_graph_def.nodes)
        inline_classes(facts, meta_graph.object_graph_def)
        for node in meta_graph.object_graph_def.nodes:
            facts.slot_variable_count += len(node.slot_variables)
            facts.variable_count += node.HasField("variable")
            if node.HasField("user_object") and node.user_object.identifier:
                facts.object_identifiers.append(node.user_object.identifier)
                if node.user_object.identifier.startswith("_tf_keras") and not node.user_object.metadata:
                    facts.bare_keras_objects += 1
    facts.ops = sorted(ops)
    facts.op_attrs = {op: sorted(keys) for op, keys in sorted(op_attrs.items())}
    facts.graph_op_attrs = {op: sorted(keys) for op, keys in sorted(graph_op_attrs.items())}
    facts.op_attrs_every_node = {op: sorted(keys) for op, keys in sorted(every_node.items())}
    facts.object_identifiers = sorted(set(facts.object_identifiers))
    artifact.tensorflow_version = facts.tensorflow_version
    read_keras_metadata(artifact, path / "keras_metadata.pb")
    read_fingerprint(artifact, path / "fingerprint.pb")
    read_variables(artifact, path)


def parse_member(artifact: Artifact, file: Path, message):
    """A side proto of the SavedModel, or None (absent, or damaged: then a problem is recorded)."""
    if not file.is_file():
        return None
    try:
        message.ParseFromString(file.read_bytes())
    except DecodeError as exc:
        artifact.problems.append(Problem(kind="savedmodel-corrupt", member=file.name, detail=str(exc)))
        return None
    return message


METRIC = "_tf_keras_metric"


def inline_classes(facts: SavedModelFacts, graph) -> None:
    """Before keras_metadata.pb (TF <= 2.4), each Keras object's metadata sat in its object graph node:
    its class, under the node's path (root.layer_with_weights-0), as keras_metadata.pb would give it."""
    paths, order = {0: "root"}, [0]
    for index in order:
        if index >= len(graph.nodes):
            continue
        for child in graph.nodes[index].children:
            if child.node_id not in paths:
                paths[child.node_id] = f"{paths[index]}.{child.local_name}"
                order.append(child.node_id)
    for index, node in enumerate(graph.nodes):
        meta = _json(node.user_object.metadata) if node.HasField("user_object") else None
        if index in paths and isinstance(meta, dict) and isinstance(meta.get("class_name"), str):
            facts.keras_metadata_classes.setdefault(paths[index], meta["class_name"])


def _json(text: str):
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def read_keras_metadata(artifact: Artifact, file: Path) -> None:
    facts = artifact.saved_model
    facts.has_keras_metadata = file.is_file()
    message = parse_member(artifact, file, protos.SavedMetadata())
    if message is None:
        return
    facts.keras_metadata_identifiers = sorted({n.identifier for n in message.nodes if n.identifier})
    for node in message.nodes:
        meta = _json(node.metadata)
        if isinstance(meta, dict) and isinstance(meta.get("class_name"), str):
            facts.keras_metadata_classes[node.node_path] = meta["class_name"]
            if node.node_path != "root" and meta.get("must_restore_from_config") and meta.get("build_input_shape") is None:
                facts.unbuilt_restored_layers.append(node.node_path)
        if node.identifier == METRIC:  # what compile=True revives from the metadata's config
            if meta is not None:
                collect_objects(meta, f"{KERAS_METADATA_NODE}{node.node_path}", artifact.objects)
            continue
        if node.node_path != "root" or not isinstance(meta, dict):
            continue
        artifact.keras_version = artifact.keras_version or meta.get("keras_version")
        artifact.backend = artifact.backend or meta.get("backend")
        artifact.model_class = meta.get("class_name")
        config = {"class_name": meta.get("class_name"), "config": meta.get("config")}
        if isinstance(meta.get("config"), dict):
            apply_model_config(artifact, config)
        if isinstance(meta.get("training_config"), dict):
            artifact.training = training_config(meta["training_config"])
            collect_objects(meta["training_config"], "training_config", artifact.objects)


def read_fingerprint(artifact: Artifact, file: Path) -> None:
    message = parse_member(artifact, file, protos.FingerprintDef())
    if message is None:
        return
    artifact.saved_model.fingerprint = {
        "saved_model_checksum": message.saved_model_checksum,
        "graph_def_program_hash": message.graph_def_program_hash,
        "signature_def_hash": message.signature_def_hash,
        "saved_object_graph_hash": message.saved_object_graph_hash,
        "checkpoint_hash": message.checkpoint_hash,
        "producer": message.version.producer if message.HasField("version") else None,
        "uuid": message.uuid or None,
    }


def read_variables(artifact: Artifact, path: Path) -> None:
    variables = path / "variables"
    if not variables.is_dir():
        return
    index = variables / "variables.index"
    if not index.is_file():
        if any(variables.iterdir()):
            artifact.problems.append(Problem(kind="savedmodel-corrupt", member="variables/variables.index",
                                             detail="variables/ has data files but no variables.index"))
        return
    read_bundle(artifact, variables / "variables", member="variables/variables.index")
