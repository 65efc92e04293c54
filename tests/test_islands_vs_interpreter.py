"""Float islands qlint reports equal, op for op, what the real interpreter runs in float.

The models are converted afresh with the installed TensorFlow (once per test
session), so a converter that changes behaviour is caught here, not in the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES

from qlint.analysis import islands
from qlint.loaders.tflite import load_tflite

FLOAT = ("float32", "float16")
CONVERSION = ("QUANTIZE", "DEQUANTIZE")
ISLAND_SCENARIOS = ["island_cumsum", "island_sin_floor", "custom_op", "int8_cnn",
                    "float_io_int8", "uint8_io_int8", "int16x8_cnn"]


def interpreter_float_ops(model: bytes) -> set[int]:
    """Indices of ops the interpreter runs on float activations (subgraph 0).

    An activation is a tensor produced by an op or fed as a model input; weights
    are neither.  QUANTIZE/DEQUANTIZE only convert and are left out.
    """
    import tensorflow as tf

    interp = tf.lite.Interpreter(
        model_content=model,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType
        .BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    ops = interp._get_ops_details()
    produced = {t for op in ops for t in op["outputs"]}
    produced |= {d["index"] for d in interp.get_input_details()}

    def dtype(i: int) -> str:
        return interp._get_tensor_details(i, 0)["dtype"].__name__

    out = set()
    for op in ops:
        if op["op_name"] in CONVERSION:
            continue
        acts = [t for t in op["inputs"] if t >= 0 and t in produced] + list(op["outputs"])
        if any(dtype(t) in FLOAT for t in acts):
            out.add(op["index"])
    return out


def qlint_island_ops(path: Path) -> set[int]:
    graph = load_tflite(str(path))
    return {graph[op]["index"] for isl in islands(graph) for op in isl.ops
            if graph[op]["subgraph"] == 0}


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Convert a fixture scenario with the installed TensorFlow, once per session."""
    from fixtures.models import SCENARIOS

    cache: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("converted")

    def get(name: str) -> Path:
        if name not in cache:
            path = root / f"{name}.tflite"
            path.write_bytes(SCENARIOS[name].builder())
            cache[name] = path
        return cache[name]

    return get


@pytest.mark.tensorflow
@pytest.mark.parametrize("scenario", ISLAND_SCENARIOS)
def test_islands_equal_interpreter_float_ops(scenario: str,
                                            converted: Callable[[str], Path]) -> None:
    path = converted(scenario)
    expected = interpreter_float_ops(path.read_bytes())
    assert qlint_island_ops(path) == expected
    if scenario.startswith("island_"):
        assert expected, "the scenario must still produce a float island with this TensorFlow"


@pytest.mark.parametrize("scenario", ISLAND_SCENARIOS)
def test_islands_equal_recorded_ground_truth(scenario: str) -> None:
    """Same comparison, island by island, against what the interpreter reported at build time."""
    truth = json.loads((FIXTURES / scenario / "scenario.json").read_text())["ground_truth"]
    graph = load_tflite(str(FIXTURES / scenario / f"{scenario}.tflite"))
    found = [sorted(graph[op]["index"] for op in isl.ops) for isl in islands(graph)]
    assert found == [sorted(region) for region in truth["float_regions"]]
