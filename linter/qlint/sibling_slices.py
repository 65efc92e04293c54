"""Whether an op reads a slice of a tensor whose other part is concatenated.

The fact ``joined_sibling`` of `qlint.op_facts`: an op reads, directly or through
layout ops that nothing else reads, a slice (``StridedSlice``, ``Slice``, ``GatherV2``;
``STRIDED_SLICE``, ``SLICE``, ``GATHER``) of a tensor ``t``, and another reader of ``t``
reaches a concatenation (``ConcatV2``, ``Pack``; ``CONCATENATION``, ``PACK``) through
slices, splits and layout ops only: a fused query-key-value projection sliced three ways
whose key half is rotated (split, negated, concatenated), a CSP block that concatenates
one slice of a convolution and computes on the other.  What the converter does to such
an op is probed per op (``tools/probe/context_ops.py``); this module only finds the
structure, in a SavedModel graph and in a ``.tflite`` file alike; in a SavedModel, as the
converter sees it once it has merged ops alike (`qlint.merges`: keys and values projected
by kernels of the same bytes are one tensor).

Order decides it as well: the probe sees the reading op stay float where the converter
takes the concatenation first (``"joined first"``), and int8 where it takes the op's slice
first (``"read first"``: the same model, its slices named the other way round), in the
order `qlint.converter_order` gives.

``"negated"``: the op reads the whole tensor ``t`` (directly or through layout ops nothing
else reads), and another reader of ``t`` reaches a concatenation through slices, splits,
layout ops and a negation: a rotary embedding's ``concat([-b, a])`` of the halves of a
projection whose result the op reads as it is (keys and values taken from one
projection).  ``"none"`` where the op reads no such tensor.

`merged_negated` is the SavedModel's side of that whole-tensor case where the tensor is
two results the converter merges (keys and values projected by kernels of the same
bytes), followed up through layout ops and repeats (``Tile``: a grouped-query
attention repeats each value head); the converter keeps such readers float where it
keeps them int8 for one projection read twice.  A ``.tflite`` file is merged already
and cannot tell the two apart: there the fact is false where the structure is absent
(`negated_whole`) and unknown where it is present (`qlint.unknowable_facts`).
"""

from __future__ import annotations

from qlint.converter_order import op_order
from qlint.graph import ModelGraph, NodeId
from qlint.merges import merges, readers

#: Ops that take part of their input (the reader's side of the fact).
SLICE_OPS = frozenset({"StridedSlice", "Slice", "GatherV2",
                       "STRIDED_SLICE", "SLICE", "GATHER"})
#: Ops that only lay their input's elements out again, as TFLite builtins and as TF ops
#: (`qlint.op_facts`' ``next_compute_op`` looks through them too).
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Squeeze", "ExpandDims",
                        "RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS"})
#: Ops a concatenated part may pass on its way from ``t`` (besides `LAYOUT_OPS`).
PART_OPS = SLICE_OPS | frozenset({"Split", "SplitV", "SPLIT", "SPLIT_V"})
JOIN_OPS = frozenset({"ConcatV2", "Pack", "CONCATENATION", "PACK"})
NEGATE_OPS = frozenset({"Neg", "NEG"})
#: Ops that repeat their input's elements (`merged_negated` follows them up).
REPEAT_OPS = frozenset({"Tile", "TILE"})
#: How many ops deep either side of the structure is followed.
MAX_DEPTH = 8


def is_kind(graph: ModelGraph, op: NodeId, kinds: frozenset[str]) -> bool:
    """Whether the op's TFLite builtin or TF op is one of ``kinds``."""
    node = graph[op]
    return node["op_type"] in kinds or node.get("source_op") in kinds


def _sole_reader(graph: ModelGraph, tensor: NodeId) -> bool:
    return len(readers(graph, tensor)) == 1


def _sliced_from(graph: ModelGraph, tensor: NodeId) -> tuple[NodeId, NodeId] | None:
    """(slice op, the tensor it slices) where ``tensor`` comes from a slice through
    layout ops, each result read by the next op alone; None otherwise."""
    t = tensor
    for _ in range(MAX_DEPTH):
        if not _sole_reader(graph, t):
            return None
        p = graph.producer(t)
        if p is None:
            return None
        ins = graph.inputs(p)
        src = ins[0] if ins else None
        if src is None:
            return None
        if is_kind(graph, p, SLICE_OPS):
            return p, src
        if not is_kind(graph, p, LAYOUT_OPS):
            return None
        t = src
    return None


