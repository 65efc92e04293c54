"""QL112 opaque-layer: Keras layers whose computation qlint cannot see."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule

#: The fix for a whole subclassed model: its layers exist only once its code runs.
SUBCLASSED_FIX = ("Export a SavedModel (model.export(dir)) and lint it: the traced graph "
                  "shows the model's ops.")


class OpaqueLayer(Rule):
    """Flags Keras ``Lambda`` layers and custom classes that qlint cannot see into.

    **What it flags.** In a ``.keras`` or ``.h5`` file, each ``Lambda`` layer (its
    Python function is stored as marshalled bytecode, ``"class_name":
    "__lambda__"``) and each layer of a class that is not a Keras built-in; and a
    subclassed model of such a class, whose file holds its constructor's arguments and
    not its layers.
    qlint never deserializes or runs that code, so it cannot tell which TF ops
    the layer produces or whether they have int8 kernels.

    **Why it matters.** These layers are where unsupported ops hide (a
    ``tf.math.cumsum`` or ``tf.math.erf`` in a lambda), and ``keras.models.
    load_model`` refuses a lambda in safe mode, so the model may not even reach
    the converter; loading it with ``safe_mode=False`` runs the stored code.

    **How to fix it.** Export the model as a SavedModel (``model.export(dir)``)
    and lint the directory: the traced graph shows the ops inside the layer.
    Better, replace the ``Lambda`` with a registered custom layer or built-in
    layers.
    """

    id = "QL112"
    name = "opaque-layer"
    record = "tensorflow/keras-lambda-deserialization"
    severity = Severity.WARNING
    summary = "Lambda or custom Keras layer whose ops qlint cannot see"
    fix = ("Export a SavedModel (model.export(dir)) and lint it to see inside the layer, or "
           "replace the Lambda with built-in or registered layers.")
    stages = frozenset({"source"})
    formats = frozenset({"keras"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for op in graph.ops():
            attrs = graph[op]["attrs"]
            if not attrs.get("opaque"):
                continue
            whole = attrs.get("subclassed_model") is True
            yield self.finding(
                graph, op,
                f"{graph[op]['source_op']} {'model' if whole else 'layer'} "
                f"'{graph[op]['name']}' is opaque to qlint ({attrs.get('opaque_reason')}); "
                f"its ops and their int8 support are unknown and its code was not run",
                fix=SUBCLASSED_FIX if whole else None,
            )
