"""Whether an op reads a variable's value that an op tying scales reads too.

The fact ``ifm_tied_variable`` of `qlint.op_facts`.  A model that assigns a variable
(a spectral normalization's power iteration at inference) keeps it as a float
``READ_VARIABLE``.  Where the value one read gives is also an operand an op must give the
scale of another (the values a select chooses between, the operands of a maximum or a
minimum), the converter quantizes that read not at all, and every op reading it stays
float; arithmetic on a read no such op takes is int8 (probed:
``ReadVariableOp+SelectV2(variable selected)``, ``ReadVariableOp+Maximum(variable
compared)``, ``ReadVariableOp+Mul(variable not tied)`` in ``tools/probe/context_ops.py``).
"""

from __future__ import annotations

from qlint.graph import ModelGraph, NodeId
from qlint.sibling_slices import is_kind

#: A variable's read, as a TFLite builtin and as a TF op.
VARIABLE_READS = frozenset({"READ_VARIABLE", "ReadVariableOp"})
#: Ops that give operands the scale of their result: operand positions.
SCALE_TYING: dict[str, tuple[int, ...]] = {
    "SELECT_V2": (1, 2), "SELECT": (1, 2), "SelectV2": (1, 2), "Select": (1, 2),
    "MAXIMUM": (0, 1), "MINIMUM": (0, 1), "Maximum": (0, 1), "Minimum": (0, 1),
}


def ties(graph: ModelGraph, op: NodeId, tensor: NodeId) -> bool:
    """Whether ``op`` reads ``tensor`` as an operand whose scale it ties."""
    node = graph[op]
    slots = SCALE_TYING.get(str(node["op_type"])) or SCALE_TYING.get(
        str(node.get("source_op")), ())
    ins = graph.inputs(op)
    return any(i < len(ins) and ins[i] == tensor for i in slots)


def tied_variable(graph: ModelGraph, op: NodeId) -> bool:
    """Whether an input of ``op`` is a variable's read that some op tying scales reads."""
    for t in graph.inputs(op):
        if t is None:
            continue
        p = graph.producer(t)
        if p is None or not is_kind(graph, p, VARIABLE_READS):
            continue
        if any(ties(graph, c, t) for c in graph.consumers(t)):
            return True
    return False
