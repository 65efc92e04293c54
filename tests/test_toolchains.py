"""Models from the quantization toolchains besides TFLiteConverter, read and judged right.

The models are committed with the script that rebuilds them (``fixtures/build_toolchains.py``)
and its measurements (``fixtures/<part>/measured.json``): Vela 5.2.0 output, TFMOT 0.8.1 QAT
models saved by tf_keras 2.21 as ``.keras``, ``.h5`` and SavedModel, custom layer classes
saved by tf_keras and Keras 3, and a float model quantized by ai-edge-quantizer 0.10.0 with
every recipe the package defines.  Tests marked ``tensorflow`` run the real tools again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from qlint.api import lint
from qlint.finding import Finding

VELA = FIXTURES / "vela"
QAT = FIXTURES / "qat"
AEQ = FIXTURES / "quantizer_recipes"


def measured(part: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((part / "measured.json").read_text(encoding="utf-8"))
    return data


def findings(path: Path, target: str | None = None) -> list[Finding]:
    report = lint([str(path)], target=target)
    assert not report.unreadable, [m.error for m in report.unreadable]
    return report.findings


def by_rule(found: list[Finding]) -> Counter[str]:
    return Counter(f.rule for f in found)


# -- Vela output (QL105) ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["int8_cnn", "island_cumsum"])
def test_vela_output_is_recognised_and_its_buffers_left_alone(name: str) -> None:
    found = findings(VELA / f"{name}_vela.tflite")
    rules = by_rule(found)
    assert rules["QL105"] == 1
    assert not [f for f in found if f.rule.startswith("QL3") or f.rule == "QL104"], found
    (npu,) = [f for f in found if f.rule == "QL105"]
    assert npu.severity.value == "info"
    truth = measured(VELA)["models"][name]
    cpu_types = truth["cpu_operator_types"]
    if cpu_types:
        assert f"{len(cpu_types)} ops left for the CPU" in npu.message
        for op_type in cpu_types:
            assert op_type in npu.message
    else:
        assert "no op is left for the CPU" in npu.message


def test_vela_cpu_float_island_is_still_found() -> None:
    found = findings(VELA / "island_cumsum_vela.tflite")
    islands = [f for f in found if f.rule == "QL103"]
    assert len(islands) == 1 and "CUMSUM" in islands[0].message


def test_model_before_vela_has_no_npu_finding() -> None:
    assert by_rule(findings(FIXTURES / "int8_cnn" / "int8_cnn.tflite"))["QL105"] == 0


def test_a_custom_op_that_is_not_ethos_u_is_still_flagged() -> None:
    assert by_rule(findings(FIXTURES / "custom_op" / "custom_op.tflite"))["QL104"] == 1


@pytest.mark.skipif(shutil.which("vela") is None and not (Path(sys.executable).parent /
                                                          "vela").exists(),
                    reason="ethos-u-vela not installed (test extra)")
def test_vela_rebuilds_the_committed_output(tmp_path: Path) -> None:
    vela = shutil.which("vela") or str(Path(sys.executable).parent / "vela")
    src = FIXTURES / "int8_cnn" / "int8_cnn.tflite"
    subprocess.run([vela, "--accelerator-config", "ethos-u55-128", "--output-dir",
                    str(tmp_path), str(src)], check=True, capture_output=True)
    assert (tmp_path / "int8_cnn_vela.tflite").read_bytes() == \
        (VELA / "int8_cnn_vela.tflite").read_bytes()


@pytest.mark.tensorflow
def test_stock_interpreter_refuses_vela_output() -> None:
    tf = pytest.importorskip("tensorflow")
    interp = tf.lite.Interpreter(model_path=str(VELA / "int8_cnn_vela.tflite"))
    with pytest.raises(RuntimeError, match="Encountered unresolved custom op: ethos-u"):
        interp.allocate_tensors()


# -- TFMOT QAT and custom classes (QL112, QL120, QL121, QL122) ---------------------------------

QAT_FILES = ["qat_cnn.keras", "qat_cnn.h5", "qat_cnn_savedmodel"]
PARTIAL_FILES = ["qat_partial.keras", "qat_partial.h5", "qat_partial_savedmodel"]


@pytest.mark.parametrize("name", QAT_FILES)
def test_full_qat_model_reads_through_its_wrappers(name: str) -> None:
    rules = by_rule(findings(QAT / name))
    assert rules["QL112"] == 0  # the wrappers are QAT structure, not opaque layers
    assert rules["QL120"] == 0  # every layer is covered
    assert rules["QL121"] == 1  # TF 2.21 strict int8 still wants a dataset
    assert not [r for r in rules if r.startswith("QL11") and r != "QL112"], rules


def test_wrapped_layer_is_what_is_linted() -> None:
    from qlint.loaders.keras import load_keras

    for name in ("qat_cnn.keras", "qat_cnn.h5"):
        g = load_keras(str(QAT / name))
        ops = {g[op]["name"]: g[op] for op in g.ops()}
        conv = ops["quant_conv"]
        assert conv["source_op"] == "Conv2D"  # lowered like any Conv2D layer (keras.Conv2D)
        assert conv["op_type"] == "keras.Conv2D"
        assert conv["attrs"]["activation"] == "relu"
        assert conv["attrs"]["qat"]["wrapper"] == "QuantizeWrapperV2"
        assert ops["quantize_layer"]["attrs"]["qat"]["role"] == "quantize"
        assert not any(n["attrs"].get("opaque") for n in ops.values())


@pytest.mark.parametrize("name", PARTIAL_FILES)
def test_partly_quantized_model_names_the_unwrapped_layer(name: str) -> None:
    found = [f for f in findings(QAT / name) if f.rule == "QL120"]
    assert len(found) == 1, found
    assert "head" in found[0].location


def test_partial_qat_measurement_backs_the_finding() -> None:
    """The unwrapped Dense stays float when the partial QAT model is converted."""
    conv = measured(QAT)["conversions"]["qat_partial:from_saved_model:default_only"]
    assert conv["float_ops"] == ["FULLY_CONNECTED"]
    found = findings(QAT / "qat_partial_default.tflite")
    islands = [f for f in found if f.rule == "QL103"]
    assert len(islands) == 1 and "FULLY_CONNECTED" in islands[0].message


@pytest.mark.parametrize("name", ["custom_layers_tfk.keras", "custom_layers_tfk.h5",
                                  "custom_layers_k3.keras", "custom_layers_k3.h5"])
def test_every_custom_class_is_opaque(name: str) -> None:
    """Unregistered (module None, registered_name = class name, or no module at all in .h5)
    and registered (``demo>Shift1``) custom classes alike."""
    opaque = sorted(f.location for f in findings(QAT / name) if f.rule == "QL112")
    assert opaque == ["scale", "shift"]


def test_qat_dataset_finding_depends_on_the_target() -> None:
    assert by_rule(findings(QAT / "qat_cnn.keras", target="tflite-int16x8"))["QL121"] == 0
    assert by_rule(findings(QAT / "qat_cnn.keras", target="tflm-int8"))["QL121"] == 1
    assert by_rule(findings(FIXTURES / "source" / "Cumsum" / "saved_model"))["QL121"] == 0


def test_qat_dataset_finding_quotes_the_measured_error() -> None:
    (f,) = [f for f in findings(QAT / "qat_cnn_savedmodel") if f.rule == "QL121"]
    conv = measured(QAT)["conversions"]
    failed = [k for k, v in conv.items() if "strict_int8" in k and not v["converted"]]
    assert len(failed) == 4  # from_saved_model and from_keras_model, with and without int8 I/O
    assert all(conv[k]["error"] in f.message for k in failed)
    passed = [k for k, v in conv.items() if k.endswith("default_only") or
              k.endswith("with_dataset")]
    assert all(conv[k]["converted"] for k in passed)


@pytest.mark.parametrize("name", ["qat_cnn.keras", "qat_cnn.h5", "qat_cnn_savedmodel",
                                  "custom_layers_tfk.h5"])
def test_keras2_files_get_a_note(name: str) -> None:
    notes = [f for f in findings(QAT / name) if f.rule == "QL122"
             and f.record != "tensorflow/keras3-legacy-h5-training-config"]
    assert len(notes) == 1 and notes[0].severity.value == "info"
    assert "tf_keras" in notes[0].message


def test_qat_h5_compiled_with_mse_gets_the_loss_note() -> None:
    """fixtures/qat models are compiled with loss="mse" (fixtures/build_toolchains.py)."""
    notes = [f for f in findings(QAT / "qat_cnn.h5")
             if f.record == "tensorflow/keras3-legacy-h5-training-config"]
    assert len(notes) == 1 and "the loss 'mse'" in notes[0].message
    assert "compile=False" in notes[0].fix


@pytest.mark.parametrize("path", ["qat/custom_layers_k3.keras", "qat/custom_layers_k3.h5",
                                  "source/Cumsum/saved_model"])
def test_keras3_files_get_no_keras2_note(path: str) -> None:
    assert by_rule(findings(FIXTURES / path))["QL122"] == 0


@pytest.mark.parametrize("name", ["qat_cnn_default.tflite", "qat_partial_default.tflite"])
def test_converted_qat_models_have_no_false_errors(name: str) -> None:
    errors = [f for f in findings(QAT / name) if f.severity.value == "error"
              and f.rule != "QL103"]
    assert errors == []
    conv = measured(QAT)["conversions"]
    key = ("from_saved_model:default_only" if name.startswith("qat_cnn")
           else "qat_partial:from_saved_model:default_only")
    assert all(r["ok"] for r in conv[key]["interpreter"].values())


# -- quantization mode vs target (QL510) -------------------------------------------------------


def _ql510(scenario: str, target: str) -> list[Finding]:
    return [f for f in findings(FIXTURES / scenario / f"{scenario}.tflite", target=target)
            if f.rule == "QL510"]


@pytest.mark.parametrize(("scenario", "target", "severity"), [
    ("dynamic_range_cnn", "tflm-int8", "error"),
    ("fp16_cnn", "tflm-int8", "error"),
    ("int16x8_cnn", "tflm-int8", "warning"),
    ("dynamic_range_cnn", "tflite-int8", "warning"),
    ("fp16_cnn", "tflite-int8", "warning"),
    ("int16x8_cnn", "tflite-int8", "warning"),
])
def test_quant_mode_under_an_int8_target(scenario: str, target: str, severity: str) -> None:
    (f,) = _ql510(scenario, target)
    assert f.severity.value == severity
    assert "TFLITE_BUILTINS_INT8" in f.message or "representative" in f.message \
        or "supported_types" in f.message


def test_tflm_refusal_quotes_the_measured_message() -> None:
    from qlint_rules.quant_mode_target import measured as table

    (f,) = _ql510("dynamic_range_cnn", "tflm-int8")
    message = table()["modes"]["dynamic-range"]["runtimes"]["tflm"]["message"]
    assert "Input type: FLOAT32 with filter type: INT8 not supported" in message
    assert message in f.message


@pytest.mark.parametrize(("scenario", "target"), [
    ("int8_cnn", "tflm-int8"), ("int8_cnn", "tflite-int8"), ("float_cnn", "tflite-int8"),
    ("int16x8_cnn", "tflite-int16x8"), ("dynamic_range_cnn", "tflite-int16x8"),
])
def test_no_quant_mode_finding(scenario: str, target: str) -> None:
    assert _ql510(scenario, target) == []


def test_measured_table_agrees_with_the_modes() -> None:
    """Full-int8 runs everywhere; TFLM refuses the float-compute modes, runs int16x8."""
    from qlint_rules.quant_mode_target import measured as table

    modes = table()["modes"]
    assert all(r["runs"] for r in modes["full-int8"]["runtimes"].values())
    assert not modes["dynamic-range"]["runtimes"]["tflm"]["runs"]
    assert not modes["fp16-weights"]["runtimes"]["tflm"]["runs"]
    assert modes["int16x8"]["runtimes"]["tflm"]["runs"]
    for mode in ("dynamic-range", "fp16-weights", "int16x8"):
        assert modes[mode]["runtimes"]["tflite"]["runs"]


def _table_modes() -> list[str]:
    from qlint_rules.quant_mode_target import measured as table

    return sorted(table()["modes"])


@pytest.mark.parametrize("mode", _table_modes())
def test_each_measured_model_is_of_its_mode(mode: str) -> None:
    from qlint.loaders.tflite import load_tflite
    from qlint.quant_mode import classify_quant_mode
    from qlint_rules.quant_mode_target import measured as table

    model = table()["modes"][mode]["model"]
    assert classify_quant_mode(load_tflite(str(FIXTURES.parent / model))) == mode


@pytest.mark.tensorflow
def test_reprobe_tflm_on_the_dynamic_range_fixture() -> None:
    pytest.importorskip("tflite_micro")
    from qlint_rules.quant_mode_target import measured as table
    from tools.probe_quant_modes import run

    model = FIXTURES / "dynamic_range_cnn" / "dynamic_range_cnn.tflite"
    assert run("tflm", model) == table()["modes"]["dynamic-range"]["runtimes"]["tflm"]


# -- ai-edge-quantizer (every recipe) ----------------------------------------------------------


def _aeq_results() -> dict[str, Any]:
    results: dict[str, Any] = measured(AEQ)["recipes"]
    return results


def test_every_recipe_was_tried() -> None:
    pytest.importorskip("ai_edge_quantizer")
    from fixtures.build_toolchains import aeq_recipes

    assert set(_aeq_results()) == set(aeq_recipes())


def test_failed_recipes_are_the_per_signature_ones() -> None:
    """Recipes keyed by a LiteRT-LM model's signatures do not apply to a one-signature model."""
    failed = {k for k, v in _aeq_results().items() if not v["quantized"]}
    assert failed == {"gemma4_mixed48", "gemma4_mixed48_b32", "gemma4_mixed48_b64",
                      "gemma4_mixed48_hr", "json:dynamic_wi8_afp32_litertlm_recipe"}


