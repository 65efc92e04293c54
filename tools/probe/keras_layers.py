"""Generic builders for every public Keras 3 layer and activation.

The layer classes are enumerated from ``keras.layers`` (and the activations from
``keras.activations``) of the installed Keras, at probe time, by `enumerate_keras`
(run in a worker: it imports Keras), together with the layer classes that
``keras.applications`` models define for themselves (ConvNeXt's ``LayerScale``: the
``Layer`` subclasses of the ``keras.src.applications`` modules, `application_layers`).
`layer_builder` wraps one layer class in a functional model: the constructor gets a
small value for each argument it requires (`REQUIRED`), and the input shape is the
first of `SHAPES` the layer accepts.  This says how to build the model, never what the
probe will find; a layer that builds with none of them is recorded ``unprobed`` with
Keras' own error.

Keys: ``keras.<Class>`` (canonical class name; aliases such as ``AvgPool2D`` share their
class's entry), ``keras.<Class>(<arg>=<value>)`` (a boolean constructor argument set
against its default, `flag_variants`) and ``keras.Activation(<name>)``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

# Values for constructor arguments without a default (by name).
REQUIRED: dict[str, Any] = {
    "units": 8, "filters": 8, "kernel_size": 3, "pool_size": 2, "rate": 0.3, "stddev": 0.1,
    "size": 2, "padding": 1, "cropping": 1, "target_shape": (-1,), "num_heads": 2,
    "key_dim": 4, "n": 2, "dims": (2, 1), "height": 4, "width": 4, "input_dim": 16,
    "output_dim": 8, "axes": -1, "output_shape": 8, "equation": "ab,bc->ac",
    "num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "max_value": 6.0,
    "scale": 1 / 127.5, "offset": -1.0, "num_tokens": 8, "num_bins": 4, "bin_boundaries":
    [-0.5, 0.0, 0.5], "factor": 0.2, "l1": 0.01, "activation": "relu", "output_mode": "int",
    "mask_value": 0.0, "data_format": "channels_last", "fft_length": 32,
    "sequence_length": 16, "sequence_stride": 8, "num_mel_bins": 8, "sampling_rate": 8000,
    "output_size": 2, "max_number": 4, "height_factor": 0.2,
    # keras.applications' own layers (ConvNeXt LayerScale, StochasticDepth); projection_dim
    # is the channel count of the first input shape tried
    "init_values": 1e-6, "projection_dim": 4, "drop_path_rate": 0.1,
}
# Classes whose construction needs another layer or a cell (probed through their users).
WRAPS = {
    "Bidirectional": lambda k: k.layers.Bidirectional(k.layers.LSTM(4)),
    "TimeDistributed": lambda k: k.layers.TimeDistributed(k.layers.Dense(4)),
    "RNN": lambda k: k.layers.RNN(k.layers.SimpleRNNCell(4)),
    "SpectralNormalization": lambda k: k.layers.SpectralNormalization(k.layers.Dense(4)),
    "Discretization": lambda k: k.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5]),
    "RandomPosterization": lambda k: k.layers.RandomPosterization(factor=4),
    "CategoryEncoding": lambda k: k.layers.CategoryEncoding(num_tokens=8,
                                                          output_mode="multi_hot"),
}
NOT_A_MODEL_LAYER = {
    "Layer": "the base class", "InputLayer": "the model input, no computation",
    "Lambda": "wraps user code: the ops inside are probed, not the layer",
    "Wrapper": "abstract base class", "Pipeline": "a container of other layers",
    "TFSMLayer": "loads a SavedModel from disk", "JaxLayer": "wraps a JAX function",
    "FlaxLayer": "wraps a Flax module", "TorchModuleWrapper": "wraps a PyTorch module",
    "GRUCell": "an RNN cell, probed inside GRU", "LSTMCell": "an RNN cell, probed inside LSTM",
    "SimpleRNNCell": "an RNN cell, probed inside SimpleRNN",
    "StackedRNNCells": "a list of RNN cells, probed inside RNN",
}
# Input shapes tried in order (batch 1), and the two-input forms of merge layers.
SHAPES: tuple[tuple[int, ...], ...] = ((1, 8, 8, 4), (1, 16), (1, 6, 8), (1, 4, 8, 8, 4),
                                       (1, 8, 8, 3), (1, 1024), (1, 1024, 1), (1, 4096),
                                       (1, 2, 4, 4, 4, 2))
MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
         "Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention",
         "CustomScaleLayer"}
# Layers holding a recurrent loop: converting their frozen concrete function kills the
# converter (SIGSEGV), so they are probed through the SavedModel users convert.
RECURRENT = {"Bidirectional", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"}
INT_INPUT = {"Embedding": 16, "ReversibleEmbedding": 16, "CategoryEncoding": 8,
             "IntegerLookup": 8, "Hashing": 8}


def application_layers(keras: Any) -> dict[str, Any]:
    """Layer classes defined by the ``keras.src.applications`` modules (not in
    ``keras.layers``), by class name: the layers of saved keras.applications models."""
    import importlib
    import pkgutil

    pkg = importlib.import_module("keras.src.applications")
    out: dict[str, Any] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) and issubclass(obj, keras.layers.Layer)
                    and obj.__module__ == mod.__name__ and not hasattr(keras.layers, name)):
                out[name] = obj
    return dict(sorted(out.items()))


def _layer_class(keras: Any, cls_name: str) -> Any:
    if hasattr(keras.layers, cls_name):
        return getattr(keras.layers, cls_name)
    return application_layers(keras)[cls_name]


def enumerate_keras(keras: Any) -> tuple[list[str], list[str]]:
    """Canonical layer class names (public ones and those of keras.applications) and
    activation names of the installed Keras."""
    classes: dict[str, None] = {}
    for name in dir(keras.layers):
        obj = getattr(keras.layers, name)
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
            classes[obj.__name__ if hasattr(keras.layers, obj.__name__) else name] = None
    classes.update(dict.fromkeys(application_layers(keras)))
    acts = [n for n in dir(keras.activations)
            if not n.startswith("_") and n not in ("get", "serialize", "deserialize")
            and callable(getattr(keras.activations, n))]
    return sorted(classes), sorted(acts)


#: Boolean constructor arguments not swept: they do not change the computation.
NOT_SWEPT_FLAGS = frozenset({"trainable", "autocast"})


def flag_variants(keras: Any, classes: list[str]) -> list[str]:
    """``keras.<Class>(<arg>=<value>)`` for every boolean constructor argument of each
    layer class, set to the opposite of its default (``keras.Dot(normalize=True)``)."""
    out = []
    for cls_name in classes:
        if cls_name in NOT_A_MODEL_LAYER or cls_name in WRAPS:
            continue
        try:
            params = inspect.signature(_layer_class(keras, cls_name).__init__).parameters
        except (KeyError, AttributeError, TypeError, ValueError):
            continue
        out.extend(f"keras.{cls_name}({p.name}={not p.default})" for p in params.values()
                   if isinstance(p.default, bool) and p.name not in NOT_SWEPT_FLAGS)
    return out


def _ctor(keras: Any, cls_name: str, flags: dict[str, bool] | None = None) -> Any:
    if cls_name in WRAPS:
        return WRAPS[cls_name](keras)
    cls = _layer_class(keras, cls_name)
    kwargs: dict[str, Any] = dict(flags or {})
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.default is inspect.Parameter.empty and p.name not in kwargs:
            if p.name not in REQUIRED:
                raise TypeError(f"no value for required argument {p.name!r} of {cls_name}")
            kwargs[p.name] = REQUIRED[p.name]
    return cls(**kwargs)


def _model(keras: Any, layer: Any, cls_name: str, shape: tuple[int, ...], dtype: str,
           dynamic_batch: bool = False) -> Any:
    batch = None if dynamic_batch else shape[0]
    x = keras.Input(shape=shape[1:], batch_size=batch, dtype=dtype)
    if cls_name in MERGE:
        y = keras.Input(shape=shape[1:], batch_size=batch, dtype=dtype)
        if cls_name in ("Attention", "AdditiveAttention"):
            out = layer([x, y])
        elif cls_name in ("MultiHeadAttention", "GroupQueryAttention"):
            out = layer(x, y)
        else:
            out = layer([x, y])
        return keras.Model([x, y], out)
    return keras.Model(x, layer(x))


def layer_builder(cls_name: str, flags: dict[str, bool] | None = None,
                  dynamic_batch: bool = False) -> Builder:
    """A builder for ``keras.layers.<cls_name>`` (constructed with the boolean arguments
    ``flags``); the input shape is found at build time.  ``dynamic_batch``: the model's
    input has a batch of None, as a Keras model saved without ``batch_size`` has (fed a
    batch of 1)."""
    dtype = "int32" if cls_name in INT_INPUT else "float32"
    hi = float(INT_INPUT.get(cls_name, 1))
    lo = 0.0 if dtype == "int32" else -1.0
    chosen: dict[str, tuple[int, ...]] = {}

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        errors = []
        for shape in SHAPES if dtype == "float32" else ((1, 4),):
            try:
                model = _model(keras, _ctor(keras, cls_name, flags), cls_name, shape, dtype,
                               dynamic_batch)
                n = len(model.inputs)
                model([np.zeros(shape, dtype)] * n if n > 1 else np.zeros(shape, dtype))
            except Exception as exc:  # try the next shape; keep Keras' reason
                errors.append(f"{shape}: {type(exc).__name__}: {exc}")
                continue
            chosen["shape"] = shape
            chosen["dynamic_batch"] = dynamic_batch
            return model
        raise ValueError(" | ".join(errors[-2:]))

    args = ", ".join(f"{k}={v}" for k, v in (flags or {}).items())
    b = Builder(f"keras.layers.{cls_name}({args})" if args else f"keras.layers.{cls_name}",
                make, (Arg((1, 8, 8, 4), dtype, lo, hi),),
                keras=cls_name, saved_model=cls_name in RECURRENT)
    b.extra["shape_search"] = True
    b.extra["chosen"] = chosen
    return b


def activation_builder(name: str) -> Builder:
    """``keras.layers.Activation(<name>)`` on a (1, 16) input."""
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        inp = keras.Input(shape=(16,), batch_size=1)
        return keras.Model(inp, keras.layers.Activation(name)(inp))

    return Builder(f"keras.layers.Activation('{name}')", make, (Arg((1, 16)),),
                   keras="Activation")
