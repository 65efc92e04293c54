"""QL103 float-island: regions of a quantized model that run in float."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from qlint.analysis import islands
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule


class FloatIsland(Rule):
    """Flags each region of ops that runs in float32 inside an integer model.

    **What it flags.** In a converted model whose compute is otherwise integer,
    every maximal group of connected ops whose kernels read or write float
    tensors: typically ops fenced by a DEQUANTIZE before and a QUANTIZE after.
    One finding per island, on its first op, naming every op type in it; the
    other ops and the DEQUANTIZE/QUANTIZE fences are listed as related nodes.

    **Why it matters.** Asked for ``TFLITE_BUILTINS_INT8``, TensorFlow 2.21 does
    not refuse an op that has no int8 kernel (CUMSUM, SIN, FLOOR, SQUARE, ...):
    it silently keeps that op in float and wraps it in DEQUANTIZE/QUANTIZE.  The
    model converts and runs on the CPU, but an int8-only accelerator (Edge TPU,
    Ethos-U, many NPU delegates) cannot run the island, so the graph is split
    and everything after the first float op may fall back to the CPU; each
    fence also costs a requantization.

    **How to fix it.** Replace the op with ops that have int8 kernels (see
    ``qlint explain QL103`` and docs/ops.md), move it out of the model into
    pre/post-processing, or accept the float island deliberately for a CPU-only
    target and suppress this finding for that node.
    """

    id = "QL103"
    name = "float-island"
    record = "tensorflow/tflite-int8-silent-float-fallback"
    severity = Severity.ERROR
    summary = "ops left in float32 between DEQUANTIZE/QUANTIZE in an integer model"
    fix = ("Replace the island's ops with ops that have int8 kernels, or move them out of the "
           "model; keep them float only for CPU-only targets.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for island in islands(graph):
            types = Counter(graph[op]["source_op"] for op in island.ops)
            listed = ", ".join(f"{t}" if n == 1 else f"{t} x{n}" for t, n in types.items())
            n = len(island.ops)
            fences = []
            if island.entries:
                fences.append(f"{len(island.entries)} DEQUANTIZE in")
            if island.exits:
                fences.append(f"{len(island.exits)} QUANTIZE out")
            fenced = f" ({', '.join(fences)})" if fences else ""
            yield self.finding(
                graph,
                island.ops[0],
                f"float island of {n} op{'s' if n != 1 else ''} running in float32 inside an "
                f"integer model{fenced}: {listed}",
                related=[*island.ops[1:], *island.entries, *island.exits],
            )