QUANTIZED = sorted(k for k, v in _aeq_results().items() if v["quantized"])


@pytest.mark.parametrize("recipe", QUANTIZED)
def test_aeq_output_is_read_and_has_no_false_error(recipe: str) -> None:
    """Blockwise int4 weights included: their BlockwiseQuantization details are read."""
    entry = _aeq_results()[recipe]
    runs = entry["interpreter"]
    assert runs["tf.lite builtin-only"]["ok"] and runs["ai_edge_litert builtin-only"]["ok"]
    found = findings(AEQ / entry["file"])
    errors = [f for f in found if f.severity.value == "error" and f.rule != "QL103"]
    if all(r["ok"] for r in runs.values()):
        assert errors == [], [f.message for f in errors]
    else:  # the default XNNPACK delegate refuses it: the quantization-mode refusal and
        # the delegate's own (QL106) only
        assert {f.rule for f in errors} <= {"QL510", "QL106"}, [f.message for f in errors]


@pytest.mark.parametrize("recipe", ["static_wi8_ai8", "static_wi8_ai16",
                                    "json:default_a8w8_recipe", "json:default_a16w8_recipe"])
def test_aeq_static_recipes_keep_the_cumsum_island(recipe: str) -> None:
    found = findings(AEQ / _aeq_results()[recipe]["file"])
    islands = [f for f in found if f.rule == "QL103"]
    assert len(islands) == 1 and "CUMSUM" in islands[0].message


