"""QL3xx quantization parameters: missing, invalid and off-spec scales and zero points.

Every rule here reads only the IR's ``Quant`` records (scale, zero point, quantized
dimension) and the op around a tensor, and compares them with the TFLite 8-bit
quantization spec and with the checks the TensorFlow 2.21 kernels, the interpreter
builder and the default XNNPACK delegate really make.  The fixtures in
``fixtures/quant_params/`` (built by ``fixtures/build_quant_params.py``) record what the
real interpreter does with each defect; severities follow them: a defect that makes
``allocate_tensors()`` fail is an error, one that runs silently is a warning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.npu_compiled import npu_compiled
from qlint.registry import Context, Rule

if TYPE_CHECKING:  # imported where the rules run: a SavedModel or Keras lint never needs numpy
    import numpy as np

    from qlint.quant_columns import QuantColumns

# Storage range of each quantized dtype.
QRANGE: dict[str, tuple[int, int]] = {
    "int4": (-8, 7),
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-32768, 32767),
}


@dataclass(frozen=True)
class ConvSlots:
    """Where a weighted op keeps its input, filter and bias, and its filter's channel axis."""

    input: int
    filter: int
    bias: int
    channel_axis: int


# Per-axis dimension from the quantization spec and operator_property.cc.
CONV_LIKE: dict[str, ConvSlots] = {
    "CONV_2D": ConvSlots(0, 1, 2, 0),
    "DEPTHWISE_CONV_2D": ConvSlots(0, 1, 2, 3),
    "FULLY_CONNECTED": ConvSlots(0, 1, 2, 0),
    "TRANSPOSE_CONV": ConvSlots(2, 1, 3, 0),
    "CONV_3D": ConvSlots(0, 1, 2, 4),
}

# Ops whose integer kernels never read a tensor's quantization (plain integer data).
_RAW_INTEGER_OPS = frozenset({"CAST", "ARG_MAX", "ARG_MIN", "SHAPE", "GATHER_ND"})


# -- helpers ---------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _qparams(graph: ModelGraph, t: NodeId) -> Quant | None:
    """The tensor's quantization when it has at least one scale."""
    q = graph[t]["quant"]
    return q if q is not None and q.scale else None


class _Quantized(NamedTuple):
    """A tensor some op uses, with at least one scale."""

    t: NodeId
    node: dict[str, Any]
    q: Quant
    scales_ok: bool  # every scale is a positive finite number


def _entry(graph: ModelGraph, t: NodeId | None) -> _Quantized | None:
    """``t`` with its quantization when an op uses it and it has at least one scale."""
    if t is None:
        return None
    node = graph[t]
    q = node["quant"]
    if q is None or not q.scale or not graph.used(t):
        return None
    return _Quantized(t, node, q, all(0.0 < s < math.inf for s in q.scale))


# -- screens ---------------------------------------------------------------------------------
# Each rule screens every tensor or weighted op of the graph with numpy
# (`qlint.quant_columns`) and runs its exact check only on what the screen lets through;
# a screen may let a good item through, never hold back one the exact check flags.  The
# tests run every rule with SCREEN off (the exact check on every item) and compare.
SCREEN = True


def _screened(cols: QuantColumns, domain: np.ndarray, suspect: np.ndarray) -> list[int]:
    """Positions in ``domain`` the exact check must look at."""
    import numpy as np
    keep = domain & suspect if SCREEN and not cols.exact_only else domain
    return np.flatnonzero(keep).tolist()


@dataclass(frozen=True)
class _Weighted:
    """The weighted ops (`CONV_LIKE`) in file order, with their tensors' positions in
    `QuantColumns` (-1 where the slot is absent, empty or out of range)."""

    ops: list[NodeId]
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray
    y: np.ndarray
    channel_axis: np.ndarray
    w_is_filter: np.ndarray  # the filter tensor does not also sit in an earlier slot


def _weighted(graph: ModelGraph) -> _Weighted:
    """The graph's `_Weighted` table, built once per graph."""
    return graph.derived(_build_weighted)


def _build_weighted(g: ModelGraph) -> _Weighted:
    import numpy as np
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
    return _Weighted([ops[p] for p in at.tolist()], x, w, b, y, axis.astype(np.int64),
                     is_filter.astype(bool))


def _at(column: np.ndarray, positions: np.ndarray, absent: Any) -> np.ndarray:
    """``column[positions]``, ``absent`` where a position is -1."""
    import numpy as np
    return np.where(positions >= 0, column[np.maximum(positions, 0)], absent)


def _dtypes(graph: ModelGraph) -> frozenset[str]:
    """Every tensor dtype in the graph."""
    return graph.derived(_all_dtypes)


def _all_dtypes(graph: ModelGraph) -> frozenset[str]:
    return frozenset(node["dtype"] for _, node in graph.tensor_nodes())


def _ops_of(graph: ModelGraph, t: NodeId) -> list[NodeId]:
    """The op that produces ``t`` (if any) followed by the ops that consume it."""
    p = graph.producer(t)
    return ([p] if p is not None else []) + graph.consumers(t)


def _anchor_op(graph: ModelGraph, t: NodeId) -> NodeId | None:
    """The op a finding about tensor ``t`` names: its first consumer, else its producer."""
    consumers = graph.consumers(t)
    if consumers:
        return consumers[0]
    return graph.producer(t)


def _op_label(graph: ModelGraph, op: NodeId | None) -> str:
    if op is None:
        return "no op"
    node = graph[op]
    return f"op {node['index']} ({node['op_type']})"


def _tensor_label(graph: ModelGraph, t: NodeId) -> str:
    node = graph[t]
    return f"tensor {node['index']} '{node['name']}' ({node['dtype']})"


def _slot_role(graph: ModelGraph, t: NodeId, op: NodeId | None) -> str:
    """'filter', 'bias', 'input', 'output' or 'operand' of ``t`` at ``op``."""
    if op is None:
        return "operand"
    node = graph[op]
    slots = CONV_LIKE.get(node["op_type"])
    ins = graph.inputs(op)
    if t in ins:
        slot = ins.index(t)
        if slots is not None and slot == slots.filter:
            return "filter"
        if slots is not None and slot == slots.bias:
            return "bias"
        return "input"
    return "output"


def _data_inputs(graph: ModelGraph, op: NodeId) -> list[NodeId]:
    """Non-constant inputs of ``op``."""
    return [t for t in graph.inputs(op) if t is not None and not graph[t]["constant"]]


def _span(q: Quant, dtype: str) -> float:
    """Width of the real range the tensor can represent (per-tensor scale)."""
    lo, hi = QRANGE[dtype]
    return float(q.scale[0]) * (hi - lo)


