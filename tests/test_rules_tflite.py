"""Each rule on converted fixtures: a positive and a negative model."""

from __future__ import annotations

import pytest
from conftest import fixture_model

from qlint import lint
from qlint.finding import Finding


def findings(scenario: str, rule: str, **options: object) -> list[Finding]:
    report = lint([str(fixture_model(scenario))], select=[rule], **options)  # type: ignore[arg-type]
    assert report.unreadable == []
    return report.findings


def test_float_island_cumsum() -> None:
    (f,) = findings("island_cumsum", "QL103")
    assert f.node["op_type"] == "CUMSUM"
    assert "CUMSUM" in f.message
    assert f.severity.value == "error"
    assert f.record == "tensorflow/tflite-int8-silent-float-fallback"
    related = {n["op_type"] for n in f.related}
    assert {"DEQUANTIZE", "QUANTIZE"} <= related


def test_float_island_two_separate_islands() -> None:
    found = findings("island_sin_floor", "QL103")
    assert len(found) == 2
    assert "SIN" in found[0].message and "FLOOR" not in found[0].message
    assert "FLOOR" in found[1].message and "SIN" not in found[1].message


@pytest.mark.parametrize("scenario", ["int8_cnn", "float_cnn", "fp16_cnn",
                                      "dynamic_range_cnn", "float_io_int8"])
def test_float_island_negative(scenario: str) -> None:
    assert findings(scenario, "QL103") == []


def test_custom_op() -> None:
    found = findings("custom_op", "custom-op")
    assert found, "the custom_op fixture must contain a CUSTOM op"
    for f in found:
        assert f.rule == "QL104"
        assert f.node["op_type"] == "CUSTOM"
        assert f.node["source_op"].startswith("CUSTOM:")
        code = f.node["source_op"].split(":", 1)[1]
        assert f"custom op '{code}'" in f.message


@pytest.mark.parametrize("scenario", ["int8_cnn", "float_cnn", "island_cumsum"])
def test_custom_op_negative(scenario: str) -> None:
    assert findings(scenario, "QL104") == []


def test_float_model_io() -> None:
    found = findings("float_io_int8", "QL401")
    roles = sorted(f.message.split()[1] for f in found)
    assert roles == ["input", "output"]
    for f in found:
        assert f.node["kind"] == "tensor"
        assert f.related and f.related[0]["op_type"] in ("QUANTIZE", "DEQUANTIZE")


@pytest.mark.parametrize("scenario", ["int8_cnn", "float_cnn", "uint8_io_int8"])
def test_float_model_io_negative(scenario: str) -> None:
    assert findings(scenario, "QL401") == []


def test_uint8_model_io() -> None:
    found = findings("uint8_io_int8", "QL402")
    assert sorted(f.message.split()[1] for f in found) == ["input", "output"]
    assert all("uint8" in f.message for f in found)


@pytest.mark.parametrize("scenario", ["int8_cnn", "float_io_int8"])
def test_uint8_model_io_negative(scenario: str) -> None:
    assert findings(scenario, "QL402") == []


def test_clean_int8_model_has_no_finding_from_any_rule() -> None:
    report = lint([str(fixture_model("int8_cnn"))])
    assert report.findings == []
    assert report.exit_code() == 0
