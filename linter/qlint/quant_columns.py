"""Every tensor's quantization parameters as numpy columns, derived from a `ModelGraph`.

Rules that check each tensor or each weighted op of a large model screen them over these
columns in bulk (one numpy expression instead of a Python loop over 200,000 tensors) and
then look again, one by one, only at those the screen lets through; the QL3xx screens are
in `qlint_rules.quant_params.screens`.  A screen must be conservative: it may let through
a tensor that turns out fine, never skip one its exact check would flag.
`ModelGraph.derived` keeps one `QuantColumns` per graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain, repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np

from qlint.graph import ModelGraph, NodeId, Quant


@dataclass(frozen=True)
class QuantColumns:
    """One row per tensor, in file order (`ModelGraph.tensor_nodes`).

    Per-tensor columns are numpy arrays of length ``n``; ``scale`` holds every tensor's
    scales one after the other, tensor ``i``'s from ``scale_start[i]`` (``n_scale[i]`` of
    them); zero points are summarised per tensor.  Statistics of a tensor without values
    are neutral (``scale_min`` inf, ``scale_max`` -inf, ``zp_min``/``zp_max`` 0).
    """

    ids: list[NodeId]
    nodes: list[dict[str, Any]]
    used: np.ndarray  # bool: an op reads or writes the tensor
    constant: np.ndarray  # bool
    dtype_code: np.ndarray  # int64: position of the tensor's dtype in `dtype_names`
    dtype_names: list[str]
    n_scale: np.ndarray  # int64
    n_zp: np.ndarray  # int64
    axis: np.ndarray  # int64 (0 without quantization)
    scale: np.ndarray  # float64, flat
    scale_start: np.ndarray  # int64
    first_scale: np.ndarray  # float64, NaN without a scale
    scale_min: np.ndarray  # float64
    scale_max: np.ndarray  # float64
    scales_ok: np.ndarray  # bool: at least one scale, every one positive and finite
    zp_min: np.ndarray  # float64 (exact for |zero point| < 2**53)
    zp_max: np.ndarray  # float64
    zp_nonzero: np.ndarray  # bool: some zero point is not 0
    minmax_equal: np.ndarray  # bool: recorded min[0] == max[0]
    exact_only: bool  # some value is not a plain number: screens must let everything through

    @property
    def n(self) -> int:
        return len(self.ids)

    def dtype_in(self, names: Iterable[str]) -> np.ndarray:
        """bool per tensor: its dtype is one of ``names``."""
        wanted = [i for i, name in enumerate(self.dtype_names) if name in set(names)]
        return np.isin(self.dtype_code, wanted)

    def has_scale(self) -> np.ndarray:
        """Used tensors with at least one scale (the QL3xx rules' domain)."""
        return self.used & (self.n_scale > 0)


def quant_columns(graph: ModelGraph) -> QuantColumns:
    """The graph's `QuantColumns`, built once per graph."""
    return graph.derived(_build)


def _per_tensor(reduce: np.ufunc, flat: np.ndarray, counts: np.ndarray,
                empty: float) -> np.ndarray:
    """``reduce`` over each tensor's run of ``flat``; ``empty`` where a tensor has none."""
    out = np.full(len(counts), empty, dtype=np.float64)
    has = counts > 0
    if has.any():
        starts = np.cumsum(counts) - counts
        out[has] = reduce.reduceat(flat, starts[has])
    return out


_NO_QUANT = Quant((), ())


def _used(graph: ModelGraph) -> np.ndarray:
    """bool per tensor: an op reads or writes it."""
    slots = graph.slot_positions()
    used = np.zeros(slots.n_tensors + 1, dtype=bool)  # the last row: absent slots
    used[slots.in_pos] = True
    used[slots.out_pos] = True
    return used[:-1]


@dataclass(frozen=True)
class QuantValues:
    """Every tensor's quantization values, flat, in file order: what `QuantColumns` is
    derived from.  A loader that reads them in bulk may hand them over
    (`BulkFacts.quant_values`); otherwise they are read from the nodes."""

    n_scale: np.ndarray  # int64 per tensor (0 without quantization)
    scale: np.ndarray  # float64, every tensor's scales one after the other
    n_zp: np.ndarray  # int64 per tensor
    zp: np.ndarray  # float64, flat like ``scale``
    axis: np.ndarray  # int64 per tensor (0 without quantization)
    minmax_equal: np.ndarray  # bool per tensor: recorded min[0] == max[0]
    exact_only: bool  # some value is not a plain number


def quant_values(graph: ModelGraph) -> QuantValues:
    """The graph's `QuantValues`: as its loader handed them over, or read from its nodes."""
    if graph.bulk.quant_values is not None:
        return graph.bulk.quant_values
    return graph.derived(values_from_nodes)


def values_from_nodes(graph: ModelGraph) -> QuantValues:
    """`QuantValues` read from each tensor's `Quant`."""
    _, nodes = graph.tensor_table()
    n = len(nodes)
    filled = [_NO_QUANT if q is None else q for q in map(itemgetter("quant"), nodes)]
    scales = list(map(itemgetter(0), filled))
    zps = list(map(itemgetter(1), filled))
    n_scale = np.fromiter(map(len, scales), dtype=np.int64, count=n)
    n_zp = np.fromiter(map(len, zps), dtype=np.int64, count=n)
    exact_only = False
    try:
        scale = np.fromiter(chain.from_iterable(scales), dtype=np.float64,
                            count=int(n_scale.sum()))
        zp = np.fromiter(chain.from_iterable(zps), dtype=np.float64, count=int(n_zp.sum()))
        axis = np.fromiter(map(itemgetter(2), filled), dtype=np.int64, count=n)
    except (OverflowError, TypeError, ValueError):
        exact_only = True
        scale = np.full(int(n_scale.sum()), np.nan)
        zp = np.full(int(n_zp.sum()), np.nan)
        axis = np.zeros(n, dtype=np.int64)
    minmax_equal = np.zeros(n, dtype=bool)
    has_min = np.fromiter(map(is_not, map(itemgetter(3), filled), repeat(None)), dtype=bool,
                          count=n)
    for i in np.flatnonzero(has_min).tolist():
        q = filled[i]
        if q.min is not None and q.max is not None:
            minmax_equal[i] = q.min[:1] == q.max[:1]
    return QuantValues(n_scale, scale, n_zp, zp, axis, minmax_equal, exact_only)


def _build(graph: ModelGraph) -> QuantColumns:
    ids, nodes = graph.tensor_table()
    n = len(ids)
    values = quant_values(graph)
    n_scale, n_zp, scale, zp = values.n_scale, values.n_zp, values.scale, values.zp
    scale_start = np.cumsum(n_scale) - n_scale
    good = (scale > 0.0) & np.isfinite(scale)
    bad_count = _per_tensor(np.add, (~good).astype(np.float64), n_scale, 0.0)
    first_scale = np.full(n, np.nan)
    has = n_scale > 0
    first_scale[has] = scale[scale_start[has]]
    dtypes = list(map(itemgetter("dtype"), nodes))
    dtype_names = sorted(set(dtypes))
    code = {name: i for i, name in enumerate(dtype_names)}
    return QuantColumns(
        ids=ids,
        nodes=nodes,
        used=_used(graph),
        constant=np.fromiter(map(bool, map(itemgetter("constant"), nodes)), dtype=bool,
                             count=n),
        dtype_code=np.fromiter(map(code.__getitem__, dtypes), dtype=np.int64, count=n),
        dtype_names=dtype_names,
        n_scale=n_scale,
        n_zp=n_zp,
        axis=values.axis,
        scale=scale,
        scale_start=scale_start,
        first_scale=first_scale,
        scale_min=_per_tensor(np.minimum, scale, n_scale, np.inf),
        scale_max=_per_tensor(np.maximum, scale, n_scale, -np.inf),
        scales_ok=has & (bad_count == 0),
        zp_min=_per_tensor(np.minimum, zp, n_zp, 0.0),
        zp_max=_per_tensor(np.maximum, zp, n_zp, 0.0),
        zp_nonzero=_per_tensor(np.add, (zp != 0).astype(np.float64), n_zp, 0.0) > 0,
        minmax_equal=values.minmax_equal,
        exact_only=values.exact_only,
    )
