"""Fuzz SavedModels: the protobuf wire format, SavedModel seeds and mutations."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from tools.fuzz.common import (
    _INTERESTING,
    REPO,
    Case,
    Field,
    FormatSpec,
    Mutator,
    _flip,
    _splice,
    _truncate,
)

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
