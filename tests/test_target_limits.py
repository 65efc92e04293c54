"""QL501-QL504, the Ethos-U targets, conditions, op facts and partitions.

The fixtures under ``fixtures/targets/`` were built by ``fixtures/build_targets.py``,
which stored what the real Vela and TensorFlow Lite Micro did with each of them in
``truth.json``; these tests compare qlint's findings with that record.  Tests marked
``vela`` / ``tensorflow`` re-run the real tools.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, run_qlint

from qlint.api import lint
from qlint.conditions import ConditionError, all_hold, check_condition, describe, holds
from qlint.config import Config
from qlint.loaders import loader_for
from qlint.op_facts import op_facts
from qlint.placement import CPU, NPU, load_placement_table, partitions, placements
from qlint.targets import ETHOS_U_CONFIGS, list_targets

TARGETS = FIXTURES / "targets"
TRUTH: dict[str, Any] = json.loads((TARGETS / "truth.json").read_text())["models"]
HAS_VELA = shutil.which("vela") is not None and importlib.util.find_spec("ethosu") is not None
HAS_TFLM = importlib.util.find_spec("tflite_micro") is not None


def graph(name: str) -> Any:
    return loader_for("tflite")(str(TARGETS / f"{name}.tflite"))


def findings(path: Path, target: str, rule: str) -> list[Any]:
    report = lint([str(path)], target=target, config=Config(), jobs=1)
    return [f for f in report.findings if f.rule == rule]


# -- conditions ---------------------------------------------------------------------------


def test_conditions_are_three_valued() -> None:
    facts = {"stride_max": 4, "padding": "SAME"}
    assert holds({"fact": "stride_max", "gt": 3}, facts) is True
    assert holds({"fact": "stride_max", "le": 3}, facts) is False
    assert holds({"fact": "filter_max", "gt": 8}, facts) is None
    assert all_hold([{"fact": "padding", "eq": "SAME"}, {"fact": "filter_max", "gt": 8}],
                    facts) is None
    assert all_hold([{"fact": "padding", "eq": "VALID"}, {"fact": "filter_max", "gt": 8}],
                    facts) is False
    assert all_hold([], facts) is True
    assert holds({"fact": "stride_max", "not_in": [1, 2, 3]}, facts) is True
    assert describe([{"fact": "stride_max", "gt": 3}]) == "stride_max > 3"


def test_malformed_conditions_are_refused() -> None:
    for bad in ({"gt": 3}, {"fact": "x"}, {"fact": "x", "gt": 1, "lt": 2}, {"fact": "x", "gg": 1}):
        with pytest.raises(ConditionError):
            check_condition(bad)


# -- facts --------------------------------------------------------------------------------


def test_op_facts_read_options_shapes_and_constant_axes() -> None:
    g = graph("npu_pool_k9")
    by_type = {g[op]["op_type"]: op_facts(g, op) for op in g.ops()}
    pool = by_type["AVERAGE_POOL_2D"]
    assert (pool["filter_w"], pool["filter_h"], pool["padding"], pool["stride_max"]) == \
        (9, 9, "SAME", 1)
    conv = by_type["CONV_2D"]
    assert conv["ifm_batch"] == 1 and conv["per_axis"] is True and conv["rank"] == 4
    assert conv["filter_w"] == 3 or conv["filter_w"] == 1
    assert isinstance(conv["weights_abs_sum_max"], int)
    mean = next(op_facts(h, op) for h in [graph("npu_clean")] for op in h.ops()
                if h[op]["op_type"] == "MEAN")
    assert mean["axes"] == [1, 2] and mean["reduces_depth"] is False


# -- the target registry ------------------------------------------------------------------


def test_ethos_u_targets_are_listed_with_vela_provenance() -> None:
    infos = {t.name: t for t in list_targets()}
    for config in ETHOS_U_CONFIGS:
        info = infos[config]
        assert "vela-5.2.0.json" in info.source and "tflm-" in info.source
        assert info.versions["ethos-u-vela"] == "5.2.0"
        assert "python -m tools.probe.vela" in info.provenance
    out = run_qlint("targets")
    assert out.returncode == 0
    assert all(config in out.stdout for config in ETHOS_U_CONFIGS)


def test_placement_table_covers_every_config_and_ends_with_defaults() -> None:
    table = load_placement_table()
    assert table.configs == ETHOS_U_CONFIGS
    for op, entry in table.data["ops"].items():
        assert entry["rules"][-1]["when"] == [], op
        assert entry["points"], op


# -- QL502 / QL504 against what Vela did (truth.json) --------------------------------------


def _cpu_types(name: str, config: str) -> list[str]:
    """Op types Vela put on the CPU for fixture ``name`` (by output tensor name)."""
    g = graph(name)
    cpu = TRUTH[name]["vela"][config]["cpu"]
    out = []
    for op in g.ops():
        outs = [t for t in g.outputs(op) if t is not None]
        if outs and g[outs[0]]["name"] in cpu:
            out.append(g[op]["op_type"])
    return sorted(out)


@pytest.mark.parametrize("config", ETHOS_U_CONFIGS)
@pytest.mark.parametrize("name", ["npu_pool_k9", "npu_dw_stride4", "npu_clean",
                                  "npu_shape_chains"])
def test_ql502_names_the_ops_vela_put_on_the_cpu(name: str, config: str) -> None:
    found = findings(TARGETS / f"{name}.tflite", config, "QL502")
    assert sorted(f.node["op_type"] for f in found) == _cpu_types(name, config)
    for f in found:
        assert "Vela places" in f.message and "vela-5.2.0.json" in f.message


def test_shape_arithmetic_follows_its_consumer() -> None:
    """The chain computing a TRANSPOSE_CONV output shape stays (CPU); the one computing an
    NPU RESHAPE's new shape is removed with it (neither CPU nor a finding)."""
    g = graph("npu_shape_chains")
    placed = placements(g, "ethos-u55-128")
    by_consumer: dict[str, list[str]] = {"TRANSPOSE_CONV": [], "RESHAPE": []}
    for op in g.ops():
        if g[op]["op_type"] in ("SHAPE", "STRIDED_SLICE", "PACK"):
            consumer = op
            while g[consumer]["op_type"] not in by_consumer:
                (t,) = [t for t in g.outputs(consumer) if t is not None]
                (consumer,) = list(g.g.successors(t))
            by_consumer[g[consumer]["op_type"]].append(placed[op].placement)
    assert by_consumer == {"TRANSPOSE_CONV": [CPU] * 3, "RESHAPE": [NPU] * 3}


