"""A Keras layer reading a masked input (``Embedding(mask_zero=True)``, ``Masking``): the
fact ``input_masked`` and the probed verdict it selects."""

from __future__ import annotations

from pathlib import Path

from qlint.graph import ModelGraph
from qlint.loaders import loader_for
from qlint.op_facts import op_facts
from qlint.predict.patterns import lower
from qlint.predict.source import predict

HELDOUT = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"


def _graph(name: str) -> ModelGraph:
    graph = loader_for("keras")(str(HELDOUT / name / "model.keras"))
    lower(graph)
    return graph


def test_a_masked_global_average_pooling_keeps_its_cast_float() -> None:
    graph = _graph("arch6.fasttext")
    facts = {graph[op]["source_op"]: op_facts(graph, op).get("input_masked")
             for op in graph.ops()}
    assert facts["GlobalAveragePooling1D"] is True and facts["Dense"] is False
    (p,) = predict(graph)
    assert graph[p.op]["source_op"] == "GlobalAveragePooling1D"
    assert p.cap.name == "keras.GlobalAveragePooling1D(masked input)"
    assert p.tflite_ops == ("CAST",)


def test_an_unmasked_input_keeps_the_layer_entry() -> None:
    graph = _graph("arch7.ae_anomaly")  # Dense layers on a plain input
    assert not any(op_facts(graph, op).get("input_masked") for op in graph.ops())
