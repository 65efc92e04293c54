"""Fuzz qlint's model loaders with mutated model files.

Usage::

    python -m tools.fuzz --iterations N [--seed S] [--format tflite] [--save DIR]

Every case is a valid seed model (the committed fixtures, plus small models written by
`tools.synth` in both weight layouts) with one mutation applied: random byte flips,
truncation, splices of other bytes, and corruption of the flatbuffer's own structure
(root and table offsets, vtables, vector lengths, tensor/buffer/opcode indices, shapes,
strings, external-buffer offsets and sizes), found by walking the seed with the TFLite
schema.  Case ``k`` of seed ``S`` is the same on every machine, so a problem is reproduced
by its number.

Each case is linted in-process with ``qlint.cli.main`` (stdout and stderr captured) inside
a worker process.  A case counts as a problem when a traceback escapes, the exit code is not
0/1/2, an exit-2 run does not print exactly one ``qlint: error: <file>: ...`` line, qlint
reports an internal error (a defect in qlint that it caught), or the run takes longer than
the time limit.  A per-case alarm interrupts slow Python code; a worker that stops
answering is killed and the case is reported as a hang, and the next worker carries on.

The command prints, per format: files tried, tracebacks, internal errors, bad exit codes,
bad error output, runs over the limit, hangs, and the slowest run.  It exits 1 when any
problem was found.  ``--save DIR`` keeps every problem file for a regression fixture.

Another format plugs in by adding a `FormatSpec` to `FORMATS`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import random
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIME_LIMIT = 5.0
STALL_SECONDS = 60.0  # wall-clock seconds without output before a worker counts as hung
PROBLEMS = ("traceback", "internal", "exit_code", "stderr", "slow", "hang", "written", "leak",
            "escape")  # the last three: tools.fuzz_attacks's detectors


# -- flatbuffer structure ---------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A structural position in a seed file: ``width`` bytes at ``pos`` of some ``kind``.

    Kinds: ``root``, ``uoffset`` (table or vector reference), ``soffset`` (table → vtable),
    ``vtable`` (vtable size, object size or a field slot), ``vlen`` (vector or string
    length), ``index`` (a tensor, buffer, opcode, subgraph index), ``shape`` (a dimension),
    ``scalar`` (another number), ``string`` (string bytes), ``extent`` (external buffer
    offset or size).
    """

    pos: int
    width: int
    kind: str
    label: str


# Per table: vtable slot offset -> (field type, what it is).  Only the fields the loader
# reads; anything else is still mutated through byte flips and the vtable entries.
_SCHEMA: dict[str, dict[int, tuple[str, str]]] = {
    "Model": {4: ("u32", "version"), 6: ("tables:OperatorCode", "operator_codes"),
              8: ("tables:SubGraph", "subgraphs"), 10: ("string", "description"),
              12: ("tables:Buffer", "buffers"), 14: ("ints:index", "metadata_buffer"),
              16: ("tables:Metadata", "metadata"), 18: ("tables:SignatureDef", "signature_defs")},
    "SubGraph": {4: ("tables:Tensor", "tensors"), 6: ("ints:index", "inputs"),
                 8: ("ints:index", "outputs"), 10: ("tables:Operator", "operators"),
                 12: ("string", "name")},
    "Tensor": {4: ("ints:shape", "shape"), 6: ("u8", "type"), 8: ("u32:index", "buffer"),
               10: ("string", "name"), 12: ("table:QuantizationParameters", "quantization"),
               14: ("u8", "is_variable"), 16: ("table:Opaque", "sparsity"),
               18: ("ints:shape", "shape_signature"), 20: ("u8", "has_rank")},
    "Operator": {4: ("u32:index", "opcode_index"), 6: ("ints:index", "inputs"),
                 8: ("ints:index", "outputs"), 10: ("u8", "builtin_options_type"),
                 12: ("table:Opaque", "builtin_options"), 14: ("bytes", "custom_options")},
    "OperatorCode": {4: ("u8", "deprecated_builtin_code"), 6: ("string", "custom_code"),
                     8: ("u32", "version"), 10: ("u32", "builtin_code")},
    "Buffer": {4: ("bytes", "data"), 6: ("u64:extent", "offset"), 8: ("u64:extent", "size")},
    "QuantizationParameters": {4: ("floats", "min"), 6: ("floats", "max"),
                               8: ("floats", "scale"), 10: ("longs", "zero_point"),
                               16: ("u32:index", "quantized_dimension")},
    "Metadata": {4: ("string", "name"), 6: ("u32:index", "buffer")},
    "SignatureDef": {4: ("tables:TensorMap", "inputs"), 6: ("tables:TensorMap", "outputs"),
                     8: ("string", "signature_key"), 12: ("u32:index", "subgraph_index")},
    "TensorMap": {4: ("string", "name"), 6: ("u32:index", "tensor_index")},
    "Opaque": {},
}
_WIDTH = {"u8": 1, "u32": 4, "u64": 8}
_ELEM = {"ints": 4, "floats": 4, "longs": 8, "bytes": 1}


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
        for slot in range(4, min(vt_len, 64), 2):
            if vt + slot + 2 > size:
                break
            fo = struct.unpack_from("<H", data, vt + slot)[0]
            spec = _SCHEMA[name].get(slot)
            out.append(Field(vt + slot, 2, "vtable", f"{label}:slot{slot}"))
            if not fo or spec is None:
                continue
            ftype, fname = spec
            p = pos + fo
            where = f"{label}.{fname}"
            base, _, sub = ftype.partition(":")
            if base in _WIDTH:
                kind = "index" if sub == "index" else "extent" if sub == "extent" else "scalar"
                out.append(Field(p, _WIDTH[base], kind, where))
                continue
            if p + 4 > size:
                continue
            out.append(Field(p, 4, "uoffset", where))
            target = p + u32(p)
            if base == "table":
                table(target, sub, where)
                continue
            if target + 4 > size:
                continue
            n = u32(target)
            out.append(Field(target, 4, "vlen", where))
            if base == "string":
                if n:
                    out.append(Field(target + 4, min(n, 8), "string", where))
            elif base == "tables":
                for k in range(min(n, 2000)):
                    e = target + 4 + 4 * k
                    if e + 4 > size:
                        break
                    out.append(Field(e, 4, "uoffset", f"{where}[{k}]"))
                    table(e + u32(e), sub, f"{where}[{k}]")
            elif base in ("ints", "floats", "longs") and n <= 64:
                elem = _ELEM[base]
                kind = {"index": "index", "shape": "shape"}.get(sub, "scalar")
                for k in range(n):
                    out.append(Field(target + 4 + elem * k, elem, kind, f"{where}[{k}]"))

    if size >= 8:
        out.append(Field(0, 4, "root", "root"))
        with contextlib.suppress(struct.error):
            table(u32(0), "Model", "model")
    return out


# -- mutations --------------------------------------------------------------------------

_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
                0xFFFFFFFFFFFFFFFF)


def _put(buf: bytearray, f: Field, value: int) -> None:
    value &= (1 << (8 * f.width)) - 1
    buf[f.pos:f.pos + f.width] = value.to_bytes(f.width, "little")


def _get(buf: bytes, f: Field) -> int:
    return int.from_bytes(buf[f.pos:f.pos + f.width], "little")


