"""QL121 qat-needs-dataset: TF 2.21 refuses strict int8 conversion of a QAT model without data."""

from __future__ import annotations

from collections.abc import Iterator

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.registry import Context, Rule
from qlint.targets import Target
from qlint_rules.source_qat import FAKE_QUANT

MESSAGE = ("ValueError: For full integer quantization, a `representative_dataset` must be "
           "specified.")


def qat_nodes(graph: ModelGraph) -> list[NodeId]:
    """FakeQuant ops of a SavedModel, TFMOT QAT layers of a Keras model, in file order."""
    if graph.format == "keras":
        return [op for op in graph.ops() if graph[op]["attrs"].get("qat")]
    return [op for op in graph.ops() if graph[op]["source_op"] in FAKE_QUANT]


def _int8_target(target: Target) -> bool:
    return target.mode == "int8"


class QatNeedsDataset(Rule):
    """Flags a quantization-aware-trained model that TF 2.21 converts strictly only with data.

    **What it flags.** A SavedModel with FakeQuant ops, or a ``.keras``/``.h5`` model with
    TFMOT ``QuantizeLayer``/``QuantizeWrapperV2`` layers, linted for an int8 target: one
    finding per model, on its first QAT node.

    **Why it matters.** The ranges QAT learned are in the graph, yet TensorFlow 2.21's
    ``TFLiteConverter`` asked for ``supported_ops=[TFLITE_BUILTINS_INT8]`` (with or without
    int8 input/output types) raises ``ValueError: For full integer quantization, a
    `representative_dataset` must be specified.`` (``QuantizationMode._validate_int8_required``
    in ``lite.py``) for TFMOT 0.8.1 QAT models, from ``from_saved_model`` and from tf_keras
    ``from_keras_model`` alike: it does not recognise them as QAT.  Older guides say a QAT
    model needs no dataset.

    **How to fix it.** Either keep ``TFLITE_BUILTINS_INT8`` and pass a
    ``representative_dataset`` (a few real samples; the conversion then succeeds), or
    convert with ``optimizations=[tf.lite.Optimize.DEFAULT]`` only, which for a fully
    quantized QAT model gives int8 compute with float32 input and output (add
    ``inference_input_type``/``inference_output_type`` only together with a dataset).
    """

    id = "QL121"
    name = "qat-needs-dataset"
    record = "tensorflow/tflite-representative-dataset-missing"
    severity = Severity.WARNING
    summary = "QAT model: TF 2.21 strict int8 conversion still needs a representative dataset"
    fix = ("Pass a representative_dataset with TFLITE_BUILTINS_INT8, or convert with "
           "optimizations=[DEFAULT] only (int8 compute from the QAT ranges, float I/O).")
    stages = frozenset({"source"})
    formats = frozenset({"savedmodel", "keras"})

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        nodes = qat_nodes(graph)
        if not nodes or not _int8_target(ctx.target):
            return
        yield self.finding(
            graph, nodes[0],
            f"quantization-aware-trained model ({len(nodes)} QAT node"
            f"{'s' if len(nodes) != 1 else ''}): TensorFlow 2.21 converting it with "
            f"supported_ops=[TFLITE_BUILTINS_INT8] and no representative_dataset stops with "
            f"'{MESSAGE}'",
        )
