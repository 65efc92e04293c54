"""NPU or CPU: where Arm's Vela compiler places each op of an int8 model.

The placement table ``vela-<version>.json`` (in ``qlint_rules/capabilities``) is written
by ``python -m tools.probe.vela``, which compiles one-op int8 models with the real Vela
for each accelerator config.  Per op it holds ordered *rules*: a condition list
(`qlint.conditions`, evaluated on `qlint.op_facts`) and, per config, what Vela did with
the probed models those conditions select (``npu``, ``cpu`` with Vela's reason,
``refused`` with its message, ``mixed`` when they disagreed, ``unprobed`` when no model
fell there).  The last rule of each op has no condition (the default).  Weight-value
constraints a probe cannot sweep are ``source_predicates`` naming the Vela source.

`predict_op` gives one op's placement; `placements` every op of a graph; `partitions`
the NPU partitions and CPU/NPU transitions (connected components of NPU-placed ops).
This module never imports Vela or TensorFlow.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from qlint.conditions import all_hold, check_condition, describe
from qlint.graph import ModelGraph, NodeId
from qlint.predict.tables import CapabilityError, Provenance, available_files

NPU = "npu"
CPU = "cpu"
REFUSED = "refused"
MIXED = "mixed"
UNPROBED = "unprobed"
UNKNOWN = "unknown"
PLACEMENTS = frozenset({NPU, CPU, REFUSED, MIXED, UNPROBED})


@dataclass(frozen=True)
class OpPlacement:
    """The predicted placement of one op on one config, with its evidence."""

    placement: str  # npu | cpu | refused | unknown
    reason: str | None = None  # Vela's verbatim reason (cpu) or message (refused)
    conditions: str = "always"  # the rule's conditions, in human form
    source: str | None = None  # the Vela constraint the rule restates
    points: tuple[str, ...] = ()  # the probed models behind the rule
    why_unknown: str | None = None
    from_source: bool = False  # a weight-value predicate, not a probed outcome


class PlacementTable:
    """A parsed ``vela-*.json``: `predict` answers for one op's facts on one config."""

    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.data = data
        self.configs: tuple[str, ...] = tuple(data["configs"])
        self._ops: Mapping[str, Mapping[str, Any]] = data["ops"]

    @property
    def provenance(self) -> Provenance:
        return Provenance(file=self.name, runtime="vela",
                          versions=dict(self.data.get("versions", {})),
                          probed_on=str(self.data.get("probed_on", "")),
                          command=str(self.data.get("command", "")))

    def __contains__(self, op_type: object) -> bool:
        return op_type in self._ops

    def predict(self, op_type: str, facts: Mapping[str, Any], config: str) -> OpPlacement:
        """Where Vela places an ``op_type`` op with ``facts`` on ``config``.

        Rules every op shares that come first (``"first": true``: an op Vela removes
        from the graph), then the op's own rules, then the rules every op shares
        (``any_op``: float tensors, ...), then the op's default; an op type never probed
        gets only the shared rules.
        """
        entry = self._ops.get(op_type)
        for pred in (entry or {}).get("source_predicates", ()):
            if all_hold(pred["when"], facts):
                return OpPlacement(pred["placement"], pred.get("reason"),
                                   describe(pred["when"]), pred.get("source"), from_source=True)
        own = entry["rules"][:-1] if entry else []
        shared_all = self.data.get("any_op", {}).get("rules", [])[:-1]
        first = [r for r in shared_all if r.get("first")]
        shared = [r for r in shared_all if not r.get("first")]
        own_first = [r for r in own if r.get("first")]
        found = self._match(entry or {}, own_first, facts, config)
        if found is None:
            found = self._match(self.data.get("any_op", {}), first, facts, config)
        if found is not None:
            return found
        own = [r for r in own if not r.get("first")]
        found = self._match(entry or {}, own, facts, config)
        if found is not None:
            return found
        found = self._match(self.data.get("any_op", {}), shared, facts, config)
        if found is not None and found.placement != UNKNOWN:
            return found
        if entry is None:
            return OpPlacement(UNKNOWN, why_unknown=f"{op_type} was not probed with Vela")
        found = self._match(entry, entry["rules"][-1:], facts, config)
        return found or OpPlacement(UNKNOWN, why_unknown="no rule matched")

    def _match(self, entry: Mapping[str, Any], rules: list[Mapping[str, Any]],
               facts: Mapping[str, Any], config: str) -> OpPlacement | None:
        """The outcome of the first of ``rules`` that holds (unknown when a fact is missing
        or the probed outcome is mixed/unprobed); ``None`` when none holds."""
        for rule in rules:
            held = all_hold(rule["when"], facts)
            if held is False:
                continue
            cond = describe(rule["when"])
            if held is None:
                return OpPlacement(UNKNOWN, conditions=cond, source=rule.get("source"),
                                   why_unknown=f"a fact of '{cond}' is unknown for this op")
            out = rule["placements"][config]
            place = out["placement"]
            points = tuple(rule.get("points", ()))
            if place in (MIXED, UNPROBED):
                return OpPlacement(UNKNOWN, conditions=cond, source=rule.get("source"),
                                   points=points,
                                   why_unknown=f"the probed models of '{cond}' were {place}")
            reason = self._nearest_reason(entry, points, facts, config) or out.get("reason")
            return OpPlacement(place, reason, cond, rule.get("source"), points)
        return None

    def _nearest_reason(self, entry: Mapping[str, Any], labels: tuple[str, ...],
                        facts: Mapping[str, Any], config: str) -> str | None:
        """Vela's reason for the probed model of the rule most like this op (most equal facts).

        Vela's reasons carry the probed model's numbers (``kernel width: 9 out of range``);
        the closest model's reason is the one worth quoting.
        """
        wanted = set(labels)
        best: tuple[int, str] | None = None
        for point in entry.get("points") or self._all_points():
            if point["label"] not in wanted:
                continue
            reason = point["observed"].get(config, {}).get("reason")
            if not reason:
                continue
            score = sum(1 for k, v in point.get("facts", {}).items() if facts.get(k) == v)
            if best is None or score > best[0]:
                best = (score, reason)
        return best[1] if best else None

    def _all_points(self) -> list[Mapping[str, Any]]:
        """Every probed point of every op (what the ``*`` entry's rules name)."""
        return [p for e in self._ops.values() for p in e.get("points", ())]

    def summary(self) -> str:
        """One line, e.g. ``vela-5.2.0.json (ethos-u-vela 5.2.0, probed 2026-11-30)``."""
        vela = self.data.get("versions", {}).get("ethos-u-vela", "?")
        return f"{self.name} (ethos-u-vela {vela}, probed {self.data.get('probed_on', '')})"