def test_broken_quantization_is_placed_as_vela_places_it() -> None:
    """The QL3xx fixtures with edited quantization: the ops Vela put on the CPU (measured
    for the table by editing one-op models the same way)."""
    qp = FIXTURES / "quant_params"
    cases = {("missing_weight_params", "ethos-u55-128"): ["CONV_2D"],
             ("zero_point_count", "ethos-u55-128"): ["MAX_POOL_2D"],
             ("activation_zero_point", "ethos-u55-128"): [],
             ("activation_zero_point", "ethos-u85-256"): ["CONV_2D", "CONV_2D",
                                                          "DEPTHWISE_CONV_2D"]}
    for (name, config), expected in cases.items():
        g = loader_for("tflite")(str(qp / f"{name}.tflite"))
        cpu = sorted(g[op]["op_type"] for op, p in placements(g, config).items()
                     if p.placement == CPU)
        assert cpu == expected, (name, config)


def test_ql307_severity_follows_the_target() -> None:
    """A RESHAPE mismatch runs silently wrong on TFLite (warning); Vela refuses it (error)."""
    path = TARGETS / "npu_reshape_mismatch.tflite"
    (cpu,) = findings(path, "tflite-int8", "QL307")
    assert cpu.severity.value == "warning"
    for config in ETHOS_U_CONFIGS:
        (npu,) = findings(path, config, "QL307")
        assert npu.severity.value == "error"
        assert "Input and output quantisation must match" in npu.message


def test_ql502_quotes_vela_reason_for_the_9_wide_pool() -> None:
    (f,) = findings(TARGETS / "npu_pool_k9.tflite", "ethos-u55-128", "QL502")
    assert f.node["op_type"] == "AVERAGE_POOL_2D"
    assert "out of range" in f.message and "padding == 'SAME'" in f.message