def _value_for(rng: random.Random, f: Field, data: bytes) -> tuple[int, str]:
    """An interesting replacement for field ``f``: boundaries, the file size, self-loops."""
    old = _get(data, f)
    size = len(data)
    choices: list[tuple[int, str]] = [(v, hex(v)) for v in _INTERESTING]
    choices += [(old + d, f"{old:#x}{d:+d}") for d in (-8, -4, -1, 1, 4, 8)]
    choices += [(-old, "negated"), (old * 4096 + 1, "scaled")]
    choices += [(size - f.pos + d, f"past-end{d:+d}") for d in (-8, -4, 0, 4, 4096)]
    if f.kind in ("uoffset", "root"):
        choices += [(0, "self-loop"), (rng.randrange(0, max(1, size)) - f.pos, "random-target")]
    if f.kind == "soffset":
        choices += [(0, "vtable-is-table"), (-(size - f.pos), "vtable-past-end"),
                    (f.pos + 1, "vtable-before-start")]
    if f.kind in ("index", "shape"):
        choices += [(-1, "-1"), (-2, "-2"), (1 << 31, "int-min"), (10**9, "1e9")]
    if f.kind == "vlen":
        choices += [(size // 4, "size/4"), (size, "size"), (size * 8, "size*8")]
    return rng.choice(choices)


def _flip(rng: random.Random, data: bytes, fields: list[Field],
          others: Sequence[bytes]) -> tuple[bytes, str]:
    buf = bytearray(data)
    n = rng.choice((1, 1, 2, 4, 16))
    for _ in range(n):
        p = rng.randrange(len(buf))
        if rng.random() < 0.5:
            buf[p] ^= 1 << rng.randrange(8)
        else:
            buf[p] = rng.randrange(256)
    return bytes(buf), f"flip x{n}"


def _truncate(rng: random.Random, data: bytes, fields: list[Field],
              others: Sequence[bytes]) -> tuple[bytes, str]:
    if fields and rng.random() < 0.5:
        cut = rng.choice(fields).pos + rng.choice((0, 1, 2, 3))
    else:
        cut = rng.choice((0, 1, 4, 7, 8, 12, rng.randrange(len(data)), len(data) - 1))
    cut = max(0, min(cut, len(data) - 1))
    return data[:cut], f"truncate at {cut}"


def _splice(rng: random.Random, data: bytes, fields: list[Field],
            others: Sequence[bytes]) -> tuple[bytes, str]:
    donor = rng.choice(others) if others else data
    n = rng.choice((4, 8, 16, 64, 256))
    src = rng.randrange(max(1, len(donor) - n))
    dst = rng.randrange(max(1, len(data) - n))
    chunk = donor[src:src + n]
    mode = rng.choice(("overwrite", "insert", "delete", "duplicate"))
    if mode == "overwrite":
        out = data[:dst] + chunk + data[dst + len(chunk):]
    elif mode == "insert":
        out = data[:dst] + chunk + data[dst:]
    elif mode == "delete":
        out = data[:dst] + data[dst + n:]
    else:
        out = data + data[dst:dst + n] * rng.choice((1, 16))
    return out, f"splice {mode} {n}B at {dst}"


def _structural(kinds: tuple[str, ...]) -> Callable[..., tuple[bytes, str]]:
    def mutate(rng: random.Random, data: bytes, fields: list[Field],
               others: Sequence[bytes]) -> tuple[bytes, str]:
        pool = [f for f in fields if f.kind in kinds]
        if not pool:
            return _flip(rng, data, fields, others)
        buf = bytearray(data)
        count = 1 if rng.random() < 0.8 else rng.choice((2, 3, 8))
        descs = []
        for _ in range(count):
            f = rng.choice(pool)
            if f.kind == "string":
                bad = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"))
                buf[f.pos:f.pos + min(f.width, len(bad))] = bad[:f.width]
                descs.append(f"{f.label}=invalid-utf8")
                continue
            value, desc = _value_for(rng, f, data)
            _put(buf, f, value)
            descs.append(f"{f.label}={desc}")
        return bytes(buf), "set " + ", ".join(descs)

    return mutate


MUTATORS: tuple[tuple[str, Callable[..., tuple[bytes, str]], int], ...] = (
    ("flip", _flip, 3),
    ("truncate", _truncate, 2),
    ("splice", _splice, 2),
    ("offset", _structural(("root", "uoffset")), 3),
    ("vtable", _structural(("soffset", "vtable")), 2),
    ("length", _structural(("vlen",)), 3),
    ("index", _structural(("index",)), 2),
    ("shape", _structural(("shape",)), 1),
    ("scalar", _structural(("scalar", "string")), 1),
    ("extent", _structural(("extent",)), 1),
)


# -- formats ----------------------------------------------------------------------------

@dataclass
class Case:
    """One mutated file, reproducible from (format, seed, index).

    ``layout`` says how a multi-file model is written (``pb``, ``pbtxt``, ...); empty for
    single-file formats.
    """

    index: int
    seed_name: str
    mutator: str
    description: str
    data: bytes
    layout: str = ""



Mutator = Callable[..., "tuple[bytes, str] | tuple[bytes, str, str]"]


@dataclass
class FormatSpec:
    """How to fuzz one format: its seeds, its structure, its mutations, how a case is written.

    A mutator is ``mutate(rng, data, fields, others)`` and returns the new bytes and a
    description, and optionally a layout (for a SavedModel: which files hold the bytes).
    ``materialize(case, directory, name)`` writes a case and returns the path to lint.
    """

    suffix: str
    seeds: Callable[[], list[tuple[str, bytes]]]
    structure: Callable[[bytes], list[Field]] | None = None
    mutators: tuple[tuple[str, Mutator, int], ...] = ()
    write: Callable[[Case, str], None] | None = None

    def materialize(self, case: Case, directory: str, name: str) -> str:
        """Write ``case`` under ``directory`` as ``name`` + suffix; the path to lint."""
        path = os.path.join(directory, name + self.suffix)
        if self.write is not None:
            self.write(case, path)
        else:
            with open(path, "wb") as fh:
                fh.write(case.data)
        return path


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


# -- protobuf wire format ---------------------------------------------------------------

@dataclass(eq=False)
class Pb:
    """One protobuf field on the wire: number, wire type, and its value.

    ``value`` is an int (varint, fixed32, fixed64), bytes (a length-delimited payload that
    does not parse as a message) or a list of `Pb` (one that does).  ``tag`` and ``length``
    override what is written for the key and the length prefix (to corrupt them).
    """

    number: int
    wtype: int
    value: int | bytes | list[Pb]
    tag: int | None = None
    length: int | None = None


def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, pos


def pb_parse(data: bytes, depth: int = 0) -> list[Pb] | None:
    """The fields of ``data`` read as a protobuf message, or ``None`` if it is not one.

    A length-delimited payload that parses completely as a message becomes a nested list
    (strings that happen to parse are harmless: they are written back unchanged).
    """
    out: list[Pb] = []
    pos = 0
    try:
        while pos < len(data):
            key, pos = _read_varint(data, pos)
            number, wtype = key >> 3, key & 7
            if number == 0 or number >= 1 << 29:
                return None
            if wtype == 0:
                v, pos = _read_varint(data, pos)
                out.append(Pb(number, 0, v))
            elif wtype in (1, 5):
                n = 8 if wtype == 1 else 4
                if pos + n > len(data):
                    return None
                out.append(Pb(number, wtype, int.from_bytes(data[pos:pos + n], "little")))
                pos += n
            elif wtype == 2:
                n, pos = _read_varint(data, pos)
                if pos + n > len(data):
                    return None
                payload = data[pos:pos + n]
                pos += n
                sub = pb_parse(payload, depth + 1) if payload and depth < 48 else None
                out.append(Pb(number, 2, sub if sub is not None else payload))
            else:
                return None
    except ValueError:
        return None
    return out


def pb_write(fields: Sequence[Pb], replace: dict[int, list[Pb] | bytes] | None = None) -> bytes:
    """Serialize ``fields``; ``replace`` maps ``id(field)`` to what is written instead
    (fields, written as they are, or raw bytes)."""
    out = bytearray()
    for f in fields:
        if replace and id(f) in replace:
            r = replace[id(f)]
            out += r if isinstance(r, bytes) else pb_write(r)
            continue
        out += _varint(f.tag if f.tag is not None else (f.number << 3) | f.wtype)
        v = f.value
        if isinstance(v, list):
            v = pb_write(v, replace)
        if isinstance(v, bytes):
            out += _varint(f.length if f.length is not None else len(v)) + v
        elif f.wtype == 1:
            out += (v & (1 << 64) - 1).to_bytes(8, "little")
        elif f.wtype == 5:
            out += (v & (1 << 32) - 1).to_bytes(4, "little")
        else:
            out += _varint(v)
    return bytes(out)


@cache
def _pb_tree(data: bytes) -> tuple[list[Pb], list[tuple[Pb, int]]]:
    """A seed's field tree and every field in it with its depth (computed once per seed)."""
    tree = pb_parse(data) or []
    flat: list[tuple[Pb, int]] = []

    def walk(fields: list[Pb], depth: int) -> None:
        for f in fields:
            flat.append((f, depth))
            if isinstance(f.value, list):
                walk(f.value, depth + 1)

    walk(tree, 0)
    return tree, flat


def pb_structure(data: bytes) -> list[Field]:
    """Positions of the keys, length prefixes and varints of a protobuf (for truncation)."""
    out: list[Field] = []

    def walk(start: int, end: int, label: str, depth: int) -> None:
        pos = start
        while pos < end and len(out) < 20000:
            key_pos = pos
            key, pos = _read_varint(data, pos)
            number, wtype = key >> 3, key & 7
            out.append(Field(key_pos, pos - key_pos, "tag", f"{label}.{number}"))
            if wtype == 0:
                p0 = pos
                _, pos = _read_varint(data, pos)
                out.append(Field(p0, pos - p0, "varint", f"{label}.{number}"))
            elif wtype in (1, 5):
                pos += 8 if wtype == 1 else 4
            else:
                p0 = pos
                n, pos = _read_varint(data, pos)
                out.append(Field(p0, pos - p0, "vlen", f"{label}.{number}"))
                if depth < 48 and pb_parse(data[pos:pos + n]) is not None:
                    walk(pos, pos + n, f"{label}.{number}", depth + 1)
                pos += n

    with contextlib.suppress(ValueError):
        walk(0, len(data), "sm", 0)
    return out


def _pb_pick(rng: random.Random, data: bytes, want: Callable[[Pb], bool]) -> Pb | None:
    _, flat = _pb_tree(data)
    pool = [f for f, _ in flat if want(f)]
    return rng.choice(pool) if pool else None


def _pb_mutator(kind: str) -> Mutator:
    """A mutation of the wire structure: keys, lengths, varints, deleted/duplicated fields."""

    def mutate(rng: random.Random, data: bytes, fields: list[Field],
               others: Sequence[bytes]) -> tuple[bytes, str]:
        tree, flat = _pb_tree(data)
        if not flat:
            return _flip(rng, data, fields, others)
        f, depth = rng.choice(flat)
        rep: dict[int, list[Pb] | bytes] = {}
        where = f"field {f.number} (wire type {f.wtype}) at depth {depth}"
        if kind == "tag":
            choice = rng.choice(("wtype", "number0", "bignumber", "group"))
            if choice == "wtype":
                w = rng.choice([w for w in range(8) if w != f.wtype])
                tag, desc = (f.number << 3) | w, f"wire type {w}"
            elif choice == "number0":
                tag, desc = f.wtype, "field number 0"
            elif choice == "bignumber":
                tag, desc = ((1 << 29) - 1) << 3 | f.wtype, "field number 2^29-1"
            else:
                tag, desc = (f.number << 3) | 3, "start group"
            rep[id(f)] = [Pb(f.number, f.wtype, f.value, tag=tag)]
        elif kind == "length":
            if f.wtype != 2:
                f = _pb_pick(rng, data, lambda g: g.wtype == 2) or f
            if f.wtype != 2:
                return _flip(rng, data, fields, others)
            n = len(pb_write([Pb(1, 2, f.value)])) - 2  # rough payload size
            length = rng.choice((0, 1, max(0, n - 1), n + 1, n + 7, len(data), 1 << 31,
                                 (1 << 32) - 1, (1 << 63), (1 << 64) - 1))
            rep[id(f)] = [Pb(f.number, 2, f.value, length=length)]
            desc = f"length {length}"
        elif kind == "varint":
            f = _pb_pick(rng, data, lambda g: g.wtype == 0) or f
            if f.wtype != 0:
                return _flip(rng, data, fields, others)
            v = rng.choice((*_INTERESTING, -1, -2, -(1 << 31), 1 << 62, 10**9, 10**18))
            rep[id(f)] = [Pb(f.number, 0, v)]
            desc = f"value {v}"
        elif kind == "delete":
            rep[id(f)] = []
            desc = "deleted"
        elif kind == "duplicate":
            n = rng.choice((2, 3, 100, 5000))
            rep[id(f)] = [f] * n
            desc = f"repeated x{n}"
        elif kind == "swap":
            g = _pb_pick(rng, data, lambda g: g.number == f.number and g.wtype == f.wtype
                         and g is not f) or f
            rep[id(f)] = [g]
            desc = "value of another field with the same number"
        else:  # nest: the field inside itself, many levels deep
            f = _pb_pick(rng, data, lambda g: isinstance(g.value, list) and bool(g.value)) or f
            levels = rng.choice((20, 101, 1000, 5000))
            inner = pb_write([f])
            if len(inner) > 256:
                inner = pb_write([Pb(f.number, 2, [])])
            key = _varint((f.number << 3) | 2)
            for _ in range(levels):
                inner = key + _varint(len(inner)) + inner
            rep[id(f)] = inner
            desc = f"nested in itself {levels} levels"
        out = pb_write(tree, rep)
        return out, f"{kind} {where}: {desc}"

    return mutate


# -- SavedModel -------------------------------------------------------------------------

# Fixture models used as SavedModel and Keras seeds: a fixed list, so that a case number
# names the same file while fixtures are added.
SOURCE_SEEDS = ("Cumsum", "Erf", "hand_concat_int", "hand_gelu_block", "hand_lambda_cumsum",
                "hand_mixed_float16")


def savedmodel_seeds() -> list[tuple[str, bytes]]:
    """The committed SavedModel fixtures and two synthetic ones (a TF1 graph, call chains)."""
    seeds = []
    for name in SOURCE_SEEDS:
        path = REPO / "fixtures" / "source" / name / "saved_model" / "saved_model.pb"
        seeds.append((str(path.parent.relative_to(REPO)), path.read_bytes()))
    seeds.append(("synth/tf1-graph", _synth_tf1().SerializeToString(deterministic=True)))
    seeds.append(("synth/calls", _synth_calls().SerializeToString(deterministic=True)))
    return seeds


def _msgs() -> dict[str, Any]:
    from qlint.loaders import _tf_protos

    return dict(_tf_protos.messages())


def _node(msg: Any, name: str, op: str, inputs: Sequence[str] = (), **attrs: Any) -> Any:
    """Add a NodeDef to repeated field ``msg`` (``GraphDef.node`` or ``FunctionDef.node_def``)."""
    n = msg.add()
    n.name, n.op = name, op
    n.input.extend(inputs)
    for k, v in attrs.items():
        if isinstance(v, str) and k in ("f", "body", "cond", "then_branch", "else_branch"):
            n.attr[k].func.name = v
        elif isinstance(v, int) and k in ("T", "dtype", "DstT", "out_type"):
            n.attr[k].type = v
        elif k == "_output_shapes":
            for dims in v:
                s = n.attr[k].list.shape.add()
                for d in dims:
                    s.dim.add().size = d
        elif k == "branches":
            for fn in v:
                n.attr[k].list.func.add().name = fn
    return n


def _synth_tf1() -> Any:
    """A TF1-style SavedModel: a graph without signatures (taken whole), a small conv net."""
    sm = _msgs()["SavedModel"]()
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    g = meta.graph_def
    _node(g.node, "x", "Placeholder", dtype=1, _output_shapes=[[1, 8, 8, 3]])
    _node(g.node, "w", "Const", dtype=1)
    _node(g.node, "conv", "Conv2D", ["x", "w"], T=1, _output_shapes=[[1, 8, 8, 4]])
    _node(g.node, "relu", "Relu", ["conv"], T=1)
    _node(g.node, "id", "Identity", ["relu"], T=1)
    _node(g.node, "mean", "Mean", ["id", "w"], T=1)
    return sm


def _synth_calls() -> Any:
    """A signature calling a function that calls another and runs a While loop."""
    sm = _msgs()["SavedModel"]()
    meta = sm.meta_graphs.add()
    meta.meta_info_def.tags.append("serve")
    g = meta.graph_def
    _node(g.node, "serving_default_x", "Placeholder", dtype=1, _output_shapes=[[1, 4]])
    _node(g.node, "StatefulPartitionedCall", "StatefulPartitionedCall",
          ["serving_default_x"], f="outer")
    lib = g.library
    inner = lib.function.add()
    inner.signature.name = "inner"
    inner.signature.input_arg.add().name = "a"
    inner.signature.output_arg.add().name = "out"
    _node(inner.node_def, "tanh", "Tanh", ["a"], T=1)
    inner.ret["out"] = "tanh:y:0"
    outer = lib.function.add()
    outer.signature.name = "outer"
    outer.signature.input_arg.add().name = "x"
    outer.signature.output_arg.add().name = "y"
    _node(outer.node_def, "call", "PartitionedCall", ["x"], f="inner")
    _node(outer.node_def, "loop", "While", ["call:output:0"], body="inner", cond="inner")
    _node(outer.node_def, "add", "AddV2", ["call:output:0", "loop:output:0"], T=1)
    outer.ret["y"] = "add:z:0"
    sig = meta.signature_def["serving_default"]
    sig.inputs["x"].name = "serving_default_x:0"
    sig.inputs["x"].dtype = 1
    sig.outputs["y"].name = "StatefulPartitionedCall:0"
    return sm


def _sm_parts(sm: Any) -> tuple[Any, Any, list[Any]]:
    """The serve meta graph, its graph def and its top-level call nodes."""
    if not sm.meta_graphs:
        sm.meta_graphs.add().meta_info_def.tags.append("serve")
    meta = next((m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags),
                sm.meta_graphs[0])
    g = meta.graph_def
    calls = [n for n in g.node if "f" in n.attr and n.attr["f"].func.name]
    return meta, g, calls


def _new_function(g: Any, name: str, n_args: int = 1) -> Any:
    f = g.library.function.add()
    f.signature.name = name
    for i in range(n_args):
        f.signature.input_arg.add().name = f"a{i}"
    f.signature.output_arg.add().name = "out"
    return f


def _hook(g: Any, calls: list[Any], rng: random.Random, func: str) -> None:
    """Make the signature's call (or a new top-level node) call ``func``."""
    if calls:
        rng.choice(calls).attr["f"].func.name = func
    else:
        src = next((n.name for n in g.node if n.op.startswith("Placeholder")), "x")
        _node(g.node, "hooked_call", "StatefulPartitionedCall", [src], f=func)


_ODD_REFS = ("missing", "missing:0", "^missing", "", ":", "::", "a:b:c:d:e",
             "x:99999999999999999999999", "x:-1", "x:\u00b2", "x:\u0663", "^", "/", "\x00",
             "StatefulPartitionedCall:123456", "n:output:999999")


def _sm_semantic(rng: random.Random, sm: Any) -> str:
    """One hostile but valid edit of a parsed SavedModel; returns its description."""
    meta, g, calls = _sm_parts(sm)
    funcs = list(g.library.function)
    kind = rng.choice(("self_call", "mutual_recursion", "fan_out", "long_chain",
                       "cyclic_inputs", "odd_inputs", "odd_signature", "unknown_ops",
                       "absurd_shapes", "absurd_dtypes", "huge_repeated", "attr_kinds",
                       "meta_graphs", "arg_mismatch", "control_flow_fan_out",
                       "duplicate_names", "many_signatures", "whole_graph_cycle"))
    if kind == "self_call":
        f = rng.choice(funcs) if funcs else _new_function(g, "self")
        arg = f.signature.input_arg[0].name if f.signature.input_arg else "x"
        op = rng.choice(("StatefulPartitionedCall", "PartitionedCall", f.signature.name))
        _node(f.node_def, "again", op, [arg], f=f.signature.name)
        for k in list(f.ret)[:1]:
            f.ret[k] = "again:output:0"
        if not funcs:
            _hook(g, calls, rng, f.signature.name)
        return f"{kind}: {f.signature.name} calls itself through {op}"
    if kind == "mutual_recursion":
        n = rng.choice((2, 3, 50))
        names = [f"ring{i}" for i in range(n)]
        for i, name in enumerate(names):
            f = _new_function(g, name)
            _node(f.node_def, "next", "PartitionedCall", ["a0"], f=names[(i + 1) % n])
            f.ret["out"] = "next:output:0"
        _hook(g, calls, rng, names[0])
        return f"{kind}: {n} functions call each other in a ring"
    if kind in ("fan_out", "control_flow_fan_out"):
        levels, width = rng.choice(((40, 2), (25, 3), (12, 8)))
        for i in range(levels):
            f = _new_function(g, f"fan{i}")
            prev = "a0"
            for j in range(width):
                if i + 1 == levels:
                    _node(f.node_def, f"op{j}", "Relu", [prev], T=1)
                elif kind == "fan_out":
                    _node(f.node_def, f"c{j}", rng.choice(("PartitionedCall", f"fan{i + 1}")),
                          [prev], f=f"fan{i + 1}")
                else:
                    _node(f.node_def, f"c{j}", "While", [prev], body=f"fan{i + 1}",
                          cond=f"fan{i + 1}")
                prev = f"{f.node_def[-1].name}:output:0"
            f.ret["out"] = prev
        _hook(g, calls, rng, "fan0")
        return f"{kind}: {levels} levels of {width} calls each ({width}^{levels} paths)"
    if kind == "long_chain":
        n = rng.choice((100, 5000))
        for i in range(n):
            f = _new_function(g, f"chain{i}")
            _node(f.node_def, "next", "PartitionedCall", ["a0"], f=f"chain{i + 1}")
            _node(f.node_def, "relu", "Relu", ["next:output:0"], T=1)
            f.ret["out"] = "relu:activations:0"
        _hook(g, calls, rng, "chain0")
        return f"{kind}: {n} functions each calling the next"
    if kind == "cyclic_inputs":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        if not pool:
            return kind + ": nothing to edit"
        a, b = rng.choice(pool), rng.choice(pool)
        a.input.append(b.name if rng.random() < 0.5 else f"{b.name}:output:0")
        b.input.append(a.name)
        a.input.append(a.name)
        return f"{kind}: {a.name} <-> {b.name}, {a.name} reads itself"
    if kind == "odd_inputs":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        for n in rng.sample(pool, min(len(pool), rng.choice((1, 3, 20)))):
            if n.input and rng.random() < 0.6:
                n.input[rng.randrange(len(n.input))] = rng.choice(_ODD_REFS)
            else:
                n.input.append(rng.choice(_ODD_REFS))
        return f"{kind}: inputs naming missing or malformed tensors"
    if kind == "odd_signature":
        for sig in meta.signature_def.values():
            for info in list(sig.outputs.values()) + list(sig.inputs.values()):
                if rng.random() < 0.7:
                    info.name = rng.choice(_ODD_REFS)
            if rng.random() < 0.3:
                sig.outputs["extra"].name = rng.choice(_ODD_REFS)
                sig.inputs["extra"].dtype = rng.choice((0, 999, -1, 1 << 30))
        return f"{kind}: signature inputs/outputs naming missing tensors"
    if kind == "unknown_ops":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        names = ("", "NoSuchOp", "\u202e", "x" * 5000, "While", "If", "Case",
                 "StatefulPartitionedCall", "Const", "Placeholder", "_Arg")
        for n in rng.sample(pool, min(len(pool), rng.choice((1, 5, 50)))):
            n.op = rng.choice(names)
        return f"{kind}: ops renamed to unknown or attribute-less ops"
    if kind == "absurd_shapes":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        for j, n in enumerate(rng.sample(pool, min(len(pool), rng.choice((1, 10, 100))))):
            shapes = n.attr["_output_shapes"].list.shape
            del shapes[:]
            n_shapes, rank = rng.choice(((0, 0), (1, 1), (3, 4), (1, 70), (2000, 4),
                                         (1, 100_000))) if j == 0 else (1, 4)
            for _ in range(n_shapes):
                s = shapes.add()
                if rng.random() < 0.2:
                    s.unknown_rank = True
                for _ in range(rank):
                    s.dim.add().size = rng.choice((-1, -(1 << 63), (1 << 63) - 1, 0,
                                                   1 << 40, 7))
        for sig in meta.signature_def.values():
            for info in sig.inputs.values():
                for _ in range(rng.choice((0, 100))):
                    info.tensor_shape.dim.add().size = (1 << 62)
        return f"{kind}: _output_shapes and signature shapes with absurd ranks and sizes"
    if kind == "absurd_dtypes":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        for n in rng.sample(pool, min(len(pool), rng.choice((1, 10, 100)))):
            key = rng.choice(("T", "dtype", "DstT", "out_type", "Tout", "output_type"))
            v = rng.choice((0, -1, 99, 101, 199, 1 << 30, -(1 << 31), (1 << 31) - 1))
            if key == "Tout":
                n.attr[key].list.type.extend([v] * rng.choice((1, 3, 10000)))
            else:
                n.attr[key].type = v
        return f"{kind}: dtype attributes with unknown enum values"
    if kind == "huge_repeated":
        what = rng.choice(("inputs", "nodes", "attrs", "functions"))
        if what == "inputs" and g.node:
            n = rng.choice(list(g.node))
            n.input.extend([n.input[0] if n.input else "x"] * 200_000)
        elif what == "nodes":
            prev = "x"
            for i in range(30_000):
                _node(g.node, f"n{i}", rng.choice(("Relu", "Identity")), [prev], T=1)
                prev = f"n{i}"
            for sig in meta.signature_def.values():
                for info in sig.outputs.values():
                    info.name = prev + ":0"
        elif what == "attrs" and g.node:
            n = rng.choice(list(g.node))
            for i in range(20_000):
                n.attr[f"a{i}"].i = i
        else:
            for i in range(20_000):
                _new_function(g, f"unused{i}")
        return f"{kind}: {what}"
    if kind == "attr_kinds":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        for n in rng.sample(pool, min(len(pool), rng.choice((1, 10, 100)))):
            key = rng.choice(("f", "_output_shapes", "Tout", "T", "body", "cond", "branches",
                              "then_branch", "shape", "value"))
            a = n.attr[key]
            choice = rng.randrange(6)
            if choice == 0:
                a.i = 5
            elif choice == 1:
                a.s = b"\xff\xfe" * 100
            elif choice == 2:
                a.type = 1
            elif choice == 3:
                a.list.func.add().name = rng.choice(("missing", ""))
            elif choice == 4:
                a.func.name = rng.choice(("missing", "", n.name))
            else:
                a.list.s.append(b"x")
        return f"{kind}: attributes holding another kind of value"
    if kind == "meta_graphs":
        choice = rng.randrange(5)
        if choice == 0:
            del sm.meta_graphs[:]
        elif choice == 1:
            meta.ClearField("graph_def")
        elif choice == 2:
            for _ in range(200):
                sm.meta_graphs.add().CopyFrom(meta)
        elif choice == 3:
            del meta.meta_info_def.tags[:]
            meta.signature_def.clear()
        else:
            g.ClearField("library")
        return f"{kind}: variant {choice}"
    if kind == "arg_mismatch":
        for f in funcs or [_new_function(g, "lonely")]:
            choice = rng.randrange(4)
            if choice == 0:
                for i in range(rng.choice((5, 3000))):
                    f.signature.input_arg.add().name = f"extra{i}"
            elif choice == 1:
                del f.signature.input_arg[:]
            elif choice == 2:
                f.ret["missing"] = rng.choice(_ODD_REFS)
                f.signature.output_arg.add().name = "missing"
            else:
                f.arg_attr[rng.choice((0, 7, (1 << 32) - 1))].attr["_output_shapes"].list \
                    .shape.add().dim.add().size = -(1 << 63)
        return f"{kind}: function arguments and results that do not match their calls"
    if kind == "duplicate_names":
        pool = [n for n in g.node] + [n for f in funcs for n in f.node_def]
        for n in pool:
            n.name = rng.choice(("dup", n.name))
        for f in funcs:
            f.signature.name = rng.choice(("dupf", f.signature.name))
        return f"{kind}: nodes and functions sharing names"
    if kind == "many_signatures":
        base = next(iter(meta.signature_def.values()), None)
        for i in range(rng.choice((50, 3000))):
            s = meta.signature_def[f"sig{i}"]
            if base is not None:
                s.CopyFrom(base)
        return f"{kind}: thousands of signatures"
    # whole_graph_cycle: no signatures, a cyclic TF1 graph
    meta.signature_def.clear()
    prev = "c9"
    for i in range(10):
        _node(g.node, f"c{i}", "Relu", [prev], T=1)
        prev = f"c{i}"
    return f"{kind}: no signatures and a cycle of 10 nodes"


def _sm_semantic_mutator(rng: random.Random, data: bytes, fields: list[Field],
                         others: Sequence[bytes]) -> tuple[bytes, str]:
    from qlint.loaders import _tf_protos

    sm = _tf_protos.parse_saved_model(data)
    desc = _sm_semantic(rng, sm)
    return sm.SerializeToString(deterministic=True), desc


_PBTXT_HOSTILE = (
    ("deep braces", lambda t: "meta_graphs { graph_def { node { attr { key: 'a' value { "
     + "list { func { attr { key: 'a' value { " * 3000 + "}" * 15000),
    ("unterminated string", lambda t: t[: len(t) // 2] + '"abc'),
    ("invalid utf-8", lambda t: t[:100] + "\udcff"),
    ("huge number", lambda t: "saved_model_schema_version: " + "9" * 10000),
    ("unknown field", lambda t: "no_such_field: 1\n" + t),
    ("truncated", lambda t: t[: len(t) // 3]),
    ("binary garbage", lambda t: "\x00\x01\x02" * 100),
)


def _pbtxt_mutator(rng: random.Random, data: bytes, fields: list[Field],
                   others: Sequence[bytes]) -> tuple[bytes, str, str]:
    """The seed as ``saved_model.pbtxt``, valid or made hostile."""
    from google.protobuf import text_format

    from qlint.loaders import _tf_protos

    text = text_format.MessageToString(_tf_protos.parse_saved_model(data))
    if rng.random() < 0.2:
        return text.encode(), "pbtxt: valid text form", "pbtxt"
    name, make = rng.choice(_PBTXT_HOSTILE)
    return make(text).encode("utf-8", "surrogateescape"), f"pbtxt: {name}", "pbtxt"


def _sm_layout_mutator(inner: Mutator) -> Mutator:
    """``inner``'s bytes as ``saved_model.pb``, with the rest of the directory varied."""

    def mutate(rng: random.Random, data: bytes, fields: list[Field],
               others: Sequence[bytes]) -> tuple[bytes, str, str]:
        out = inner(rng, data, fields, others)
        layout = rng.choice(("pb", "pb", "pb", "pb+variables", "pb+variables-file",
                             "pb+empty-pbtxt", "pb+fingerprint"))
        return out[0], out[1], layout

    return mutate


def write_savedmodel(case: Case, path: str) -> None:
    """A SavedModel directory at ``path`` holding the case as its ``saved_model.pb(txt)``."""
    os.makedirs(path)
    main = "saved_model.pbtxt" if case.layout == "pbtxt" else "saved_model.pb"
    with open(os.path.join(path, main), "wb") as fh:
        fh.write(case.data)
    if case.layout == "pb+variables":
        os.makedirs(os.path.join(path, "variables"))
        with open(os.path.join(path, "variables", "variables.index"), "wb") as fh:
            fh.write(case.data[:64])
    elif case.layout == "pb+variables-file":
        with open(os.path.join(path, "variables"), "wb") as fh:
            fh.write(b"not a directory")
    elif case.layout == "pb+empty-pbtxt":
        open(os.path.join(path, "saved_model.pbtxt"), "wb").close()
    elif case.layout == "pb+fingerprint":
        with open(os.path.join(path, "fingerprint.pb"), "wb") as fh:
            fh.write(b"\xff" * 99)


def savedmodel_spec() -> FormatSpec:
    """SavedModel directories: mutations of ``saved_model.pb`` (bytes, wire, meaning)."""
    lay = _sm_layout_mutator
    return FormatSpec("", savedmodel_seeds, pb_structure, (
        ("flip", lay(_flip), 2),
        ("truncate", lay(_truncate), 2),
        ("splice", lay(_splice), 1),
        ("pb-tag", lay(_pb_mutator("tag")), 2),
        ("pb-length", lay(_pb_mutator("length")), 2),
        ("pb-varint", lay(_pb_mutator("varint")), 2),
        ("pb-delete", lay(_pb_mutator("delete")), 2),
        ("pb-duplicate", lay(_pb_mutator("duplicate")), 1),
        ("pb-swap", lay(_pb_mutator("swap")), 1),
        ("pb-nest", lay(_pb_mutator("nest")), 1),
        ("semantic", lay(_sm_semantic_mutator), 8),
        ("pbtxt", _pbtxt_mutator, 1),
    ), write_savedmodel)


# -- zip archives -----------------------------------------------------------------------

@dataclass
class ZipMember:
    """One member of a hand-written zip archive; sizes and CRC may lie."""

    name: bytes
    data: bytes = b""
    method: int = 8  # 0 stored, 8 deflated
    compressed: bytes | None = None  # already compressed payload (``data`` is then unused)
    file_size: int | None = None  # the uncompressed size the headers claim
    crc: int | None = None
    flags: int = 0


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def write_zip(members: Sequence[ZipMember], comment: bytes = b"") -> bytes:
    """A zip archive of ``members`` (local headers, central directory, end record).

    Unlike `zipfile`, names, sizes, CRCs and duplicates are written as given, so hostile
    archives can be made; the output is deterministic (fixed 1980-01-01 timestamps).
    """
    out = bytearray()
    central = bytearray()
    for m in members:
        payload = m.compressed if m.compressed is not None else (
            _deflate(m.data) if m.method == 8 else m.data)
        crc = m.crc if m.crc is not None else zlib.crc32(m.data)
        size = m.file_size if m.file_size is not None else len(m.data)
        offset = len(out)
        head = struct.pack("<HHHHHIII", 20, m.flags, m.method, 0, 0x21, crc,
                           min(len(payload), 0xFFFFFFFF), size & 0xFFFFFFFF)
        out += b"PK\x03\x04" + head + struct.pack("<HH", len(m.name), 0) + m.name + payload
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + head
                    + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
    n = len(members)
    end = struct.pack("<HHHHIIH", 0, 0, n & 0xFFFF, n & 0xFFFF, len(central), len(out),
                      len(comment))
    return bytes(out + central + b"PK\x05\x06" + end + comment)


def zip_structure(data: bytes) -> list[Field]:
    """The numeric header fields of a zip archive: sizes, offsets, counts, methods, CRCs."""
    out: list[Field] = []
    layout = (("flags", 6, 2, "scalar"), ("method", 8, 2, "scalar"), ("crc", 14, 4, "scalar"),
              ("csize", 18, 4, "vlen"), ("usize", 22, 4, "vlen"), ("name_len", 26, 2, "vlen"),
              ("extra_len", 28, 2, "vlen"))
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0 and len(out) < 5000:
        for name, off, width, kind in layout:
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"local@{pos}.{name}"))
        out.append(Field(pos + 30, 1, "string", f"local@{pos}.name"))
        pos += 4
    pos = 0
    central = (*layout, ("comment_len", 32, 2, "vlen"), ("local_offset", 42, 4, "uoffset"))
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0 and len(out) < 10000:
        for name, off, width, kind in central:
            off += 2 if name not in ("local_offset", "comment_len") else 0
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"central@{pos}.{name}"))
        out.append(Field(pos + 46, 1, "string", f"central@{pos}.name"))
        pos += 4
    pos = data.rfind(b"PK\x05\x06")
    if pos >= 0:
        for name, off, width, kind in (("disk_entries", 8, 2, "index"),
                                       ("entries", 10, 2, "index"), ("cd_size", 12, 4, "vlen"),
                                       ("cd_offset", 16, 4, "uoffset"),
                                       ("comment_len", 20, 2, "vlen")):
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"end.{name}"))
    return out


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


