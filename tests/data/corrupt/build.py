"""Write the corrupt regression models of this folder and ``expected.json``.

Usage (from the repository root)::

    python tests/data/corrupt/build.py

Each ``.tflite`` file is a small synthetic model from `tools.synth` with one defect of a
kind that once crashed, hung, or was silently accepted by the loader, or that the fuzzer
aims at.  The SavedModel directories (``*/saved_model.pb``) and ``.keras`` archives are
written with the fuzzer's own helpers (`tools.fuzz`), without TensorFlow.
``expected.json`` maps each file to the exit code and a substring of the one-line reason
qlint must give.  The output is deterministic.

Files named ``found_*`` are not written here: they are fuzzer finds committed as
``python -m tools.fuzz --save`` kept them, each with its own test in ``test_hardening.py``.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tools import fuzz  # noqa: E402
from tools.fuzz import Field, ZipMember, tflite_structure, write_zip  # noqa: E402
from tools.synth import write_model  # noqa: E402


def seed(layout: str = "inline", ops: int = 3) -> bytes:
    """A small valid full-int8 model."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "seed.tflite")
        write_model(path, ops, layout=layout)
        return Path(path).read_bytes()


def find(data: bytes, label: str, kind: str) -> Field:
    for f in tflite_structure(data):
        if f.label == label and f.kind == kind:
            return f
    raise KeyError((label, kind))


def put(data: bytes, pos: int, fmt: str, value: int) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, pos, value)
    return bytes(buf)


def repoint(data: bytes, label: str, payload: bytes) -> bytes:
    """Append ``payload`` (4-byte aligned) and point the offset field ``label`` at it."""
    f = find(data, label, "uoffset")
    pad = (-len(data)) % 4
    target = len(data) + pad
    return put(data + b"\0" * pad + payload, f.pos, "<I", target - f.pos)


def vector(n: int, body: bytes = b"") -> bytes:
    return struct.pack("<I", n) + body


def signature_fanout(data: bytes, n: int, m: int) -> bytes:
    """``n`` references to one signature def whose inputs are ``m`` references to one map."""
    pa = len(data) + (-len(data)) % 4
    pb = pa + 4 + 4 * n
    pc = pb + 16
    pd = pc + 4 + 4 * m
    out = bytearray(data + bytes(pa - len(data)))
    out += struct.pack("<I", n) + b"".join(struct.pack("<I", pb + 8 - e)
                                           for e in range(pa + 4, pb, 4))
    out += struct.pack("<HHHH", 8, 8, 4, 0) + struct.pack("<iI", 8, pc - (pb + 12))
    out += struct.pack("<I", m) + b"".join(struct.pack("<I", pd + 8 - e)
                                           for e in range(pc + 4, pd, 4))
    out += struct.pack("<HHHH", 8, 8, 0, 4) + struct.pack("<iI", 8, 0)
    field = find(data, "model.signature_defs", "uoffset").pos
    struct.pack_into("<I", out, field, pa - field)
    return bytes(out)


T0 = "model.subgraphs[0].tensors[0]"
T1 = "model.subgraphs[0].tensors[1]"
OP0 = "model.subgraphs[0].operators[0]"
OP1 = "model.subgraphs[0].operators[1]"