# -- QL301 -----------------------------------------------------------------------------------


class MissingQuantParams(Rule):
    """Flags integer tensors of a quantized graph that have no usable scale/zero point.

    **What it flags.** An int8, uint8 or int16 activation or weight that an op computes on
    with no quantization table (no scale), and any tensor whose table has a scale but no
    zero point, or scale and zero-point arrays of different lengths.

    **Why it matters.** Parameters missing from a weight or input make the kernel refuse
    the op at ``allocate_tensors()`` (TensorFlow 2.21: ``conv.cc:366
    filter->quantization.type != kTfLiteAffineQuantization (0 != 1)`` then ``Node number 3
    (CONV_2D) failed to prepare.``); a scale/zero-point count mismatch is refused while the
    model loads (``QuantizationParam has 2 zero_point values and 1 scale values. Must have
    same number.`` / ``Tensor 19 has invalid quantization parameters.``).  Elsewhere the
    kernels read a scale of 0 and compute garbage.  Such tables come from hand-edited or
    third-party-exported flatbuffers and from graph surgery, never from a clean conversion.

    **How to fix it.** Re-export the model from the converter instead of patching the
    flatbuffer, or give the tensor one zero point per scale (one of each per tensor, or one
    per channel of the quantized dimension).
    """

    id = "QL301"
    name = "missing-quant-params"
    record = "tensorflow/tflite-quant-params-missing"
    severity = Severity.ERROR
    summary = "quantized tensor without scale/zero point, or scale and zero-point counts differ"
    fix = ("Re-convert instead of editing the flatbuffer; every int8/uint8/int16 tensor needs "
           "a scale and a zero point of the same length.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint.quant_columns import quant_columns
        cols = quant_columns(graph)
        compiled = npu_compiled(graph).blobs  # Vela's driver data, not quantized tensors
        suspect = (((cols.n_scale > 0) & (cols.n_zp != cols.n_scale))
                   | ((cols.n_scale == 0) & cols.dtype_in(QRANGE)))
        for i in _screened(cols, cols.used, suspect):
            t, node = cols.ids[i], cols.nodes[i]
            if t in compiled:
                continue
            q = node["quant"]
            if q is not None and q.scale:
                if len(q.zero_point) == len(q.scale):
                    continue  # parameters present; the other QL3xx rules judge them
            elif node["dtype"] not in QRANGE:
                continue
            ops = _ops_of(graph, t)
            if not ops:
                continue
            op = _anchor_op(graph, t)
            if q is not None and q.has_params and len(q.zero_point) != len(q.scale):
                if q.zero_point:
                    got = (f"{len(q.zero_point)} zero points for {len(q.scale)} scale"
                           f"{'s' if len(q.scale) != 1 else ''}")
                    said = (f"'QuantizationParam has {len(q.zero_point)} zero_point values and "
                            f"{len(q.scale)} scale values. Must have same number.'")
                else:
                    got = "a scale but no zero point"
                    said = "'Quantization parameters has non-null scale but null zero_point.'"
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)} at {_op_label(graph, op)} has {got}: the "
                    f"interpreter refuses the model at load ({said} then 'Tensor "
                    f"{node['index']} has invalid quantization parameters.')",
                    related=ops,
                )
                continue
            if node["dtype"] not in QRANGE or (q is not None and q.has_params):
                continue
            if all(graph[o]["op_type"] in _RAW_INTEGER_OPS for o in ops):
                continue
            if node["dtype"] == "int16" and not any(
                graph.compute_precision(o) == "int16" for o in ops
            ):
                continue  # a plain int16 tensor in a model without int16 quantization
            role = _slot_role(graph, t, op)
            if op is not None and graph[op]["op_type"] in CONV_LIKE and role in ("filter",
                                                                                 "input"):
                effect = (f"{graph[op]['op_type']} fails to prepare ('{role}->quantization.type "
                          f"!= kTfLiteAffineQuantization (0 != 1)', 'Node number "
                          f"{graph[op]['index']} ({graph[op]['op_type']}) failed to prepare.')")
            else:
                effect = "the kernel reads scale 0 and computes garbage or fails to prepare"
            yield self.finding(
                graph, t,
                f"{_tensor_label(graph, t)}, the {role} of {_op_label(graph, op)}, has no "
                f"quantization parameters: {effect}",
                related=ops,
            )


# -- QL302 -----------------------------------------------------------------------------------

# QuantizeMultiplier (quantization_util.cc) turns a multiplier below 2**-32 into 0 (every
# output becomes the zero point); the XNNPACK delegate, applied by default to int8 models,
# refuses requantization scales below 2**-32 or from 256 up ("failed to create XNNPACK
# runtime", reproduced by fixtures/quant_params/scale_underflow and dead_relu).
MULTIPLIER_MIN = 2.0 ** -32
MULTIPLIER_MAX = 256.0


def requant_multipliers(graph: ModelGraph, op: NodeId) -> list[float]:
    """``input_scale * filter_scale / output_scale`` per channel of a weighted op, or []."""
    slots = CONV_LIKE.get(graph[op]["op_type"])
    if slots is None:
        return []
    ins, outs = graph.inputs(op), graph.outputs(op)
    if max(slots.input, slots.filter) >= len(ins) or not outs:
        return []
    x, w, y = ins[slots.input], ins[slots.filter], outs[0]
    if x is None or w is None or y is None:
        return []
    ex, ew, ey = _entry(graph, x), _entry(graph, w), _entry(graph, y)
    if ex is None or ew is None or ey is None:
        return []
    sx, sy = ex.q.scale[0], ey.q.scale[0]
    if not (ew.scales_ok and 0.0 < sx < math.inf and 0.0 < sy < math.inf):
        return []
    return [sx * sw / sy for sw in ew.q.scale]


