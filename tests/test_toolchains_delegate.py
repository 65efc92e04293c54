"""QL106 delegate-unsupported-type on ai-edge-quantizer output, and the table it reads.

The table (``rules/qlint_rules/measured/xnnpack-types.json``) is written by
``python -m tools.probe.xnnpack_types``; the test marked ``tensorflow`` runs the probe again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from qlint.api import lint
from qlint.finding import Finding
from qlint.loaders.tflite import load_tflite
from qlint_rules.delegate_types import measured, weight_key

AEQ = FIXTURES / "quantizer_recipes"
REPO = FIXTURES.parent


def ql106(path: Path, target: str | None = None) -> list[Finding]:
    report = lint([str(path)], target=target)
    assert not report.unreadable
    return [f for f in report.findings if f.rule == "QL106"]


def test_table_names_its_versions_and_command() -> None:
    data = measured()
    assert data["generated_by"] == "python -m tools.probe.xnnpack_types"
    assert data["versions"]["tensorflow-cpu"] == "2.21.0"
    assert data["versions"]["ai-edge-litert"] == "2.3.0"
    assert data["by_weight_type"]


def test_int2_blockwise_is_an_error_where_the_delegate_fails_to_prepare() -> None:
    entry = measured()["by_weight_type"]["FULLY_CONNECTED:float32:int2:blockwise"]
    assert not entry["allocates"] and entry["builtin_runs"]
    assert "unsupported datatype (INT2)" in entry["message"]
    assert entry["builtin_relative_error"] == 1.0  # all-zero output on the builtin kernels
    found = ql106(AEQ / "aeq_dynamic_wi2b32_afp32.tflite")
    assert [f.location.split(":")[0] for f in found] == ["subgraph[0]/op[0]",
                                                         "subgraph[0]/op[2]"]
    assert all(f.severity.value == "error" for f in found)
    assert "all zeros" in found[0].message and "int2 blockwise" in found[0].message


def test_recipe_fixture_measurement_agrees_with_the_error() -> None:
    """The committed recipe fixture fails with the delegate in both runtimes, as the
    one-op probe model did, and its builtin output is all zeros too."""
    runs = measured()["fixtures"]["quantizer_recipes/aeq_dynamic_wi2b32_afp32.tflite"]["runtimes"]
    assert not runs["tflite"]["allocates"] and not runs["litert"]["allocates"]
    assert runs["litert-builtin-only"]["relative_error"] == 1.0


def test_ops_left_to_the_builtin_kernels_are_warnings() -> None:
    found = ql106(AEQ / "aeq_weight_only_wi4_afp32.tflite")
    assert [f.severity.value for f in found] == ["warning", "warning"]
    assert all("DEQUANTIZE with int4 per-channel weights" in f.message for f in found)
    table = measured()["by_weight_type"]["DEQUANTIZE:-:int4:per-channel"]
    assert not table["delegated"] and table["allocates"]


def test_int16_activations_are_flagged() -> None:
    found = ql106(AEQ / "aeq_static_wi8_ai16.tflite")
    assert len(found) == 2 and "int16 input" in found[0].message
    # the converter's int16x8 CNN: no op delegated in either runtime; its four weighted ops
    runs = measured()["fixtures"]["int16x8_cnn/int16x8_cnn.tflite"]["runtimes"]
    assert runs["tflite"]["delegated_ops"] == runs["litert"]["delegated_ops"] == []
    found = ql106(FIXTURES / "int16x8_cnn" / "int16x8_cnn.tflite")
    assert [f.location.split(":")[1].split("(")[0] for f in found] == [
        "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "FULLY_CONNECTED"]


@pytest.mark.parametrize("name", ["aeq_dynamic_wi4b32_afp32.tflite",
                                  "aeq_dynamic_wi8_afp32.tflite", "aeq_static_wi8_ai8.tflite",
                                  "aeq_dynamic_wi2c_afp32.tflite"])
def test_delegated_types_are_not_flagged(name: str) -> None:
    assert ql106(AEQ / name) == []


@pytest.mark.parametrize("name", ["int8_cnn/int8_cnn.tflite", "float_cnn/float_cnn.tflite",
                                  "dynamic_range_cnn/dynamic_range_cnn.tflite"])
def test_converter_models_are_not_flagged(name: str) -> None:
    assert ql106(FIXTURES / name) == []


def test_flagged_ops_are_the_ones_the_delegate_left_in_the_fixtures() -> None:
    """On every measured fixture, an op QL106 flags is one that no runtime's default
    delegate replaced (or the model did not allocate with the delegate)."""
    fixtures = measured()["fixtures"]
    assert "int16x8_cnn/int16x8_cnn.tflite" in fixtures
    for name, entry in fixtures.items():
        runs = entry["runtimes"]
        flagged = {int(f.location.split("op[")[1].split("]")[0])
                   for f in ql106(FIXTURES / name)}
        if not (runs["tflite"]["allocates"] and runs["litert"]["allocates"]):
            continue
        taken = set(runs["tflite"]["delegated_ops"]) | set(runs["litert"]["delegated_ops"])
        assert not flagged & taken, name


def test_probe_and_rule_key_ops_alike() -> None:
    graph = load_tflite(str(AEQ / "aeq_dynamic_wi4b32_afp32.tflite"))
    keys = [weight_key(graph, op) for op in graph.ops()]
    entry = measured()["fixtures"]["quantizer_recipes/aeq_dynamic_wi4b32_afp32.tflite"]
    assert keys == [op["key"] for op in entry["ops"]]
    assert keys[0] == "FULLY_CONNECTED:float32:int4:blockwise"


@pytest.mark.tensorflow
def test_probe_reproduces_the_table() -> None:
    proc = subprocess.run([sys.executable, "-m", "tools.probe.xnnpack_types", "--check"],
                          cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert json.loads((REPO / "rules/qlint_rules/measured/xnnpack-types.json").read_text())


@pytest.mark.parametrize("target", ["tflm-int8", "ethos-u55-128"])
def test_targets_without_xnnpack_get_no_finding(target: str) -> None:
    assert ql106(AEQ / "aeq_dynamic_wi2b32_afp32.tflite", target) == []
    assert len(ql106(AEQ / "aeq_dynamic_wi2b32_afp32.tflite", "tflite-int16x8")) == 2
