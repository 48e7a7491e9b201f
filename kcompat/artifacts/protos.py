"""A subset of TensorFlow's SavedModel protos: only the fields kcompat reads.

Protobuf skips fields a schema does not declare, so this subset parses real files
without importing TensorFlow. Field numbers follow tensorflow/core/protobuf/
saved_model.proto, meta_graph.proto, saved_object_graph.proto, fingerprint.proto,
framework/graph.proto, function.proto, op_def.proto, tensor_shape.proto, and
keras' protobuf/saved_metadata.proto.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
STR, BYTES, BOOL, I32, I64, U64, MSG = (
    F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_BOOL, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_MESSAGE,
)
PACKAGE = "kcompat_subset"

# message name -> [(field name, number, type, label, message type name or None)]
SCHEMA: dict[str, list[tuple]] = {
    "SavedModel": [("saved_model_schema_version", 1, I64, OPT, None), ("meta_graphs", 2, MSG, REP, "MetaGraphDef")],
    "MetaGraphDef": [
        ("meta_info_def", 1, MSG, OPT, "MetaInfoDef"),
        ("graph_def", 2, MSG, OPT, "GraphDef"),
        ("signature_def", 5, MSG, REP, "MetaGraphDef.SignatureDefEntry"),
        ("object_graph_def", 7, MSG, OPT, "SavedObjectGraph"),
    ],
    "MetaGraphDef.SignatureDefEntry": [("key", 1, STR, OPT, None), ("value", 2, MSG, OPT, "SignatureDef")],
    "MetaInfoDef": [
        ("meta_graph_version", 1, STR, OPT, None),
        ("stripped_op_list", 2, MSG, OPT, "OpList"),
        ("tags", 4, STR, REP, None),
        ("tensorflow_version", 5, STR, OPT, None),
        ("tensorflow_git_version", 6, STR, OPT, None),
    ],
    "OpList": [("op", 1, MSG, REP, "OpDef")],
    "OpDef": [("name", 1, STR, OPT, None), ("attr", 4, MSG, REP, "AttrDef")],
    "AttrDef": [("name", 1, STR, OPT, None), ("default_value", 3, MSG, OPT, "AttrValue")],
    "GraphDef": [
        ("node", 1, MSG, REP, "NodeDef"),
        ("library", 2, MSG, OPT, "FunctionDefLibrary"),
        ("versions", 4, MSG, OPT, "VersionDef"),
    ],
    "NodeDef": [
        ("name", 1, STR, OPT, None),
        ("op", 2, STR, OPT, None),
        ("input", 3, STR, REP, None),
        ("attr", 5, MSG, REP, "NodeDef.AttrEntry"),
    ],
    # AttrValue is declared empty: kcompat needs attr names, never values.
    "NodeDef.AttrEntry": [("key", 1, STR, OPT, None), ("value", 2, MSG, OPT, "AttrValue")],
    "AttrValue": [],
    "FunctionDefLibrary": [("function", 1, MSG, REP, "FunctionDef")],
    "FunctionDef": [("signature", 1, MSG, OPT, "OpDef"), ("node_def", 3, MSG, REP, "NodeDef")],
    "VersionDef": [("producer", 1, I32, OPT, None), ("min_consumer", 2, I32, OPT, None)],
    "SignatureDef": [
        ("inputs", 1, MSG, REP, "SignatureDef.InputsEntry"),
        ("outputs", 2, MSG, REP, "SignatureDef.OutputsEntry"),
        ("method_name", 3, STR, OPT, None),
    ],
    "SignatureDef.InputsEntry": [("key", 1, STR, OPT, None), ("value", 2, MSG, OPT, "TensorInfo")],
    "SignatureDef.OutputsEntry": [("key", 1, STR, OPT, None), ("value", 2, MSG, OPT, "TensorInfo")],
    "TensorInfo": [
        ("name", 1, STR, OPT, None),
        ("dtype", 2, I32, OPT, None),  # enum DataType, read as its number
        ("tensor_shape", 3, MSG, OPT, "TensorShapeProto"),
    ],
    "TensorShapeProto": [("dim", 2, MSG, REP, "Dim"), ("unknown_rank", 3, BOOL, OPT, None)],
    "Dim": [("size", 1, I64, OPT, None), ("name", 2, STR, OPT, None)],
    "SavedObjectGraph": [("nodes", 1, MSG, REP, "SavedObject")],
    "SavedObject": [
        ("children", 1, MSG, REP, "ObjectReference"),
        ("slot_variables", 3, MSG, REP, "SlotVariableReference"),
        ("user_object", 4, MSG, OPT, "SavedUserObject"),
        ("variable", 7, MSG, OPT, "SavedVariable"),
        ("registered_name", 13, STR, OPT, None),
    ],
    "SavedVariable": [("dtype", 1, I32, OPT, None), ("name", 6, STR, OPT, None)],
    "SlotVariableReference": [("original_variable_node_id", 1, I32, OPT, None)],
    "ObjectReference": [("node_id", 1, I32, OPT, None), ("local_name", 2, STR, OPT, None)],
    "SavedUserObject": [("identifier", 1, STR, OPT, None), ("metadata", 3, STR, OPT, None)],
    "FingerprintDef": [
        ("saved_model_checksum", 1, U64, OPT, None),
        ("graph_def_program_hash", 2, U64, OPT, None),
        ("signature_def_hash", 3, U64, OPT, None),
        ("saved_object_graph_hash", 4, U64, OPT, None),
        ("checkpoint_hash", 5, U64, OPT, None),
        ("version", 6, MSG, OPT, "VersionDef"),
        ("uuid", 7, STR, OPT, None),
    ],
    "SavedMetadata": [("nodes", 1, MSG, REP, "SavedMetadataObject")],
    "SavedMetadataObject": [
        ("node_id", 2, I32, OPT, None),
        ("node_path", 3, STR, OPT, None),
        ("identifier", 4, STR, OPT, None),
        ("metadata", 5, STR, OPT, None),
    ],
    # TF tensor bundle (checkpoint index) values: tensorflow/core/protobuf/tensor_bundle.proto
    "BundleHeaderProto": [("num_shards", 1, I32, OPT, None), ("endianness", 2, I32, OPT, None)],
    "BundleEntryProto": [
        ("dtype", 1, I32, OPT, None),
        ("shape", 2, MSG, OPT, "TensorShapeProto"),
        ("shard_id", 3, I32, OPT, None),
        ("offset", 4, I64, OPT, None),
        ("size", 5, I64, OPT, None),
    ],
}


def _build() -> dict[str, type]:
    file = descriptor_pb2.FileDescriptorProto(name="kcompat_subset.proto", package=PACKAGE, syntax="proto3")
    built: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full_name in SCHEMA:  # parents are listed before their map entries
        outer, _, inner = full_name.partition(".")
        if inner:
            msg = built[outer].nested_type.add(name=inner)
            msg.options.map_entry = True
        else:
            msg = file.message_type.add(name=outer)
        built[full_name] = msg
        for name, number, ftype, label, type_name in SCHEMA[full_name]:
            field = msg.field.add(name=name, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = f".{PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in SCHEMA
        if "." not in name
    }


MESSAGES = _build()
SavedModel = MESSAGES["SavedModel"]
FingerprintDef = MESSAGES["FingerprintDef"]
SavedMetadata = MESSAGES["SavedMetadata"]
BundleHeaderProto = MESSAGES["BundleHeaderProto"]
BundleEntryProto = MESSAGES["BundleEntryProto"]

# tensorflow/core/framework/types.proto DataType numbers.
DTYPES = {
    0: "invalid", 1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32", 14: "bfloat16",
    15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128", 19: "float16", 20: "resource",
    21: "variant", 22: "uint32", 23: "uint64",
}


def dtype_name(number: int) -> str:
    if number > 100:  # reference types are offset by 100
        return DTYPES.get(number - 100, str(number)) + "_ref"
    return DTYPES.get(number, str(number))


def shape_dims(shape) -> list[int | None] | None:
    if shape.unknown_rank:
        return None
    return [d.size if d.size >= 0 else None for d in shape.dim]
