"""QL104 custom-op: CUSTOM ops in a converted model."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.analysis import compute_precision
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.npu_compiled import npu_compiled
from qlint.registry import Context, Rule


class CustomOp(Rule):
    """Flags every CUSTOM op, naming its custom code.

    **What it flags.** Ops stored as ``CUSTOM`` with a custom code (for example
    ``Erf`` when a model is converted with ``allow_custom_ops=True``, or a
    vendor op such as ``TFLite_Detection_PostProcess``).

    **Why it matters.** A custom op has no builtin kernel, so qlint cannot vouch
    for an int8 implementation: the stock interpreter refuses the model
    ("Encountered unresolved custom op") unless the application registers a
    kernel, and accelerators leave it on the CPU, usually in float.

    **How to fix it.** Rewrite the computation with builtin ops, convert with
    ``SELECT_TF_OPS`` if a TensorFlow kernel is acceptable on the device, or ship
    and register an integer kernel for the custom op with the interpreter.

    The ``ethos-u`` ops of a model compiled by Vela are NPU command streams, not kernels
    to look for; QL105 describes them instead.
    """

    id = "QL104"
    name = "custom-op"
    record = "tensorflow/tflite-custom-op"
    severity = Severity.WARNING
    summary = "CUSTOM op with no builtin int8 kernel"
    fix = ("Rewrite with builtin ops, allow SELECT_TF_OPS, or register an integer kernel for "
           "the custom op in the interpreter.")
    stages = frozenset({"converted"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        compiled = npu_compiled(graph).nodes
        for op in graph.ops_of_type({"CUSTOM"}):
            if op in compiled:
                continue
            node = graph[op]
            code = node["attrs"].get("custom_code") or "?"
            precision = compute_precision(graph, op)
            runs = " on float32 tensors" if precision == "float" else ""
            yield self.finding(
                graph, op,
                f"custom op '{code}' has no builtin kernel; the interpreter needs a registered "
                f"implementation and no int8 kernel can be assumed{runs}",
            )