# -- hostile JSON (Keras configs) -------------------------------------------------------

def _deep_json(levels: int, open_: str = "[", close: str = "]") -> str:
    return open_ * levels + close * levels


_HOSTILE_VALUES: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("null", lambda: None), ("int", lambda: 7), ("negative", lambda: -1),
    ("float", lambda: 1e308), ("bool", lambda: True), ("string", lambda: "x"),
    ("empty list", lambda: []), ("empty dict", lambda: {}),
    ("list of dicts", lambda: [{}, {"class_name": None}]),
    ("list of lists", lambda: [[[]]]), ("long string", lambda: "y" * 100_000),
    ("big list", lambda: [0] * 100_000), ("huge int", lambda: 10**300),
    ("nested list", lambda: json.loads(_deep_json(200))),
    ("dict of lists", lambda: {"config": [], "layers": {}, "class_name": []}),
)


def _json_paths(obj: Any, path: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None,
                depth: int = 0) -> list[tuple[Any, ...]]:
    out = [] if out is None else out
    if len(out) > 20000 or depth > 40:
        return out
    out.append(path)
    if isinstance(obj, dict):
        for k, v in obj.items():
            _json_paths(v, (*path, k), out, depth + 1)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _json_paths(v, (*path, i), out, depth + 1)
    return out


