"""A variable's read that a select or a maximum also reads: the fact ``ifm_tied_variable``
and the float it carries on a converted model (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qlint.graph import ModelGraph
from qlint.loaders.tflite import load_tflite
from qlint.op_facts import op_facts
from qlint.registry import Context
from qlint.targets import get_target
from qlint.tied_variables import tied_variable
from qlint_rules.int8_readiness import Int8Readiness

SNGP = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
        / "tp26.sngp" / "float.tflite")


def variable_graph(tying: str | None) -> ModelGraph:
    """r = a variable's read; m = r * s; then ``tying`` (SELECT_V2 of m and r, MAXIMUM of
    m and r, ``"SELECT_V2 of m, s"``) or, with None, ADD of m and s; y = x @ that."""
    g = ModelGraph("tflite", "hand.tflite", "converted")
    names = ("handle", "r", "s", "m", "c", "t", "x", "y")
    t = {n: g.add_tensor(0, i, name=n, dtype="bool" if n == "c" else "float32",
                         shape=(8, 16)) for i, n in enumerate(names)}
    g.add_op(0, 0, op_type="READ_VARIABLE", source_op="READ_VARIABLE", name="read",
             inputs=[t["handle"]], outputs=[t["r"]])
    g.add_op(0, 1, op_type="MUL", source_op="MUL", name="mul", inputs=[t["r"], t["s"]],
             outputs=[t["m"]])
    if tying == "SELECT_V2":
        ins = [t["c"], t["m"], t["r"]]
    elif tying == "SELECT_V2 of m, s":
        ins = [t["c"], t["m"], t["s"]]
    elif tying == "MAXIMUM":
        ins = [t["m"], t["r"]]
    else:
        ins = [t["m"], t["s"]]
    kind = (tying or "ADD").split()[0]
    g.add_op(0, 2, op_type=kind, source_op=kind, name="tie",
             inputs=ins, outputs=[t["t"]])
    g.add_op(0, 3, op_type="BATCH_MATMUL", source_op="BATCH_MATMUL", name="matmul",
             inputs=[t["x"], t["t"]], outputs=[t["y"]])
    g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": [t["x"], t["s"]],
                             "outputs": [t["y"]]}]
    g.attrs["quant_mode"] = "float"
    return g


def _op(g: ModelGraph, name: str) -> object:
    return next(o for o in g.ops() if g[o]["name"] == name)


@pytest.mark.parametrize("tying", ["SELECT_V2", "MAXIMUM"])
def test_the_fact_holds_for_readers_of_a_read_a_tying_op_takes(tying: str) -> None:
    g = variable_graph(tying)
    assert op_facts(g, _op(g, "mul"))["ifm_tied_variable"] is True
    assert tied_variable(g, _op(g, "tie"))
    assert not tied_variable(g, _op(g, "matmul"))  # reads the select's result, no read


def test_the_fact_is_false_without_a_tying_op() -> None:
    g = variable_graph(None)
    assert op_facts(g, _op(g, "mul"))["ifm_tied_variable"] is False
    # a select of the product, not of the read itself: the read is not tied
    g = variable_graph("SELECT_V2 of m, s")
    assert not tied_variable(g, _op(g, "mul"))
    assert not tied_variable(g, _op(g, "tie"))


def _flagged(g: ModelGraph) -> list[str]:
    findings = Int8Readiness().check(g, Context(target=get_target("tflite-int8")))
    return sorted(str(f.node["op_type"]) for f in findings)


@pytest.mark.parametrize("tying", ["SELECT_V2", "MAXIMUM"])
def test_the_probed_chain_keeps_the_readers_of_a_tied_read_float(tying: str) -> None:
    assert _flagged(variable_graph(tying)) == sorted(["READ_VARIABLE", "MUL", tying])
    assert _flagged(variable_graph(None)) == ["READ_VARIABLE"]
    assert _flagged(variable_graph("SELECT_V2 of m, s")) == ["READ_VARIABLE"]


def test_spectral_normalization_on_the_converted_file() -> None:
    """keras-proba's SNGP (held-out set 26): the converter keeps the MUL, SELECT_V2 and
    SUB reading the read the select takes float, and quantizes the other read's readers
    (FULLY_CONNECTED, BATCH_MATMUL, ADD)."""
    g = load_tflite(str(SNGP))
    flagged = _flagged(g)
    for builtin in ("MUL", "SELECT_V2", "SUB"):
        assert flagged.count(builtin) == 2, flagged
    for builtin in ("FULLY_CONNECTED", "BATCH_MATMUL", "ADD", "LESS", "DIV"):
        assert builtin not in flagged
