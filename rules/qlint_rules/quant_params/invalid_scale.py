"""QL302 invalid-scale: a scale that is not a positive finite number, or a requantization
multiplier no kernel can represent."""

from __future__ import annotations

import math
from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    CONV_LIKE,
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    ScreenedRule,
    anchor_op,
    fmt,
    op_label,
    ops_of,
    quantized,
    requant_multipliers,
    tensor_label,
)


class InvalidScale(ScreenedRule):
    """Flags scales that are not positive finite numbers, or that no kernel can represent.

    **What it flags.** A quantized tensor with a scale <= 0, NaN or infinite; and, per
    CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV or CONV_3D, a requantization
    multiplier ``input_scale * filter_scale / output_scale`` below 2**-32 or of 256 and
    more (clean conversions stay between about 1e-7 and 0.01).

    **Why it matters.** TensorFlow 2.21's default interpreter applies the XNNPACK delegate
    to int8 models, and it refuses both at ``allocate_tensors()``: a bad scale with
    ``unsupported scale value (-0.010402) in channel 0 for INT8 tensor 26 in XNNPACK
    delegate``, a bad multiplier with ``failed to create XNNPACK runtime``, each followed by
    ``Node number N (TfLiteXNNPackDelegate) failed to prepare.``  Without the delegate the
    builtin kernels run with them and return wrong values (a multiplier below 2**-32
    becomes 0 in ``QuantizeMultiplier``: every output is the zero point).

    **How to fix it.** Re-convert: scales come from the calibration ranges, so a tiny or
    huge one usually means a collapsed range (QL309) or a hand-edited file.
    """

    id = "QL302"
    name = "invalid-scale"
    record = "tensorflow/tflite-quant-invalid-scale"
    severity = Severity.ERROR
    summary = "scale <= 0, NaN or inf, or a requantization multiplier outside [2**-32, 256)"
    fix = ("Re-convert with a representative dataset that covers the inputs; never write "
           "scales by hand.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for t in screens.tensors(graph, screens.bad_scales, self.screen):
            yield from self.check_tensor(graph, t)
        for op in screens.weighted_ops(graph, screens.extreme_multipliers, self.screen):
            yield from self.check_op(graph, op)

    def check_tensor(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        """A scale <= 0, NaN or infinite."""
        entry = quantized(graph, t)
        if entry is None or entry.scales_ok:
            return
        wrong = [s for s in entry.q.scale if not (math.isfinite(s) and s > 0)]
        if not wrong:
            return
        yield self.finding(
            graph, t,
            f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))} has scale "
            f"{fmt(wrong[0])}: a scale must be a positive finite number; the XNNPACK "
            f"delegate refuses it at prepare ({tf.quote(tf.XNNPACK_SCALE)}) and the builtin "
            f"kernels compute wrong values with it",
            related=ops_of(graph, t),
        )

    def check_op(self, graph: ModelGraph, op: NodeId) -> Iterator[Finding]:
        """A weighted op's requantization multiplier below 2**-32 or of 256 and more."""
        mults = requant_multipliers(graph, op)
        low = [m for m in mults if m < MULTIPLIER_MIN]
        high = [m for m in mults if m >= MULTIPLIER_MAX]
        if not (low or high):
            return
        slots = CONV_LIKE[graph[op]["op_type"]]
        x, w = graph.inputs(op)[slots.input], graph.inputs(op)[slots.filter]
        y = graph.outputs(op)[0]
        assert x is not None and w is not None and y is not None
        sx, sy = graph[x]["quant"].scale[0], graph[y]["quant"].scale[0]
        n = len(mults)
        which = f"{len(low or high)} of {n} channels" if n > 1 else "it"
        if low:
            what = (f"{which} below 2**-32 (smallest {fmt(min(low))}): the builtin kernel's "
                    f"fixed-point multiplier becomes 0, so every output is the zero point")
        else:
            what = f"{which} 256 or more (largest {fmt(max(high))})"
        yield self.finding(
            graph, op,
            f"{op_label(graph, op)}: requantization multiplier input_scale x "
            f"filter_scale / output_scale out of range, {what} (input scale {fmt(sx)}, "
            f"output scale {fmt(sy)}); the default XNNPACK delegate refuses it at prepare "
            f"({tf.quote(tf.XNNPACK_RUNTIME, tf.XNNPACK_NODE_FAILED)})",
            related=[x, w, y],
        )
