"""QL501-QL504: what the chosen target cannot run, at every stage, and how an NPU splits it.

One severity policy for every stage (float ``.tflite``, integer ``.tflite``, source):

* **error**: the target cannot run the model as it is (no integer kernel on the
  target's runtime, QL501; Vela refuses the model, QL503);
* **warning**: it runs, but off the fast path (an op the NPU leaves to the CPU, QL502);
* **info**: how the model is split (NPU partitions and transitions, QL504).

Float ``.tflite`` models keep QL101 for the ops that will not get an integer kernel;
QL501 covers integer ``.tflite`` models and source graphs, so no op is reported twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from qlint.analysis import CONVERSION_OPS, compute_precision
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.predict.tables import RUNTIME_ERROR, CapabilityTable, OpCapability
from qlint.registry import Context, Rule
from qlint.targets import Target

if TYPE_CHECKING:
    from qlint.placement import OpPlacement

#: Quantization modes of a ``.tflite`` model that runs on integer kernels.
INTEGER_MODES = frozenset({"full-int8", "int16x8", "mixed"})
FLOAT_MODES = frozenset({"float", "fp16-weights"})
SOURCE_FORMATS = frozenset({"savedmodel", "keras"})
FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})


def _runtime_message(op_type: str, cap: OpCapability, target: Target,
                     table: CapabilityTable) -> str:
    quote = f': "{cap.message}"' if cap.message else ""
    return (f"{op_type} has no integer kernel the {target.name} runtime ({table.runtime}) can "
            f"run{quote} (probed: {table.provenance.summary()})")


class TargetNoKernel(Rule):
    """Flags ops of an integer model or a source graph that the target's runtime cannot run.

    **What it flags.** For the target's runtime (``--target``: ``tflite-int8``,
    ``tflm-int8``, or the CPU side of an Ethos-U target, which is TensorFlow Lite
    Micro), every op whose probed int8 outcome on that runtime is ``runtime_error``:

    * in a full-integer ``.tflite`` model, an op such as ``SQRT`` that TensorFlow Lite
      Micro has no int8 kernel for (TFLM stops with ``Node SQRT (number N) failed to
      invoke ... INT8 != FLOAT32``).  On an Ethos-U target only ops Vela leaves on
      the CPU need a TFLM kernel;
    * in a dynamic-range (hybrid) ``.tflite`` model on a TFLM target, the first op
      with float activations and int8 weights: TFLM has no hybrid kernels;
    * in a SavedModel or Keras model, a TF op or Keras layer with a float output (the
      tensors int8 conversion quantizes; int32 shape arithmetic is folded or stays
      int32) whose probed conversion lowers to such a builtin (the prediction names
      the builtin).

    Float ``.tflite`` models are covered by QL101, which uses the same tables.

    **Why it matters.** The model converts, then the target's interpreter refuses
    it at ``AllocateTensors`` or ``Invoke``: nothing runs on the device.

    **How to fix it.** Replace the op with ops the target has integer kernels for
    (``docs/ops.md`` lists the probed TFLM column), move it out of the model, or pick
    a target whose runtime has the kernel.
    """

    id = "QL501"
    name = "target-no-kernel"
    record = "tflm/missing-int8-kernel"
    severity = Severity.ERROR
    summary = "op the target's integer runtime has no kernel for (integer models and sources)"
    fix = ("Replace the op with ops the target's runtime has int8 kernels for (docs/ops.md), "
           "move it out of the model, or choose a target that has the kernel.")
    stages = frozenset({"converted", "source"})
    formats = frozenset({"tflite", "savedmodel", "keras"})

    def applies_to(self, graph: ModelGraph) -> bool:
        if not super().applies_to(graph):
            return False
        return graph.format in SOURCE_FORMATS or graph.quant_mode not in FLOAT_MODES

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        target = ctx.target
        table = target.table()
        if graph.format in SOURCE_FORMATS:
            yield from self._source(graph, target, table)
            return
        if graph.quant_mode == "dynamic-range":
            if table.runtime == "tflm":
                yield from self._hybrid(graph, target)
            return
        on_cpu = _cpu_ops(graph, target)
        for op in graph.ops():
            op_type = graph[op]["op_type"]
            if op_type in CONVERSION_OPS or (on_cpu is not None and op not in on_cpu):
                continue
            if compute_precision(graph, op) not in ("int8", "int16"):  # int32 was not probed
                continue
            cap = table.op(op_type)
            if cap is not None and cap.outcome == RUNTIME_ERROR:
                yield self.finding(graph, op, _runtime_message(op_type, cap, target, table))

    def _hybrid(self, graph: ModelGraph, target: Target) -> Iterator[Finding]:
        for op in graph.ops():
            if compute_precision(graph, op) == "float" and any(
                t is not None and graph[t].get("constant") and graph[t].get("dtype") == "int8"
                for t in graph.inputs(op)
            ):
                yield self.finding(
                    graph, op,
                    f"dynamic-range (hybrid) model: {graph[op]['op_type']} takes float "
                    f"activations with int8 weights, which {target.name} (TensorFlow Lite "
                    "Micro) has no kernels for; convert with full-integer quantization",
                    fix="Convert with a representative dataset and TFLITE_BUILTINS_INT8 "
                        "(full-integer), not dynamic-range quantization.")
                return

    def _source(self, graph: ModelGraph, target: Target,
                table: CapabilityTable) -> Iterator[Finding]:
        tf_table = _tf_table()
        if tf_table is None:
            return
        for op in graph.ops():
            node = graph[op]
            source_op = node.get("source_op") or node["op_type"]
            if graph.format == "keras":
                entries = tf_table.keras_layer(source_op)
                cap = entries[0] if entries else None
            else:
                cap = tf_table.tf_op(source_op)
            if cap is None or cap.outcome not in ("integer", RUNTIME_ERROR) or not cap.lowers_to:
                continue  # conversion problems are QL110/QL111's
            if not any(graph[t].get("dtype") in FLOAT_DTYPES
                       for t in graph.outputs(op) if t is not None):
                continue  # shape arithmetic on int32 is folded or stays int32, never int8
            for builtin in cap.lowers_to:
                kcap = table.op(builtin)
                if kcap is not None and kcap.outcome == RUNTIME_ERROR:
                    yield self.finding(
                        graph, op,
                        f"{source_op} converts to int8 {builtin}, which "
                        + _runtime_message(builtin, kcap, target, table).split(" ", 1)[1])
                    break


def _tf_table() -> CapabilityTable | None:
    from qlint.predict.patterns import source_table

    return source_table()


def _cpu_ops(graph: ModelGraph, target: Target) -> set[NodeId] | None:
    """Ops an NPU target leaves on the CPU (``None`` for CPU-only targets: every op)."""
    if target.npu is None:
        return None
    from qlint.placement import CPU, UNKNOWN, placements

    return {op for op, p in placements(graph, target.npu).items()
            if p.placement in (CPU, UNKNOWN)}


def _npu_target(ctx: Context, graph: ModelGraph) -> Target | None:
    target = ctx.target
    if target.npu is None or graph.quant_mode not in INTEGER_MODES | FLOAT_MODES:
        return None
    return target


def _npu_placements(ctx: Context, graph: ModelGraph
                    ) -> tuple[Target, str, dict[NodeId, OpPlacement]] | None:
    """The Ethos-U target, its placement table's provenance and each op's placement."""
    target = _npu_target(ctx, graph)
    if target is None:
        return None
    from qlint.placement import placements

    table = target.placement_table()
    assert table is not None and target.npu is not None
    return target, table.summary(), placements(graph, target.npu)


def _once(graph: ModelGraph) -> str:
    """`` once quantized`` for a float model (the prediction is for its int8 conversion)."""
    return " once quantized" if graph.quant_mode in FLOAT_MODES else ""


class NpuCpuFallback(Rule):
    """Flags each op an Ethos-U target's Vela compiler leaves on the CPU.

    **What it flags.** On an Ethos-U target (``--target ethos-u55-128`` and the
    other Vela accelerator configs), every op of a ``.tflite`` model (a float model:
    as its default full-integer conversion will be, "once quantized") that the
    probed placement table predicts Vela will place on the CPU, quoting the
    reason Vela printed for the probed model (``kernel width: 9 out of range``,
    ``Unsupported kernel stride: 4, 4``, ``Unsupported opType``, ...) and the
    condition that selects it.  Float model I/O fences (QUANTIZE / DEQUANTIZE of a
    float tensor) go to the CPU too.  Ops whose placement qlint cannot predict (an
    op never probed, a fact it cannot compute) are counted in QL504, not here.

    **Why it matters.** Each CPU op splits the NPU command stream: the data goes
    back to the Cortex-M, runs on a TFLite Micro kernel at a fraction of the speed,
    and comes back, and every split costs a transition.

    **How to fix it.** Change the op so Vela's constraint holds (the message names
    it: a smaller pool kernel, stride ≤ 3, a mean over height and width instead of
    channels, a 2x resize, batch 1, int8 model I/O), or accept the CPU op.
    """

    id = "QL502"
    name = "npu-cpu-fallback"
    record = "vela/npu-cpu-fallback"
    severity = Severity.WARNING
    summary = "op the Ethos-U target's Vela compiler places on the CPU"
    fix = ("Change the op so Vela's constraint holds (see the quoted reason), make model I/O "
           "int8, or accept the CPU op.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        placed = _npu_placements(ctx, graph)
        if placed is None:
            return
        from qlint.placement import CPU

        target, where, ops = placed
        for op, p in ops.items():
            if p.placement != CPU:
                continue
            op_type = graph[op]["op_type"]
            why = f': "{p.reason}"' if p.reason else ""
            basis = ("Vela source predicate" if p.from_source
                     else f"probed models: {', '.join(p.points[:3])}")
            yield self.finding(
                graph, op,
                f"Vela places {op_type} on the CPU on {target.name}{_once(graph)}{why} "
                f"(when {p.conditions}; "
                f"{basis}; {where})")


class NpuRefused(Rule):
    """Flags an op that makes Vela refuse to compile the model for an Ethos-U target.

    **What it flags.** On an Ethos-U target, the op of a ``.tflite`` model (a float
    model: once quantized) that the probed placement table predicts Vela rejects
    outright (exit code 1):
    for example a RESHAPE whose output quantization differs from its input's
    (``Does not have valid TFLite Semantics. - Input and output quantisation must
    match``).  The TFLite interpreter accepts such a model; Vela does not.

    **Why it matters.** Nothing is compiled: the model cannot be deployed on the NPU
    at all until the op is fixed.

    **How to fix it.** Reconvert so the op has the quantization Vela requires (for
    RESHAPE and other data-movement ops, the same scale and zero point on input
    and output), or remove the op.
    """

    id = "QL503"
    name = "npu-refused"
    record = "vela/npu-refused"
    severity = Severity.ERROR
    summary = "op that makes Vela refuse the model on the Ethos-U target"
    fix = ("Give the op the quantization Vela requires (data-movement ops: the same input and "
           "output scale and zero point) by reconverting, or remove the op.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        placed = _npu_placements(ctx, graph)
        if placed is None:
            return
        from qlint.placement import REFUSED

        target, where, ops = placed
        for op, p in ops.items():
            if p.placement == REFUSED:
                why = f': "{p.reason}"' if p.reason else ""
                yield self.finding(
                    graph, op,
                    f"Vela refuses the model{_once(graph)} on {target.name} because of "
                    f"{graph[op]['op_type']}"
                    f"{why} (when {p.conditions}; {where})")


class NpuPartitions(Rule):
    """Reports how an Ethos-U target splits the model between NPU and CPU.

    **What it flags.** On an Ethos-U target, once per ``.tflite`` model (a float
    model: once quantized) that is not one NPU partition with every op placed: the
    number of NPU partitions
    (connected groups of NPU-placed ops, each one Vela custom op), the number of
    CPU↔NPU transitions (tensors passed between a CPU op and an NPU op), and how
    many ops are on the NPU, on the CPU, and of unknown placement (ops qlint cannot
    predict; they are counted as NPU in the partitions).  The same figures are in
    the text summary and the JSON report (``partitions``).

    **Why it matters.** Every partition boundary is a round trip through the CPU;
    a model in many partitions may run slower on the NPU than expected.

    **How to fix it.** Fix the QL502 ops that sit between NPU partitions, or move
    CPU-only work to the start or end of the model.
    """

    id = "QL504"
    name = "npu-partitions"
    record = "vela/npu-partitions"
    severity = Severity.INFO
    summary = "NPU partitions and CPU/NPU transitions of the model on the Ethos-U target"
    fix = "Fix the QL502 ops between NPU partitions, or move CPU work to the model's ends."

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        target = _npu_target(ctx, graph)
        if target is None:
            return
        from qlint.placement import partitions

        assert target.npu is not None
        parts = partitions(graph, target.npu)
        if parts.npu_partitions == 1 and not parts.cpu_ops and not parts.unknown_ops:
            return
        anchor = next(iter(graph.ops()), None)
        if anchor is None:
            return
        unknown = (f", {parts.unknown_ops} of unknown placement (counted as NPU)"
                   if parts.unknown_ops else "")
        yield self.finding(
            graph, anchor,
            f"on {target.name}{_once(graph)}: {parts.npu_partitions} NPU partition(s), "
            f"{parts.transitions} "
            f"CPU/NPU transition(s); {parts.npu_ops} op(s) on the NPU, {parts.cpu_ops} on the "
            f"CPU{unknown}")
