"""QL308 legacy-uint8: ops computing on TF1-style asymmetric uint8 where the target is int8."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule
from qlint_rules.quant_params.shared import CONV_LIKE, op_label, qparams


class LegacyUint8(Rule):
    """Flags ops that compute on asymmetric uint8 (TF1-style quantization) where the target is int8.

    **What it flags.** In a model linted for an int8 target (``tflite-int8``,
    ``tflm-int8``), the ops whose activations are quantized uint8, TF1's
    ``inference_type=QUANTIZED_UINT8`` scheme with zero points around 128 and asymmetric
    weights.  One finding per model, on the first such op; the others are related nodes.
    uint8 model inputs/outputs around an int8 core are QL402's, not this rule's.

    **Why it matters.** TensorFlow 2.21's CPU interpreter still has uint8 kernels and runs
    such a model silently, but the int8 spec replaced it: TFLite Micro removed uint8
    kernels (``quantize.cpp:58 input->type == kTfLiteFloat32 || ... was not true``), int8
    NPUs and their compilers take int8 only, per-channel weights exist only in int8, and
    the converter no longer produces uint8 graphs.

    **How to fix it.** Re-convert the float model with post-training full-integer
    quantization (int8) or re-export the QAT model with the TF2 converter.
    """

    id = "QL308"
    name = "legacy-uint8"
    record = "tensorflow/tflite-quant-legacy-uint8"
    severity = Severity.WARNING
    summary = "ops computing on TF1-style asymmetric uint8 where the target is int8"
    fix = ("Re-convert to int8 with the TF2 converter (full-integer post-training "
           "quantization or a TF2 QAT export).")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if ctx.target.mode != "int8":
            return
        if "uint8" not in graph.derived(_dtypes):
            return
        uint8_ops = [
            op for op in graph.ops()
            if graph[op]["op_type"] not in ("QUANTIZE", "DEQUANTIZE")
            and any(graph[t]["dtype"] == "uint8" and qparams(graph, t) is not None
                    for t in graph.activations(op))
        ]
        if not uint8_ops:
            return
        first = uint8_ops[0]
        weights = sum(
            1 for op in uint8_ops if (slots := CONV_LIKE.get(graph[op]["op_type"])) is not None
            and slots.filter < len(graph.inputs(op))
            and (w := graph.inputs(op)[slots.filter]) is not None
            and graph[w]["dtype"] == "uint8"
        )
        yield self.finding(
            graph, first,
            f"{len(uint8_ops)} op{'s' if len(uint8_ops) != 1 else ''} compute on asymmetric "
            f"uint8 (TF1-style quantization; {weights} with uint8 weights), starting at "
            f"{op_label(graph, first)}, but the target {ctx.target.name} is int8: the TFLite CPU "
            f"interpreter runs it (silent), int8-only runtimes (TFLite Micro, NPUs) do not",
            related=[*(t for t in graph.activations(first) if graph[t]["dtype"] == "uint8"),
                     *uint8_ops[1:]],
        )


def _dtypes(graph: ModelGraph) -> frozenset[str]:
    """Every tensor dtype in the graph."""
    return frozenset(node["dtype"] for _, node in graph.tensor_nodes())
