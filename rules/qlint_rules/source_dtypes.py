"""QL210 concat-dtype-promotion and QL211 float16-policy: dtypes in source graphs that
break int8 conversion."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import FLOAT_DTYPES, ModelGraph, NodeId
from qlint.registry import Context, Rule

SOURCE_FORMATS = frozenset({"savedmodel", "keras"})
CONCAT_OPS = frozenset({"ConcatV2", "Concat", "Concatenate"})
INT_DTYPES = frozenset({"int8", "uint8", "int16", "int32", "int64", "uint16", "uint32",
                        "uint64", "bool"})
HALF_DTYPES = frozenset({"float16", "bfloat16"})
HALF_POLICIES = frozenset({"mixed_float16", "float16", "mixed_bfloat16", "bfloat16"})
# Ops that only move or convert data; a float16 tensor through them is not compute.
NON_COMPUTE = frozenset({"Cast", "Const", "Reshape", "Identity", "Shape", "ReadVariableOp"})


def _concat_inputs(graph: ModelGraph, op: NodeId) -> list[NodeId]:
    ins = [t for t in graph.inputs(op) if t is not None]
    src = graph[op]["source_op"]
    if src == "ConcatV2":
        ins = ins[:-1]  # the axis
    elif src == "Concat":
        ins = ins[1:]
    return ins


class ConcatDtypePromotion(Rule):
    """Flags concatenations that join tensors of different dtypes or promoted branches.

    **What it flags.** A ``Concatenate`` layer or ``ConcatV2`` op whose inputs have
    different dtypes, or that joins an integer input (an index, a mask, a
    count) to float features, directly or through a ``Cast`` to float.

    **Why it matters.** A TFLite ``CONCATENATION`` quantizes all its inputs with
    the output's scale and zero point.  An integer branch cast to float has a
    range unrelated to the features it joins: calibration widens the shared
    range and crushes the features' resolution, and the ``CAST`` feeding it has
    no int8 kernel, so it stays in float (QL110).  Mixed dtypes at the Keras
    level are promoted silently by the framework, hiding the problem.

    **How to fix it.** Keep integer data out of the feature concat: embed it
    (``Embedding``), or normalise and cast it in pre-processing so the model
    input is already float in a comparable range; concatenate tensors of one
    dtype and similar ranges.
    """

    id = "QL210"
    name = "concat-dtype-promotion"
    record = "tensorflow/tflite-concat-dtype-promotion"
    severity = Severity.WARNING
    summary = "Concatenate/ConcatV2 joining different dtypes or an integer branch cast to float"
    fix = ("Concatenate tensors of one dtype and comparable range; embed or pre-process "
           "integer inputs instead of casting them into the feature concat.")
    stages = frozenset({"source"})
    formats = SOURCE_FORMATS

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops():
            if graph[op]["source_op"] not in CONCAT_OPS:
                continue
            ins = _concat_inputs(graph, op)
            dtypes = [graph[t]["dtype"] for t in ins]
            known = {d for d in dtypes if d != "unknown"}
            casts: list[tuple[NodeId, str]] = []
            for t in ins:
                p = graph.producer(t)
                if p is None or graph[p]["source_op"] != "Cast":
                    continue
                src = [s for s in graph.inputs(p) if s is not None]
                if src and graph[src[0]]["dtype"] in INT_DTYPES and graph[t]["dtype"] in \
                        FLOAT_DTYPES:
                    casts.append((p, graph[src[0]]["dtype"]))
            name = graph[op]["name"]
            if len(known) > 1:
                listed = ", ".join(f"{graph[t]['name']}: {graph[t]['dtype']}" for t in ins)
                ints = [d for d in known if d in INT_DTYPES]
                extra = " (an integer input joined to float features)" if ints and \
                    known & FLOAT_DTYPES else ""
                yield self.finding(
                    graph, op,
                    f"{graph[op]['source_op']} '{name}' joins inputs of different dtypes "
                    f"{sorted(known)}{extra}: {listed}",
                    related=[graph.producer(t) or t for t in ins],
                )
            elif casts:
                listed = ", ".join(f"{graph[p]['name']} ({d} -> float)" for p, d in casts)
                yield self.finding(
                    graph, op,
                    f"{graph[op]['source_op']} '{name}' joins an integer branch cast to float "
                    f"with float features: {listed}; the shared int8 scale must cover both",
                    related=[p for p, _ in casts],
                )


class Float16Policy(Rule):
    """Flags float16 / mixed-precision layers and ops in a model meant for int8.

    **What it flags.** Keras layers built under a ``mixed_float16``,
    ``float16``, ``mixed_bfloat16`` or ``bfloat16`` dtype policy, and in a
    SavedModel, compute ops whose tensors are float16/bfloat16.  One finding
    per model, on the first such layer or op, with the count.

    **Why it matters.** TFLite builtins take float32 or quantized activations,
    not float16 ones: strict int8 conversion of such a model fails with
    ``'tf.Conv2D' op is neither a custom op nor a flex op`` (the details show
    ``f16`` tensors), and the representative dataset cannot calibrate it.

    **How to fix it.** Set the policy back to float32 before building the model
    for conversion (``keras.mixed_precision.set_global_policy("float32")``),
    rebuild it and load the trained weights, then convert.  Keep mixed
    precision for training only.
    """

    id = "QL211"
    name = "float16-policy"
    record = "tensorflow/tflite-mixed-precision-policy"
    severity = Severity.ERROR
    summary = "float16/mixed-precision layers or ops in a model meant for int8"
    fix = ("Rebuild the model under the float32 policy, load the trained weights, and convert "
           "that model.")
    stages = frozenset({"source"})
    formats = SOURCE_FORMATS

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        hits: list[NodeId] = []
        policy = None
        for op in graph.ops():
            node = graph[op]
            if graph.format == "keras":
                pol = node["attrs"].get("policy")
                if pol in HALF_POLICIES:
                    hits.append(op)
                    policy = policy or pol
            elif node["source_op"] not in NON_COMPUTE and any(
                    graph[t]["dtype"] in HALF_DTYPES for t in graph.activations(op)):
                hits.append(op)
        if not hits:
            return
        first = graph[hits[0]]
        what = (f"{len(hits)} layer(s) use the {policy} dtype policy" if graph.format == "keras"
                else f"{len(hits)} op(s) compute in float16/bfloat16")
        yield self.finding(
            graph, hits[0],
            f"{what}, first {first['source_op']} '{first['name']}': TFLite builtins take no "
            f"float16 activations, so strict int8 conversion fails (\"'tf.Conv2D' op is "
            f"neither a custom op nor a flex op\" with f16 tensors)",
            related=hits[1:20],
        )
