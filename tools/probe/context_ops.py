"""Probes of an op in context: the neighbour, shape or structure that changes its outcome.

Each entry is a chain (float carried from a float op to the op reading it), a fusion the
converter makes of a few ops, or a variant whose ``when`` / ``pattern_when`` names the
fact of the op's context it holds under. They were added after held-out models showed the
context mattered; `tools.probe.tf_ops` merges them into ``TF_OP_BUILDERS``.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from tools.probe.builders import HARNESS, X2, X4, Arg, Builder, _w, harnessed, raw

CONTEXT_BUILDERS: dict[str, Builder] = {}
# An input whose dims the converter cannot infer (qlint.converter_shapes): the frames of
# tf.signal.frame on an unknown batch size, read by an rfft (no window: an export folds
# it into a constant) and by a convolution
_UNINFERRED = [{"fact": "ifm_shape_inferred", "eq": False}]
CONTEXT_BUILDERS["RFFT(input shape not inferred)"] = dataclasses.replace(harnessed(raw(
    "tf.signal.stft(x, 256, 128, window_fn=None) on a (None, 1024) input "
    "(+ tf.math.abs as harness)",
    lambda tf: lambda x: tf.math.abs(tf.signal.stft(x, 256, 128, 256, window_fn=None),
                                     name=HARNESS),
    Arg((None, 1024), sample=(1, 1024)))), extra={"variant_of": "RFFT", "when": _UNINFERRED})
CONTEXT_BUILDERS["Conv2D(input shape not inferred)"] = Builder(
    "tf.nn.conv2d of tf.signal.frame(x, 40, 20, axis=1) on a (None, 400, 1) input",
    lambda tf, keras, rng: (lambda w: lambda x: tf.nn.conv2d(
        tf.signal.frame(x, 40, 20, axis=1), w, 1, "VALID"))(tf.constant(_w(rng, 1, 5, 1, 4))),
    (Arg((None, 400, 1), sample=(1, 400, 1)),),
    extra={"variant_of": "Conv2D", "when": _UNINFERRED})
# Rotary position embeddings rotate half of each head: tf.stack([-x2, x1]) (Llama, Gemma,
# GPT-NeoX, Moonshine in keras-hub): a PACK reading a float NEG stays float too.
CONTEXT_BUILDERS["Neg+Pack"] = raw("tf.stack([tf.math.negative(x), x], axis=-2) on (None, 4, 16)",
                                 lambda tf: lambda x: tf.stack([tf.math.negative(x), x], -2),
                                 Arg((None, 4, 16), sample=(1, 4, 16)))
# The converter moves a NEG up through the layout ops (squeeze, transpose, reshape,
# expand_dims) between it and the op computing its input, when they read nothing else,
# and then keeps the first of them in float too, where the result is stacked or
# concatenated with other tensors (Spotify's basic-pitch: conv -> squeeze -> transpose ->
# negative -> stack); the PACK / CONCATENATION itself is int8 then.  Swept: each layout
# op and one pair of them, before the Neg or after it (the same ops, the same outcome),
# for Pack and ConcatV2; `Neg+Reshape`, `Neg+Squeeze`, ... above are the same chains
# ending in the model output, where only the NEG stays float.  The chains are ordered (a
# rotary embedding's Neg -> Pack -> Reshape is not Reshape+Neg+Pack) and carry float
# from the NEG to the layout op only where that op's result reaches a PACK or a
# CONCATENATION.
_JOINED = [{"fact": "next_compute_op", "in": ["PACK", "CONCATENATION"]}]
_LAYOUTS: dict[str, tuple[tuple[int | None, ...], tuple[int | None, ...], str, Any]] = {
    # layout op(s): (input shape, output shape, what they compute, the function)
    "Squeeze": ((None, 1, 16, 8), (None, 16, 8), "tf.squeeze(t, 1)",
                lambda tf, t: tf.squeeze(t, 1)),
    "Transpose": ((None, 16, 8), (None, 8, 16), "tf.transpose(t, [0, 2, 1])",
                  lambda tf, t: tf.transpose(t, [0, 2, 1])),
    "Reshape": ((None, 16, 8), (None, 8, 16), "tf.reshape(t, [-1, 8, 16])",
                lambda tf, t: tf.reshape(t, [-1, 8, 16])),
    "ExpandDims": ((None, 16, 8), (None, 1, 16, 8), "tf.expand_dims(t, 1)",
                   lambda tf, t: tf.expand_dims(t, 1)),
    "Squeeze+Transpose": ((None, 1, 16, 8), (None, 8, 16),
                          "tf.transpose(tf.squeeze(t, 1), [0, 2, 1])",
                          lambda tf, t: tf.transpose(tf.squeeze(t, 1), [0, 2, 1])),
}


def _neg_chain(call: str, fn: Any, neg_first: bool) -> Any:
    """``call([a, f(-b)], -1)`` (``neg_first``) or ``call([a, -f(b)], -1)``."""
    def make(tf: Any) -> Any:
        join = getattr(tf, call)
        if neg_first:
            return lambda a, b: join([a, fn(tf, tf.math.negative(b))], -1)
        return lambda a, b: join([a, tf.math.negative(fn(tf, b))], -1)
    return make


for _join, _call in (("Pack", "stack"), ("ConcatV2", "concat")):
    for _layout, (_in, _out, _text, _fn) in _LAYOUTS.items():
        for _neg_first in (False, True):
            _key = f"Neg+{_layout}+{_join}" if _neg_first else f"{_layout}+Neg+{_join}"
            _what = "f(tf.math.negative(b))" if _neg_first else "tf.math.negative(f(b))"
            CONTEXT_BUILDERS[_key] = dataclasses.replace(raw(
                f"tf.{_call}([a, {_what}], -1), f(t) = {_text}, b {_in}, a {_out}",
                _neg_chain(_call, _fn, _neg_first),
                Arg(_out, sample=tuple(d or 1 for d in _out)),
                Arg(_in, sample=tuple(d or 1 for d in _in))),
                extra={"ordered": True, "carry_when": {
                    b: _JOINED for b in ("RESHAPE", "TRANSPOSE", "EXPAND_DIMS")}})
# A new axis in a slice spec that names every input dimension (``mask[:, tf.newaxis, :]``,
# the keras.io translation transformer's padding mask on token ids of any length), on an
# input with two dims of unknown size: the converter cannot translate the SavedModel's
# StridedSlice, whatever its dtype (a frozen concrete function of the same slice
# converts).  Swept: the same spec with one unknown dim, and ``x[:, tf.newaxis]``, which
# leaves the last dim implicit.
_NEW_AXIS = {"fact": "new_axis_mask", "gt": 0}
for _key, _shape, _text, _full, _when in (
        ("StridedSlice(new axis, full spec, two unknown dims)", (None, None),
         "x[:, tf.newaxis, :]", True, [_NEW_AXIS, {"fact": "slice_spec_full", "eq": True},
                                      {"fact": "ifm_unknown_dims", "ge": 2}]),
        ("StridedSlice(new axis, full spec, one unknown dim)", (None, 16),
         "x[:, tf.newaxis, :]", True, [_NEW_AXIS, {"fact": "slice_spec_full", "eq": True},
                                      {"fact": "ifm_unknown_dims", "lt": 2}]),
        ("StridedSlice(new axis, last dim implicit)", (None, None),
         "x[:, tf.newaxis]", False, [_NEW_AXIS, {"fact": "slice_spec_full", "eq": False}])):
    CONTEXT_BUILDERS[_key] = dataclasses.replace(raw(
        f"{_text} on a {_shape} input",
        (lambda full: lambda tf: lambda x: x[:, tf.newaxis, :] if full else x[:, tf.newaxis])(
            _full),
        Arg(_shape, sample=tuple(d or 4 for d in _shape))), saved_model=True,
        extra={"variant_of": "StridedSlice", "when": _when})
# A SquaredDifference of a rank-5 tensor and its mean (GroupNormalization's variance on
# an image) becomes a SUB and a SQUARE, which has no int8 kernel; swept: the same on a
# rank-4 tensor stays one int8 SQUARED_DIFFERENCE.
for _rank, _shape, _when in ((5, (1, 4, 4, 2, 2), {"fact": "rank", "ge": 5}),
                             (4, (1, 4, 4, 4), {"fact": "rank", "le": 4})):
    CONTEXT_BUILDERS[f"SquaredDifference(rank {_rank})"] = dataclasses.replace(raw(
        f"tf.math.squared_difference(x, tf.reduce_mean(x, [1, 2, -1], keepdims=True)) on "
        f"{_shape}",
        lambda tf: lambda x: tf.math.squared_difference(
            x, tf.reduce_mean(x, [1, 2, -1], keepdims=True)),
        Arg(_shape)), extra={"variant_of": "SquaredDifference", "when": [_when]})
# A TensorArray written in a while loop on an unknown batch (tf_keras' ConvLSTM2D, a
# decoder writing its steps): the converter cannot lower the TensorListReserve of a list
# whose element shape is not static.  Left out: the same loop on a batch of one, and a
# TensorArray read in a loop, which killed the converter (SIGSEGV) when probed, while a
# decoder writing only its loop state converts; no fact of the op tells them apart yet.


def _ta_write(tf: Any) -> Any:
    def f(x: Any) -> Any:  # x (batch, 4, 8): write step i, then stack the steps
        ta = tf.TensorArray(tf.float32, size=4)
        _, ta = tf.while_loop(lambda i, _: i < 4,
                              lambda i, t: (i + 1, t.write(i, x[:, i] * 2.0)), (0, ta))
        return tf.transpose(ta.stack(), [1, 0, 2])
    return f


for _op in ("TensorListReserve", "TensorListSetItem", "TensorListStack"):
    CONTEXT_BUILDERS[f"{_op}(unknown batch)"] = dataclasses.replace(raw(
        "a tf.TensorArray written in a tf.while_loop, stacked, on a (None, 4, 8) input",
        _ta_write, Arg((None, 4, 8), sample=(1, 4, 8))), saved_model=True, extra={
            "variant_of": _op, "when": [{"fact": "dynamic_batch", "eq": True}]})
# A TensorArray unstacked and read step by step with no loop (dm-sonnet's static_unroll of
# a recurrent core): TensorListFromTensor and TensorListGetItem outside any while loop.
# The reads inside a loop's body keep no verdict (above).


def _ta_static(tf: Any) -> Any:
    def f(x: Any) -> Any:  # x (4, 1, 8): the steps, read one by one and added up
        ta = tf.TensorArray(tf.float32, size=4).unstack(x)
        out = ta.read(0)
        for i in range(1, 4):
            out = out + ta.read(i) * float(i + 1)
        return out
    return f


for _op in ("TensorListFromTensor", "TensorListGetItem"):
    CONTEXT_BUILDERS[f"{_op}(outside a loop)"] = dataclasses.replace(raw(
        "a tf.TensorArray unstacked from a (4, 1, 8) input and read at 0..3, no loop",
        _ta_static, Arg((4, 1, 8))), saved_model=True, extra={
            "variant_of": _op, "when": [{"fact": "in_loop_body", "eq": False}]})
# A PadV2 of a float SIGN (larq pads binarized activations with 1.0 before a convolution)
# stays float too.
CONTEXT_BUILDERS["Sign+PadV2"] = raw(
    "tf.pad(tf.math.sign(x), 1 pixel each side, constant_values=1.0)",
    lambda tf: lambda x: tf.pad(tf.math.sign(x), [[0, 0], [1, 1], [1, 1], [0, 0]],
                                constant_values=1.0), X4)
# A fusion: x + (-y) is a SUB (QKeras' straight-through estimator adds the negated input
# to its rounding)
CONTEXT_BUILDERS["Neg+AddV2"] = raw("x + tf.math.negative(y)",
                                  lambda tf: lambda x, y: x + tf.math.negative(y), X2, X2)
# A split with an empty part (keras.ops.split at the last index, as FasterNet's partial
# convolution writes it): one part convolved, the other passed on, then concatenated.  The
# converter keeps the SPLIT_V in float in some conversions and not in others, with the
# same model and data: converted several times, the entry says in how many it stayed float.
CONTEXT_BUILDERS["SplitV(empty part)"] = Builder(
    "tf.split(x, [1, 3, 0], -1), conv2d of the first part concatenated with the second, "
    "converted 12 times",
    lambda tf, keras, rng: (lambda w: lambda x: (lambda a, b, _: tf.concat(
        [tf.nn.conv2d(a, w, 1, "SAME"), b], -1))(*tf.split(x, [1, 3, 0], -1)))(
            tf.constant(_w(rng, 1, 1, 1, 1))),
    (X4,), extra={"variant_of": "SplitV", "when": [{"fact": "empty_output", "eq": True}],
                  "repeat": 12})
# A split one of whose parts nothing reads (CvT splits its class token off the other
# tokens and keeps only the token; a gated block that uses one half): the converter keeps
# the SPLIT / SPLIT_V in float in some conversions and not in others, the same model and
# data, where every part is read in none.  ``output_unused``: an output of the op is read
# by no op and is no model output.  h = x @ w + x on (1, 16, 8); converted 12 times each.
_SPLIT_PARTS: dict[str, tuple[str, Any, bool]] = {
    "SplitV(part unused)": ("a, _ = tf.split(h, [1, 15], 1); mean(a, 1) * 2",
                            lambda tf, h: tf.reduce_mean(tf.split(h, [1, 15], 1)[0], 1) * 2.0,
                            True),
    "SplitV(every part used)": (
        "a, b = tf.split(h, [1, 15], 1); mean(a, 1) * 2 + mean(b, 1)",
        lambda tf, h: (lambda a, b: tf.reduce_mean(a, 1) * 2.0 + tf.reduce_mean(b, 1))(
            *tf.split(h, [1, 15], 1)), False),
    "Split(part unused)": ("a, _, _, _ = tf.split(h, 4, 1); mean(a, 1) * 2",
                           lambda tf, h: tf.reduce_mean(tf.split(h, 4, 1)[0], 1) * 2.0, True),
    "Split(every part used)": (
        "a, b = tf.split(h, 2, 2); tanh(a) * sigmoid(b)",
        lambda tf, h: (lambda a, b: tf.tanh(a) * tf.sigmoid(b))(*tf.split(h, 2, 2)), False),
}


def _split_parts(text: str, body: Any, unused: bool, op: str) -> Builder:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w = tf.constant(_w(rng, 8, 8))
        return lambda x: body(tf, tf.matmul(x, w) + x)

    return Builder(f"h = x @ w + x on (1, 16, 8); {text}, converted 12 times", make,
                   (Arg((1, 16, 8)),), extra={
                       "variant_of": op, "repeat": 12,
                       "when": [{"fact": "output_unused", "eq": unused}]})


for _key, (_text, _body, _unused) in _SPLIT_PARTS.items():
    CONTEXT_BUILDERS[_key] = _split_parts(_text, _body, _unused, _key.split("(")[0])
# The same split as a .keras file shows it: keras.ops.split at the last index


def _keras_split_empty(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inp = keras.Input((8, 8, 4), batch_size=1)
    a, b, _ = keras.ops.split(inp, [1, 4], axis=3)
    x = keras.layers.Conv2D(1, 1)(a)
    return keras.Model(inp, keras.ops.concatenate([x, b], axis=3))


CONTEXT_BUILDERS["keras.ops.Split(empty part)"] = Builder(
    "keras.ops.split(x, [1, 4], axis=3), a Conv2D of the first part concatenated with the "
    "second, converted 12 times", _keras_split_empty, (X4,), keras="ops.Split",
    saved_model=True, extra={"variant_of": "keras.ops.Split", "repeat": 12,
                             "when": [{"fact": "empty_output", "eq": True}]})
# keras.ops.ones_like of a model output (an anomaly scorer's ``where(score > t,
# ones_like(score), zeros_like(score))`` beside the score itself): its SHAPE reads the
# output dequantized and stays float, as the TF ops' ``Shape(input is model output)``.


def _keras_ones_like(also_output: bool) -> Builder:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        inp = keras.Input((16,), batch_size=1)
        c = keras.layers.Dense(16, activation="relu")(inp)
        ones = keras.ops.ones_like(c) * 3.0
        return keras.Model(inp, [c, ones] if also_output else ones + 1.0)

    text = "keras.ops.ones_like(c) * 3.0, c = Dense(16, relu) on (1, 16)"
    return Builder(text + (", c a model output too" if also_output else ""), make, (X2,),
                   keras="ops.OnesLike", saved_model=True, extra={
                       "variant_of": "keras.ops.OnesLike",
                       "when": [{"fact": "ifm_is_model_output", "eq": also_output}]})


CONTEXT_BUILDERS["keras.ops.OnesLike(input is model output)"] = _keras_ones_like(True)
CONTEXT_BUILDERS["keras.ops.OnesLike(input not model output)"] = _keras_ones_like(False)
# tf.math.l2_normalize over a middle axis (XCA attention normalizes its keys over the
# tokens): not the fused L2_NORMALIZATION of the last axis; a condition on the pattern's Sum
CONTEXT_BUILDERS["L2Normalize(middle axis)"] = Builder(
    "tf.math.l2_normalize(x, axis=1) on (1, 4, 8)",
    lambda tf, keras, rng: lambda x: tf.math.l2_normalize(x, axis=1), (Arg((1, 4, 8)),),
    extra={"pattern_when": {"Sum": [{"fact": "reduces_depth", "eq": False}]}})
# A slice of a tensor whose other part is concatenated: a fused query-key-value
# projection sliced three ways whose key is rotated (split, negated, concatenated), a CSP
# block that concatenates one slice of a convolution and computes on the other.  The
# strict int8 converter can keep the op reading the other slice in float (a GPT-NeoX
# attention's value TRANSPOSE and BATCH_MATMUL): ``joined_sibling``
# (`qlint.sibling_slices`).  t = reshape(x @ w) (1, 16, 2, 16); the model returns
# concat([f(t[..., :8]), o], -1) and op(t[..., 8:]).  Swept per reading op: joined (the
# slice concatenated as it is) with the concatenation taken first, joined with the
# reading op's slice taken first (created, so named, first: the converter's order decides
# too: `qlint.converter_order`), and not joined (a MUL between the slice and the
# concatenation).  Each entry converts four forms of the concatenation's other operand o
# (x4, x4 * 2.0, tf.tanh(x4), (x4 * 2.0)[..., :8]) and records in how many the op stayed
# float (``float_runs``).
_SIBLING_READERS: dict[str, tuple[str, Any]] = {
    # op: (what it computes on r = t[..., 8:], (1, 16, 2, 8); x4 = reshape(x), the same shape)
    "AddV2": ("r + 1.0", lambda tf, r, x4, c: r + 1.0),
    "Mul": ("r * 3.0", lambda tf, r, x4, c: r * 3.0),
    "Sub": ("r - 0.5", lambda tf, r, x4, c: r - 0.5),
    "BatchMatMulV2": ("tf.matmul(r, x4, transpose_b=True)",
                      lambda tf, r, x4, c: tf.matmul(r, x4, transpose_b=True)),
    "Einsum": ("tf.einsum('bhqk,bkhd->bqhd', softmax(tf.einsum('bqhd,bkhd->bhqk', x4, x4)), r)",
               lambda tf, r, x4, c: tf.einsum("bhqk,bkhd->bqhd", tf.nn.softmax(
                   tf.einsum("bqhd,bkhd->bhqk", x4, x4)), r)),
    "MatMul": ("tf.matmul(tf.reshape(r, [-1, 8]), w2), w2 (8, 4)",
               lambda tf, r, x4, c: tf.matmul(tf.reshape(r, [-1, 8]), c["w2"])),
    "Conv2D": ("tf.nn.conv2d(tf.reshape(r, [-1, 4, 8, 8]), k, 1, 'SAME'), k (3, 3, 8, 4)",
               lambda tf, r, x4, c: tf.nn.conv2d(tf.reshape(r, [-1, 4, 8, 8]), c["k"], 1,
                                                 "SAME")),
    "Softmax": ("tf.nn.softmax(r)", lambda tf, r, x4, c: tf.nn.softmax(r)),
    "Tanh": ("tf.tanh(r)", lambda tf, r, x4, c: tf.tanh(r)),
    "Sigmoid": ("tf.sigmoid(r)", lambda tf, r, x4, c: tf.sigmoid(r)),
    "Relu": ("tf.nn.relu(r)", lambda tf, r, x4, c: tf.nn.relu(r)),
    "Mean": ("tf.reduce_mean(r, -1)", lambda tf, r, x4, c: tf.reduce_mean(r, -1)),
    "Transpose": ("tf.transpose(r, [0, 2, 1, 3])",
                  lambda tf, r, x4, c: tf.transpose(r, [0, 2, 1, 3])),
    "ConcatV2": ("tf.concat([r, x4 * 2.0], -1)",
                 lambda tf, r, x4, c: tf.concat([r, x4 * 2.0], -1)),
}
#: the concatenation's other operand o, one form each
_SIBLING_OTHERS: dict[str, Any] = {
    "x4": lambda tf, x4: x4, "x4 * 2.0": lambda tf, x4: x4 * 2.0,
    "tf.tanh(x4)": lambda tf, x4: tf.tanh(x4),
    "(x4 * 2.0)[..., :8]": lambda tf, x4: (x4 * 2.0)[..., :8]}
# The float a joined sibling leaves spreads only within its readers (the RESHAPE and
# CONV_2D of a convolution reading the slice), not to every CONV_2D a float RESHAPE feeds:
# the readers that follow a layout op in the sweep.
_SIBLING_BUILTINS = ("BATCH_MATMUL", "FULLY_CONNECTED", "CONV_2D")
#: the fact's value each sweep holds under, and the orders its forms are converted in
_SIBLING_SWEEP = {"joined": ("joined first", False), "read first": ("read first", True),
                  "not joined": ("none", False)}


def _reader_consts(tf: Any, rng: np.random.Generator, width: int) -> dict[str, Any]:
    """The reading ops' constants: the projection ``w`` (16, ``width``), a MatMul's
    ``w2`` (8, 4) and a Conv2D's kernel ``k`` (3, 3, 8, 4), drawn in that order."""
    return {"w": tf.constant(_w(rng, 16, width)), "w2": tf.constant(_w(rng, 8, 4)),
            "k": tf.constant(_w(rng, 3, 3, 8, 4))}