@pytest.mark.tensorflow
@pytest.mark.parametrize("recipe", ["static_wi8_ai8", "static_wi8_ai16"])
def test_aeq_island_equals_the_interpreters_float_ops(recipe: str) -> None:
    tf = pytest.importorskip("tensorflow")
    from qlint.loaders.tflite import load_tflite

    path = AEQ / _aeq_results()[recipe]["file"]
    interp = tf.lite.Interpreter(model_path=str(path))
    dtypes = {d["index"]: d["dtype"] for d in interp.get_tensor_details()}
    float_ops = sorted(op["index"] for op in interp._get_ops_details()
                       if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE")
                       and any(dtypes.get(i) == tf.float32.as_numpy_dtype
                               for i in [*op["inputs"], *op["outputs"]] if i >= 0))
    from qlint.analysis import islands as find_islands

    graph = load_tflite(str(path))
    islands = sorted(graph[op]["index"] for island in find_islands(graph) for op in island.ops)
    assert islands == float_ops and float_ops


@pytest.mark.tensorflow
def test_keras_class_list_matches_the_installed_keras() -> None:
    pytest.importorskip("tf_keras")
    from tools.gen_keras_classes import OUT, collect

    on_disk = json.loads(OUT.read_text(encoding="utf-8"))
    assert on_disk == collect()
    assert "QuantizeWrapperV2" not in on_disk["tf_keras"]  # TFMOT's, read as QAT structure


