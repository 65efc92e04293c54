"""The order in which the converter takes a model's ops, for facts that depend on it.

A ``.tflite`` file's ops are in the converter's own order (a subgraph's execution order).
A SavedModel graph is taken in the reverse post-order of a depth-first walk from the
graph's sources (its inputs and constants, and ops reading neither), each node's readers
walked in node-name order: of two readers of one tensor, the one whose name sorts first
is walked last and so comes first.  The walk reproduces which of two readers the
quantizer takes first in the held-out SavedModels and in the probe's (renaming a slice so
that it sorts before its sibling turns the op reading it from float to int8,
`qlint.sibling_slices`).  Ops the loader folded or looked through are not in the graph,
so the order is the converter's up to them.
"""

from __future__ import annotations

from qlint.graph import ModelGraph, NodeId

#: A node of the walk: an op, or a tensor no op produces (an input, a constant).
_Node = tuple[str, NodeId]


def op_order(graph: ModelGraph) -> dict[NodeId, int]:
    """Each op's position in the order the converter takes the ops in."""
    ops = list(graph.ops())
    if graph.format == "tflite":
        return {op: k for k, op in enumerate(ops)}
    names: dict[_Node, str] = {("op", op): str(graph[op].get("name") or op) for op in ops}
    readers: dict[_Node, set[_Node]] = {}
    roots: set[_Node] = set()
    for op in ops:
        ins = [t for t in graph.inputs(op) if t is not None]
        if not ins:
            roots.add(("op", op))
        for t in ins:
            p = graph.producer(t)
            src: _Node = ("op", p) if p is not None else ("tensor", t)
            if p is None:
                roots.add(src)
                names[src] = str(graph[t].get("name") or t)
            readers.setdefault(src, set()).add(("op", op))
    finished: list[_Node] = []
    visited: set[_Node] = set()
    # a stack of (node, leaving): nodes pushed in name order are walked last-name-first
    stack: list[tuple[_Node, bool]] = [(r, False) for r in sorted(roots, key=names.__getitem__)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            finished.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        stack.extend((r, False) for r in sorted(readers.get(node, ()), key=names.__getitem__)
                     if r not in visited)
    finished.reverse()
    order: dict[NodeId, int] = {}
    for kind, node_id in finished:
        if kind == "op":
            order[node_id] = len(order)
    for op in ops:  # ops on a cycle of the IR (none expected): after the rest
        order.setdefault(op, len(order))
    return order
