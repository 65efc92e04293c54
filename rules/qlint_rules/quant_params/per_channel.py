"""QL304 per-channel-mismatch: per-channel scales that do not match the tensor's quantized
dimension, or a filter quantized along another dimension than its op's."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    CONV_LIKE,
    ScreenedRule,
    anchor_op,
    op_label,
    ops_of,
    quantized,
    slot_role,
    tensor_label,
)


class PerChannelQuant(ScreenedRule):
    """Flags per-channel scales that do not match the tensor's quantized dimension.

    **What it flags.** A tensor with more than one scale whose ``quantized_dimension`` is not
    a dimension of its shape, or whose scale count differs from the size of that dimension;
    and the per-channel filter of a weighted op quantized along another dimension than the
    spec's (CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0, TRANSPOSE_CONV 0, CONV_3D 4).

    **Why it matters.** A count or dimension mismatch is refused while the model loads
    (``num_scales must be 1 for per-layer quantization, or 8 for per-axis quantization, but
    got 4.`` / ``Tensor 11 has invalid quantization parameters.``).  A filter quantized along
    the wrong dimension (possible when that dimension has the same size) loads and runs:
    the CPU kernels index the scales by output channel whatever the dimension says, so the
    TFLite CPU result is unchanged, but the file says something else than what the kernel
    does, and any tool or delegate that honours ``quantized_dimension`` reads other scales.

    **How to fix it.** Quantize filters per output channel along the spec's dimension, one
    scale and one zero point per channel; re-convert rather than editing the flatbuffer.
    """

    id = "QL304"
    name = "per-channel-mismatch"
    record = "tensorflow/tflite-quant-per-channel"
    severity = Severity.ERROR
    summary = "per-channel scale count != size of quantized_dimension, or the wrong dimension"
    fix = ("Give one scale and zero point per channel along the op's per-axis dimension "
           "(CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0); re-convert.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for t in screens.tensors(graph, screens.per_channel, self.screen):
            yield from self.check_tensor(graph, t)

    def check_tensor(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        entry = quantized(graph, t)
        if entry is None or len(entry.q.scale) < 2:
            return
        node, q = entry.node, entry.q
        shape, n = node["shape"], len(q.scale)
        invalid = tf.INVALID_TENSOR.format(index=node["index"])
        if shape is not None and not 0 <= q.axis < len(shape):
            said = tf.quote(tf.AXIS_RANGE.format(rank=len(shape), axis=q.axis), invalid)
            yield self.finding(
                graph, t,
                f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))}: "
                f"quantized_dimension {q.axis} is not a dimension of shape {list(shape)}; "
                f"the interpreter refuses the model at load ({said})",
                related=ops_of(graph, t),
            )
            return
        if shape is not None and shape[q.axis] is not None and shape[q.axis] != n:
            said = tf.quote(tf.SCALE_COUNT.format(size=shape[q.axis], count=n), invalid)
            yield self.finding(
                graph, t,
                f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))} has {n} "
                f"scales but dimension {q.axis} has size {shape[q.axis]}; the interpreter "
                f"refuses the model at load ({said})",
                related=ops_of(graph, t),
            )
            return
        for o in graph.consumers(t):
            slots = CONV_LIKE.get(graph[o]["op_type"])
            if slots is None or slot_role(graph, t, o) != "filter":
                continue
            if q.axis != slots.channel_axis:
                yield self.finding(
                    graph, t,
                    f"{tensor_label(graph, t)}, the filter of {op_label(graph, o)}, is "
                    f"quantized along dimension {q.axis}; {graph[o]['op_type']} needs "
                    f"dimension {slots.channel_axis} (its output channels). The TFLite "
                    f"CPU kernel ignores quantized_dimension and runs unchanged; tools "
                    f"and delegates that honour it read the wrong scales",
                    related=[o],
                    severity=Severity.WARNING,
                )
                return
