"""Loop bodies a model never runs (`qlint.loop_trips`): their ops get no calibration range
and stay float32 in a strict int8 conversion (``X(loop body never run)``).

Each model is converted here by the real converter, float for qlint and strict int8 for
the truth: QL101 must name the float ops of a body that never runs, and only those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import HAS_TF, REPO

from qlint.api import lint
from qlint.loaders.tflite import load_tflite
from qlint.loop_trips import zero_trip_bodies
from qlint.op_facts import op_facts

pytestmark = pytest.mark.skipif(not HAS_TF, reason="needs TensorFlow to convert models")


def _nested(tf: Any) -> Any:
    """keras-cv's NMS shape: a loop over tiles (``i < 1``: once) whose body runs a loop
    over the tiles before the current one (``j < i``: never)."""
    def f(x: Any) -> Any:
        def outer(i: Any, a: Any) -> Any:
            _, _, b = tf.while_loop(lambda j, n, b: j < n,
                                    lambda j, n, b: (j + 1, n, b * 1.5 - 0.25), [0, i, a])
            return i + 1, b * 0.5 + 0.125
        return tf.while_loop(lambda i, a: i < 1, outer, [tf.constant(0), x])[1]
    return f


def _counted(trips: int) -> Any:
    def make(tf: Any) -> Any:
        return lambda x: tf.while_loop(lambda i, a: i < trips,
                                       lambda i, a: (i + 1, a * 1.5 - 0.25),
                                       [tf.constant(0), x])[1]
    return make


def _data_bound(tf: Any) -> Any:
    """The bound comes from the input's values: unknown to a static reader."""
    def f(x: Any) -> Any:
        n = tf.cast(tf.reduce_sum(x) < -100.0, tf.int32)
        return tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * 1.5 - 0.25),
                             [tf.constant(0), x])[1]
    return f


MODELS = {"nested": _nested, "never": _counted(0), "three": _counted(3),
          "data_bound": _data_bound}


def _float_ops_by_subgraph(data: bytes) -> dict[int, list[str]]:
    """The ops computing in float32 in each subgraph of a converted model."""
    import tflite

    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    m = tflite.Model.GetRootAs(data, 0)
    out: dict[int, list[str]] = {}
    for s in range(m.SubgraphsLength()):
        g = m.Subgraphs(s)
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = m.OperatorCodes(op.OpcodeIndex())
            name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            slots = [op.Inputs(j) for j in range(op.InputsLength())] + \
                    [op.Outputs(j) for j in range(op.OutputsLength())]
            if name not in ("QUANTIZE", "DEQUANTIZE", "WHILE") and any(
                    t >= 0 and g.Tensors(t).Type() == 0 for t in slots):
                out.setdefault(s, []).append(name)
    return out


def _arithmetic_findings(path: Path) -> list[Any]:
    """QL101's findings on the model, but for the float WHILE ops themselves."""
    return [f for f in lint([str(path)], select=["QL101"]).findings
            if not f.message.startswith("WHILE ")]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """name -> (the float .tflite, float ops per subgraph of its strict int8 model)."""
    import numpy as np
    import tensorflow as tf

    root = tmp_path_factory.mktemp("loops")
    out = {}
    for name, make in MODELS.items():
        fn = tf.function(make(tf), input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        concrete = fn.get_concrete_function()
        path = root / f"{name}.tflite"
        path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions(
            [concrete], fn).convert())
        conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        samples = np.random.default_rng(0).uniform(-1, 1, (4, 1, 8)).astype(np.float32)
        conv.representative_dataset = lambda s=samples: ([x] for x in s)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        out[name] = (path, _float_ops_by_subgraph(conv.convert()))
    return out


def test_the_converter_keeps_float_exactly_the_bodies_qlint_says_never_run(
        converted: dict[str, tuple[Path, dict]]) -> None:
    never = {}
    for name, (path, truth) in converted.items():
        graph = load_tflite(str(path))
        never[name] = zero_trip_bodies(graph)
        if name != "data_bound":  # the subgraphs whose arithmetic stayed float
            assert set(truth) == set(never[name]), name
    assert [len(never[n]) for n in MODELS] == [1, 1, 0, 0]
    # a trip count the calibration data decides (zero here) is not read off the file:
    # the converter keeps that body float, and qlint claims nothing
    assert converted["data_bound"][1] and not never["data_bound"]


def test_the_fact_and_ql101_on_a_body_that_never_runs(
        converted: dict[str, tuple[Path, dict]]) -> None:
    path, truth = converted["nested"]
    graph = load_tflite(str(path))
    (inner,) = zero_trip_bodies(graph)
    muls = [op for op in graph.ops() if graph[op]["op_type"] == "MUL"]
    assert {op_facts(graph, op)["loop_body_never_runs"] for op in muls} == {True, False}
    found = _arithmetic_findings(path)
    assert found and all("loop_body_never_runs == True" in f.message for f in found)
    assert sorted(f.location.split("/")[0] for f in found) == sorted(
        f"subgraph[{inner}]" for _ in truth[inner])


@pytest.mark.parametrize("name", ["three", "data_bound"])
def test_no_finding_where_the_body_runs_or_its_count_is_unknown(
        converted: dict[str, tuple[Path, dict]], name: str) -> None:
    assert _arithmetic_findings(converted[name][0]) == []


def test_keras_cv_nms_cross_suppression_loop() -> None:
    """The held-out YOLOv8 (set 15): its loop over the tiles before the current one."""
    graph = load_tflite(str(REPO / "fixtures/heldout/models/tp15.yolov8/float.tflite"))
    (body,) = zero_trip_bodies(graph)
    assert graph.attrs["subgraphs"][body]["name"] == "while/suppression_loop_body/while_body"
