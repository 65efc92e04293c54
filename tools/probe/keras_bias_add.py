"""Probe builders of Keras 3 additions its TensorFlow backend computes as a BiasAdd.

``keras.ops.add(x, c)`` with a constant ``c`` that squeezes to ``x``'s second dimension,
and an ``EinsumDense`` whose bias is on an output axis other than the last, become
``tf.nn.bias_add(..., data_format="NCHW")`` (`qlint.keras_bias_add`); each is probed at
ranks 3 and 4 as a Keras model exported to a SavedModel, the path users take, under the
fact ``bias_add_format``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

KERAS_BIAS_ADD_BUILDERS: dict[str, Builder] = {}
_SHAPES = {3: (6, 4), 4: (6, 4, 4)}


def _add(rank: int) -> Any:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        inp = keras.Input(_SHAPES[rank])
        bias = rng.uniform(-1, 1, (6,) + (1,) * (rank - 2)).astype("float32")
        return keras.Model(inp, keras.layers.Dense(4)(keras.ops.add(inp, bias)))
    return make


def _einsum(rank: int) -> Any:
    equation = {3: "abc,cd->abd", 4: "abcd,de->abce"}[rank]

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        inp = keras.Input(_SHAPES[rank])
        layer = keras.layers.EinsumDense(equation, output_shape=_SHAPES[rank], bias_axes="b")
        return keras.Model(inp, layer(inp))
    return make


for _rank in (3, 4):
    _arg = Arg((None, *_SHAPES[_rank]), sample=(1, *_SHAPES[_rank]))
    _when = [{"fact": "bias_add_format", "eq": "NCHW"}, {"fact": "ifm_rank", "eq": _rank}]
    KERAS_BIAS_ADD_BUILDERS[f"keras.ops.Add(bias NCHW, rank {_rank})"] = Builder(
        f"keras.ops.add(x, c) on {_arg.shape}, c a constant of shape "
        f"{(6,) + (1,) * (_rank - 2)}, then a Dense", _add(_rank), (_arg,), keras="ops.Add",
        saved_model=True, extra={"variant_of": "keras.ops.Add", "when": _when})
    KERAS_BIAS_ADD_BUILDERS[f"keras.EinsumDense(bias NCHW, rank {_rank})"] = Builder(
        f"keras.layers.EinsumDense('{'abc,cd->abd' if _rank == 3 else 'abcd,de->abce'}', "
        f"bias_axes='b') on {_arg.shape}", _einsum(_rank), (_arg,), keras="EinsumDense",
        saved_model=True, extra={"variant_of": "keras.EinsumDense", "when": _when})