CASES: dict[str, tuple[Callable[[], bytes], int, str]] = {
    "empty.tflite": (lambda: b"", 2, "file is 0 bytes"),
    "short.tflite": (lambda: b"TFL3", 2, "file is 4 bytes"),
    "wrong_identifier.tflite": (lambda: b"\x10\0\0\0ONNX" + bytes(56), 2, "file identifier"),
    "truncated_header.tflite": (lambda: seed()[:40], 2, "TFLite flatbuffer"),
    "truncated_half.tflite": (lambda: seed()[: len(seed()) // 2], 2, "TFLite flatbuffer"),
    "root_past_end.tflite": (
        lambda: put(seed(), 0, "<I", len(seed()) + 1000), 2, "outside the"),
    "self_loop_offset.tflite": (
        lambda: put(seed(), find(seed(), "model.subgraphs[0]", "uoffset").pos, "<I", 0),
        2, "malformed vtable"),
    "zero_tables.tflite": (
        lambda: repoint(seed(), "model.subgraphs[0].tensors", vector(4096, bytes(4 * 4096))),
        2, "malformed vtable"),
    "vtable_outside.tflite": (
        lambda: put(seed(), find(seed(), "model.subgraphs[0]:vtable", "soffset").pos, "<i",
                    -(1 << 30)), 2, "vtable outside the file"),
    "vector_past_end.tflite": (
        lambda: put(seed(), find(seed(), "model.subgraphs[0].tensors", "vlen").pos, "<I",
                    0x7FFFFFFF), 2, "claims 2147483647 entries"),
    "field_outside_table.tflite": (
        lambda: put(seed(), find(seed(), f"{T0}:slot8", "vtable").pos, "<H", 0xFFF0),
        2, "lies outside its table"),
    "tensor_index_out_of_range.tflite": (
        lambda: put(seed(), find(seed(), f"{OP0}.inputs[0]", "index").pos, "<i", 10**9),
        2, "tensor index 1000000000 out of range"),
    "negative_tensor_index.tflite": (
        lambda: put(seed(), find(seed(), f"{OP0}.inputs[0]", "index").pos, "<i", -2),
        2, "tensor index -2 out of range"),
    "opcode_index_out_of_range.tflite": (
        lambda: put(seed(), find(seed(), f"{OP1}.opcode_index", "index").pos, "<I", 77),
        2, "uses opcode 77"),
    "buffer_index_out_of_range.tflite": (
        lambda: put(seed(), find(seed(), f"{T1}.buffer", "index").pos, "<I", 0xFFFFFFFF),
        2, "uses buffer 4294967295"),
    "metadata_missing_buffer.tflite": (
        lambda: put(seed(), find(seed(), "model.metadata[0].buffer", "index").pos, "<I", 999),
        2, "missing buffer 999"),
    "absurd_rank.tflite": (
        lambda: repoint(seed(), f"{T0}.shape", vector(1000, struct.pack("<1000i", *[1] * 1000))),
        2, "shape has 1000 entries (limit 64)"),
    "too_many_scales.tflite": (
        lambda: repoint(seed(), f"{T0}.quantization.scale",
                        vector(5000, struct.pack("<5000f", *[0.5] * 5000))),
        2, "scale has 5000 entries (limit 64)"),
    "buffer_outside_file.tflite": (
        lambda: put(seed("external"), find(seed("external"), "model.buffers[1].offset",
                                           "extent").pos, "<Q", 1 << 40),
        2, "lies outside the"),
    "truncated_external_weights.tflite": (
        lambda: seed("external")[:-8], 2, "truncated?"),
    "signature_fanout.tflite": (lambda: signature_fanout(seed(), 2500, 2500), 0, ""),
    "invalid_utf8_names.tflite": (
        lambda: put(put(seed(), find(seed(), f"{T0}.name", "string").pos, "<H", 0xFEFF),
                    find(seed(), "model.description", "string").pos, "<H", 0x28C3),
        0, ""),
}


# -- SavedModel and Keras ----------------------------------------------------------------

def call_fan_out(levels: int = 40, width: int = 2) -> bytes:
    """A signature calling f0; each f_i calls f_{i+1} ``width`` times (width^levels paths)."""
    sm = fuzz._synth_calls()
    g = sm.meta_graphs[0].graph_def
    for i in range(levels):
        f = fuzz._new_function(g, f"fan{i}")
        prev = "a0"
        for j in range(width):
            if i + 1 == levels:
                fuzz._node(f.node_def, f"op{j}", "Relu", [prev], T=1)
            else:
                fuzz._node(f.node_def, f"c{j}", "PartitionedCall", [prev], f=f"fan{i + 1}")
            prev = f"{f.node_def[-1].name}:output:0"
        f.ret["out"] = prev
    g.node[1].attr["f"].func.name = "fan0"
    return bytes(sm.SerializeToString(deterministic=True))


def call_ring(n: int = 3) -> bytes:
    """Functions calling each other in a ring, and one calling itself."""
    sm = fuzz._synth_calls()
    g = sm.meta_graphs[0].graph_def
    for i in range(n):
        f = fuzz._new_function(g, f"ring{i}")
        fuzz._node(f.node_def, "next", "PartitionedCall", ["a0"], f=f"ring{(i + 1) % n}")
        fuzz._node(f.node_def, "self", f"ring{i}", ["next:output:0"])
        f.ret["out"] = "self:output:0"
    g.node[1].attr["f"].func.name = "ring0"
    return bytes(sm.SerializeToString(deterministic=True))


def cyclic_graph() -> bytes:
    """A TF1 graph without signatures; a sink reads a cycle of ten nodes."""
    sm = fuzz._synth_tf1()
    g = sm.meta_graphs[0].graph_def
    for i in range(10):
        fuzz._node(g.node, f"c{i}", "Relu", [f"c{(i - 1) % 10}", "missing:0", "^c3"], T=1)
    fuzz._node(g.node, "sink", "Relu", ["c9"], T=1)
    return bytes(sm.SerializeToString(deterministic=True))


def deep_message(levels: int = 200) -> bytes:
    """A node attribute holding a function whose attribute holds a function ... ``levels``
    times (AttrValue.func -> NameAttrList.attr -> AttrValue ...)."""
    def wrap(tag: int, inner: bytes) -> bytes:
        return bytes([tag]) + fuzz._varint(len(inner)) + inner

    value = b""
    for _ in range(levels):
        value = wrap(0x52, wrap(0x12, wrap(0x12, value)))  # func { attr { value { ... } } }
    node = wrap(0x0A, b"n") + wrap(0x2A, wrap(0x0A, b"a") + wrap(0x12, value))
    return wrap(0x12, wrap(0x12, wrap(0x0A, node)))  # meta_graphs { graph_def { node } }


def deep_pbtxt(levels: int = 3000) -> bytes:
    return ("meta_graphs { graph_def { node { attr { key: 'a' value { "
            + "list { func { attr { key: 'a' value { " * levels + "}" * (5 * levels + 6)
            ).encode()


def keras_seed_members() -> list[ZipMember]:
    """The members of the synthetic ``.keras`` seed (no fixture needed)."""
    return [ZipMember(b"metadata.json", b'{"keras_version": "3.15.1"}'),
            ZipMember(b"config.json", json.dumps(fuzz._synth_keras_config()).encode())]


def keras_with_config(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return write_zip([keras_seed_members()[0], ZipMember(b"config.json", data)])


def layer_configs_of_wrong_types() -> bytes:
    config = fuzz._synth_keras_config()
    layers = config["config"]["layers"]
    layers[1]["config"]["layers"][0]["config"] = True  # Sequential's InputLayer
    layers[2]["config"] = [1, 2]
    layers[3]["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                             "config": "x"}]}]
    return keras_with_config(json.dumps(config))


def zip_bomb(claim: int | None) -> bytes:
    """config.json that inflates to 100 MiB (from 100 kB); claims ``claim`` bytes."""
    payload = fuzz.zip_bomb(100)
    size = claim if claim is not None else 1 + 100 * (1 << 20)
    return write_zip([keras_seed_members()[0],
                      ZipMember(b"config.json", compressed=payload, file_size=size, crc=0)])


def path_traversal() -> bytes:
    evil = [ZipMember(n, b"pwned") for n in (b"../../qlint-traversal", b"/tmp/qlint-absolute",
                                             b"..\\..\\qlint-backslash")]
    return write_zip([*keras_seed_members(), *evil])


SM = "saved_model.pb"
CASES.update({
    f"call_fan_out/{SM}": (call_fan_out, 0, ""),
    f"call_ring/{SM}": (call_ring, 0, ""),
    f"cyclic_graph/{SM}": (cyclic_graph, 0, ""),
    f"deep_message/{SM}": (deep_message, 2, "not a valid SavedModel protobuf"),
    "deep_pbtxt/saved_model.pbtxt": (deep_pbtxt, 2, "nested too deeply"),
    f"garbage_savedmodel/{SM}": (lambda: b"\xff" * 64, 2, "not a valid SavedModel protobuf"),
    "not_a_zip.keras": (lambda: b"PK\x03\x04" + bytes(60), 2, "not a .keras archive"),
    "truncated_zip.keras": (lambda: path_traversal()[:200], 2, "not a .keras archive"),
    "missing_config.keras": (lambda: write_zip(keras_seed_members()[:1]), 2, "no config.json"),
    "bad_json.keras": (lambda: keras_with_config('{"class_name": '), 2, "not valid JSON"),
    "big_integer.keras": (
        lambda: keras_with_config('{"class_name": "Sequential", "n": ' + "9" * 5000 + "}"),
        2, "config.json is not valid JSON"),
    "deep_json.keras": (lambda: keras_with_config("[" * 100_000 + "]" * 100_000),
                        2, "nested too deeply"),
    "many_containers.keras": (lambda: keras_with_config("[" + "{}," * 2_100_000 + "{}]"),
                              2, "JSON items (commas, objects and arrays; limit 2000000)"),
    "many_values.keras": (lambda: keras_with_config('["' + '","' * 2_100_000 + '"]'),
                          2, "JSON items (commas, objects and arrays; limit 2000000)"),
    "invalid_utf8.keras": (lambda: keras_with_config(b'{"class_name": "\xff"}'),
                           2, "not valid UTF-8"),
    "unsupported_method.keras": (
        lambda: write_zip([ZipMember(b"config.json", b"{}", method=99, compressed=b"{}")]),
        2, "corrupt .keras archive"),
    "zip_bomb_claimed.keras": (lambda: zip_bomb(None), 2, "config.json is 104857601 bytes"),
    "zip_bomb_lying.keras": (lambda: zip_bomb(1000), 2, "corrupt .keras archive"),
    "layer_configs_of_wrong_types.keras": (layer_configs_of_wrong_types, 0, ""),
    "path_traversal.keras": (path_traversal, 0, ""),
})


def main() -> int:
    expected = {}
    for name, (make, code, message) in CASES.items():
        (HERE / name).parent.mkdir(exist_ok=True)
        (HERE / name).write_bytes(make())
        expected[name] = {"exit_code": code, "message": message}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {len(CASES)} files to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