def latest_placement_file() -> str:
    """The newest shipped ``vela-*.json``."""
    from qlint.predict.tables import latest_file

    return latest_file("vela")


@cache
def load_placement_table(name: str | None = None) -> PlacementTable:
    """Parse and check one placement table (the newest when ``name`` is None)."""
    name = name or latest_placement_file()
    if name not in available_files():
        raise CapabilityError(f"placement table {name} is not installed")
    try:
        data = json.loads(resources.files("qlint_rules").joinpath("capabilities", name)
                          .read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CapabilityError(f"placement table {name} cannot be read: {exc}") from exc
    if data.get("schema_version") != 1 or data.get("runtime") != "vela":
        raise CapabilityError(f"{name} is not a version-1 Vela placement table")
    entries = dict(data.get("ops", {}))
    if "any_op" in data:
        entries["*"] = data["any_op"]
    for op, entry in entries.items():
        rules = entry.get("rules") or []
        if not rules or rules[-1].get("when"):
            raise CapabilityError(f"{name}: {op} does not end with a default rule")
        for rule in (*rules, *entry.get("source_predicates", ())):
            for cond in rule["when"]:
                check_condition(cond)
        for rule in rules:
            for config in data["configs"]:
                if rule["placements"][config]["placement"] not in PLACEMENTS:
                    raise CapabilityError(f"{name}: {op} has an unknown placement on {config}")
    return PlacementTable(name, data)


# -- a whole graph ------------------------------------------------------------------------


#: Quantization modes of a ``.tflite`` model that is still float: placement is predicted
#: for the model full-integer conversion will make of it.
FLOAT_MODES = frozenset({"float", "fp16-weights"})


def _compute(config: str, graph: ModelGraph) -> dict[NodeId, OpPlacement]:
    from qlint.op_facts import op_facts

    table = load_placement_table()
    float_model = graph.quant_mode in FLOAT_MODES
    all_facts = {}
    for op in graph.ops():
        facts = op_facts(graph, op)
        if float_model:
            facts = as_quantized(graph[op]["op_type"], facts)
        all_facts[op] = facts
    reshapes = {op: table.predict("RESHAPE", {**f, SHAPE_FACT: False}, config).placement
                for op, f in all_facts.items() if f["op_type"] == "RESHAPE"}
    chain = shape_operand_only(graph, lambda op: None if reshapes[op] == UNKNOWN
                               else reshapes[op] == NPU)
    out = {}
    for op, facts in all_facts.items():
        if chain.get(op) is not None:
            facts[SHAPE_FACT] = chain[op]
        out[op] = table.predict(graph[op]["op_type"], facts, config)
    return out


#: The data-flow fact of shape arithmetic (see `shape_operand_only`).
SHAPE_FACT = "only_feeds_npu_reshape_shape"


def shape_operand_only(graph: ModelGraph, reshape_on_npu: Callable[[NodeId], bool | None],
                       ) -> dict[NodeId, bool | None]:
    """Per op: whether everything it computes ends as the shape operand of NPU RESHAPEs.

    Vela's RESHAPE takes its new shape from its output tensor, not from its second
    input (Vela's ``fixup_reshape``/regor's reshape lowering); once the RESHAPE is on
    the NPU, the shape operand and the ops that only compute it (``SHAPE ->
    STRIDED_SLICE -> PACK`` on a dynamic batch) are dead and removed.  The same chain
    feeding a TRANSPOSE_CONV's output shape, a CPU-placed RESHAPE or a model output
    stays, and Vela places its int32 ops on the CPU.  True when every output of the op
    is used only as input 1 of RESHAPEs ``reshape_on_npu`` says are on the NPU, or by
    ops for which this holds; None when a RESHAPE's placement is unknown.
    """
    model_outputs = {t for sg in graph.attrs.get("subgraphs", []) for t in sg.get("outputs", ())}
    out: dict[NodeId, bool | None] = {}
    for op in reversed(list(graph.ops())):
        outs = [t for t in graph.outputs(op) if t is not None]
        verdict: bool | None = bool(outs) and not any(t in model_outputs for t in outs)
        for t in outs if verdict else ():
            for user in graph.consumers(t):
                if graph[user]["op_type"] == "RESHAPE" and list(graph.inputs(user))[1:2] == [t] \
                        and t not in list(graph.inputs(user))[:1]:
                    here = reshape_on_npu(user)
                else:
                    here = out.get(user, False)
                if here is False:
                    verdict = False
                    break
                if here is None:
                    verdict = None
            if verdict is False:
                break
        out[op] = verdict
    return out


def as_quantized(op_type: str, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts of a float op as full-integer conversion (default settings) will make it.

    Activations become int8 and weights per-channel int8, except for ops the probed
    TFLite converter keeps in float32 under ``TFLITE_BUILTINS_INT8`` (float fallback),
    which stay float; shapes and options do not change.  Facts of values the
    conversion decides (quantization parameters, weight sums) are dropped: unknown.
    """
    from qlint.predict.tables import FLOAT_FALLBACK, newest_table

    cap = newest_table("tflite", "int8").op(op_type)
    out = dict(facts)
    if cap is not None and cap.outcome == FLOAT_FALLBACK:
        return out
    for key in ("io_quant_match", "weights_abs_sum_max"):
        out.pop(key, None)
    out.update(quant_missing=False, io_per_axis=False, zero_point_out_of_range=False)
    out["float_tensors"] = False
    for key in ("ifm_dtype", "ofm_dtype"):
        if out.get(key) in ("float32", "float16"):
            out[key] = "int8"
    out["dtypes"] = sorted({"int8" if d in ("float32", "float16") else d
                            for d in out.get("dtypes", ())})
    if "weights_dtype" in out:
        out["weights_dtype"], out["per_axis"] = "int8", True
    return out


@cache
def _computer(config: str) -> functools.partial[dict[NodeId, OpPlacement]]:
    return functools.partial(_compute, config)


def placements(graph: ModelGraph, config: str) -> dict[NodeId, OpPlacement]:
    """The predicted placement of every op of ``graph`` on ``config`` (computed once)."""
    return graph.derived(_computer(config))


@dataclass(frozen=True)
class Partitions:
    """How an NPU target splits a model: NPU partitions and CPU/NPU transitions."""

    config: str
    npu_partitions: int
    transitions: int
    npu_ops: int
    cpu_ops: int
    unknown_ops: int
    refused: bool
    partitions: list[list[NodeId]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the op lists by op id)."""
        return {"target_config": self.config, "npu_partitions": self.npu_partitions,
                "transitions": self.transitions, "npu_ops": self.npu_ops,
                "cpu_ops": self.cpu_ops, "unknown_ops": self.unknown_ops,
                "refused": self.refused, "partitions": [list(p) for p in self.partitions]}


def partitions(graph: ModelGraph, config: str) -> Partitions:
    """NPU partitions (connected components of NPU-placed ops on ``graph.g``) and transitions.

    Ops of unknown placement count as NPU (Vela's default for a supported op); their
    number is reported.  A transition is a tensor passed between a CPU op and an NPU op.
    """
    import networkx as nx

    placed = placements(graph, config)
    on_npu = {op for op, p in placed.items() if p.placement in (NPU, UNKNOWN)}
    g = graph.g
    npu_graph: nx.Graph = nx.Graph()
    npu_graph.add_nodes_from(on_npu)
    transitions = 0
    for tensor in graph.tensors():
        producers = [p for p in g.predecessors(tensor)]
        consumers = set(g.successors(tensor))
        if not producers:
            continue
        src = producers[0]
        for dst in consumers:
            if src in on_npu and dst in on_npu:
                npu_graph.add_edge(src, dst)
        sides = {op in on_npu for op in consumers}
        if any(side != (src in on_npu) for side in sides):
            transitions += 1
    comps = sorted((sorted(c) for c in nx.connected_components(npu_graph)),
                   key=lambda c: c[0])
    return Partitions(
        config=config,
        npu_partitions=len(comps),
        transitions=transitions,
        npu_ops=sum(1 for p in placed.values() if p.placement == NPU),
        cpu_ops=sum(1 for p in placed.values() if p.placement == CPU),
        unknown_ops=sum(1 for p in placed.values() if p.placement == UNKNOWN),
        refused=any(p.placement == REFUSED for p in placed.values()),
        partitions=comps,
    )
