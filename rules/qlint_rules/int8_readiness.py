"""QL101 no-int8-kernel: ops of a float model that will not get an integer kernel."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from qlint.analysis import CONVERSION_OPS
from qlint.conditions import all_hold, describe
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.op_facts import op_facts
from qlint.predict.carry import (
    CARRIED_DTYPES,
    beside_float,
    carried_pairs,
    carrier,
    carry_holds,
    carrying,
    sibling_pairs,
)
from qlint.predict.patterns import tf_op_lowerings
from qlint.predict.tables import (
    CONVERSION_ERROR,
    FLOAT_FALLBACK,
    RUNTIME_ERROR,
    CapabilityTable,
    OpCapability,
    TfOpCapability,
)
from qlint.registry import Context, Rule
from qlint.unknowable_facts import may_hold, unknowable_in

#: Quantization modes of a model that has not been integer-quantized yet.
FLOAT_MODES = frozenset({"float", "fp16-weights"})


class Int8Readiness(Rule):
    """Flags ops of a float model that will not run on integer kernels on the target.

    **What it flags.** In a converted ``.tflite`` model that is still float
    (``quant_mode`` ``float`` or ``fp16-weights``), every op whose probed
    capability on ``--target`` is not ``integer``:

    * ``float_fallback``: full-integer conversion succeeds, but the op stays in
      float32 between DEQUANTIZE and QUANTIZE (a silent float island);
    * ``conversion_error``: full-integer conversion fails on this op;
    * ``runtime_error``: the quantized model converts, but the runtime cannot
      prepare or invoke the op (on ``tflm-int8`` this includes ops TensorFlow
      Lite Micro has no kernel for);
    * an op the probe saw stay float together with the flagged op that feeds it (a
      ``tf_ops`` pattern of the table: an int32 -> float32 CAST keeps the
      CONCATENATION it feeds in float32), where the op meets the pattern's conditions
      on it (a RESHAPE of a float NEG stays float when its result is stacked, not when
      it is the model's output);
    * an op integer on its own that the probe saw stay float under a condition on its
      neighbours the op meets (a ``tf_ops`` variant with ``when`` conditions over the
      op's facts: an ARG_MAX reading a tensor that is also a model output);
    * an op that *may* stay float: under a variant the converter decided differently
      from conversion to conversion (a split with a part nothing reads), or whose
      condition is on a fact a ``.tflite`` file cannot show (`qlint.unknowable_facts`:
      a grouped-query repeat of values whose projection is also the rotated keys', float
      where the source's key and value kernels were merged, int8 for one projection
      read twice), and the ops float carries to from it.

    Ops computing on int32 or bool tensors only (shape arithmetic) are integer
    whatever their builtin, as the probe classifies them.  The verdict comes from
    the capability table of the target, measured by
    ``python -m tools.probe`` with the real converter and interpreter; the
    finding quotes the probed message and the versions it was probed on.  Ops
    whose capability is ``unprobed`` (the probe could not build a model for
    them) or that are absent from the table get no finding here: qlint does not
    guess, and QL190 (unknown-op) names them instead.

    **Why it matters.** A float fallback costs the speed and memory the
    quantization was meant to win and breaks integer-only accelerators and
    microcontrollers; a conversion or runtime error stops the deployment.

    **How to fix it.** Replace the op with an equivalent built from ops that
    have integer kernels on the target (see ``docs/ops.md``), move it out of the
    model (pre/post-processing), or pick a target that supports it.  If a float
    island is acceptable, convert with ``TFLITE_BUILTINS`` added to
    ``supported_ops`` and accept the DEQUANTIZE/QUANTIZE pair around it.
    """

    id = "QL101"
    name = "no-int8-kernel"
    record = "tensorflow/tflite-converter-unsupported-op"
    severity = Severity.ERROR
    summary = "op that will not get an integer kernel on the target when quantized"
    fix = (
        "Replace the op with ops that have integer kernels on the target (docs/ops.md), move it "
        "out of the model, or accept a float island with TFLITE_BUILTINS in supported_ops."
    )
    stages = frozenset({"converted"})
    formats = frozenset({"tflite"})

    def applies_to(self, graph: ModelGraph) -> bool:
        return super().applies_to(graph) and graph.quant_mode in FLOAT_MODES

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if graph.quant_mode not in FLOAT_MODES:
            return
        target = ctx.target
        table = target.table()
        carried = carried_pairs(table)
        siblings = sibling_pairs(table)
        conditioned = _conditioned_variants(table)
        refusing = _refusing_variants(table)
        flagged: set[NodeId] = set()
        maybe: set[NodeId] = set()  # flagged where a fact the file cannot show decides
        # ops with no integer kernel of their own, wherever they are in the model (a
        # SHAPE computing a transposed convolution's output shape runs before it)
        own_float = {op for op in graph.ops() if (c := table.op(graph[op]["op_type"]))
                     is not None and c.lacks_integer_kernel and _computes_in_float(graph, op)}
        for op in graph.ops():
            op_type = graph[op]["op_type"]
            if op_type in CONVERSION_OPS:
                continue
            cap = table.op(op_type)
            if not _computes_in_float(graph, op):
                continue  # on int32 / bool tensors only: integer, as the probe classifies
            found = _met_variant(graph, op, refusing.get(op_type, ()))
            refused = found[0] if found is not None and found[1] else None
            if refused is not None:  # refused outright under a probed condition
                flagged.add(op)
                yield self.finding(
                    graph, op,
                    f"{op_type} is refused when {describe(_when(refused))}: full-integer "
                    f"conversion fails with \"{(refused.message or '').split(' | ')[0]}\" "
                    f"(probed: {refused.probe or refused.name}; "
                    f"{table.provenance.summary()})",
                    severity=Severity.ERROR)
                continue
            if cap is None or not cap.lacks_integer_kernel:
                met = _met_variant(graph, op, conditioned.get(op_type, ()))
                if met is not None:
                    variant, certain = met
                    flagged.add(op)
                    when = _when(variant)
                    runs = variant.float_runs
                    stays = "stays" if certain and (runs is None or runs[0] == runs[1]) else (
                        "may stay" if runs is None
                        else f"may stay (in {runs[0]} of {runs[1]} probed conversions)")
                    if not certain:
                        maybe.add(op)
                    unknowable = "" if certain else f"; {'; '.join(unknowable_in(when))}"
                    yield self.finding(
                        graph, op,
                        f"{op_type} {stays} in float32 after full-integer conversion when "
                        f"{describe(when)}{unknowable} (probed: "
                        f"{variant.probe or variant.name}; {table.provenance.summary()})",
                        severity=Severity.WARNING)
                    continue
                fed_by = _fed_by_float(graph, op, op_type, carried, flagged, maybe)
                if fed_by is None and (beside := beside_float(
                        graph, op, op_type, flagged | own_float,
                        lambda o: str(graph[o]["op_type"]), siblings)) is not None:
                    fed_by = (f"reading the input of the float {graph[beside[0]]['op_type']}",
                              beside[1], beside[0] in maybe)
                if fed_by is not None:
                    flagged.add(op)
                    if fed_by[2]:
                        maybe.add(op)
                    yield self.finding(
                        graph, op,
                        f"{op_type} {fed_by[0]} {'may stay' if fed_by[2] else 'stays'} in "
                        f"float32 after full-integer conversion: the probe saw "
                        f"{', '.join(fed_by[1].float_ops)} stay float together "
                        f"({fed_by[1].probe or fed_by[1].name}; probed: "
                        f"{table.provenance.summary()})",
                        severity=Severity.WARNING)
                continue
            if cap.outcome == FLOAT_FALLBACK:
                flagged.add(op)
            yield self.finding(
                graph,
                op,
                _message(op_type, cap, target.name, table),
                severity=Severity.WARNING if cap.outcome == FLOAT_FALLBACK else Severity.ERROR,
            )


#: Floating-point dtypes, complex included, as the probe classifies float ops
#: (``tools/probe/classify.py``: an RFFT2D output is complex64).
FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16", "complex64",
                          "complex128"})


def _computes_in_float(graph: ModelGraph, op: NodeId) -> bool:
    """True when an activation of ``op`` is floating point (unknown dtypes count)."""
    acts = graph.activations(op)
    return not acts or any(graph[t]["dtype"] in FLOAT_DTYPES or graph[t]["dtype"] == "unknown"
                           for t in acts)


def _when(cap: TfOpCapability) -> list[Mapping[str, Any]]:
    """The entry's conditions over the facts of the builtin it lowers to (empty for a
    constant-operand condition): the probed ``when_builtin`` where the conditions read
    differently on a builtin, else ``when``."""
    w = cap.when_builtin or cap.when
    if isinstance(w, Sequence) and not isinstance(w, str):
        return list(w)
    return []


@cache  # per table: read-only, shared by every graph linted against it
def _conditioned_variants(table: CapabilityTable) -> dict[str, list[TfOpCapability]]:
    """Builtin -> probed variants that keep it float under conditions over its facts.

    A variant's conditions are facts of its own op, so they judge only the builtin that op
    lowers to alone (``Cast`` -> CAST), not the other float ops its probe saw (the
    RESHAPE around an ``RFFT`` of frames with an unknown batch size)."""
    lowered = tf_op_lowerings(table)
    out: dict[str, list[TfOpCapability]] = {}
    for cap in table.tf_ops():
        if cap.variant_of and _when(cap) and cap.outcome == FLOAT_FALLBACK:
            own = lowered.get(cap.variant_of)
            if own in cap.float_ops:
                out.setdefault(own, []).append(cap)
    return out


@cache
def _refusing_variants(table: CapabilityTable) -> dict[str, list[TfOpCapability]]:
    """Builtin -> probed variants under whose conditions the conversion fails on the one
    builtin their op lowers to (a grouped Conv3D's CONV_3D, refused by the kernel)."""
    lowered = tf_op_lowerings(table)
    out: dict[str, list[TfOpCapability]] = {}
    for cap in table.tf_ops():
        own = lowered.get(cap.variant_of or "")
        if cap.variant_of and _when(cap) and cap.outcome in (CONVERSION_ERROR, RUNTIME_ERROR) \
                and own is not None and tuple(cap.lowers_to or ()) == (own,):
            out.setdefault(own, []).append(cap)
    return out


def _met_variant(graph: ModelGraph, op: NodeId, variants: Sequence[TfOpCapability]
                 ) -> tuple[TfOpCapability, bool] | None:
    """The first variant whose every condition holds on the op (an unknown fact: no),
    with True; else, on a ``.tflite`` file, the first whose conditions the op may meet
    (on a fact the file cannot show, `qlint.unknowable_facts`), with False."""
    if not variants:
        return None
    facts = op_facts(graph, op, options=False)  # graph facts first: no bindings import
    if any(c.get("fact") not in facts for v in variants for c in _when(v)):
        facts = op_facts(graph, op)
    met = next((v for v in variants if all_hold(_when(v), facts) is True), None)
    if met is not None:
        return met, True
    if graph.format == "tflite":
        met = next((v for v in variants if may_hold(_when(v), facts)), None)
    return (met, False) if met is not None else None


def _fed_by_float(graph: ModelGraph, op: NodeId, op_type: str,
                  carried: dict[tuple[str, str, str], tuple[TfOpCapability, ...]],
                  flagged: set[NodeId], maybe: set[NodeId]
                  ) -> tuple[str, TfOpCapability, bool] | None:
    """The flagged producer and probed pattern that keep ``op`` float, if any, and
    whether they only may (the producer may stay float, or the pattern's conditions on
    ``op`` are on a fact the file cannot show)."""
    for t in graph.inputs(op):
        p = graph.producer(t) if t is not None else None
        if t is None or p is None or p not in flagged or graph[t]["dtype"] not in CARRIED_DTYPES:
            continue
        cap = carrier(graph, op, carrying(carried, graph[p]["op_type"], op_type,
                                          graph[t]["dtype"]), op_type, may=True)
        if cap is not None:
            may = p in maybe or not carry_holds(graph, op, cap, op_type)
            return f"fed by {graph[p]['op_type']}", cap, may
    return None


def _message(op_type: str, cap: OpCapability, target: str, table: CapabilityTable) -> str:
    """The finding text: what happens to the op, the probed message, and provenance."""
    where = table.provenance.summary()
    if cap.outcome == FLOAT_FALLBACK:
        seen = f", observed {cap.io}" if cap.io else ""
        what = (
            f"{op_type} has no integer kernel on {target}: full-integer conversion keeps it "
            f"in float32 between DEQUANTIZE/QUANTIZE{seen}"
        )
    elif cap.outcome == CONVERSION_ERROR:
        what = f"{op_type} fails full-integer conversion for {target}"
    elif cap.outcome == RUNTIME_ERROR:
        what = (
            f"{op_type} is not supported by the {target} runtime once quantized"
            if table.runtime == "tflm"
            else f"{op_type} converts for {target} but the interpreter cannot run it"
        )
    else:  # pragma: no cover - NOT_INTEGER has exactly the three outcomes above
        what = f"{op_type} does not get an integer kernel on {target}"
    quote = f': "{cap.message}"' if cap.message else ""
    return f"{what}{quote} (probed: {where})"
