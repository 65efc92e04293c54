"""Tensors of a SavedModel whose dims the TFLite converter cannot infer.

TensorFlow records a tensor's static shape in the graph (``_output_shapes``) after any
Python-side ``set_shape``: ``tf.signal.frame`` sets the shape of the frames it builds. The
converter re-infers shapes from the ops alone, and a ``Reshape`` to a shape computed from
a ``SplitV`` of a run-time shape (how ``tf.signal.frame`` assembles its output shape on an
unknown batch size) leaves it every dim unknown. The ops in `PASS_ON` hand an input's
unknown dims on (element-wise math, reductions, a window multiply, an added axis).

What such an input does to an op is probed, not decided here: the fact
``ifm_shape_inferred`` (`qlint.op_facts`) is the condition of the probed variants (a
``Conv2D`` the converter then refuses; an ``RFFT`` it wraps in EXPAND_DIMS / SQUEEZE).
"""

from __future__ import annotations

from qlint.graph import ModelGraph, NodeId

#: TF ops whose output keeps the dims of an input unknown when they are.
PASS_ON = frozenset({
    "Abs", "AddV2", "BiasAdd", "Cast", "ComplexAbs", "Exp", "ExpandDims", "GatherV2",
    "Identity", "Imag", "Log", "Log1p", "Max", "Maximum", "Mean", "Min", "Minimum", "Mul",
    "Neg", "Pow", "RFFT", "Real", "RealDiv", "Relu", "Relu6", "Rsqrt", "Sigmoid", "Sqrt",
    "Square", "SquaredDifference", "Squeeze", "Sub", "Sum", "Tanh", "Transpose",
})
#: How many producers back from a Reshape's shape operand a SplitV is looked for.
DEPTH = 3


def unknown_to_converter(graph: ModelGraph) -> frozenset[NodeId]:
    """The tensors of a SavedModel graph whose dims the converter cannot infer (empty for
    other formats); use through ``graph.derived``."""
    if graph.format != "savedmodel":
        return frozenset()
    out: set[NodeId] = set()
    todo: list[NodeId] = []
    for op in graph.ops():
        ins = graph.inputs(op)
        if (graph[op].get("source_op") == "Reshape" and len(ins) > 1 and ins[1] is not None
                and _from_split(graph, ins[1])):
            todo.extend(t for t in graph.outputs(op) if t is not None and t not in out)
            out.update(todo)
    while todo:  # along the data edges, each tensor once (linear in the graph)
        for op in graph.consumers(todo.pop()):
            if graph[op].get("source_op") in PASS_ON:
                for t in graph.outputs(op):
                    if t is not None and t not in out:
                        out.add(t)
                        todo.append(t)
    return frozenset(out)


def _from_split(graph: ModelGraph, tensor: NodeId) -> bool:
    """True when ``tensor`` (a shape operand) is computed from a ``SplitV`` output within
    `DEPTH` producers."""
    frontier = [tensor]
    for _ in range(DEPTH):
        nxt: list[NodeId] = []
        for t in frontier:
            if graph[t].get("constant"):
                continue
            p = graph.producer(t)
            if p is None:
                continue
            if graph[p].get("source_op") == "SplitV":
                return True
            nxt.extend(i for i in graph.inputs(p) if i is not None)
        frontier = nxt
    return False
