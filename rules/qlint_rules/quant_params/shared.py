"""What the QL3xx rules share: the spec's dtype ranges and op families, the limits both a
rule and its screen use, the base class of screened rules, and the helpers and labels the
findings are written with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from qlint.finding import Severity
from qlint.graph import ModelGraph, NodeId, Quant
from qlint.registry import Context, Rule

# -- the spec ---------------------------------------------------------------------------------

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
RAW_INTEGER_OPS = frozenset({"CAST", "ARG_MAX", "ARG_MIN", "SHAPE", "GATHER_ND"})

# Ops whose int8 kernels move values without requantizing: input and output must share
# scale and zero point (spec table and operator_property.cc restrict_same_input_output_scale).
SAME_SCALE_OPS = frozenset({
    "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "PAD", "PADV2",
    "MIRROR_PAD", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE",
    "SQUEEZE", "EXPAND_DIMS", "SLICE", "STRIDED_SLICE", "SPLIT", "SPLIT_V", "PACK",
    "UNPACK", "TILE", "BROADCAST_TO", "REDUCE_MAX", "REDUCE_MIN",
})
# Inputs of a same-scale op that carry data (the others are shapes, indices, paddings,
# axes); absent: the first input only.
DATA_SLOTS: dict[str, tuple[int, ...] | None] = {
    "CONCATENATION": None,  # every input
    "PACK": None,
    "SPLIT": (1,),
    "PADV2": (0, 2),
}


@dataclass(frozen=True)
class FixedOutput:
    """The output parameters an op's kernel requires, and whether it checks them."""

    scale: float
    zero_point: int
    checked: bool
    near: bool = False  # TF_LITE_ENSURE_NEAR (relative 1e-3) instead of exact equality


# Ops whose output parameters the spec fixes, per output dtype.
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

# -- limits a rule and its screen both use ----------------------------------------------------

# QuantizeMultiplier (quantization_util.cc) turns a multiplier below 2**-32 into 0 (every
# output becomes the zero point); the XNNPACK delegate, applied by default to int8 models,
# refuses requantization scales below 2**-32 or from 256 up ("failed to create XNNPACK
# runtime", reproduced by fixtures/quant_params/scale_underflow and dead_relu).
MULTIPLIER_MIN = 2.0 ** -32
MULTIPLIER_MAX = 256.0

# The converter writes bias_scale = input_scale * filter_scale in float32 (relative
# differences ~1e-7); anything beyond this is a different scale (QL305).
BIAS_RELATIVE_TOLERANCE = 1e-4

# TF 2.21's quantizer widens a calibration range narrower than 1e-6 to at least
# [-1e-6, 1e-6] (ExpandVerySmallRange, kNearZeroTolerance): scale ~7.8e-9 on int8, a
# representable span of ~2e-6.  Real activations span far more (QL309).
COLLAPSED_SPAN = 1e-5


# -- screened rules ---------------------------------------------------------------------------


class ScreenedRule(Rule):
    """A rule whose `check` runs its exact check on the candidates a numpy screen lets
    through (`qlint_rules.quant_params.screens`).  ``screen=False`` runs the exact check on
    every tensor or op instead: the same findings, slowly (the tests compare the two).
    `check` imports the screens where it runs: linting a SavedModel or a Keras file never
    imports numpy."""

    def __init__(self, *, screen: bool = True) -> None:
        self.screen = screen


# -- the graph around a tensor ----------------------------------------------------------------


def qparams(graph: ModelGraph, t: NodeId) -> Quant | None:
    """The tensor's quantization when it has at least one scale."""
    q = graph[t]["quant"]
    return q if q is not None and q.scale else None


class Quantized(NamedTuple):
    """A tensor some op uses, with at least one scale."""

    t: NodeId
    node: dict[str, Any]
    q: Quant
    scales_ok: bool  # every scale is a positive finite number


def quantized(graph: ModelGraph, t: NodeId | None) -> Quantized | None:
    """``t`` with its quantization when an op uses it and it has at least one scale."""
    if t is None:
        return None
    node = graph[t]
    q = node["quant"]
    if q is None or not q.scale or not graph.used(t):
        return None
    return Quantized(t, node, q, all(0.0 < s < math.inf for s in q.scale))


def ops_of(graph: ModelGraph, t: NodeId) -> list[NodeId]:
    """The op that produces ``t`` (if any) followed by the ops that consume it."""
    p = graph.producer(t)
    return ([p] if p is not None else []) + graph.consumers(t)


def anchor_op(graph: ModelGraph, t: NodeId) -> NodeId | None:
    """The op a finding about tensor ``t`` names: its first consumer, else its producer."""
    consumers = graph.consumers(t)
    if consumers:
        return consumers[0]
    return graph.producer(t)


def slot_role(graph: ModelGraph, t: NodeId, op: NodeId | None) -> str:
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


def data_inputs(graph: ModelGraph, op: NodeId) -> list[NodeId]:
    """Non-constant inputs of ``op``."""
    return [t for t in graph.inputs(op) if t is not None and not graph[t]["constant"]]


def span(q: Quant, dtype: str) -> float:
    """Width of the real range the tensor can represent (per-tensor scale)."""
    lo, hi = QRANGE[dtype]
    return float(q.scale[0]) * (hi - lo)


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
    ex, ew, ey = quantized(graph, x), quantized(graph, w), quantized(graph, y)
    if ex is None or ew is None or ey is None:
        return []
    sx, sy = ex.q.scale[0], ey.q.scale[0]
    if not (ew.scales_ok and 0.0 < sx < math.inf and 0.0 < sy < math.inf):
        return []
    return [sx * sw / sy for sw in ew.q.scale]


# -- labels -----------------------------------------------------------------------------------


def fmt(x: float) -> str:
    return f"{x:.6g}"


def frac(x: float) -> str:
    """``x`` as a fraction over 128, 256 or 32768 when it is one (``1/256``)."""
    for den in (128, 256, 32768):
        num = x * den
        if abs(num - round(num)) < 1e-9 and round(num) > 0:
            return f"{round(num)}/{den}"
    return fmt(x)


def op_label(graph: ModelGraph, op: NodeId | None) -> str:
    if op is None:
        return "no op"
    node = graph[op]
    return f"op {node['index']} ({node['op_type']})"


def tensor_label(graph: ModelGraph, t: NodeId) -> str:
    node = graph[t]
    return f"tensor {node['index']} '{node['name']}' ({node['dtype']})"


def target_effect(graph: ModelGraph, op: NodeId, ctx: Context, effect: str,
                  severity: Severity) -> tuple[str, Severity]:
    """``effect`` and ``severity`` as the chosen target makes them: when the target's
    compiler refuses the op (`qlint.targets.Target.refusal`, from its probed table), the
    finding is an error that quotes the compiler."""
    refused = ctx.target.refusal(graph, op)
    if refused is None:
        return effect, severity
    said = f' (its message on the probed model: "{refused.reason}")' if refused.reason else ""
    return (f"{effect}; on {ctx.target.name} the Vela compiler refuses such an op{said}",
            Severity.ERROR)
