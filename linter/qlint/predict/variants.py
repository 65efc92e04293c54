"""Probed condition variants of a TF op (``Pow`` -> ``Pow(y=2)``, ``AddV2(sibling slice
joined)``): which one an op meets, and which outweigh a pattern the op belongs to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from qlint.conditions import all_hold
from qlint.graph import ModelGraph, NodeId
from qlint.op_facts import TFLITE_ONLY_FACTS, op_facts
from qlint.predict.tables import CONVERSION_ERROR, FLOAT_FALLBACK, CapabilityTable, TfOpCapability

#: Facts of kernels the converter merges (`qlint.sibling_slices.merged_negated`): no
#: pattern's probe merges kernels, so a variant under one of them saw a context the
#: pattern's probe did not.
MERGE_FACTS = frozenset({"merged_negated"})


def overrides_pattern(cap: TfOpCapability) -> bool:
    """Whether a float variant outweighs a pattern its op belongs to: a condition on the
    op's context (not on a constant operand, which the pattern's probe fixed: GELU's
    ``x ** 3``) under which the op stayed float in every probed conversion (not a split
    that the converter decides differently from run to run, which the pattern's own probe
    measured too), or in most of them where the condition is on merged kernels, a context
    no pattern's probe had (a grouped-query repeat of values whose kernel is the keys')."""
    runs = cap.float_runs
    return cap.outcome == FLOAT_FALLBACK and not on_constants(cap) and (
        runs is None or runs[0] == runs[1] or (on_merges(cap) and 2 * runs[0] > runs[1]))


def on_merges(cap: TfOpCapability) -> bool:
    """True when a variant's conditions name a fact of merged kernels (`MERGE_FACTS`)."""
    when = cap.when if isinstance(cap.when, Sequence) and not isinstance(cap.when, str) else ()
    return any(isinstance(c, Mapping) and c.get("fact") in MERGE_FACTS for c in when)


def on_constants(cap: TfOpCapability) -> bool:
    """True when a variant's conditions name a constant operand's value (``input1_value``:
    the exponent of ``tf.pow``)."""
    when = cap.when if isinstance(cap.when, Sequence) and not isinstance(cap.when, str) else ()
    return any(str(c.get("fact", "")).startswith("input") for c in when
               if isinstance(c, Mapping))


def tflite_only(cap: TfOpCapability) -> bool:
    """Whether a variant's conditions name a fact computed on ``.tflite`` files only."""
    when = cap.when if isinstance(cap.when, Sequence) and not isinstance(cap.when, str) else ()
    return any(isinstance(c, Mapping) and c.get("fact") in TFLITE_ONLY_FACTS for c in when)


@cache  # per table: read-only, shared by every graph linted against it
def variants_by_op(tab: CapabilityTable) -> dict[str, list[TfOpCapability]]:
    """Each entry's probed condition variants (``Pow`` -> ``Pow(y=2)``, ...), table order."""
    out: dict[str, list[TfOpCapability]] = defaultdict(list)
    for c in tab.tf_ops():
        if c.variant_of and isinstance(c.when, list):
            out[c.variant_of].append(c)
    return dict(out)


def conditioned(graph: ModelGraph, op: NodeId, variants: Iterable[TfOpCapability],
                 known: Mapping[str, Any] | None = None) -> TfOpCapability | None:
    """The probed variant whose condition the op meets.

    Conditions are data from the table, swept by the probe, not cases written here: a
    list of `qlint.conditions` over the op's facts (``[{"fact": "input1_value", "eq":
    2.0}, {"fact": "ifm_rank", "le": 4}]``: ``tf.pow(x, 2)`` up to rank 4;
    ``[{"fact": "ifm_is_model_output", "eq": true}]``: an ``ArgMax`` reading a tensor
    that is also a model output).  A condition on a fact unknown for the op never holds.
    ``known``: facts established beyond the op's own (a predicate computed from
    static shapes is constant).
    """
    facts: dict[str, Any] | None = None
    met: TfOpCapability | None = None
    if graph.format != "tflite":  # no need to compute the facts for those
        variants = [v for v in variants if not tflite_only(v)]
    for cap in variants:
        w = cap.when
        if isinstance(w, Sequence) and not isinstance(w, str):
            if facts is None:
                facts = {**op_facts(graph, op), **(known or {})}
            if all_hold(w, facts):
                if cap.outcome == CONVERSION_ERROR:
                    return cap  # a condition the converter refuses the op under decides
                met = met or cap
    return met
