r"""Probe builders of what a TF graph does beyond single ops: calls the converter replaces
whole (``implements:<name>``, `qlint.loaders.savedmodel_composites`), Keras 2 (``tf_keras``)
layers, and control flow whose branches read ``tf.Variable``\ s.  Each is converted from
its SavedModel, the path users take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from tools.probe.builders import HARNESS, X2, Arg, Builder, _w, harnessed

GRAPH_FLOW_BUILDERS: dict[str, Builder] = {}


def keras2_builder(b: Builder) -> Builder:
    """``b`` building its Keras layer with Keras 2 (``tf_keras``), whose layers lower to
    other TF ops than Keras 3's (a ``.h5`` of a Keras 2 model is judged by these); converted
    from its SavedModel, as Keras 2 models are (inference: augmentation layers pass
    their input through)."""
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        import tf_keras

        tf_keras.utils.set_random_seed(0)
        tf_keras.backend.set_learning_phase(0)  # called as a saved model serves: inference
        return b.make(tf, tf_keras, rng)

    return dataclasses.replace(b, name=b.name.replace("keras.", "tf_keras.", 1), make=make,
                               saved_model=True)



# Functions the converter replaces whole (`qlint.loaders.savedmodel_composites`): the
# SavedModel loader keeps each call as one op, ``implements:<name>``.  Probed through a
# SavedModel, as users convert them (a frozen function loses the composites' structure).
GRAPH_FLOW_BUILDERS["implements:non_max_suppression_padded_v2"] = Builder(
    "tf.image.non_max_suppression_padded(boxes, scores, 10, pad_to_max_output_size=True)",
    lambda tf, keras, rng: lambda b, s: tf.image.non_max_suppression_padded(
        b, s, 10, iou_threshold=0.5, pad_to_max_output_size=True)[0],
    (Arg((64, 4), lo=0.0, hi=1.0), Arg((64,), lo=0.0, hi=1.0)), saved_model=True)
# Boxes of a batch (rank 3: a detector's ``[batch, boxes, 4]``, as keras-cv's YOLOv8
# decoder passes them) are not replaced: the function's loops are converted as they are.
GRAPH_FLOW_BUILDERS["implements:non_max_suppression_padded_v2(batched boxes)"] = harnessed(
    Builder(
        "tf.image.non_max_suppression_padded(boxes, scores, 100, pad_to_max_output_size=True), "
        "boxes (None, 84, 4) of corners and sizes (their concatenation is the harness)",
        lambda tf, keras, rng: lambda c, wh, s: tf.image.non_max_suppression_padded(
            tf.concat([c, tf.add(c, wh, name=HARNESS)], -1, name=HARNESS), s, 100,
            iou_threshold=0.7, score_threshold=0.2, pad_to_max_output_size=True)[0],
        (Arg((None, 84, 2), lo=0.0, hi=0.5, sample=(1, 84, 2)),
         Arg((None, 84, 2), lo=0.1, hi=0.5, sample=(1, 84, 2)),
         Arg((None, 84), lo=0.0, hi=1.0, sample=(1, 84))), saved_model=True,
        extra={"variant_of": "implements:non_max_suppression_padded_v2",
               "when": [{"fact": "ifm_rank", "eq": 3}]}), last=False)


def _tf_keras_rnn(layer: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    """A Keras 2 (``tf_keras``) recurrent layer, whose call is a function with
    ``api_implements`` (``lstm_<uuid>``, ``gru_<uuid>``)."""
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        import tf_keras

        tf_keras.utils.set_random_seed(0)
        return getattr(tf_keras.layers, layer)(8)
    return make


for _layer in ("LSTM", "GRU"):
    _name = _layer.lower()
    GRAPH_FLOW_BUILDERS[f"implements:{_name}(dynamic batch)"] = Builder(
        f"tf_keras.layers.{_layer}(8) on (None, 10, 4)", _tf_keras_rnn(_layer),
        (Arg((None, 10, 4), sample=(1, 10, 4)),), saved_model=True,
        extra={"variant_of": f"implements:{_name}",
               "when": [{"fact": "dynamic_batch", "eq": True}]})
    # a Keras 2 .h5's LSTM / GRU layer is that call: judged by the batch its input has
    GRAPH_FLOW_BUILDERS[f"tf_keras.{_layer}(dynamic batch)"] = dataclasses.replace(
        GRAPH_FLOW_BUILDERS[f"implements:{_name}(dynamic batch)"], keras=_layer,
        extra={"variant_of": f"tf_keras.{_layer}",
               "when": [{"fact": "dynamic_batch", "eq": True}]})
    GRAPH_FLOW_BUILDERS[f"implements:{_name}(static batch)"] = Builder(
        f"tf_keras.layers.{_layer}(8) on (1, 10, 4)", _tf_keras_rnn(_layer),
        (Arg((1, 10, 4)),), saved_model=True,
        extra={"variant_of": f"implements:{_name}",
               "when": [{"fact": "dynamic_batch", "eq": False}]})
# Control flow whose branches or body read tf.Variables (a tf.Module exported with
# tf.saved_model.save): the op is the stateful If / Case / While, with resource operands.
def _stateful_flow(kind: str) -> Callable[[Any, Any, np.random.Generator], Any]:
    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        class Flow(tf.Module):  # type: ignore[misc,name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.w = [tf.Variable(_w(rng, 16, 16)) for _ in range(3)]

            def __call__(self, x: Any, *task: Any) -> Any:
                if kind == "If(constant predicate)":  # a training flag fixed at export
                    return tf.cond(tf.math.equal(tf.math.floormod(tf.constant(1), 4), 1),
                                   lambda: tf.matmul(x, self.w[0]),
                                   lambda: tf.matmul(x, self.w[1]))
                if kind == "If(constant predicate, float op untaken)":  # dropout's noise
                    return tf.cond(tf.constant(False),
                                   lambda: tf.sin(tf.matmul(x, self.w[0])),
                                   lambda: tf.matmul(x, self.w[1]))
                if kind == "If":
                    return tf.cond(tf.reduce_mean(x) > 0.0, lambda: tf.matmul(x, self.w[0]),
                                   lambda: tf.matmul(x, self.w[1]))
                if kind == "Case":
                    return tf.switch_case(task[0], [lambda w=w: tf.matmul(x, w) for w in self.w])
                return tf.while_loop(lambda i, h: i < 4,
                                     lambda i, h: (i + 1, tf.tanh(tf.matmul(h, self.w[0]))),
                                     [tf.constant(0), x])[1]
        return Flow()
    return make


for _kind, _call in (("If", "tf.cond"), ("Case", "tf.switch_case"), ("While", "tf.while_loop")):
    GRAPH_FLOW_BUILDERS[_kind] = Builder(
        f"{_call} whose branches read tf.Variables (tf.saved_model.save of a tf.Module)",
        _stateful_flow(_kind),
        (X2, *((Arg((), "int32", 0, 3),) if _kind == "Case" else ())), saved_model=True)
# The same If on a constant predicate (a dropout's training flag fixed when a tf.Module is
# exported: tf2-gnn's GNN layers): the converter folds it, as it folds a StatelessIf's.
GRAPH_FLOW_BUILDERS["If(constant predicate)"] = Builder(
    "tf.cond(tf.constant(1) % 4 == 1, ...) whose branches read tf.Variables "
    "(tf.saved_model.save of a tf.Module)", _stateful_flow("If(constant predicate)"), (X2,),
    saved_model=True, extra={"variant_of": "If",
                             "when": [{"fact": "first_input_constant", "eq": True}]})
# The same with a float-only op in the branch a literal False predicate never takes: the
# converter drops that branch with the If (no SIN in the model), so the SavedModel loader
# leaves it out.
GRAPH_FLOW_BUILDERS["If(constant predicate, float op untaken)"] = Builder(
    "tf.cond(tf.constant(False), lambda: tf.sin(x @ w0), lambda: x @ w1) with variables "
    "(tf.saved_model.save of a tf.Module)", _stateful_flow(
        "If(constant predicate, float op untaken)"), (X2,),
    saved_model=True, extra={"variant_of": "If",
                             "when": [{"fact": "first_input_constant", "eq": True}]})
def _tf_keras_bilstm(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    return tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(8))


GRAPH_FLOW_BUILDERS["tf_keras.Bidirectional(dynamic batch)"] = Builder(
    "tf_keras.layers.Bidirectional(LSTM(8)) on (None, 10, 4)", _tf_keras_bilstm,
    (Arg((None, 10, 4), sample=(1, 10, 4)),), saved_model=True, keras="Bidirectional",
    extra={"variant_of": "tf_keras.Bidirectional",
           "when": [{"fact": "dynamic_batch", "eq": True}]})
