"""Classify a converted model's ops from what the converter and interpreter report.

Pure functions over `OpInfo` lists, so they can be tested without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FLOAT_TYPES = frozenset({"float16", "float32", "float64", "bfloat16", "complex64", "complex128"})
QUANT_TYPES = frozenset({"int8", "uint8", "int16", "int4"})
CONVERSION_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


@dataclass(frozen=True)
class OpInfo:
    """One op of a converted model: its builtin name and activation dtypes."""

    name: str
    inputs: tuple[str, ...]  # dtypes of non-constant inputs
    outputs: tuple[str, ...]
    subgraph: int = 0

    @property
    def io(self) -> str:
        """Compact dtype signature, e.g. ``int8,int8->int8``."""
        return f"{','.join(self.inputs)}->{','.join(self.outputs)}"

    @property
    def computes_in_float(self) -> bool:
        """True when any activation of the op is a floating-point tensor."""
        return any(t in FLOAT_TYPES for t in (*self.inputs, *self.outputs))


def op_names(ops: Iterable[OpInfo], *, skip_conversion: bool = True) -> list[str]:
    """Distinct op names in model order (QUANTIZE/DEQUANTIZE left out by default)."""
    seen: dict[str, None] = {}
    for op in ops:
        if skip_conversion and op.name in CONVERSION_OPS:
            continue
        seen[op.name] = None
    return list(seen)


def classify_target(ops: list[OpInfo], target: str) -> tuple[str, str | None]:
    """Outcome of ``target`` in a model that converted and ran: (outcome, io).

    ``integer`` when every instance of the op runs without float activations,
    ``float_fallback`` when one reads or writes float32.  QUANTIZE/DEQUANTIZE are
    ``integer`` when they convert to or from an int8/int16 tensor.  Returns
    ``("missing", None)`` when the op is not in the model.
    """
    found = [op for op in ops if op.name == target]
    if not found:
        return "missing", None
    if target in CONVERSION_OPS:
        ok = all(any(t in QUANT_TYPES for t in (*op.inputs, *op.outputs)) for op in found)
        return ("integer" if ok else "float_fallback"), found[0].io
    bad = [op for op in found if op.computes_in_float]
    if bad:
        return "float_fallback", bad[0].io
    return "integer", found[0].io


def float_ops(ops: Iterable[OpInfo]) -> list[str]:
    """Names of the non-conversion ops that compute in float, in model order."""
    return op_names(op for op in ops if op.computes_in_float and op.name not in CONVERSION_OPS)


def float_op_counts(ops: Iterable[OpInfo]) -> dict[str, int]:
    """How many instances of each non-conversion op compute in float, in model order."""
    counts: dict[str, int] = {}
    for op in ops:
        if op.computes_in_float and op.name not in CONVERSION_OPS:
            counts[op.name] = counts.get(op.name, 0) + 1
    return counts
