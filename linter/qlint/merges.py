"""Ops of a SavedModel graph that the converter merges into an earlier one.

The converter's common-subexpression elimination keeps one op where several apply the
same TF op, with the same attributes, to the same input tensors (a BART encoder and
decoder each casting the one attention mask), and so on down the graph: an op reading a
merged op's result, or a constant of the same value (the loader's ``content``: a small
``Const``'s digest, a variable whose checkpoint bytes are alike, a folded op of alike
inputs), repeats the op reading the first.  Two projections whose kernels hold the same
bytes become one, and what reads their results reads one tensor.

`merges` finds them once per graph.  Predictions leave the merged ops to the first;
facts about who reads a tensor (`qlint.sibling_slices`) see the readers of every tensor
merged with it (`readers`).  Control-flow ops and ops without inputs are never merged.
Only source graphs of the SavedModel loader are merged here: a ``.tflite`` file is merged
already, and a Keras file's layers are judged as layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qlint.graph import ModelGraph, NodeId

CONTROL_FLOW = frozenset({"While", "StatelessWhile", "If", "StatelessIf", "Case",
                          "StatelessCase"})


@dataclass
class Merges:
    """The merged ops, and each merged op's result -> the result it repeats."""

    ops: frozenset[NodeId] = frozenset()
    same: dict[NodeId, NodeId] = field(default_factory=dict)
    # a result -> every result merged into it (itself included)
    alike: dict[NodeId, list[NodeId]] = field(default_factory=dict)


def merges(graph: ModelGraph) -> Merges:
    """The ops of ``graph`` the converter merges into an earlier one (computed once)."""
    return graph.derived(_merges)


def _merges(graph: ModelGraph) -> Merges:
    if graph.format != "savedmodel" or graph.stage != "source":
        return Merges()
    first: dict[tuple[str, tuple[object, ...], str], NodeId] = {}
    same: dict[NodeId, NodeId] = {}

    def key_of(t: NodeId | None) -> object:
        if t is None:
            return None
        tensor = graph[t]
        if tensor.get("constant") and tensor.get("content") is not None:
            return ("constant", tensor["content"])
        return same.get(t, t)

    out: set[NodeId] = set()
    for op in graph.ops():
        node = graph[op]
        ins = tuple(graph.inputs(op))
        if not ins or node["source_op"] in CONTROL_FLOW:
            continue
        key = (str(node["source_op"]), tuple(key_of(t) for t in ins),
               repr(sorted((node.get("attrs") or {}).items())))
        earlier = first.setdefault(key, op)
        if earlier == op:
            continue
        out.add(op)
        mine, theirs = graph.outputs(op), graph.outputs(earlier)
        if len(mine) == len(theirs) == 1 and mine[0] is not None and theirs[0] is not None:
            same[mine[0]] = same.get(theirs[0], theirs[0])
    groups: dict[NodeId, list[NodeId]] = {}
    for t, kept in same.items():
        groups.setdefault(kept, [kept]).append(t)
    return Merges(frozenset(out), same, {t: g for g in groups.values() for t in g})


def readers(graph: ModelGraph, tensor: NodeId) -> list[NodeId]:
    """The ops reading ``tensor`` or a result merged with it, merged ops left out."""
    m = merges(graph)
    if not m.same:
        return list(graph.consumers(tensor))
    group = m.alike.get(m.same.get(tensor, tensor), [tensor])
    return [c for t in group for c in graph.consumers(t) if c not in m.ops]
