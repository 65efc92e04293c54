"""QL120 fake-quant-coverage: quantization-aware-training graphs with missing ranges."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import FLOAT_DTYPES, ModelGraph, NodeId
from qlint.registry import Context, Rule

FAKE_QUANT = frozenset({"FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxArgs",
                        "FakeQuantWithMinMaxVarsPerChannel", "QuantizeAndDequantizeV2",
                        "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4"})
# Ops the converter fuses into the producer, or that keep their input's range.
FUSED_OR_SAME_SCALE = frozenset({"BiasAdd", "Relu", "Relu6", "Identity", "Reshape", "Squeeze",
                                 "ExpandDims", "MaxPool", "FusedBatchNormV3", "Transpose",
                                 "StridedSlice", "Pad", "ConcatV2"})
# Keras layers that compute nothing a range is needed for: they keep their input's range or
# vanish at inference (TFMOT's default registry leaves them unwrapped or no-op quantized).
KERAS_PASS_THROUGH = frozenset({"InputLayer", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
                                "Flatten", "Reshape", "Permute", "Dropout", "SpatialDropout1D",
                                "SpatialDropout2D", "SpatialDropout3D", "ZeroPadding1D",
                                "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D",
                                "Cropping3D", "Identity"})


class FakeQuantCoverage(Rule):
    """Flags FakeQuant ops without usable ranges and ops a QAT graph leaves unquantized.

    **What it flags.** In a SavedModel holding quantization-aware-training ops:
    (1) a ``FakeQuantWithMinMaxArgs`` whose ``min`` is not below ``max``, or a
    ``FakeQuantWithMinMaxVars`` whose min/max are computed at run time instead
    of being variables or constants; (2) ops downstream of a FakeQuant whose
    float output reaches another compute op without passing a FakeQuant and
    without being fused into it (a Conv2D followed by BiasAdd/Relu is fused).
    In a ``.keras`` or ``.h5`` model trained with TFMOT (``QuantizeLayer`` and
    ``QuantizeWrapperV2`` layers, whose wrapped layers are what qlint lints): a
    computing layer downstream of the QAT layers that no ``QuantizeWrapperV2`` wraps.

    **Why it matters.** The converter takes a QAT graph's ranges from its
    FakeQuant ops.  A missing or empty range leaves a tensor without
    quantization parameters: conversion then needs a representative dataset or
    fails with ``Max and min for dynamic tensors should be recorded during
    calibration``, and an uncovered op is quantized with a range the training
    never saw, undoing what QAT was for.

    **How to fix it.** Quantize every layer with the model optimization toolkit
    (``tfmot.quantization.keras.quantize_model`` or annotate the missing layers),
    give FakeQuant ops learned or constant ranges, or provide a representative
    dataset for the uncovered tensors.
    """

    id = "QL120"
    name = "fake-quant-coverage"
    record = "tensorflow/tflite-quantization-range"
    severity = Severity.WARNING
    summary = "QAT graph: FakeQuant without a range, or ops left between FakeQuants uncovered"
    fix = ("Quantize every layer in QAT (or annotate the missing ones), give FakeQuant ops "
           "constant/learned ranges, or calibrate the uncovered tensors.")
    stages = frozenset({"source"})
    formats = frozenset({"savedmodel", "keras"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if graph.format == "keras":
            yield from self._check_keras(graph)
            return
        fq = [op for op in graph.ops() if graph[op]["source_op"] in FAKE_QUANT]
        if not fq:
            return
        for op in fq:
            node = graph[op]
            attrs = node["attrs"]
            if node["source_op"] == "FakeQuantWithMinMaxArgs":
                lo, hi = attrs.get("min", -6.0), attrs.get("max", 6.0)
                if not lo < hi:
                    yield self.finding(graph, op, f"{node['source_op']} '{node['name']}' has an "
                                       f"empty range (min={lo}, max={hi})")
            elif node["source_op"].startswith("FakeQuantWithMinMaxVars"):
                ranges = [t for t in graph.inputs(op)[1:3] if t is not None]
                dynamic = [t for t in ranges if not graph[t]["constant"]]
                if len(ranges) < 2 or dynamic:
                    yield self.finding(
                        graph, op,
                        f"{node['source_op']} '{node['name']}' has no fixed range: its min/max "
                        f"are computed at run time, so the converter cannot read them",
                        related=[graph.producer(t) or t for t in dynamic])
        covered = self._downstream(graph, fq)
        for op in graph.ops():
            if op not in covered or graph[op]["source_op"] in FAKE_QUANT | \
                    FUSED_OR_SAME_SCALE:
                continue
            for t in graph.outputs(op):
                if t is None or graph[t]["dtype"] not in FLOAT_DTYPES:
                    continue
                if self._reaches_fake_quant(graph, t):
                    continue
                users = graph.consumers(t)
                if not users:
                    continue
                yield self.finding(
                    graph, op,
                    f"{graph[op]['source_op']} '{graph[op]['name']}' sits after a FakeQuant "
                    f"but its output reaches {graph[users[0]]['source_op']} without one: the "
                    f"QAT graph gives this tensor no range",
                    related=users[:5])
                break

    def _check_keras(self, graph: ModelGraph) -> Iterator[Finding]:
        qat = [op for op in graph.ops() if graph[op]["attrs"].get("qat")]
        if not qat:
            return
        for op in sorted(self._downstream(graph, qat), key=lambda o: graph[o]["index"]):
            node = graph[op]
            if node["attrs"].get("qat") or node["source_op"] in KERAS_PASS_THROUGH:
                continue
            yield self.finding(
                graph, op,
                f"{node['source_op']} layer '{node['name']}' follows quantization-aware-"
                f"training layers but no QuantizeWrapperV2 wraps it: training gave its "
                f"weights and output no range, so the converter needs a representative "
                f"dataset for it or leaves it float",
                fix="Annotate the layer (tfmot.quantization.keras.quantize_annotate_layer) "
                    "before quantize_apply, or calibrate it with a representative dataset.",
            )

    @staticmethod
    def _downstream(graph: ModelGraph, start: list[NodeId]) -> set[NodeId]:
        seen: set[NodeId] = set()
        stack = list(start)
        while stack:
            op = stack.pop()
            for t in graph.outputs(op):
                if t is None:
                    continue
                for c in graph.consumers(t):
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)
        return seen

    @staticmethod
    def _reaches_fake_quant(graph: ModelGraph, tensor: NodeId, depth: int = 4) -> bool:
        """True when ``tensor`` reaches a FakeQuant through fused or same-scale ops only."""
        frontier = [tensor]
        for _ in range(depth):
            nxt: list[NodeId] = []
            for t in frontier:
                for c in graph.consumers(t):
                    src = graph[c]["source_op"]
                    if src in FAKE_QUANT:
                        return True
                    if src in FUSED_OR_SAME_SCALE:
                        nxt.extend(o for o in graph.outputs(c) if o is not None)
            frontier = nxt
        return False