def _json_set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return obj


def _layers(config: Any) -> list[Any]:
    cfg = config.get("config") if isinstance(config, dict) else None
    layers = cfg.get("layers") if isinstance(cfg, dict) else None
    return layers if isinstance(layers, list) else []


def _keras_json(rng: random.Random, config: Any) -> tuple[str, str]:
    """A hostile version of Keras model config ``config`` as JSON text, and what it is."""
    kind = rng.choice(("replace", "replace", "replace", "delete_key", "bad_json", "deep",
                       "big_number", "cyclic_inbound", "nested_models", "lambda_custom",
                       "many_layers", "shared_calls", "self_inbound", "odd_history",
                       "odd_io_refs", "not_an_object"))
    config = json.loads(json.dumps(config))
    if kind == "replace":
        paths = _json_paths(config)
        path = rng.choice(paths)
        vname, make = rng.choice(_HOSTILE_VALUES)
        config = _json_set(config, path, make())
        return json.dumps(config), f"{'/'.join(map(str, path)) or 'root'} = {vname}"
    if kind == "delete_key":
        paths = [p for p in _json_paths(config) if p and isinstance(p[-1], str)]
        if paths:
            path = rng.choice(paths)
            parent = config
            for p in path[:-1]:
                parent = parent[p]
            del parent[path[-1]]
            return json.dumps(config), f"deleted {'/'.join(map(str, path))}"
        return json.dumps(config), "nothing to delete"
    if kind == "bad_json":
        text = json.dumps(config)
        choice = rng.randrange(6)
        bad = (text[: len(text) // 2], text + "}", "\ufeff" + text, text.replace('"', "'", 3),
               '{"class_name": NaN, "config": Infinity}', "")[choice]
        return bad, f"invalid JSON variant {choice}"
    if kind == "deep":
        levels = rng.choice((500, 5000, 200_000))
        opener = rng.choice((("[", "]"), ('{"a":', "}")))
        inner = _deep_json(levels, *opener)
        if rng.random() < 0.5:
            return inner, f"root nested {levels} levels"
        text = json.dumps(config)
        at = text.find("[", 10)
        at = at if at > 0 else 1
        return text[:at] + inner + "," + text[at + 1:], f"{levels}-level nesting inside"
    if kind == "big_number":
        digits = rng.choice((5000, 100_000))
        return ('{"class_name": "Sequential", "config": {"layers": [], "n": '
                + "9" * digits + "}}"), f"integer of {digits} digits"
    layers = _layers(config)
    if kind == "cyclic_inbound":
        named = [layer for layer in layers if isinstance(layer, dict) and layer.get("name")]
        if len(named) >= 2:
            a, b = rng.sample(named, 2)
            a["inbound_nodes"] = [[[b["name"], 0, 0, {}]]]
            b["inbound_nodes"] = [[[a["name"], 0, 0, {}]]]
        return json.dumps(config), "two layers feeding each other"
    if kind == "self_inbound":
        for layer in layers:
            if isinstance(layer, dict) and layer.get("name"):
                layer["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                                     "config": {"keras_history": [
                                                         layer["name"], 0, 0]}}]}]
        return json.dumps(config), "every layer fed by its own output"
    if kind == "nested_models":
        levels = rng.choice((10, 63, 65, 300, 3000))
        text = json.dumps(config)
        for i in range(levels):
            cls = rng.choice(("Functional", "Sequential", "Model"))
            inner = f"{text}, {text}" if i < 8 and i % 2 == 0 else text
            text = (f'{{"class_name": "{cls}", "name": "m{i}", "config": {{"name": "m{i}", '
                    f'"layers": [{inner}], "input_layers": [["m{i - 1}", 0, 0]], '
                    f'"output_layers": [["m{i - 1}", 0, 0]]}}}}')
        return text, f"model nested {levels} levels (some twice)"
    if kind == "lambda_custom":
        for layer in rng.sample(layers, min(len(layers), 3)):
            if isinstance(layer, dict):
                layer["class_name"] = rng.choice(("Lambda", "Custom>Evil", "TFOpLambda"))
                layer["module"] = rng.choice(("os", None, 7, "__main__", ["x"]))
                layer["registered_name"] = rng.choice(("Evil>X", 3, None))
                cfg = layer.get("config")
                if isinstance(cfg, dict):
                    cfg["function"] = rng.choice((
                        {"class_name": "__lambda__", "config": {"code": "AAAA" * 1000}},
                        "os.system", 5, [1, 2], None))
        return json.dumps(config), "Lambda and custom classes with odd fields"
    if kind == "many_layers":
        n = rng.choice((2000, 20_000))
        cls = next((layer.get("class_name") for layer in layers if isinstance(layer, dict)
                    and layer.get("class_name") != "InputLayer"), "ReLU")
        new = []
        prev = None
        for i in range(n):
            layer = {"class_name": cls, "name": f"l{i}", "config": {"name": f"l{i}"}}
            if prev is not None:
                layer["inbound_nodes"] = [[[prev, 0, 0, {}]]]
            new.append(layer)
            prev = f"l{i}"
        if isinstance(config.get("config"), dict):
            config["config"]["layers"] = layers + new
            config["config"]["output_layers"] = [[prev, 0, 0]]
        return json.dumps(config), f"{n} chained layers"
    if kind == "shared_calls":
        for layer in layers:
            if isinstance(layer, dict) and isinstance(layer.get("inbound_nodes"), list) \
                    and layer["inbound_nodes"]:
                layer["inbound_nodes"] = layer["inbound_nodes"] * rng.choice((2, 1000))
        return json.dumps(config), "every layer called many times"
    if kind == "odd_history":
        for layer in layers:
            if isinstance(layer, dict):
                layer["inbound_nodes"] = rng.choice((
                    [[["missing", 0, 0, {}]]], [[["x", -1, 10**20, None]]], [{"args": 5}],
                    [{"args": [{"class_name": "__keras_tensor__", "config": {
                        "keras_history": ["missing", "a", None], "shape": ["x", None, -1],
                        "dtype": 5}}]}], [[]], [None], "abc", {"a": 1}, [[[None, 0, 0]]]))
        return json.dumps(config), "inbound nodes naming missing or malformed tensors"
    if kind == "odd_io_refs":
        cfg = config.get("config") if isinstance(config, dict) else None
        if isinstance(cfg, dict):
            for key in ("input_layers", "output_layers"):
                cfg[key] = rng.choice(([["missing", 0, 0]], [["x", 10**20, -5]], ["a"],
                                       [[None, None, None]], "abc", 5, [[]], [["a", 0]]))
        return json.dumps(config), "input/output layer references that do not resolve"
    # not_an_object
    return json.dumps(rng.choice(([], 5, "x", None, {"class_name": 5}, {"class_name":
                                  "Functional", "config": {"layers": "abc"}}))), \
        "config that is not a model description"


