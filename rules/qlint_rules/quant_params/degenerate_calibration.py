"""QL309 degenerate-calibration: an activation whose calibrated range collapsed to (almost)
nothing inside one op."""

from __future__ import annotations

import math
from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    COLLAPSED_SPAN,
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    QRANGE,
    ScreenedRule,
    data_inputs,
    fmt,
    op_label,
    ops_of,
    qparams,
    quantized,
    requant_multipliers,
    span,
    tensor_label,
)

# A range that collapses inside one op whose inputs span this many times more is a unit
# that never fired; a signal fading gradually over many layers (untrained weights) is not.
COLLAPSE_RATIO = 1e3


def collapsed(graph: ModelGraph, t: NodeId) -> bool:
    """``t``'s representable range is under COLLAPSED_SPAN, or its recorded min is its max."""
    q = qparams(graph, t)
    if q is None or len(q.scale) != 1 or graph[t]["dtype"] not in QRANGE:
        return False
    if q.min is not None and q.max is not None and q.min[:1] == q.max[:1]:
        return True
    scale = q.scale[0]
    return math.isfinite(scale) and scale > 0 and span(q, graph[t]["dtype"]) < COLLAPSED_SPAN


class DegenerateCalibration(ScreenedRule):
    """Flags activations whose calibrated range collapsed to (almost) nothing inside one op.

    **What it flags.** A quantized activation whose representable real range (scale x 255
    for 8 bits) is below 1e-5, or whose recorded min equals its max, produced by an op
    whose quantized inputs all have healthy ranges at least 1000 times wider.  That is the
    trace TensorFlow 2.21 leaves when calibration never moved a tensor: it widens a range
    narrower than 1e-6 (a ReLU that never fired, a branch no sample reached) to about
    [-1e-6, 1e-6], a scale of about 7.8e-9.  A signal that fades gradually through many
    layers (untrained weights) is not flagged at each layer, only where it collapses.

    **Why it matters.** The model converts without any message, and every real value
    outside about +-1e-6 saturates on this tensor: the op's output is a constant in
    production.  When the tiny scale also pushes the producing op's requantization
    multiplier to 256 or more (as for a dead ReLU after a Dense), TensorFlow 2.21's default
    XNNPACK delegate fails at ``allocate_tensors()`` with ``failed to create XNNPACK
    runtime``, and the finding is an error; otherwise the model runs silently and it is a
    warning.  The usual cause is a representative dataset that does not cover the inputs
    (random noise, a handful of samples, wrong preprocessing) or a dead unit.

    **How to fix it.** Calibrate with a few hundred real, preprocessed samples that cover
    every branch; if the unit is truly dead, prune it.
    """

    id = "QL309"
    name = "degenerate-calibration"
    record = "tensorflow/tflite-quant-collapsed-range"
    severity = Severity.WARNING
    summary = "activation whose calibration range collapsed inside one op"
    fix = ("Calibrate with real, preprocessed samples covering every branch (hundreds, not "
           "random noise); prune units that never activate.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for t in screens.tensors(graph, screens.collapsed_ranges, self.screen):
            yield from self.check_tensor(graph, t)

    def check_tensor(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        entry = quantized(graph, t)
        if entry is None or entry.node["constant"] or not collapsed(graph, t):
            return
        p = graph.producer(t)
        if p is None:
            return
        ins = [x for x in data_inputs(graph, p)
               if qparams(graph, x) is not None and graph[x]["dtype"] in QRANGE]
        if not ins or any(collapsed(graph, x) for x in ins):
            return
        widest = max(span(graph[x]["quant"], graph[x]["dtype"]) for x in ins)
        q, dtype = entry.q, entry.node["dtype"]
        if widest < COLLAPSE_RATIO * span(q, dtype):
            return
        lo, hi = QRANGE[dtype]
        scale, zp = q.scale[0], (q.zero_point[0] if q.zero_point else 0)
        head = (f"activation {tensor_label(graph, t)}, output of {op_label(graph, p)}, "
                f"can only represent [{fmt((lo - zp) * scale)}, {fmt((hi - zp) * scale)}] "
                f"(scale {fmt(scale)}) while its input spans {fmt(widest)}: its "
                f"calibration range was empty, so every real value saturates here")
        extreme = [o for o in ops_of(graph, t)
                   if any(m >= MULTIPLIER_MAX or m < MULTIPLIER_MIN
                          for m in requant_multipliers(graph, o))]
        if extreme:
            said = tf.quote(tf.XNNPACK_RUNTIME, tf.XNNPACK_NODE_FAILED)
            yield self.finding(
                graph, t,
                f"{head}; the tiny scale also puts the requantization multiplier of "
                f"{op_label(graph, extreme[0])} out of range, so the default XNNPACK "
                f"delegate fails to prepare ({said})",
                related=ops_of(graph, t),
                severity=Severity.ERROR,
            )
        else:
            yield self.finding(graph, t, f"{head} (silent)", related=ops_of(graph, t))