def _sibling_form(op: str, joined: bool, other: str, read_first: bool) -> Builder:
    _, read = _SIBLING_READERS[op]
    join = _SIBLING_OTHERS[other]

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        consts = _reader_consts(tf, rng, 32)

        def f(x: Any) -> Any:
            t = tf.reshape(tf.matmul(tf.reshape(x, [-1, 16]), consts["w"]), [-1, 16, 2, 16])
            x4 = tf.reshape(x, [-1, 16, 2, 8])
            if read_first:  # the reading op created before the concatenation
                out = read(tf, t[..., 8:], x4, consts)
                return tf.concat([t[..., :8], join(tf, x4)], -1), out
            part = t[..., :8] if joined else t[..., :8] * 2.0
            return tf.concat([part, join(tf, x4)], -1), read(tf, t[..., 8:], x4, consts)
        return f
    return Builder(f"{op} sibling form", make, (Arg((None, 16, 16), sample=(1, 16, 16)),))


def _sibling(op: str, sweep: str) -> Builder:
    text, _ = _SIBLING_READERS[op]
    value, read_first = _SIBLING_SWEEP[sweep]
    joined = sweep != "not joined"
    forms = [_sibling_form(op, joined, o, read_first) for o in _SIBLING_OTHERS]
    first = "t[..., :8]" if joined else "t[..., :8] * 2.0"
    order = ("; the reading op created (so named) first" if read_first else
             "; the concatenation created first")
    return Builder(f"t = reshape(x @ w, [-1, 16, 2, 16]); tf.concat([{first}, o], -1) and "
                   f"{text} with r = t[..., 8:], on (None, 16, 16){order}; o = "
                   f"{', '.join(_SIBLING_OTHERS)} (one conversion each)",
                   forms[0].make, forms[0].args,
                   extra={"variant_of": op, "forms": forms[1:],
                          "when": [{"fact": "joined_sibling", "eq": value}],
                          **({"carry_when": {b: [{"fact": "joined_sibling", "eq": value}]
                                             for b in _SIBLING_BUILTINS}}
                             if value == "joined first" else {})})