def _keras_zip(tmp_path: Path, layers: list[dict[str, Any]], version: str = "3.15.1") -> Path:
    import zipfile

    inbound: list[Any] = []
    prev = "x"
    for layer in layers:
        layer["inbound_nodes"] = [[[prev, 0, 0, {}]]]
        prev = layer["name"]
    config = {"class_name": "Functional", "config": {
        "name": "m", "input_layers": [["x", 0, 0]], "output_layers": [[prev, 0, 0]],
        "layers": [{"class_name": "InputLayer", "name": "x",
                    "config": {"batch_shape": [1, 4], "dtype": "float32", "name": "x"},
                    "inbound_nodes": inbound}, *layers]}}
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", json.dumps({"keras_version": version}))
    return path


@pytest.mark.parametrize(("module", "registered", "cls", "opaque"), [
    (None, "Scale2", "Scale2", True),  # unregistered class saved by Keras 3
    ("absent", "absent", "Scale2", True),  # legacy .h5 form: no module key at all
    (None, None, "Scale2", True),
    ("keras.src.ops.numpy", None, "GetItem", False),  # a Keras 3 op, not a layer class
    ("absent", "absent", "Dense", False),  # built-in class without a module (.h5)
    ("keras.layers", None, "Dense", False),
    # a package whose name starts with "keras" is not Keras: a keras-hub backbone saves
    # its constructor arguments, not the layers it builds
    ("keras_hub.src.models.bert.bert_backbone", "keras_hub>BertBackbone", "BertBackbone", True),
    ("keras.layers", "keras_hub>BertBackbone", "BertBackbone", True),
])
def test_custom_class_whatever_its_module(tmp_path: Path, module: str | None,
                                          registered: str | None, cls: str,
                                          opaque: bool) -> None:
    from qlint.loaders.keras import load_keras

    layer: dict[str, Any] = {"class_name": cls, "name": "l", "config": {"name": "l"}}
    if module != "absent":
        layer["module"] = module
    if registered != "absent":
        layer["registered_name"] = registered
    g = load_keras(str(_keras_zip(tmp_path, [layer])))
    (op,) = list(g.ops())
    assert bool(g[op]["attrs"].get("opaque")) is opaque


