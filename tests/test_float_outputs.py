"""QL401 on converted models, and the measurement of model outputs it rests on.

``rules/qlint_rules/measured/float-outputs.json`` (``python -m tools.probe.float_outputs``)
holds what the real TF 2.21 converter made of each model output under the converter
settings users pick; the fixtures ``float_op_io`` / ``float_op_io_int8`` are one model
converted with and without int8 I/O types.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, fixture_model

from qlint import lint

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MEASURED = REPO / "rules" / "qlint_rules" / "measured" / "float-outputs.json"
RECORD = REPO / "rules" / "qlint_rules" / "records" / "tensorflow" / "tflite-float-model-io.json"
SETTINGS = [f"{ops}/{io}" for ops in ("default", "int8", "int8+builtins")
            for io in ("int8", "unset")]
INTEGER_DTYPES = {"int32", "int64", "bool"}


def _measured() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MEASURED.read_text(encoding="utf-8"))
    return data


def _ql401(path: Path) -> list[Any]:
    return [f for f in lint([str(path)], select=["QL401"]).models[0].findings]


# -- the rule on the fixtures --------------------------------------------------------------


def test_float_op_at_each_edge_is_flagged() -> None:
    found = sorted(_ql401(fixture_model("float_op_io")), key=lambda f: f.message)
    assert [f.message.split("'")[0] for f in found] == ["model input ", "model output "]
    assert "read by float NEG at the edge" in found[0].message
    assert "written by float NEG at the edge" in found[1].message
    assert all(f.related and "NEG" in f.related[0]["location"] for f in found), found
    assert all(f.record == "tensorflow/tflite-float-model-io" for f in found)
    assert "inference_input_type = tf.int8" in found[0].fix
    assert "DEQUANTIZE before NEG" in found[0].fix
    assert "inference_output_type = tf.int8" in found[1].fix
    assert "QUANTIZE after NEG" in found[1].fix


def test_int8_io_version_of_the_same_model_is_not_flagged() -> None:
    assert _ql401(fixture_model("float_op_io_int8")) == []
    # the NEGs themselves still run in float: another rule's finding, not this one's
    rules = Counter(f.rule for f in lint([str(fixture_model("float_op_io_int8"))])
                    .models[0].findings)
    assert rules["QL103"] == 2


def test_quantize_and_dequantize_at_the_edges_are_still_flagged() -> None:
    found = sorted(_ql401(fixture_model("float_io_int8")), key=lambda f: f.message)
    assert len(found) == 2
    assert "quantized by QUANTIZE at the edge" in found[0].message
    assert "dequantized by DEQUANTIZE at the edge" in found[1].message


def test_fixtures_show_what_the_scenarios_say() -> None:
    for name, io in (("float_op_io", "float32"), ("float_op_io_int8", "int8")):
        truth = json.loads((REPO / "fixtures" / name / "scenario.json").read_text())
        assert truth["expectations_met"], truth["expectation_mismatches"]
        gt = truth["ground_truth"]
        assert {t["dtype"] for t in gt["inputs"] + gt["outputs"]} == {io}
        first, last = gt["ops"][0]["op_name"], gt["ops"][-1]["op_name"]
        assert (first, last) == (("NEG", "NEG") if io == "float32"
                                 else ("DEQUANTIZE", "QUANTIZE"))


# -- the measurement -----------------------------------------------------------------------


def test_every_setting_was_measured_and_converted() -> None:
    data = _measured()
    assert data["versions"]["tensorflow-cpu"] == "2.21.0"
    for name, m in data["models"].items():
        assert sorted(m["conversions"]) == sorted(SETTINGS), name
        for setting, r in m["conversions"].items():
            assert r["converted"] and r["runs"], (name, setting)


def test_int8_io_types_leave_no_float32_output() -> None:
    """A float op at the output does not make it float32 once inference_output_type is int8:
    the converter appends a QUANTIZE after the float op."""
    for name, m in _measured()["models"].items():
        for setting, r in m["conversions"].items():
            if not setting.endswith("/int8"):
                continue
            dtypes = {o["dtype"] for o in r["outputs"].values()}
            assert "float32" not in dtypes, (name, setting)
            if m["kind"] == "float-last":
                (out,) = r["outputs"].values()
                assert (out["produced_by"], out["producer_inputs"]) == ("QUANTIZE", ["float32"])


def test_unset_io_types_let_the_float_op_write_the_output() -> None:
    for name, m in _measured()["models"].items():
        if m["kind"] != "float-last":
            continue
        for setting, r in m["conversions"].items():
            if setting.endswith("/unset"):
                (out,) = r["outputs"].values()
                assert out["dtype"] == "float32", (name, setting)
                assert out["produced_by"] not in ("DEQUANTIZE", "QUANTIZE"), (name, setting)
                assert out["producer_inputs"] == ["float32"]


def test_integer_outputs_keep_their_dtype_under_every_setting() -> None:
    for name, m in _measured()["models"].items():
        for key in next(iter(m["conversions"].values()))["outputs"]:
            dtypes = {r["outputs"][key]["dtype"] for r in m["conversions"].values()}
            if dtypes & INTEGER_DTYPES:
                assert len(dtypes) == 1, (name, key, dtypes)


def test_supported_ops_change_no_output() -> None:
    for name, m in _measured()["models"].items():
        for io in ("int8", "unset"):
            seen = {json.dumps(m["conversions"][f"{ops}/{io}"]["outputs"], sort_keys=True)
                    for ops in ("default", "int8", "int8+builtins")}
            assert len(seen) == 1, (name, io)


def test_record_quotes_the_measured_counts() -> None:
    """The numbers in the record's root cause are the measurement's, per setting."""
    models = _measured()["models"]
    text = json.loads(RECORD.read_text(encoding="utf-8"))["root_cause"]
    per_setting: Counter[str] = Counter()
    for m in models.values():
        r = m["conversions"]["int8/unset"]
        for o in r["outputs"].values():
            per_setting["outputs"] += 1
            per_setting["float-op"] += o["dtype"] == "float32" and o["produced_by"] not in (
                "DEQUANTIZE", "QUANTIZE")
            per_setting["integer"] += o["dtype"] in INTEGER_DTYPES
    quantized = sum(o["produced_by"] == "QUANTIZE" for m in models.values()
                    for o in m["conversions"]["int8/int8"]["outputs"].values())
    n_models = len(models)
    assert f"{n_models} one- and two-op models" in text
    assert f"{n_models * len(SETTINGS)} conversions" in text
    assert f"({per_setting['float-op']} of {per_setting['float-op']} per supported_ops" in text
    assert f"({quantized} of {quantized} per setting)" in text
    assert f"(0 of {per_setting['outputs']} per setting)" in text
    assert f"{per_setting['integer']} of {per_setting['integer']} per setting" in text


SAMPLE = ("dense_neg", "neg_reshape", "multi_dense_argmax")


@pytest.mark.tensorflow
def test_reprobe_a_sample_matches_the_measurement_and_ql401_flags_it() -> None:
    """Re-measure three models with the installed converter; QL401 on the files it converts
    flags every float32 input and output of an integer model and nothing else."""
    from tools.probe.float_outputs import float_io, score

    with tempfile.TemporaryDirectory() as tmp:
        res = subprocess.run(
            [sys.executable, "-m", "tools.probe.float_outputs", "--only", ",".join(SAMPLE),
             "--cache", tmp],
            cwd=REPO, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]
        got = json.loads(res.stdout)
        assert got == {k: _measured()["models"][k] for k in SAMPLE}
        scored = score(got, Path(tmp))
    expected = sum(len(float_io(r)) for m in got.values() for r in m["conversions"].values())
    edges = {edge for m in got.values() for r in m["conversions"].values()
             for _, edge in float_io(r)}
    assert {"NEG", "DEQUANTIZE", "QUANTIZE"} <= edges  # float ops at both edges are sampled
    assert (scored["found"], scored["missed"], scored["extra"]) == (expected, 0, 0), scored


def test_float_io_truth_counts_float_op_edges() -> None:
    """What the score expects QL401 to flag includes the float-op edges, per setting."""
    from tools.probe.float_outputs import float_io

    models = _measured()["models"]
    for setting in SETTINGS:
        edges = Counter(f"{role}:{edge}" for m in models.values()
                        for role, edge in float_io(m["conversions"][setting]))
        if setting.endswith("/int8"):
            assert not edges, (setting, edges)
        else:
            assert edges["output:NEG"] and edges["output:POW"] and edges["input:NEG"], edges


def test_index_ops_reading_a_model_output_run_in_float() -> None:
    """Measured, not predicted yet: ARG_MAX, ARG_MIN and TOPK_V2 whose int8 input is also a
    model output read it through a DEQUANTIZE under every setting, while the same ops on a
    tensor that is no model output, and GREATER, RESHAPE or MAX_POOL_2D on one, stay int8."""
    models = _measured()["models"]
    float_index = ("multi_dense_argmax", "multi_dense_argmax_i32", "multi_conv_argmax",
                   "multi_dense_argmin", "multi_dense_topk")
    int8_after_output = ("multi_dense_greater", "multi_dense_reshape", "multi_conv_maxpool")
    for name in (*float_index, *int8_after_output):
        for setting, r in models[name]["conversions"].items():
            want = ["float32"] if name in float_index else ["int8"]
            assert r["outputs"]["out1"]["producer_inputs"] == want, (name, setting)
    for name in ("dense_argmax_i32", "argmax_i64"):
        for r in models[name]["conversions"].values():
            assert r["outputs"]["out0"]["producer_inputs"] == ["int8"], name
