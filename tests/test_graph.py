"""The IR: navigation helpers, precision, float islands, quantization mode."""

from __future__ import annotations

import pytest
from graph_builders import Q8, chain

from qlint.analysis import compute_precision, islands, precisions
from qlint.graph import ModelGraph, Quant
from qlint.quant_mode import classify_quant_mode


def test_slots_keep_positions_and_optional_gaps() -> None:
    g = ModelGraph("tflite", "m.tflite", "converted")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4))
    w = g.add_tensor(0, 1, name="w", dtype="float32", shape=(4, 4), constant=True, nbytes=64)
    y = g.add_tensor(0, 2, name="y", dtype="float32", shape=(1, 4))
    op = g.add_op(0, 0, op_type="FULLY_CONNECTED", source_op="FULLY_CONNECTED", name="y",
                  inputs=[x, w, None], outputs=[y])
    assert g.inputs(op) == [x, w, None]  # an absent optional input keeps its slot
    op2 = g.add_op(0, 1, op_type="MUL", source_op="MUL", name="z",
                   inputs=[y, y], outputs=[])
    assert g.inputs(op2) == [y, y]  # the same tensor twice: a multigraph keeps both
    assert g.consumers(y) == [op2]
    assert g.producer(y) == op
    assert g.producer(w) is None
    assert g.activations(op) == [x, y]  # the constant weight is not an activation
    g3 = g.add_op(0, 2, op_type="CONV_2D", source_op="CONV_2D", name="c",
                  inputs=[x, None, w], outputs=[])
    assert g.inputs(g3) == [x, None, w]


def test_compute_precision() -> None:
    g = chain([("QUANTIZE", "int8"), ("ADD", "int8"), ("DEQUANTIZE", "float32"),
               ("SIN", "float32")], io_dtype="float32")
    ops = list(g.ops())
    assert [compute_precision(g, o) for o in ops] == ["conversion", "int8", "conversion", "float"]


def test_islands_are_grouped_per_connected_float_region() -> None:
    g = chain([
        ("ADD", "int8"), ("DEQUANTIZE", "float32"), ("CUMSUM", "float32"), ("SIN", "float32"),
        ("QUANTIZE", "int8"), ("MUL", "int8"), ("DEQUANTIZE", "float32"),
        ("FLOOR", "float32"), ("QUANTIZE", "int8"),
    ])
    found = islands(g)
    assert [[g[o]["op_type"] for o in isl.ops] for isl in found] == [["CUMSUM", "SIN"],
                                                                     ["FLOOR"]]
    first = found[0]
    assert [g[o]["op_type"] for o in first.entries] == ["DEQUANTIZE"]
    assert [g[o]["op_type"] for o in first.exits] == ["QUANTIZE"]
    assert g.quant_mode == "mixed"


def test_float_model_has_no_islands() -> None:
    g = chain([("CONV_2D", "float32"), ("CUMSUM", "float32")])
    assert islands(g) == []
    assert g.quant_mode == "float"


def test_quant_modes_from_constants() -> None:
    def with_weight(dtype: str, quant: Quant | None) -> ModelGraph:
        g = ModelGraph("tflite", "m.tflite", "converted")
        x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4))
        w = g.add_tensor(0, 1, name="w", dtype=dtype, shape=(4, 4), constant=True,
                         nbytes=16, quant=quant)
        y = g.add_tensor(0, 2, name="y", dtype="float32", shape=(1, 4))
        g.add_op(0, 0, op_type="FULLY_CONNECTED", source_op="FULLY_CONNECTED", name="y",
                 inputs=[x, w], outputs=[y])
        return g

    assert classify_quant_mode(with_weight("float32", None)) == "float"
    assert classify_quant_mode(with_weight("float16", None)) == "fp16-weights"
    assert classify_quant_mode(with_weight("int8", Q8)) == "dynamic-range"
    assert classify_quant_mode(chain([("ADD", "int8")])) == "full-int8"
    assert classify_quant_mode(chain([("ADD", "int16")])) == "int16x8"


def test_unquantized_uint8_data_leaves_a_float_model_float() -> None:
    """A float model that casts a mask to uint8 (HF DeBERTa-v2's attention mask) holds a
    uint8 tensor with no quantization parameters: plain integer data, not a quantized
    activation, so the model is float, has no island, and is read as a float model."""
    from qlint.analysis import compute_precision

    g = ModelGraph("tflite", "m.tflite", "converted")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4))
    ids = g.add_tensor(0, 1, name="ids", dtype="int32", shape=(1, 4))
    mask = g.add_tensor(0, 2, name="mask", dtype="uint8", shape=(1, 4))
    y = g.add_tensor(0, 3, name="y", dtype="float32", shape=(1, 4))
    g.add_op(0, 0, op_type="CAST", source_op="CAST", name="mask", inputs=[ids],
             outputs=[mask])
    g.add_op(0, 1, op_type="EXP", source_op="EXP", name="y", inputs=[x], outputs=[y])
    assert compute_precision(g, next(iter(g.ops()))) == "int"
    assert classify_quant_mode(g) == "float"
    assert islands(g) == []
    quantized = chain([("CAST", "uint8")], io_dtype="int32")  # uint8 with quantization
    assert compute_precision(quantized, next(iter(quantized.ops()))) == "int8"


def test_locations_name_subgraph_index_and_type() -> None:
    g = chain([("ADD", "int8")])
    op = next(g.ops())
    assert g[op]["location"] == "subgraph[0]/op[0]:ADD(t1)"
    assert g["s0/t0"]["location"] == "subgraph[0]/tensor[0](input)"