# -- Keras (.keras) ---------------------------------------------------------------------

def keras_seeds() -> list[tuple[str, bytes]]:
    """The committed ``.keras`` fixtures and a synthetic nested, shared-layer model."""
    seeds = []
    for name in SOURCE_SEEDS:
        path = REPO / "fixtures" / "source" / name / "model.keras"
        if path.is_file():
            seeds.append((str(path.relative_to(REPO)), path.read_bytes()))
    seeds.append(("synth/nested-shared", write_zip([
        ZipMember(b"metadata.json", json.dumps({"keras_version": "3.15.1"}).encode()),
        ZipMember(b"config.json", json.dumps(_synth_keras_config()).encode()),
        ZipMember(b"model.weights.h5", bytes(64), method=0),
    ])))
    return seeds


def _synth_keras_config() -> dict[str, Any]:
    """A Functional model (tf.keras 2 form) calling a nested Sequential twice."""
    def layer(cls: str, name: str, inbound: list[Any], **cfg: Any) -> dict[str, Any]:
        return {"class_name": cls, "name": name, "module": "keras.layers",
                "config": {"name": name, **cfg}, "inbound_nodes": inbound}

    inner = {"class_name": "Sequential", "name": "inner", "module": "keras",
             "config": {"name": "inner", "layers": [
                 {"class_name": "InputLayer", "config": {"batch_shape": [None, 8],
                                                         "name": "inner_in"}},
                 {"class_name": "Dense", "config": {"name": "d", "units": 8,
                                                    "activation": "relu"}}]},
             "inbound_nodes": [[["x", 0, 0, {}]], [["relu", 0, 0, {}]]]}
    return {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "name": "x",
         "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "x"},
         "inbound_nodes": []},
        inner,
        layer("ReLU", "relu", [[["inner", 0, 0, {}]]]),
        layer("Concatenate", "cat", [[["inner", 0, 0, {}], ["inner", 1, 0, {}]]], axis=-1),
    ], "input_layers": [["x", 0, 0]], "output_layers": [["cat", 0, 0]]}}