def _ethos_u_graph(shared_blob: bool) -> Any:
    """An ethos-u op (command stream, read-only data) feeding a CPU ADD; with
    ``shared_blob`` an ordinary MUL also reads the read-only tensor."""
    from qlint.graph import ModelGraph, Quant

    q = Quant(scale=(0.1,), zero_point=(0,))
    g = ModelGraph("tflite", "vela.tflite", "converted")
    stream = g.add_tensor(0, 0, name="ethos_u_command_stream", dtype="uint8", shape=(64,),
                          constant=True)
    flash = g.add_tensor(0, 1, name="read_only", dtype="uint8", shape=(32,), constant=True)
    x = g.add_tensor(0, 2, name="x", dtype="int8", shape=(1, 4), quant=q)
    y = g.add_tensor(0, 3, name="y", dtype="int8", shape=(1, 4), quant=q)
    z = g.add_tensor(0, 4, name="z", dtype="int8", shape=(1, 4), quant=q)
    g.add_op(0, 0, op_type="CUSTOM", source_op="CUSTOM:ethos-u", name="y",
             inputs=[stream, flash, x], outputs=[y], attrs={"custom_code": "ethos-u"})
    g.add_op(0, 1, op_type="ADD", source_op="ADD", name="z", inputs=[y, y], outputs=[z])
    if shared_blob:
        w = g.add_tensor(0, 5, name="w", dtype="int8", shape=(1, 4), quant=q)
        g.add_op(0, 2, op_type="MUL", source_op="MUL", name="w", inputs=[z, flash],
                 outputs=[w])
    g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": [x], "outputs": [z]}]
    return g