class InvalidScale(Rule):
    """Flags scales that are not positive finite numbers, or that no kernel can represent.

    **What it flags.** A quantized tensor with a scale <= 0, NaN or infinite; and, per
    CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV or CONV_3D, a requantization
    multiplier ``input_scale * filter_scale / output_scale`` below 2**-32 or of 256 and
    more (clean conversions stay between about 1e-7 and 0.01).

    **Why it matters.** TensorFlow 2.21's default interpreter applies the XNNPACK delegate
    to int8 models, and it refuses both at ``allocate_tensors()``: a bad scale with
    ``unsupported scale value (-0.010402) in channel 0 for INT8 tensor 26 in XNNPACK
    delegate``, a bad multiplier with ``failed to create XNNPACK runtime``, each followed by
    ``Node number N (TfLiteXNNPackDelegate) failed to prepare.``  Without the delegate the
    builtin kernels run with them and return wrong values (a multiplier below 2**-32
    becomes 0 in ``QuantizeMultiplier``: every output is the zero point).

    **How to fix it.** Re-convert: scales come from the calibration ranges, so a tiny or
    huge one usually means a collapsed range (QL309) or a hand-edited file.
    """

    id = "QL302"
    name = "invalid-scale"
    record = "tensorflow/tflite-quant-invalid-scale"
    severity = Severity.ERROR
    summary = "scale <= 0, NaN or inf, or a requantization multiplier outside [2**-32, 256)"
    fix = ("Re-convert with a representative dataset that covers the inputs; never write "
           "scales by hand.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        import numpy as np

        from qlint.quant_columns import quant_columns
        cols = quant_columns(graph)
        for i in _screened(cols, cols.has_scale(), ~cols.scales_ok):
            entry = _entry(graph, cols.ids[i])
            if entry is None or entry.scales_ok:
                continue
            t, q = entry.t, entry.q
            wrong = [s for s in q.scale if not (math.isfinite(s) and s > 0)]
            if not wrong:
                continue
            op = _anchor_op(graph, t)
            yield self.finding(
                graph, t,
                f"{_tensor_label(graph, t)} at {_op_label(graph, op)} has scale "
                f"{_fmt(wrong[0])}: a scale must be a positive finite number; the XNNPACK "
                f"delegate refuses it at prepare ('unsupported scale value ... in XNNPACK "
                f"delegate') and the builtin kernels compute wrong values with it",
                related=_ops_of(graph, t),
            )
        # The multipliers are monotonic in the filter scale, so the smallest and largest
        # filter scales give the extreme multipliers (exactly: rounding is monotonic too).
        wt = _weighted(graph)
        has, first = cols.has_scale(), cols.first_scale
        in_scale, out_scale = _at(first, wt.x, np.nan), _at(first, wt.y, np.nan)
        valid = (_at(has, wt.x, False) & _at(has, wt.y, False) & _at(has, wt.w, False)
                 & _at(cols.scales_ok, wt.w, False) & (in_scale > 0) & (in_scale < np.inf)
                 & (out_scale > 0) & (out_scale < np.inf))
        with np.errstate(all="ignore"):
            smallest = in_scale * _at(cols.scale_min, wt.w, np.nan) / out_scale
            largest = in_scale * _at(cols.scale_max, wt.w, np.nan) / out_scale
        outside = valid & ((smallest < MULTIPLIER_MIN) | (largest >= MULTIPLIER_MAX))
        for k in _screened(cols, np.ones(len(wt.ops), dtype=bool), outside):
            op = wt.ops[k]
            slots = CONV_LIKE[graph[op]["op_type"]]
            mults = requant_multipliers(graph, op)
            low = [m for m in mults if m < MULTIPLIER_MIN]
            high = [m for m in mults if m >= MULTIPLIER_MAX]
            if not (low or high):
                continue
            x, w = graph.inputs(op)[slots.input], graph.inputs(op)[slots.filter]
            y = graph.outputs(op)[0]
            assert x is not None and w is not None and y is not None
            sx, sy = graph[x]["quant"].scale[0], graph[y]["quant"].scale[0]
            n = len(mults)
            which = f"{len(low or high)} of {n} channels" if n > 1 else "it"
            if low:
                what = (f"{which} below 2**-32 (smallest {_fmt(min(low))}): the builtin kernel's "
                        f"fixed-point multiplier becomes 0, so every output is the zero point")
            else:
                what = f"{which} 256 or more (largest {_fmt(max(high))})"
            yield self.finding(
                graph, op,
                f"{_op_label(graph, op)}: requantization multiplier input_scale x "
                f"filter_scale / output_scale out of range, {what} (input scale {_fmt(sx)}, "
                f"output scale {_fmt(sy)}); the default XNNPACK delegate "
                f"refuses it at prepare ('failed to create XNNPACK runtime', 'Node number N "
                f"(TfLiteXNNPackDelegate) failed to prepare.')",
                related=[x, w, y],
            )


# -- QL303 -----------------------------------------------------------------------------------


class ZeroPointRange(Rule):
    """Flags zero points outside the dtype's range and non-zero zero points on int8 weights.

    **What it flags.** A zero point outside [-128, 127] on int8 (outside [0, 255] on uint8,
    [-32768, 32767] on int16); a non-zero zero point on the int8 filter of a CONV_2D,
    DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV or CONV_3D (the spec makes weights
    symmetric); a non-zero zero point on an int16 activation (16x8 activations are
    symmetric).  The spec also keeps int8 weights out of -128; qlint does not read weight
    buffers, so that value is not checked.

    **Why it matters.** TensorFlow 2.21 refuses both at ``allocate_tensors()``: the
    XNNPACK delegate with ``unsupported zero-point value (200) for INT8 tensor 20 in XNNPACK
    delegate``, the CONV_2D kernel with ``conv.cc:372 affine_quantization->zero_point->data[i]
    != 0 (5 != 0)`` and ``Node number 3 (CONV_2D) failed to prepare.``  Without the delegate
    an out-of-range activation zero point runs and returns wrong values.

    **How to fix it.** Re-convert with the TFLite converter; for weights produced elsewhere,
    requantize them symmetrically (zero point 0, scale max|w|/127 per output channel).
    """

    id = "QL303"
    name = "zero-point-range"
    record = "tensorflow/tflite-quant-zero-point-range"
    severity = Severity.ERROR
    summary = "zero point outside the dtype's range, or non-zero on int8 weights / int16 data"
    fix = ("Re-convert; keep activations' zero points in the dtype's range and weights "
           "symmetric (zero point 0).")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        import numpy as np

        from qlint.quant_columns import quant_columns
        cols = quant_columns(graph)
        bounds = np.array([QRANGE.get(name, (0, 0)) for name in cols.dtype_names],
                          dtype=np.float64).reshape(-1, 2)[cols.dtype_code]
        int8, int16 = cols.dtype_in({"int8"}), cols.dtype_in({"int16"})
        suspect = (cols.n_zp > 0) & (
            (cols.zp_min < bounds[:, 0]) | (cols.zp_max > bounds[:, 1])
            | (cols.zp_nonzero & ((int8 & cols.constant) | (int16 & ~cols.constant))))
        for i in _screened(cols, cols.has_scale() & cols.dtype_in(QRANGE), suspect):
            t, node = cols.ids[i], cols.nodes[i]
            q = node["quant"]
            assert q is not None
            lo, hi = QRANGE[node["dtype"]]
            op = _anchor_op(graph, t)
            outside = [z for z in q.zero_point if not lo <= z <= hi]
            if outside:
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)} at {_op_label(graph, op)} has zero point "
                    f"{outside[0]}, outside [{lo}, {hi}]: the XNNPACK delegate refuses it at "
                    f"prepare ('unsupported zero-point value ({outside[0]}) for "
                    f"{node['dtype'].upper()} tensor {node['index']} in XNNPACK delegate'); "
                    f"the builtin kernels compute wrong values with it",
                    related=_ops_of(graph, t),
                )
                continue
            nonzero = [z for z in q.zero_point if z != 0]
            if not nonzero:
                continue
            dtype, constant = node["dtype"], node["constant"]
            if not ((dtype == "int8" and constant) or (dtype == "int16" and not constant)):
                continue
            filter_of = [
                o for o in graph.consumers(t)
                if graph[o]["op_type"] in CONV_LIKE
                and _slot_role(graph, t, o) == "filter"
            ]
            if node["dtype"] == "int8" and node["constant"] and filter_of:
                o = filter_of[0]
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)}, the filter of {_op_label(graph, o)}, has "
                    f"zero point {nonzero[0]}: int8 weights must be symmetric (zero point 0); "
                    f"{graph[o]['op_type']} fails to prepare ('zero_point->data[i] != 0 "
                    f"({nonzero[0]} != 0)', 'Node number {graph[o]['index']} "
                    f"({graph[o]['op_type']}) failed to prepare.')",
                    related=filter_of,
                )
            elif node["dtype"] == "int16" and not node["constant"]:
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)} at {_op_label(graph, op)} has zero point "
                    f"{nonzero[0]}: int16 activations must be symmetric (zero point 0); the "
                    f"int16 kernels check 'zero_point == 0' at prepare",
                    related=_ops_of(graph, t),
                )


