"""QL190 unknown-op: ops, layers and builtins the probed tables have no verdict for."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from qlint.analysis import CONVERSION_OPS
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.predict.patterns import source_table
from qlint.predict.source import unknown_ops
from qlint.predict.tables import UNPROBED
from qlint.registry import Context, Rule

FLOAT_MODES = frozenset({"float", "fp16-weights"})
#: Builtins other rules speak for (QL104 custom-op).
NOT_HERE = frozenset({"CUSTOM"})
TABLES = "rules/qlint_rules/capabilities/"
_TF_OPS = f"python -m tools.probe --out {TABLES} --ops '' --modes int8 --no-tflm --update --tf-ops"


def probe_command(kind: str, name: str) -> str:
    """The command that would give ``name`` a verdict."""
    if kind == "builtin":
        return f"python -m tools.probe --out {TABLES} --update --ops {name}"
    if kind == "layer":
        return f"{_TF_OPS} keras.{name}"
    if kind == "activation":
        return f"{_TF_OPS} 'keras.Activation({name})'"
    if kind == "tf_function":
        return f"{_TF_OPS} {name}"
    return f"{_TF_OPS} {name}` (with a builder for {name} in tools/probe/tf_ops.py)"


class UnknownOp(Rule):
    """Says which ops qlint has no probed verdict for, instead of staying silent.

    **What it flags.** Each op type of a float ``.tflite`` model whose builtin has
    no entry, or an ``unprobed`` entry, in the target's capability table; each TF op
    of a SavedModel that neither has its own probed ``tf_ops`` entry nor belongs to
    a probed pattern; each Keras layer class and activation with no probed entry.
    One finding per op type (the other ops of the type are listed as related); the
    message names the op and the ``python -m tools.probe`` command that would
    measure it.

    **Why it matters.** qlint's predictions come only from what the real converter
    and interpreter were seen to do.  Without this finding an op nobody measured
    would be reported exactly like an op known to quantize cleanly: "no findings"
    must mean "every op is known to be fine".

    **How to fix it.** Run the probe command in the message (add a builder to
    ``tools/probe/tf_ops.py`` or ``tools/probe/builders.py`` first when the op has
    none) and commit the updated table, or convert the model once and lint the
    converted ``.tflite``, where qlint reads what the converter really did.
    """

    id = "QL190"
    name = "unknown-op"
    record = "tensorflow/tflite-op-unprobed"
    severity = Severity.INFO
    summary = "op, layer or builtin with no probed int8 verdict: qlint cannot tell"
    fix = ("Probe it with the command in the message and commit the table, or convert once and "
           "lint the .tflite.")
    stages = frozenset({"source", "converted"})
    formats = frozenset({"tflite", "savedmodel", "keras"})

    def applies_to(self, graph: ModelGraph) -> bool:
        if not super().applies_to(graph):
            return False
        return graph.stage == "source" or graph.quant_mode in FLOAT_MODES

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if graph.stage == "source":
            yield from self._source(graph)
        elif graph.quant_mode in FLOAT_MODES:
            yield from self._builtins(graph, ctx)

    def _builtins(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        tab = ctx.target.table()
        groups: dict[str, list[NodeId]] = defaultdict(list)
        for op in graph.ops():
            op_type = graph[op]["op_type"]
            if op_type in CONVERSION_OPS or op_type in NOT_HERE:
                continue
            cap = tab.op(op_type)
            if cap is None or cap.outcome == UNPROBED:
                groups[op_type].append(op)
        where = tab.provenance.file
        for op_type, ops in groups.items():
            cap = tab.op(op_type)
            why = (f"its entry is unprobed ({cap.message})" if cap is not None and cap.message
                   else "it has no entry")
            yield self.finding(
                graph, ops[0],
                f"builtin {op_type} has no probed verdict on {ctx.target.name} ({where}: {why}); "
                f"{_count(ops)}probe it with `{probe_command('builtin', op_type)}`",
                related=ops[1:])

    def _source(self, graph: ModelGraph) -> Iterator[Finding]:
        groups: dict[tuple[str, str], list[NodeId]] = defaultdict(list)
        for u in unknown_ops(graph):
            groups[(u.kind, u.name)].append(u.op)
        where = source_table().provenance.file
        what = {"tf_op": "TF op", "layer": "Keras layer", "activation": "Keras activation",
                "tf_function": "TF function"}
        for (kind, name), ops in groups.items():
            yield self.finding(
                graph, ops[0],
                f"{what[kind]} {name} has no probed int8 verdict in {where}: qlint cannot tell "
                f"whether it quantizes; {_count(ops)}probe it with "
                f"`{probe_command(kind, name)}{'' if kind == 'tf_op' else '`'}",
                related=ops[1:])


def _count(ops: list[NodeId]) -> str:
    return f"{len(ops)} ops of this kind; " if len(ops) > 1 else ""