def test_npu_parts_are_found_from_the_graph_structure() -> None:
    from qlint.npu_compiled import npu_compiled

    g = _ethos_u_graph(shared_blob=False)
    parts = npu_compiled(g)
    names = sorted(g[n]["name"] for n in parts.blobs)
    assert names == ["ethos_u_command_stream", "read_only"]
    assert [g[op]["op_type"] for op in parts.cpu_ops] == ["ADD"]
    # A uint8 tensor an ordinary op also reads is not driver data: QL301 still judges it.
    shared = _ethos_u_graph(shared_blob=True)
    assert sorted(shared[n]["name"] for n in npu_compiled(shared).blobs) == \
        ["ethos_u_command_stream"]


def test_keras2_note_names_the_refused_arguments(tmp_path: Path) -> None:
    from qlint.loaders.keras import load_keras
    from qlint.registry import Context
    from qlint_rules.source_keras2 import Keras2Model

    layers = [{"class_name": "LSTM", "name": "rnn", "module": "keras.layers",
               "config": {"name": "rnn", "units": 4, "time_major": False}},
              {"class_name": "Conv1DTranspose", "name": "up", "module": "keras.layers",
               "config": {"name": "up", "filters": 4, "kernel_size": [3], "groups": 1}}]
    path = _keras_zip(tmp_path, layers, version="2.21.0")  # as a tf_keras save writes it
    (f,) = Keras2Model().check(load_keras(str(path)), Context())
    assert "rnn (time_major)" in f.message and "up (groups)" in f.message


@pytest.mark.tensorflow
@pytest.mark.parametrize("recipe", ["static_wi8_ai8", "dynamic_wi4b32_afp32"])
def test_aeq_rebuilds_the_committed_output(recipe: str) -> None:
    pytest.importorskip("ai_edge_quantizer")
    from fixtures.build_toolchains import aeq_quantize, aeq_recipes

    content = aeq_quantize(AEQ / "cumsum_mlp_float.tflite", aeq_recipes()[recipe])
    assert content == (AEQ / _aeq_results()[recipe]["file"]).read_bytes()


@pytest.mark.parametrize("recipe", ["dynamic_wi8b32_afp32", "dynamic_wi8b64_afp32"])
def test_aeq_int8_blockwise_recipes_leave_the_weights_float(recipe: str) -> None:
    """ai-edge-quantizer 0.10.0 accepts these recipes but writes float32 weights (the file is
    as large as the float model): qlint reads a float model, not a quantized one."""
    from qlint.loaders.tflite import load_tflite

    path = AEQ / _aeq_results()[recipe]["file"]
    float_size = (AEQ / "cumsum_mlp_float.tflite").stat().st_size
    assert abs(path.stat().st_size - float_size) < 256
    assert load_tflite(str(path)).quant_mode == "float"


