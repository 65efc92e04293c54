"""QL306 fixed-output-params: the output of LOGISTIC, SOFTMAX, TANH, ... quantized with other
parameters than the spec fixes."""

from __future__ import annotations

import math
from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context, Rule
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    FIXED_OUTPUTS,
    FixedOutput,
    fmt,
    frac,
    op_label,
    qparams,
    tensor_label,
)

_OP_TYPES = frozenset(op_type for op_type, _ in FIXED_OUTPUTS)


class FixedOutputParams(Rule):
    """Flags outputs of LOGISTIC, SOFTMAX, TANH, ... whose parameters differ from the spec's.

    **What it flags.** The quantized output of an op whose output parameters the spec
    fixes: LOGISTIC and SOFTMAX (1/256, -128), TANH (1/128, 0), LOG_SOFTMAX (16/256, 127),
    L2_NORMALIZATION (1/128, 0); the uint8 forms with the zero point shifted by 128, the
    int16 forms of LOGISTIC, SOFTMAX and TANH (1/32768, 0).

    **Why it matters.** TensorFlow 2.21's kernels check most of them at
    ``allocate_tensors()``: ``activations.cc:553 output->params.zero_point != -128 (0 !=
    -128)`` / ``output->params.scale not near 1.f / 256`` for SOFTMAX,
    ``activations.cc:481 output->params.scale == 1. / 256 was not true.`` for LOGISTIC
    (the default XNNPACK delegate takes LOGISTIC over and runs it), each followed by
    ``Node number N (OP) failed to prepare.``  TANH is not checked: it runs silently with
    the wrong output range or resolution.

    **How to fix it.** Do not override these outputs' parameters (quantization-aware
    training ranges, hand edits, third-party exporters); let the converter set them.
    """

    id = "QL306"
    name = "fixed-output-params"
    record = "tensorflow/tflite-quant-fixed-output"
    severity = Severity.ERROR
    summary = "LOGISTIC/SOFTMAX/TANH/LOG_SOFTMAX/L2_NORMALIZATION output not the fixed params"
    fix = ("Let the converter set these outputs' scale and zero point (e.g. SOFTMAX int8: "
           "1/256, -128); remove overrides from QAT or hand edits.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops_of_type(_OP_TYPES):
            yield from self.check_op(graph, op)

    def check_op(self, graph: ModelGraph, op: NodeId) -> Iterator[Finding]:
        op_type = graph[op]["op_type"]
        outs = graph.outputs(op)
        if not outs or outs[0] is None:
            return
        y = outs[0]
        spec = FIXED_OUTPUTS.get((op_type, graph[y]["dtype"]))
        q = qparams(graph, y)
        if spec is None or q is None or len(q.scale) != 1 or not q.zero_point:
            return
        scale, zp = q.scale[0], q.zero_point[0]
        if not math.isfinite(scale):
            return
        tol = 1e-3 if spec.near else 1e-6
        scale_ok = abs(scale - spec.scale) <= tol * spec.scale
        if scale_ok and zp == spec.zero_point:
            return
        got = f"({fmt(scale)}, {zp})"
        want = f"({frac(spec.scale)}, {spec.zero_point})"
        if spec.checked:
            failed = tf.NODE_FAILED.format(index=graph[op]["index"], op_type=op_type)
            effect = (f"the {op_type} kernel fails to prepare "
                      f"({tf.quote(_kernel_check(spec, zp), failed)})")
            severity = Severity.ERROR
        else:
            effect = (f"the {op_type} kernel does not check it and runs with the wrong "
                      f"output range/resolution (silent)")
            severity = Severity.WARNING
        yield self.finding(
            graph, y,
            f"output {tensor_label(graph, y)} of {op_label(graph, op)} is quantized "
            f"{got}, the spec fixes {want}: {effect}",
            related=[op],
            severity=severity,
        )


def _kernel_check(spec: FixedOutput, zero_point: int) -> str:
    """The check the kernel fails: the zero point's first, then the scale's."""
    if zero_point != spec.zero_point:
        return tf.OUTPUT_ZERO_POINT.format(want=spec.zero_point, got=zero_point)
    if spec.near:
        return tf.OUTPUT_SCALE_NEAR.format(denominator=round(1 / spec.scale))
    return tf.OUTPUT_SCALE.format(fraction=frac(spec.scale))