def _bulk_and_single() -> tuple[ModelGraph, ModelGraph]:
    """The same two-op graph built with add_tensors/add_ops and with add_tensor/add_op."""
    q = Quant(scale=(0.5,), zero_point=(3,))
    cols = (["x", "w", "y", "z"], ["int8", "int8", "int8", "float32"],
            [(1, 4), (4, 4), (1, 4), None], [q, q, q, None], [False, True, False, False],
            [4, 16, 4, 0])
    bulk = ModelGraph("tflite", "m.tflite", "converted")
    t = bulk.add_tensors(0, *cols, extra={1: {"sparse": True}})
    bulk.add_ops(0, ["FULLY_CONNECTED", "DEQUANTIZE"], ["FULLY_CONNECTED", "DEQUANTIZE"],
                 ["y", "z"], [[t[0], t[1], None], [t[2]]], [[t[2]], [t[3]]],
                 [{"version": 1}, {}])
    single = ModelGraph("tflite", "m.tflite", "converted")
    s = [single.add_tensor(0, i, name=n, dtype=d, shape=sh, quant=qq, constant=c, nbytes=nb,
                           **({"sparse": True} if i == 1 else {}))
         for i, (n, d, sh, qq, c, nb) in enumerate(zip(*cols, strict=True))]
    single.add_op(0, 0, op_type="FULLY_CONNECTED", source_op="FULLY_CONNECTED", name="y",
                  inputs=[s[0], s[1], None], outputs=[s[2]], attrs={"version": 1},
                  location="subgraph[0]/op[0]:FULLY_CONNECTED(y)")
    single.add_op(0, 1, op_type="DEQUANTIZE", source_op="DEQUANTIZE", name="z",
                  inputs=[s[2]], outputs=[s[3]], location="subgraph[0]/op[1]:DEQUANTIZE(z)")
    return bulk, single


def test_bulk_building_equals_one_node_at_a_time() -> None:
    a, b = _bulk_and_single()
    assert list(a.ops()) == list(b.ops()) and list(a.tensors()) == list(b.tensors())
    for node in [*a.ops(), *a.tensors()]:
        assert a[node] == b[node]
    for op in a.ops():
        assert a.inputs(op) == b.inputs(op) and a.outputs(op) == b.outputs(op)
    for t in a.tensors():
        assert a.consumers(t) == b.consumers(t) and a.producer(t) == b.producer(t)
    assert a["s0/t1"]["sparse"] is True
    for g in (a, b):  # the positional views agree with the id lookups
        assert [(op, g[op], slots) for op, _, slots in g.op_nodes()] == [
            (op, g[op], (tuple(g.inputs(op)), tuple(g.outputs(op)))) for op in g.ops()]
        assert list(g.tensor_nodes()) == [(t, g[t]) for t in g.tensors()]
        assert g.tensor_table() == (list(g.tensors()), [g[t] for t in g.tensors()])
        assert g.slots("s0/o0") == (("s0/t0", "s0/t1", None), ("s0/t2",))
        assert dict(precisions(g)) == {"s0/o0": "int8", "s0/o1": "conversion"}
        with pytest.raises(TypeError):
            precisions(g)["s0/o0"] = "float"  # type: ignore[index]
    unused = a.add_tensor(0, 9, name="u", dtype="int8", shape=())
    assert a.used("s0/t0") and a.used("s0/t3") and not a.used(unused)
    assert a.used_tensors() == {"s0/t0", "s0/t1", "s0/t2", "s0/t3"}
    assert [t for t, _ in a.tensor_nodes()][-1] == unused
    with pytest.raises(KeyError):
        a.slots("s0/o7")
    assert a.slots(unused) == ((), ())


def test_networkx_view_is_built_on_demand_with_the_same_attributes() -> None:
    bulk, _ = _bulk_and_single()
    g = bulk.g
    assert g is bulk.g  # built once
    assert g.number_of_nodes() == 6
    edges = sorted((u, v, d["slot"]) for u, v, d in g.edges(data=True))
    assert edges == [("s0/o0", "s0/t2", 0), ("s0/o1", "s0/t3", 0), ("s0/t0", "s0/o0", 0),
                     ("s0/t1", "s0/o0", 1), ("s0/t2", "s0/o1", 0)]
    assert all(g.nodes[n] == bulk[n] for n in g)  # the same attributes, copied
    assert g.nodes["s0/t0"]["quant"] is bulk["s0/t0"]["quant"]
    assert g.graph == bulk.attrs


def test_derived_facts_are_cached_until_the_graph_changes() -> None:
    bulk, _ = _bulk_and_single()
    calls: list[int] = []

    def count(g: ModelGraph) -> int:
        calls.append(1)
        return len(g)

    assert bulk.derived(count) == 2 and bulk.derived(count) == 2
    assert len(calls) == 1
    assert bulk.ops_of_type({"DEQUANTIZE", "FULLY_CONNECTED"}) == ["s0/o0", "s0/o1"]
    assert compute_precision(bulk, "s0/o0") == "int8"
    x = bulk.add_tensor(1, 0, name="a", dtype="float32", shape=(1,))
    bulk.add_op(1, 0, op_type="SIN", source_op="SIN", name="a", inputs=[x], outputs=[])
    assert bulk.derived(count) == 3 and len(calls) == 2
    assert bulk.ops_of_type(["SIN"]) == ["s1/o0"]


def test_unknown_tensors_and_duplicate_nodes_are_refused() -> None:
    import pytest

    g = ModelGraph("tflite", "m.tflite", "converted")
    t = g.add_tensors(0, ["x"], ["int8"], [(1,)], [None], [False], [1])
    with pytest.raises(KeyError):
        g.add_op(0, 0, op_type="ADD", source_op="ADD", name="a", inputs=["s0/t9"], outputs=t)
    with pytest.raises(ValueError):
        g.add_tensors(0, ["x"], ["int8"], [(1,)], [None], [False], [1])
