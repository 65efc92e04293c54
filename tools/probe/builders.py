"""How to build a one-op (or one-pattern) model for each probed op.

This module says HOW each op is probed, never what the answer is: every builder
returns a TensorFlow callable whose conversion is expected to contain the target
TFLite builtin.  The probe checks that it really does (``lowers_to``) and measures
the outcome with the real converter and interpreter.

Nothing here imports TensorFlow at module level: builders receive the ``tf`` module
(and ``keras`` where needed) as arguments, so the table can be listed without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Arg:
    """One model input: its signature, dtype and the value range fed to it."""

    shape: Shape | None  # None: unknown rank
    dtype: str = "float32"
    lo: float = -1.0
    hi: float = 1.0
    sample: tuple[int, ...] | None = None  # concrete shape when ``shape`` has None dims

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The concrete shape used for calibration and invocation."""
        if self.sample is not None:
            return self.sample
        if self.shape is None:
            raise ValueError("an input of unknown rank needs a sample shape")
        return tuple(1 if d is None else d for d in self.shape)


@dataclass(frozen=True)
class Builder:
    """A recipe for a small model: ``make(tf, keras, rng)`` returns the callable.

    The callable takes one tensor per `Arg` and returns a tensor or a tuple of
    tensors.  If it is a ``tf.Module`` / Keras object it is passed to the converter
    as the trackable object (variables, tables).
    """

    name: str
    make: Callable[[Any, Any, np.random.Generator], Any]
    args: tuple[Arg, ...]
    float_io: bool = False  # keep float32 model I/O (QUANTIZE/DEQUANTIZE probes)
    resource_variables: bool = False  # keep tf.Variables as TFLite resource variables
    keep_variables: bool = False  # do not freeze captured variables (hash tables)
    keras: str | None = None
    # Convert through a SavedModel (Keras ``model.export()``, else ``tf.saved_model.save``)
    # with ``TFLiteConverter.from_saved_model``, the path users take, instead of a frozen
    # concrete function; graphdef_ops are then read from the SavedModel's signature.
    saved_model: bool = False
    # Ops the recipe adds only to make the probed op convertible (a complex64 result needs
    # ``tf.math.abs`` to leave the model; a complex64 operand needs ``tf.signal.rfft2d``)
    # are named ``harness`` (`HARNESS`) and flagged with ``harness``; ``harness_last``
    # says one of them computes the model's output, which the converter names after the
    # output instead.  The probe leaves their float ops and GraphDef ops out of the probed
    # op's entry and records the float ops as ``harness_float_ops``.
    harness: bool = False
    harness_last: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


HARNESS = "harness"


