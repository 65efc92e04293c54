"""Held-out set 3 for `tools.probe.vela_eval` (``--set 3``): models no probe or rule used.

Built after sets 1 and 2 and before the shape-chain and quantization work on the
placement table, and scored once after it: int8 conversions of a small transformer
encoder (multi-head attention, layer norm), a keyword-spotting DS-CNN, unrolled GRU and
LSTM models, a heatmap detector with a TRANSPOSE_CONV decoder, and keras.applications
variants sets 1 and 2 do not hold.  Every model has a dynamic batch, as Keras models do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _app(cls: str, shape: tuple[int, int, int], **kw: Any) -> Callable[[Any], Any]:
    return lambda keras: getattr(keras.applications, cls)(
        input_shape=shape, weights=None, classes=10, **kw)


def tiny_transformer(keras: Any) -> Any:
    """A two-block transformer encoder over 16 tokens of width 32 (attention, norm, MLP)."""
    layers = keras.layers
    inp = keras.Input((16, 32))
    x = inp
    for _ in range(2):
        a = layers.MultiHeadAttention(num_heads=4, key_dim=8)(x, x)
        x = layers.LayerNormalization()(layers.Add()([x, a]))
        f = layers.Dense(64, activation="gelu")(x)
        f = layers.Dense(32)(f)
        x = layers.LayerNormalization()(layers.Add()([x, f]))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inp, layers.Dense(5, activation="softmax")(x))


def ds_cnn_kws(keras: Any) -> Any:
    """A DS-CNN keyword spotter (49 x 10 MFCC input, as in Arm's ML-zoo model)."""
    layers = keras.layers
    inp = keras.Input((49, 10, 1))
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(4):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(64, 1, use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.AveragePooling2D((25, 5))(x)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(12, activation="softmax")(x))


def gru_unrolled(keras: Any) -> Any:
    """A GRU over 8 steps of 16 features, unrolled (no while loop), and a dense head."""
    layers = keras.layers
    inp = keras.Input((8, 16))
    x = layers.GRU(24, unroll=True)(inp)
    return keras.Model(inp, layers.Dense(4, activation="softmax")(x))


def lstm_unrolled(keras: Any) -> Any:
    """A stacked LSTM over 6 steps, unrolled, returning a sequence then a vector."""
    layers = keras.layers
    inp = keras.Input((6, 12))
    x = layers.LSTM(16, unroll=True, return_sequences=True)(inp)
    x = layers.LSTM(16, unroll=True)(x)
    return keras.Model(inp, layers.Dense(3)(x))


def heatmap_detector(keras: Any) -> Any:
    """A CenterNet-style detector: strided encoder, two TRANSPOSE_CONV upsamplings, heads."""
    layers = keras.layers
    inp = keras.Input((64, 64, 3))
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(16, 4, strides=2, padding="same", activation="relu")(x)
    heat = layers.Conv2D(3, 1, activation="sigmoid")(x)
    size = layers.Conv2D(2, 1)(x)
    offset = layers.Conv2D(2, 1)(x)
    return keras.Model(inp, [heat, size, offset])


def apps_third() -> dict[str, Callable[[Any], Any]]:
    """Set 3: name -> builder taking the ``keras`` module."""
    return {
        "tiny_transformer": tiny_transformer,
        "ds_cnn_kws": ds_cnn_kws,
        "gru_unrolled": gru_unrolled,
        "lstm_unrolled": lstm_unrolled,
        "heatmap_detector": heatmap_detector,
        "mobilenet_v3_small_min": _app("MobileNetV3Small", (96, 96, 3), minimalistic=True,
                                       alpha=0.75),
        "mobilenet_v3_large_min": _app("MobileNetV3Large", (96, 96, 3), minimalistic=True),
        "mobilenet_v1_050_128": _app("MobileNet", (128, 128, 3), alpha=0.5),
        "efficientnet_v2_b1": _app("EfficientNetV2B1", (64, 64, 3)),
        "densenet169": _app("DenseNet169", (64, 64, 3)),
    }
