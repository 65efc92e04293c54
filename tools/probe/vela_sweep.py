"""What the Vela probe sweeps: one-op int8 models and the conditions they test.

Each op that Vela checks by attribute or shape has a list of *hypotheses*: ordered
condition lists (`qlint.conditions`) read from Vela's own constraint source
(``ethosu/vela/tflite_supported_operators.py``, named in ``source``).  The sweep
points put models on both sides of each hypothesis.  The probe does not trust the
hypotheses: it assigns every point to the first hypothesis whose conditions hold on
the facts qlint computes for the converted op, and records per accelerator config what
Vela *did* with the points of each hypothesis (``npu``, ``cpu`` with Vela's reason,
``refused``; ``mixed`` when the points disagree, ``unprobed`` when none was built).

Every other builtin is probed once with its default builder from
`tools.probe.builders` (the same model the TFLite probe converts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

SRC = "ethosu/vela/tflite_supported_operators.py"
X = Arg((1, 16, 16, 8))
X32 = Arg((1, 32, 32, 8))
XB2 = Arg((2, 16, 16, 8))


@dataclass(frozen=True)
class Point:
    """One sweep model: the op it tests, a label, how to build it and conversion options."""

    op: str
    label: str
    builder: Builder
    mode: str = "int8"  # int8 or int16x8
    per_channel: bool = True
    edit: str | None = None  # a flatbuffer edit applied after conversion (see vela.EDITS)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hypothesis:
    """An ordered condition list the sweep tests, with the Vela source it restates."""

    when: tuple[dict[str, Any], ...]
    source: str
    first: bool = False  # checked before the op's own rules (Vela's generic constraints)


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.3).astype(np.float32)


def conv(k: int = 3, s: int = 1, pad: str = "SAME", d: int = 1, cin: int = 8,
         cout: int = 8) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w, b = tf.constant(_w(rng, k, k, cin, cout)), tf.constant(_w(rng, cout))
        return lambda x: tf.nn.relu(tf.nn.conv2d(x, w, s, pad, dilations=d) + b)
    return make


def depthwise(k: int = 3, s: int = 1, pad: str = "SAME", dm: int = 1, cin: int = 8,
              d: int = 1) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w, b = tf.constant(_w(rng, k, k, cin, dm)), tf.constant(_w(rng, cin * dm))
        dil = None if d == 1 else [d, d]
        return lambda x: tf.nn.depthwise_conv2d(x, w, [1, s, s, 1], pad, dilations=dil) + b
    return make


def pool(kind: str, k: int, s: int, pad: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        fn = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d
        return lambda x: fn(x, k, s, pad)
    return make


def mean(axes: list[int], keep: bool) -> Callable[[Any, Any, np.random.Generator], Any]:
    return lambda tf, keras, rng: (lambda x: tf.math.reduce_mean(x, axes, keepdims=keep))


def resize(kind: str, scale: int, align: bool = False,
           half: bool = False) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        size = [8 * scale, 8 * scale]
        if kind == "bilinear":
            return lambda x: tf.compat.v1.image.resize_bilinear(
                x, size, align_corners=align, half_pixel_centers=half)
        return lambda x: tf.compat.v1.image.resize_nearest_neighbor(
            x, size, align_corners=align, half_pixel_centers=half)
    return make


def dense(n_in: int = 16, n_out: int = 8) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w, b = tf.constant(_w(rng, n_in, n_out)), tf.constant(_w(rng, n_out))
        return lambda x: tf.matmul(x, w) + b
    return make


def binary(fn: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    return lambda tf, keras, rng: getattr(tf.math, fn)


def fn1(body: Callable[[Any], Callable[[Any], Any]]) -> Callable[[Any, Any, np.random.Generator],
                                                                    Any]:
    return lambda tf, keras, rng: body(tf)


def tconv_chain(how: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    """A stride-2 TRANSPOSE_CONV whose output shape is computed from the dynamic batch:
    ``stack``: SHAPE -> STRIDED_SLICE (scalar) -> PACK; ``concat``: SHAPE ->
    STRIDED_SLICE (1-D) -> CONCATENATION."""
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w = tf.constant(_w(rng, 3, 3, 8, 8))

        def f(x: Any) -> Any:
            if how == "stack":
                shape = tf.stack([tf.shape(x)[0], 16, 16, 8])
            else:
                shape = tf.concat([tf.shape(x)[:1], tf.constant([16, 16, 8])], 0)
            return tf.nn.conv2d_transpose(x, w, shape, 2, "SAME")
        return f
    return make


def _p(op: str, label: str, make: Callable[..., Any], args: tuple[Arg, ...] = (X,),
       **kw: Any) -> Point:
    return Point(op, label, Builder(label, make, args), **kw)


X8 = Arg((1, 8, 8, 8))
XN = Arg((None, 8, 8, 8), sample=(1, 8, 8, 8))
XB2_8 = Arg((2, 8, 8, 8))
SWEEP: tuple[Point, ...] = (
    # CONV_2D: stride, padding, kernel, dilation, batch, per-axis, int16
    _p("CONV_2D", "conv k3 s1 same", conv()),
    _p("CONV_2D", "conv k3 s2 same", conv(s=2)),
    _p("CONV_2D", "conv k3 s3 same", conv(s=3)),
    _p("CONV_2D", "conv k3 s4 same", conv(s=4)),
    _p("CONV_2D", "conv k4 s4 valid", conv(k=4, s=4, pad="VALID")),
    _p("CONV_2D", "conv k1 s1 valid", conv(k=1, pad="VALID")),
    _p("CONV_2D", "conv k9 s1 same", conv(k=9), args=(X32,)),
    _p("CONV_2D", "conv k3 d2", conv(d=2)),
    _p("CONV_2D", "conv batch 2", conv(), args=(XB2,)),
    _p("CONV_2D", "conv per-tensor", conv(), per_channel=False),
    _p("CONV_2D", "conv int16x8", conv(), mode="int16x8"),
    # DEPTHWISE_CONV_2D
    _p("DEPTHWISE_CONV_2D", "dw k3 s1", depthwise()),
    _p("DEPTHWISE_CONV_2D", "dw k3 s2", depthwise(s=2)),
    _p("DEPTHWISE_CONV_2D", "dw k3 s3", depthwise(s=3)),
    _p("DEPTHWISE_CONV_2D", "dw k3 s4", depthwise(s=4)),
    _p("DEPTHWISE_CONV_2D", "dw k5 s1", depthwise(k=5)),
    _p("DEPTHWISE_CONV_2D", "dw k3 d2", depthwise(d=2)),
    _p("DEPTHWISE_CONV_2D", "dw dm2 c8", depthwise(dm=2)),
    _p("DEPTHWISE_CONV_2D", "dw dm2 c1", depthwise(dm=2, cin=1), args=(Arg((1, 16, 16, 1)),)),
    _p("DEPTHWISE_CONV_2D", "dw batch 2", depthwise(), args=(XB2,)),
    # AVERAGE_POOL_2D
    _p("AVERAGE_POOL_2D", "avgpool k2 s2 valid", pool("avg", 2, 2, "VALID")),
    _p("AVERAGE_POOL_2D", "avgpool k3 s1 same", pool("avg", 3, 1, "SAME")),
    _p("AVERAGE_POOL_2D", "avgpool k8 s1 same", pool("avg", 8, 1, "SAME")),
    _p("AVERAGE_POOL_2D", "avgpool k9 s1 same", pool("avg", 9, 1, "SAME")),
    _p("AVERAGE_POOL_2D", "avgpool k12 s1 same", pool("avg", 12, 1, "SAME"), args=(X32,)),
    _p("AVERAGE_POOL_2D", "avgpool k9 s1 valid", pool("avg", 9, 1, "VALID")),
    _p("AVERAGE_POOL_2D", "avgpool k16 s16 valid", pool("avg", 16, 16, "VALID")),
    _p("AVERAGE_POOL_2D", "avgpool k32 s32 valid", pool("avg", 32, 32, "VALID"), args=(X32,)),
    _p("AVERAGE_POOL_2D", "avgpool k4 s4 valid", pool("avg", 4, 4, "VALID")),
    _p("AVERAGE_POOL_2D", "avgpool k4 s4 same", pool("avg", 4, 4, "SAME")),
    _p("AVERAGE_POOL_2D", "avgpool batch 2", pool("avg", 2, 2, "VALID"), args=(XB2,)),
    # MAX_POOL_2D
    _p("MAX_POOL_2D", "maxpool k2 s2 valid", pool("max", 2, 2, "VALID")),
    _p("MAX_POOL_2D", "maxpool k3 s2 same", pool("max", 3, 2, "SAME")),
    _p("MAX_POOL_2D", "maxpool k9 s1 same", pool("max", 9, 1, "SAME")),
    _p("MAX_POOL_2D", "maxpool k4 s4 valid", pool("max", 4, 4, "VALID")),
    _p("MAX_POOL_2D", "maxpool batch 2", pool("max", 2, 2, "VALID"), args=(XB2,)),
    # MEAN
    _p("MEAN", "mean hw keep", mean([1, 2], True)),
    _p("MEAN", "mean hw", mean([1, 2], False)),
    _p("MEAN", "mean h", mean([1], True)),
    _p("MEAN", "mean w", mean([2], False)),
    _p("MEAN", "mean c", mean([3], True)),
    _p("MEAN", "mean hwc", mean([1, 2, 3], False)),
    _p("MEAN", "mean hw batch 2", mean([1, 2], True), args=(XB2,)),
    # RESIZE
    _p("RESIZE_BILINEAR", "bilinear x2", resize("bilinear", 2), args=(X8,)),
    _p("RESIZE_BILINEAR", "bilinear x3", resize("bilinear", 3), args=(X8,)),
    _p("RESIZE_BILINEAR", "bilinear x4", resize("bilinear", 4), args=(X8,)),
    _p("RESIZE_BILINEAR", "bilinear x2 half-pixel", resize("bilinear", 2, half=True), args=(X8,)),
    _p("RESIZE_BILINEAR", "bilinear x2 align", resize("bilinear", 2, align=True), args=(X8,)),
    _p("RESIZE_BILINEAR", "bilinear x2 batch 2", resize("bilinear", 2), args=(XB2_8,)),
    _p("RESIZE_NEAREST_NEIGHBOR", "nearest x2", resize("nearest", 2), args=(X8,)),
    _p("RESIZE_NEAREST_NEIGHBOR", "nearest x3", resize("nearest", 3), args=(X8,)),
    _p("RESIZE_NEAREST_NEIGHBOR", "nearest x2 half-pixel", resize("nearest", 2, half=True),
       args=(X8,)),
    _p("RESIZE_NEAREST_NEIGHBOR", "nearest x2 align", resize("nearest", 2, align=True),
       args=(X8,)),
    # FULLY_CONNECTED
    _p("FULLY_CONNECTED", "fc batch 1", dense(), args=(Arg((1, 16)),)),
    _p("FULLY_CONNECTED", "fc batch 2", dense(), args=(Arg((2, 16)),)),
    # element-wise: broadcast, batch, rank
    _p("ADD", "add", binary("add"), args=(X, X)),
    _p("ADD", "add broadcast", binary("add"), args=(X, Arg((1, 1, 1, 8)))),
    _p("ADD", "add batch 2", binary("add"), args=(XB2, XB2)),
    _p("ADD", "add rank 5", binary("add"), args=(Arg((1, 2, 4, 4, 8)),) * 2),
    _p("ADD", "add int16x8", binary("add"), args=(X, X), mode="int16x8"),
    _p("MUL", "mul", binary("multiply"), args=(X, X)),
    _p("MUL", "mul batch 2", binary("multiply"), args=(XB2, XB2)),
    _p("SUB", "sub", binary("subtract"), args=(X, X)),
    _p("SUB", "sub batch 2", binary("subtract"), args=(XB2, XB2)),
    # SOFTMAX
    _p("SOFTMAX", "softmax rank 2", fn1(lambda tf: tf.nn.softmax), args=(Arg((1, 16)),)),
    _p("SOFTMAX", "softmax rank 4", fn1(lambda tf: tf.nn.softmax)),
    _p("SOFTMAX", "softmax batch 2", fn1(lambda tf: tf.nn.softmax), args=(Arg((2, 16)),)),
    # CONCATENATION / TRANSPOSE / STRIDED_SLICE / PAD
    _p("CONCATENATION", "concat c", fn1(lambda tf: lambda a, b: tf.concat([a, b], 3)),
       args=(X, X)),
    _p("CONCATENATION", "concat batch 2", fn1(lambda tf: lambda a, b: tf.concat([a, b], 3)),
       args=(XB2, XB2)),
    _p("TRANSPOSE", "transpose hw", fn1(lambda tf: lambda x: tf.transpose(x, [0, 2, 1, 3]))),
    _p("TRANSPOSE", "transpose chw", fn1(lambda tf: lambda x: tf.transpose(x, [0, 3, 1, 2]))),
    _p("STRIDED_SLICE", "strided slice s1",
       fn1(lambda tf: lambda x: tf.strided_slice(x, [0, 1, 1, 0], [1, 15, 15, 8]))),
    _p("STRIDED_SLICE", "strided slice s2",
       fn1(lambda tf: lambda x: tf.strided_slice(x, [0, 0, 0, 0], [1, 16, 16, 8],
                                                 [1, 2, 2, 1]))),
    _p("PAD", "pad hw", fn1(lambda tf: lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]))),
    _p("PAD", "pad c", fn1(lambda tf: lambda x: tf.pad(x, [[0, 0], [0, 0], [0, 0], [1, 1]]))),
    # SHAPE / EXPAND_DIMS with a dynamic batch only (as in Keras models) and static
    _p("SHAPE", "shape dynamic batch", fn1(lambda tf: lambda x: tf.reshape(
        x, tf.stack([tf.shape(x)[0], 256]))), args=(Arg((None, 8, 8, 4), sample=(1, 8, 8, 4)),)),
    _p("EXPAND_DIMS", "expand_dims static", fn1(lambda tf: lambda x: tf.expand_dims(x, 1))),
    _p("EXPAND_DIMS", "expand_dims dynamic batch", fn1(lambda tf: lambda x: tf.expand_dims(x, 1)),
       args=(Arg((None, 8, 8, 4), sample=(1, 8, 8, 4)),)),
    # run-time shape arithmetic on a dynamic batch: removed when it only feeds a RESHAPE's
    # shape operand ("shape dynamic batch" above), kept when it computes a TRANSPOSE_CONV
    # output shape (scalar STRIDED_SLICE -> PACK, or 1-D STRIDED_SLICE -> CONCATENATION)
    _p("STRIDED_SLICE", "strided slice in reshape shape chain", fn1(lambda tf: lambda x: tf.reshape(
        x, tf.stack([tf.shape(x)[0], 256]))), args=(Arg((None, 8, 8, 4), sample=(1, 8, 8, 4)),)),
    _p("PACK", "pack in reshape shape chain", fn1(lambda tf: lambda x: tf.reshape(
        x, tf.stack([tf.shape(x)[0], 256]))), args=(Arg((None, 8, 8, 4), sample=(1, 8, 8, 4)),)),
    *(_p(op, f"{op.lower()} in transpose_conv shape chain", tconv_chain("stack"), args=(XN,))
      for op in ("SHAPE", "STRIDED_SLICE", "PACK")),
    *(_p(op, f"{op.lower()} in transpose_conv shape concat", tconv_chain("concat"), args=(XN,))
      for op in ("SHAPE", "STRIDED_SLICE", "CONCATENATION")),
    # quantization broken by editing the converted flatbuffer (as in the QL3xx fixtures)
    _p("CONV_2D", "conv weights without quantization", conv(), edit="weights_no_quant"),
    _p("MAX_POOL_2D", "maxpool output 2 zero points", pool("max", 2, 2, "VALID"),
       edit="output_two_zero_points"),
    _p("CONV_2D", "conv input zero point 200", conv(), edit="input_zero_point_200"),
    _p("DEPTHWISE_CONV_2D", "dw output zero point 200", depthwise(), edit="output_zero_point_200"),
    _p("ADD", "add output zero point 200", binary("add"), args=(X, X),
       edit="output_zero_point_200"),
    # dynamic dimensions other than the batch; a RESHAPE flattening a dynamic batch
    _p("ADD", "add dynamic h w", binary("add"),
       args=(Arg((1, None, None, 8), sample=(1, 8, 8, 8)),) * 2),
    _p("CONV_2D", "conv dynamic h w", conv(), args=(Arg((1, None, None, 8), sample=(1, 8, 8, 8)),)),
    _p("RESHAPE", "reshape flatten dynamic batch",
       fn1(lambda tf: lambda x: tf.reshape(x, [-1, 4])),
       args=(Arg((None, 8, 8, 4), sample=(1, 8, 8, 4)),)),
    _p("RESHAPE", "reshape dynamic non-batch",
       fn1(lambda tf: lambda x: tf.reshape(x, [1, -1, 4])),
       args=(Arg((1, None, None, 4), sample=(1, 8, 8, 4)),)),
    # RESHAPE whose output quantization differs from its input (edited after conversion)
    _p("RESHAPE", "reshape", fn1(lambda tf: lambda x: tf.reshape(x, [1, 256, 8]))),
    _p("RESHAPE", "reshape quant mismatch", fn1(lambda tf: lambda x: tf.reshape(x, [1, 256, 8])),
       edit="reshape_output_scale"),
)

_BATCH = Hypothesis(({"fact": "ifm_batch", "gt": 1},), f"{SRC}: constraint_batch_size")
_RANK = Hypothesis(({"fact": "rank", "gt": 4},), f"{SRC}: constraint_tens_dimension")
_INT16 = Hypothesis(({"fact": "ifm_dtype", "eq": "int16"},), f"{SRC}: constraint_tens_dtype")
#: Bool, control-flow and variable ops: Vela's generic dtype constraint does not decide them
#: (it refuses some models with them and passes others through).
_CONTROL = Hypothesis(
    ({"fact": "op_type", "in": ["WHILE", "IF", "CALL_ONCE", "READ_VARIABLE", "ASSIGN_VARIABLE",
                                "VAR_HANDLE", "EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL",
                                "GREATER", "GREATER_EQUAL", "LOGICAL_AND", "LOGICAL_OR",
                                "LOGICAL_NOT", "SELECT", "SELECT_V2", "REDUCE_ANY",
                                "REDUCE_ALL"]},),
    "bool, control-flow and variable ops (outside Vela's dtype constraint)")
_FLOAT = Hypothesis(({"fact": "float_tensors", "eq": True},), f"{SRC}: constraint_tens_dtype")
_STRIDE = Hypothesis(({"fact": "stride_max", "gt": 3},), f"{SRC}: stride_range (1, 3)")
_DYNAMIC = Hypothesis(({"fact": "dynamic_non_batch", "eq": True},),
                      "Vela: 'Dynamic non-batch dimension ... Only the first dimension' (regor)")
REGOR = "regor TfLiteSupportedOperators"
#: Data flow (`qlint.placement.shape_operand_only`): ops that only compute the shape operand
#: of RESHAPEs on the NPU are removed with it.
_SHAPE_DEAD = Hypothesis(
    ({"fact": "only_feeds_npu_reshape_shape", "eq": True},),
    "ethosu/vela/tflite_graph_optimiser.py: fixup_reshape (the shape operand of an NPU "
    "RESHAPE is replaced by a constant of its output shape; ops computing only it are dead)",
    first=True)
_QUANT_MISSING = Hypothesis(({"fact": "quant_missing", "eq": True},),
                            f"{REGOR}::ConstraintTensQuantized (a generic constraint)",
                            first=True)
_IO_PER_AXIS = Hypothesis(
    ({"fact": "io_per_axis", "eq": True},
     {"fact": "op_type", "not_in": ["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "CONV_3D",
                                    "FULLY_CONNECTED"]}),
    f"{REGOR}::ConstraintPerAxisQuant (convolutions and FULLY_CONNECTED are exempt)")
_ZP = Hypothesis(({"fact": "zero_point_out_of_range", "eq": True},),
                 f"{REGOR}::ConstraintZeroPoints (SupportedZeroPoint of each architecture)")
_SCALAR = Hypothesis(({"fact": "scalar_tensors", "eq": True},),
                     f"{REGOR}::ConstraintTensMustHaveShape")
_INT32 = Hypothesis(({"fact": "ifm_dtype", "eq": "int32"},),
                    f"{REGOR}: int32 feature maps ('32-bit feature-maps are not supported')")
HYPOTHESES: dict[str, tuple[Hypothesis, ...]] = {
    "*": (_SHAPE_DEAD, _QUANT_MISSING, _CONTROL, _FLOAT, _DYNAMIC, _IO_PER_AXIS, _ZP, _INT32),
    "STRIDED_SLICE": (_SCALAR, _INT32),
    "PACK": (_SCALAR, _INT32),
    "CONV_2D": (
        _BATCH, _INT16,
        Hypothesis(({"fact": "per_axis", "eq": False},), f"{SRC}: constraint_tens_quant_per_axis"),
        Hypothesis(({"fact": "stride_max", "gt": 3}, {"fact": "padding", "eq": "SAME"}),
                   f"{SRC}: constraint_stride_width_no_upper_limit"),
        Hypothesis(({"fact": "stride_max", "gt": 3},),
                   f"{SRC}: constraint_stride_width_no_upper_limit"),
        Hypothesis(({"fact": "dilation_max", "gt": 1},), f"{SRC}: constraint_dilated_height_range"),
    ),
    "DEPTHWISE_CONV_2D": (
        _BATCH,
        _STRIDE,
        Hypothesis(({"fact": "depth_multiplier", "gt": 1}, {"fact": "ifm_c", "gt": 1}),
                   f"{SRC}: constraint_depth_multiplier"),
        Hypothesis(({"fact": "dilation_max", "gt": 1},), f"{SRC}: constraint_dilated_height_range"),
    ),
    "AVERAGE_POOL_2D": (
        _BATCH,
        Hypothesis(({"fact": "padding", "eq": "SAME"}, {"fact": "filter_max", "gt": 8}),
                   f"{SRC}: constraint_filter_range (1, 8)"),
        Hypothesis(({"fact": "padding", "eq": "SAME"}, {"fact": "stride_max", "gt": 3}),
                   f"{SRC}: constraint_stride_range_no_padding"),
        Hypothesis(({"fact": "filter_max", "gt": 8}, {"fact": "stride_max", "le": 3}),
                   f"{SRC}: constraint_filter_range (1, 8), or stride equal to the filter width"),
        Hypothesis(({"fact": "filter_h", "gt": 256},),
                   f"{SRC}: constraint_filter_height_range_valid_pad (1, 256)"),
    ),
    "MAX_POOL_2D": (
        _BATCH, _STRIDE,
        Hypothesis(({"fact": "filter_h", "gt": 256},),
                   f"{SRC}: constraint_filter_height_range (1, 256)"),
    ),
    "MEAN": (
        _BATCH,
        Hypothesis(({"fact": "reduces_depth", "eq": True},), f"{SRC}: constraint_mean_depth"),
    ),
    "RESIZE_BILINEAR": (
        _BATCH,
        Hypothesis(({"fact": "scale_max", "not_in": [1, 2, 4, 8]},), f"{SRC}: constraint_resize"),
        Hypothesis(({"fact": "align_corners", "eq": True},), f"{SRC}: constraint_resize_attrs"),
        Hypothesis(({"fact": "half_pixel_centers", "eq": True},),
                   f"{SRC}: constraint_resizebi_half_pixel_centers_dims"),
    ),
    "RESIZE_NEAREST_NEIGHBOR": (
        _BATCH,
        Hypothesis(({"fact": "scale_max", "not_in": [1, 2, 4, 8]},), f"{SRC}: constraint_resize"),
        Hypothesis(({"fact": "align_corners", "eq": True},), f"{SRC}: constraint_resize_attrs"),
        Hypothesis(({"fact": "half_pixel_centers", "eq": True},),
                   f"{SRC}: constraint_resize_attrs"),
    ),
    "FULLY_CONNECTED": (_BATCH,),
    "ADD": (_BATCH, _RANK, _INT16),
    "MUL": (_BATCH,),
    "SUB": (_BATCH,),
    "SOFTMAX": (_BATCH,),
    "CONCATENATION": (_INT32, _BATCH),
    "SHAPE": (_DYNAMIC, Hypothesis(({"fact": "only_feeds_npu_reshape_shape", "eq": False},),
                                   f"{REGOR}::ConstraintOpType (SHAPE is no NPU op type)")),
    "EXPAND_DIMS": (_DYNAMIC,),
    "RESHAPE": (
        _DYNAMIC,
        Hypothesis(({"fact": "io_quant_match", "eq": False},),
                   "Vela semantic check: input and output quantisation must match"),
        Hypothesis(({"fact": "io_elements_match", "eq": False},),
                   "Vela semantic check: input and output number of elements must match "
                   "(static shapes, a dynamic dimension read as 1)"),
    ),
}

#: Weight-value constraints no one-op sweep can exercise: kept as predicates over a fact
#: computed from the weights at lint time, with the Vela source they restate.  They are
#: not probed; a match is reported as what the source says, labelled as such.
SOURCE_PREDICATES: dict[str, tuple[dict[str, Any], ...]] = {
    op: ({
        "when": [{"fact": "weights_abs_sum_max", "gt": 127 * 65536}],
        "placement": "cpu",
        "reason": "The sum of absolute weights cannot exceed 8323072",
        "source": f"{SRC}: constraint_weights_limit (weights_limit = 127 * 65536)",
    },)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV")
}


#: Swept ops whose default one-op model is probed too (their sweep points are chains).
DEFAULT_TOO = frozenset({"PACK"})


def hypotheses(op: str) -> tuple[Hypothesis, ...]:
    """The hypotheses tested for ``op``: the first ones of every op, the op's own, then the
    rest of those of every op."""
    shared = HYPOTHESES["*"]
    return (tuple(h for h in shared if h.first) + HYPOTHESES.get(op, ())
            + tuple(h for h in shared if not h.first))