def test_partitions_of_a_pool_between_convs() -> None:
    g = graph("npu_pool_k9")
    parts = partitions(g, "ethos-u55-128")
    assert (parts.npu_partitions, parts.transitions, parts.cpu_ops) == (2, 2, 1)
    (info,) = findings(TARGETS / "npu_pool_k9.tflite", "ethos-u55-128", "QL504")
    assert "2 NPU partition(s), 2 CPU/NPU transition(s)" in info.message
    assert info.severity.value == "info"


def test_a_clean_model_is_one_partition_and_silent() -> None:
    g = graph("npu_clean")
    parts = partitions(g, "ethos-u85-256")
    assert (parts.npu_partitions, parts.transitions, parts.cpu_ops) == (1, 0, 0)
    assert all(p.placement == NPU for p in placements(g, "ethos-u85-256").values())
    report = lint([str(TARGETS / "npu_clean.tflite")], target="ethos-u85-256",
                  config=Config(), jobs=1)
    assert not [f for f in report.findings if f.rule.startswith("QL5")]


def test_partitions_in_text_and_json_output() -> None:
    path = str(TARGETS / "npu_pool_k9.tflite")
    text = run_qlint("--target", "ethos-u55-128", path)
    assert "ethos-u55-128: 2 NPU partitions, 2 CPU/NPU transitions" in text.stdout
    out = run_qlint("--target", "ethos-u55-128", "--format", "json", path)
    data = json.loads(out.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parent.parent / "linter" / "qlint" /
                         "schemas" / "report.schema.json").read_text())
    jsonschema.validate(data, schema)
    part = data["models"][0]["partitions"]
    assert (part["npu_partitions"], part["transitions"]) == (2, 2)
    cpu = run_qlint("--format", "json", path)
    assert json.loads(cpu.stdout)["models"][0]["partitions"] is None


# -- QL503 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ETHOS_U_CONFIGS)
def test_ql503_names_the_reshape_vela_refuses(config: str) -> None:
    truth = TRUTH["npu_reshape_mismatch"]["vela"][config]
    assert truth["refused"] and truth["refused_op"] == "RESHAPE"
    (f,) = findings(TARGETS / "npu_reshape_mismatch.tflite", config, "QL503")
    assert f.node["op_type"] == "RESHAPE" and f.severity.value == "error"
    assert "Input and output quantisation must match" in f.message


def test_ql503_silent_when_vela_compiles() -> None:
    for name in ("npu_pool_k9", "npu_clean"):
        assert not findings(TARGETS / f"{name}.tflite", "ethos-u55-128", "QL503")


# -- QL501 ----------------------------------------------------------------------------------


def test_ql501_names_the_op_tflm_stops_on() -> None:
    truth = TRUTH["tflm_sqrt_int8"]["tflm"]
    assert not truth["runs"] and truth["failed_op"] == "SQRT"
    (f,) = findings(TARGETS / "tflm_sqrt_int8.tflite", "tflm-int8", "QL501")
    assert f.node["op_type"] == "SQRT" and f.node["index"] == truth["failed_index"]
    assert f.severity.value == "error" and "INT8 != FLOAT32" in f.message


def test_ql501_silent_where_the_kernels_exist() -> None:
    assert TRUTH["npu_clean"]["tflm"]["runs"]
    assert not findings(TARGETS / "npu_clean.tflite", "tflm-int8", "QL501")
    # the default target's interpreter has an int8 SQRT kernel
    assert not findings(TARGETS / "tflm_sqrt_int8.tflite", "tflite-int8", "QL501")


def test_ql501_on_an_npu_target_only_for_cpu_ops() -> None:
    """SQRT is not an NPU op: on Ethos-U it runs on TFLM, which has no int8 kernel."""
    g = graph("tflm_sqrt_int8")
    sqrt = next(op for op in g.ops() if g[op]["op_type"] == "SQRT")
    assert placements(g, "ethos-u55-128")[sqrt].placement == CPU
    (f,) = findings(TARGETS / "tflm_sqrt_int8.tflite", "ethos-u55-128", "QL501")
    assert f.node["op_type"] == "SQRT"