for _op in _SIBLING_READERS:
    for _sweep in _SIBLING_SWEEP:
        CONTEXT_BUILDERS[f"{_op}(sibling slice {_sweep})"] = _sibling(_op, _sweep)

# The whole of such a tensor, read beside a rotation of its halves: keys and values taken
# from one projection (a multi-query attention whose key and value kernels are one), the
# key half rotated (split, negated, concatenated) and the value read as it is.  ``t =
# reshape(x @ w) (1, 16, 2, 8)``; the model returns a rotation of t and op(t).  Swept per
# reading op under ``joined_sibling == "negated"``, one conversion per form of the
# rotation; the float the reading op leaves carries to the matrix products reading it.
_ROTATIONS: dict[str, Any] = {
    "tf.concat([-t[..., 4:], t[..., :4]], -1)":
        lambda tf, t: tf.concat([-t[..., 4:], t[..., :4]], -1),
    "a, b = tf.split(t, 2, -1); tf.concat([-b, a], -1)":
        lambda tf, t: (lambda a, b: tf.concat([-b, a], -1))(*tf.split(t, 2, -1)),
    "a, b = tf.split(t, 2, -1); tf.reshape(tf.stack([-b, a], -1), tf.shape(t))":
        lambda tf, t: (lambda a, b: tf.reshape(tf.stack([-b, a], -1), tf.shape(t)))(
            *tf.split(t, 2, -1)),
    "t * 0.5 + tf.concat([-b, a], -1)":
        lambda tf, t: t * 0.5 + (lambda a, b: tf.concat([-b, a], -1))(*tf.split(t, 2, -1)),
}
_NEGATED = [{"fact": "joined_sibling", "eq": "negated"}]
#: the rotation is the probe's harness: its float NEG and concatenation are the context,
#: recorded as ``harness_float_ops``; it computes the model's first output
_ROTATION_HARNESS = {"harness_outputs": (0,)}


