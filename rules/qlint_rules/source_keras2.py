"""QL122 keras2-model: a model saved by Keras 2 (tf_keras), and what TF 2.21 needs to load it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule

SAVEDMODEL_RECORD = "tensorflow/keras2-savedmodel-optimizer-slots"
SEQUENTIAL_RECORD = "tensorflow/keras3-legacy-sequential-input-shape"
# Keras-2 layer arguments Keras 3.15 refuses, as captured by fixtures/build_logs.py
# (keras3_loads_keras2_lstm, _conv1d_transpose, _separable_conv1d, _nested_sequential) and
# seen for ConvLSTM1D and DepthwiseConv1D: (class or None, argument).
REFUSED_ARGUMENTS = ((None, "time_major"), ("Conv1DTranspose", "groups"),
                     ("DepthwiseConv1D", "groups"), ("SeparableConv1D", "groups"),
                     ("SeparableConv1D", "kernel_initializer"))
WRAPPERS = frozenset({"TimeDistributed", "Bidirectional"})
TRAINING_RECORD = "tensorflow/keras3-legacy-h5-training-config"
# Compiled losses of a Keras-2 .h5 that Keras 3.15's load_model (compile=True) refused, as
# captured by fixtures/build_logs.py::keras3_loads_keras2_compiled ("object": a loss object).
REFUSED_LOSSES = ("mse", "mae", "mape", "msle", "kld", "object")


def _refused(cls: str, config: dict[str, object]) -> list[str]:
    found = [arg for owner, arg in REFUSED_ARGUMENTS
             if arg in config and (owner is None or owner == cls)]
    inner = config.get("layer") if cls in WRAPPERS else None
    if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
        # the wrapped layer is rebuilt from its own config: its arguments count too, and a
        # batch_input_shape given to it is refused there
        inner_cfg = inner["config"]
        found += [f"{inner.get('class_name')}.{arg}"
                  for arg in _refused(str(inner.get("class_name")), inner_cfg)]
        if "batch_input_shape" in inner_cfg:
            found.append(f"{inner.get('class_name')}.batch_input_shape")
    return found


class Keras2Model(Rule):
    """Notes a model file written by Keras 2 and says what TensorFlow 2.21 needs to load it.

    **What it flags.** A ``.h5`` or ``.keras`` file whose ``keras_version`` is 2.x, or a
    SavedModel with the ``keras_metadata.pb`` that tf_keras (Keras 2) writes: one ``info``
    finding per model, naming the layers whose config carries an argument Keras 3 was seen
    to refuse (``time_major`` of the recurrent layers; ``groups`` of ``Conv1DTranspose``,
    ``DepthwiseConv1D`` and ``SeparableConv1D``, and ``kernel_initializer`` of the latter;
    ``batch_input_shape`` of a layer in a nested Sequential or inside ``TimeDistributed``
    or ``Bidirectional``).  An ``info`` finding for a ``.h5`` compiled with a loss Keras 3
    refuses to compile again (the aliases ``mse``, ``mae``, ``mape``, ``msle``, ``kld``, or
    a loss object).  A second ``info`` finding when the file is a Sequential in the
    older Keras 2 layout (no InputLayer entry, the first layer carrying
    ``batch_input_shape``), which Keras 3 rebuilds with one axis too many.

    **Why it matters.** TensorFlow 2.21 installs Keras 3.  ``keras.models.load_model`` of
    Keras 3 refuses Keras-2 layer arguments it dropped (``Unrecognized keyword arguments
    passed to LSTM: {'time_major': False}``, ``... passed to Conv1DTranspose: {'groups':
    1}``), and fails on an older-layout Sequential with ``Kernel shape must have the same
    length as input``, so the converter never sees the model; a Keras-2 SavedModel that carries
    legacy-optimizer slot variables loads with ``tf.saved_model.load`` only where tf_keras is
    installed (``'_UserObject' object has no attribute 'add_slot'`` otherwise).

    **How to fix it.** Install ``tf-keras`` matching TensorFlow (``pip install
    tf-keras==2.21.0``) and load the model with ``tf_keras.models.load_model`` (or set
    ``TF_USE_LEGACY_KERAS=1`` before importing TensorFlow), then convert it from that model;
    or re-save it once with tf_keras as a SavedModel without the optimizer
    (``include_optimizer=False``).
    """

    id = "QL122"
    name = "keras2-model"
    record = "tensorflow/keras3-legacy-layer-arguments"
    severity = Severity.INFO
    summary = "model saved by Keras 2 (tf_keras): TF 2.21 needs tf_keras to load it"
    fix = ("pip install tf-keras==2.21.0 and load with tf_keras.models.load_model (or "
           "TF_USE_LEGACY_KERAS=1) before converting.")
    stages = frozenset({"source"})
    formats = frozenset({"keras", "savedmodel"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        meta = graph.attrs.get("metadata") or {}
        ops = list(graph.ops())
        if not ops:
            return
        if graph.format == "savedmodel":
            if not meta.get("keras_metadata"):
                return
            f = self.finding(
                graph, ops[0],
                "SavedModel written by Keras 2 (tf_keras; keras_metadata.pb): Keras 3's "
                "load_model does not read it, and TensorFlow 2.21 restores its legacy "
                "optimizer slots only with tf_keras installed ('_UserObject' object has no "
                "attribute 'add_slot' otherwise)",
                fix="pip install tf-keras==2.21.0 and load it with tf_keras (or re-save it "
                    "without the optimizer) before converting.")
            yield dataclasses.replace(f, record=SAVEDMODEL_RECORD)
            return
        version = meta.get("keras_version")
        if not isinstance(version, str) or not version.startswith("2."):
            return
        legacy = [f"{graph[op]['name']} ({arg})" for op in ops
                  for arg in _refused(graph[op]["source_op"],
                                      graph[op]["attrs"].get("config") or {})]
        losses = [v for v in REFUSED_LOSSES if v in (meta.get("training_losses") or [])]
        if losses:
            named = ", ".join("a loss object" if v == "object" else f"the loss '{v}'"
                              for v in losses)
            yield self.finding(
                graph, ops[0],
                f"compiled by Keras 2 with {named}: Keras 3's load_model, which "
                f"compiles the model again by default, refuses it ('Could not deserialize "
                f"'keras.metrics.mse' because it is not a KerasSaveable subclass' or '... "
                f"could not be deserialized properly')",
                fix="Load it with keras.models.load_model(path, compile=False) (the converter "
                    "needs no training configuration), or with tf_keras.",
                record=TRAINING_RECORD)
        shaped = meta.get("input_shape_layers") or {}
        legacy += [f"{name} (batch_input_shape)" for name in shaped.get("nested", [])]
        if shaped.get("first"):
            yield self.finding(
                graph, ops[0],
                f"Sequential in the older Keras 2 layout: no InputLayer entry, its first "
                f"layer {shaped['first'][0]} carries batch_input_shape. Keras 3's load_model "
                f"reads that as an input shape without the batch axis, builds the model "
                f"with one axis too many and a convolution fails ('Kernel shape must have "
                f"the same length as input ... (None, None, ...)')",
                fix="Load it with tf_keras (pip install tf-keras==2.21.0), or rebuild the "
                    "Sequential in Keras 3 starting with keras.Input(shape) and "
                    "model.load_weights('model.h5').",
                record=SEQUENTIAL_RECORD)
        named = (f"; Keras 3 refuses the Keras-2 arguments of {', '.join(legacy[:5])}"
                 f"{' ...' if len(legacy) > 5 else ''}" if legacy else "")
        yield self.finding(
            graph, ops[0],
            f"{meta.get('file_kind', 'Keras')} file saved by Keras {version} (tf_keras): "
            f"TensorFlow 2.21's Keras 3 load_model may refuse Keras-2 layer arguments "
            f"('Unrecognized keyword arguments passed to ...'); load it with tf_keras"
            f"{named}",
        )