def test_ql501_refuses_a_hybrid_model_on_tflm() -> None:
    (f,) = findings(FIXTURES / "dynamic_range_cnn" / "dynamic_range_cnn.tflite", "tflm-int8",
                    "QL501")
    # TFLM: "Input type: FLOAT32 with filter type: INT8 not supported.
    #        Node FULLY_CONNECTED (number 7) failed to prepare"
    assert (f.node["op_type"], f.node["index"]) == ("FULLY_CONNECTED", 7)
    assert not findings(FIXTURES / "dynamic_range_cnn" / "dynamic_range_cnn.tflite",
                        "tflite-int8", "QL501")


def test_ql501_from_source() -> None:
    found = findings(TARGETS / "source_sqrt", "tflm-int8", "QL501")
    assert [f.node["source_op"] for f in found] == ["Sqrt"]
    assert "SQRT" in found[0].message
    assert not findings(TARGETS / "source_sqrt", "tflite-int8", "QL501")
    # Tensordot's int32 Prod (shape arithmetic) is never an int8 REDUCE_PROD.  (The GRU's
    # zero state is a Fill whose dims come from the dynamic batch: TFLM's FILL refuses
    # non-constant dims, as probed, so that finding is expected.)
    gru = findings(FIXTURES / "source" / "hand_gru_sequence" / "saved_model", "tflm-int8",
                   "QL501")
    assert [f.node["source_op"] for f in gru] == ["Fill"]


def test_ql501_from_a_source_op_whose_int8_kernel_the_interpreter_refuses() -> None:
    """``tf.reverse_sequence`` (held-out set 5) converts to an int8 REVERSE_SEQUENCE that
    TF 2.21's interpreter refuses to prepare: the probed runtime error is a verdict, not an
    unknown op."""
    sm = FIXTURES / "heldout" / "models" / "op5.reverse_sequence" / "saved_model"
    (f,) = findings(sm, "tflite-int8", "QL501")
    assert f.node["source_op"] == "ReverseSequence"
    assert "REVERSE_SEQUENCE" in f.message and "failed to prepare" in f.message
    assert not findings(sm, "tflite-int8", "QL190")


# -- the real tools -------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_TFLM, reason="tflite-micro is not installed")
def test_real_tflm_fails_where_ql501_says() -> None:
    import sys

    sys.path.insert(0, str(FIXTURES.parent))
    from fixtures.build_targets import tflm_run

    run = tflm_run(TARGETS / "tflm_sqrt_int8.tflite")
    assert not run["runs"] and run["failed_op"] == "SQRT"
    (f,) = findings(TARGETS / "tflm_sqrt_int8.tflite", "tflm-int8", "QL501")
    assert f.node["index"] == run["failed_index"]
    hybrid = tflm_run(FIXTURES / "dynamic_range_cnn" / "dynamic_range_cnn.tflite")
    assert not hybrid["runs"] and "FULLY_CONNECTED (number 7)" in (hybrid["log"] or "")
    assert tflm_run(TARGETS / "npu_clean.tflite")["runs"]


# -- qlint explain --log knows the tools' verbatim messages --------------------------------


def _first_log(op: str) -> str:
    for point in load_placement_table().data["ops"][op]["points"]:
        for seen in point["observed"].values():
            if seen.get("log"):
                return str(seen["log"])
    raise AssertionError(f"no Vela log stored for {op}")


@pytest.mark.parametrize(("text", "record"), [
    ("avgpool", "vela/npu-cpu-fallback"),
    ("refused", "vela/npu-refused"),
    ("tflm", "tflm/missing-int8-kernel"),
])
def test_explain_log_recognizes_vela_and_tflm_messages(tmp_path: Path, text: str,
                                                       record: str) -> None:
    if text == "avgpool":
        log = _first_log("AVERAGE_POOL_2D")
    elif text == "refused":
        log = "RuntimeError: Compilation failed: " + str(
            TRUTH["npu_reshape_mismatch"]["vela"]["ethos-u55-128"]["message"])
    else:
        log = str(TRUTH["tflm_sqrt_int8"]["tflm"]["log"])
    path = tmp_path / "tool.log"
    path.write_text(log)
    out = run_qlint("explain", "--log", str(path))
    assert out.returncode == 0, out.stderr
    assert record in out.stdout


