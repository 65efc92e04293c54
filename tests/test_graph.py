"""The IR: navigation helpers, precision, float islands, quantization mode."""

from __future__ import annotations

from graph_builders import Q8, chain
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
    assert [g.compute_precision(o) for o in ops] == ["conversion", "int8", "conversion", "float"]


def test_islands_are_grouped_per_connected_float_region() -> None:
    g = chain([
        ("ADD", "int8"), ("DEQUANTIZE", "float32"), ("CUMSUM", "float32"), ("SIN", "float32"),
        ("QUANTIZE", "int8"), ("MUL", "int8"), ("DEQUANTIZE", "float32"),
        ("FLOOR", "float32"), ("QUANTIZE", "int8"),
    ])
    islands = g.islands()
    assert [[g[o]["op_type"] for o in isl.ops] for isl in islands] == [["CUMSUM", "SIN"],
                                                                       ["FLOOR"]]
    first = islands[0]
    assert [g[o]["op_type"] for o in first.entries] == ["DEQUANTIZE"]
    assert [g[o]["op_type"] for o in first.exits] == ["QUANTIZE"]
    assert g.quant_mode == "mixed"


def test_float_model_has_no_islands() -> None:
    g = chain([("CONV_2D", "float32"), ("CUMSUM", "float32")])
    assert g.islands() == []
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


def test_locations_name_subgraph_index_and_type() -> None:
    g = chain([("ADD", "int8")])
    op = next(g.ops())
    assert g[op]["location"] == "subgraph[0]/op[0]:ADD(t1)"
    assert g["s0/t0"]["location"] == "subgraph[0]/tensor[0](input)"
