"""Fuzz `.tflite` models: structural positions found by walking a seed with the TFLite
schema (`qlint.loaders.tflite_schema`, the loader's own generated schema), the seeds, and
structure-aware hostile files (many subgraphs, one SubGraph table shared many times)."""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from pathlib import Path

from qlint.loaders import tflite_schema as schema
from tools.fuzz.common import MUTATORS, REPO, Field, FormatSpec

# What a field means to the loader, beyond its schema type: an index into another table,
# a dimension, or a byte extent.  Every other number is a plain scalar.
INDEX_FIELDS = frozenset({
    ("Model", "metadata_buffer"), ("SubGraph", "inputs"), ("SubGraph", "outputs"),
    ("Tensor", "buffer"), ("Operator", "opcode_index"), ("Operator", "inputs"),
    ("Operator", "outputs"), ("QuantizationParameters", "quantized_dimension"),
    ("Metadata", "buffer"), ("SignatureDef", "subgraph_index"), ("TensorMap", "tensor_index"),
    ("BlockwiseQuantization", "scales"), ("BlockwiseQuantization", "zero_points"),
})
SHAPE_FIELDS = frozenset({("Tensor", "shape"), ("Tensor", "shape_signature")})
EXTENT_FIELDS = frozenset({("Buffer", "offset"), ("Buffer", "size")})

_WIDTH = {"bool": 1, "byte": 1, "ubyte": 1, "short": 2, "ushort": 2, "int": 4, "uint": 4,
          "float": 4, "long": 8, "ulong": 8, "double": 8}
_NUMBER_VECTORS = {"int": 4, "uint": 4, "float": 4, "long": 8}
_UNIONS = {"QuantizationDetails": schema.QUANTIZATION_DETAILS}
_OPAQUE = "Opaque"  # a table whose fields are not walked (only its vtable)


def _kind(table: str, name: str) -> str:
    if (table, name) in INDEX_FIELDS:
        return "index"
    if (table, name) in SHAPE_FIELDS:
        return "shape"
    return "extent" if (table, name) in EXTENT_FIELDS else "scalar"


