"""The .tflite loader on real converted models."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, fixture_model

from qlint.loaders.tflite import builtin_name, load_tflite


@pytest.mark.parametrize(("scenario", "mode"), [
    ("int8_cnn", "full-int8"),
    ("float_cnn", "float"),
    ("fp16_cnn", "fp16-weights"),
    ("dynamic_range_cnn", "dynamic-range"),
    ("int16x8_cnn", "int16x8"),
    ("island_cumsum", "mixed"),
    ("float_io_int8", "full-int8"),
    ("uint8_io_int8", "full-int8"),
])
def test_quant_mode_classification(scenario: str, mode: str) -> None:
    assert load_tflite(str(fixture_model(scenario))).quant_mode == mode


def test_graph_matches_the_interpreter_op_list() -> None:
    """Op order, types and tensor dtypes equal what the real interpreter reported."""
    for folder in sorted(p for p in FIXTURES.iterdir() if (p / "scenario.json").is_file()):
        truth = json.loads((folder / "scenario.json").read_text())["ground_truth"]
        graph = load_tflite(str(folder / f"{folder.name}.tflite"))
        ops = list(graph.ops(subgraph=0))
        # The interpreter names a custom op by its custom code.
        names = [graph[o]["attrs"].get("custom_code") or graph[o]["op_type"] for o in ops]
        assert names == [o["op_name"] for o in truth["ops"]], folder.name
        for o, t in zip(ops, truth["ops"], strict=True):
            ins = [graph[i]["dtype"] if i else None for i in graph.inputs(o)]
            assert ins == t["input_dtypes"], (folder.name, t)
            assert [graph[x]["dtype"] for x in graph.outputs(o) if x] == t["output_dtypes"]


def test_per_channel_weights_and_metadata() -> None:
    graph = load_tflite(str(fixture_model("int8_cnn")))
    conv = next(o for o in graph.ops() if graph[o]["op_type"] == "CONV_2D")
    weight = graph[graph.inputs(conv)[1]]
    assert weight["constant"] and weight["dtype"] == "int8"
    assert weight["quant"].per_channel and weight["quant"].axis == 0
    assert len(weight["quant"].scale) == weight["shape"][0]
    assert weight["nbytes"] == weight["shape"][0] * weight["shape"][1] * weight["shape"][2] \
        * weight["shape"][3]
    meta = graph.attrs["metadata"]
    assert meta["conversion"]["tensorflow_version"].startswith("2.")
    assert "PTQ_FULL_INTEGER" in meta["conversion"]["optimization_modes"]
    assert meta["min_runtime_version"][0].isdigit()


def test_dynamic_batch_dimension_from_shape_signature() -> None:
    graph = load_tflite(str(fixture_model("int8_cnn")))
    first_input = graph[graph.attrs["subgraphs"][0]["inputs"][0]]
    assert first_input["shape"][1:] == (16, 16, 3)
    assert first_input["shape"][0] in (None, 1)


def test_subgraphs_and_signatures() -> None:
    graph = load_tflite(str(fixture_model("multi_subgraph")))
    truth = json.loads((FIXTURES / "multi_subgraph" / "scenario.json").read_text())["ground_truth"]
    assert len(graph.attrs["subgraphs"]) == truth["subgraph_count"] > 1
    assert {graph[o]["subgraph"] for o in graph.ops()} == set(range(truth["subgraph_count"]))
    assert graph.attrs["signatures"], "the multi_subgraph fixture has a signature def"
    sig = next(iter(graph.attrs["signatures"].values()))
    for tensor in [*sig["inputs"].values(), *sig["outputs"].values()]:
        assert tensor in graph


def test_custom_op_code() -> None:
    graph = load_tflite(str(fixture_model("custom_op")))
    custom = [graph[o] for o in graph.ops() if graph[o]["op_type"] == "CUSTOM"]
    assert custom
    assert all(c["source_op"] == f"CUSTOM:{c['attrs']['custom_code']}" for c in custom)


def test_sparse_tensor_is_marked() -> None:
    path = FIXTURES / "sparse_dense" / "sparse_dense.tflite"
    if not path.exists():
        pytest.skip("the converter produced no sparse fixture")
    graph = load_tflite(str(path))
    assert any(graph[t].get("sparse") for t in graph.tensors())


def test_unknown_builtin_names() -> None:
    assert builtin_name(3) == "CONV_2D"
    assert builtin_name(4000) == "UNKNOWN_4000"


@pytest.mark.tensorflow
def test_builtin_code_newer_than_the_bindings_is_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(fixture_model("int8_cnn")))
    newest = max(v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_"))
    model.operatorCodes[0].builtinCode = newest + 7
    path = tmp_path / "future.tflite"
    flatbuffer_utils.write_model(model, str(path))
    graph = load_tflite(str(path))
    assert f"UNKNOWN_{newest + 7}" in {graph[o]["op_type"] for o in graph.ops()}


def test_enum_names_read_from_the_bindings_equal_the_imported_classes() -> None:
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.BuiltinOptions import BuiltinOptions
    from tflite.TensorType import TensorType

    from qlint.loaders import tflite as loader

    def names(cls: type) -> dict[int, str]:
        return {v: k for k, v in vars(cls).items() if not k.startswith("_")}

    assert names(BuiltinOperator) == loader._BUILTIN_NAMES
    assert names(BuiltinOptions) == loader._OPTIONS_NAMES
    assert {v: k.lower() for v, k in names(TensorType).items()} == loader._DTYPES
    assert loader._BUILTIN_NAMES[0] == "ADD" and loader._DTYPES[9] == "int8"
