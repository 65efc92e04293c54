"""Conditions are data: predicates over an op's facts, as stored in target tables.

A condition is a JSON object naming one fact of `qlint.op_facts` and one comparison::

    {"fact": "stride_max", "gt": 3}
    {"fact": "padding", "eq": "SAME"}
    {"fact": "scale_max", "not_in": [1, 2, 4, 8]}

Comparisons: ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``in``, ``not_in``.  A
condition may also carry ``source`` (where the predicate comes from, e.g. the Vela
constraint it restates) and ``note``; they are not evaluated.

A list of conditions holds when every condition holds (an empty list always holds).
Evaluation is three-valued: ``True``, ``False``, or ``None`` when a fact the
conditions need is unknown for the op (the prediction is then *unknown*).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from qlint.errors import QlintError

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
}
COMPARISONS = frozenset(_COMPARE)
_NOT_EVALUATED = frozenset({"fact", "source", "note"})


class ConditionError(QlintError):
    """A stored condition is malformed."""


def check_condition(cond: Mapping[str, Any]) -> None:
    """Raise `ConditionError` unless ``cond`` is one fact and exactly one comparison."""
    if not isinstance(cond, Mapping) or not isinstance(cond.get("fact"), str):
        raise ConditionError(f"condition {cond!r} names no fact")
    ops = [k for k in cond if k not in _NOT_EVALUATED]
    if len(ops) != 1 or ops[0] not in _COMPARE:
        raise ConditionError(f"condition {cond!r} needs exactly one of {sorted(_COMPARE)}")


def holds(cond: Mapping[str, Any], facts: Mapping[str, Any]) -> bool | None:
    """Whether one condition holds on ``facts``; ``None`` when its fact is unknown."""
    fact = cond["fact"]
    if fact not in facts:
        return None
    value = facts[fact]
    for key, compare in _COMPARE.items():
        if key in cond:
            try:
                return bool(compare(value, cond[key]))
            except TypeError:
                return None
    raise ConditionError(f"condition {cond!r} has no comparison")


def all_hold(conds: Iterable[Mapping[str, Any]], facts: Mapping[str, Any]) -> bool | None:
    """Whether every condition holds: ``False`` if any is false, else ``None`` if any unknown."""
    unknown = False
    for cond in conds:
        result = holds(cond, facts)
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True


def describe(conds: Iterable[Mapping[str, Any]]) -> str:
    """Human form, e.g. ``stride_max > 3 and padding == 'SAME'`` (``always`` when empty)."""
    sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
           "in": "in", "not_in": "not in"}
    parts = []
    for cond in conds:
        key = next(k for k in cond if k not in _NOT_EVALUATED)
        parts.append(f"{cond['fact']} {sym[key]} {cond[key]!r}")
    return " and ".join(parts) or "always"