@cache
def _bomb_block() -> tuple[bytes, bytes]:
    """A 1 MiB run of spaces deflated to a position-independent block, and a stream end."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b" " * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return block, c.flush(zlib.Z_FINISH)


def zip_bomb(mib: int, prefix: bytes = b"[", claim: int | None = None) -> bytes:
    """Deflate data for ``prefix`` + ``mib`` MiB of spaces (a JSON bomb), made in O(output)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block, _ = _bomb_block()
    return head + block * mib + c.flush(zlib.Z_FINISH)


def _keras_archive_mutator(rng: random.Random, data: bytes, fields: list[Field],
                           others: Sequence[bytes]) -> tuple[bytes, str]:
    """The seed re-zipped with hostile members: bombs, traversal names, duplicates, ..."""
    members = _zip_members(data)
    config = members.get("config.json", b"{}")
    meta = members.get("metadata.json", b"{}")
    base = [ZipMember(b"metadata.json", meta), ZipMember(b"config.json", config)]
    kind = rng.choice(("bomb", "bomb_lying_size", "huge_claim", "huge_member", "traversal",
                       "duplicate", "missing_config", "missing_metadata", "config_dir",
                       "stored_bad_crc", "unsupported_method", "encrypted", "many_members",
                       "bad_metadata", "invalid_utf8", "weights_bomb"))
    if kind in ("bomb", "bomb_lying_size", "weights_bomb"):
        mib = rng.choice((70, 1024, 4000))
        payload = zip_bomb(mib)
        real = 1 + mib * (1 << 20)
        claim = real if kind != "bomb_lying_size" else rng.choice((1000, 60 << 20, 0))
        name = b"model.weights.h5" if kind == "weights_bomb" else b"config.json"
        bomb = ZipMember(name, compressed=payload, file_size=min(claim, 0xFFFFFFFF), crc=0)
        members_out = [base[0], bomb] if name == b"config.json" else [*base, bomb]
        return write_zip(members_out), f"{kind}: {name.decode()} inflates to {mib} MiB, " \
                                       f"claims {claim} bytes"
    if kind == "huge_claim":
        return write_zip([base[0], ZipMember(b"config.json", config,
                                             file_size=rng.choice((0xFFFFFFFF, 1 << 30)))]), \
            f"{kind}: config.json claims GBs"
    if kind == "huge_member":
        big = ZipMember(b"model.weights.h5", bytes(rng.choice((1, 8)) << 20), method=0)
        return write_zip([*base, big]), f"{kind}: a large stored weights member"
    if kind == "traversal":
        names = [b"../../x", b"/etc/x", b"..\\..\\x", b"a/../../../x", b"C:\\x", b"\x00x",
                 b"config.json/../config.json", b"./config.json", b"//x"]
        picked = rng.sample(names, 3)
        return write_zip([*base, *(ZipMember(n, b"pwned") for n in picked)]), \
            f"{kind}: members {picked!r}"
    if kind == "duplicate":
        other = json.dumps({"class_name": "Sequential", "config": {"layers": "x"}}).encode()
        dup = [ZipMember(b"config.json", other), *base, ZipMember(b"config.json", other)]
        return write_zip(rng.sample(dup, len(dup))), f"{kind}: config.json three times"
    if kind == "missing_config":
        return write_zip([base[0]]), kind
    if kind == "missing_metadata":
        return write_zip([base[1]]), kind
    if kind == "config_dir":
        return write_zip([base[0], ZipMember(b"config.json/", b""),
                          ZipMember(b"config.json/x", config)]), kind
    if kind == "stored_bad_crc":
        return write_zip([base[0], ZipMember(b"config.json", config, method=0,
                                             crc=zlib.crc32(config) ^ 1)]), kind
    if kind == "unsupported_method":
        method = rng.choice((1, 6, 9, 12, 14, 95, 99, 0xFFFF))
        return write_zip([base[0], ZipMember(b"config.json", config, method=method,
                                             compressed=config)]), f"{kind}: method {method}"
    if kind == "encrypted":
        return write_zip([base[0], ZipMember(b"config.json", config, flags=1)]), kind
    if kind == "many_members":
        n = rng.choice((1000, 60_000))
        extra = [ZipMember(f"assets/{i}".encode(), b"", method=0) for i in range(n)]
        return write_zip([*base, *extra]), f"{kind}: {n} members"
    if kind == "bad_metadata":
        bad = rng.choice((b"[]", b"5", b"{", b"\xff", json.dumps({"keras_version": [1]}).encode(),
                          _deep_json(100_000).encode()))
        return write_zip([ZipMember(b"metadata.json", bad), base[1]]), f"{kind}: {bad[:20]!r}"
    # invalid_utf8
    return write_zip([base[0], ZipMember(b"config.json", config[:50] + b"\xff\xfe"
                                         + config[50:])]), kind


