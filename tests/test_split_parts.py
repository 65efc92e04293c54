"""A split one of whose parts nothing reads: the fact ``output_unused`` and the probed
"may stay float" it predicts, on a ``.tflite`` file and a SavedModel graph (no
TensorFlow)."""

from __future__ import annotations

import pytest

from qlint.graph import ModelGraph
from qlint.op_facts import op_facts
from qlint.predict.patterns import source_table
from qlint.predict.source import predict
from qlint.registry import Context
from qlint.targets import get_target
from qlint_rules.int8_readiness import Int8Readiness


def split_graph(fmt: str, op: str, used: tuple[int, ...], parts: int = 2) -> ModelGraph:
    """x -> ``op`` into ``parts`` parts; the parts in ``used`` each feed a MUL whose
    result is a model output (the others are read by nothing)."""
    g = ModelGraph(fmt, "model", "source" if fmt == "savedmodel" else "converted")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 16, 8))
    outs = [g.add_tensor(0, 1 + i, name=f"split:{i}", dtype="float32", shape=(1, 8, 8))
            for i in range(parts)]
    kind = {"Split": "SPLIT", "SplitV": "SPLIT_V"}[op]
    if fmt == "savedmodel":
        g.add_op(0, 0, op_type=f"tf.{op}", source_op=op, name="split", inputs=[x],
                 outputs=outs, location="serving_default/split",
                 attrs={"T": "float32", "num_split": parts})
    else:
        g.add_op(0, 0, op_type=kind, source_op=kind, name="split", inputs=[x], outputs=outs)
    results = []
    for k, i in enumerate(used):
        y = g.add_tensor(0, 10 + k, name=f"y{k}", dtype="float32", shape=(1, 8, 8))
        mul = "Mul" if fmt == "savedmodel" else "MUL"
        g.add_op(0, 1 + k, op_type=f"tf.{mul}" if fmt == "savedmodel" else mul,
                 source_op=mul, name=f"mul{k}", inputs=[outs[i]], outputs=[y],
                 location=f"serving_default/mul{k}")
        results.append(y)
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": results}]
    if fmt == "tflite":
        g.attrs["quant_mode"] = "float"
    return g


def _split(g: ModelGraph) -> object:
    return next(o for o in g.ops() if g[o]["name"] == "split")


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_the_fact_holds_where_a_part_is_read_by_nothing(fmt: str) -> None:
    g = split_graph(fmt, "Split", (0,))
    assert op_facts(g, _split(g))["output_unused"] is True
    g = split_graph(fmt, "Split", (0, 1))
    assert op_facts(g, _split(g))["output_unused"] is False
    g = split_graph(fmt, "Split", (1,), parts=4)
    assert op_facts(g, _split(g))["output_unused"] is True


def test_a_savedmodel_split_missing_an_output_tensor_has_an_unused_part() -> None:
    g = split_graph("savedmodel", "Split", (0, 1))
    g[_split(g)]["attrs"]["num_split"] = 3  # a third part the loader never saw read
    assert op_facts(g, _split(g))["output_unused"] is True


@pytest.mark.parametrize("op", ["Split", "SplitV"])
def test_an_unused_part_may_keep_the_split_float(op: str) -> None:
    builtin = {"Split": "SPLIT", "SplitV": "SPLIT_V"}[op]
    table = source_table()
    cap = table.tf_op(f"{op}(part unused)")
    assert cap is not None and cap.float_runs is not None
    assert 0 < cap.float_runs[0] < cap.float_runs[1]  # in some conversions, not in all
    never = table.tf_op(f"{op}(every part used)")
    assert never is not None and never.float_runs == (0, never.float_runs[1])
    # the SavedModel: QL110's prediction says "may"
    (p,) = predict(split_graph("savedmodel", op, (0,)), table)
    assert (p.cap.name, p.tflite_ops) == (f"{op}(part unused)", (builtin,))
    assert predict(split_graph("savedmodel", op, (0, 1)), table) == []
    # the .tflite file: QL101 names it with the probed share of conversions
    findings = list(Int8Readiness().check(split_graph("tflite", op, (0,)),
                                          Context(target=get_target("tflite-int8"))))
    (f,) = findings
    runs = cap.float_runs
    assert f.node["op_type"] == builtin
    assert f"may stay (in {runs[0]} of {runs[1]} probed conversions)" in f.message
    assert list(Int8Readiness().check(split_graph("tflite", op, (0, 1)),
                                      Context(target=get_target("tflite-int8")))) == []
