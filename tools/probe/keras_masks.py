"""Probe builders of Keras layers reading a masked input.

An ``Embedding(mask_zero=True)`` or a ``Masking`` layer attaches a mask to its output;
the layer reading it computes with the mask (a masked ``GlobalAveragePooling1D`` casts
the mask to float and divides by its sum), which a ``.keras`` file does not show as
ops.  Each layer is probed on an ``Embedding(64, 16, mask_zero=True)`` of (1, 12) token
ids, exported to a SavedModel as Keras models are, under the fact ``input_masked``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

KERAS_MASK_BUILDERS: dict[str, Builder] = {}
_LAYERS = {
    "GlobalAveragePooling1D": lambda k: k.layers.GlobalAveragePooling1D(),
    "GlobalMaxPooling1D": lambda k: k.layers.GlobalMaxPooling1D(),
    "LSTM": lambda k: k.layers.LSTM(8),
    "GRU": lambda k: k.layers.GRU(8),
    "SimpleRNN": lambda k: k.layers.SimpleRNN(8),
}


def _masked(layer: str) -> Any:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        tokens = keras.Input((12,), batch_size=1, dtype="int32")
        x = keras.layers.Embedding(64, 16, mask_zero=True)(tokens)
        return keras.Model(tokens, _LAYERS[layer](keras)(x))
    return make


for _layer in _LAYERS:
    KERAS_MASK_BUILDERS[f"keras.{_layer}(masked input)"] = Builder(
        f"keras.layers.{_layer} on keras.layers.Embedding(64, 16, mask_zero=True) of (1, 12) "
        "token ids", _masked(_layer), (Arg((1, 12), "int32", 0, 63),), keras=_layer,
        saved_model=True, extra={"variant_of": f"keras.{_layer}",
                                 "when": [{"fact": "input_masked", "eq": True}]})
