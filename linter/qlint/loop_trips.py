"""Loop bodies a ``.tflite`` model never runs: WHILE loops whose trip count is zero.

The converter quantizes an op with the value ranges its calibration run records; an op
in a loop body that run never enters has none, and stays float32 (probed per op:
``X(loop body never run)`` in ``tools/probe/context_ops.py``).  keras-cv's
``non_max_suppression_padded`` is such a loop: its cross-suppression loop runs over the
tiles of boxes before the current one, inside the loop over tiles, so with one tile it
never runs.

A trip count is read off the file only where the loop is counted: the loop's condition
subgraph compares (``LESS``, ``LESS_EQUAL``, ``GREATER``, ``GREATER_EQUAL``, under
``LOGICAL_AND``) a counter, a loop variable the body adds a positive constant to, with a
bound, a constant or a loop variable the body passes through unchanged; and the values
the loop starts from are constants or the loop variables of an enclosing subgraph whose
range is known.  Anything else leaves the trip count unknown, and the body is taken to
run.  The walk starts at every subgraph no control-flow op calls, visits a subgraph at
most twice (with the ranges of its first caller, then with unknown ones), and is bounded
by the number of subgraphs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qlint.graph import ModelGraph, NodeId
from qlint.tflite_values import const_values, file_model, option_values

#: An inclusive range of integer values a loop variable takes; None: unknown.
Range = tuple[int, int] | None
#: Ops that call subgraphs, and the option fields that name them.
CALLS: Mapping[str, tuple[str, ...]] = {
    "WHILE": ("cond_subgraph_index", "body_subgraph_index"),
    "IF": ("then_subgraph_index", "else_subgraph_index"),
    "CALL_ONCE": ("init_subgraph_index",),
}
#: Comparisons a counted loop's condition makes: op -> (counter slot, bound slot, the
#: bound is inclusive).
COMPARISONS: Mapping[str, tuple[int, int, bool]] = {
    "LESS": (0, 1, False), "LESS_EQUAL": (0, 1, True),
    "GREATER": (1, 0, False), "GREATER_EQUAL": (1, 0, True),
}
#: How deep a condition's LOGICAL_AND tree is followed.
MAX_CONDITION_DEPTH = 8


def zero_trip_bodies(graph: ModelGraph) -> frozenset[int]:
    """Subgraph indices of the loop bodies the model never runs (see the module doc)."""
    return graph.derived(_zero_trip_bodies)


def _zero_trip_bodies(graph: ModelGraph) -> frozenset[int]:
    if graph.format != "tflite":
        return frozenset()
    control = graph.ops_of_type(CALLS)
    if not any(graph[op]["op_type"] == "WHILE" for op in control):
        return frozenset()
    if any(str(graph[op]["op_type"]).startswith("STABLEHLO_") for op in graph.ops()):
        return frozenset()  # StableHLO ops call subgraphs through options this walk skips
    try:
        return _Walk(graph, control).run()
    except Exception:  # a defect the structural walk did not catch: nothing is claimed
        return frozenset()


class _Walk:
    """One pass over the subgraphs reachable from the model's entry subgraphs."""

    def __init__(self, graph: ModelGraph, control: Sequence[NodeId]) -> None:
        self.graph = graph
        self.model = file_model(graph)
        self.subgraphs: list[Mapping[str, Any]] = graph.attrs["subgraphs"]
        n = len(self.subgraphs)
        self.calls: dict[NodeId, tuple[int, ...]] = {}
        self.by_subgraph: dict[int, list[NodeId]] = {}
        for op in control:
            node = graph[op]
            fb_op = self.model.Subgraphs(int(node["subgraph"])).Operators(int(node["index"]))
            values = option_values(fb_op, node.get("attrs", {}).get("options"))
            called = tuple(int(values[k]) for k in CALLS[node["op_type"]] if k in values)
            if len(called) != len(CALLS[node["op_type"]]) or not all(
                    0 <= s < n for s in called):
                raise ValueError("a control-flow op without its subgraphs")
            self.calls[op] = called
            self.by_subgraph.setdefault(int(node["subgraph"]), []).append(op)
        self.called = {s for c in self.calls.values() for s in c}

    def run(self) -> frozenset[int]:
        envs: dict[int, list[Range] | None] = {}
        todo: list[tuple[int, list[Range] | None]] = [
            (s, None) for s in range(len(self.subgraphs)) if s not in self.called]
        while todo:  # each subgraph is entered at most twice: known ranges, then unknown
            s, env = todo.pop()
            if s in envs:
                if envs[s] is None or envs[s] == env:
                    continue
                env = None  # reached again with other ranges
            envs[s] = env
            for op in self.by_subgraph.get(s, ()):
                todo.extend(self._callees(s, env, op))
        return frozenset(s for s in self.called if s not in envs)

    def _callees(self, s: int, env: list[Range] | None,
                 op: NodeId) -> list[tuple[int, list[Range] | None]]:
        """The subgraphs ``op`` runs, with the ranges of their inputs."""
        called = self.calls[op]
        if self.graph[op]["op_type"] != "WHILE":
            return [(c, None) for c in called]
        cond, body = called
        init = [self._value(s, env, t) for t in self.graph.inputs(op)]
        trips, body_env = self._trips(cond, body, init)
        if trips == 0:
            return [(cond, None)]  # the condition runs once, the body never
        return [(cond, None), (body, body_env)]

    def _value(self, s: int, env: list[Range] | None, t: NodeId | None) -> Range:
        """The range of tensor ``t`` of subgraph ``s``: a scalar constant, or an input of
        the subgraph whose range ``env`` knows."""
        if t is None:
            return None
        if env is not None:
            ins = self.subgraphs[s]["inputs"]
            if t in ins:
                return env[ins.index(t)] if len(env) == len(ins) else None
        node = self.graph[t]
        if not node.get("constant"):
            return None
        values = const_values(self.model, self.model.Subgraphs(s), int(node["index"]))
        if values is None or values.size != 1:
            return None
        v = int(values.reshape(-1)[0])
        return (v, v)

    def _trips(self, cond: int, body: int,
               init: list[Range]) -> tuple[int | None, list[Range] | None]:
        """The most times the loop runs its body (None: unknown) and the ranges its loop
        variables take in the body."""
        c_ins, b_ins = self.subgraphs[cond]["inputs"], self.subgraphs[body]["inputs"]
        b_outs = self.subgraphs[body]["outputs"]
        if not (len(c_ins) == len(b_ins) == len(b_outs) == len(init)) or \
                not self.subgraphs[cond]["outputs"]:
            return None, None
        steps = [self._step(body, k) for k in range(len(init))]
        most = self._bound(cond, self.subgraphs[cond]["outputs"][0], init, steps, 0)
        if most == 0 or most is None:
            return most, [init[k] if steps[k] == 0 else None for k in range(len(init))]
        env: list[Range] = []
        for r, step in zip(init, steps, strict=True):
            if step == 0:
                env.append(r)
            elif step is not None and r is not None:
                env.append((r[0], r[1] + step * (most - 1)))
            else:
                env.append(None)
        return most, env

    def _step(self, body: int, k: int) -> int | None:
        """What the body adds to loop variable ``k`` (0: passed through; None: not a
        constant step)."""
        ins, outs = self.subgraphs[body]["inputs"], self.subgraphs[body]["outputs"]
        out = outs[k]
        if out == ins[k]:
            return 0
        p = self.graph.producer(out)
        if p is None or self.graph[p]["op_type"] != "ADD":
            return None
        a, b = [*self.graph.inputs(p), None, None][:2]
        if a == ins[k]:
            r = self._value(body, None, b)
        elif b == ins[k]:
            r = self._value(body, None, a)
        else:
            return None
        return r[0] if r is not None and r[0] == r[1] and r[0] > 0 else None

    def _bound(self, cond: int, t: NodeId, init: list[Range], steps: list[int | None],
               depth: int) -> int | None:
        """The most iterations the condition computing ``t`` allows (None: unknown)."""
        p = self.graph.producer(t)
        if p is None or depth > MAX_CONDITION_DEPTH:
            return None
        op_type = self.graph[p]["op_type"]
        ins = self.graph.inputs(p)
        if op_type == "LOGICAL_AND" and len(ins) == 2:
            known = [b for x in ins if x is not None
                     and (b := self._bound(cond, x, init, steps, depth + 1)) is not None]
            return min(known) if known else None
        if op_type not in COMPARISONS or len(ins) != 2:
            return None
        counter_slot, bound_slot, inclusive = COMPARISONS[op_type]
        c_ins = self.subgraphs[cond]["inputs"]
        counter = ins[counter_slot]
        if counter not in c_ins:
            return None
        k = c_ins.index(counter)
        start, step = init[k], steps[k]
        bound_t = ins[bound_slot]
        if bound_t in c_ins:
            j = c_ins.index(bound_t)
            limit = init[j] if steps[j] == 0 else None
        else:
            limit = self._value(cond, None, bound_t)
        if start is None or limit is None or not step:
            return None
        top = limit[1] + (1 if inclusive else 0)
        return max(0, math.ceil((top - start[0]) / step))