def _w(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Deterministic float32 weights."""
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


X4 = Arg((1, 8, 8, 4))
X2 = Arg((1, 16))
POS4 = Arg((1, 8, 8, 4), lo=0.1, hi=2.0)
I32 = Arg((1, 16), "int32", 0, 8)
BOOL = Arg((1, 16), "bool", 0, 2)


def unary(name: str, fn: Callable[[Any], Callable[[Any], Any]], arg: Arg = X4) -> Builder:
    """A builder applying ``fn(tf)`` to one input."""
    return Builder(name, lambda tf, keras, rng: fn(tf), (arg,))


def binary(
    name: str, fn: Callable[[Any], Callable[[Any, Any], Any]], a: Arg = X4, b: Arg | None = None
) -> Builder:
    """A builder applying ``fn(tf)`` to two inputs."""
    return Builder(name, lambda tf, keras, rng: fn(tf), (a, b or a))


# -- builders with constants -------------------------------------------------------


def _conv2d(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w, b = tf.constant(_w(rng, 3, 3, 4, 8)), tf.constant(_w(rng, 8))
    return lambda x: tf.nn.conv2d(x, w, 1, "SAME") + b


def _depthwise(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w, b = tf.constant(_w(rng, 3, 3, 4, 1)), tf.constant(_w(rng, 4))
    return lambda x: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME") + b


def _fully_connected(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w, b = tf.constant(_w(rng, 16, 8)), tf.constant(_w(rng, 8))
    return lambda x: tf.matmul(x, w) + b


def _transpose_conv(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w = tf.constant(_w(rng, 3, 3, 8, 4))
    return lambda x: tf.nn.conv2d_transpose(x, w, [1, 16, 16, 8], 2, "SAME")


def _conv3d(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w = tf.constant(_w(rng, 2, 2, 2, 4, 8))
    return lambda x: tf.nn.conv3d(x, w, [1, 1, 1, 1, 1], "SAME")


def _conv3d_transpose(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    w = tf.constant(_w(rng, 2, 2, 2, 8, 4))
    return lambda x: tf.nn.conv3d_transpose(x, w, [1, 8, 8, 8, 8], [1, 2, 2, 2, 1], "SAME")


def _prelu(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inp = keras.Input(shape=(8, 8, 4), batch_size=1)
    return keras.Model(inp, keras.layers.PReLU(shared_axes=[1, 2])(inp))


def _lstm(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    """A Keras 2 (tf_keras) LSTM: its cell function carries the ``api_implements``
    attribute the converter fuses into UNIDIRECTIONAL_SEQUENCE_LSTM (Keras 3's LSTM
    has none and becomes a WHILE loop)."""
    import tf_keras

    inp = tf_keras.Input(shape=(4, 8), batch_size=1)
    return tf_keras.Model(inp, tf_keras.layers.LSTM(8, return_sequences=True)(inp))


def _simple_rnn(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inp = keras.Input(shape=(4, 8), batch_size=1)
    return keras.Model(inp, keras.layers.SimpleRNN(8, return_sequences=True)(inp))


def _bidi_lstm(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inp = keras.Input(shape=(4, 8), batch_size=1)
    layer = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))
    return keras.Model(inp, layer(inp))


def _bidi_rnn(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inp = keras.Input(shape=(4, 8), batch_size=1)
    layer = keras.layers.Bidirectional(keras.layers.SimpleRNN(8, return_sequences=True))
    return keras.Model(inp, layer(inp))


def _gather(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    idx = tf.constant([3, 1, 0, 2], tf.int32)
    return lambda x: tf.gather(x, idx, axis=3)


def _gather_nd(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    idx = tf.constant([[0, 1], [0, 3]], tf.int32)
    return lambda x: tf.gather_nd(x, idx)


def _embedding_lookup(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    # tf.nn.embedding_lookup becomes a GATHER; the converter fuses a one-hot matrix
    # product (a TF Model Garden embedding) into EMBEDDING_LOOKUP
    params = tf.constant(_w(rng, 8, 4))
    return lambda ids: tf.matmul(tf.one_hot(ids, 8), params)


def _sparse_to_dense(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    idx = tf.constant([[0, 1], [2, 3], [3, 0]], tf.int32)
    return lambda v: tf.raw_ops.SparseToDense(
        sparse_indices=idx, output_shape=[4, 4], sparse_values=v, default_value=0.0
    )


def _scatter_nd(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    idx = tf.constant([[1], [3]], tf.int32)
    return lambda u: tf.scatter_nd(idx, u, [8, 4])


def _segment(fn_name: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        ids = tf.constant([0, 0, 1, 1, 2, 2, 3, 3], tf.int32)
        fn = getattr(tf.math, fn_name)
        if fn_name == "segment_sum":
            return lambda x: fn(x, ids)
        return lambda x: fn(x, ids, 4)

    return make


def _reverse_sequence(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    lens = tf.constant([3, 5], tf.int32)
    return lambda x: tf.reverse_sequence(x, lens, seq_axis=1, batch_axis=0)


def _matrix_set_diag(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda x, d: tf.linalg.set_diag(x, d)


def _if(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda p, x: tf.cond(p[0], lambda: x * 2.0, lambda: x - 1.0)


def _while(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    def fn(n: Any, x: Any) -> Any:
        _, out = tf.while_loop(
            lambda i, a: i < n[0], lambda i, a: (i + 1, a * 0.5 + 0.1), [tf.constant(0), x]
        )
        return out

    return fn


def _nms_v4(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    def fn(boxes: Any, scores: Any) -> Any:
        sel, valid = tf.raw_ops.NonMaxSuppressionV4(
            boxes=boxes, scores=scores, max_output_size=4, iou_threshold=0.5,
            score_threshold=0.1, pad_to_max_output_size=True,
        )
        return sel, valid

    return fn


def _nms_v5(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    def fn(boxes: Any, scores: Any) -> Any:
        sel, sc, valid = tf.raw_ops.NonMaxSuppressionV5(
            boxes=boxes, scores=scores, max_output_size=4, iou_threshold=0.5,
            score_threshold=0.1, soft_nms_sigma=0.5, pad_to_max_output_size=True,
        )
        return sel, sc, valid

    return fn


def _complex(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    def fn(x: Any) -> Any:
        r = tf.signal.rfft2d(x)
        return tf.math.real(r) + tf.math.imag(r) + tf.math.abs(r)

    return fn


def _variables(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    class Stateful(tf.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.v = tf.Variable(tf.zeros([1, 16]))

        def __call__(self, x: Any) -> Any:
            self.v.assign(x * 0.5)
            return self.v.read_value() + x

    return Stateful()


def _hashtable(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    class Table(tf.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            init = tf.lookup.KeyValueTensorInitializer(
                tf.constant([0, 1, 2, 3], tf.int64), tf.constant(["a", "b", "c", "d"])
            )
            self.table = tf.lookup.StaticHashTable(init, "?")

        def __call__(self, k: Any) -> Any:
            return self.table.lookup(k), self.table.size()

    return Table()


def _random(fn_name: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        if fn_name == "categorical":
            return lambda x: tf.random.categorical(x, 4, seed=1)
        fn = getattr(tf.random, fn_name)
        return lambda x: x + fn([1, 16], seed=1)

    return make


def _dynamic_update_slice(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    from tensorflow.compiler.tf2xla.python import xla

    return lambda x, u: xla.dynamic_update_slice(x, u, tf.constant([0, 4], tf.int32))


def _quantize_io(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda x, y: x + y


def _hard_swish(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda x: x * tf.nn.relu6(x + 3.0) / 6.0


def _l2_pool(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda x: tf.sqrt(tf.nn.avg_pool2d(tf.square(x), 2, 2, "VALID"))


def _fake_quant(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    return lambda x: tf.quantization.fake_quant_with_min_max_args(x, -1.0, 1.0) * 2.0


DYN = Arg((None, 4), sample=(2, 4))
# Divisors: the int8 DIV kernel rejects a raw quantized value of 0, so keep the
# calibrated range away from values that quantize to 0.
DIVISOR = Arg((1, 8, 8, 4), lo=1.2, hi=2.0)
HASHTABLE = Builder("tf.lookup.StaticHashTable", _hashtable, (Arg((4,), "int64", 0, 5),),
                    keep_variables=True)

# fmt: off
BUILTIN_BUILDERS: dict[str, Builder] = {
    "ABS": unary("tf.math.abs", lambda tf: tf.math.abs),
    "ADD": binary("tf.math.add", lambda tf: tf.math.add),
    "ADD_N": Builder("tf.math.add_n", lambda tf, k, r: lambda a, b, c: tf.math.add_n([a, b, c]),
                     (X4, X4, X4)),
    "ARG_MAX": unary("tf.math.argmax", lambda tf: lambda x: tf.math.argmax(x, -1, tf.int32)),
    "ARG_MIN": unary("tf.math.argmin", lambda tf: lambda x: tf.math.argmin(x, -1, tf.int32)),
    "ATAN2": binary("tf.math.atan2", lambda tf: tf.math.atan2),
    "AVERAGE_POOL_2D": unary("tf.nn.avg_pool2d",
                             lambda tf: lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID")),
    "BATCH_MATMUL": binary("tf.linalg.matmul", lambda tf: tf.linalg.matmul,
                           Arg((1, 4, 8)), Arg((1, 8, 4))),
    "BATCH_TO_SPACE_ND": unary(
        "tf.batch_to_space",
        lambda tf: lambda x: tf.batch_to_space(x, [2, 2], [[0, 0], [0, 0]]),
        Arg((4, 4, 4, 4))),
    "BIDIRECTIONAL_SEQUENCE_LSTM": Builder("keras.layers.Bidirectional(LSTM)", _bidi_lstm,
                                           (Arg((1, 4, 8)),), keras="Bidirectional"),
    "BIDIRECTIONAL_SEQUENCE_RNN": Builder("keras.layers.Bidirectional(SimpleRNN)", _bidi_rnn,
                                          (Arg((1, 4, 8)),), keras="Bidirectional"),
    "BITCAST": unary("tf.bitcast", lambda tf: lambda x: tf.bitcast(x, tf.float32),
                     Arg((1, 16), "int32", 0, 1000)),
    "BITWISE_XOR": binary("tf.bitwise.bitwise_xor", lambda tf: tf.bitwise.bitwise_xor,
                          Arg((1, 16), "int32", 0, 100)),
    "BROADCAST_ARGS": binary("tf.broadcast_dynamic_shape", lambda tf: tf.broadcast_dynamic_shape,
                             Arg((2,), "int32", 1, 2), Arg((2,), "int32", 1, 2)),
    "BROADCAST_TO": unary("tf.broadcast_to",
                          lambda tf: lambda x: tf.broadcast_to(x, [2, 8, 4]), Arg((1, 8, 4))),
    "BUCKETIZE": unary("tf.raw_ops.Bucketize",
                       lambda tf: lambda x: tf.raw_ops.Bucketize(
                           input=x, boundaries=[-0.5, 0.0, 0.5]), X2),
    "CALL_ONCE": Builder("tf.Variable in a tf.Module", _variables, (X2,),
                         resource_variables=True),
    "CAST": unary("tf.cast(float32->int32)", lambda tf: lambda x: tf.cast(x * 10.0, tf.int32)),
    "CEIL": unary("tf.math.ceil", lambda tf: tf.math.ceil),
    "COMPLEX_ABS": Builder("tf.signal.rfft2d + tf.math.abs", _complex, (Arg((1, 8, 8)),)),
    "CONCATENATION": binary("tf.concat", lambda tf: lambda a, b: tf.concat([a, b], -1)),
    "CONV_2D": Builder("tf.nn.conv2d", _conv2d, (X4,)),
    "CONV_3D": Builder("tf.nn.conv3d", _conv3d, (Arg((1, 4, 8, 8, 4)),)),
    "CONV_3D_TRANSPOSE": Builder("tf.nn.conv3d_transpose", _conv3d_transpose,
                                 (Arg((1, 4, 4, 4, 4)),)),
    "COS": unary("tf.math.cos", lambda tf: tf.math.cos),
    "CUMSUM": unary("tf.math.cumsum", lambda tf: lambda x: tf.math.cumsum(x, axis=1), X2),
    "DEPTHWISE_CONV_2D": Builder("tf.nn.depthwise_conv2d", _depthwise, (X4,)),
    "DEPTH_TO_SPACE": unary("tf.nn.depth_to_space",
                            lambda tf: lambda x: tf.nn.depth_to_space(x, 2)),
    "DEQUANTIZE": Builder("float I/O around tf.math.add", _quantize_io, (X4, X4), float_io=True),
    "DIV": binary("tf.math.divide", lambda tf: tf.math.divide, X4, DIVISOR),
    "DYNAMIC_UPDATE_SLICE": Builder("xla.dynamic_update_slice", _dynamic_update_slice,
                                    (Arg((4, 8)), Arg((2, 2)))),
    "ELU": unary("tf.nn.elu", lambda tf: tf.nn.elu),
    "EMBEDDING_LOOKUP": Builder("tf.matmul(tf.one_hot(ids, 8), params)", _embedding_lookup,
                                (Arg((4,), "int32", 0, 8),)),
    "EQUAL": binary("tf.math.equal", lambda tf: tf.math.equal),
    "EXP": unary("tf.math.exp", lambda tf: tf.math.exp),
    "EXPAND_DIMS": unary("tf.expand_dims", lambda tf: lambda x: tf.expand_dims(x, 0), DYN),
    "FAKE_QUANT": Builder("tf.quantization.fake_quant_with_min_max_args", _fake_quant, (X4,)),
    "FILL": unary("tf.fill", lambda tf: lambda x: tf.fill(tf.shape(x), 1.5), DYN),
    "FLOOR": unary("tf.math.floor", lambda tf: tf.math.floor),
    "FLOOR_DIV": binary("tf.math.floordiv", lambda tf: tf.math.floordiv, X4, DIVISOR),
    "FLOOR_MOD": binary("tf.math.floormod", lambda tf: tf.math.floormod, X4, DIVISOR),
    "FULLY_CONNECTED": Builder("tf.linalg.matmul + bias", _fully_connected, (X2,)),
    "GATHER": Builder("tf.gather", _gather, (X4,)),
    "GATHER_ND": Builder("tf.gather_nd", _gather_nd, (X4,)),
    "GELU": unary("tf.nn.gelu(approximate=False)",
                  lambda tf: lambda x: tf.nn.gelu(x, approximate=False)),
    "GREATER": binary("tf.math.greater", lambda tf: tf.math.greater),
    "GREATER_EQUAL": binary("tf.math.greater_equal", lambda tf: tf.math.greater_equal),
    "HARD_SWISH": Builder("x * relu6(x + 3) / 6", _hard_swish, (X4,)),
    "HASHTABLE": HASHTABLE,
    "HASHTABLE_FIND": HASHTABLE,
    "HASHTABLE_IMPORT": HASHTABLE,
    "HASHTABLE_SIZE": HASHTABLE,
    "IF": Builder("tf.cond", _if, (Arg((1,), "bool", 0, 2), X2)),
    "IMAG": Builder("tf.signal.rfft2d + tf.math.imag", _complex, (Arg((1, 8, 8)),)),
    "L2_NORMALIZATION": unary("tf.math.l2_normalize",
                              lambda tf: lambda x: tf.math.l2_normalize(x, -1)),
    "L2_POOL_2D": Builder("sqrt(avg_pool(square(x)))", _l2_pool, (X4,)),
    "LEAKY_RELU": unary("tf.nn.leaky_relu", lambda tf: lambda x: tf.nn.leaky_relu(x, 0.2)),
    "LESS": binary("tf.math.less", lambda tf: tf.math.less),
    "LESS_EQUAL": binary("tf.math.less_equal", lambda tf: tf.math.less_equal),
    "LOCAL_RESPONSE_NORMALIZATION": unary("tf.nn.local_response_normalization",
                                          lambda tf: tf.nn.local_response_normalization),
    "LOG": unary("tf.math.log", lambda tf: tf.math.log, POS4),
    "LOGICAL_AND": binary("tf.math.logical_and", lambda tf: tf.math.logical_and, BOOL),
    "LOGICAL_NOT": unary("tf.math.logical_not", lambda tf: tf.math.logical_not, BOOL),
    "LOGICAL_OR": binary("tf.math.logical_or", lambda tf: tf.math.logical_or, BOOL),
    "LOGISTIC": unary("tf.math.sigmoid", lambda tf: tf.math.sigmoid),
    "LOG_SOFTMAX": unary("tf.nn.log_softmax", lambda tf: tf.nn.log_softmax, X2),
    "MATRIX_DIAG": unary("tf.linalg.diag", lambda tf: tf.linalg.diag, Arg((1, 8))),
    "MATRIX_SET_DIAG": Builder("tf.linalg.set_diag", _matrix_set_diag,
                               (Arg((1, 8, 8)), Arg((1, 8)))),
    "MAXIMUM": binary("tf.math.maximum", lambda tf: tf.math.maximum),
    "MAX_POOL_2D": unary("tf.nn.max_pool2d",
                         lambda tf: lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID")),
    "MEAN": unary("tf.math.reduce_mean", lambda tf: lambda x: tf.math.reduce_mean(x, [1, 2])),
    "MINIMUM": binary("tf.math.minimum", lambda tf: tf.math.minimum),
    "MIRROR_PAD": unary("tf.pad(mode=REFLECT)", lambda tf: lambda x: tf.pad(
        x, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT")),
    "MUL": binary("tf.math.multiply", lambda tf: tf.math.multiply),
    "MULTINOMIAL": Builder("tf.random.categorical", _random("categorical"), (Arg((1, 8)),)),
    "NEG": unary("tf.math.negative", lambda tf: tf.math.negative),
    "NON_MAX_SUPPRESSION_V4": Builder("tf.raw_ops.NonMaxSuppressionV4", _nms_v4,
                                      (Arg((8, 4), lo=0.0, hi=1.0), Arg((8,), lo=0.0, hi=1.0))),
    "NON_MAX_SUPPRESSION_V5": Builder("tf.raw_ops.NonMaxSuppressionV5", _nms_v5,
                                      (Arg((8, 4), lo=0.0, hi=1.0), Arg((8,), lo=0.0, hi=1.0))),
    "NOT_EQUAL": binary("tf.math.not_equal", lambda tf: tf.math.not_equal),
    "ONE_HOT": unary("tf.one_hot", lambda tf: lambda i: tf.one_hot(i, 8, 1.0, 0.0), I32),
    "PACK": binary("tf.stack", lambda tf: lambda a, b: tf.stack([a, b], 1)),
    "PAD": unary("tf.pad", lambda tf: lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])),
    "PADV2": unary("tf.pad(constant_values=0.5)", lambda tf: lambda x: tf.pad(
        x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=0.5)),
    "POW": binary("tf.math.pow", lambda tf: tf.math.pow, POS4, X4),
    "PRELU": Builder("keras.layers.PReLU", _prelu, (X4,), keras="PReLU"),
    "QUANTIZE": Builder("float I/O around tf.math.add", _quantize_io, (X4, X4), float_io=True),
    "RANDOM_STANDARD_NORMAL": Builder("tf.random.normal", _random("normal"), (X2,)),
    "RANDOM_UNIFORM": Builder("tf.random.uniform", _random("uniform"), (X2,)),
    "RANGE": unary("tf.range", lambda tf: lambda n: tf.range(n[0]),
                   Arg((1,), "int32", 2, 8)),
    "RANK": unary("tf.rank", lambda tf: tf.rank, Arg(None, sample=(2, 4))),
    "READ_VARIABLE": Builder("tf.Variable in a tf.Module", _variables, (X2,),
                             resource_variables=True),
    "ASSIGN_VARIABLE": Builder("tf.Variable in a tf.Module", _variables, (X2,),
                               resource_variables=True),
    "VAR_HANDLE": Builder("tf.Variable in a tf.Module", _variables, (X2,),
                          resource_variables=True),
    "REAL": Builder("tf.signal.rfft2d + tf.math.real", _complex, (Arg((1, 8, 8)),)),
    "REDUCE_ALL": unary("tf.math.reduce_all", lambda tf: lambda x: tf.math.reduce_all(x, 1), BOOL),
    "REDUCE_ANY": unary("tf.math.reduce_any", lambda tf: lambda x: tf.math.reduce_any(x, 1), BOOL),
    "REDUCE_MAX": unary("tf.math.reduce_max", lambda tf: lambda x: tf.math.reduce_max(x, [1, 2])),
    "REDUCE_MIN": unary("tf.math.reduce_min", lambda tf: lambda x: tf.math.reduce_min(x, [1, 2])),
    "REDUCE_PROD": unary("tf.math.reduce_prod",
                         lambda tf: lambda x: tf.math.reduce_prod(x, [1, 2])),
    "RELU": unary("tf.nn.relu", lambda tf: tf.nn.relu),
    "RELU6": unary("tf.nn.relu6", lambda tf: tf.nn.relu6),
    "RELU_0_TO_1": unary("tf.clip_by_value(x, 0, 1)",
                         lambda tf: lambda x: tf.clip_by_value(x, 0.0, 1.0),
                         Arg((1, 8, 8, 4), lo=-2.0, hi=2.0)),
    "RELU_N1_TO_1": unary("minimum(maximum(x, -1), 1)",
                          lambda tf: lambda x: tf.minimum(tf.maximum(x, -1.0), 1.0),
                          Arg((1, 8, 8, 4), lo=-2.0, hi=2.0)),
    "RESHAPE": unary("tf.reshape", lambda tf: lambda x: tf.reshape(x, [1, 16, 16])),
    "RESIZE_BILINEAR": unary("tf.image.resize(bilinear)",
                             lambda tf: lambda x: tf.image.resize(x, [16, 16], "bilinear")),
    "RESIZE_NEAREST_NEIGHBOR": unary("tf.image.resize(nearest)",
                                     lambda tf: lambda x: tf.image.resize(x, [16, 16], "nearest")),
    "REVERSE_SEQUENCE": Builder("tf.reverse_sequence", _reverse_sequence, (Arg((2, 8, 4)),)),
    "REVERSE_V2": unary("tf.reverse", lambda tf: lambda x: tf.reverse(x, [1])),
    "RIGHT_SHIFT": binary("tf.bitwise.right_shift", lambda tf: tf.bitwise.right_shift,
                          Arg((1, 16), "int32", 0, 1000), Arg((1, 16), "int32", 0, 4)),
    "RNN": Builder("keras.layers.SimpleRNN", _simple_rnn, (Arg((1, 4, 8)),), keras="SimpleRNN"),
    "RFFT2D": Builder("tf.signal.rfft2d + tf.math.abs", _complex, (Arg((1, 8, 8)),)),
    "ROUND": unary("tf.math.round", lambda tf: tf.math.round),
    "RSQRT": unary("tf.math.rsqrt", lambda tf: tf.math.rsqrt, POS4),
    "SCATTER_ND": Builder("tf.scatter_nd", _scatter_nd, (Arg((2, 4)),)),
    "SEGMENT_SUM": Builder("tf.math.segment_sum", _segment("segment_sum"), (Arg((8, 4)),)),
    "SELECT": Builder("tf.raw_ops.Select", lambda tf, k, r: lambda c, a, b: tf.raw_ops.Select(
        condition=c, x=a, y=b), (BOOL, X2, X2)),
    "SELECT_V2": Builder("tf.where(c, x, y) broadcasting",
                         lambda tf, k, r: lambda c, a, b: tf.where(c, a, b),
                         (BOOL, X2, Arg((1, 1)))),
    "SHAPE": unary("tf.shape", lambda tf: lambda x: tf.shape(x), DYN),
    "SIGN": unary("tf.math.sign", lambda tf: tf.math.sign),
    "SIN": unary("tf.math.sin", lambda tf: tf.math.sin),
    "SLICE": unary("tf.slice", lambda tf: lambda x: tf.slice(x, [0, 1, 1, 0], [1, 4, 4, 4])),
    "SOFTMAX": unary("tf.nn.softmax", lambda tf: tf.nn.softmax, X2),
    "SPACE_TO_BATCH_ND": unary("tf.space_to_batch",
                               lambda tf: lambda x: tf.space_to_batch(x, [2, 2], [[0, 0], [0, 0]])),
    "SPACE_TO_DEPTH": unary("tf.nn.space_to_depth",
                            lambda tf: lambda x: tf.nn.space_to_depth(x, 2)),
    "SPARSE_TO_DENSE": Builder("tf.raw_ops.SparseToDense", _sparse_to_dense, (Arg((3,)),)),
    "SPLIT": unary("tf.split", lambda tf: lambda x: tf.split(x, 2, axis=-1)),
    "SPLIT_V": unary("tf.split(sizes)", lambda tf: lambda x: tf.split(x, [1, 3], axis=-1)),
    "SQRT": unary("tf.math.sqrt", lambda tf: tf.math.sqrt, POS4),
    "SQUARE": unary("tf.math.square", lambda tf: tf.math.square),
    "SQUARED_DIFFERENCE": binary("tf.math.squared_difference",
                                 lambda tf: tf.math.squared_difference),
    # with a known rank the converter rewrites SQUEEZE as RESHAPE; unknown rank keeps it
    "SQUEEZE": unary("tf.squeeze (input of unknown rank)",
                     lambda tf: lambda x: tf.squeeze(x, [1]), Arg(None, sample=(2, 1, 4))),
    "STRIDED_SLICE": unary("tensor[::]", lambda tf: lambda x: x[:, ::2, 1:5, :]),
    "SUB": binary("tf.math.subtract", lambda tf: tf.math.subtract),
    "SUM": unary("tf.math.reduce_sum", lambda tf: lambda x: tf.math.reduce_sum(x, [1, 2])),
    "TANH": unary("tf.math.tanh", lambda tf: tf.math.tanh),
    "TILE": unary("tf.tile", lambda tf: lambda x: tf.tile(x, [1, 2, 1, 1])),
    "TOPK_V2": unary("tf.math.top_k", lambda tf: lambda x: tf.math.top_k(x, 4), X2),
    "TRANSPOSE": unary("tf.transpose", lambda tf: lambda x: tf.transpose(x, [0, 3, 1, 2])),
    "TRANSPOSE_CONV": Builder("tf.nn.conv2d_transpose", _transpose_conv, (X4,)),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Builder("tf_keras.layers.LSTM (Keras 2)", _lstm,
                                            (Arg((1, 4, 8)),), keep_variables=True),
    "UNIDIRECTIONAL_SEQUENCE_RNN": Builder("keras.layers.SimpleRNN", _simple_rnn,
                                           (Arg((1, 4, 8)),), keras="SimpleRNN"),
    "UNIQUE": unary("tf.unique", lambda tf: lambda x: tf.unique(x)[0], Arg((16,))),
    "UNPACK": unary("tf.unstack", lambda tf: lambda x: tf.unstack(x, axis=3)),
    "UNSORTED_SEGMENT_MAX": Builder("tf.math.unsorted_segment_max",
                                    _segment("unsorted_segment_max"), (Arg((8, 4)),)),
    "UNSORTED_SEGMENT_MIN": Builder("tf.math.unsorted_segment_min",
                                    _segment("unsorted_segment_min"), (Arg((8, 4)),)),
    "UNSORTED_SEGMENT_PROD": Builder("tf.math.unsorted_segment_prod",
                                     _segment("unsorted_segment_prod"), (Arg((8, 4)),)),
    "UNSORTED_SEGMENT_SUM": Builder("tf.math.unsorted_segment_sum",
                                    _segment("unsorted_segment_sum"), (Arg((8, 4)),)),
    "WHERE": unary("tf.where(cond)", lambda tf: lambda x: tf.where(x > 0.0), X2),
    "WHILE": Builder("tf.while_loop", _while, (Arg((1,), "int32", 1, 4), X2)),
    # the sum with the input only gives the zeros a place in the graph: a harness
    "ZEROS_LIKE": dataclasses.replace(unary("tf.zeros_like", lambda tf: lambda x: tf.math.add(
        tf.zeros_like(x), x, name=HARNESS), DYN), harness=True, harness_last=True),
}
# fmt: on

# Builtins the probe cannot build from TensorFlow, with the reason recorded as
# ``unprobed``.  This is a statement about the probe, not about the runtime.
_NO_TF_SOURCE = "no TensorFlow op or Keras layer known to the probe lowers to it"
_STABLEHLO = (
    "StableHLO builtin: emitted only on the StableHLO conversion path (JAX / PyTorch "
    "exporters), which this probe does not drive"
)
UNPROBED_REASONS: dict[str, str] = {
    "CALL": "legacy builtin with no converter lowering; no builder",
    "CUSTOM": "not one op: CUSTOM carries user-registered kernels, probed per custom name",
    "DELEGATE": "placeholder used by delegates at runtime, never emitted by the converter",
    "PLACEHOLDER_FOR_GREATER_OP_CODES": "schema placeholder, not an operator",
    "CONCAT_EMBEDDINGS": _NO_TF_SOURCE,
    "SKIP_GRAM": _NO_TF_SOURCE,
    "LSH_PROJECTION": _NO_TF_SOURCE,
    "HASHTABLE_LOOKUP": _NO_TF_SOURCE,
    "EMBEDDING_LOOKUP_SPARSE": _NO_TF_SOURCE,
    "SVDF": _NO_TF_SOURCE,
    "LSTM": "no TF op or Keras layer known to the probe lowers to the non-sequence LSTM builtin "
    "(Keras LSTM is probed under UNIDIRECTIONAL_SEQUENCE_LSTM)",
    "DENSIFY": "emitted only for sparse weights (EXPERIMENTAL_SPARSITY); no builder",
    "DILATE": _STABLEHLO,
    "REDUCE_WINDOW": _STABLEHLO,
}


def builtin_plan(name: str) -> Builder | str:
    """The builder for builtin ``name``, or the reason it cannot be probed."""
    if name in BUILTIN_BUILDERS:
        return BUILTIN_BUILDERS[name]
    if name in UNPROBED_REASONS:
        return UNPROBED_REASONS[name]
    if name.startswith("STABLEHLO_"):
        return _STABLEHLO
    return "no builder in tools/probe/builders.py yet"


def raw(name: str, fn: Callable[[Any], Callable[..., Any]], *args: Arg) -> Builder:
    """A builder over a TF function taking ``args`` (default one ``X2`` input)."""
    return Builder(name, lambda tf, keras, rng: fn(tf), args or (X2,))


def harnessed(b: Builder, *, last: bool = True) -> Builder:
    """``b`` whose ``harness``-named ops (and with ``last`` the op computing its output)
    only make a complex64 op convertible: the probe attributes their float ops to them."""
    return dataclasses.replace(b, harness=True, harness_last=last)
