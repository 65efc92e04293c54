"""Probe builders of ops whose verdict depends on a shape or a dtype of their input: a
transpose by rank, ``tf.ones_like`` / ``tf.zeros_like`` on an unknown batch (they fold on
a static one), a pad of a complex64 spectrum, more ops on complex64, arithmetic on float64,
an einsum that sums a label of one operand alone, a grouped 3-d convolution.  Each is a
variant of its op, under the fact its condition names; and one chain, a sine of positions
broadcast to an unknown batch, which the converter cannot fold.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tools.probe.builders import HARNESS, X2, Arg, Builder, _w, harnessed, raw

SHAPE_VARIANT_BUILDERS: dict[str, Builder] = {}
# A rank swept: a transpose of more dims than TFLite's TRANSPOSE takes (Swin's window
# partition transposes a rank-8 tensor).
for _rank in (5, 6, 7, 8, 9):
    _shape = (1, 2, 3, 2, 3, 2, 2, 2, 4)[:_rank]
    SHAPE_VARIANT_BUILDERS[f"Transpose(rank {_rank})"] = Builder(
        f"tf.transpose(x, [0, {_rank - 2}, ..., 1, {_rank - 1}]) on {_shape}",
        (lambda r: lambda tf, keras, rng: lambda x: tf.transpose(
            x, [0, *range(r - 2, 0, -1), r - 1]))(_rank),
        (Arg(_shape),),
        extra={"variant_of": "Transpose", "when": [{"fact": "ifm_rank", "eq": _rank}]})
# tf.ones_like / tf.zeros_like fold to a constant on a static shape (the function probes
# hold no op); on an unknown batch (a Keras 2 TFOpLambda of a saved model) they stay ops
for _fn in ("ones_like", "zeros_like"):
    SHAPE_VARIANT_BUILDERS[f"tf.{_fn}(dynamic batch)"] = Builder(
        f"tf.{_fn}(x) on (None, 16)",
        (lambda fn: lambda tf, keras, rng: lambda x: getattr(tf, fn)(x))(_fn),
        (Arg((None, 16), sample=(1, 16)),),
        extra={"variant_of": f"tf.{_fn}", "when": [{"fact": "dynamic_batch", "eq": True}]})
# A grouped 3-d convolution (a Mix-FFN's depthwise Conv3D, ``groups`` = channels: the
# filter holds one input channel of eight), as Keras builds it: the converter writes a
# CONV_3D whose kernel TFLite refuses to prepare, so the calibration run fails (a raw
# ``tf.nn.conv3d`` of a constant grouped filter is refused earlier, by legalization)
def _grouped_conv3d(tf: Any, keras: Any, rng: Any) -> Any:
    x = keras.Input((4, 4, 4, 8), batch_size=1)
    return keras.Model(x, keras.layers.Conv3D(8, 3, padding="same", groups=8)(x))


SHAPE_VARIANT_BUILDERS["Conv3D(grouped)"] = Builder(
    "keras.layers.Conv3D(8, 3, padding='same', groups=8) on (1, 4, 4, 4, 8), exported",
    _grouped_conv3d, (Arg((1, 4, 4, 4, 8)),), saved_model=True,
    extra={"variant_of": "Conv3D", "when": [{"fact": "conv_groups", "gt": 1}]})
# A pad of a complex64 spectrum (an FFT convolution zero-pads it before its IRFFT)
SHAPE_VARIANT_BUILDERS["Pad(complex64)"] = dataclasses.replace(harnessed(raw(
    "tf.signal.rfft -> tf.pad (+ tf.math.abs as harness)",
    lambda tf: lambda x: tf.math.abs(tf.pad(tf.signal.rfft(x), [[0, 0], [0, 0], [0, 3]]),
                                     name=HARNESS),
    Arg((None, 4, 16), sample=(1, 4, 16)))), extra={
        "variant_of": "Pad", "when": [{"fact": "ifm_dtype", "eq": "complex64"}]})
# More ops swept over complex64 (a complex-valued network's dense and convolution layers,
# pooling indices, skip connections): each reads tf.signal.rfft spectra, its result's
# magnitude is the output.
_RFFT = "tf.signal.rfft"
_COMPLEX_OPS: dict[str, tuple[str, Any, tuple[Arg, ...]]] = {
    "BiasAdd": ("tf.nn.bias_add(rfft(x), rfft(b))",
                lambda tf, c, y: tf.nn.bias_add(c, tf.signal.rfft(y, name=HARNESS)),
                (Arg((2, 16)), Arg((16,)))),
    "MatMul": ("tf.matmul(rfft(x), rfft(y), transpose_b=True)",
               lambda tf, c, y: tf.matmul(c, tf.signal.rfft(y, name=HARNESS), transpose_b=True),
               (Arg((2, 16)), Arg((3, 16)))),
    "BatchMatMulV2": ("tf.linalg.matmul(rfft(x), rfft(y), transpose_b=True), rank 3",
                      lambda tf, c, y: tf.linalg.matmul(
                          c, tf.signal.rfft(y, name=HARNESS), transpose_b=True),
                      (Arg((1, 2, 16)), Arg((1, 3, 16)))),
    "GatherV2": ("tf.gather(rfft(x), [0, 2, 4], axis=1)",
                 lambda tf, c: tf.gather(c, [0, 2, 4], axis=1), (Arg((2, 16)),)),
    "ConcatV2": ("tf.concat([rfft(x), rfft(y)], -1)",
                 lambda tf, c, y: tf.concat([c, tf.signal.rfft(y, name=HARNESS)], -1),
                 (Arg((2, 16)), Arg((2, 16)))),
    "Pack": ("tf.stack([rfft(x), rfft(y)], 1)",
             lambda tf, c, y: tf.stack([c, tf.signal.rfft(y, name=HARNESS)], 1),
             (Arg((2, 16)), Arg((2, 16)))),
    "Tile": ("tf.tile(rfft(x), [1, 2])", lambda tf, c: tf.tile(c, [1, 2]), (Arg((2, 16)),)),
    "Neg": ("tf.math.negative(rfft(x))", lambda tf, c: tf.math.negative(c), (Arg((2, 16)),)),
    "Mean": ("tf.reduce_mean(rfft(x), 1)", lambda tf, c: tf.reduce_mean(c, 1),
             (Arg((2, 4, 16)),)),
    # discrete Fourier transforms as products with complex matrices (an FNet's mixing, on
    # either side)
    "Einsum": ("tf.einsum('ij,bjk->bik', rfft(z), tf.einsum('bij,jk->bik', rfft(x), "
               "rfft(y)))",
               lambda tf, c, y, z: tf.einsum("ij,bjk->bik", tf.signal.rfft(z, name=HARNESS),
                                             tf.einsum("bij,jk->bik", c, tf.signal.rfft(
                                                 y, name=HARNESS))),
               (Arg((1, 2, 16)), Arg((9, 16)), Arg((2, 2)))),
}
for _op, (_text, _fn, _args) in _COMPLEX_OPS.items():
    SHAPE_VARIANT_BUILDERS[f"{_op}(complex64)"] = harnessed(Builder(
        f"{_text} ({_RFFT} and tf.math.abs as harness)",
        (lambda fn: lambda tf, keras, rng: lambda x, *more: tf.math.abs(
            fn(tf, tf.signal.rfft(x, name=HARNESS), *more), name=HARNESS))(_fn),
        _args, extra={"variant_of": _op, "when": [{"fact": "ifm_dtype", "eq": "complex64"}]}))
# A cast to complex64 (the input of an FNet's Fourier mixing), the dtype swept beside
# ``tf_ops``' Cast variants
SHAPE_VARIANT_BUILDERS["Cast(float32->complex64)"] = harnessed(Builder(
    "tf.cast(float32->complex64) (tf.math.abs as harness)",
    lambda tf, keras, rng: lambda x: tf.math.abs(tf.cast(x, tf.complex64), name=HARNESS),
    (X2,), extra={"variant_of": "Cast", "when": [{"fact": "ifm_dtype", "eq": "float32"},
                                                 {"fact": "ofm_dtype", "eq": "complex64"}]}))
# Arithmetic swept over float64 (a percentile computed in float64 by a thresholding layer):
# a cast to float64 and back is the harness.
_FLOAT64_OPS: dict[str, tuple[str, Any]] = {
    "AddV2": ("x + 1.5", lambda tf, d: d + tf.constant(1.5, tf.float64)),
    "Sub": ("x - 1.5", lambda tf, d: d - tf.constant(1.5, tf.float64)),
    "Mul": ("x * 1.5", lambda tf, d: d * tf.constant(1.5, tf.float64)),
    "RealDiv": ("x / 1.5", lambda tf, d: d / tf.constant(1.5, tf.float64)),
    "Round": ("tf.math.round(x)", lambda tf, d: tf.math.round(d)),
    "Floor": ("tf.math.floor(x)", lambda tf, d: tf.math.floor(d)),
    "Maximum": ("tf.math.maximum(x, 0.5)",
                lambda tf, d: tf.math.maximum(d, tf.constant(0.5, tf.float64))),
}
for _op, (_text, _fn) in _FLOAT64_OPS.items():
    SHAPE_VARIANT_BUILDERS[f"{_op}(float64)"] = harnessed(Builder(
        f"{_text} in float64 (tf.cast to float64 and back as harness)",
        (lambda fn: lambda tf, keras, rng: lambda x: tf.cast(
            fn(tf, tf.cast(x * 4.0, tf.float64, name=HARNESS)), tf.float32, name=HARNESS))(_fn),
        (X2,), extra={"variant_of": _op, "when": [{"fact": "ifm_dtype", "eq": "float64"}]}))
# An einsum that sums a label of one operand alone (in neither the other operand nor the
# output: a multiwavelet transform's filter bank, 'fijc,bjkc->bikc'); a plain contraction
# ('ij,jk->ik', the base entry) converts.
SHAPE_VARIANT_BUILDERS["Einsum(label summed in one operand)"] = Builder(
    "tf.einsum('fij,jk->ik', w, x), w (3, 2, 4) constant, x (4, 5)",
    lambda tf, keras, rng: (lambda w: lambda x: tf.einsum("fij,jk->ik", w, x))(
        tf.constant(_w(rng, 3, 2, 4))),
    (Arg((4, 5)),),
    extra={"variant_of": "Einsum", "when": [{"fact": "einsum_sums_lone_label", "eq": True}]})
# A sine of positions broadcast to an unknown batch (ESM-2's rotary embedding: positions
# broadcast, scaled by the inverse frequencies, concatenated, then the sine): the batch
# read from tf.shape(x)[0] is not static, so the converter cannot fold the chain, and the
# sine runs as a float kernel; the SavedModel's shape arithmetic reading the batch is
# computed (`qlint.predict.shape_arithmetic`).  Only a chain: no layer's pattern.
def _batch_positions(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    inv = tf.constant(np.geomspace(1.0, 0.01, 4, dtype=np.float32).reshape(1, 1, 4))

    def f(x: Any) -> Any:
        pos = tf.broadcast_to(tf.range(16.0)[None], tf.stack([tf.shape(x)[0], 16]))
        freqs = tf.expand_dims(pos, -1) * inv
        return x * tf.sin(tf.concat([freqs, freqs], -1))
    return f


SHAPE_VARIANT_BUILDERS["Sin(positions broadcast to the batch)"] = Builder(
    "pos = tf.broadcast_to(tf.range(16.0)[None], tf.stack([tf.shape(x)[0], 16])); f = "
    "tf.expand_dims(pos, -1) * inv (1, 1, 4); x * tf.sin(tf.concat([f, f], -1)), x (None, "
    "16, 8), through a SavedModel", _batch_positions,
    (Arg((None, 16, 8), sample=(1, 16, 8)),), saved_model=True, extra={"carry_only": True})
