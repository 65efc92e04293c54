"""Context conditions added from held-out sets 18 and 19: a stateful If on a constant
predicate, a TensorArray read outside a loop, a concatenation of float segment
reductions, identical ops on one input merged (no TensorFlow)."""

from __future__ import annotations

from graph_builders import chain

from qlint.graph import ModelGraph
from qlint.op_facts import op_facts
from qlint.predict.patterns import source_table
from qlint.predict.source import predict, unknown_ops
from qlint.registry import Context
from qlint_rules.int8_readiness import Int8Readiness


def source_graph(steps: list[tuple[str, list[int], list[int], str]],
                 tensors: dict[int, dict[str, object]], outputs: list[int]) -> ModelGraph:
    """A SavedModel graph: ``steps`` of (TF op, input ids, output ids, location)."""
    g = ModelGraph("savedmodel", "model", "source")
    ids = {k: g.add_tensor(0, k, name=f"t{k}", **({"dtype": "float32", "shape": (1, 8)}
                                                   | spec))  # type: ignore[arg-type]
           for k, spec in tensors.items()}
    for k, (op, ins, outs, loc) in enumerate(steps):
        g.add_op(0, k, op_type=op, source_op=op, name=loc.rsplit("/", 1)[-1],
                 inputs=[ids[i] for i in ins], outputs=[ids[o] for o in outs],
                 location=f"serving_default/{loc}", attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default",
                             "inputs": [ids[0]], "outputs": [ids[o] for o in outputs]}]
    return g


def test_stateful_if_on_a_constant_predicate_is_folded() -> None:
    table = source_table()

    def graph(constant: bool) -> ModelGraph:
        pred = {"dtype": "bool", "shape": (), "constant": constant}
        tensors = {0: {}, 1: pred, 2: {}}
        steps = [("If", [1, 0], [2], "cond")]
        if not constant:  # a predicate computed from the input
            tensors[1] = {"dtype": "bool", "shape": ()}
            steps.insert(0, ("Greater", [0], [1], "Greater"))
        return source_graph(steps, tensors, [2])

    assert op_facts(graph(True), next(iter(graph(True).ops())))["first_input_constant"]
    assert predict(graph(True), table) == []
    (p,) = predict(graph(False), table)
    assert p.cap.name == "If" and p.tflite_ops == ("IF",)


def test_tensor_array_read_outside_a_loop_is_known() -> None:
    table = source_table()
    tensors = {0: {"shape": (4, 1, 8)}, 1: {"dtype": "variant", "shape": ()},
               2: {"dtype": "int32", "shape": (), "constant": True}, 3: {}}
    outside = source_graph([("TensorListFromTensor", [0], [1], "TensorArrayUnstack"),
                            ("TensorListGetItem", [1, 2], [3], "TensorArrayV2Read")],
                           tensors, [3])
    assert [op_facts(outside, o)["in_loop_body"] for o in outside.ops()] == [False, False]
    assert predict(outside, table) == [] and unknown_ops(outside, table) == []
    tensors[4] = {"dtype": "int32", "shape": ()}
    looped = source_graph([("TensorListFromTensor", [0], [1], "TensorArrayUnstack"),
                           ("While", [4, 1], [4], "while"),
                           ("TensorListGetItem", [1, 2], [3], "while/body/TensorArrayV2Read")],
                          tensors, [3])
    facts = [op_facts(looped, o)["in_loop_body"] for o in looped.ops()]
    assert facts == [False, False, True]
    # the read inside the loop's body has no verdict: named, not passed as fine
    assert "TensorListGetItem" in {u.name for u in unknown_ops(looped, table)}


def test_concatenation_of_float_segment_sums_stays_float() -> None:
    def flagged(g: ModelGraph) -> list[str]:
        return [f.node["op_type"] for f in Int8Readiness().check(g, Context())]

    assert flagged(chain([("UNSORTED_SEGMENT_SUM", "float32"),
                          ("CONCATENATION", "float32")])) == [
        "UNSORTED_SEGMENT_SUM", "CONCATENATION"]
    assert flagged(chain([("ADD", "float32"), ("CONCATENATION", "float32")])) == []


def test_identical_ops_on_one_input_are_one_op() -> None:
    table = source_table()
    ints = {"dtype": "int32", "shape": (1, 16)}
    flt = {"dtype": "float32", "shape": (1, 16)}

    def graph(same_input: bool) -> ModelGraph:
        tensors = {0: ints, 1: ints, 2: flt, 3: flt}
        second = 0 if same_input else 1
        g = source_graph([("Cast", [0], [2], "encoder/Cast"),
                          ("Cast", [second], [3], "decoder/Cast")], tensors, [2, 3])
        for op in g.ops():
            g[op]["attrs"] = {"SrcT": "int32", "DstT": "float32"}
        return g

    # the converter merges a BART encoder's and decoder's Cast of one mask into one CAST
    assert [p.cap.name for p in predict(graph(True), table)] == ["Cast(int32->float32)"]
    assert len(predict(graph(False), table)) == 2


def test_readers_of_a_concatenated_float_elu_stay_float() -> None:
    def flagged(g: ModelGraph) -> list[str]:
        return sorted(f.node["op_type"] for f in Int8Readiness().check(g, Context()))

    def vnet(joined: bool) -> ModelGraph:
        """ELU -> CONV_2D, and (``joined``) the ELU concatenated with the model input."""
        g = ModelGraph("tflite", "vnet.tflite", "converted")
        x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 8, 8, 4))
        k = g.add_tensor(0, 1, name="k", dtype="float32", shape=(4, 3, 3, 4), constant=True)
        e, y, c = (g.add_tensor(0, 2 + i, name=n, dtype="float32", shape=(1, 8, 8, 4))
                   for i, n in enumerate(("elu", "conv", "concat")))
        g.add_op(0, 0, op_type="ELU", source_op="ELU", name="elu", inputs=[x], outputs=[e])
        g.add_op(0, 1, op_type="CONV_2D", source_op="CONV_2D", name="conv", inputs=[e, k],
                 outputs=[y])
        outs = [y]
        if joined:
            g.add_op(0, 2, op_type="CONCATENATION", source_op="CONCATENATION", name="concat",
                     inputs=[e, x], outputs=[c])
            outs.append(c)
        g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": [x], "outputs": outs}]
        g.attrs["quant_mode"] = "float"
        return g

    assert flagged(vnet(True)) == ["CONCATENATION", "CONV_2D", "ELU"]
    assert flagged(vnet(False)) == ["ELU"]  # the same CONV_2D, no concatenation: int8