def _negated_form(read: Any, rotation: str) -> Builder:
    rotate = _ROTATIONS[rotation]

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        consts = _reader_consts(tf, rng, 16)

        def f(x: Any) -> Any:
            t = tf.reshape(tf.matmul(tf.reshape(x, [-1, 16]), consts["w"]), [-1, 16, 2, 8])
            with tf.name_scope(HARNESS):
                rotated = rotate(tf, t)
            return rotated, read(tf, t, tf.reshape(x, [-1, 16, 2, 8]), consts)
        return f
    return Builder(f"{rotation} beside a reader of t", make,
                   (Arg((None, 16, 16), sample=(1, 16, 16)),), harness=True,
                   harness_last=True, extra=dict(_ROTATION_HARNESS))


def _negated(text: str, read: Any, extra: dict[str, Any]) -> Builder:
    forms = [_negated_form(read, r) for r in _ROTATIONS]
    return Builder(f"t = reshape(x @ w, [-1, 16, 2, 8]); a rotation of t and {text} with "
                   f"r = t, on (None, 16, 16); the rotation: {'; '.join(_ROTATIONS)} (one "
                   f"conversion each)", forms[0].make, forms[0].args, harness=True,
                   harness_last=True,
                   extra={"forms": forms[1:], **_ROTATION_HARNESS, **extra})


