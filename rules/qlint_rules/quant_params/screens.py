"""The QL3xx screens: conservative numpy pre-filters over `qlint.quant_columns`.

A rule with a screen checks a 100k-op model without a Python loop over its 200,000
tensors: the screen marks, in a few numpy passes over every tensor (or every weighted op),
the items the rule's exact check could flag, and the rule runs its exact check on those
only.  The exact check is the one definition of what a rule flags; a screen may let
through an item that turns out fine, never hold back one the exact check flags.  With
screening off (``ScreenedRule(screen=False)``) or when some value is not a plain number
(`QuantColumns.exact_only`) every item goes to the exact check;
``tests/test_quant_screens.py`` lints mutated models both ways and requires the same
findings.

The screens live with the rules, not beside `qlint.quant_columns`, because they restate
the rules' conditions and limits (`shared`); the columns are rule-agnostic facts of the
graph, as the `.tflite` loader hands them over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qlint.graph import ModelGraph, NodeId
from qlint.quant_columns import quant_columns
from qlint_rules.quant_params.shared import (
    BIAS_RELATIVE_TOLERANCE,
    COLLAPSED_SPAN,
    CONV_LIKE,
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    QRANGE,
)

Screen = Callable[[ModelGraph], np.ndarray]


def tensors(graph: ModelGraph, screen: Screen, on: bool = True) -> list[NodeId]:
    """The tensors, in file order, that ``screen`` (a bool per tensor) lets through; every
    tensor when ``on`` is false or the columns cannot be trusted."""
    if not on:
        return graph.tensor_table()[0]
    cols = quant_columns(graph)
    if cols.exact_only:
        return list(cols.ids)
    return [cols.ids[i] for i in np.flatnonzero(screen(graph)).tolist()]


def weighted_ops(graph: ModelGraph, screen: Screen, on: bool = True) -> list[NodeId]:
    """The weighted ops, in file order, that ``screen`` (a bool per row of
    `weighted_table`) lets through; every op when ``on`` is false or the columns cannot
    be trusted."""
    if not on or quant_columns(graph).exact_only:
        return list(graph.ops())
    ops = weighted_table(graph).ops
    return [ops[k] for k in np.flatnonzero(screen(graph)).tolist()]


# -- the weighted ops -------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightedTable:
    """The weighted ops (`CONV_LIKE`) in file order, with their tensors' positions in
    `QuantColumns` (-1 where the slot is absent, empty or out of range)."""

    ops: list[NodeId]
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    y: np.ndarray
    channel_axis: np.ndarray
    w_is_filter: np.ndarray  # the filter tensor does not also sit in an earlier slot


def weighted_table(graph: ModelGraph) -> WeightedTable:
    """The graph's `WeightedTable`, built once per graph."""
    return graph.derived(_build_weighted)


def _build_weighted(g: ModelGraph) -> WeightedTable:
    slots = g.slot_positions()
    absent = slots.n_tensors
    n_ops = len(g)
    in_count = np.bincount(slots.in_op, minlength=n_ops)
    in_start = np.cumsum(in_count) - in_count
    out_count = np.bincount(slots.out_op, minlength=n_ops)
    out_start = np.cumsum(out_count) - out_count
    in_pos = np.append(slots.in_pos, absent)  # the last entry: past a short slot list
    out_pos = np.append(slots.out_pos, absent)
    groups = []
    for op_type, conv in CONV_LIKE.items():
        at = np.array(g.op_positions([op_type]), dtype=np.int64)
        count, start = in_count[at], in_start[at]

        def slot(k: int, count: np.ndarray = count, start: np.ndarray = start
                 ) -> np.ndarray:
            return np.where(k < count, in_pos[np.where(k < count, start + k, -1)], absent)

        w = slot(conv.filter)
        earlier = np.zeros(len(at), dtype=bool)
        for k in range(conv.filter):  # the filter tensor also sits in an earlier slot
            earlier |= slot(k) == w
        y = np.where(out_count[at] > 0, out_pos[np.where(out_count[at] > 0,
                                                         out_start[at], -1)], absent)
        groups.append((at, slot(conv.input), w, slot(conv.bias), y,
                       np.full(len(at), conv.channel_axis), (w != absent) & ~earlier))
    columns = [np.concatenate([group[i] for group in groups]) for i in range(7)]
    order = np.argsort(columns[0], kind="stable")
    at, x, w, b, y, axis, is_filter = (column[order] for column in columns)
    ops = list(g.ops())
    x, w, b, y = (np.where(p == absent, -1, p).astype(np.int64) for p in (x, w, b, y))
    return WeightedTable([ops[p] for p in at.tolist()], x, w, b, y, axis.astype(np.int64),
                         is_filter.astype(bool))


def _at(column: np.ndarray, positions: np.ndarray, absent: Any) -> np.ndarray:
    """``column[positions]``, ``absent`` where a position is -1."""
    return np.where(positions >= 0, column[np.maximum(positions, 0)], absent)


# -- one screen per condition -----------------------------------------------------------------


def missing_params(graph: ModelGraph) -> np.ndarray:
    """QL301: used tensors whose scale and zero-point counts differ, or of a quantized
    dtype without a scale."""
    cols = quant_columns(graph)
    return cols.used & (((cols.n_scale > 0) & (cols.n_zp != cols.n_scale))
                        | ((cols.n_scale == 0) & cols.dtype_in(QRANGE)))


def bad_scales(graph: ModelGraph) -> np.ndarray:
    """QL302: used tensors with a scale that is not a positive finite number."""
    cols = quant_columns(graph)
    return cols.has_scale() & ~cols.scales_ok