# -- QL304 -----------------------------------------------------------------------------------


class PerChannelQuant(Rule):
    """Flags per-channel scales that do not match the tensor's quantized dimension.

    **What it flags.** A tensor with more than one scale whose ``quantized_dimension`` is not
    a dimension of its shape, or whose scale count differs from the size of that dimension;
    and the per-channel filter of a weighted op quantized along another dimension than the
    spec's (CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0, TRANSPOSE_CONV 0, CONV_3D 4).

    **Why it matters.** A count or dimension mismatch is refused while the model loads
    (``num_scales must be 1 for per-layer quantization, or 8 for per-axis quantization, but
    got 4.`` / ``Tensor 11 has invalid quantization parameters.``).  A filter quantized along
    the wrong dimension (possible when that dimension has the same size) loads and runs:
    the CPU kernels index the scales by output channel whatever the dimension says, so the
    TFLite CPU result is unchanged, but the file says something else than what the kernel
    does, and any tool or delegate that honours ``quantized_dimension`` reads other scales.

    **How to fix it.** Quantize filters per output channel along the spec's dimension, one
    scale and one zero point per channel; re-convert rather than editing the flatbuffer.
    """

    id = "QL304"
    name = "per-channel-mismatch"
    record = "tensorflow/tflite-quant-per-channel"
    severity = Severity.ERROR
    summary = "per-channel scale count != size of quantized_dimension, or the wrong dimension"
    fix = ("Give one scale and zero point per channel along the op's per-axis dimension "
           "(CONV_2D 0, DEPTHWISE_CONV_2D 3, FULLY_CONNECTED 0); re-convert.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        import numpy as np

        from qlint.quant_columns import quant_columns
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
        wt = _weighted(graph)
        wrong_axis = (wt.w >= 0) & wt.w_is_filter & (_at(cols.axis, wt.w, 0) != wt.channel_axis)
        suspect[wt.w[wrong_axis]] = True
        for i in _screened(cols, domain, suspect):
            t, node = cols.ids[i], cols.nodes[i]
            q = node["quant"]
            assert q is not None
            shape = node["shape"]
            n = len(q.scale)
            if shape is not None and not 0 <= q.axis < len(shape):
                op = _anchor_op(graph, t)
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)} at {_op_label(graph, op)}: quantized_dimension "
                    f"{q.axis} is not a dimension of shape {list(shape)}; the interpreter "
                    f"refuses the model at load ('quantized_dimension must be in range [0, "
                    f"{len(shape)}). Was {q.axis}.', 'Tensor {node['index']} has invalid "
                    f"quantization parameters.')",
                    related=_ops_of(graph, t),
                )
                continue
            if shape is not None and shape[q.axis] is not None and shape[q.axis] != n:
                op = _anchor_op(graph, t)
                yield self.finding(
                    graph, t,
                    f"{_tensor_label(graph, t)} at {_op_label(graph, op)} has {n} scales but "
                    f"dimension {q.axis} has size {shape[q.axis]}; the interpreter refuses "
                    f"the model at load ('num_scales must be 1 for per-layer quantization, "
                    f"or {shape[q.axis]} for per-axis quantization, but got {n}.', 'Tensor "
                    f"{node['index']} has invalid quantization parameters.')",
                    related=_ops_of(graph, t),
                )
                continue
            for o in graph.consumers(t):
                slots = CONV_LIKE.get(graph[o]["op_type"])
                if slots is None or _slot_role(graph, t, o) != "filter":
                    continue
                if q.axis != slots.channel_axis:
                    yield self.finding(
                        graph, t,
                        f"{_tensor_label(graph, t)}, the filter of {_op_label(graph, o)}, is "
                        f"quantized along dimension {q.axis}; {graph[o]['op_type']} needs "
                        f"dimension {slots.channel_axis} (its output channels). The TFLite "
                        f"CPU kernel ignores quantized_dimension and runs unchanged; tools "
                        f"and delegates that honour it read the wrong scales",
                        related=[o],
                        severity=Severity.WARNING,
                    )
                    break


# -- QL305 -----------------------------------------------------------------------------------

# GetQuantizedConvolutionMultipler (kernel_util.cc): per-tensor FULLY_CONNECTED and the
# uint8 convolutions require |input_scale*filter_scale - bias_scale| / output_scale <= 0.02.
BIAS_KERNEL_TOLERANCE = 0.02
# The converter writes bias_scale = input_scale * filter_scale in float32 (relative
# differences ~1e-7); anything beyond this is a different scale.
BIAS_RELATIVE_TOLERANCE = 1e-4


def _bias_suspects(graph: ModelGraph) -> np.ndarray:
    """bool per weighted op: its bias may have a zero point or a scale QL305 flags (the
    relative differences are computed with the same float operations as its check)."""
    import numpy as np

    from qlint.quant_columns import quant_columns
    cols, wt = quant_columns(graph), _weighted(graph)
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