for _op, (_text, _read) in _SIBLING_READERS.items():
    CONTEXT_BUILDERS[f"{_op}(sibling negated)"] = _negated(
        _text, _read, {"variant_of": _op, "when": _NEGATED})
CONTEXT_BUILDERS["Transpose+BatchMatMulV2(sibling negated)"] = _negated(
    "tf.matmul(tf.transpose(x4, [0, 2, 1, 3]), tf.transpose(r, [0, 2, 1, 3]), "
    "transpose_b=True)",
    lambda tf, r, x4, c: tf.matmul(tf.transpose(x4, [0, 2, 1, 3]),
                                   tf.transpose(r, [0, 2, 1, 3]), transpose_b=True),
    {"carry_only": True, "carry_when": {b: _NEGATED for b in _SIBLING_BUILTINS}})
# Keys and values projected by two kernel variables of the same bytes (a keras-hub
# backbone built without weights), which the converter merges into one projection; the
# key rotated, the value repeated for its group of query heads (``keras.ops.repeat``:
# EXPAND_DIMS, TILE, RESHAPE) before the matrix product of a grouped-query attention.
# Converted through a SavedModel, as Keras models are: the repeat and the product stayed
# float in three of the four rotation forms where the two kernels are merged, and int8
# where the model reads one projection twice (the forms above), so the fact is a
# SavedModel's (``merged_negated``, `qlint.sibling_slices`); a ``.tflite`` file is
# merged already and cannot tell the two apart.  Each op of the repeat alone, and the
# chain down to the matrix product, whose float edges say how far the float carries.
_MERGED = [{"fact": "merged_negated", "eq": True}]


