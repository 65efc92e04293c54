"""The order in which the converter takes a model's ops, for facts that depend on it.

A ``.tflite`` file's ops are in the converter's own order (a subgraph's execution
order).  A SavedModel graph is imported by TensorFlow's graph importer in reverse
post-order of a depth-first walk from the graph's sources that takes the readers of an
op in node-name order (ties broken by name so that the import is deterministic): a
reader whose name sorts first is walked last and so comes first.  This module walks the
graph the same way over its data edges.  Ops the loader folded or looked through are
not in the graph, so the order is the importer's up to them.
"""

from __future__ import annotations

from qlint.graph import ModelGraph, NodeId


def op_order(graph: ModelGraph) -> dict[NodeId, int]:
    """Each op's position in the order the converter takes the ops in."""
    ops = list(graph.ops())
    if graph.format == "tflite":
        return {op: k for k, op in enumerate(ops)}
    name = {op: str(graph[op].get("name") or op) for op in ops}
    readers: dict[NodeId, list[NodeId]] = {}
    roots: list[NodeId] = []
    for op in ops:
        outs = [c for t in graph.outputs(op) if t is not None for c in graph.consumers(t)]
        readers[op] = sorted(set(outs), key=name.__getitem__)
        if not any(t is not None and graph.producer(t) is not None for t in graph.inputs(op)):
            roots.append(op)
    finished: list[NodeId] = []
    visited: set[NodeId] = set()
    # a stack of (op, leaving): readers pushed in name order are walked last-name-first
    stack: list[tuple[NodeId, bool]] = [(op, False) for op in sorted(roots, key=name.__getitem__)]
    while stack:
        op, leaving = stack.pop()
        if leaving:
            finished.append(op)
            continue
        if op in visited:
            continue
        visited.add(op)
        stack.append((op, True))
        stack.extend((r, False) for r in readers[op] if r not in visited)
    finished.reverse()
    order = {op: k for k, op in enumerate(finished)}
    for op in ops:  # ops on a cycle of the IR (none expected): after the rest
        order.setdefault(op, len(order))
    return order
