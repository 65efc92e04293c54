"""qlint's Ethos-U placement against the real Vela (``ethos-u-vela==5.2.0``, test extra).

A handful of the comparisons of ``python -m tools.probe.vela_eval``: multi-op int8
models none of which the probe compiled, each compiled with the real ``vela`` and
compared op by op with `qlint.placement`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

pytestmark = pytest.mark.vela
VELA = shutil.which("vela") or str(Path(sys.executable).with_name("vela"))
if not Path(VELA).is_file() or importlib.util.find_spec("ethosu") is None:
    pytest.skip("ethos-u-vela is not installed (pip install .[test])", allow_module_level=True)

from tools.probe.vela_eval import compare  # noqa: E402

MODELS = [
    FIXTURES / "int8_cnn" / "int8_cnn.tflite",
    FIXTURES / "float_io_int8" / "float_io_int8.tflite",
    FIXTURES / "island_sin_floor" / "island_sin_floor.tflite",
    FIXTURES / "targets" / "npu_pool_k9.tflite",
    FIXTURES / "targets" / "npu_dw_stride4.tflite",
    FIXTURES / "targets" / "npu_shape_chains.tflite",
    FIXTURES / "quant_params" / "missing_weight_params.tflite",
    FIXTURES / "quant_params" / "activation_zero_point.tflite",
]


def test_vela_is_the_probed_version() -> None:
    assert importlib.metadata.version("ethos-u-vela") == "5.2.0"


@pytest.mark.parametrize("config", ["ethos-u55-128", "ethos-u85-256"])
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_cpu_placement_matches_the_real_vela(model: object, config: str) -> None:
    row = compare(model, config, VELA)  # type: ignore[arg-type]
    assert not row["refused"]
    assert row["fp"] == 0 and row["fn"] == 0, row["misses"]


@pytest.mark.parametrize("config", ["ethos-u55-256", "ethos-u65-256"])
def test_refusal_matches_the_real_vela(config: str) -> None:
    row = compare(FIXTURES / "targets" / "npu_reshape_mismatch.tflite", config, VELA)
    assert row["refused"] and row["predicted_refused"]
    assert "quantisation must match" in (row.get("message") or "")