def test_vela_table_is_stamped_and_checked() -> None:
    path = Path(__file__).resolve().parent.parent / "rules" / "qlint_rules" / "capabilities" / \
        "vela-5.2.0.json"
    data = json.loads(path.read_text())
    assert data["runtime"] == "vela" and data["versions"]["ethos-u-vela"] == "5.2.0"
    assert data["command"].startswith("python -m tools.probe.vela")
    assert "python" in data["versions"] and data["probed_on"]
    assert path.stat().st_size < 400_000
    for op, entry in data["ops"].items():
        for point in entry["points"]:
            for config, seen in point["observed"].items():
                if seen["placement"] in ("cpu", "refused"):
                    assert config in data["configs"], (op, point["label"])


def test_ops_never_probed_get_the_rules_every_op_shares() -> None:
    """A float SIN island: SIN is probed as a float island; CUSTOM never built as one op."""
    g = loader_for("tflite")(str(FIXTURES / "island_sin_floor" / "island_sin_floor.tflite"))
    placed = placements(g, "ethos-u55-128")
    by_type = {g[op]["op_type"]: placed[op] for op in g.ops()}
    assert by_type["SIN"].placement == CPU and "float_tensors" in by_type["SIN"].conditions
    assert by_type["QUANTIZE"].placement == CPU
    assert by_type["FULLY_CONNECTED"].placement == NPU
    table = load_placement_table()
    # the facts every op has (its data flow, its quantization parameters)
    base = {"only_feeds_npu_reshape_shape": False, "quant_missing": False}
    custom = table.predict("CUSTOM", {**base, "float_tensors": True, "op_type": "CUSTOM"},
                           "ethos-u55-128")
    assert custom.placement == CPU
    unknown = table.predict("CUSTOM", {**base, "float_tensors": False, "op_type": "CUSTOM",
                                       "dynamic_non_batch": False, "io_per_axis": False,
                                       "zero_point_out_of_range": False, "ifm_dtype": "int8"},
                            "ethos-u55-128")
    assert unknown.placement == "unknown" and "not probed" in (unknown.why_unknown or "")


def test_dynamic_dimensions_are_facts_and_shapes_are_read_as_vela_reads_them() -> None:
    from qlint.graph import ModelGraph

    g = ModelGraph("tflite", "no-such-file.tflite", "converted")
    g.attrs["subgraphs"] = []
    # a RESHAPE flattening a dynamic batch: (None, 8, 8, 4) -> (None, 4)
    a = g.add_tensor(0, 0, name="a", dtype="int8", shape=(None, 8, 8, 4))
    b = g.add_tensor(0, 1, name="b", dtype="int8", shape=(None, 4))
    op = g.add_op(0, 0, op_type="RESHAPE", source_op="RESHAPE", name="r", inputs=[a],
                  outputs=[b])
    facts = op_facts(g, op)  # the options cannot be read: those facts are simply absent
    assert facts["dynamic_batch"] is True and facts["dynamic_non_batch"] is False
    assert facts["ifm_batch"] == 1 and facts["io_elements_match"] is False
    assert "padding" not in facts
    table = load_placement_table()
    assert facts["quant_missing"] is True  # these hand-built int8 tensors have no parameters
    facts["quant_missing"] = False  # as in a converted model
    facts["only_feeds_npu_reshape_shape"] = False  # data flow: computed by qlint.placement
    assert table.predict("RESHAPE", facts, "ethos-u55-128").placement == "refused"


def test_a_float_model_is_predicted_as_its_int8_conversion() -> None:
    """npu_pool_k9_float converts to npu_pool_k9, whose real Vela placement is recorded."""
    found = findings(TARGETS / "npu_pool_k9_float.tflite", "ethos-u55-128", "QL502")
    assert [f.node["op_type"] for f in found] == _cpu_types("npu_pool_k9", "ethos-u55-128")
    assert all("once quantized" in f.message for f in found)
    parts = partitions(graph("npu_pool_k9_float"), "ethos-u55-128")
    assert (parts.npu_partitions, parts.transitions) == (2, 2)
    # the float model's own float32 tensors are not what Vela will see
    assert not findings(TARGETS / "npu_pool_k9_float.tflite", "ethos-u85-256", "QL503")
