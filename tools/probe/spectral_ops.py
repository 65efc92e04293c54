"""Probe builders of the complex FFT family and TF's legacy ``Div``.

``FFT``, ``IFFT2D``, ``FFT3D`` and ``IFFT3D`` read the complex spectrum of a real input
(``tf.signal.rfft`` / ``rfft2d`` / ``rfft3d``, which TFLite has builtins for, or not) and
return its magnitude; both are the harness, so the verdict is the op's own.  ``Div`` is
the op ``tf.compat.v1.div`` and older code's ``/`` write (not ``RealDiv``).
"""

from __future__ import annotations

from typing import Any

from tools.probe.builders import HARNESS, Arg, Builder, harnessed, raw

SPECTRAL_BUILDERS: dict[str, Builder] = {}
# op -> (tf.signal function, the real transform giving it a complex input, input shape)
_FFTS: dict[str, tuple[str, str, tuple[int, ...]]] = {
    "FFT": ("fft", "rfft", (2, 16)),
    "IFFT2D": ("ifft2d", "rfft2d", (1, 8, 8)),
    "FFT3D": ("fft3d", "rfft3d", (1, 4, 4, 4)),
    "IFFT3D": ("ifft3d", "rfft3d", (1, 4, 4, 4)),
}


def _spectral(fn: str, real: str) -> Any:
    return lambda tf, keras, rng: lambda x: tf.math.abs(getattr(tf.signal, fn)(
        getattr(tf.signal, real)(x, name=HARNESS)), name=HARNESS)


for _op, (_fn, _real, _shape) in _FFTS.items():
    SPECTRAL_BUILDERS[_op] = harnessed(Builder(
        f"tf.signal.{_fn}(tf.signal.{_real}(x)) (the {_real} and tf.math.abs as harness)",
        _spectral(_fn, _real), (Arg(_shape),)))
# An FFT of a real tensor cast to complex64: the converter rewrites it through its real
# transform (what it then does is recorded), under the fact ``ifm_producer``
SPECTRAL_BUILDERS["FFT(input cast from real)"] = Builder(
    "tf.math.abs(tf.signal.fft(tf.cast(x, tf.complex64)))",
    lambda tf, keras, rng: lambda x: tf.math.abs(tf.signal.fft(tf.cast(x, tf.complex64))),
    (Arg((1, 32)),), extra={"variant_of": "FFT", "when": [{"fact": "ifm_producer", "eq": "Cast"}]})
SPECTRAL_BUILDERS["Div"] = raw("x / 2.0 as TF's Div op (not RealDiv)",
                               lambda tf: lambda x: tf.raw_ops.Div(x=x, y=tf.constant(2.0)))
