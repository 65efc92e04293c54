"""The TF ops the TF 2.21 converter legalizes to TFLite builtins, and how to build each.

``LEGALIZED_TF_OPS`` is taken from the converter's own source, not from memory:

* every ``TF_<Op>Op`` on the source side of a pattern in
  ``tensorflow/compiler/mlir/lite/transforms/legalize_patterns.td``;
* the ops with hand-written lowerings declared with ``DECL_CONVERT_OP`` in
  ``tensorflow/compiler/mlir/lite/transforms/legalize_tf.cc`` (``ConcatV2``, ``MatMul``,
  ``Pack``, ``Split``, ``SplitV``, ``Unpack``, ``Reciprocal``, ``MatrixDiagV2/V3``, ...);
* the ops ``prepare_tf.cc`` rewrites before legalization (``Conv2D``,
  ``DepthwiseConv2dNative``, ``Conv3D``, ``FusedBatchNormV3``, ``Einsum``, ``BatchMatMulV2``),
  and those TensorFlow's own lowering patterns (``PopulateLoweringTFPatterns``, which
  ``prepare_tf.cc`` applies) decompose into legalized ops (``MatrixBandPart``).

Ops TensorFlow 2.21 cannot build in an inference graph from a public API
(training-only gradients, ops of removed TF1 APIs) are in `NOT_BUILDABLE` with the
reason.  ``legalized_builders()`` returns a builder per remaining op, keyed by the
GraphDef op name, for ``tools/probe/tf_ops.py``: it says how to make a one-op model,
never what the answer is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.probe.builders import BOOL, BUILTIN_BUILDERS, DIVISOR, X2, X4, Arg, Builder

SOURCE = ("tensorflow/compiler/mlir/lite/transforms/legalize_patterns.td, legalize_tf.cc, "
          "prepare_tf.cc (tensorflow/tensorflow)")

# fmt: off
LEGALIZED_TF_OPS: tuple[str, ...] = (
    # legalize_patterns.td
    "Abs", "AddN", "AvgPool", "ArgMax", "ArgMin", "BroadcastTo", "Ceil", "Cos", "Elu",
    "ExpandDims", "FakeQuantWithMinMaxArgs", "Fill", "Floor", "LeakyRelu", "Log", "Log1p",
    "LogicalNot", "LogSoftmax", "MaxPool", "Maximum", "Minimum", "Neg", "OneHot", "Pow",
    "Range", "Relu6", "Relu", "ReverseSequence", "Round", "Rsqrt", "Sqrt", "Square",
    "SegmentSum", "UnsortedSegmentSum", "UnsortedSegmentMax", "UnsortedSegmentMin",
    "UnsortedSegmentProd", "Select", "SelectV2", "Shape", "Sigmoid", "Sin", "Slice", "Softmax",
    "Softplus", "Squeeze", "Tanh", "Transpose", "Where", "ZerosLike", "BroadcastArgs", "Less",
    "Greater", "LessEqual", "GreaterEqual", "Gather", "GatherNd", "GatherV2", "FloorDiv",
    "NotEqual", "LogicalAnd", "LogicalOr", "Add", "AddV2", "BiasAdd", "Sub", "Mul", "RealDiv",
    "Div", "BatchMatMulV3", "BatchMatMulV2", "BatchMatMul", "FakeQuantWithMinMaxVars",
    "QuantizeAndDequantizeV4", "Rank", "SquaredDifference", "ReverseV2", "Equal", "Pad", "Tile",
    "PadV2", "Mean", "Sum", "TopKV2", "ApproxTopK", "Min", "Max", "Prod", "Any", "All", "Cast",
    "BatchToSpaceND", "SpaceToBatchND", "SpaceToDepth", "DepthToSpace", "ResizeBilinear",
    "ResizeNearestNeighbor", "MirrorPad", "SparseToDense", "Unique", "FloorMod", "Exp", "LRN",
    "NonMaxSuppressionV4", "NonMaxSuppressionV5", "MatrixDiag", "Conv2DBackpropInput",
    "MatrixSetDiagV3", "ScatterNd", "Cumsum", "Reshape", "StridedSlice", "RFFT2D", "Complex",
    "ComplexAbs", "Real", "Imag", "Bucketize", "RandomUniform", "RandomStandardNormal",
    "Multinomial", "XlaDynamicUpdateSlice", "Atan2", "Sign", "Bitcast", "BitwiseXor",
    "RightShift", "SigmoidGrad",
    # legalize_tf.cc (DECL_CONVERT_OP)
    "Concat", "ConcatV2", "MatMul", "Pack", "Split", "SplitV", "Unpack", "Reciprocal",
    "MatrixDiagV2", "MatrixDiagV3", "Assert",
    # prepare_tf.cc
    "Conv2D", "DepthwiseConv2dNative", "Conv3D", "Conv3DBackpropInputV2", "FusedBatchNormV3",
    "Einsum",
    # TF lowering patterns applied by prepare_tf.cc
    "MatrixBandPart",
)
# fmt: on

NOT_BUILDABLE: dict[str, str] = {
    "SigmoidGrad": "training-only gradient op; not in an inference graph",
    "Assert": "removed by the converter (no output); tf.debugging.assert_* is not lowered",
    "Concat": "TF1 op (concat_dim first); tf.concat emits ConcatV2",
    "BatchMatMul": "TF1 op; tf.linalg.matmul emits BatchMatMulV2",
    "BatchMatMulV3": "emitted only for mixed input dtypes; tf.linalg.matmul emits BatchMatMulV2",
    "Div": "integer division op of TF1; tf.math.divide emits RealDiv",
    "Gather": "TF1 op; tf.gather emits GatherV2",
    "MatrixDiag": "TF1 op; tf.linalg.diag emits MatrixDiagV3",
    "ApproxTopK": "XLA-only op (tf.math.approx_max_k); no TFLite kernel path on CPU builds",
    "XlaDynamicUpdateSlice": "XLA op with no public TF 2 API outside tf2xla",
}

P2 = Arg((1, 16), lo=0.1, hi=2.0)


def _u(name: str, fn: Callable[[Any], Callable[..., Any]], *args: Arg) -> Builder:
    return Builder(name, lambda tf, keras, rng: fn(tf), args or (X4,))


def _raw(op: str, **kw: Any) -> Callable[[Any], Callable[..., Any]]:
    """``tf.raw_ops.<op>(x=..., **kw)`` on one input."""
    return lambda tf: lambda x: getattr(tf.raw_ops, op)(x=x, **kw)


def _bias_add(tf: Any, keras: Any, rng: Any) -> Any:
    b = tf.constant([0.1, -0.2, 0.3, 0.05])
    return lambda x: tf.nn.bias_add(x, b)


def _matmul(tf: Any, keras: Any, rng: Any) -> Any:
    import numpy as np

    w = tf.constant(np.linspace(-1, 1, 16 * 8, dtype="float32").reshape(16, 8))
    return lambda x: tf.raw_ops.MatMul(a=x, b=w)


def _fused_bn(tf: Any, keras: Any, rng: Any) -> Any:
    s, o = tf.constant([1.0, 0.5, 2.0, 1.5]), tf.constant([0.1, 0.0, -0.1, 0.2])
    m, v = tf.constant([0.0, 0.1, -0.1, 0.2]), tf.constant([1.0, 0.5, 2.0, 1.0])
    return lambda x: tf.raw_ops.FusedBatchNormV3(x=x, scale=s, offset=o, mean=m, variance=v,
                                                 is_training=False)[0]


def _conv2d_raw(tf: Any, keras: Any, rng: Any) -> Any:
    import numpy as np

    w = tf.constant(np.linspace(-1, 1, 3 * 3 * 4 * 8, dtype="float32").reshape(3, 3, 4, 8))
    return lambda x: tf.nn.conv2d(x, w, 1, "SAME")


def _dw_raw(tf: Any, keras: Any, rng: Any) -> Any:
    import numpy as np

    w = tf.constant(np.linspace(-1, 1, 3 * 3 * 4, dtype="float32").reshape(3, 3, 4, 1))
    return lambda x: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME")


def _from_builtin(name: str) -> Builder:
    return BUILTIN_BUILDERS[name]


# TF op -> a builtin probe's builder that emits exactly that op (the probe records
# the GraphDef ops it really traced; an extra op makes it a pattern entry instead).
_VIA_BUILTIN: dict[str, str] = {
    "AddN": "ADD_N", "AvgPool": "AVERAGE_POOL_2D", "ArgMin": "ARG_MIN",
    "BroadcastTo": "BROADCAST_TO", "ExpandDims": "EXPAND_DIMS",
    "FakeQuantWithMinMaxArgs": "FAKE_QUANT", "Fill": "FILL", "LogicalNot": "LOGICAL_NOT",
    "MaxPool": "MAX_POOL_2D", "Maximum": "MAXIMUM", "Minimum": "MINIMUM", "OneHot": "ONE_HOT",
    "Range": "RANGE", "ReverseSequence": "REVERSE_SEQUENCE", "SegmentSum": "SEGMENT_SUM",
    "UnsortedSegmentMax": "UNSORTED_SEGMENT_MAX", "UnsortedSegmentMin": "UNSORTED_SEGMENT_MIN",
    "UnsortedSegmentProd": "UNSORTED_SEGMENT_PROD", "Select": "SELECT", "SelectV2": "SELECT_V2",
    "Shape": "SHAPE", "Slice": "SLICE", "Squeeze": "SQUEEZE", "Transpose": "TRANSPOSE",
    "Where": "WHERE", "ZerosLike": "ZEROS_LIKE", "BroadcastArgs": "BROADCAST_ARGS",
    "Less": "LESS", "Greater": "GREATER", "LessEqual": "LESS_EQUAL",
    "GreaterEqual": "GREATER_EQUAL", "GatherNd": "GATHER_ND", "NotEqual": "NOT_EQUAL",
    "LogicalAnd": "LOGICAL_AND", "LogicalOr": "LOGICAL_OR", "Sub": "SUB", "Mul": "MUL",
    "Rank": "RANK", "ReverseV2": "REVERSE_V2", "Equal": "EQUAL", "Pad": "PAD", "Tile": "TILE",
    "PadV2": "PADV2", "Sum": "SUM", "Min": "REDUCE_MIN", "Any": "REDUCE_ANY",
    "All": "REDUCE_ALL", "BatchToSpaceND": "BATCH_TO_SPACE_ND",
    "SpaceToBatchND": "SPACE_TO_BATCH_ND", "SpaceToDepth": "SPACE_TO_DEPTH",
    "DepthToSpace": "DEPTH_TO_SPACE", "MirrorPad": "MIRROR_PAD",
    "SparseToDense": "SPARSE_TO_DENSE", "Unique": "UNIQUE", "LRN": "LOCAL_RESPONSE_NORMALIZATION",
    "NonMaxSuppressionV4": "NON_MAX_SUPPRESSION_V4",
    "NonMaxSuppressionV5": "NON_MAX_SUPPRESSION_V5", "Conv2DBackpropInput": "TRANSPOSE_CONV",
    "MatrixSetDiagV3": "MATRIX_SET_DIAG", "ScatterNd": "SCATTER_ND", "Reshape": "RESHAPE",
    "StridedSlice": "STRIDED_SLICE", "Bucketize": "BUCKETIZE", "RandomUniform": "RANDOM_UNIFORM",
    "RandomStandardNormal": "RANDOM_STANDARD_NORMAL", "Multinomial": "MULTINOMIAL",
    "Bitcast": "BITCAST", "BitwiseXor": "BITWISE_XOR", "RightShift": "RIGHT_SHIFT",
    "ConcatV2": "CONCATENATION", "Pack": "PACK", "Split": "SPLIT", "SplitV": "SPLIT_V",
    "Unpack": "UNPACK", "MatrixDiagV3": "MATRIX_DIAG", "Conv3D": "CONV_3D",
    "Conv3DBackpropInputV2": "CONV_3D_TRANSPOSE", "Complex": "COMPLEX_ABS",
    "ComplexAbs": "COMPLEX_ABS", "Real": "REAL", "Imag": "IMAG", "RFFT2D": "COMPLEX_ABS",
    "Add": "ADD",
}

_OWN: dict[str, Builder] = {
    "BiasAdd": Builder("tf.nn.bias_add", _bias_add, (X4,)),
    "MatMul": Builder("tf.raw_ops.MatMul (constant weights)", _matmul, (X2,)),
    "FusedBatchNormV3": Builder("tf.raw_ops.FusedBatchNormV3(is_training=False)", _fused_bn,
                                (X4,)),
    "Conv2D": Builder("tf.nn.conv2d (no bias)", _conv2d_raw, (X4,)),
    "DepthwiseConv2dNative": Builder("tf.nn.depthwise_conv2d (no bias)", _dw_raw, (X4,)),
    "Log1p": _u("tf.math.log1p", lambda tf: tf.math.log1p, P2),
    "Div": _u("tf.raw_ops.Div", lambda tf: lambda a, b: tf.raw_ops.Div(x=a, y=b), X4, DIVISOR),
    "MatrixDiagV2": _u("tf.raw_ops.MatrixDiagV2",
                       lambda tf: lambda d: tf.raw_ops.MatrixDiagV2(
                           diagonal=d, k=0, num_rows=-1, num_cols=-1, padding_value=0.0),
                       Arg((1, 8))),
    "Reciprocal": _u("tf.math.reciprocal", lambda tf: tf.math.reciprocal, P2),
    "FakeQuantWithMinMaxVars": _u(
        "tf.quantization.fake_quant_with_min_max_vars",
        lambda tf: lambda x: tf.quantization.fake_quant_with_min_max_vars(x, -1.0, 1.0)),
    "QuantizeAndDequantizeV4": _u(
        "tf.quantization.quantize_and_dequantize_v2(range_given=True)",
        lambda tf: lambda x: tf.quantization.quantize_and_dequantize_v2(
            x, -1.0, 1.0, range_given=True)),
    "Einsum": _u("tf.einsum('bqd,bkd->bqk')",
                 lambda tf: lambda a, b: tf.einsum("bqd,bkd->bqk", a, b),
                 Arg((1, 6, 8)), Arg((1, 6, 8))),
    "ArgMax": _u("tf.math.argmax(int32)", lambda tf: lambda x: tf.math.argmax(x, -1, tf.int32)),
    "Range": _u("tf.range", lambda tf: lambda n: tf.range(n[0]), Arg((1,), "int32", 2, 8)),
    "MatrixBandPart": _u("tf.linalg.band_part(x, 1, 1)",
                         lambda tf: lambda x: tf.linalg.band_part(x, 1, 1), Arg((1, 8, 8))),
    "Any": _u("tf.math.reduce_any", lambda tf: lambda x: tf.math.reduce_any(x, 1), BOOL),
}


def legalized_builders() -> dict[str, Builder]:
    """A builder for each buildable op of `LEGALIZED_TF_OPS` without one in tf_ops.py."""
    out: dict[str, Builder] = {}
    for op in LEGALIZED_TF_OPS:
        if op in NOT_BUILDABLE:
            continue
        if op in _OWN:
            out[op] = _OWN[op]
        elif op in _VIA_BUILTIN:
            out[op] = _from_builtin(_VIA_BUILTIN[op])
    return out