def _h5(tmp_path: Path, model: dict[str, Any], version: str = "2.21.0",
        training: dict[str, Any] | None = None) -> Path:
    """A legacy .h5 holding only a model config (and a training config), as a Keras 2 save
    writes its attributes."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model)
        f.attrs["keras_version"] = version
        f.attrs["backend"] = "tensorflow"
        if training is not None:
            f.attrs["training_config"] = json.dumps(training)
    return path


def _conv1d(name: str, **extra: Any) -> dict[str, Any]:
    return {"class_name": "Conv1D", "config": {"name": name, "filters": 8, "kernel_size": [3],
                                               "strides": [1], "padding": "valid", **extra}}


def _sequential(layers: list[dict[str, Any]], name: str = "seq") -> dict[str, Any]:
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


INPUT = {"class_name": "InputLayer",
         "config": {"batch_input_shape": [None, 16, 4], "dtype": "float32", "name": "x"}}


def _keras2_notes(path: Path) -> list[Finding]:
    return [f for f in findings(path) if f.rule == "QL122"]


def test_older_layout_sequential_gets_the_kernel_shape_note(tmp_path: Path) -> None:
    """No InputLayer entry, batch_input_shape on the first layer: the layout Keras 3 rebuilds
    with an extra axis (fixtures/logs/keras3_loads_keras2_sequential_input_shape.log)."""
    model = _sequential([_conv1d("conv", batch_input_shape=[None, 16, 4]),
                         {"class_name": "Flatten", "config": {"name": "flat"}}])
    notes = _keras2_notes(_h5(tmp_path, model, version="2.2.4"))
    shaped = [f for f in notes if f.record == "tensorflow/keras3-legacy-sequential-input-shape"]
    assert len(shaped) == 1 and shaped[0].severity.value == "info"
    assert "first layer conv carries batch_input_shape" in shaped[0].message


def test_sequential_with_an_input_layer_gets_no_kernel_shape_note(tmp_path: Path) -> None:
    """tf_keras 2.21's own layout (InputLayer first; the Conv1D still carries the shape)
    loads in Keras 3: only the general note."""
    model = _sequential([INPUT, _conv1d("conv", batch_input_shape=[None, 16, 4])])
    notes = _keras2_notes(_h5(tmp_path, model))
    assert [f.record for f in notes] == ["tensorflow/keras3-legacy-layer-arguments"]
    assert "batch_input_shape" not in notes[0].message


def test_nested_and_wrapped_input_shapes_are_named(tmp_path: Path) -> None:
    """Keras 3 refuses batch_input_shape on a layer of a nested Sequential
    (fixtures/logs/keras3_loads_keras2_nested_sequential.log) and inside TimeDistributed."""
    inner = _sequential([INPUT, _conv1d("conv", batch_input_shape=[None, 16, 4])], "inner")
    wrapped = {"class_name": "TimeDistributed", "config": {
        "name": "td", "layer": _conv1d("c2", batch_input_shape=[None, 16, 4])}}
    model = _sequential([INPUT, inner, wrapped])
    (note,) = _keras2_notes(_h5(tmp_path, model))
    assert "conv (batch_input_shape)" in note.message
    assert "td (Conv1D.batch_input_shape)" in note.message


def test_separable_and_depthwise_conv1d_arguments_are_named(tmp_path: Path) -> None:
    """fixtures/logs/keras3_loads_keras2_separable_conv1d.log: groups and kernel_initializer."""
    sep = {"class_name": "SeparableConv1D", "config": {
        "name": "sep", "filters": 8, "kernel_size": [3], "groups": 1,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}}
    dw = {"class_name": "DepthwiseConv1D", "config": {"name": "dw", "kernel_size": [3],
                                                      "groups": 1}}
    (note,) = _keras2_notes(_h5(tmp_path, _sequential([INPUT, sep, dw])))
    assert "sep (groups), sep (kernel_initializer), dw (groups)" in note.message


@pytest.mark.parametrize(("loss", "named"), [
    ("mae", "the loss 'mae'"),
    ({"class_name": "MeanSquaredError", "config": {"name": "mean_squared_error"}},
     "a loss object"),
    ({"out": "kld"}, "the loss 'kld'"),
    ("mean_squared_error", None),  # read by Keras 3 (fixtures/logs/keras3_loads_keras2_compiled)
    ({"class_name": 7}, "a loss object"),
    ("x" * 10_000, None),
])
def test_compiled_loss_note(tmp_path: Path, loss: Any, named: str | None) -> None:
    model = _sequential([INPUT, _conv1d("conv")])
    path = _h5(tmp_path, model, training={"loss": loss, "metrics": None})
    notes = [f for f in _keras2_notes(path)
             if f.record == "tensorflow/keras3-legacy-h5-training-config"]
    assert [named in f.message for f in notes] == ([True] if named else [])
