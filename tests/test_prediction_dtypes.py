"""Conditions added from held-out set 23: ops on complex64 and float64 tensors, an einsum
that sums a label of one operand alone, a percentile's index computed from a flattened
batch, argsort's float NEG carried to a TOPK_V2 only when its values are unused, and Keras 2
layer bodies kept apart by their call's scope (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO
from test_prediction_context import source_graph

from qlint.graph import ModelGraph
from qlint.loaders import loader_for
from qlint.op_facts import einsum_sums_lone_label
from qlint.predict.carry import carried_pairs, carrier, carry_holds, carrying
from qlint.predict.patterns import source_table
from qlint.predict.source import predict
from qlint.registry import Context
from qlint_rules.int8_readiness import Int8Readiness

HELDOUT = REPO / "fixtures" / "heldout" / "models"


def predicted(g: ModelGraph) -> list[str]:
    return sorted(p.cap.name for p in predict(g, source_table()))


def test_einsum_summing_a_label_of_one_operand_alone() -> None:
    assert einsum_sums_lone_label("fijc,bjkc->bikc") is True  # f: first operand only
    assert einsum_sums_lone_label("ij,jk->ik") is False
    assert einsum_sums_lone_label("...ij,...jk->...ik") is False
    assert einsum_sums_lone_label("ij->j") is None  # one operand: no such fact

    def graph(equation: str) -> ModelGraph:
        g = source_graph([("Einsum", [0, 1], [2], "dmwt/einsum/Einsum")],
                         {0: {"shape": (3, 2, 4)}, 1: {"shape": (4, 5)},
                          2: {"shape": (2, 5)}}, [2])
        g[next(iter(g.ops()))]["attrs"] = {"T": "float32", "equation": equation}
        return g

    assert predicted(graph("fij,jk->ik")) == ["Einsum(label summed in one operand)"]
    assert predicted(graph("ij,jk->ik")) == []


def test_complex64_and_float64_operands_name_their_variant() -> None:
    def graph(op: str, dtype: str) -> ModelGraph:
        t = {"dtype": dtype, "shape": (2, 9)}
        return source_graph([(op, [0, 1], [2], f"layer/{op}")], {0: t, 1: t, 2: t}, [2])

    assert predicted(graph("MatMul", "complex64")) == ["MatMul(complex64)"]
    assert predicted(graph("Sub", "float64")) == ["Sub(float64)"]
    assert predicted(graph("MatMul", "float32")) == []


def test_shape_arithmetic_on_an_unknown_batch_is_computed() -> None:
    """tf.shape(tf.reshape(x, [-1]))[0] holds the batch times the other dims, and
    tf.shape(x)[0] the batch alone: neither is static, so the float64 arithmetic on it is
    not folded (the converter names its ops; the probe ``Sin(positions broadcast to the
    batch)`` kept its SIN float)."""
    def graph(flatten: bool) -> ModelGraph:
        steps = [("Reshape", [0, 9], [1], "p/Reshape")] if flatten else []
        steps += [("Shape", [1 if flatten else 0], [2], "p/Shape"),
                  ("StridedSlice", [2, 10, 11, 11], [3], "p/strided_slice"),
                  ("Cast", [3], [4], "p/Cast"),
                  ("Mul", [4, 12], [5], "p/mul")]
        tensors = {0: {"shape": (None, 4, 4)}, 1: {"shape": (None,)},
                   2: {"dtype": "int32", "shape": (1,)}, 3: {"dtype": "int32", "shape": ()},
                   4: {"dtype": "float64", "shape": ()}, 5: {"dtype": "float64", "shape": ()},
                   9: {"dtype": "int32", "shape": (1,), "constant": True, "value": -1},
                   10: {"dtype": "int32", "shape": (1,), "constant": True, "value": 0},
                   11: {"dtype": "int32", "shape": (1,), "constant": True, "value": 1},
                   12: {"dtype": "float64", "shape": (), "constant": True, "value": 0.5}}
        g = source_graph(steps, tensors, [5])
        for op in g.ops():
            if g[op]["source_op"] == "StridedSlice":
                g[op]["attrs"] = {"T": "int32", "shrink_axis_mask": 1}
        return g

    assert "Mul(float64)" in predicted(graph(flatten=True))
    assert "Mul(float64)" in predicted(graph(flatten=False))


def test_argsort_neg_keeps_a_topk_float_only_when_its_values_are_unused() -> None:
    def sort_graph(values_read: bool) -> ModelGraph:
        """NEG -> TOPK_V2 -> (its values negated again: tf.sort) or (its indices out)."""
        g = ModelGraph("tflite", "sort.tflite", "converted")
        x, n, v, i, o = (g.add_tensor(0, k, name=name, dtype=dt, shape=(1, 8))
                         for k, (name, dt) in enumerate((
                             ("x", "float32"), ("neg", "float32"), ("values", "float32"),
                             ("indices", "int32"), ("out", "float32"))))
        k = g.add_tensor(0, 5, name="k", dtype="int32", shape=(), constant=True)
        g.add_op(0, 0, op_type="NEG", source_op="NEG", name="neg", inputs=[x], outputs=[n])
        g.add_op(0, 1, op_type="TOPK_V2", source_op="TOPK_V2", name="topk", inputs=[n, k],
                 outputs=[v, i])
        if values_read:
            g.add_op(0, 2, op_type="NEG", source_op="NEG", name="neg_1", inputs=[v],
                     outputs=[o])
        out = o if values_read else i
        g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": [x], "outputs": [out]}]
        g.attrs["quant_mode"] = "float"
        return g

    def flagged(values_read: bool) -> list[str]:
        g = sort_graph(values_read)
        return sorted(f.node["op_type"] for f in Int8Readiness().check(g, Context()))

    assert flagged(values_read=True) == ["NEG", "NEG"]
    assert flagged(values_read=False) == ["NEG", "TOPK_V2"]
    # the probed chain's condition, as it reads on the builtin's output slots
    # (Argsort's own probe saw the pair too, on one context: the swept entry decides)
    caps = carrying(carried_pairs(source_table()), "NEG", "TOPK_V2", "float32")
    assert caps[0].name == "InvertPermutation"
    cap = caps[0]
    for values_read in (True, False):
        g = sort_graph(values_read)
        topk = next(op for op in g.ops() if g[op]["op_type"] == "TOPK_V2")
        assert carry_holds(g, topk, cap, "TOPK_V2") is not values_read
        assert (carrier(g, topk, caps, "TOPK_V2") is None) is values_read


def test_keras2_layer_bodies_keep_their_call_scope() -> None:
    """deel-lip's three FullSort layers each call ``tf.sort`` in a function of their own;
    their ops are told apart by the calling layer's scope."""
    path: Path = HELDOUT / "tp23.deel_lip_wasserstein" / "saved_model"
    g = loader_for("savedmodel")(str(path))
    negs = [g[op]["location"] for op in g.ops() if g[op]["source_op"] == "Neg"]
    assert len(negs) == 6 and len(set(negs)) == 6
    assert all(loc.endswith(("/sort/Neg", "/sort/Neg_1")) for loc in negs)
