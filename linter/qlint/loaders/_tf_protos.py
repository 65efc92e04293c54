"""The subset of TensorFlow's protobuf messages that a SavedModel loader reads.

Why descriptors built at import time, and not TensorFlow's generated modules:

* importing ``tensorflow.core.protobuf`` imports TensorFlow (seconds, hundreds of
  MB), which qlint must never do;
* the packages that ship compiled copies of these messages without TensorFlow
  (``tensorboard.compat.proto``) pull in a web server and gRPC, far too much for
  a linter's core dependencies;
* the protobuf wire format identifies a field only by its number and wire type,
  and a parser skips the fields its schema does not know.  So a schema that
  declares only the fields qlint reads, with TensorFlow's exact field numbers and
  types, decodes a real ``saved_model.pb`` correctly and ignores the rest
  (debug info, most of the object graph, ...).  Of the object graph it reads which
  object each function's captured inputs are; of a checkpoint's index, its entries
  (`qlint.loaders.tensor_bundle`).

The subset below is written as `descriptor_pb2` data (field numbers from
``tensorflow/core/framework/*.proto`` and ``tensorflow/core/protobuf/*.proto``)
and compiled into message classes with `message_factory` in a private
`descriptor_pool`, so it cannot clash with TensorFlow's own classes when both are
loaded in one process.  ``DataType`` enums are declared as ``int32``: enums are
varints on the wire, and the loader maps the numbers to names itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_PACKAGE = "qlint_tf_subset"
_F = descriptor_pb2.FieldDescriptorProto

_OPTIONAL = _F.LABEL_OPTIONAL
_REPEATED = _F.LABEL_REPEATED

# (name, number, type, label, message type name or None)
_Field = tuple[str, int, int, int, "str | None"]

_MESSAGES: dict[str, list[_Field]] = {
    "SavedModel": [
        ("saved_model_schema_version", 1, _F.TYPE_INT64, _OPTIONAL, None),
        ("meta_graphs", 2, _F.TYPE_MESSAGE, _REPEATED, "MetaGraphDef"),
    ],
    "MetaGraphDef": [
        ("meta_info_def", 1, _F.TYPE_MESSAGE, _OPTIONAL, "MetaInfoDef"),
        ("graph_def", 2, _F.TYPE_MESSAGE, _OPTIONAL, "GraphDef"),
        ("signature_def", 5, _F.TYPE_MESSAGE, _REPEATED, "map:string:SignatureDef"),
        ("object_graph_def", 7, _F.TYPE_MESSAGE, _OPTIONAL, "SavedObjectGraph"),
    ],
    # saved_object_graph.proto: which object (by node id) each function's captured
    # inputs are; the node ids are the checkpoint's (trackable_object_graph.proto)
    "SavedObjectGraph": [
        ("concrete_functions", 2, _F.TYPE_MESSAGE, _REPEATED,
         "map:string:SavedConcreteFunction"),
    ],
    "SavedConcreteFunction": [
        ("bound_inputs", 2, _F.TYPE_INT32, _REPEATED, None),
    ],
    "TrackableObjectGraph": [
        ("nodes", 1, _F.TYPE_MESSAGE, _REPEATED, "TrackableObject"),
    ],
    "TrackableObject": [  # TrackableObjectGraph.TrackableObject
        ("attributes", 2, _F.TYPE_MESSAGE, _REPEATED, "SerializedTensor"),
    ],
    "SerializedTensor": [  # TrackableObjectGraph.TrackableObject.SerializedTensor
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("full_name", 2, _F.TYPE_STRING, _OPTIONAL, None),
        ("checkpoint_key", 3, _F.TYPE_STRING, _OPTIONAL, None),
    ],
    # tensor_bundle.proto: a checkpoint index's header and entries
    "BundleHeaderProto": [
        ("num_shards", 1, _F.TYPE_INT32, _OPTIONAL, None),
        ("endianness", 2, _F.TYPE_INT32, _OPTIONAL, None),
    ],
    "BundleEntryProto": [
        ("dtype", 1, _F.TYPE_INT32, _OPTIONAL, None),
        ("shape", 2, _F.TYPE_MESSAGE, _OPTIONAL, "TensorShapeProto"),
        ("shard_id", 3, _F.TYPE_INT32, _OPTIONAL, None),
        ("offset", 4, _F.TYPE_INT64, _OPTIONAL, None),
        ("size", 5, _F.TYPE_INT64, _OPTIONAL, None),
        ("crc32c", 6, _F.TYPE_FIXED32, _OPTIONAL, None),
    ],
    "MetaInfoDef": [
        ("meta_graph_version", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("tags", 4, _F.TYPE_STRING, _REPEATED, None),
        ("tensorflow_version", 5, _F.TYPE_STRING, _OPTIONAL, None),
        ("tensorflow_git_version", 6, _F.TYPE_STRING, _OPTIONAL, None),
    ],
    "GraphDef": [
        ("node", 1, _F.TYPE_MESSAGE, _REPEATED, "NodeDef"),
        ("library", 2, _F.TYPE_MESSAGE, _OPTIONAL, "FunctionDefLibrary"),
        ("version", 3, _F.TYPE_INT32, _OPTIONAL, None),
        ("versions", 4, _F.TYPE_MESSAGE, _OPTIONAL, "VersionDef"),
    ],
    "VersionDef": [
        ("producer", 1, _F.TYPE_INT32, _OPTIONAL, None),
        ("min_consumer", 2, _F.TYPE_INT32, _OPTIONAL, None),
    ],
    "NodeDef": [
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("op", 2, _F.TYPE_STRING, _OPTIONAL, None),
        ("input", 3, _F.TYPE_STRING, _REPEATED, None),
        ("device", 4, _F.TYPE_STRING, _OPTIONAL, None),
        ("attr", 5, _F.TYPE_MESSAGE, _REPEATED, "map:string:AttrValue"),
    ],
    "AttrValue": [
        ("list", 1, _F.TYPE_MESSAGE, _OPTIONAL, "ListValue"),
        ("s", 2, _F.TYPE_BYTES, _OPTIONAL, None),
        ("i", 3, _F.TYPE_INT64, _OPTIONAL, None),
        ("f", 4, _F.TYPE_FLOAT, _OPTIONAL, None),
        ("b", 5, _F.TYPE_BOOL, _OPTIONAL, None),
        ("type", 6, _F.TYPE_INT32, _OPTIONAL, None),
        ("shape", 7, _F.TYPE_MESSAGE, _OPTIONAL, "TensorShapeProto"),
        ("tensor", 8, _F.TYPE_MESSAGE, _OPTIONAL, "TensorProto"),
        ("placeholder", 9, _F.TYPE_STRING, _OPTIONAL, None),
        ("func", 10, _F.TYPE_MESSAGE, _OPTIONAL, "NameAttrList"),
    ],
    "ListValue": [
        ("s", 2, _F.TYPE_BYTES, _REPEATED, None),
        ("i", 3, _F.TYPE_INT64, _REPEATED, None),
        ("f", 4, _F.TYPE_FLOAT, _REPEATED, None),
        ("b", 5, _F.TYPE_BOOL, _REPEATED, None),
        ("type", 6, _F.TYPE_INT32, _REPEATED, None),
        ("shape", 7, _F.TYPE_MESSAGE, _REPEATED, "TensorShapeProto"),
        ("tensor", 8, _F.TYPE_MESSAGE, _REPEATED, "TensorProto"),
        ("func", 9, _F.TYPE_MESSAGE, _REPEATED, "NameAttrList"),
    ],
    "NameAttrList": [
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("attr", 2, _F.TYPE_MESSAGE, _REPEATED, "map:string:AttrValue"),
    ],
    "TensorShapeProto": [
        ("dim", 2, _F.TYPE_MESSAGE, _REPEATED, "TensorShapeProto.Dim"),
        ("unknown_rank", 3, _F.TYPE_BOOL, _OPTIONAL, None),
    ],
    "TensorShapeProto.Dim": [
        ("size", 1, _F.TYPE_INT64, _OPTIONAL, None),
        ("name", 2, _F.TYPE_STRING, _OPTIONAL, None),
    ],
    "TensorProto": [
        ("dtype", 1, _F.TYPE_INT32, _OPTIONAL, None),
        ("tensor_shape", 2, _F.TYPE_MESSAGE, _OPTIONAL, "TensorShapeProto"),
        ("version_number", 3, _F.TYPE_INT32, _OPTIONAL, None),
        ("tensor_content", 4, _F.TYPE_BYTES, _OPTIONAL, None),
        ("float_val", 5, _F.TYPE_FLOAT, _REPEATED, None),
        ("double_val", 6, _F.TYPE_DOUBLE, _REPEATED, None),
        ("int_val", 7, _F.TYPE_INT32, _REPEATED, None),
        ("int64_val", 10, _F.TYPE_INT64, _REPEATED, None),
        ("bool_val", 11, _F.TYPE_BOOL, _REPEATED, None),
        ("half_val", 13, _F.TYPE_INT32, _REPEATED, None),
    ],
    "FunctionDefLibrary": [
        ("function", 1, _F.TYPE_MESSAGE, _REPEATED, "FunctionDef"),
    ],
    "FunctionDef": [
        ("signature", 1, _F.TYPE_MESSAGE, _OPTIONAL, "OpDef"),
        ("node_def", 3, _F.TYPE_MESSAGE, _REPEATED, "NodeDef"),
        ("ret", 4, _F.TYPE_MESSAGE, _REPEATED, "map:string:string"),
        ("attr", 5, _F.TYPE_MESSAGE, _REPEATED, "map:string:AttrValue"),
        ("arg_attr", 7, _F.TYPE_MESSAGE, _REPEATED, "map:uint32:FunctionDef.ArgAttrs"),
    ],
    "FunctionDef.ArgAttrs": [
        ("attr", 1, _F.TYPE_MESSAGE, _REPEATED, "map:string:AttrValue"),
    ],
    "OpDef": [
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("input_arg", 2, _F.TYPE_MESSAGE, _REPEATED, "OpDef.ArgDef"),
        ("output_arg", 3, _F.TYPE_MESSAGE, _REPEATED, "OpDef.ArgDef"),
    ],
    "OpDef.ArgDef": [
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("type", 3, _F.TYPE_INT32, _OPTIONAL, None),
        ("type_attr", 4, _F.TYPE_STRING, _OPTIONAL, None),
        ("number_attr", 5, _F.TYPE_STRING, _OPTIONAL, None),
        ("type_list_attr", 6, _F.TYPE_STRING, _OPTIONAL, None),
    ],
    "SignatureDef": [
        ("inputs", 1, _F.TYPE_MESSAGE, _REPEATED, "map:string:TensorInfo"),
        ("outputs", 2, _F.TYPE_MESSAGE, _REPEATED, "map:string:TensorInfo"),
        ("method_name", 3, _F.TYPE_STRING, _OPTIONAL, None),
    ],
    "TensorInfo": [
        ("name", 1, _F.TYPE_STRING, _OPTIONAL, None),
        ("dtype", 2, _F.TYPE_INT32, _OPTIONAL, None),
        ("tensor_shape", 3, _F.TYPE_MESSAGE, _OPTIONAL, "TensorShapeProto"),
    ],
}

# Messages whose fields all belong to one ``oneof`` (TensorFlow's AttrValue.value).
_ONEOFS = {"AttrValue": "value"}

_SCALARS = {
    "string": _F.TYPE_STRING,
    "uint32": _F.TYPE_UINT32,
}

#: TensorFlow ``DataType`` enum numbers (types.proto) -> numpy-style names.
DTYPES: dict[int, str] = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
    7: "string", 8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8",
    13: "qint32", 14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16",
    18: "complex128", 19: "float16", 20: "resource", 21: "variant", 22: "uint32",
    23: "uint64", 24: "float8_e5m2", 25: "float8_e4m3fn", 29: "int4", 30: "uint4",
}


def dtype_name(code: int) -> str:
    """Numpy-style name of a TF ``DataType`` number (``_ref`` variants folded)."""
    if code > 100:
        code -= 100
    return DTYPES.get(code, f"dtype{code}")


def _add_message(
    parent: Any, full: str, fields: list[_Field], nested: dict[str, list[_Field]]
) -> None:
    """Add message ``full`` (``A`` or ``A.B``) with its fields and map entry types."""
    msg = parent.message_type.add() if hasattr(parent, "message_type") else parent.nested_type.add()
    msg.name = full.rsplit(".", 1)[-1]
    if full in _ONEOFS:
        msg.oneof_decl.add().name = _ONEOFS[full]
    for child, child_fields in nested.items():
        if child.rsplit(".", 1)[0] == full:
            _add_message(msg, child, child_fields, {})
    for name, number, ftype, label, type_name in fields:
        f = msg.field.add()
        f.name, f.number, f.label = name, number, label
        if full in _ONEOFS:
            f.oneof_index = 0
        if type_name and type_name.startswith("map:"):
            _, key, value = type_name.split(":")
            entry = msg.nested_type.add()
            entry.name = "".join(p.capitalize() for p in name.split("_")) + "Entry"
            entry.options.map_entry = True
            k = entry.field.add()
            k.name, k.number, k.label, k.type = "key", 1, _OPTIONAL, _SCALARS[key]
            v = entry.field.add()
            v.name, v.number, v.label = "value", 2, _OPTIONAL
            if value in _SCALARS:
                v.type = _SCALARS[value]
            else:
                v.type = _F.TYPE_MESSAGE
                v.type_name = f".{_PACKAGE}.{value}"
            f.type = _F.TYPE_MESSAGE
            f.type_name = f".{_PACKAGE}.{full}.{entry.name}"
        else:
            f.type = ftype
            if type_name:
                f.type_name = f".{_PACKAGE}.{type_name}"


@cache
def messages() -> dict[str, Any]:
    """Message classes of the subset, by TensorFlow message name (built once)."""
    file = descriptor_pb2.FileDescriptorProto(
        name="qlint_tf_subset.proto", package=_PACKAGE, syntax="proto3"
    )
    top = {k: v for k, v in _MESSAGES.items() if "." not in k}
    nested = {k: v for k, v in _MESSAGES.items() if "." in k}
    for name, fields in top.items():
        _add_message(file, name, fields, nested)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
        for name in _MESSAGES
    }


def parse_saved_model(data: bytes) -> Any:
    """Decode ``saved_model.pb`` bytes; raises ``google.protobuf.message.DecodeError``."""
    msg = messages()["SavedModel"]()
    msg.ParseFromString(data)
    return msg


def parse_saved_model_text(text: str) -> Any:
    """Decode a ``saved_model.pbtxt``; raises ``google.protobuf.text_format.ParseError``."""
    from google.protobuf import text_format

    msg = messages()["SavedModel"]()
    text_format.Parse(text, msg, allow_unknown_field=True)
    return msg
