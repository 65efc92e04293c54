"""What the `.tflite` loader hands over in bulk, and the graph's bulk passes, must equal
what the per-node definitions give.

The loader reads every op's slots and every tensor's quantization values as numpy arrays
and gives them to the graph (`ModelGraph.set_bulk`) so rules need not derive them from
the nodes again; a large graph computes its precisions with numpy.  Both are checked here
against the slow definitions on the fixtures (one of them has five subgraphs) and on
copies with mutated quantization fields.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES
from test_quant_screens import mutated_models

from qlint.analysis import bulk_precisions, each_precision
from qlint.errors import ModelLoadError
from qlint.graph import ModelGraph, Quant
from qlint.loaders.tflite import load_tflite
from qlint.quant_columns import quant_values, values_from_nodes
from tools.fuzz import tflite_structure


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> list[ModelGraph]:
    directory = tmp_path_factory.mktemp("bulk")
    paths = sorted(FIXTURES.glob("*/*.tflite")) + mutated_models(directory, per_seed=4,
                                                                 seed=23)
    paths.append(_min_equal_to_max(directory))
    out = []
    for path in paths:
        try:
            out.append(load_tflite(str(path)))
        except ModelLoadError:
            continue
    assert len(out) > 100
    assert any(len(g.attrs["subgraphs"]) > 1 for g in out)
    return out


def _min_equal_to_max(directory: Path) -> Path:
    """The int16x8 fixture (it records min/max) with tensor 0's max set to its min."""
    data = bytearray((FIXTURES / "int16x8_cnn" / "int16x8_cnn.tflite").read_bytes())
    where = {f.label: f.pos for f in tflite_structure(bytes(data)) if f.kind == "scalar"}
    low = "model.subgraphs[0].tensors[0].quantization.min[0]"
    high = "model.subgraphs[0].tensors[0].quantization.max[0]"
    data[where[high]:where[high] + 4] = data[where[low]:where[low] + 4]
    path = directory / "min_equal_to_max.tflite"
    path.write_bytes(bytes(data))
    return path


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


def test_handed_over_slot_positions_equal_the_ids_looked_up(graphs: list[ModelGraph]) -> None:
    for g in graphs:
        handed, looked_up = g.slot_positions(), ModelGraph.slot_positions_from_ids(g)
        assert handed.n_tensors == looked_up.n_tensors, g.path
        for name in ("in_pos", "in_op", "out_pos", "out_op"):
            assert _same(getattr(handed, name), getattr(looked_up, name)), (g.path, name)


def test_handed_over_quant_values_equal_the_nodes(graphs: list[ModelGraph]) -> None:
    seen_per_channel = seen_minmax = False
    for g in graphs:
        handed, read = quant_values(g), values_from_nodes(g)
        for name in ("n_scale", "scale", "n_zp", "zp", "axis", "minmax_equal"):
            assert _same(getattr(handed, name), getattr(read, name)), (g.path, name)
        assert handed.exact_only is read.exact_only is False
        seen_per_channel |= bool((read.n_scale > 1).any())
        seen_minmax |= bool(read.minmax_equal.any())
    assert seen_per_channel and seen_minmax  # the corpus has both kinds


def test_bulk_precisions_equal_the_per_op_ones(graphs: list[ModelGraph]) -> None:
    kinds: set[str] = set()
    for g in graphs:
        each = each_precision(g)
        assert bulk_precisions(g) == each, g.path
        kinds.update(each.values())
    assert {"float", "int8", "conversion", "int"} <= kinds


def test_bulk_precisions_on_absent_slots_constants_and_int16() -> None:
    g = ModelGraph("tflite", "m.tflite", "converted")
    q = Quant((0.5,), (0,))
    t = [g.add_tensor(0, i, name=f"t{i}", dtype=d, shape=(2,), quant=qq, constant=c)
         for i, (d, qq, c) in enumerate([("int16", q, False), ("float32", None, True),
                                          ("int16", None, False), ("int32", None, False),
                                          ("float32", None, False)])]
    g.add_op(0, 0, op_type="ADD", source_op="ADD", name="a", inputs=[t[0], None, t[1]],
             outputs=[t[0]])
    g.add_op(0, 1, op_type="ADD", source_op="ADD", name="b", inputs=[t[2]], outputs=[t[3]])
    g.add_op(0, 2, op_type="CAST", source_op="CAST", name="c", inputs=[t[1]], outputs=[])
    g.add_op(0, 3, op_type="DEQUANTIZE", source_op="DEQUANTIZE", name="d", inputs=[t[0]],
             outputs=[t[4]])
    g.add_op(0, 4, op_type="RELU", source_op="RELU", name="e", inputs=[t[3]], outputs=[t[4]])
    assert bulk_precisions(g) == each_precision(g) == {
        "s0/o0": "int16", "s0/o1": "int", "s0/o2": "none", "s0/o3": "conversion",
        "s0/o4": "float"}


def test_a_graph_built_by_hand_derives_what_no_loader_handed_over(tmp_path: Path) -> None:
    g = ModelGraph("tflite", "m.tflite", "converted")
    a = g.add_tensor(0, 0, name="a", dtype="int8", shape=(2,), quant=Quant((0.5,), (1,)))
    b = g.add_tensor(0, 1, name="b", dtype="int8", shape=(2,))
    g.add_op(0, 0, op_type="RELU", source_op="RELU", name="r", inputs=[a], outputs=[b])
    slots = g.slot_positions()
    assert slots.in_pos.tolist() == [0] and slots.out_pos.tolist() == [1]
    assert quant_values(g).n_scale.tolist() == [1, 0]


def test_weighted_ops_read_input_filter_bias_and_output_slots() -> None:
    from qlint_rules.quant_params.screens import weighted_table

    g = ModelGraph("tflite", "m.tflite", "converted")
    t = [g.add_tensor(0, i, name=f"t{i}", dtype="int8", shape=(2,)) for i in range(6)]
    g.add_op(0, 0, op_type="CONV_2D", source_op="CONV_2D", name="a",
             inputs=[t[0], t[1], None], outputs=[t[2]])
    g.add_op(0, 1, op_type="ADD", source_op="ADD", name="b", inputs=[t[2], t[2]],
             outputs=[t[3]])
    g.add_op(0, 2, op_type="CONV_2D", source_op="CONV_2D", name="c", inputs=[t[3], t[3]],
             outputs=[t[4]])
    g.add_op(0, 3, op_type="FULLY_CONNECTED", source_op="FULLY_CONNECTED", name="d",
             inputs=[t[4]], outputs=[])
    g.add_op(0, 4, op_type="TRANSPOSE_CONV", source_op="TRANSPOSE_CONV", name="e",
             inputs=[t[0], t[1], t[4], t[5]], outputs=[t[5]])
    wt = weighted_table(g)
    assert wt.ops == ["s0/o0", "s0/o2", "s0/o3", "s0/o4"]
    assert wt.x.tolist() == [0, 3, 4, 4]
    assert wt.w.tolist() == [1, 3, -1, 1]
    assert wt.b.tolist() == [-1, -1, -1, 5]
    assert wt.y.tolist() == [2, 4, -1, 5]
    assert wt.channel_axis.tolist() == [0, 0, 0, 0]
    assert wt.w_is_filter.tolist() == [True, False, False, True]
