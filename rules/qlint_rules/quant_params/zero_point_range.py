"""QL303 zero-point-range: a zero point outside the dtype's range, or a non-zero one on int8
weights or int16 activations."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    CONV_LIKE,
    QRANGE,
    ScreenedRule,
    anchor_op,
    op_label,
    ops_of,
    quantized,
    slot_role,
    tensor_label,
)


class ZeroPointRange(ScreenedRule):
    """Flags zero points outside the dtype's range and non-zero zero points on int8 weights.

    **What it flags.** A zero point outside [-128, 127] on int8 (outside [0, 255] on uint8,
    [-32768, 32767] on int16); a non-zero zero point on the int8 filter of a CONV_2D,
    DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV or CONV_3D (the spec makes weights
    symmetric); a non-zero zero point on an int16 activation (16x8 activations are
    symmetric).  The spec also keeps int8 weights out of -128; qlint does not read weight
    buffers, so that value is not checked.

    **Why it matters.** TensorFlow 2.21 refuses both at ``allocate_tensors()``: the
    XNNPACK delegate with ``unsupported zero-point value (200) for INT8 tensor 20 in XNNPACK
    delegate``, the CONV_2D kernel with ``conv.cc:372 affine_quantization->zero_point->data[i]
    != 0 (5 != 0)`` and ``Node number 3 (CONV_2D) failed to prepare.``  Without the delegate
    an out-of-range activation zero point runs and returns wrong values.

    **How to fix it.** Re-convert with the TFLite converter; for weights produced elsewhere,
    requantize them symmetrically (zero point 0, scale max|w|/127 per output channel).
    """

    id = "QL303"
    name = "zero-point-range"
    record = "tensorflow/tflite-quant-zero-point-range"
    severity = Severity.ERROR
    summary = "zero point outside the dtype's range, or non-zero on int8 weights / int16 data"
    fix = ("Re-convert; keep activations' zero points in the dtype's range and weights "
           "symmetric (zero point 0).")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for t in screens.tensors(graph, screens.zero_points, self.screen):
            yield from self.check_tensor(graph, t)

    def check_tensor(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        entry = quantized(graph, t)
        if entry is None or entry.node["dtype"] not in QRANGE:
            return
        node, q = entry.node, entry.q
        dtype, constant, index = node["dtype"], node["constant"], node["index"]
        lo, hi = QRANGE[dtype]
        outside = [z for z in q.zero_point if not lo <= z <= hi]
        if outside:
            said = tf.quote(tf.XNNPACK_ZERO_POINT.format(zero_point=outside[0],
                                                         dtype=dtype.upper(), index=index))
            yield self.finding(
                graph, t,
                f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))} has "
                f"zero point {outside[0]}, outside [{lo}, {hi}]: the XNNPACK delegate "
                f"refuses it at prepare ({said}); the builtin kernels compute wrong values "
                f"with it",
                related=ops_of(graph, t),
            )
            return
        nonzero = [z for z in q.zero_point if z != 0]
        if not nonzero:
            return
        if dtype == "int8" and constant:
            filter_of = [o for o in graph.consumers(t)
                         if graph[o]["op_type"] in CONV_LIKE
                         and slot_role(graph, t, o) == "filter"]
            if filter_of:
                yield self._asymmetric_filter(graph, t, nonzero[0], filter_of)
        elif dtype == "int16" and not constant:
            yield self.finding(
                graph, t,
                f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))} has "
                f"zero point {nonzero[0]}: int16 activations must be symmetric (zero point "
                f"0); the int16 kernels check {tf.quote(tf.INT16_ZERO_POINT)} at prepare",
                related=ops_of(graph, t),
            )

    def _asymmetric_filter(self, graph: ModelGraph, t: NodeId, zero_point: int,
                           filter_of: list[NodeId]) -> Finding:
        o = filter_of[0]
        op_type, index = graph[o]["op_type"], graph[o]["index"]
        said = tf.quote(tf.FILTER_ZERO_POINT.format(zero_point=zero_point),
                        tf.NODE_FAILED.format(index=index, op_type=op_type))
        return self.finding(
            graph, t,
            f"{tensor_label(graph, t)}, the filter of {op_label(graph, o)}, has zero point "
            f"{zero_point}: int8 weights must be symmetric (zero point 0); {op_type} fails "
            f"to prepare ({said})",
            related=filter_of,
        )