def extreme_multipliers(graph: ModelGraph) -> np.ndarray:
    """QL302, per weighted op: a requantization multiplier outside [MULTIPLIER_MIN,
    MULTIPLIER_MAX).  The multipliers are monotonic in the filter scale, so the smallest
    and largest filter scales give the extreme ones (exactly: rounding is monotonic too)."""
    cols, wt = quant_columns(graph), weighted_table(graph)
    has, first = cols.has_scale(), cols.first_scale
    in_scale, out_scale = _at(first, wt.x, np.nan), _at(first, wt.y, np.nan)
    valid = (_at(has, wt.x, False) & _at(has, wt.y, False) & _at(has, wt.w, False)
             & _at(cols.scales_ok, wt.w, False) & (in_scale > 0) & (in_scale < np.inf)
             & (out_scale > 0) & (out_scale < np.inf))
    with np.errstate(all="ignore"):
        smallest = in_scale * _at(cols.scale_min, wt.w, np.nan) / out_scale
        largest = in_scale * _at(cols.scale_max, wt.w, np.nan) / out_scale
    return valid & ((smallest < MULTIPLIER_MIN) | (largest >= MULTIPLIER_MAX))


def zero_points(graph: ModelGraph) -> np.ndarray:
    """QL303: used quantized tensors with a zero point outside the dtype's range, or a
    non-zero one on an int8 constant or an int16 activation."""
    cols = quant_columns(graph)
    bounds = np.array([QRANGE.get(name, (0, 0)) for name in cols.dtype_names],
                      dtype=np.float64).reshape(-1, 2)[cols.dtype_code]
    int8, int16 = cols.dtype_in({"int8"}), cols.dtype_in({"int16"})
    suspect = (cols.n_zp > 0) & (
        (cols.zp_min < bounds[:, 0]) | (cols.zp_max > bounds[:, 1])
        | (cols.zp_nonzero & ((int8 & cols.constant) | (int16 & ~cols.constant))))
    return cols.has_scale() & cols.dtype_in(QRANGE) & suspect


def per_channel(graph: ModelGraph) -> np.ndarray:
    """QL304: used tensors with several scales whose quantized dimension is not in the
    shape or has another size, and weighted ops' filters quantized along another
    dimension than the op's."""
    cols = quant_columns(graph)
    domain = cols.has_scale() & (cols.n_scale > 1)
    suspect = np.zeros(cols.n, dtype=bool)
    rows = np.flatnonzero(domain)
    nodes = cols.nodes
    for i, axis, count in zip(rows.tolist(), cols.axis[rows].tolist(),
                              cols.n_scale[rows].tolist(), strict=True):
        shape = nodes[i]["shape"]
        suspect[i] = shape is not None and (
            not 0 <= axis < len(shape)
            or (shape[axis] is not None and shape[axis] != count))
    wt = weighted_table(graph)
    wrong_axis = (wt.w >= 0) & wt.w_is_filter & (_at(cols.axis, wt.w, 0) != wt.channel_axis)
    suspect[wt.w[wrong_axis]] = True
    return domain & suspect


def biases(graph: ModelGraph) -> np.ndarray:
    """QL305, per weighted op: its bias may have a zero point or a scale off by more than
    BIAS_RELATIVE_TOLERANCE (the relative differences are computed with the same float
    operations as the exact check)."""
    cols, wt = quant_columns(graph), weighted_table(graph)
    has, ok = cols.has_scale() & cols.scales_ok, wt.b >= 0
    for p in (wt.x, wt.w, wt.b, wt.y):
        ok &= _at(has, p, False)
    rows = np.flatnonzero(ok)
    x, w, b = wt.x[rows], wt.w[rows], wt.b[rows]
    nw, nb = cols.n_scale[w], cols.n_scale[b]
    n = np.maximum(nw, nb)
    counts_ok = ((nw == 1) | (nw == n)) & ((nb == 1) | (nb == n))
    # One entry per channel of every op whose counts agree.
    per = np.where(counts_ok, n, 0)
    channel = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    row = np.repeat(np.arange(len(rows)), per)
    expected = (cols.first_scale[x][row]
                * cols.scale[cols.scale_start[w][row] + np.where(nw[row] > 1, channel, 0)])
    actual = cols.scale[cols.scale_start[b][row] + np.where(nb[row] > 1, channel, 0)]
    with np.errstate(all="ignore"):
        rel = np.abs(actual - expected) / expected
    worst = np.zeros(len(rows))
    if len(rel):
        starts = (np.cumsum(per) - per)[per > 0]
        worst[per > 0] = np.maximum.reduceat(np.where(np.isnan(rel), np.inf, rel), starts)
    suspect = np.zeros(len(wt.ops), dtype=bool)
    suspect[rows] = cols.zp_nonzero[b] | (counts_ok & (worst > BIAS_RELATIVE_TOLERANCE))
    return suspect


# A scale at least this large spans more than COLLAPSED_SPAN in every dtype of QRANGE
# (twice the bound, so float rounding cannot matter).
_SURELY_WIDE_SCALE = 2 * COLLAPSED_SPAN / min(hi - lo for lo, hi in QRANGE.values())


def collapsed_ranges(graph: ModelGraph) -> np.ndarray:
    """QL309: used per-tensor-quantized activations whose scale may span less than
    COLLAPSED_SPAN, or whose recorded min equals its max."""
    cols = quant_columns(graph)
    domain = cols.has_scale() & ~cols.constant & (cols.n_scale == 1)
    return domain & (~(cols.first_scale >= _SURELY_WIDE_SCALE) | cols.minmax_equal)
