"""Classify how a converted model is quantized, from its graph alone."""

from __future__ import annotations

from collections import Counter

from qlint.analysis import precisions
from qlint.graph import ModelGraph

QUANT_MODES = ("float", "fp16-weights", "dynamic-range", "full-int8", "int16x8", "mixed")


def classify_quant_mode(graph: ModelGraph) -> str:
    """One of `QUANT_MODES`.

    - integer compute only: ``full-int8``, or ``int16x8`` when activations are int16;
    - integer and float compute together: ``mixed`` (a quantized model with float islands);
    - float compute only: ``fp16-weights`` when float16 constants feed it,
      ``dynamic-range`` when quantized integer weights do, otherwise ``float``.
    QUANTIZE/DEQUANTIZE are conversions, not compute, and do not count.
    """
    precision = Counter(precisions(graph).values())
    integer = precision["int8"] + precision["int16"]
    if integer and precision["float"]:
        return "mixed"
    if precision["int16"]:
        return "int16x8"
    if precision["int8"]:
        return "full-int8"
    consts = [graph[t] for t in graph.tensors() if graph[t]["constant"]]
    if any(t["dtype"] == "float16" for t in consts):
        return "fp16-weights"
    if any(t["dtype"] in ("int8", "uint8", "int4") and t["quant"] is not None for t in consts):
        return "dynamic-range"
    return "float"
