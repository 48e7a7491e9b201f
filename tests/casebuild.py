"""Build the artifacts that rule case files describe, with h5py, zipfile and the subset protos.

A case's `artifact` table names a `kind` and its options; `build(spec, folder)` writes it and
returns the path to check. Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from kcompat.artifacts import protos
from kcompat.artifacts.detect import TABLE_MAGIC

DTYPE_NUMBERS = {v: k for k, v in protos.DTYPES.items()}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(_varint(0) + _varint(len(k)) + _varint(len(v)) + k + v for k, v in entries)
    return body + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")


def write_bundle_index(path: Path, tensors: dict[str, tuple[str, list[int]]], num_shards: int = 1) -> None:
    """A minimal but well-formed tensor-bundle index: one data block, one index block, the footer."""
    header = protos.BundleHeaderProto(num_shards=num_shards).SerializeToString()
    entries = [(b"", header)]
    for name in sorted(tensors):
        dtype, shape = tensors[name]
        entry = protos.BundleEntryProto(dtype=DTYPE_NUMBERS[dtype])
        for size in shape:
            entry.shape.dim.add(size=size)
        entries.append((name.encode(), entry.SerializeToString()))
    data = _block(entries)
    out = bytearray(data + b"\x00\x00\x00\x00\x00")
    index_handle = _varint(0) + _varint(len(data))
    index = _block([(b"\xff", index_handle)])
    index_off = len(out)
    out += index + b"\x00\x00\x00\x00\x00"
    meta = _block([])
    meta_off = len(out)
    out += meta + b"\x00\x00\x00\x00\x00"
    footer = _varint(meta_off) + _varint(len(meta)) + _varint(index_off) + _varint(len(index))
    out += footer.ljust(40, b"\x00") + TABLE_MAGIC
    path.write_bytes(bytes(out))


def keras3_config(layers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    layers = layers or [{"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2},
                         "registered_name": None}]
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": layers}}


def write_h5(path: Path, spec: dict[str, Any]) -> None:
    with h5py.File(path, "w") as f:
        for key, value in spec.get("attrs", {}).items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
        for name, shape in spec.get("datasets", {}).items():
            f.create_dataset(name, data=np.zeros(shape, dtype="float32"))
        for name, shape in spec.get("opaque_datasets", {}).items():  # untyped bytes, as h5py stores bfloat16
            f.create_dataset(name, data=np.zeros(shape, dtype="V2"))
        for group, attrs in spec.get("group_attrs", {}).items():
            g = f.require_group(group)
            for key, value in attrs.items():
                g.attrs[key] = value
        eoa = object_address(f, spec["eoa"]) if "eoa" in spec else None
    if eoa is not None:
        move_eoa(path, eoa)


def object_address(f: h5py.File, name: str) -> int:
    """Where the object header of ``name`` starts."""
    return h5py.h5g.get_objinfo(f.id, name.encode()).objno[0]


def move_eoa(path: Path, address: int) -> None:
    """End the file's address space at ``address`` in its superblock (v0, as h5py writes it): libhdf5 then
    refuses the objects stored from there on."""
    data = bytearray(path.read_bytes())
    at, size = 24 + 2 * data[13], data[13]
    data[at : at + size] = address.to_bytes(size, "little")
    path.write_bytes(bytes(data))


def write_keras_zip(path: Path, spec: dict[str, Any], folder: Path) -> None:
    members: dict[str, bytes] = {}
    if spec.get("config", True) is not False:
        config = spec.get("config") or keras3_config()
        # a string is the JSON text itself (TOML has no null)
        members["config.json"] = (config if isinstance(config, str) else json.dumps(config)).encode()
    if spec.get("metadata", True) is not False:
        members["metadata.json"] = json.dumps(spec.get("metadata") or {"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}).encode()
    if spec.get("weights", True):
        weights = folder / "_weights.h5"
        write_h5(weights, {"datasets": spec.get("weights_datasets") or {"layers/dense/vars/0": [2, 2]}})
        members["model.weights.h5"] = weights.read_bytes()
        weights.unlink()
    for name, text in spec.get("members", {}).items():
        members[name] = text.encode()
    if spec.get("unzipped"):  # the folder Keras 3.6+ writes with model.save(path, zipped=False)
        path.mkdir()
        for name, data in members.items():
            (path / name).write_bytes(data)
        return
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED if spec.get("deflate") else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if spec.get("duplicate_member"):  # zipfile warns, and writes the second entry all the same
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zf.writestr(spec["duplicate_member"], members[spec["duplicate_member"]])
    if spec.get("bad_crc"):
        raw = bytearray(path.read_bytes())
        data = members[spec["bad_crc"]]
        at = raw.find(data)
        raw[at] ^= 0xFF
        path.write_bytes(bytes(raw))
    if spec.get("bomb"):
        write_bomb(path, spec["bomb"])


def write_bomb(path: Path, member: str, size: int = 80 * 1024 * 1024) -> None:
    """A member that inflates past the JSON limit from a few kilobytes."""
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(member, "w", force_zip64=True) as out:
            chunk = b" " * (1024 * 1024)
            for _ in range(size // len(chunk)):
                out.write(chunk)


def write_saved_model(path: Path, spec: dict[str, Any]) -> None:
    path.mkdir(parents=True)
    if spec.get("corrupt_pb"):
        (path / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
        return
    sm = protos.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.extend(spec.get("tags", ["serve"]))
    mg.meta_info_def.tensorflow_version = spec.get("tensorflow_version", "2.21.0")
    for op in spec.get("ops", ["MatMul"]):
        node = mg.graph_def.node.add(name=op.lower(), op=op)
        for attr in spec.get("op_attrs", {}).get(op, ["T"]):  # attr names set on that op's node
            node.attr[attr].SetInParent()
    for op, attrs in spec.get("op_defaults", {}).items():  # the producer declares these defaults (empty values)
        op_def = mg.meta_info_def.stripped_op_list.op.add(name=op)
        for attr in attrs:
            op_def.attr.add(name=attr).default_value.SetInParent()
    for name, op, inputs in spec.get("graph", []):  # [node name, op, [its inputs]]: a TF1 graph
        mg.graph_def.node.add(name=name, op=op, input=inputs)
    for key, tensors in spec.get("fetches", {}).items():  # {signature: {"inputs"|"outputs": {key: tensor name}}}
        for side, named in tensors.items():
            for name, tensor in named.items():
                getattr(mg.signature_def[key], side)[name].name = tensor
    for key, inputs in spec.get("signatures", {"serving_default": {"x": ["float32", [-1, 4]]}}).items():
        sig = mg.signature_def[key]
        sig.method_name = "tensorflow/serving/predict"
        for name, (dtype, shape) in inputs.items():
            info = sig.inputs[name]
            info.dtype = DTYPE_NUMBERS[dtype]
            for size in shape:
                info.tensor_shape.dim.add(size=size)
    if spec.get("inline_layers"):  # TF <= 2.4: each Keras object's metadata in its own object graph node
        graph = mg.object_graph_def
        root = graph.nodes.add()  # node 0
        root.user_object.identifier = "_tf_keras_network"
        root.user_object.metadata = json.dumps({"class_name": "Functional", "keras_version": "2.4.0"})
        for name, class_name in spec["inline_layers"].items():  # {local name under root: class}
            root.children.add(node_id=len(graph.nodes), local_name=name)
            layer = graph.nodes.add()
            layer.user_object.identifier = "_tf_keras_layer"
            layer.user_object.metadata = json.dumps({"class_name": class_name, "name": name, "config": {}})
    for _ in range(spec.get("variables", 1)):
        mg.object_graph_def.nodes.add().variable.dtype = 1
    for identifier in spec.get("user_objects", []):
        mg.object_graph_def.nodes.add().user_object.identifier = identifier
    if spec.get("slot_variables"):  # a legacy Keras optimizer's slots, on the first variable node
        holder = mg.object_graph_def.nodes.add()
        holder.user_object.identifier = "optimizer"
        for i in range(spec["slot_variables"]):
            holder.slot_variables.add(original_variable_node_id=1)
    (path / "saved_model.pb").write_bytes(sm.SerializeToString())
    if spec.get("keras_metadata"):
        meta = protos.SavedMetadata()
        root = {"class_name": "Sequential", "keras_version": "2.15.0", "backend": "tensorflow",
                "config": {"name": "s", "layers": []}}
        if isinstance(spec["keras_metadata"], dict):  # the root object's metadata: class_name, config, ...
            root.update(spec["keras_metadata"])
        identifier = "_tf_keras_sequential" if root["class_name"] == "Sequential" else "_tf_keras_network"
        node = meta.nodes.add(node_id=0, node_path="root", identifier=identifier)
        node.metadata = json.dumps(root)
        for i, (node_path, class_name) in enumerate(spec.get("metadata_layers", {}).items()):  # {root.a.b: class}
            layer = meta.nodes.add(node_id=100 + i, node_path=node_path, identifier="_tf_keras_layer")
            node_meta = {"class_name": class_name, "name": node_path.rsplit(".", 1)[-1], "config": {}}
            if node_path in spec.get("unbuilt_layers", []):  # as Keras 2.5 wrote preprocessing layers
                node_meta["must_restore_from_config"] = True
            else:
                node_meta["build_input_shape"] = [None, 4]
            layer.metadata = json.dumps(node_meta)
        for i, class_name in enumerate(spec.get("metrics", [])):  # compiled metrics, as Keras 2 writes them
            metric = meta.nodes.add(node_id=i + 1, node_path=f"root.keras_api.metrics.{i}", identifier="_tf_keras_metric")
            metric.metadata = json.dumps({"class_name": class_name, "name": f"m{i}", "dtype": "float32", "config": {}})
        (path / "keras_metadata.pb").write_bytes(meta.SerializeToString())
    if spec.get("variables_dir", True):
        (path / "variables").mkdir()
        tensors = {f"var{i}/.ATTRIBUTES/VARIABLE_VALUE": ("float32", [4]) for i in range(spec.get("variables", 1))}
        tensors |= {key: ("string", [3]) for key in spec.get("checkpoint_keys", [])}
        write_bundle_index(path / "variables" / "variables.index", tensors)
        if not spec.get("missing_shard"):
            (path / "variables" / "variables.data-00000-of-00001").write_bytes(b"\0" * 16)
        if spec.get("truncate_index"):
            index = path / "variables" / "variables.index"
            index.write_bytes(index.read_bytes()[: spec["truncate_index"]])


def build(spec: dict[str, Any], folder: Path) -> Path:
    kind = spec["kind"]
    path = folder / spec.get("name", "artifact")
    if kind == "missing":
        return path
    if kind == "url":  # a remote source, given to kcompat as the URL itself
        return spec["url"]
    if kind == "bytes":
        data = bytes.fromhex(spec["hex"]) if "hex" in spec else spec.get("text", "").encode()
        path.write_bytes(data + b"\0" * spec.get("pad", 0))
    elif kind == "lfs-pointer":
        path.write_text("version https://git-lfs.github.com/spec/v1\n"
                        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e9ca24d17e2393\n"
                        f"size {spec.get('size', 12345)}\n")
    elif kind == "h5":
        write_h5(path, spec)
        if "truncate" in spec:
            path.write_bytes(path.read_bytes()[: spec["truncate"]])
    elif kind == "keras-zip":
        write_keras_zip(path, spec, folder)
    elif kind == "json":
        path.write_text(json.dumps(spec["content"]))
    elif kind == "saved-model":
        write_saved_model(path, spec)
    elif kind == "checkpoint":
        keys = spec.get("keys", ["model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"])  # tensor names in the bundle
        write_bundle_index(folder / f"{path.name}.index", {k: ("float32", [4, 2]) for k in keys})
        if not spec.get("missing_shard"):
            (folder / f"{path.name}.data-00000-of-00001").write_bytes(b"\0" * 32)
        if spec.get("truncate_index"):
            index = folder / f"{path.name}.index"
            index.write_bytes(index.read_bytes()[: spec["truncate_index"]])
    elif kind == "dir":
        path.mkdir()
        for name, text in spec.get("files", {}).items():
            (path / name).write_text(text)
    elif kind == "tflite":
        path.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\0" * 64)
    elif kind == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    else:
        raise ValueError(f"unknown case artifact kind {kind!r}")
    return path
