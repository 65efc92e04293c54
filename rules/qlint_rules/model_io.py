"""QL4xx model I/O: float or uint8 inputs/outputs of an integer model."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.analysis import is_integer_model, precisions
from qlint.finding import Finding, Severity
from qlint.graph import FLOAT_DTYPES, ModelGraph, NodeId
from qlint.registry import Context, Rule


def _io(graph: ModelGraph) -> Iterator[tuple[str, NodeId]]:
    """("input"|"output", tensor) for the model's entry subgraph (subgraph 0)."""
    subgraphs = graph.attrs.get("subgraphs") or []
    if not subgraphs:
        return
    for t in subgraphs[0]["inputs"]:
        yield "input", t
    for t in subgraphs[0]["outputs"]:
        yield "output", t


def _edge(graph: ModelGraph, role: str, t: NodeId) -> NodeId | None:
    """The op at the model's edge: the input's first consumer (its QUANTIZE when it has
    one), or the output's producer; ``None`` for an unused input or a constant output."""
    if role == "input":
        users = graph.consumers(t)
        fence = [c for c in users if graph[c]["op_type"] == "QUANTIZE"]
        first = fence or users
        return first[0] if first else None
    return graph.producer(t)


class FloatModelIO(Rule):
    """Flags float32 inputs and outputs on a model whose compute is integer.

    **What it flags.** A float model input or output of a model that computes on
    integers, whatever op sits at the edge: a QUANTIZE after the input or a
    DEQUANTIZE before the output (the converter's default when
    ``inference_input_type``/``inference_output_type`` are left at float32), or a
    float op with no int8 kernel that reads the input or writes the output itself
    (``NEG``, ``POW``, ``CUMSUM`` at the edge: with the I/O types left unset the
    converter puts no QUANTIZE/DEQUANTIZE there).

    **Why it matters.** The edge ops run on the CPU in float.  Int8-only
    accelerators reject or split the graph there (Edge TPU: "Operation is working
    on an unsupported data type"; Vela places them on the CPU), and the
    application pays a float conversion per inference.

    **How to fix it.** Convert with ``converter.inference_input_type = tf.int8``
    and ``converter.inference_output_type = tf.int8`` and quantize/dequantize in
    the application with the input/output scale and zero point.  Measured with
    TF 2.21 (``rules/qlint_rules/measured/float-outputs.json``): with int8 I/O types
    every output came out int8, a float op at the edge included (the converter adds a
    QUANTIZE after it and a DEQUANTIZE before it); the float op itself stays float
    (QL103).
    """

    id = "QL401"
    name = "float-model-io"
    record = "tensorflow/tflite-float-model-io"
    severity = Severity.WARNING
    summary = ("float32 input/output on an integer model (QUANTIZE/DEQUANTIZE or a float op "
               "at the edges)")
    fix = ("Set converter.inference_input_type and inference_output_type to tf.int8 and "
           "(de)quantize in the application.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if not is_integer_model(graph):
            return
        precision = precisions(graph)
        for role, t in _io(graph):
            node = graph[t]
            if node["dtype"] not in FLOAT_DTYPES:
                continue
            op = _edge(graph, role, t)
            if op is None:
                continue
            op_type = graph[op]["op_type"]
            fix = None
            if op_type in ("QUANTIZE", "DEQUANTIZE"):
                verb = "quantized" if role == "input" else "dequantized"
                how = f"{verb} by {op_type} at the edge"
            else:
                verb = "read" if role == "input" else "written"
                kind = " float" if precision[op] == "float" else ""
                how = f"{verb} by{kind} {op_type} at the edge, with no QUANTIZE/DEQUANTIZE"
                setting, fence = (("inference_input_type", f"a DEQUANTIZE before {op_type}")
                                  if role == "input" else
                                  ("inference_output_type", f"a QUANTIZE after {op_type}"))
                fix = (f"Set converter.{setting} = tf.int8: the converter then puts {fence} and "
                       f"the {role} is int8; {op_type} itself stays float unless it is replaced "
                       "with ops that have int8 kernels.")
            yield self.finding(
                graph, t,
                f"model {role} '{node['name']}' is {node['dtype']} on an integer model ({how})",
                related=[op], fix=fix,
            )


class Uint8ModelIO(Rule):
    """Flags uint8 model inputs and outputs when the target is int8.

    **What it flags.** Inputs or outputs of type uint8 on a model linted for an
    int8 target (``tflite-int8``, ``tflm-int8``), usually from
    ``inference_input_type = tf.uint8`` or a legacy TF1-style model.

    **Why it matters.** The int8 spec is signed and symmetric-weight; uint8 I/O
    adds a requantizing QUANTIZE at the edge (zero point shifted by 128), and
    runtimes that removed uint8 (TFLite Micro) or int8-only NPUs reject it.

    **How to fix it.** Convert with ``inference_input_type = tf.int8`` (and the
    output likewise) and subtract 128 from uint8 image data in the application.
    """

    id = "QL402"
    name = "uint8-model-io"
    record = "tensorflow/tflite-uint8-model-io"
    severity = Severity.WARNING
    summary = "uint8 input/output where the target is int8"
    fix = ("Convert with inference_input_type/inference_output_type = tf.int8; shift uint8 "
           "data by -128 in the application.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if ctx.target.mode != "int8":
            return
        for role, t in _io(graph):
            node = graph[t]
            if node["dtype"] != "uint8":
                continue
            related = (graph.consumers(t) if role == "input"
                       else [p for p in [graph.producer(t)] if p is not None])
            yield self.finding(
                graph, t,
                f"model {role} '{node['name']}' is uint8 but the target {ctx.target.name} is int8",
                related=related,
            )
