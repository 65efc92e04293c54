"""QL101 no-int8-kernel: findings follow the probed capability table of the target."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_qlint

from qlint.finding import Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, discover_rules
from qlint.targets import get_target
from qlint_rules.int8_readiness import Int8Readiness


def _first(target: str, outcome: str, exclude: tuple[str, ...] = ()) -> str:
    """Some builtin with ``outcome`` on ``target`` (picked from the probed data)."""
    for cap in get_target(target).table().ops():
        if cap.outcome == outcome and cap.op not in exclude:
            return cap.op
    raise AssertionError(f"no {outcome} op on {target}")


def _float_graph(op_types: list[str], quant_mode: str = "float") -> ModelGraph:
    """A float32 chain of ``op_types`` built by hand."""
    g = ModelGraph("tflite", "hand.tflite", "converted")
    prev = g.add_tensor(0, 0, name="input", dtype="float32", shape=(1, 16))
    for i, op_type in enumerate(op_types):
        out = g.add_tensor(0, i + 1, name=f"t{i + 1}", dtype="float32", shape=(1, 16))
        g.add_op(0, i, op_type=op_type, source_op=op_type, name=f"op{i}",
                 inputs=[prev], outputs=[out])
        prev = out
    g.attrs["quant_mode"] = quant_mode
    return g


def _check(g: ModelGraph, target: str) -> list:
    rule = Int8Readiness()
    assert rule.applies_to(g)
    return list(rule.check(g, Context(target=get_target(target))))


def test_registered_with_its_identity() -> None:
    assert Int8Readiness in discover_rules()
    assert (Int8Readiness.id, Int8Readiness.name) == ("QL101", "no-int8-kernel")
    assert Int8Readiness.record == "tensorflow/tflite-converter-unsupported-op"
    doc = Int8Readiness.__doc__ or ""
    for words in ("What it flags", "Why it matters", "How to fix", "unprobed"):
        assert words in doc


def test_float_fallback_and_conversion_error_are_reported_with_the_probed_text() -> None:
    table = get_target("tflite-int8").table()
    fallback = _first("tflite-int8", "float_fallback")
    ok = _first("tflite-int8", "integer", exclude=("QUANTIZE", "DEQUANTIZE"))
    findings = _check(_float_graph([ok, fallback, "CUMSUM"]), "tflite-int8")
    flagged = [f.node["op_type"] for f in findings]
    assert flagged == [fallback, "CUMSUM"]
    cumsum = findings[-1]
    assert cumsum.severity is Severity.WARNING
    assert "float32 between DEQUANTIZE/QUANTIZE" in cumsum.message
    assert table.provenance.file in cumsum.message and "probed" in cumsum.message
    assert cumsum.rule == "QL101" and cumsum.record == Int8Readiness.record


def test_conversion_errors_quote_the_converter() -> None:
    op = _first("tflite-int16x8", "conversion_error")
    cap = get_target("tflite-int16x8").table().op(op)
    assert cap is not None and cap.message
    (f,) = _check(_float_graph([op]), "tflite-int16x8")
    assert f.severity is Severity.ERROR
    assert cap.message in f.message and "fails full-integer conversion" in f.message


def test_unprobed_and_unknown_ops_get_no_finding() -> None:
    unprobed = _first("tflite-int8", "unprobed")
    assert _check(_float_graph([unprobed, "UNKNOWN_999", "QUANTIZE"]), "tflite-int8") == []


def test_tflm_target_flags_what_tflite_runs_in_integer() -> None:
    int8 = get_target("tflite-int8").table()
    tflm = get_target("tflm-int8").table()
    missing = [c.op for c in tflm.ops()
               if c.outcome == "runtime_error" and int8.op(c.op) and int8.op(c.op).integer]
    assert missing, "expected ops that TFLM lacks but tflite runs in int8"
    g = _float_graph([missing[0]])
    assert _check(g, "tflite-int8") == []
    (f,) = _check(g, "tflm-int8")
    assert "not supported by the tflm-int8 runtime" in f.message
    assert tflm.provenance.file in f.message


@pytest.mark.parametrize("mode", ["full-int8", "int16x8", "mixed", "dynamic-range"])
def test_only_float_models_are_checked(mode: str) -> None:
    g = _float_graph(["CUMSUM"], quant_mode=mode)
    assert not Int8Readiness().applies_to(g)
    assert list(Int8Readiness().check(g, Context(target=get_target("tflite-int8")))) == []


def test_fp16_weight_models_are_checked() -> None:
    assert [f.node["op_type"] for f in _check(_float_graph(["CUMSUM"], "fp16-weights"),
                                              "tflite-int8")] == ["CUMSUM"]


@pytest.mark.tensorflow
def test_real_float_model_cli_tflite_vs_tflm(tmp_path: Path) -> None:
    """A float .tflite built with the real converter: TOPK_V2 is int8 on tflite, not on TFLM."""
    tflm = get_target("tflm-int8").table().op("TOPK_V2")
    if tflm is None or tflm.outcome != "runtime_error":
        pytest.skip("probed data no longer has TOPK_V2 missing from TFLM")
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32)])
    def model(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.math.top_k(x, 4).values, tf.math.cumsum(x, axis=1)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([model.get_concrete_function()], model)
    path = tmp_path / "topk_cumsum.tflite"
    path.write_bytes(conv.convert())

    lite = run_qlint("--select", "QL101", "--target", "tflite-int8", str(path))
    micro = run_qlint("--select", "QL101", "--target", "tflm-int8", str(path))
    assert "CUMSUM" in lite.stdout and "TOPK_V2" not in lite.stdout, lite.stdout + lite.stderr
    assert "TOPK_V2" in micro.stdout and "Didn't find op for builtin opcode" in micro.stdout


def test_argmax_reading_a_model_output_stays_float() -> None:
    """A probed neighbour condition: ARG_MAX reading a tensor that is also a model output."""
    from conftest import fixture_model

    from qlint.api import lint

    found = [f for f in lint([str(fixture_model("float_argmax_of_output"))]).findings
             if f.rule == "QL101"]
    assert [(f.severity, f.node["op_type"], f.node["index"]) for f in found] == [
        (Severity.WARNING, "ARG_MAX", 1)], [f.message for f in found]
    assert "ifm_is_model_output == True" in found[0].message
    assert "ArgMax" in found[0].message


def test_argmax_reading_an_inner_tensor_is_integer() -> None:
    from conftest import fixture_model

    from qlint.api import lint

    found = lint([str(fixture_model("float_argmax"))]).findings
    assert [f for f in found if f.rule == "QL101"] == []


def test_conditioned_variant_needs_every_fact_known() -> None:
    """A condition on a fact unknown for the op does not hold (no guess): a graph that is
    not a ``.tflite`` has no output slots, a SavedModel op without output names none."""
    from qlint_rules.int8_readiness import _conditioned_variants, _met_variant

    variants = _conditioned_variants(get_target("tflite-int8").table())
    assert {"ARG_MAX", "ARG_MIN", "TOPK_V2"} <= set(variants)
    g = _float_graph(["TOPK_V2"])
    g.attrs["format"] = "savedmodel"
    assert _met_variant(g, next(iter(g.ops())), variants["TOPK_V2"]) is None


def test_topk_variant_reads_the_probed_output_slots() -> None:
    """The probe measured which TOPK_V2 output slot holds the indices (``when_builtin``)."""
    from qlint_rules.int8_readiness import _conditioned_variants, _met_variant

    variants = _conditioned_variants(get_target("tflite-int8").table())["TOPK_V2"]
    assert all(v.when_builtin for v in variants)

    def topk(returned: list[int]) -> ModelGraph:
        g = ModelGraph("tflite", "hand.tflite", "converted")
        x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 16))
        k = g.add_tensor(0, 1, name="k", dtype="int32", shape=(), constant=True)
        outs = [g.add_tensor(0, 2, name="values", dtype="float32", shape=(1, 2)),
                g.add_tensor(0, 3, name="indices", dtype="int32", shape=(1, 2))]
        g.add_op(0, 0, op_type="TOPK_V2", source_op="TOPK_V2", name="topk",
                 inputs=[x, k], outputs=outs)
        g.attrs["subgraphs"] = [{"index": 0, "inputs": [x],
                                 "outputs": [outs[i] for i in returned]}]
        return g

    def met(returned: list[int]) -> str | None:
        g = topk(returned)
        v = _met_variant(g, next(iter(g.ops())), variants)
        assert v is None or v[1]  # met for certain: no fact here is one a file cannot show
        return None if v is None else v[0].name

    assert met([1]) == "TopKV2(indices only; input not model output)"
    assert met([0, 1]) is None and met([0]) is None


@pytest.mark.parametrize(("fixture", "expected"), [
    ("float_topk_indices", [(Severity.WARNING, "TOPK_V2", 1)]), ("float_topk", [])])
def test_topk_with_only_its_indices_used_stays_float(fixture: str, expected: list) -> None:
    """Converted by TF 2.21 with full-integer settings, the indices-only head keeps TOPK_V2
    float32 and the head returning both outputs is int8 (fixtures/README.md)."""
    from conftest import fixture_model

    from qlint.api import lint

    found = [f for f in lint([str(fixture_model(fixture))]).findings if f.rule == "QL101"]
    assert [(f.severity, f.node["op_type"], f.node["index"]) for f in found] == expected, [
        f.message for f in found]
    if found:
        assert "used_output_slots == [1]" in found[0].message


@pytest.mark.parametrize("also_output", [True, False])
def test_a_shape_of_a_model_output_reads_it_dequantized(also_output: bool) -> None:
    """Probed (``Shape(input is model output)``): a SHAPE reading a tensor that is also a
    model output reads it dequantized and stays float; reading any other tensor, int8."""
    g = ModelGraph("tflite", "hand.tflite", "converted")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(None, 8, 8, 4))
    c = g.add_tensor(0, 1, name="c", dtype="float32", shape=(None, 8, 8, 4))
    s = g.add_tensor(0, 2, name="s", dtype="int32", shape=(4,))
    g.add_op(0, 0, op_type="RELU", source_op="RELU", name="relu", inputs=[x], outputs=[c])
    g.add_op(0, 1, op_type="SHAPE", source_op="SHAPE", name="shape", inputs=[c], outputs=[s])
    g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": [x],
                             "outputs": ([c] if also_output else []) + [s]}]
    g.attrs["quant_mode"] = "float"
    flagged = [f.node["op_type"] for f in _check(g, "tflite-int8")]
    assert flagged == (["SHAPE"] if also_output else [])
