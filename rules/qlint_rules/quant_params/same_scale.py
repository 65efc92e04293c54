"""QL307 same-scale-mismatch: a data-movement op whose input and output scale or zero point
differ."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.registry import Context, Rule
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    DATA_SLOTS,
    QRANGE,
    SAME_SCALE_OPS,
    fmt,
    op_label,
    qparams,
    span,
    target_effect,
    tensor_label,
)


class SameScaleOps(Rule):
    """Flags data-movement ops whose input and output scale or zero point differ.

    **What it flags.** Pools, CONCATENATION, RESHAPE, TRANSPOSE, PAD, SLICE, GATHER,
    SQUEEZE, SPLIT, PACK and the other ops the spec says must keep "the same
    scale/zero_point" on input and output, when a data input's per-tensor parameters
    differ from the output's; for CONCATENATION, inputs that arrive with different scales,
    naming the input with the widest range.

    **Why it matters.** These kernels copy or compare int8 values without requantizing,
    so different parameters reinterpret every value.  TensorFlow 2.21 refuses some at
    ``allocate_tensors()``: CONCATENATION with ``concatenation.cc:237 t->params.scale !=
    output->params.scale`` and ``Node number 5 (CONCATENATION) failed to prepare.``, and the
    default XNNPACK delegate with ``failed to delegate MAX_POOL_2D node #1``; RESHAPE and the
    rest run silently with wrong values.  A clean TF 2.21 conversion gives these ops equal
    parameters (it puts a requantizing QUANTIZE in front of a CONCATENATION input when it
    must), so a mismatch comes from graph surgery or a third-party exporter.  The
    severity follows the target: on an Ethos-U target whose probed Vela table says Vela
    refuses the op (RESHAPE: ``Input and output quantisation must match``), the
    finding is an error quoting Vela.

    **How to fix it.** Give the op's inputs and output the same scale and zero point; for
    a CONCATENATION of differently ranged inputs, requantize each input to the output's
    parameters with a QUANTIZE op (the widest input sets the shared range, and the
    narrow inputs lose resolution), or rebalance the branches so their ranges match.
    """

    id = "QL307"
    name = "same-scale-mismatch"
    record = "tensorflow/tflite-quant-same-scale"
    severity = Severity.ERROR
    summary = "same-scale op (pool, concat, reshape, pad, ...) with different in/out params"
    fix = ("Give the op's inputs and output one scale and zero point (requantize inputs "
           "with QUANTIZE); re-convert instead of editing.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops_of_type(SAME_SCALE_OPS):
            yield from self.check_op(graph, op, ctx)

    def check_op(self, graph: ModelGraph, op: NodeId, ctx: Context) -> Iterator[Finding]:
        op_type = graph[op]["op_type"]
        outs = [t for t in graph.outputs(op) if t is not None]
        if not outs:
            return
        y = outs[0]
        qy = qparams(graph, y)
        # Counts that disagree are QL301's finding; this rule needs one (scale, zp) pair.
        if (qy is None or graph[y]["dtype"] not in QRANGE or len(qy.scale) != 1
                or len(qy.zero_point) != 1):
            return
        slots = DATA_SLOTS.get(op_type, (0,))
        data = [t for i, t in enumerate(graph.inputs(op))
                if t is not None and (slots is None or i in slots)]
        differing: list[tuple[NodeId, Quant]] = []
        for t in data:
            qt = qparams(graph, t)
            if (qt is None or len(qt.scale) != 1 or len(qt.zero_point) != 1
                    or graph[t]["dtype"] != graph[y]["dtype"]):
                continue
            if (abs(qt.scale[0] - qy.scale[0]) > 1e-6 * qy.scale[0]
                    or qt.zero_point[:1] != qy.zero_point[:1]):
                differing.append((t, qt))
        if not differing:
            return
        effect, severity = _effect(op_type, graph[op]["index"])
        effect, severity = target_effect(graph, op, ctx, effect, severity)
        out_p = f"({fmt(qy.scale[0])}, {qy.zero_point[0]})"
        if op_type in ("CONCATENATION", "PACK"):
            params = [(t, qparams(graph, t)) for t in data]
            ranged = [(t, q) for t, q in params if q is not None and len(q.scale) == 1]
            widest, wq = max(ranged, key=lambda p: span(p[1], graph[p[0]]["dtype"]))
            listed = ", ".join(
                f"{graph[t]['index']}: ({fmt(q.scale[0])}, {q.zero_point[0]})"
                for t, q in ranged
            )
            yield self.finding(
                graph, op,
                f"{op_label(graph, op)} joins inputs with different quantization "
                f"[{listed}] into output {out_p}; widest range: input "
                f"{tensor_label(graph, widest)} (scale {fmt(wq.scale[0])}); a requantize "
                f"to one scale is needed and the narrower inputs lose precision: {effect}",
                related=[t for t, _ in ranged] + [y],
                severity=severity,
            )
            return
        t, qt = differing[0]
        yield self.finding(
            graph, op,
            f"{op_label(graph, op)} must keep its input's quantization but input "
            f"{tensor_label(graph, t)} is ({fmt(qt.scale[0])}, {qt.zero_point[0]}) and "
            f"output {graph[y]['index']} is {out_p}: {effect}",
            related=[t, y],
            severity=severity,
        )


def _effect(op_type: str, index: int) -> tuple[str, Severity]:
    """What TensorFlow 2.21 does with the mismatch, and the severity that follows."""
    if op_type in tf.SAME_SCALE_KERNEL_REFUSES:
        said = tf.quote(tf.SAME_SCALE_KERNEL_REFUSES[op_type],
                        tf.NODE_FAILED.format(index=index, op_type=op_type))
        return f"the {op_type} kernel fails to prepare ({said})", Severity.ERROR
    if op_type in tf.SAME_SCALE_XNNPACK_REFUSES:
        said = tf.quote(tf.XNNPACK_NOT_DELEGATED.format(op_type=op_type, index=index),
                        tf.XNNPACK_NODE_FAILED)
        return (f"the XNNPACK delegate fails to prepare ({said}); the builtin kernel runs "
                f"silently", Severity.ERROR)
    if op_type == "AVERAGE_POOL_2D":
        return ("the builtin kernel averages the int8 values without requantizing, so every "
                "value is reinterpreted (silent wrong results; the XNNPACK delegate "
                "requantizes)", Severity.WARNING)
    return (f"the {op_type} kernel copies the int8 values unchanged, so every value is "
            f"reinterpreted (silent wrong results)", Severity.WARNING)
