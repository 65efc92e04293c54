"""Ops of a SavedModel that compute only on tensor shapes: folded by the converter where
the dimensions they read are static, float kernels where they are not."""

from __future__ import annotations

from collections.abc import Mapping

from qlint.graph import ModelGraph, NodeId
from qlint.op_facts import FLOAT_DTYPES

#: TF ops that read a tensor's shape, not its values.
SHAPE_READERS = frozenset({"Shape", "ShapeN", "Size", "Rank"})


def shape_arithmetic(graph: ModelGraph, ops: list[NodeId]) -> set[NodeId]:
    """The ops that compute only on shapes: a Shape/Size/Rank, or an op whose every
    non-constant input comes from one of them (Keras ``Resizing(crop_to_aspect_ratio=
    True)`` casts the image's height and width to float to compute its crop box).  The
    converter folds what the static dimensions make constant; none of it is a float
    kernel on the data.  Except where a dimension it reads is not static (a sequence of
    unknown length, an unknown batch): a float op computed from such a shape runs as a
    kernel (a position encoding's Cast, Sin and Cos of ``range(length)``, or of positions
    broadcast to the batch, ESM-2's; a percentile's index computed from the length of a
    flattened batch).  Ops in the branch an ``If`` on a constant predicate never takes
    (a dropout's noise, sized by the batch) are not in the graph
    (`qlint.loaders.savedmodel`)."""
    out: set[NodeId] = set()
    unfolded: set[NodeId] = set()  # reading a dimension that is not static
    unknown: dict[NodeId, set[int]] = {}  # a Shape op -> the dims it reads that are not
    for op in ops:  # model order: producers first
        if graph[op]["source_op"] in SHAPE_READERS:
            out.add(op)
            first = next(iter(graph.inputs(op)), None)
            shape = graph[first].get("shape") if first is not None else None
            if shape is None or None in tuple(shape):
                unfolded.add(op)
                unknown[op] = {i for i, d in enumerate(shape or ()) if d is None}
            continue
        ins = [t for t in graph.inputs(op) if t is not None and not graph[t].get("constant")]
        if ins and all(graph.producer(t) in out for t in ins):
            if any(graph.producer(t) in unfolded for t in ins) and not _static_dim(
                    graph, op, unknown):
                unfolded.add(op)
                if any(graph[t].get("dtype") in FLOAT_DTYPES for t in graph.outputs(op)
                       if t is not None):
                    continue  # a float kernel at run time: judged as any op
            out.add(op)
    return out


def _static_dim(graph: ModelGraph, op: NodeId, unknown: Mapping[NodeId, set[int]]) -> bool:
    """Whether ``op`` picks one dimension of a Shape (``tf.shape(x)[2]``) that is static."""
    ins = graph.inputs(op)
    if graph[op]["source_op"] != "StridedSlice" or len(ins) < 2 or ins[1] is None:
        return False
    shape_op = graph.producer(ins[0]) if ins[0] is not None else None
    begin = graph[ins[1]].get("value")
    if shape_op is None or shape_op not in unknown or not isinstance(begin, (int, float)) \
            or graph[op]["attrs"].get("shrink_axis_mask") != 1:
        return False
    read = next(iter(graph.inputs(shape_op)), None)
    rank = len(graph[read].get("shape") or ()) if read is not None else 0
    index = int(begin) % rank if rank else int(begin)
    return index not in unknown[shape_op]
