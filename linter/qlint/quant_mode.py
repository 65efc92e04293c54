"""Classify how a converted model is quantized, from its graph alone."""

from __future__ import annotations

from collections import Counter

from qlint.analysis import precisions
from qlint.graph import ModelGraph

# Integer weight types by width (unsigned types named by their signed twin).
_WIDTH = {"int8": "int8", "uint8": "int8", "int4": "int4", "uint4": "int4", "int2": "int2"}
_NARROWEST = ("int2", "int4", "int8")

QUANT_MODES = (
    "float", "fp16-weights",
    "int8-weights", "int4-weights", "int2-weights",
    "dynamic-range", "dynamic-range-int4", "dynamic-range-int2",
    "blockwise-int8-weights", "blockwise-int4-weights", "blockwise-int2-weights",
    "full-int8", "int16x8", "mixed",
)


def classify_quant_mode(graph: ModelGraph) -> str:
    """One of `QUANT_MODES`.

    - integer compute only: ``full-int8``, or ``int16x8`` when activations are int16;
    - integer and float compute together: ``mixed`` (a quantized model with float islands);
    - float compute only, named after its weights:
      ``blockwise-<int8|int4|int2>-weights`` when quantized integer weights carry blockwise
      quantization (a scale per block of elements, in another tensor);
      ``fp16-weights`` when float16 constants feed it;
      ``<int8|int4|int2>-weights`` (weight-only) when quantized integer weights reach the
      compute only through DEQUANTIZE;
      ``dynamic-range`` (``dynamic-range-int4``, ``-int2`` for narrower weights) when they
      feed the compute ops directly (hybrid kernels quantize the activations at run time);
      otherwise ``float``.
    QUANTIZE/DEQUANTIZE are conversions, not compute, and do not count.  Where weights of
    several widths are present, the narrowest names the model.
    """
    precision = Counter(precisions(graph).values())
    integer = precision["int8"] + precision["int16"]
    if integer and precision["float"]:
        return "mixed"
    if precision["int16"]:
        return "int16x8"
    if precision["int8"]:
        return "full-int8"
    consts = [(t, graph[t]) for t in graph.tensors() if graph[t]["constant"]]
    weights = [(t, a) for t, a in consts if a["dtype"] in _WIDTH and a["quant"] is not None]
    blockwise = {_WIDTH[a["dtype"]] for _, a in weights if a["quant"].blockwise}
    if blockwise:
        return f"blockwise-{_narrowest(blockwise)}-weights"
    if any(a["dtype"] == "float16" for _, a in consts):
        return "fp16-weights"
    if not weights:
        return "float"
    width = _narrowest({_WIDTH[a["dtype"]] for _, a in weights})
    weight_only = all(graph[op]["op_type"] == "DEQUANTIZE"
                      for t, _ in weights for op in graph.consumers(t))
    if weight_only:
        return f"{width}-weights"
    return "dynamic-range" if width == "int8" else f"dynamic-range-{width}"


def _narrowest(widths: set[str]) -> str:
    return next(w for w in _NARROWEST if w in widths)
