"""The .tflite loader on real converted models."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_schema_module_is_what_the_generator_writes() -> None:
    """``linter/qlint/loaders/tflite_schema.py`` is regenerated from the installed wheels'
    schema byte for byte (run ``python -m tools.gen_tflite_schema`` after an upgrade)."""
    pytest.importorskip("ai_edge_litert")
    from tools import gen_tflite_schema

    assert gen_tflite_schema.render() == gen_tflite_schema.OUTPUT.read_text("utf-8")


def test_schema_names_equal_the_litert_classes() -> None:
    """The generated enums are those of the real schema module (LiteRT's flatc output)."""
    generated = pytest.importorskip("ai_edge_litert.schema_py_generated")
    from qlint.loaders import tflite_schema

    def names(cls: type) -> dict[int, str]:
        return {v: k for k, v in vars(cls).items() if not k.startswith("_")}

    assert names(generated.BuiltinOperator) == tflite_schema.BUILTIN_OPERATORS
    assert names(generated.BuiltinOptions) == tflite_schema.BUILTIN_OPTIONS
    assert {v: k.lower() for v, k in names(generated.TensorType).items()} \
        == tflite_schema.TENSOR_TYPES
    assert tflite_schema.TENSOR_TYPES[17] == "int4" and tflite_schema.TENSOR_TYPES[19] == "int2"
    assert tflite_schema.QUANTIZATION_DETAILS[2] == "BlockwiseQuantization"
    assert tflite_schema.TABLES["BlockwiseQuantization"][2] == ("block_size", "int")


def _blockwise_model(tmp_path: Path, scales: int | None = None,
                     types: dict[int, int] | None = None) -> Path:
    """The float CNN fixture rewritten with LiteRT's own schema writer: the first
    FULLY_CONNECTED or CONV_2D weight becomes int4 with BlockwiseQuantization details
    (block size 32, a new float16 scales tensor), and ``types`` retypes tensors."""
    generated = pytest.importorskip("ai_edge_litert.schema_py_generated")
    import flatbuffers

    buf = fixture_model("float_cnn").read_bytes()
    model = generated.ModelT.InitFromPackedBuf(buf, 0)
    sg = model.subgraphs[0]
    op = next(o for o in sg.operators
              if model.operatorCodes[o.opcodeIndex].builtinCode in (3, 9))
    weight = sg.tensors[op.inputs[1]]
    weight.type = generated.TensorType.INT4
    scale_tensor = generated.TensorT()
    scale_tensor.name, scale_tensor.type = b"weight_scales", generated.TensorType.FLOAT16
    scale_tensor.shape = [weight.shape[0], 2]
    scale_buffer = generated.BufferT()
    scale_buffer.data = [0] * (2 * weight.shape[0] * 2)
    model.buffers.append(scale_buffer)
    scale_tensor.buffer = len(model.buffers) - 1
    sg.tensors.append(scale_tensor)
    details = generated.BlockwiseQuantizationT()
    details.scales = len(sg.tensors) - 1 if scales is None else scales
    details.zeroPoints, details.blockSize = -1, 32
    quant = generated.QuantizationParametersT()
    quant.detailsType = generated.QuantizationDetails.BlockwiseQuantization
    quant.details = details
    weight.quantization = quant
    for index, code in (types or {}).items():
        sg.tensors[index].type = code
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "blockwise.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def test_blockwise_int4_weights_are_read_into_quant(tmp_path: Path) -> None:
    graph = load_tflite(str(_blockwise_model(tmp_path)))
    weights = [t for t in graph.tensors() if graph[t]["quant"] is not None]
    assert len(weights) == 1
    w = graph[weights[0]]
    assert w["dtype"] == "int4" and w["constant"]
    q = w["quant"]
    assert q.blockwise and q.block_size == 32 and not q.has_params
    assert graph[q.block_scales]["name"] == "weight_scales"
    assert graph[q.block_scales]["dtype"] == "float16"
    assert q.block_zero_points is None
    assert q.as_dict()["blockwise"] == {"block_size": 32, "scales": q.block_scales,
                                        "zero_points": None}
    assert graph.quant_mode == "blockwise-int4-weights"


def test_blockwise_scales_tensor_out_of_range_is_corrupt(tmp_path: Path) -> None:
    from qlint.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match=r"blockwise details point at scales tensor 9999"):
        load_tflite(str(_blockwise_model(tmp_path, scales=9999)))


def test_newest_tensor_types_are_named(tmp_path: Path) -> None:
    """int2, uint4 and the float8 types of the newest schema have numpy-style names; a
    type newer than the schema is ``unknown_<n>``."""
    graph = load_tflite(str(_blockwise_model(tmp_path, types={0: 19, 1: 20, 2: 21, 3: 99})))
    dtypes = [graph[f"s0/t{i}"]["dtype"] for i in range(4)]
    assert dtypes == ["int2", "uint4", "float8_e4m3fn", "unknown_99"]


def test_loading_imports_neither_flatbuffers_nor_the_bindings() -> None:
    """The loader reads the file with its own reader and the generated schema module."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from qlint.loaders.tflite import load_tflite\n"
        f"load_tflite({str(fixture_model('int8_cnn'))!r})\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flatbuffers', 'tflite', 'ai_edge_litert', 'tensorflow')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_blockwise_int4_weights_have_no_missing_params_finding(tmp_path: Path) -> None:
    """Blockwise parameters live in the tensors the details name: QL301 does not call the
    int4 weight unquantized (the real interpreter prepares and runs such models)."""
    import qlint

    path = _blockwise_model(tmp_path)
    report = qlint.lint([str(path)], select=["QL3"])
    assert report.models[0].error is None
    assert report.models[0].quant_mode == "blockwise-int4-weights"
    assert [f.rule for f in report.findings] == []
