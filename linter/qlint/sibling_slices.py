"""Whether an op reads a slice of a tensor whose other part is concatenated.

The fact ``reads_joined_sibling`` of `qlint.op_facts`: an op reads, directly or through
layout ops that nothing else reads, a slice (``StridedSlice``, ``Slice``, ``GatherV2``;
``STRIDED_SLICE``, ``SLICE``, ``GATHER``) of a tensor ``t``, and another reader of ``t``
reaches a concatenation (``ConcatV2``, ``Pack``; ``CONCATENATION``, ``PACK``) through
slices, splits and layout ops only: a fused query-key-value projection sliced three ways
whose key half is rotated (split, negated, concatenated), a CSP block that concatenates
one slice of a convolution and computes on the other.  What the converter does to such
an op is probed per op (``tools/probe/context_ops.py``); this module only finds the
structure, in a SavedModel graph and in a ``.tflite`` file alike.

Order decides it as well: the probe sees the reading op stay float where the
concatenation comes first in the graph, and int8 where the reading op and its slice come
first (the same model, its ops created in the other order, which names them in the other
order).  The fact holds only where a concatenation reached comes before the op's slice
in the order the converter takes the ops in (`qlint.converter_order`): tf2-gnn's RGAT
slices a tensor, then concatenates the tensor itself, then multiplies the slice, and that
MUL is int8.
"""

from __future__ import annotations

from qlint.converter_order import op_order
from qlint.graph import ModelGraph, NodeId

#: Ops that take part of their input (the reader's side of the fact).
SLICE_OPS = frozenset({"StridedSlice", "Slice", "GatherV2",
                       "STRIDED_SLICE", "SLICE", "GATHER"})
#: Ops that only lay their input's elements out again.
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Squeeze", "ExpandDims",
                        "RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS"})
#: Ops a concatenated part may pass on its way from ``t`` (besides `LAYOUT_OPS`).
PART_OPS = SLICE_OPS | frozenset({"Split", "SplitV", "SPLIT", "SPLIT_V"})
JOIN_OPS = frozenset({"ConcatV2", "Pack", "CONCATENATION", "PACK"})
#: How many ops deep either side of the structure is followed.
MAX_DEPTH = 8


def _is(graph: ModelGraph, op: NodeId, kinds: frozenset[str]) -> bool:
    node = graph[op]
    return node["op_type"] in kinds or node.get("source_op") in kinds


def _sole_reader(graph: ModelGraph, tensor: NodeId) -> bool:
    return len(graph.consumers(tensor)) == 1


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
        if _is(graph, p, SLICE_OPS):
            return p, src
        if not _is(graph, p, LAYOUT_OPS):
            return None
        t = src
    return None


def _joins(graph: ModelGraph, start: NodeId) -> list[NodeId]:
    """The concatenations op ``start`` is, or reaches through `PART_OPS` and
    `LAYOUT_OPS` alone."""
    found: list[NodeId] = []
    frontier, seen = [start], {start}
    for _ in range(MAX_DEPTH):
        nxt: list[NodeId] = []
        for op in frontier:
            if _is(graph, op, JOIN_OPS):
                found.append(op)
                continue
            if not _is(graph, op, PART_OPS | LAYOUT_OPS):
                continue
            for t in graph.outputs(op):
                for c in graph.consumers(t) if t is not None else ():
                    if c not in seen:
                        seen.add(c)
                        nxt.append(c)
        if not nxt:
            break
        frontier = nxt
    return found


def reads_joined_sibling(graph: ModelGraph, op: NodeId, inputs: list[NodeId]) -> bool:
    """True when one of ``inputs`` (the op's activation inputs) is a slice of a tensor
    another reader of which reaches a concatenation that the converter takes before that
    slice (`qlint.converter_order`; see the module docstring)."""
    order = graph.derived(op_order)
    for tensor in inputs:
        found = _sliced_from(graph, tensor)
        if found is None:
            continue
        mine, t = found
        mine_at = order.get(mine, -1)  # the slice the op reads through
        for c in graph.consumers(t):
            if c != mine and any(order.get(j, mine_at) < mine_at for j in _joins(graph, c)):
                return True
    return False
