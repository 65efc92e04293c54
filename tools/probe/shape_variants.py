"""Probe builders of ops whose verdict depends on a shape or a dtype of their input: a
transpose by rank, ``tf.ones_like`` / ``tf.zeros_like`` on an unknown batch (they fold on
a static one), a pad of a complex64 spectrum.  Each is a variant of its op, under the
fact its condition names.
"""

from __future__ import annotations

import dataclasses

from tools.probe.builders import HARNESS, Arg, Builder, harnessed, raw

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
# A pad of a complex64 spectrum (an FFT convolution zero-pads it before its IRFFT)
SHAPE_VARIANT_BUILDERS["Pad(complex64)"] = dataclasses.replace(harnessed(raw(
    "tf.signal.rfft -> tf.pad (+ tf.math.abs as harness)",
    lambda tf: lambda x: tf.math.abs(tf.pad(tf.signal.rfft(x), [[0, 0], [0, 0], [0, 3]]),
                                     name=HARNESS),
    Arg((None, 4, 16), sample=(1, 4, 16)))), extra={
        "variant_of": "Pad", "when": [{"fact": "ifm_dtype", "eq": "complex64"}]})