def _keras_config_mutator(rng: random.Random, data: bytes, fields: list[Field],
                          others: Sequence[bytes]) -> tuple[bytes, str]:
    """The seed with a hostile ``config.json`` (types, nesting, cycles, custom classes)."""
    members = _zip_members(data)
    try:
        config = json.loads(members.get("config.json", b"{}"))
    except ValueError:
        config = {}
    text, desc = _keras_json(rng, config)
    out = [ZipMember(n.encode(), d) for n, d in members.items() if n != "config.json"]
    out.insert(rng.randrange(len(out) + 1), ZipMember(b"config.json",
                                                      text.encode("utf-8", "surrogatepass")))
    return write_zip(out), desc


def keras_spec() -> FormatSpec:
    """``.keras`` zip archives: bytes, zip headers, hostile members and hostile configs."""
    return FormatSpec(".keras", keras_seeds, zip_structure, (
        ("flip", _flip, 2),
        ("truncate", _truncate, 2),
        ("splice", _splice, 1),
        ("zip-offset", _structural(("uoffset", "index")), 2),
        ("zip-length", _structural(("vlen",)), 2),
        ("zip-field", _structural(("scalar", "string")), 2),
        ("archive", _keras_archive_mutator, 5),
        ("config", _keras_config_mutator, 10),
    ))


# -- legacy Keras HDF5 (.h5) ------------------------------------------------------------

def h5_available() -> bool:
    """True when h5py can be imported (the ``h5``/``test`` extras)."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def write_h5(attrs: dict[str, Any], datasets: dict[str, Any] | None = None) -> bytes:
    """An HDF5 file in memory with root attributes ``attrs`` (and some datasets)."""
    import h5py
    import numpy as np

    buf = io.BytesIO()
    big = any(len(v) > 32_000 for v in attrs.values() if isinstance(v, (str, bytes)))
    with h5py.File(buf, "w", libver="latest" if big else "earliest") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        g = f.create_group("model_weights")
        g.create_dataset("kernel", data=np.arange(16, dtype="float32"))
        for k, v in (datasets or {}).items():
            f.create_dataset(k, data=v)
    return buf.getvalue()


def h5_seeds() -> list[tuple[str, bytes]]:
    """The ``.keras`` seeds' model configs written as legacy HDF5 models."""
    out = []
    for name, data in keras_seeds():
        config = _zip_members(data).get("config.json", b"{}").decode()
        out.append((f"{name}->h5", write_h5({"model_config": config, "keras_version": "3.15.1",
                                             "backend": "tensorflow"})))
    return out


def _h5_config_mutator(rng: random.Random, data: bytes, fields: list[Field],
                       others: Sequence[bytes]) -> tuple[bytes, str]:
    """A legacy HDF5 model whose ``model_config`` is missing, of another type or hostile."""
    import h5py
    import numpy as np

    with h5py.File(io.BytesIO(data), "r") as f:
        raw = f.attrs.get("model_config", "{}")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    kind = rng.choice(("json", "json", "json", "missing", "types", "as_dataset", "bytes",
                       "meta_types"))
    attrs: dict[str, Any] = {"keras_version": "3.15.1", "backend": "tensorflow"}
    datasets: dict[str, Any] = {}
    if kind == "json":
        try:
            config = json.loads(text)
        except ValueError:
            config = {}
        hostile, desc = _keras_json(rng, config)
        attrs["model_config"] = hostile.encode("utf-8", "surrogatepass")
        return write_h5(attrs), f"model_config {desc}"
    if kind == "missing":
        return write_h5(attrs), "no model_config"
    if kind == "types":
        value = rng.choice((np.arange(10, dtype="int64"), np.float64(3.5), np.array([], "f4"),
                            np.array([text[:100], "x"], dtype=h5py.string_dtype()),
                            np.zeros((3, 3), "u1"), np.bool_(True)))
        attrs["model_config"] = value
        return write_h5(attrs), f"model_config of type {type(value).__name__} " \
                                f"{getattr(value, 'dtype', '')}"
    if kind == "as_dataset":
        datasets["model_config"] = text
        return write_h5(attrs, datasets), "model_config stored as a dataset"
    if kind == "bytes":
        attrs["model_config"] = np.void(b"\xff\xfe" + text.encode()[:1000])
        return write_h5(attrs), "model_config as opaque invalid UTF-8 bytes"
    attrs["model_config"] = text
    attrs["keras_version"] = rng.choice((np.arange(5), np.void(b"\xff"), 7))
    attrs["backend"] = np.zeros((2, 2))
    return write_h5(attrs), "keras_version/backend of odd types"


def h5_spec() -> FormatSpec:
    """Legacy ``.h5`` Keras models: bytes of the HDF5 file and hostile ``model_config``."""
    return FormatSpec(".h5", h5_seeds, None, (
        ("flip", _flip, 2),
        ("truncate", _truncate, 2),
        ("splice", _splice, 1),
        ("model_config", _h5_config_mutator, 8),
    ))


FORMATS: dict[str, FormatSpec] = {
    "tflite": FormatSpec(".tflite", tflite_seeds, tflite_structure),
    "savedmodel": savedmodel_spec(),
    "keras": keras_spec(),
}
if h5_available():
    FORMATS["h5"] = h5_spec()