def _merged_form(read: Any, rotation: str) -> Builder:
    rotate = _ROTATIONS[rotation]

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        w = _w(rng, 16, 16)

        class Attention(tf.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:  # variables, as a Keras layer's kernels
                super().__init__()
                self.wk, self.wv = tf.Variable(w), tf.Variable(w.copy())

            def __call__(self, x: Any) -> Any:
                h = tf.reshape(x, [-1, 16])
                t = tf.reshape(tf.matmul(h, self.wk), [-1, 16, 2, 8])
                v = tf.reshape(tf.matmul(h, self.wv), [-1, 16, 2, 8])
                with tf.name_scope(HARNESS):
                    rotated = rotate(tf, t)
                return rotated, read(tf, v, tf.reshape(x, [-1, 16, 2, 8]), {})
        return Attention()
    return Builder(f"{rotation} beside a reader of the merged t", make,
                   (Arg((None, 16, 16), sample=(1, 16, 16)),), harness=True,
                   harness_last=True, saved_model=True, extra=dict(_ROTATION_HARNESS))


def _merged(text: str, read: Any, extra: dict[str, Any]) -> Builder:
    forms = [_merged_form(read, r) for r in _ROTATIONS]
    return Builder(f"t = reshape(x @ wk, [-1, 16, 2, 8]) and v = reshape(x @ wv, ...), wk "
                   f"and wv of the same bytes; a rotation of t and {text} with r = v, on "
                   f"(None, 16, 16); the rotation: {'; '.join(_ROTATIONS)} (one conversion "
                   f"each)", forms[0].make, forms[0].args, harness=True, harness_last=True,
                   saved_model=True, extra={"forms": forms[1:], **_ROTATION_HARNESS, **extra})


_REPEATS: dict[str, tuple[str, Any]] = {
    "ExpandDims": ("tf.expand_dims(r, 3)", lambda tf, r, x4, c: tf.expand_dims(r, 3)),
    "Tile": ("tf.tile(r, [1, 1, 2, 1])", lambda tf, r, x4, c: tf.tile(r, [1, 1, 2, 1])),
    "Transpose": ("tf.transpose(r, [0, 2, 1, 3])",
                  lambda tf, r, x4, c: tf.transpose(r, [0, 2, 1, 3])),
}
for _op, (_text, _read) in _REPEATS.items():
    if f"{_op}(sibling negated)" not in CONTEXT_BUILDERS:  # one projection read twice
        CONTEXT_BUILDERS[f"{_op}(sibling negated)"] = _negated(
            _text, _read, {"variant_of": _op, "when": [
                *_NEGATED, {"fact": "merged_negated", "eq": False}]})
    CONTEXT_BUILDERS[f"{_op}(sibling negated, merged)"] = _merged(
        _text, _read, {"variant_of": _op, "when": _MERGED})
CONTEXT_BUILDERS["Repeat+Transpose+BatchMatMulV2(sibling negated, merged)"] = _merged(
    "tf.matmul(q, tf.transpose(tf.repeat(r, 2, axis=2), [0, 2, 1, 3]), transpose_b=True), "
    "q = tf.transpose(tf.concat([x4, x4 * 0.5], 2), [0, 2, 1, 3])",
    lambda tf, r, x4, c: tf.matmul(
        tf.transpose(tf.concat([x4, x4 * 0.5], 2), [0, 2, 1, 3]),
        tf.transpose(tf.repeat(r, 2, axis=2), [0, 2, 1, 3]), transpose_b=True),
    {"carry_only": True, "carry_when": {
        b: _MERGED for b in ("TILE", "RESHAPE", "TRANSPOSE", *_SIBLING_BUILTINS)}})

# Slices of a float op's result, one of which is concatenated: a moving average's
# ``c[:, k:] - concat([zeros, c[:, :-k]])`` over a float CUMSUM (TimeMixer's series
# decomposition) keeps both STRIDED_SLICEs float; the same slices subtracted without the
# concatenation are int8.  ``ifm_part_joined``: an input of the op is read, through
# slices, splits and layout ops, by a concatenation.  c = cumsum(x * 2.0, axis=1) on
# (None, 16, 8); forms converted once each.
_CUMSUM_SLICES: dict[bool, dict[str, Any]] = {
    True: {
        "c[:, 1:] - tf.concat([c[:, :1] * 0.0, c[:, :-2]], 1)":
            lambda tf, c: c[:, 1:] - tf.concat([c[:, :1] * 0.0, c[:, :-2]], 1),
        "tf.concat([c[:, 1:], c[:, :1]], 1)":
            lambda tf, c: tf.concat([c[:, 1:], c[:, :1]], 1),
        "c[:, 2:] - tf.concat([c[:, :1] * 0.0, c[:, :-3]], 1) * 0.5":
            lambda tf, c: c[:, 2:] - tf.concat([c[:, :1] * 0.0, c[:, :-3]], 1) * 0.5,
    },
    False: {
        "c[:, 1:] - c[:, :-1]": lambda tf, c: c[:, 1:] - c[:, :-1],
        "c[:, 1:] * 3.0": lambda tf, c: c[:, 1:] * 3.0,
    },
}


def _cumsum_slices(joined: bool) -> Builder:
    def form(text: str) -> Builder:
        body = _CUMSUM_SLICES[joined][text]
        return raw(f"c = tf.cumsum(x * 2.0, axis=1); {text}, on (None, 16, 8)",
                   lambda tf: lambda x: body(tf, tf.cumsum(x * 2.0, axis=1)),
                   Arg((None, 16, 8), sample=(1, 16, 8)))
    first, *rest = [form(t) for t in _CUMSUM_SLICES[joined]]
    forms = ", ".join(_CUMSUM_SLICES[joined])
    return dataclasses.replace(first, name=f"{first.name}; forms: {forms} (one conversion "
                               "each)", extra={
        "carry_only": True, "forms": rest, "carry_when": {
            "STRIDED_SLICE": [{"fact": "ifm_part_joined", "eq": joined}]}})


CONTEXT_BUILDERS["Cumsum+StridedSlice(slice joined)"] = _cumsum_slices(True)
CONTEXT_BUILDERS["Cumsum+StridedSlice(slice not joined)"] = _cumsum_slices(False)

# A CONCATENATION of float segment reductions (a graph network's messages aggregated per
# node, two ways, then concatenated: tf2-gnn's RGAT) stays float too; swept with one
# segment reduction beside a model input, and for the maximum.  Ordered chains: matched
# along the data edge from the reduction to the concatenation.
_SEGMENTS = {"UnsortedSegmentSum": "unsorted_segment_sum",
             "UnsortedSegmentMax": "unsorted_segment_max"}


def _segments_joined(fn: str, both: bool) -> Any:
    def make(tf: Any) -> Any:
        ids = tf.constant([0, 0, 1, 1, 2, 2, 3, 3])
        reduce = getattr(tf.math, fn)
        return lambda x, y: tf.concat([reduce(x, ids, 4), reduce(y, ids, 4) if both else y], -1)
    return make


for _op, _fn in _SEGMENTS.items():
    for _both in (True, False):
        CONTEXT_BUILDERS[f"{_op}+ConcatV2{'' if _both else '(one input)'}"] = \
            dataclasses.replace(raw(
                f"tf.concat([tf.math.{_fn}(x, ids, 4), "
                f"{f'tf.math.{_fn}(y, ids, 4)' if _both else 'y'}], -1), "
                f"ids = [0, 0, 1, 1, 2, 2, 3, 3], x (8, 4), y {(8, 4) if _both else (4, 4)}",
                _segments_joined(_fn, _both), Arg((8, 4)), Arg((8, 4) if _both else (4, 4))),
                extra={"ordered": True})
# A CONCATENATION of a float ELU (a V-Net's skip connection concatenates the encoder's ELU
# output with the decoder's) stays float too; ordered: along the data edge.
# The converter fuses a Sub feeding a Square into one SQUARED_DIFFERENCE
# (optimize_patterns.td); ordered: along the data edge, wherever the two are (a RevIN
# normalization's ``square(x - mean)`` inside a block of many Subs), and only that way
# round (a factorization machine squares a sum, then subtracts).
CONTEXT_BUILDERS["Sub+Square"] = dataclasses.replace(raw(
    "tf.math.square(a - b)", lambda tf: lambda a, b: tf.math.square(a - b), X2, X2),
    extra={"ordered": True})
CONTEXT_BUILDERS["Elu+ConcatV2"] = dataclasses.replace(raw(
    "tf.concat([tf.nn.elu(x), y], -1), x and y (1, 8, 8, 4)",
    lambda tf: lambda x, y: tf.concat([tf.nn.elu(x), y], -1), X4, X4),
    extra={"ordered": True})
# A CONCATENATION of a float 3-d convolution's result (a UNETR decoder concatenating its
# transposed convolution's upsampled features with the encoder's skip connection) stays
# float too; with and without a bias between; ordered: along the data edge.
_CONV3D = {
    "Conv3D": ("tf.nn.conv3d(x, k, [1, 1, 1, 1, 1], 'SAME')",
               lambda tf, x, k: tf.nn.conv3d(x, k, [1, 1, 1, 1, 1], "SAME"), (1, 4, 4, 4, 2)),
    "Conv3DBackpropInputV2": (
        "tf.nn.conv3d_transpose(x, k, [1, 4, 4, 4, 2], [1, 2, 2, 2, 1])",
        lambda tf, x, k: tf.nn.conv3d_transpose(x, k, [1, 4, 4, 4, 2], [1, 2, 2, 2, 1]),
        (1, 2, 2, 2, 2)),
}
for _op, (_text, _conv, _shape) in _CONV3D.items():
    for _bias in (False, True):
        CONTEXT_BUILDERS[f"{_op}{'+BiasAdd' if _bias else ''}+ConcatV2"] = Builder(
            f"tf.concat([{f'tf.nn.bias_add({_text}, b)' if _bias else _text}, y], -1), "
            f"x {_shape}, k (2, 2, 2, 2, 2), y (1, 4, 4, 4, 2)",
            (lambda conv, bias: lambda tf, keras, rng: (
                lambda k, b: lambda x, y: tf.concat(
                    [tf.nn.bias_add(conv(tf, x, k), b) if bias else conv(tf, x, k), y], -1))(
                tf.constant(_w(rng, 2, 2, 2, 2, 2)), tf.constant(_w(rng, 2))))(_conv, _bias),
            (Arg(_shape), Arg((1, 4, 4, 4, 2))), extra={"ordered": True})
# A transposed 3-d convolution on an unknown batch computes its output shape from its
# input's: the SHAPE reading that input is handed the dequantized tensor the float
# CONV_3D_TRANSPOSE reads, and stays float beside it (``float_siblings``), where a MUL
# computes the input; where a RESHAPE lays it out (a ViT's tokens folded back to a volume),
# the SHAPE stays int8 (``ifm_producer``).  A CUMSUM's input read by a SHAPE likewise
# (probed too) leaves the SHAPE int8.
_CONV3D_T_INPUTS = {"Mul": ("x * 2.0", lambda tf, x: x * 2.0, (None, 2, 2, 2, 2)),
                    "Reshape": ("tf.reshape(x, [-1, 2, 2, 2, 2])",
                                lambda tf, x: tf.reshape(x, [-1, 2, 2, 2, 2]), (None, 8, 2))}
for _producer, (_text, _make_in, _shape) in _CONV3D_T_INPUTS.items():
    CONTEXT_BUILDERS[f"Shape+Conv3DBackpropInputV2(batch unknown, input of a {_producer})"] = \
        Builder(f"i = {_text}; tf.nn.conv3d_transpose(i, k, tf.stack([tf.shape(i)[0], 4, 4, "
                f"4, 2]), [1, 2, 2, 2, 1]), x {_shape}, k (2, 2, 2, 2, 2)",
                (lambda make_in: lambda tf, keras, rng: (lambda k: lambda x: (
                    lambda i: tf.nn.conv3d_transpose(
                        i, k, tf.stack([tf.shape(i)[0], 4, 4, 4, 2]), [1, 2, 2, 2, 1]))(
                    make_in(tf, x)))(tf.constant(_w(rng, 2, 2, 2, 2, 2))))(_make_in),
                (Arg(_shape, sample=(1, *_shape[1:])),), extra={
                    "carry_only": True, "float_siblings": True, "carry_when": {"SHAPE": [
                        {"fact": "ifm_producer", "in" if _producer == "Reshape" else "not_in":
                         ["Reshape", "RESHAPE"]}]}})
CONTEXT_BUILDERS["Shape+Cumsum(batch unknown)"] = Builder(
    "tf.reshape(tf.cumsum(x, 1), tf.stack([tf.shape(x)[0], -1])), x (None, 4, 4)",
    lambda tf, keras, rng: lambda x: tf.reshape(tf.cumsum(x, 1),
                                                tf.stack([tf.shape(x)[0], -1])),
    (Arg((None, 4, 4), sample=(1, 4, 4)),), extra={"carry_only": True, "float_siblings": True})
# The input of a float SQUARE or SIN read by a SHAPE too (an RMS norm's ``keras.ops.square``
# beside the shape of a mask, SmolLM3): the SHAPE stays float beside it where an op that
# computes (a MUL) gives that input, and int8 where a layout op (TRANSPOSE, RESHAPE) does,
# as beside the transposed 3-d convolution; beside a NEG it stays int8 (swept alike).
_LAYOUT_PRODUCERS = ["Reshape", "RESHAPE", "Transpose", "TRANSPOSE"]
_SHAPE_BESIDE = {"Square": ("tf.square(i)", lambda tf, i: tf.square(i)),
                 "Sin": ("tf.sin(i)", lambda tf, i: tf.sin(i)),
                 "Neg": ("tf.math.negative(i)", lambda tf, i: tf.math.negative(i))}
_SHAPE_INPUTS = {"Mul": ("x * 2.0", lambda tf, x: x * 2.0),
                 "Transpose": ("tf.transpose(x, [0, 2, 1])",
                               lambda tf, x: tf.transpose(x, [0, 2, 1])),
                 "Reshape": ("tf.reshape(x, [-1, 4, 4])", lambda tf, x: tf.reshape(x, [-1, 4, 4]))}
for (_op, (_text, _f)), (_producer, (_itext, _make_in)) in itertools.product(
        _SHAPE_BESIDE.items(), _SHAPE_INPUTS.items()):
    _where = ({"fact": "ifm_producer", "not_in": _LAYOUT_PRODUCERS} if _producer == "Mul" else
              {"fact": "ifm_producer", "in": [_producer, _producer.upper()]})
    CONTEXT_BUILDERS[f"Shape+{_op}(batch unknown, input of a {_producer})"] = Builder(
        f"i = {_itext}; tf.reshape({_text}, tf.stack([tf.shape(i)[0], -1])), x (None, 4, 4)",
        (lambda f, make_in: lambda tf, keras, rng: lambda x: (lambda i: tf.reshape(
            f(tf, i), tf.stack([tf.shape(i)[0], -1])))(make_in(tf, x)))(_f, _make_in),
        (Arg((None, 4, 4), sample=(1, 4, 4)),), extra={
            "carry_only": True, "float_siblings": True, "carry_when": {"SHAPE": [_where]}})
# The other readers of that ELU stay float too (a V-Net's strided convolution and residual
# ADD reading the ELU its skip connection concatenates); without the concatenation the
# same CONV_2D and ADD are int8 (probed alike: only the ELU stays float).  The float
# carries to them under ``ifm_joined``: an input of theirs is also concatenated.
_ELU_READERS = {"Conv2D": ("tf.nn.conv2d(t, k, 1, 'SAME'), k (3, 3, 4, 4)", "CONV_2D",
                           lambda tf, t, y, k: tf.nn.conv2d(t, k, 1, "SAME")),
                "AddV2": ("t + y", "ADD", lambda tf, t, y, k: t + y)}
for _op, (_text, _builtin, _read) in _ELU_READERS.items():
    CONTEXT_BUILDERS[f"Elu+{_op}(input also concatenated)"] = Builder(
        f"t = tf.nn.elu(x); tf.concat([t, y], -1) and {_text}, x and y (1, 8, 8, 4)",
        (lambda read: lambda tf, keras, rng: (lambda k: lambda x, y: (
            lambda t: (tf.concat([t, y], -1), read(tf, t, y, k)))(tf.nn.elu(x)))(
                tf.constant(_w(rng, 3, 3, 4, 4))))(_read),
        (X4, X4), extra={"carry_only": True, "carry_when": {
            _builtin: [{"fact": "ifm_joined", "eq": True}]}})

# An op in a loop body the calibration run never enters has no recorded range and stays
# float32 (keras-cv's non_max_suppression_padded: its cross-suppression loop runs over the
# tiles before the current one, so with one tile of boxes it never runs).  ``x`` is
# carried through ``tf.while_loop(lambda i, a: i < 0, ...)``; the body computes the op on
# the carried tensor.  ``loop_body_never_runs`` (`qlint.loop_trips`): the op sits in the
# body of a WHILE whose trip count the file's constants show to be zero.  The same body
# run three times is int8 (``X(loop body run)``).
_LOOP_BODY_OPS: dict[str, tuple[str, Any]] = {
    "AddV2": ("a + 0.5", lambda tf, a: a + 0.5),
    "Sub": ("a - 0.5", lambda tf, a: a - 0.5),
    "Mul": ("a * 1.5", lambda tf, a: a * 1.5),
    "RealDiv": ("a / (a * a + 1.0)", lambda tf, a: a / (a * a + 1.0)),
    "Maximum": ("tf.maximum(a, 0.25)", lambda tf, a: tf.maximum(a, 0.25)),
    "Minimum": ("tf.minimum(a, 0.25)", lambda tf, a: tf.minimum(a, 0.25)),
    "Transpose": ("tf.transpose(a, [0, 2, 1])", lambda tf, a: tf.transpose(a, [0, 2, 1])),
    "Split": ("tf.concat(tf.split(a, 2, -1)[::-1], -1)",
              lambda tf, a: tf.concat(tf.split(a, 2, -1)[::-1], -1)),
    "Slice": ("tf.concat([tf.slice(a, [0, 0, 4], [-1, 8, 4]), a[..., :4]], -1)",
              lambda tf, a: tf.concat([tf.slice(a, [0, 0, 4], [-1, 8, 4]), a[..., :4]], -1)),
    "ExpandDims": ("tf.reduce_max(tf.expand_dims(a, 1) * a[:, :, None, :], 1)",
                   lambda tf, a: tf.reduce_max(tf.expand_dims(a, 1) * a[:, :, None, :], 1)),
    "Less": ("tf.where(a < 0.5, a, a * 0.5)", lambda tf, a: tf.where(a < 0.5, a, a * 0.5)),
    "Cast": ("tf.cast(a < 0.5, tf.float32) * a",
             lambda tf, a: tf.cast(a < 0.5, tf.float32) * a),
    "Relu": ("tf.nn.relu(a - 0.5)", lambda tf, a: tf.nn.relu(a - 0.5)),
    "Sigmoid": ("tf.math.sigmoid(a)", lambda tf, a: tf.math.sigmoid(a)),
    "Tanh": ("tf.math.tanh(a)", lambda tf, a: tf.math.tanh(a)),
    "MatMul": ("tf.matmul(a, a)", lambda tf, a: tf.matmul(a, a)),
    "Sum": ("a - tf.reduce_sum(a, -1, keepdims=True)",
            lambda tf, a: a - tf.reduce_sum(a, -1, keepdims=True)),
    "Max": ("a - tf.reduce_max(a, -1, keepdims=True)",
            lambda tf, a: a - tf.reduce_max(a, -1, keepdims=True)),
    "Mean": ("a - tf.reduce_mean(a, -1, keepdims=True)",
             lambda tf, a: a - tf.reduce_mean(a, -1, keepdims=True)),
    "BatchMatMulV2": ("tf.linalg.matmul(a, a, transpose_b=True)",
                      lambda tf, a: tf.linalg.matmul(a, a, transpose_b=True)),
    "StridedSlice": ("tf.concat([a[:, :, 4:], a[:, :, :4]], -1)",
                     lambda tf, a: tf.concat([a[:, :, 4:], a[:, :, :4]], -1)),
    "ConcatV2": ("tf.concat([a, a], -1)[..., ::2]",
                 lambda tf, a: tf.concat([a, a], -1)[..., ::2]),
    "Reshape": ("tf.reshape(tf.reshape(a, [-1, 64]) * 2.0, [-1, 8, 8])",
                lambda tf, a: tf.reshape(tf.reshape(a, [-1, 64]) * 2.0, [-1, 8, 8])),
    "SelectV2": ("tf.where(a < 0.5, a, 0.5)", lambda tf, a: tf.where(a < 0.5, a, 0.5)),
    "Exp": ("tf.exp(a)", lambda tf, a: tf.exp(a)),
    "Square": ("tf.square(a)", lambda tf, a: tf.square(a)),
    "Neg": ("tf.negative(a)", lambda tf, a: tf.negative(a)),
    "GatherV2": ("tf.gather(a, [7, 6, 5, 4, 3, 2, 1, 0], axis=1)",
                 lambda tf, a: tf.gather(a, [7, 6, 5, 4, 3, 2, 1, 0], axis=1)),
    "Pack": ("tf.reduce_sum(tf.stack([a, a * 0.5], 1), 1)",
             lambda tf, a: tf.reduce_sum(tf.stack([a, a * 0.5], 1), 1)),
}
_NEVER_RUN = [{"fact": "loop_body_never_runs", "eq": True}]


def _loop_body(op: str, trips: int) -> Builder:
    text, body = _LOOP_BODY_OPS[op]
    return raw(f"tf.while_loop(lambda i, a: i < {trips}, lambda i, a: (i + 1, {text}), "
               f"[0, x])[1] on (None, 8, 8)",
               lambda tf: lambda x: tf.while_loop(
                   lambda i, a: i < trips, lambda i, a: (i + 1, body(tf, a)),
                   [tf.constant(0), x])[1],
               Arg((None, 8, 8), sample=(1, 8, 8)))


# The loop itself: a WHILE stays float32 whatever its body (the ``While`` entry is a loop
# over variables)
CONTEXT_BUILDERS["StatelessWhile"] = _loop_body("Mul", 3)
for _op in _LOOP_BODY_OPS:
    CONTEXT_BUILDERS[f"{_op}(loop body never run)"] = dataclasses.replace(
        _loop_body(_op, 0), extra={"variant_of": _op, "when": _NEVER_RUN, "no_carry": True})
    CONTEXT_BUILDERS[f"{_op}(loop body run)"] = dataclasses.replace(
        _loop_body(_op, 3), extra={"variant_of": _op, "no_carry": True,
                                   "when": [{"fact": "loop_body_never_runs", "eq": False}]})

# Fake quantization in the graph: ``clip_by_value(round(x * s), -128, 127) / s`` (a
# matmul-free network's activation quantizer).  The ROUND stays float, and the MINIMUM
# reading it (the clip's upper bound) with it; the MAXIMUM after that is int8.
CONTEXT_BUILDERS["Round+Minimum"] = raw(
    "tf.clip_by_value(tf.round(x * 16.0), -128.0, 127.0) / 16.0 on (None, 16)",
    lambda tf: lambda x: tf.clip_by_value(tf.round(x * 16.0), -128.0, 127.0) / 16.0,
    Arg((None, 16), sample=(1, 16)))


# Arithmetic on a variable the model assigns (a spectral normalization's power iteration
# at inference: keras-proba's ``SpectralNormalization``).  The variable stays a float
# READ_VARIABLE; where its value is also read by an op that gives it the scale of another
# operand (a select's value, a maximum's operand), the converter quantizes that read not
# at all, and every op reading it stays float; the same arithmetic on a read no such op
# takes is int8.  ``ifm_tied_variable``: an input of the op is such a read.  w (8, 16) and
# u (1, 16) are variables; u is normalized and assigned, r = 0.95 / sum(u * u), then w is
# assigned the result; x @ w on (None, 8).
_TIED = {True: {"fact": "ifm_tied_variable", "eq": True},
         False: {"fact": "ifm_tied_variable", "eq": False}}
_VARIABLE_ARITHMETIC: dict[str, tuple[str, Any, bool]] = {
    "ReadVariableOp+SelectV2(variable selected)": (
        "w.assign(w + tf.stop_gradient(tf.where(r < 1, r * w, w) - w))",
        lambda tf, w, r: w + tf.stop_gradient(tf.where(r < 1, r * w, w) - w), True),
    "ReadVariableOp+Maximum(variable compared)": (
        "w.assign(tf.maximum(w, r * w))", lambda tf, w, r: tf.maximum(w, r * w), True),
    "ReadVariableOp+Mul(variable not tied)": (
        "w.assign(r * w)", lambda tf, w, r: r * w, False),
}


def _variable_arithmetic(text: str, update: Any, tied: bool) -> Builder:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        class Normalized(tf.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.w = tf.Variable(_w(rng, 8, 16))
                self.u = tf.Variable(_w(rng, 1, 16))

            def __call__(self, x: Any) -> Any:
                u = self.u.read_value()
                self.u.assign(u * tf.math.rsqrt(tf.reduce_sum(u * u)))
                u = self.u.read_value()
                r = 0.95 / tf.reduce_sum(u * u)
                self.w.assign(update(tf, self.w.read_value(), r))
                return tf.matmul(x, self.w.read_value())
        return Normalized()

    return Builder(f"{text}, w and u variables of a tf.Module, u assigned its "
                   "normalization, r = 0.95 / sum(u * u); x @ w on (None, 8)", make,
                   (Arg((None, 8), sample=(1, 8)),), saved_model=True, extra={
                       "carry_only": True, "carry_when": {b: [_TIED[tied]] for b in (
                           "MUL", "SELECT_V2", "SUB", "ADD", "MAXIMUM")}})


for _key, (_text, _update, _tied) in _VARIABLE_ARITHMETIC.items():
    CONTEXT_BUILDERS[_key] = _variable_arithmetic(_text, _update, _tied)