def tflite_structure(data: bytes, limit: int = 20000) -> list[Field]:
    """Structural positions of a valid ``.tflite`` file (at most ``limit`` of them)."""
    out: list[Field] = []
    seen: set[int] = set()
    size = len(data)

    def u32(p: int) -> int:
        return int(struct.unpack_from("<I", data, p)[0])

    def table(pos: int, name: str, label: str) -> None:
        if pos in seen or not 0 <= pos <= size - 4 or len(out) > limit:
            return
        seen.add(pos)
        out.append(Field(pos, 4, "soffset", f"{label}:vtable"))
        vt = pos - struct.unpack_from("<i", data, pos)[0]
        if not 0 <= vt <= size - 4:
            return
        vt_len = struct.unpack_from("<H", data, vt)[0]
        out.append(Field(vt, 2, "vtable", f"{label}:vtable_size"))
        out.append(Field(vt + 2, 2, "vtable", f"{label}:object_size"))
        fields = schema.TABLES.get(name, {})
        for slot in range(4, min(vt_len, 64), 2):
            if vt + slot + 2 > size:
                break
            fo = struct.unpack_from("<H", data, vt + slot)[0]
            spec = fields.get((slot - 4) // 2)
            out.append(Field(vt + slot, 2, "vtable", f"{label}:slot{slot}"))
            if not fo or spec is None:
                continue
            fname, ftype = spec
            p = pos + fo
            where = f"{label}.{fname}"
            if ftype in _WIDTH:
                out.append(Field(p, _WIDTH[ftype], _kind(name, fname), where))
                continue
            if p + 4 > size:
                continue
            out.append(Field(p, 4, "uoffset", where))
            target = p + u32(p)
            if ftype.startswith("union "):
                table(target, _union_table(ftype[6:], data, pos, vt, vt_len,
                                           (slot - 4) // 2 - 1), where)
                continue
            if not ftype.startswith("[") and ftype != "string":
                table(target, ftype if ftype in schema.TABLES else _OPAQUE, where)
                continue
            if target + 4 > size:
                continue
            n = u32(target)
            out.append(Field(target, 4, "vlen", where))
            elem = ftype[1:-1]
            if ftype == "string":
                if n:
                    out.append(Field(target + 4, min(n, 8), "string", where))
            elif elem[:1].isupper():
                for k in range(min(n, 2000)):
                    e = target + 4 + 4 * k
                    if e + 4 > size:
                        break
                    out.append(Field(e, 4, "uoffset", f"{where}[{k}]"))
                    table(e + u32(e), elem if elem in schema.TABLES else _OPAQUE,
                          f"{where}[{k}]")
            elif elem in _NUMBER_VECTORS and n <= 64:
                width = _NUMBER_VECTORS[elem]
                kind = _kind(name, fname)
                for k in range(n):
                    out.append(Field(target + 4 + width * k, width, kind, f"{where}[{k}]"))

    if size >= 8:
        out.append(Field(0, 4, "root", "root"))
        with contextlib.suppress(struct.error):
            table(u32(0), "Model", "model")
    return out


def _union_table(enum: str, data: bytes, pos: int, vt: int, vt_len: int, number: int) -> str:
    """The table a union field holds, from its type field (field ``number``)."""
    slot = 4 + 2 * number
    if slot + 2 > vt_len or vt + slot + 2 > len(data):
        return _OPAQUE
    fo = struct.unpack_from("<H", data, vt + slot)[0]
    if not fo or pos + fo >= len(data):
        return _OPAQUE
    name = _UNIONS.get(enum, {}).get(data[pos + fo], _OPAQUE)
    return name if name in schema.TABLES else _OPAQUE


def tflite_seeds() -> list[tuple[str, bytes]]:
    """The committed fixture models (under 1 MB) and two small synthetic models."""
    seeds = []
    for path in sorted((REPO / "fixtures").glob("*/*.tflite")):
        if path.stat().st_size < 1 << 20:
            seeds.append((str(path.relative_to(REPO)), path.read_bytes()))
    from tools.synth import write_model

    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("inline", "external"):
            out = os.path.join(tmp, f"{layout}.tflite")
            write_model(out, 5, layout=layout)
            seeds.append((f"synth/{layout}", Path(out).read_bytes()))
    return seeds


def tflite_spec() -> FormatSpec:
    """``.tflite``: byte-level and structural mutations of valid models."""
    return FormatSpec(".tflite", tflite_seeds, tflite_structure, MUTATORS)


def many_subgraphs(n: int, shared: bool = False, dims: tuple[int, ...] = (1, 4)) -> bytes:
    """A valid-looking model of ``n`` subgraphs, each one tensor of shape ``dims`` and one
    RELU op; with ``shared``, one SubGraph table referenced ``n`` times (200,000 references
    make a 0.8 MB file)."""
    import flatbuffers

    b = flatbuffers.Builder(1024)

    def tables(offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    def ints(values: tuple[int, ...] | list[int]) -> int:
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependInt32(v)
        return b.EndVector()

    def start(table: str) -> None:
        b.StartObject(len(schema.TABLES[table]) + 1)

    def subgraph(k: int) -> int:
        name, shape = b.CreateString(f"t{k}"), ints(dims)
        start("Tensor")
        b.PrependUOffsetTRelativeSlot(schema.TENSOR_SHAPE, shape, 0)
        b.PrependUOffsetTRelativeSlot(schema.TENSOR_NAME, name, 0)
        tensors = tables([b.EndObject()])
        op_in, op_out, sg_in, sg_out = ints([0]), ints([0]), ints([0]), ints([0])
        start("Operator")
        b.PrependUOffsetTRelativeSlot(schema.OPERATOR_INPUTS, op_in, 0)
        b.PrependUOffsetTRelativeSlot(schema.OPERATOR_OUTPUTS, op_out, 0)
        ops = tables([b.EndObject()])
        start("SubGraph")
        b.PrependUOffsetTRelativeSlot(schema.SUB_GRAPH_TENSORS, tensors, 0)
        b.PrependUOffsetTRelativeSlot(schema.SUB_GRAPH_INPUTS, sg_in, 0)
        b.PrependUOffsetTRelativeSlot(schema.SUB_GRAPH_OUTPUTS, sg_out, 0)
        b.PrependUOffsetTRelativeSlot(schema.SUB_GRAPH_OPERATORS, ops, 0)
        return int(b.EndObject())

    subgraphs = [subgraph(0)] * n if shared else [subgraph(k) for k in range(n)]
    sg_vec = tables(subgraphs)
    relu = next(k for k, v in schema.BUILTIN_OPERATORS.items() if v == "RELU")
    start("OperatorCode")
    b.PrependInt32Slot(schema.OPERATOR_CODE_VERSION, 1, 1)
    b.PrependInt32Slot(schema.OPERATOR_CODE_BUILTIN_CODE, relu, 0)
    codes = tables([b.EndObject()])
    start("Buffer")
    buffers = tables([b.EndObject()])
    start("Model")
    b.PrependUint32Slot(schema.MODEL_VERSION, 3, 0)
    b.PrependUOffsetTRelativeSlot(schema.MODEL_OPERATOR_CODES, codes, 0)
    b.PrependUOffsetTRelativeSlot(schema.MODEL_SUBGRAPHS, sg_vec, 0)
    b.PrependUOffsetTRelativeSlot(schema.MODEL_BUFFERS, buffers, 0)
    b.Finish(b.EndObject(), file_identifier=b"TFL3")
    return bytes(b.Output())
