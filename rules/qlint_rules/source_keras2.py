"""QL122 keras2-model: a model saved by Keras 2 (tf_keras), and what TF 2.21 needs to load it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule

SAVEDMODEL_RECORD = "tensorflow/keras2-savedmodel-optimizer-slots"
# Keras-2 layer arguments Keras 3.15 refuses, as captured by fixtures/build_logs.py
# (keras3_loads_keras2_lstm, keras3_loads_keras2_conv1d_transpose): (class or None, argument).
REFUSED_ARGUMENTS = ((None, "time_major"), ("Conv1DTranspose", "groups"))


def _refused(cls: str, config: dict[str, object]) -> list[str]:
    return [arg for owner, arg in REFUSED_ARGUMENTS
            if arg in config and (owner is None or owner == cls)]


class Keras2Model(Rule):
    """Notes a model file written by Keras 2 and says what TensorFlow 2.21 needs to load it.

    **What it flags.** A ``.h5`` or ``.keras`` file whose ``keras_version`` is 2.x, or a
    SavedModel with the ``keras_metadata.pb`` that tf_keras (Keras 2) writes: one ``info``
    finding per model, naming the layers whose config carries an argument Keras 3 was seen
    to refuse (``time_major`` of the recurrent layers, ``groups`` of ``Conv1DTranspose``).

    **Why it matters.** TensorFlow 2.21 installs Keras 3.  ``keras.models.load_model`` of
    Keras 3 refuses Keras-2 layer arguments it dropped (``Unrecognized keyword arguments
    passed to LSTM: {'time_major': False}``, ``... passed to Conv1DTranspose: {'groups':
    1}``), so the converter never sees the model; a Keras-2 SavedModel that carries
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
        named = (f"; Keras 3 refuses the Keras-2 arguments of {', '.join(legacy[:5])}"
                 f"{' ...' if len(legacy) > 5 else ''}" if legacy else "")
        yield self.finding(
            graph, ops[0],
            f"{meta.get('file_kind', 'Keras')} file saved by Keras {version} (tf_keras): "
            f"TensorFlow 2.21's Keras 3 load_model may refuse Keras-2 layer arguments "
            f"('Unrecognized keyword arguments passed to ...'); load it with tf_keras"
            f"{named}",
        )
