"""QL106 delegate-unsupported-type: ops whose tensor types the default CPU delegate refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.registry import Context, Rule

PROBE = "python -m tools.probe.xnnpack_types"


@cache
def measured() -> dict[str, Any]:
    """``measured/xnnpack-types.json``, written by `tools.probe.xnnpack_types`."""
    text = files("qlint_rules").joinpath("measured", "xnnpack-types.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def granularity(quant: Quant) -> str:
    """How a tensor's quantization is given: ``blockwise``, ``per-channel`` or ``per-tensor``."""
    if quant.blockwise:
        return "blockwise"
    return "per-channel" if quant.per_channel else "per-tensor"


def weight_key(graph: ModelGraph, op: NodeId) -> str | None:
    """``OP:activation dtype:weight dtype:granularity`` of an op with a quantized constant
    input (its first one: the filter of FULLY_CONNECTED and the convolutions, the input of a
    weight DEQUANTIZE), the activation being its first non-constant input (``-`` when it has
    none); None for an op with no quantized constant input.  The probe keys its table the
    same way."""
    activation, weight = "-", None
    for t in graph.inputs(op):
        if t is None:
            continue
        td = graph[t]
        q = td["quant"]
        if not td["constant"]:
            activation = td["dtype"] if activation == "-" else activation
        elif weight is None and q is not None and (q.has_params or q.blockwise):
            weight = f"{td['dtype']}:{granularity(q)}"
    if weight is None:
        return None
    return f"{graph[op]['op_type']}:{activation}:{weight}"


def _describe(key: str) -> str:
    op, activation, dtype, gran = key.split(":")
    inputs = f"{activation} input, " if activation != "-" else ""
    return f"{op} with {inputs}{dtype} {gran} weights"


class DelegateUnsupportedType(Rule):
    """Flags the ops whose tensor types XNNPACK, the default CPU delegate, does not take.

    **What it flags.** In a converted model linted for a TensorFlow Lite / LiteRT target
    (``tflite-int8``, ``tflite-int16x8``), each op whose activation type, weight type and
    weight granularity (per-tensor, per-channel, blockwise) is one that XNNPACK was measured
    not to take: the probe ``tools/probe/xnnpack_types.py`` runs one-op models quantized by
    ai-edge-quantizer in the TF 2.21 and LiteRT 2.3 interpreters with their default
    delegates and records which ops a delegate node replaced.  An ``error`` when the model
    did not even allocate with the default delegates (int2 blockwise FULLY_CONNECTED
    weights: ``unsupported datatype (INT2) ... in XNNPACK delegate``); a ``warning`` when
    the op was left to the builtin kernels (for example int4 per-channel CONV_2D weights,
    int8 hybrid DEPTHWISE_CONV_2D, int16 activations, an int4 weight DEQUANTIZE).  Type
    combinations the probe did not build are not reported.

    **Why it matters.** ``tf.lite.Interpreter`` and ``ai_edge_litert.Interpreter`` apply
    XNNPACK by default.  An op it refuses at prepare time stops ``allocate_tensors()``; an
    op it leaves runs on the builtin kernels, usually slower, and the builtin kernel's
    numbers can differ: the int2 blockwise FULLY_CONNECTED gave all-zero outputs there.

    **How to fix it.** Quantize those weights in a form XNNPACK takes: per-channel int8, or
    int4 for FULLY_CONNECTED (ai-edge-quantizer's ``dynamic_wi4b32_afp32`` or
    ``dynamic_wi2c_afp32`` instead of ``dynamic_wi2b32_afp32``), int8 activations instead
    of int16, or accept the builtin kernels for those ops and check their accuracy.
    """

    id = "QL106"
    name = "delegate-unsupported-type"
    record = "tensorflow/tflite-xnnpack-unsupported-type"
    severity = Severity.WARNING
    summary = "op with tensor types the default CPU delegate (XNNPACK) does not take"
    fix = ("Quantize these weights per channel (int8, or int4 for FULLY_CONNECTED) with int8 "
           "activations, or check the op's accuracy on the builtin kernels.")
    stages = frozenset({"converted"})
    formats = frozenset({"tflite"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if ctx.target.npu is not None or ctx.target.runtime != "tflite":
            return  # XNNPACK is the TensorFlow Lite / LiteRT interpreter's delegate only
        data = measured()
        table: dict[str, Any] = data["by_weight_type"]
        versions = ", ".join(f"{k} {v}" for k, v in sorted(data["versions"].items())
                             if k != "ai-edge-quantizer")
        # only op types the probe saw XNNPACK refuse or leave need their key computed
        refused = {k.split(":", 1)[0] for k, e in table.items() if not e["delegated"]}
        for op in graph.ops():
            if graph[op]["op_type"] not in refused:
                continue
            key = weight_key(graph, op)
            entry = table.get(key) if key else None
            if key is None or entry is None or entry["delegated"]:
                continue
            what = _describe(key)
            if not entry["allocates"]:
                zeros = entry.get("builtin_relative_error") == 1.0
                yield self.finding(
                    graph, op,
                    f"{what}: XNNPACK (the default CPU delegate; {versions}) fails to prepare "
                    f"it, so the model does not allocate with the default delegates "
                    f"('unsupported datatype ... in XNNPACK delegate'); with the builtin "
                    f"kernels only it runs"
                    + (", but its output was all zeros in the probe" if zeros else ""),
                    severity=Severity.ERROR)
                continue
            left = entry.get("left_with_it", [])
            also = (f" (in the probe, so did the {' and '.join(left)} next to it)"
                    if left else "")
            nan = ("; on the builtin kernels its output held NaN or infinity in the probe"
                   if entry.get("non_finite_output") else "")
            yield self.finding(
                graph, op,
                f"{what}: XNNPACK (the default CPU delegate; {versions}) leaves it to the "
                f"builtin kernels{also}{nan}")
