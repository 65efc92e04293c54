"""Facts derived from a `ModelGraph`: how each op computes, and where the float regions are.

The graph (`qlint.graph`) stores what a loader read; the analyses here read it through
its public helpers and are computed once per graph (`ModelGraph.derived`):

`compute_precision` / `precisions`
    how each op's kernel computes (``float``, ``int8``, ``int16``, ``int``, ``none``, or
    ``conversion`` for QUANTIZE/DEQUANTIZE).
`islands`
    maximal float regions inside a quantized graph: the connected components of the
    float ops linked by tensors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from types import MappingProxyType

from qlint.graph import FLOAT_DTYPES, ModelGraph, NodeId

# Ops that only move data between the integer and the float domain.
CONVERSION_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})
_INT8_LIKE = frozenset({"int8", "uint8", "int4"})
# From this many ops on, precisions are computed with numpy (importing it costs more than
# the loop saves on a smaller graph).
BULK_PRECISION_OPS = 4096


@dataclass
class Island:
    """A maximal connected region of ops computing in float inside a quantized graph."""

    subgraph: int
    ops: list[NodeId]
    entries: list[NodeId] = field(default_factory=list)  # DEQUANTIZE ops feeding the island
    exits: list[NodeId] = field(default_factory=list)  # QUANTIZE ops leaving the island


# -- precision -------------------------------------------------------------------
def compute_precision(graph: ModelGraph, op: NodeId) -> str:
    """How ``op``'s kernel computes: ``float``, ``int8``, ``int16``, ``int`` or ``none``.

    QUANTIZE/DEQUANTIZE report ``conversion``.  Quantized activations (int8 / int16
    tensors with quantization parameters) decide over plain integer ones (ARG_MAX on int8
    input is ``int8``; a CAST of a mask to uint8 without them is ``int``); an op that reads
    or writes a float activation is ``float``.  ``KeyError`` for a tensor or an unknown
    node.
    """
    return graph.derived(_all_precisions)[op]


def precisions(graph: ModelGraph) -> Mapping[NodeId, str]:
    """`compute_precision` of every op (read-only), computed once per graph."""
    return MappingProxyType(graph.derived(_all_precisions))


def _all_precisions(graph: ModelGraph) -> dict[NodeId, str]:
    """`compute_precision` of every op, in one pass (in bulk for a large graph)."""
    if len(graph) >= BULK_PRECISION_OPS:
        return bulk_precisions(graph)
    return each_precision(graph)


def bulk_precisions(graph: ModelGraph) -> dict[NodeId, str]:
    """`each_precision` with numpy: one expression per fact instead of a loop per op."""
    import numpy as np

    _, data = graph.tensor_table()
    ops, op_data = [], []
    for op, attrs, _ in graph.op_nodes():
        ops.append(op)
        op_data.append(attrs)
    n, n_ops = len(data), len(ops)
    dtypes = list(map(itemgetter("dtype"), data))
    is_float = np.fromiter(map(FLOAT_DTYPES.__contains__, dtypes), dtype=bool, count=n)
    # int8 / int16 data is a quantized activation only with quantization parameters (a
    # uint8 cast of a mask in a float model is plain integer data)
    int8 = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(np.fromiter(map(_INT8_LIKE.__contains__, dtypes), dtype=bool,
                                        count=n)).tolist():
        int8[i] = data[i]["quant"] is not None
    int16 = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(np.fromiter(map("int16".__eq__, dtypes), dtype=bool,
                                        count=n)).tolist():
        int16[i] = data[i]["quant"] is not None
    # Row n stands for an absent optional slot: constant, so skipped as an input.
    constant = np.append(np.fromiter(map(bool, map(itemgetter("constant"), data)),
                                     dtype=bool, count=n), True)
    slots = graph.slot_positions()
    keep_in = ~constant[slots.in_pos]
    keep_out = slots.out_pos < n
    pos = np.concatenate([slots.in_pos[keep_in], slots.out_pos[keep_out]])
    op_of = np.concatenate([slots.in_op[keep_in], slots.out_op[keep_out]])

    def any_of(flag: np.ndarray) -> np.ndarray:
        return np.bincount(op_of[flag[pos]], minlength=n_ops) > 0

    seen = np.bincount(op_of, minlength=n_ops) > 0
    conversion = np.fromiter(map(CONVERSION_OPS.__contains__,
                                 map(itemgetter("op_type"), op_data)),
                             dtype=bool, count=n_ops)
    labels = ("none", "int", "int16", "int8", "float", "conversion")
    code = np.select([conversion, any_of(is_float), any_of(int8), any_of(int16), seen],
                     [5, 4, 3, 2, 1], default=0)
    return dict(zip(ops, map(labels.__getitem__, code.tolist()), strict=True))


def each_precision(graph: ModelGraph) -> dict[NodeId, str]:
    """`compute_precision` of every op, one op after the other."""
    nodes, float_dtypes, int8_like = graph.node_data, FLOAT_DTYPES, _INT8_LIKE
    out: dict[NodeId, str] = {}
    for op, data, (ins, outs) in graph.op_nodes():
        if data["op_type"] in CONVERSION_OPS:
            out[op] = "conversion"
            continue
        seen = int8 = int16 = False
        precision = ""
        for slots, inputs in ((ins, True), (outs, False)):
            for t in slots:
                if t is None:
                    continue
                node = nodes[t]
                if inputs and node["constant"]:
                    continue
                dtype = node["dtype"]
                if dtype in float_dtypes:
                    precision = "float"
                    break
                seen = True
                int8 = int8 or (dtype in int8_like and node["quant"] is not None)
                int16 = int16 or (dtype == "int16" and node["quant"] is not None)
            if precision:
                break
        out[op] = precision or ("none" if not seen else "int8" if int8
                                else "int16" if int16 else "int")
    return out


def is_integer_model(graph: ModelGraph) -> bool:
    """True when at least one op computes on quantized integers."""
    return any(p in ("int8", "int16") for p in graph.derived(_all_precisions).values())


# -- float islands ---------------------------------------------------------------
def islands(graph: ModelGraph) -> list[Island]:
    """Maximal float regions inside a quantized graph, in file order.

    Empty for a model with no integer compute at all (a float model has no islands: it
    is all float).  Two float ops belong to one island when a float tensor produced by
    one is consumed by the other.
    """
    return list(graph.derived(_islands))


def _islands(graph: ModelGraph) -> tuple[Island, ...]:
    if not is_integer_model(graph):
        return ()
    precision = graph.derived(_all_precisions)
    float_ops = [op for op in graph.ops() if precision[op] == "float"]
    if not float_ops:
        return ()
    order = {op: i for i, op in enumerate(graph.ops())}
    nodes = graph.node_data
    found: list[Island] = []
    for ops in _components(graph, float_ops):
        ops.sort(key=order.__getitem__)
        entries = dict.fromkeys(
            p for t in chain.from_iterable(graph.slots(op)[0] for op in ops)
            if t is not None and (p := graph.producer(t)) is not None
            and nodes[p]["op_type"] == "DEQUANTIZE")
        exits = dict.fromkeys(
            c for t in chain.from_iterable(graph.slots(op)[1] for op in ops) if t is not None
            for c in graph.consumers(t) if nodes[c]["op_type"] == "QUANTIZE")
        found.append(Island(subgraph=nodes[ops[0]]["subgraph"], ops=ops,
                            entries=sorted(entries, key=order.__getitem__),
                            exits=sorted(exits, key=order.__getitem__)))
    found.sort(key=lambda island: order[island.ops[0]])
    return tuple(found)


def _links(graph: ModelGraph, ops: list[NodeId]) -> Iterator[tuple[NodeId, NodeId]]:
    """(producer, consumer) pairs of ``ops`` joined by a tensor, both in ``ops``."""
    members = set(ops)
    for op in ops:
        for t in graph.slots(op)[1]:
            if t is None:
                continue
            for c in graph.consumers(t):
                if c in members and c != op:
                    yield op, c


def _components(graph: ModelGraph, ops: list[NodeId]) -> list[list[NodeId]]:
    """The connected components of ``ops`` joined by tensors (a depth-first walk: islands
    are found on every run, and importing networkx costs more than linting a small
    model)."""
    links: dict[NodeId, list[NodeId]] = {op: [] for op in ops}
    for a, b in _links(graph, ops):
        links[a].append(b)
        links[b].append(a)
    seen: set[NodeId] = set()
    out: list[list[NodeId]] = []
    for start in ops:
        if start in seen:
            continue
        seen.add(start)
        component, stack = [start], [start]
        while stack:
            for nxt in links[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    component.append(nxt)
                    stack.append(nxt)
        out.append(component)
    return out