class BiasQuant(Rule):
    """Flags biases whose scale is not input_scale x filter_scale, or whose zero point is not 0.

    **What it flags.** The bias of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
    TRANSPOSE_CONV or CONV_3D whose scale differs from ``input_scale * filter_scale`` (per
    channel for per-channel filters) by more than 1e-4 relative, or whose zero point is
    not 0.

    **Why it matters.** The kernels add the int32 bias straight into the accumulator,
    which is in units of ``input_scale * filter_scale``; the bias's own scale is never
    used, so a different one means the stored bias values are misread.  The TensorFlow
    2.21 FULLY_CONNECTED kernel with per-tensor weights (and the uint8 kernels) checks
    it at ``allocate_tensors()``: ``scale_diff / output_scale <= 0.02 was not true.`` and
    ``Node number 10 (FULLY_CONNECTED) failed to prepare.``  Per-channel kernels do not check
    and run silently.  The XNNPACK delegate refuses a non-zero bias zero point (``unsupported
    zero-point value (3) in channel 0 of INT32 tensor 15 in XNNPACK delegate``).

    **How to fix it.** Quantize the bias as ``round(b / (input_scale * filter_scale))`` with
    zero point 0, which is what the converter does; re-convert rather than edit.
    """

    id = "QL305"
    name = "bias-scale-mismatch"
    record = "tensorflow/tflite-quant-bias-scale"
    severity = Severity.ERROR
    summary = "bias scale != input scale x weight scale, or bias zero point != 0"
    fix = ("Quantize biases with scale input_scale*filter_scale (per channel) and zero "
           "point 0; re-convert.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        import numpy as np

        from qlint.quant_columns import quant_columns
        wt = _weighted(graph)
        for k in _screened(quant_columns(graph), np.ones(len(wt.ops), dtype=bool),
                           _bias_suspects(graph)):
            op = wt.ops[k]
            slots = CONV_LIKE[graph[op]["op_type"]]
            ins, outs = graph.slots(op)
            if slots.bias >= len(ins) or not outs:
                continue
            x, w, b, y = ins[slots.input], ins[slots.filter], ins[slots.bias], outs[0]
            ex, ew, eb, ey = _entry(graph, x), _entry(graph, w), _entry(graph, b), _entry(graph, y)
            if ex is None or ew is None or eb is None or ey is None:
                continue
            if not (ex.scales_ok and ew.scales_ok and eb.scales_ok and ey.scales_ok):
                continue  # QL302's finding
            assert x is not None and w is not None and b is not None
            qx, qw, qb, qy = ex.q, ew.q, eb.q, ey.q
            nonzero = [z for z in qb.zero_point if z != 0]
            if nonzero:
                yield self.finding(
                    graph, b,
                    f"bias {_tensor_label(graph, b)} of {_op_label(graph, op)} has zero point "
                    f"{nonzero[0]}: a bias must have zero point 0; the XNNPACK delegate "
                    f"refuses it at prepare ('unsupported zero-point value ({nonzero[0]}) in "
                    f"channel ... of {graph[b]['dtype'].upper()} tensor {graph[b]['index']} "
                    f"in XNNPACK delegate') and the builtin kernels ignore it",
                    related=[op],
                )
            n = max(len(qw.scale), len(qb.scale))
            if len(qw.scale) not in (1, n) or len(qb.scale) not in (1, n):
                continue  # QL304's finding
            label = _op_label(graph, op)
            worst, worst_c, worst_rel = 0.0, 0, 0.0
            for c in range(n):
                expected = qx.scale[0] * qw.scale[c if len(qw.scale) > 1 else 0]
                actual = qb.scale[c if len(qb.scale) > 1 else 0]
                rel = abs(actual - expected) / expected
                if rel > worst_rel:
                    worst, worst_c, worst_rel = abs(actual - expected), c, rel
            if worst_rel <= BIAS_RELATIVE_TOLERANCE:
                continue
            if graph[x]["dtype"] == "int16":
                # TF 2.21's 16x8 conversion itself writes DEPTHWISE_CONV_2D bias scales that
                # differ from input x filter (fixtures/int16x8_cnn); the int16 kernels do not
                # read them.  Not reported until that is understood.
                continue
            kernel_checks = (
                (graph[op]["op_type"] == "FULLY_CONNECTED" and len(qw.scale) == 1)
                or graph[x]["dtype"] == "uint8"
            )
            diff_ratio = worst / qy.scale[0]
            expected = qx.scale[0] * qw.scale[worst_c if len(qw.scale) > 1 else 0]
            actual = qb.scale[worst_c if len(qb.scale) > 1 else 0]
            where = f" (channel {worst_c})" if n > 1 else ""
            head = (f"bias {_tensor_label(graph, b)} of {label} has scale {_fmt(actual)}"
                    f"{where}, input_scale x filter_scale is {_fmt(expected)} "
                    f"({worst_rel:.1%} off)")
            if kernel_checks and diff_ratio > BIAS_KERNEL_TOLERANCE:
                yield self.finding(
                    graph, b,
                    f"{head}: {graph[op]['op_type']} fails to prepare ('scale_diff / "
                    f"output_scale <= 0.02 was not true.', here {diff_ratio:.3g}; 'Node number "
                    f"{graph[op]['index']} ({graph[op]['op_type']}) failed to prepare.')",
                    related=[op, x, w],
                )
            else:
                yield self.finding(
                    graph, b,
                    f"{head}: the kernel does not check it and adds the bias in units of "
                    f"input_scale x filter_scale, so the stored bias is misread by that factor "
                    f"(silent)",
                    related=[op, x, w],
                    severity=Severity.WARNING,
                )


# -- QL306 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedOutput:
    """The output parameters an op's kernel requires, and whether it checks them."""

    scale: float
    zero_point: int
    checked: bool
    near: bool = False  # TF_LITE_ENSURE_NEAR (relative 1e-3) instead of exact equality


FIXED_OUTPUTS: dict[tuple[str, str], FixedOutput] = {
    ("LOGISTIC", "int8"): FixedOutput(1 / 256, -128, True),
    ("LOGISTIC", "uint8"): FixedOutput(1 / 256, 0, True),
    ("LOGISTIC", "int16"): FixedOutput(1 / 32768, 0, False),
    ("SOFTMAX", "int8"): FixedOutput(1 / 256, -128, True, near=True),
    ("SOFTMAX", "uint8"): FixedOutput(1 / 256, 0, True, near=True),
    ("SOFTMAX", "int16"): FixedOutput(1 / 32768, 0, True, near=True),
    ("TANH", "int8"): FixedOutput(1 / 128, 0, False),
    ("TANH", "uint8"): FixedOutput(1 / 128, 128, False),
    ("TANH", "int16"): FixedOutput(1 / 32768, 0, False),
    ("LOG_SOFTMAX", "int8"): FixedOutput(16 / 256, 127, True),
    ("LOG_SOFTMAX", "uint8"): FixedOutput(16 / 256, 255, True),
    ("L2_NORMALIZATION", "int8"): FixedOutput(1 / 128, 0, True),
    ("L2_NORMALIZATION", "uint8"): FixedOutput(1 / 128, 128, True),
}


def _frac(x: float) -> str:
    for den in (128, 256, 32768):
        num = x * den
        if abs(num - round(num)) < 1e-9 and round(num) > 0:
            return f"{round(num)}/{den}"
    return _fmt(x)


class FixedOutputParams(Rule):
    """Flags outputs of LOGISTIC, SOFTMAX, TANH, ... whose parameters differ from the spec's.

    **What it flags.** The quantized output of an op whose output parameters the spec
    fixes: LOGISTIC and SOFTMAX (1/256, -128), TANH (1/128, 0), LOG_SOFTMAX (16/256, 127),
    L2_NORMALIZATION (1/128, 0); the uint8 forms with the zero point shifted by 128, the
    int16 forms of LOGISTIC, SOFTMAX and TANH (1/32768, 0).

    **Why it matters.** TensorFlow 2.21's kernels check most of them at
    ``allocate_tensors()``: ``activations.cc:553 output->params.zero_point != -128 (0 !=
    -128)`` / ``output->params.scale not near 1.f / 256`` for SOFTMAX,
    ``activations.cc:481 output->params.scale == 1. / 256 was not true.`` for LOGISTIC
    (the default XNNPACK delegate takes LOGISTIC over and runs it), each followed by
    ``Node number N (OP) failed to prepare.``  TANH is not checked: it runs silently with
    the wrong output range or resolution.

    **How to fix it.** Do not override these outputs' parameters (quantization-aware
    training ranges, hand edits, third-party exporters); let the converter set them.
    """

    id = "QL306"
    name = "fixed-output-params"
    record = "tensorflow/tflite-quant-fixed-output"
    severity = Severity.ERROR
    summary = "LOGISTIC/SOFTMAX/TANH/LOG_SOFTMAX/L2_NORMALIZATION output not the fixed params"
    fix = ("Let the converter set these outputs' scale and zero point (e.g. SOFTMAX int8: "
           "1/256, -128); remove overrides from QAT or hand edits.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops_of_type({op_type for op_type, _ in FIXED_OUTPUTS}):
            op_type = graph[op]["op_type"]
            outs = graph.outputs(op)
            if not outs or outs[0] is None:
                continue
            y = outs[0]
            spec = FIXED_OUTPUTS.get((op_type, graph[y]["dtype"]))
            q = _qparams(graph, y)
            if spec is None or q is None or len(q.scale) != 1 or not q.zero_point:
                continue
            scale, zp = q.scale[0], q.zero_point[0]
            if not math.isfinite(scale):
                continue
            tol = 1e-3 if spec.near else 1e-6
            scale_ok = abs(scale - spec.scale) <= tol * spec.scale
            if scale_ok and zp == spec.zero_point:
                continue
            got = f"({_fmt(scale)}, {zp})"
            want = f"({_frac(spec.scale)}, {spec.zero_point})"
            idx = graph[op]["index"]
            if spec.checked:
                if zp != spec.zero_point:
                    said = (f"'output->params.zero_point != {spec.zero_point} ({zp} != "
                            f"{spec.zero_point})'")
                elif spec.near:
                    said = f"'output->params.scale not near 1.f / {round(1 / spec.scale)}'"
                else:
                    said = f"'output->params.scale == {_frac(spec.scale)} was not true.'"
                effect = (f"the {op_type} kernel fails to prepare ({said}, 'Node number {idx} "
                          f"({op_type}) failed to prepare.')")
                severity = Severity.ERROR
            else:
                effect = (f"the {op_type} kernel does not check it and runs with the wrong "
                          f"output range/resolution (silent)")
                severity = Severity.WARNING
            yield self.finding(
                graph, y,
                f"output {_tensor_label(graph, y)} of {_op_label(graph, op)} is quantized "
                f"{got}, the spec fixes {want}: {effect}",
                related=[op],
                severity=severity,
            )


# -- QL307 -----------------------------------------------------------------------------------

# Ops whose int8 kernels move values without requantizing: input and output must share
# scale and zero point (spec table and operator_property.cc restrict_same_input_output_scale).
SAME_SCALE_OPS = frozenset({
    "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "PAD", "PADV2",
    "MIRROR_PAD", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE",
    "SQUEEZE", "EXPAND_DIMS", "SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V", "PACK",
    "UNPACK", "TILE", "BROADCAST_TO", "REDUCE_MAX", "REDUCE_MIN",
})
# Inputs that carry data (the others are shapes, indices, paddings, axes).
_DATA_SLOTS: dict[str, tuple[int, ...] | None] = {
    "CONCATENATION": None,  # every input
    "PACK": None,
    "SPLIT": (1,),
    "PADV2": (0, 2),
}
# What TensorFlow 2.21 does with a mismatch, reproduced by fixtures/quant_params:
# op -> (layer that fails, message) or absent when it runs silently.
SAME_SCALE_FAILURES: dict[str, str] = {
    "CONCATENATION": ("the CONCATENATION kernel fails to prepare ('concatenation.cc:237 "
                      "t->params.scale != output->params.scale', 'Node number {idx} "
                      "(CONCATENATION) failed to prepare.')"),
    "MAX_POOL_2D": ("the XNNPACK delegate fails to prepare ('failed to delegate MAX_POOL_2D "
                    "node #{idx}', 'Node number N (TfLiteXNNPackDelegate) failed to "
                    "prepare.'); the builtin kernel runs silently"),
    "PAD": ("the XNNPACK delegate fails to prepare ('failed to delegate PAD node #{idx}', "
            "'Node number N (TfLiteXNNPackDelegate) failed to prepare.'); the builtin kernel "
            "runs silently"),
}


class SameScaleOps(Rule):
    """Flags data-movement ops whose input and output scale or zero point differ.

    **What it flags.** Pools, CONCATENATION, RESHAPE, TRANSPOSE, PAD, SLICE, GATHER,
    SQUEEZE, SPLIT, PACK and the other ops the spec says must keep "the same
    scale/zero_point" on input and output, when a data input's per-tensor parameters
    differ from the output's; for CONCATENATION, inputs that arrive with different scales,
    naming the input with the widest range.

    **Why it matters.** These kernels copy or compare int8 values without requantizing,
    so different parameters reinterpret every value.  TensorFlow 2.21 refuses some at
    ``allocate_tensors()``: CONCATENATION with ``concatenation.cc:237 t->params.scale !=
    output->params.scale`` and ``Node number 5 (CONCATENATION) failed to prepare.``, and the
    default XNNPACK delegate with ``failed to delegate MAX_POOL_2D node #1``; RESHAPE and the
    rest run silently with wrong values.  A clean TF 2.21 conversion gives these ops equal
    parameters (it puts a requantizing QUANTIZE in front of a CONCATENATION input when it
    must), so a mismatch comes from graph surgery or a third-party exporter.

    **How to fix it.** Give the op's inputs and output the same scale and zero point; for
    a CONCATENATION of differently ranged inputs, requantize each input to the output's
    parameters with a QUANTIZE op (the widest input sets the shared range, and the
    narrow inputs lose resolution), or rebalance the branches so their ranges match.
    """

    id = "QL307"
    name = "same-scale-mismatch"
    record = "tensorflow/tflite-quant-same-scale"
    severity = Severity.ERROR
    summary = "same-scale op (pool, concat, reshape, pad, ...) with different in/out params"
    fix = ("Give the op's inputs and output one scale and zero point (requantize inputs "
           "with QUANTIZE); re-convert instead of editing.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops_of_type(SAME_SCALE_OPS):
            op_type = graph[op]["op_type"]
            outs = [t for t in graph.outputs(op) if t is not None]
            if not outs:
                continue
            y = outs[0]
            qy = _qparams(graph, y)
            # Counts that disagree are QL301's finding; this rule needs one (scale, zp) pair.
            if (qy is None or graph[y]["dtype"] not in QRANGE or len(qy.scale) != 1
                    or len(qy.zero_point) != 1):
                continue
            ins = graph.inputs(op)
            slots = _DATA_SLOTS.get(op_type, (0,))
            data = [t for i, t in enumerate(ins)
                    if t is not None and (slots is None or i in slots)]
            differing: list[tuple[NodeId, Quant]] = []
            for t in data:
                qt = _qparams(graph, t)
                if (qt is None or len(qt.scale) != 1 or len(qt.zero_point) != 1
                        or graph[t]["dtype"] != graph[y]["dtype"]):
                    continue
                if (abs(qt.scale[0] - qy.scale[0]) > 1e-6 * qy.scale[0]
                        or qt.zero_point[:1] != qy.zero_point[:1]):
                    differing.append((t, qt))
            if not differing:
                continue
            idx = graph[op]["index"]
            failure = SAME_SCALE_FAILURES.get(op_type)
            if failure:
                effect = failure.format(idx=idx)
                severity = Severity.ERROR
            elif op_type == "AVERAGE_POOL_2D":
                effect = ("the builtin kernel averages the int8 values without requantizing, "
                          "so every value is reinterpreted (silent wrong results; the XNNPACK "
                          "delegate requantizes)")
                severity = Severity.WARNING
            else:
                effect = (f"the {op_type} kernel copies the int8 values unchanged, so every "
                          f"value is reinterpreted (silent wrong results)")
                severity = Severity.WARNING
            out_p = f"({_fmt(qy.scale[0])}, {qy.zero_point[0]})"
            if op_type in ("CONCATENATION", "PACK"):
                params = [(t, _qparams(graph, t)) for t in data]
                ranged = [(t, q) for t, q in params if q is not None and len(q.scale) == 1]
                widest, wq = max(ranged, key=lambda p: _span(p[1], graph[p[0]]["dtype"]))
                listed = ", ".join(
                    f"{graph[t]['index']}: ({_fmt(q.scale[0])}, {q.zero_point[0]})"
                    for t, q in ranged
                )
                yield self.finding(
                    graph, op,
                    f"{_op_label(graph, op)} joins inputs with different quantization "
                    f"[{listed}] into output {out_p}; widest range: input "
                    f"{_tensor_label(graph, widest)} (scale {_fmt(wq.scale[0])}); a requantize "
                    f"to one scale is needed and the narrower inputs lose precision: {effect}",
                    related=[t for t, _ in ranged] + [y],
                    severity=severity,
                )
                continue
            t, qt = differing[0]
            yield self.finding(
                graph, op,
                f"{_op_label(graph, op)} must keep its input's quantization but input "
                f"{_tensor_label(graph, t)} is ({_fmt(qt.scale[0])}, {qt.zero_point[0]}) and "
                f"output {graph[y]['index']} is {out_p}: {effect}",
                related=[t, y],
                severity=severity,
            )


# -- QL308 -----------------------------------------------------------------------------------


class LegacyUint8(Rule):
    """Flags ops that compute on asymmetric uint8 (TF1-style quantization) where the target is int8.

    **What it flags.** In a model linted for an int8 target (``tflite-int8``,
    ``tflm-int8``), the ops whose activations are quantized uint8, TF1's
    ``inference_type=QUANTIZED_UINT8`` scheme with zero points around 128 and asymmetric
    weights.  One finding per model, on the first such op; the others are related nodes.
    uint8 model inputs/outputs around an int8 core are QL402's, not this rule's.

    **Why it matters.** TensorFlow 2.21's CPU interpreter still has uint8 kernels and runs
    such a model silently, but the int8 spec replaced it: TFLite Micro removed uint8
    kernels (``quantize.cpp:58 input->type == kTfLiteFloat32 || ... was not true``), int8
    NPUs and their compilers take int8 only, per-channel weights exist only in int8, and
    the converter no longer produces uint8 graphs.

    **How to fix it.** Re-convert the float model with post-training full-integer
    quantization (int8) or re-export the QAT model with the TF2 converter.
    """

    id = "QL308"
    name = "legacy-uint8"
    record = "tensorflow/tflite-quant-legacy-uint8"
    severity = Severity.WARNING
    summary = "ops computing on TF1-style asymmetric uint8 where the target is int8"
    fix = ("Re-convert to int8 with the TF2 converter (full-integer post-training "
           "quantization or a TF2 QAT export).")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        if not ctx.target.endswith("int8") or "int16" in ctx.target:
            return
        if "uint8" not in _dtypes(graph):
            return
        uint8_ops = [
            op for op in graph.ops()
            if graph[op]["op_type"] not in ("QUANTIZE", "DEQUANTIZE")
            and any(graph[t]["dtype"] == "uint8" and _qparams(graph, t) is not None
                    for t in graph.activations(op))
        ]
        if not uint8_ops:
            return
        first = uint8_ops[0]
        weights = sum(
            1 for op in uint8_ops if (slots := CONV_LIKE.get(graph[op]["op_type"])) is not None
            and slots.filter < len(graph.inputs(op))
            and (w := graph.inputs(op)[slots.filter]) is not None
            and graph[w]["dtype"] == "uint8"
        )
        yield self.finding(
            graph, first,
            f"{len(uint8_ops)} op{'s' if len(uint8_ops) != 1 else ''} compute on asymmetric "
            f"uint8 (TF1-style quantization; {weights} with uint8 weights), starting at "
            f"{_op_label(graph, first)}, but the target {ctx.target} is int8: the TFLite CPU "
            f"interpreter runs it (silent), int8-only runtimes (TFLite Micro, NPUs) do not",
            related=[*(t for t in graph.activations(first) if graph[t]["dtype"] == "uint8"),
                     *uint8_ops[1:]],
        )


# -- QL309 -----------------------------------------------------------------------------------

# TF 2.21's quantizer widens a calibration range narrower than 1e-6 to at least
# [-1e-6, 1e-6] (ExpandVerySmallRange, kNearZeroTolerance): scale ~7.8e-9 on int8, a
# representable span of ~2e-6.  Real activations span far more.
COLLAPSED_SPAN = 1e-5
# A range that collapses inside one op whose inputs span this many times more is a unit
# that never fired; a signal fading gradually over many layers (untrained weights) is not.
COLLAPSE_RATIO = 1e3
# A scale at least this large spans more than COLLAPSED_SPAN in every dtype of QRANGE
# (twice the bound, so float rounding cannot matter).
_SURELY_WIDE_SCALE = 2 * COLLAPSED_SPAN / min(hi - lo for lo, hi in QRANGE.values())


def _collapsed(graph: ModelGraph, t: NodeId) -> bool:
    q = _qparams(graph, t)
    if q is None or len(q.scale) != 1 or graph[t]["dtype"] not in QRANGE:
        return False
    if q.min is not None and q.max is not None and q.min[:1] == q.max[:1]:
        return True
    scale = q.scale[0]
    return math.isfinite(scale) and scale > 0 and _span(q, graph[t]["dtype"]) < COLLAPSED_SPAN


class DegenerateCalibration(Rule):
    """Flags activations whose calibrated range collapsed to (almost) nothing inside one op.

    **What it flags.** A quantized activation whose representable real range (scale x 255
    for 8 bits) is below 1e-5, or whose recorded min equals its max, produced by an op
    whose quantized inputs all have healthy ranges at least 1000 times wider.  That is the
    trace TensorFlow 2.21 leaves when calibration never moved a tensor: it widens a range
    narrower than 1e-6 (a ReLU that never fired, a branch no sample reached) to about
    [-1e-6, 1e-6], a scale of about 7.8e-9.  A signal that fades gradually through many
    layers (untrained weights) is not flagged at each layer, only where it collapses.

    **Why it matters.** The model converts without any message, and every real value
    outside about +-1e-6 saturates on this tensor: the op's output is a constant in
    production.  When the tiny scale also pushes the producing op's requantization
    multiplier to 256 or more (as for a dead ReLU after a Dense), TensorFlow 2.21's default
    XNNPACK delegate fails at ``allocate_tensors()`` with ``failed to create XNNPACK
    runtime``, and the finding is an error; otherwise the model runs silently and it is a
    warning.  The usual cause is a representative dataset that does not cover the inputs
    (random noise, a handful of samples, wrong preprocessing) or a dead unit.

    **How to fix it.** Calibrate with a few hundred real, preprocessed samples that cover
    every branch; if the unit is truly dead, prune it.
    """

    id = "QL309"
    name = "degenerate-calibration"
    record = "tensorflow/tflite-quant-collapsed-range"
    severity = Severity.WARNING
    summary = "activation whose calibration range collapsed inside one op"
    fix = ("Calibrate with real, preprocessed samples covering every branch (hundreds, not "
           "random noise); prune units that never activate.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        from qlint.quant_columns import quant_columns
        cols = quant_columns(graph)
        domain = cols.has_scale() & ~cols.constant & (cols.n_scale == 1)
        suspect = ~(cols.first_scale >= _SURELY_WIDE_SCALE) | cols.minmax_equal
        for i in _screened(cols, domain, suspect):
            t, node = cols.ids[i], cols.nodes[i]
            if not _collapsed(graph, t):
                continue
            p = graph.producer(t)
            if p is None:
                continue
            q = _qparams(graph, t)
            assert q is not None
            ins = [x for x in _data_inputs(graph, p)
                   if _qparams(graph, x) is not None and graph[x]["dtype"] in QRANGE]
            if not ins or any(_collapsed(graph, x) for x in ins):
                continue
            widest = max(_span(_qparams(graph, x), graph[x]["dtype"])  # type: ignore[arg-type]
                         for x in ins)
            span = _span(q, node["dtype"])
            if widest < COLLAPSE_RATIO * span:
                continue
            lo, hi = QRANGE[node["dtype"]]
            scale, zp = q.scale[0], (q.zero_point[0] if q.zero_point else 0)
            head = (f"activation {_tensor_label(graph, t)}, output of {_op_label(graph, p)}, "
                    f"can only represent [{_fmt((lo - zp) * scale)}, {_fmt((hi - zp) * scale)}] "
                    f"(scale {_fmt(scale)}) while its input spans {_fmt(widest)}: its "
                    f"calibration range was empty, so every real value saturates here")
            extreme = [o for o in _ops_of(graph, t)
                       if any(m >= MULTIPLIER_MAX or m < MULTIPLIER_MIN
                              for m in requant_multipliers(graph, o))]
            if extreme:
                yield self.finding(
                    graph, t,
                    f"{head}; the tiny scale also puts the requantization multiplier of "
                    f"{_op_label(graph, extreme[0])} out of range, so the default XNNPACK "
                    f"delegate fails to prepare ('failed to create XNNPACK runtime', 'Node "
                    f"number N (TfLiteXNNPackDelegate) failed to prepare.')",
                    related=_ops_of(graph, t),
                    severity=Severity.ERROR,
                )
            else:
                yield self.finding(graph, t, f"{head} (silent)", related=_ops_of(graph, t))


def all_rules() -> list[type[Rule]]:
    """The rules of this module, in id order."""
    return [MissingQuantParams, InvalidScale, ZeroPointRange, PerChannelQuant, BiasQuant,
            FixedOutputParams, SameScaleOps, LegacyUint8, DegenerateCalibration]


__all__ = [cls.__name__ for cls in all_rules()] + ["all_rules"]