class CaseFactory:
    """Builds case ``k`` of a seeded run; the seeds and their structure are computed once."""

    def __init__(self, fmt: str, seed: int) -> None:
        self.fmt = fmt
        self.seed = seed
        self.spec = FORMATS[fmt]
        self.seeds = self.spec.seeds()
        self.fields = [self.spec.structure(d) if self.spec.structure else []
                       for _, d in self.seeds]
        from tools.fuzz_attacks import attack_mutators

        self.mutators = (*(self.spec.mutators or MUTATORS), *attack_mutators(fmt))
        self.weights = [w for _, _, w in self.mutators]

    def case(self, k: int) -> Case:
        digest = hashlib.sha256(f"{self.fmt}:{self.seed}:{k}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "little"))
        s = rng.randrange(len(self.seeds))
        name, data = self.seeds[s]
        mname, mutate, _ = rng.choices(self.mutators, weights=self.weights)[0]
        others = [d for i, (_, d) in enumerate(self.seeds) if i != s]
        out = mutate(rng, data, self.fields[s], others)
        layout = out[2] if len(out) > 2 else ""
        return Case(k, name, mname, out[1], out[0], layout)


# -- running one case -------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened when qlint linted one case."""

    index: int
    exit_code: int | None
    seconds: float
    problem: str | None = None
    detail: str = ""
    mutation: str = ""
    seed_name: str = ""


class _Timeout(BaseException):
    """Raised by the per-case alarm; a BaseException so qlint's handlers do not swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def lint_in_process(path: str, limit: float = TIME_LIMIT) -> Outcome:
    """Run ``qlint.cli.main([path])`` with captured output and judge the result."""
    from qlint.cli import main

    out, err = io.StringIO(), io.StringIO()
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 2 * limit)
    start = time.perf_counter()
    code: int | None = None
    problem: str | None = None
    detail = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([path, "--color", "never"])
    except _Timeout:
        problem, detail = "hang", f"interrupted after {2 * limit:.0f} s"
    except BaseException:  # a traceback escaping the CLI is exactly what we look for
        problem, detail = "traceback", traceback.format_exc(limit=-6)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    seconds = time.perf_counter() - start
    if problem is None:
        problem, detail = judge(path, code, out.getvalue(), err.getvalue())
    if problem is None and seconds > limit:
        problem, detail = "slow", f"{seconds:.2f} s"
    return Outcome(-1, code, seconds, problem, detail)


def judge(path: str, code: int | None, stdout: str, stderr: str) -> tuple[str | None, str]:
    """The problem with one CLI run on one bad file, or ``(None, "")``."""
    if "Traceback (most recent call last)" in stderr + stdout:
        return "traceback", stderr[-2000:]
    if "internal error" in stderr:
        return "internal", stderr.strip()[-2000:]
    if code not in (0, 1, 2):
        return "exit_code", f"exit code {code}"
    lines = stderr.splitlines()
    if code == 2:
        if len(lines) != 1 or not lines[0].startswith(f"qlint: error: {path}: "):
            return "stderr", stderr[-2000:]
    elif lines:
        return "stderr", stderr[-2000:]
    return None, ""


# -- worker and supervisor --------------------------------------------------------------

def _materialize(spec: FormatSpec, case: Case, directory: str) -> str:
    return spec.materialize(case, directory, f"case{case.index}")


def worker(fmt: str, seed: int, start: int, stop: int, limit: float) -> int:
    """Run cases ``start``..``stop-1``, one JSON line per case on stdout; each is linted
    and judged by `tools.fuzz_attacks.run_case` (sandbox, planted links, every detector)."""
    from tools.fuzz_attacks import run_case

    factory = CaseFactory(fmt, seed)
    spec = factory.spec
    real_stdout = sys.stdout
    with tempfile.TemporaryDirectory(prefix="qlint-fuzz-") as tmp:
        for k in range(start, stop):
            case = factory.case(k)
            code, seconds, problem, detail = run_case(
                functools.partial(_materialize, spec, case), k, tmp, limit)
            row = {"index": k, "exit_code": code, "seconds": round(seconds, 4),
                   "problem": problem, "detail": detail,
                   "mutation": f"{case.mutator}: {case.description}", "seed": case.seed_name}
            real_stdout.write(json.dumps(row) + "\n")
            real_stdout.flush()
    return 0


@dataclass
class Summary:
    """Counts for one format."""

    fmt: str
    tried: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROBLEMS, 0))
    max_seconds: float = 0.0
    total_seconds: float = 0.0
    problems: list[Outcome] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.tried += 1
        self.max_seconds = max(self.max_seconds, o.seconds)
        self.total_seconds += o.seconds
        if o.problem:
            self.counts[o.problem] += 1
            self.problems.append(o)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        c = self.counts
        return (f"{self.fmt}: {self.tried} files tried, {c['traceback']} tracebacks, "
                f"{c['internal']} internal errors, {c['exit_code']} bad exit codes, "
                f"{c['stderr']} bad error output, {c['slow']} runs over {TIME_LIMIT:.0f} s CPU, "
                f"{c['hang']} hangs, {c['written']} writes outside the output, "
                f"{c['leak']} leaks, {c['escape']} escapes, max CPU time {self.max_seconds:.3f} s")


def _spawn(fmt: str, seed: int, start: int, stop: int, limit: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tools.fuzz", "--worker", "--format", fmt, "--seed", str(seed),
           "--start", str(start), "--iterations", str(stop), "--limit", str(limit)]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("QLINT_DEBUG", None)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _lines(proc: subprocess.Popen[str], first: float, timeout: float) -> Iterator[str | None]:
    """Lines of ``proc``'s stdout; ``None`` when none arrives in time.

    The first line may take ``first`` seconds (the worker's start-up), later ones ``timeout``.
    """
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    wait = first
    try:
        while True:
            if not sel.select(wait):
                yield None
                return
            line = proc.stdout.readline()
            if not line:
                return
            wait = timeout
            yield line
    finally:
        sel.close()


def fuzz(fmt: str = "tflite", iterations: int = 300, seed: int = 0, *,
         limit: float = TIME_LIMIT, save: str | None = None,
         startup: float = 60.0) -> Summary:
    """Run ``iterations`` cases of ``fmt`` in worker processes and count the problems.

    A worker that prints nothing for ``startup`` seconds (at start) or ``3 * limit`` (at
    least `STALL_SECONDS`) seconds (between cases) is killed; its current case counts as
    a hang.  Time limits inside a worker are CPU time (`tools.fuzz_attacks.run_case`).
    """
    summary = Summary(fmt)
    factory: CaseFactory | None = None
    nxt = 0
    while nxt < iterations:
        proc = _spawn(fmt, seed, nxt, iterations, limit)
        try:
            for line in _lines(proc, startup, max(3 * limit, STALL_SECONDS)):
                if line is None:
                    break
                row = json.loads(line)
                o = Outcome(row["index"], row["exit_code"], row["seconds"], row["problem"],
                            row["detail"], row["mutation"], row["seed"])
                summary.add(o)
                nxt = o.index + 1
                if o.problem and save:
                    factory = factory or CaseFactory(fmt, seed)
                    _save(save, fmt, seed, factory.case(o.index), o)
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
        if nxt < iterations:  # the worker hung or died on case nxt
            factory = factory or CaseFactory(fmt, seed)
            case = factory.case(nxt)
            died = proc.returncode not in (None, 0, -signal.SIGKILL)
            o = Outcome(nxt, None, 3 * limit, "traceback" if died else "hang",
                        (err or "")[-2000:], f"{case.mutator}: {case.description}",
                        case.seed_name)
            summary.add(o)
            if save:
                _save(save, fmt, seed, case, o)
            nxt += 1
    return summary


def _remove(path: str) -> None:
    """Delete a written case (a file or a SavedModel directory); missing is fine."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _save(directory: str, fmt: str, seed: int, case: Case, o: Outcome) -> None:
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"{fmt}-s{seed}-{case.index}-{o.problem}")
    _remove(stem + FORMATS[fmt].suffix)
    FORMATS[fmt].materialize(case, directory, os.path.basename(stem))
    with open(stem + ".txt", "w", encoding="utf-8") as fh:
        fh.write(f"seed model: {case.seed_name}\nmutation: {o.mutation}\n"
                 f"problem: {o.problem}\n{o.detail}\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fuzz",
                                description="Fuzz qlint's loaders with mutated model files.")
    p.add_argument("--iterations", type=int, default=1000, help="cases per format")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--format", action="append", choices=sorted(FORMATS),
                   help="format to fuzz (repeatable; default: all)")
    p.add_argument("--limit", type=float, default=TIME_LIMIT,
                   help=f"seconds a run may take (default {TIME_LIMIT:.0f})")
    p.add_argument("--save", metavar="DIR", help="keep each problem file in DIR")
    p.add_argument("--verbose", "-v", action="store_true", help="print every problem")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    formats = args.format or sorted(FORMATS)
    if args.worker:
        return worker(formats[0], args.seed, args.start, args.iterations, args.limit)
    ok = True
    for fmt in formats:
        started = time.perf_counter()
        s = fuzz(fmt, args.iterations, args.seed, limit=args.limit, save=args.save)
        print(s.line() + f" ({time.perf_counter() - started:.1f} s wall)")
        for o in s.problems if args.verbose else s.problems[:10]:
            first = o.detail.strip().splitlines()[-1] if o.detail.strip() else ""
            print(f"  case {o.index} [{o.problem}] {o.seed_name} {o.mutation}: {first}")
        ok = ok and s.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
