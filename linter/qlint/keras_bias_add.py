"""Which layout Keras 3's TensorFlow backend gives an addition it turns into a bias add.

Keras 3 computes ``keras.ops.add(x1, x2)`` (and every layer that adds its bias with it,
such as ``EinsumDense``) as ``tf.nn.bias_add`` when ``x2`` squeezes to one dimension of
known size that equals ``x1``'s second or last dimension: ``data_format="NHWC"`` when it
is the last, else ``"NCHW"`` (keras/src/backend/tensorflow/numpy.py, ``add``).  The
converter's verdict on that BiasAdd depends on the layout and the rank
(``BiasAdd(NCHW, rank 3)`` fails to convert), so a ``.keras`` file's op carries the fact
``bias_add_format``: ``NHWC``, ``NCHW`` or ``none`` (a plain addition).  Absent when a
shape it needs is unknown.

The shapes are those Keras traces when it exports the model (``model.export``, the
SavedModel users convert): a batch of None for every tensor (``dynamic_batch``), so
only a constant ``x2`` (a layer's bias, a NumPy array) can be a bias.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

Shape = Sequence[int | None]
#: The ``.keras`` layer and operation classes that can add as a BiasAdd.
BIAS_ADDERS = frozenset({"ops.Add", "EinsumDense"})
_EQUATION = re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)")


def add_layout(x1: Shape, x2: Shape) -> str:
    """The layout Keras' ``add(x1, x2)`` uses: ``NHWC`` / ``NCHW`` for a bias add, else
    ``none``."""
    squeezed = [d for d in x2 if d is None or d > 1]
    if len(squeezed) != 1 or len(x1) < 2 or squeezed[0] is None:
        return "none"
    if squeezed[0] not in (x1[1], x1[-1]):
        return "none"
    return "NHWC" if x1[-1] == squeezed[0] else "NCHW"


def einsum_bias_shape(config: Mapping[str, Any], output: Shape) -> tuple[int | None, ...] | None:
    """The bias shape of a Keras ``EinsumDense`` (``config``) whose output has shape
    ``output``: the output dims from the first bias axis on, 1 where an axis has no bias.
    None for an equation with an ellipsis or a layer without a bias."""
    equation, axes = config.get("equation"), config.get("bias_axes")
    if not isinstance(equation, str) or not isinstance(axes, str) or not axes:
        return None
    m = _EQUATION.fullmatch(equation.replace(" ", ""))
    if m is None or len(m.group(3)) != len(output):
        return None
    spec = m.group(3)
    if any(c not in spec for c in axes):
        return None
    first = min(spec.index(c) for c in axes)
    return tuple(output[i] if spec[i] in axes else 1 for i in range(first, len(spec)))


def bias_add_format(cls: str, attrs: Mapping[str, Any],
                    output: Shape | None) -> str | None:
    """``bias_add_format`` of a ``.keras`` op of class ``cls``: a ``keras.ops.add`` from
    its operands' shapes, an ``EinsumDense`` from its bias and output shapes; None if
    unknown or another class."""
    if cls == "ops.Add":
        args = attrs.get("arg_shapes")
        if not (isinstance(args, list) and len(args) == 2
                and all(isinstance(a, tuple) and len(a) == 2 for a in args)):
            return None
        return add_layout(*(_traced(kind, shape) for kind, shape in args))
    if cls == "EinsumDense":
        config = attrs.get("config")
        if not isinstance(config, Mapping):
            return None
        if not config.get("bias_axes"):
            return "none"
        shape = config.get("output_shape")  # the output's dims after the batch
        if isinstance(shape, int):
            shape = [shape]
        if isinstance(shape, list) and all(d is None or type(d) is int for d in shape):
            output = (None, *shape)
        if output is None:
            return None
        bias = einsum_bias_shape(config, _traced("tensor", output))
        return add_layout(_traced("tensor", output), bias) if bias is not None else None
    return None


def _traced(kind: str, shape: Shape) -> tuple[int | None, ...]:
    """A tensor's shape as the export traces it (a batch of None); a constant's as is."""
    return (None, *shape[1:]) if kind == "tensor" and shape else tuple(shape)
