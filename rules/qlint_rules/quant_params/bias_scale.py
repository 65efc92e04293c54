"""QL305 bias-scale-mismatch: a bias whose scale is not input_scale x filter_scale, or whose
zero point is not 0."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    BIAS_RELATIVE_TOLERANCE,
    CONV_LIKE,
    ScreenedRule,
    fmt,
    op_label,
    quantized,
    tensor_label,
)

# GetQuantizedConvolutionMultipler (kernel_util.cc): per-tensor FULLY_CONNECTED and the
# uint8 convolutions require |input_scale*filter_scale - bias_scale| / output_scale <= 0.02.
BIAS_KERNEL_TOLERANCE = 0.02


class BiasQuant(ScreenedRule):
    """Flags biases whose scale is not input_scale x filter_scale, or whose zero point is not 0.

    **What it flags.** The bias of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
    TRANSPOSE_CONV or CONV_3D whose scale differs from ``input_scale * filter_scale`` (per
    channel for per-channel filters) by more than 1e-4 relative, or whose zero point is
    not 0.

    **Why it matters.** The kernels add the int32 bias straight into the accumulator,
    which is in units of ``input_scale * filter_scale``; the bias's own scale is never
    used, so a different one means the stored bias values are misread.  The TensorFlow
    2.21 FULLY_CONNECTED kernel with per-tensor weights (and the uint8 kernels) checks
    it at ``allocate_tensors()``: ``scale_diff / output_scale <= 0.02 was not true.`` and
    ``Node number 10 (FULLY_CONNECTED) failed to prepare.``  Per-channel kernels do not check
    and run silently.  The XNNPACK delegate refuses a non-zero bias zero point (``unsupported
    zero-point value (3) in channel 0 of INT32 tensor 15 in XNNPACK delegate``).

    **How to fix it.** Quantize the bias as ``round(b / (input_scale * filter_scale))`` with
    zero point 0, which is what the converter does; re-convert rather than edit.
    """

    id = "QL305"
    name = "bias-scale-mismatch"
    record = "tensorflow/tflite-quant-bias-scale"
    severity = Severity.ERROR
    summary = "bias scale != input scale x weight scale, or bias zero point != 0"
    fix = ("Quantize biases with scale input_scale*filter_scale (per channel) and zero "
           "point 0; re-convert.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for op in screens.weighted_ops(graph, screens.biases, self.screen):
            yield from self.check_op(graph, op)

    def check_op(self, graph: ModelGraph, op: NodeId) -> Iterator[Finding]:
        slots = CONV_LIKE.get(graph[op]["op_type"])
        if slots is None:
            return
        ins, outs = graph.slots(op)
        if slots.bias >= len(ins) or not outs:
            return
        x, w, b, y = ins[slots.input], ins[slots.filter], ins[slots.bias], outs[0]
        ex, ew, eb, ey = (quantized(graph, x), quantized(graph, w), quantized(graph, b),
                          quantized(graph, y))
        if ex is None or ew is None or eb is None or ey is None:
            return
        if not (ex.scales_ok and ew.scales_ok and eb.scales_ok and ey.scales_ok):
            return  # QL302's finding
        assert x is not None and w is not None and b is not None
        nonzero = [z for z in eb.q.zero_point if z != 0]
        if nonzero:
            said = tf.quote(tf.XNNPACK_BIAS_ZERO_POINT.format(
                zero_point=nonzero[0], dtype=graph[b]["dtype"].upper(),
                index=graph[b]["index"]))
            yield self.finding(
                graph, b,
                f"bias {tensor_label(graph, b)} of {op_label(graph, op)} has zero point "
                f"{nonzero[0]}: a bias must have zero point 0; the XNNPACK delegate "
                f"refuses it at prepare ({said}) and the builtin kernels ignore it",
                related=[op],
            )
        yield from self._scale(graph, op, x, w, b, (ex.q, ew.q, eb.q, ey.q))

    def _scale(self, graph: ModelGraph, op: NodeId, x: NodeId, w: NodeId, b: NodeId,
               quants: tuple[Quant, Quant, Quant, Quant]) -> Iterator[Finding]:
        """The bias scale against input_scale x filter_scale, channel by channel."""
        qx, qw, qb, qy = quants
        n = max(len(qw.scale), len(qb.scale))
        if len(qw.scale) not in (1, n) or len(qb.scale) not in (1, n):
            return  # QL304's finding
        worst, worst_c, worst_rel = 0.0, 0, 0.0
        for c in range(n):
            expected = qx.scale[0] * qw.scale[c if len(qw.scale) > 1 else 0]
            actual = qb.scale[c if len(qb.scale) > 1 else 0]
            rel = abs(actual - expected) / expected
            if rel > worst_rel:
                worst, worst_c, worst_rel = abs(actual - expected), c, rel
        if worst_rel <= BIAS_RELATIVE_TOLERANCE:
            return
        if graph[x]["dtype"] == "int16":
            # TF 2.21's 16x8 conversion itself writes DEPTHWISE_CONV_2D bias scales that
            # differ from input x filter (fixtures/int16x8_cnn); the int16 kernels do not
            # read them.  Not reported until that is understood.
            return
        op_type, index = graph[op]["op_type"], graph[op]["index"]
        kernel_checks = ((op_type == "FULLY_CONNECTED" and len(qw.scale) == 1)
                         or graph[x]["dtype"] == "uint8")
        diff_ratio = worst / qy.scale[0]
        expected = qx.scale[0] * qw.scale[worst_c if len(qw.scale) > 1 else 0]
        actual = qb.scale[worst_c if len(qb.scale) > 1 else 0]
        where = f" (channel {worst_c})" if n > 1 else ""
        head = (f"bias {tensor_label(graph, b)} of {op_label(graph, op)} has scale "
                f"{fmt(actual)}{where}, input_scale x filter_scale is {fmt(expected)} "
                f"({worst_rel:.1%} off)")
        if kernel_checks and diff_ratio > BIAS_KERNEL_TOLERANCE:
            failed = tf.quote(tf.NODE_FAILED.format(index=index, op_type=op_type))
            yield self.finding(
                graph, b,
                f"{head}: {op_type} fails to prepare ({tf.quote(tf.BIAS_SCALE)}, here "
                f"{diff_ratio:.3g}; {failed})",
                related=[op, x, w],
            )
        else:
            yield self.finding(
                graph, b,
                f"{head}: the kernel does not check it and adds the bias in units of "
                f"input_scale x filter_scale, so the stored bias is misread by that factor "
                f"(silent)",
                related=[op, x, w],
                severity=Severity.WARNING,
            )
