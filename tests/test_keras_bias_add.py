"""Keras 3 additions its TensorFlow backend computes as a BiasAdd: the layout fact
``bias_add_format`` from a ``.keras`` file's shapes, and the probed verdict it selects."""

from __future__ import annotations

from pathlib import Path

from qlint.keras_bias_add import add_layout, bias_add_format, einsum_bias_shape
from qlint.loaders import loader_for
from qlint.op_facts import op_facts

HELDOUT = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"


def test_add_layout_follows_the_backend_rule() -> None:
    assert add_layout((None, 6, 4), (6, 1)) == "NCHW"
    assert add_layout((None, 6, 4), (4,)) == "NHWC"
    assert add_layout((None, 6, 6), (6,)) == "NHWC"  # the last dimension wins
    assert add_layout((None, 6, 4), (None, 6, 1)) == "none"  # a traced tensor's batch
    assert add_layout((None, 6, 4), (5,)) == "none"
    assert add_layout((None, 6, 4), ()) == "none"


def test_einsum_bias_runs_from_the_first_bias_axis() -> None:
    cfg = {"equation": "btc,th->bhc", "bias_axes": "h"}
    assert einsum_bias_shape(cfg, (None, 12, 3)) == (12, 1)
    assert bias_add_format("EinsumDense", {"config": cfg}, (1, 12, 3)) == "NCHW"
    last = {"equation": "btc,cd->btd", "bias_axes": "d"}
    assert bias_add_format("EinsumDense", {"config": last}, (1, 12, 3)) == "NHWC"
    assert bias_add_format("EinsumDense", {"config": {**last, "bias_axes": None}},
                           (1, 12, 3)) == "none"
    assert einsum_bias_shape({"equation": "...c,cd->...d", "bias_axes": "d"}, (1, 3)) is None


def test_a_constant_operand_is_a_bias_a_tensor_is_not() -> None:
    tensor, const = ("tensor", (1, 240, 1)), ("constant", (1, 240, 1))
    assert bias_add_format("ops.Add", {"arg_shapes": [tensor, const]}, None) == "NCHW"
    assert bias_add_format("ops.Add", {"arg_shapes": [tensor, tensor]}, None) == "none"
    assert bias_add_format("ops.Add", {"arg_shapes": [tensor, None]}, None) is None
    assert bias_add_format("Dense", {}, (1, 4)) is None


def test_a_keras_file_carries_the_fact_and_qlint_predicts_the_failure() -> None:
    from qlint.predict.patterns import lower
    from qlint.predict.source import predict

    graph = loader_for("keras")(str(HELDOUT / "arch10.ssdlite" / "model.keras"))
    lower(graph)
    facts = {graph[op]["name"]: op_facts(graph, op).get("bias_add_format")
             for op in graph.ops() if graph[op]["source_op"] == "ops.Add"}
    # y + anchors (a NumPy constant) is a bias add along axis 1; yc + h / 2 is not
    assert facts["add"] == facts["add_1"] == "NCHW"
    assert facts["add_2"] == "none"
    failing = {graph[p.op]["name"] for p in predict(graph) if p.outcome == "conversion_error"}
    assert failing == {"add", "add_1"}