def _read_whole(graph: ModelGraph, tensor: NodeId, op: NodeId,
                through: frozenset[str] = LAYOUT_OPS) -> tuple[NodeId, NodeId] | None:
    """(the op of the chain that reads ``t``, ``t``): the first tensor up from ``tensor``
    through ``through`` ops (layout ops), each result read by the next op alone, that
    something else reads too; None where the chain meets another producer first."""
    t, mine = tensor, op
    for _ in range(MAX_DEPTH):
        if not _sole_reader(graph, t):
            return mine, t
        p = graph.producer(t)
        ins = graph.inputs(p) if p is not None else []
        if p is None or not ins or ins[0] is None or not is_kind(graph, p, through):
            return None
        t, mine = ins[0], p
    return None


def _joins(graph: ModelGraph, start: NodeId, negated: bool = False) -> list[NodeId]:
    """The concatenations op ``start`` is, or reaches through `PART_OPS` and
    `LAYOUT_OPS` alone; with ``negated``, those reached through a negation as well, and
    only those."""
    found: list[NodeId] = []
    passes = PART_OPS | LAYOUT_OPS | (NEGATE_OPS if negated else frozenset())
    frontier = [(start, not negated)]
    seen = set(frontier)
    for _ in range(MAX_DEPTH):
        nxt: list[tuple[NodeId, bool]] = []
        for op, through in frontier:
            if is_kind(graph, op, JOIN_OPS):
                if through:
                    found.append(op)
                continue
            if not is_kind(graph, op, passes):
                continue
            through = through or is_kind(graph, op, NEGATE_OPS)
            for t in graph.outputs(op):
                for c in readers(graph, t) if t is not None else ():
                    if (c, through) not in seen:
                        seen.add((c, through))
                        nxt.append((c, through))
        if not nxt:
            break
        frontier = nxt
    return found


def part_joined(graph: ModelGraph, inputs: list[NodeId]) -> bool:
    """Whether a tensor of ``inputs`` is read, through slices, splits and layout ops
    only, by a concatenation (the fact ``ifm_part_joined``: the slices of a float
    CUMSUM, one of them concatenated)."""
    return any(_joins(graph, c) for t in inputs for c in readers(graph, t))


def joined_sibling(graph: ModelGraph, op: NodeId, inputs: list[NodeId]) -> str:
    """``"joined first"``, ``"read first"``, ``"negated"`` or ``"none"`` for ``op``
    reading ``inputs`` (its activation inputs): see the module docstring."""
    order = graph.derived(op_order)
    found = "none"
    for tensor in inputs:
        sliced = _sliced_from(graph, tensor)
        if sliced is None:
            continue
        mine, t = sliced
        joins = [j for c in readers(graph, t) if c != mine for j in _joins(graph, c)]
        if any(order.get(j, 0) < order.get(mine, 0) for j in joins):
            return "joined first"
        if joins:
            found = "read first"
    if found != "none":
        return found
    for tensor in inputs:
        whole = _read_whole(graph, tensor, op)
        if whole is not None and any(_joins(graph, c, negated=True)
                                     for c in readers(graph, whole[1]) if c != whole[0]):
            return "negated"
    return found


def merged_negated(graph: ModelGraph, op: NodeId, inputs: list[NodeId]) -> bool:
    """Whether ``op`` reads, through layout ops and repeats each read by the next alone,
    the whole of a tensor merged with another (`qlint.merges`) that another reader
    negates and concatenates a part of: see the module docstring."""
    return _negated_whole(graph, op, inputs, merged_only=True)


def negated_whole(graph: ModelGraph, op: NodeId, inputs: list[NodeId]) -> bool:
    """The structure of `merged_negated` without its merge: on a ``.tflite`` file, where
    a tensor merged from two projections and one projection read twice look alike."""
    return _negated_whole(graph, op, inputs, merged_only=False)


def _negated_whole(graph: ModelGraph, op: NodeId, inputs: list[NodeId], *,
                   merged_only: bool) -> bool:
    alike = merges(graph).alike if merged_only else {}
    for tensor in inputs:
        whole = _read_whole(graph, tensor, op, LAYOUT_OPS | REPEAT_OPS)
        if whole is None or (merged_only and len(alike.get(whole[1], ())) < 2):
            continue
        if any(_joins(graph, c, negated=True) for c in readers(graph, whole[1])
               if c != whole[0]):
            return True
    return False
