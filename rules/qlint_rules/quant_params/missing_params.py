"""QL301 missing-quant-params: a quantized tensor without scale or zero point, or with
scale and zero-point counts that differ."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.analysis import compute_precision
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.npu_compiled import npu_compiled
from qlint.registry import Context
from qlint_rules.quant_params import tf_messages as tf
from qlint_rules.quant_params.shared import (
    CONV_LIKE,
    QRANGE,
    RAW_INTEGER_OPS,
    ScreenedRule,
    anchor_op,
    op_label,
    ops_of,
    slot_role,
    tensor_label,
)


class MissingQuantParams(ScreenedRule):
    """Flags integer tensors of a quantized graph that have no usable scale/zero point.

    **What it flags.** An int8, uint8 or int16 activation or weight that an op computes on
    with no quantization table (no scale), and any tensor whose table has a scale but no
    zero point, or scale and zero-point arrays of different lengths.  A weight quantized
    blockwise (``BlockwiseQuantization`` details, as ai-edge-quantizer's ``*b32`` recipes
    write) keeps its scales in another tensor and is not flagged.

    **Why it matters.** Parameters missing from a weight or input make the kernel refuse
    the op at ``allocate_tensors()`` (TensorFlow 2.21: ``conv.cc:366
    filter->quantization.type != kTfLiteAffineQuantization (0 != 1)`` then ``Node number 3
    (CONV_2D) failed to prepare.``); a scale/zero-point count mismatch is refused while the
    model loads (``QuantizationParam has 2 zero_point values and 1 scale values. Must have
    same number.`` / ``Tensor 19 has invalid quantization parameters.``).  Elsewhere the
    kernels read a scale of 0 and compute garbage.  Such tables come from hand-edited or
    third-party-exported flatbuffers and from graph surgery, never from a clean conversion.

    **How to fix it.** Re-export the model from the converter instead of patching the
    flatbuffer, or give the tensor one zero point per scale (one of each per tensor, or one
    per channel of the quantized dimension).
    """

    id = "QL301"
    name = "missing-quant-params"
    record = "tensorflow/tflite-quant-params-missing"
    severity = Severity.ERROR
    summary = "quantized tensor without scale/zero point, or scale and zero-point counts differ"
    fix = ("Re-convert instead of editing the flatbuffer; every int8/uint8/int16 tensor needs "
           "a scale and a zero point of the same length.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint_rules.quant_params import screens

        for t in screens.tensors(graph, screens.missing_params, self.screen):
            yield from self.check_tensor(graph, t)

    def check_tensor(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        if t in npu_compiled(graph).blobs:
            return  # Vela's command stream, read-only data or scratch: not quantized tensors
        node = graph[t]
        q: Quant | None = node["quant"]
        if q is not None and q.scale:
            if len(q.zero_point) != len(q.scale):
                yield from self._count_mismatch(graph, t, q)
            # else: parameters present; the other QL3xx rules judge them
        elif q is not None and q.blockwise:
            return  # one scale per block, in the tensor the blockwise details name
        elif node["dtype"] in QRANGE:
            yield from self._no_params(graph, t)

    def _count_mismatch(self, graph: ModelGraph, t: NodeId, q: Quant) -> Iterator[Finding]:
        """A scale with no zero point, or scale and zero-point arrays of different lengths:
        refused while the model loads."""
        ops = ops_of(graph, t)
        if not ops:
            return
        if q.zero_point:
            got = (f"{len(q.zero_point)} zero points for {len(q.scale)} scale"
                   f"{'s' if len(q.scale) != 1 else ''}")
            said = tf.quote(tf.ZERO_POINT_COUNT.format(zero_points=len(q.zero_point),
                                                       scales=len(q.scale)))
        else:
            got = "a scale but no zero point"
            said = tf.quote(tf.NULL_ZERO_POINT)
        index = graph[t]["index"]
        yield self.finding(
            graph, t,
            f"{tensor_label(graph, t)} at {op_label(graph, anchor_op(graph, t))} has {got}: "
            f"the interpreter refuses the model at load ({said} then "
            f"{tf.quote(tf.INVALID_TENSOR.format(index=index))})",
            related=ops,
        )

    def _no_params(self, graph: ModelGraph, t: NodeId) -> Iterator[Finding]:
        """An integer tensor an op computes on, with no quantization table at all."""
        ops = ops_of(graph, t)
        if not ops or all(graph[o]["op_type"] in RAW_INTEGER_OPS for o in ops):
            return
        if graph[t]["dtype"] == "int16" and not any(
            compute_precision(graph, o) == "int16" for o in ops
        ):
            return  # a plain int16 tensor in a model without int16 quantization
        op = anchor_op(graph, t)
        role = slot_role(graph, t, op)
        if op is not None and graph[op]["op_type"] in CONV_LIKE and role in ("filter", "input"):
            op_type, index = graph[op]["op_type"], graph[op]["index"]
            said = tf.quote(tf.NOT_AFFINE.format(role=role),
                            tf.NODE_FAILED.format(index=index, op_type=op_type))
            effect = f"{op_type} fails to prepare ({said})"
        else:
            effect = "the kernel reads scale 0 and computes garbage or fails to prepare"
        yield self.finding(
            graph, t,
            f"{tensor_label(graph, t)}, the {role} of {op_label(graph, op)}, has no "
            f"quantization parameters: {effect}",
            related=ops,
        )
