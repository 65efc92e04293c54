"""Pattern matching of source predictions: control-flow bodies, data-connected patterns,
Keras variants, the records of converter errors, and the probe's table updates."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from conftest import FIXTURES, REPO

from qlint.graph import ModelGraph
from qlint.loaders.keras import load_keras
from qlint.loaders.savedmodel import load_savedmodel
from qlint.predict.patterns import match_pattern
from qlint.predict.source import predict
from qlint.predict.tables import CONVERSION_ERROR, FLOAT_FALLBACK, CapabilityFile, CapabilityTable
from qlint.registry import Context
from qlint_rules.source_kernels import SourceNoBuiltin

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.probe.cli import merge
from tools.probe.messages import condense

SRC = FIXTURES / "source"
LOOP_ERROR = "error: 'tf.TensorListReserve' op requires element_shape to be static"


def _table(tf_ops: dict[str, Any]) -> CapabilityTable:
    return CapabilityTable(CapabilityFile("t.json", {"modes": {"int8": {}}, "tf_ops": tf_ops}),
                           "int8")


def _graph(ops: list[tuple[str, str, list[int], list[int]]],
           dtypes: dict[int, str] | None = None) -> ModelGraph:
    """Ops as (TF op, location, input tensor ids, output tensor ids)."""
    g = ModelGraph("savedmodel", "synthetic", "source")
    n = 1 + max(i for _, _, ins, outs in ops for i in (*ins, *outs))
    t = [g.add_tensor(0, i, name=f"t{i}", dtype=(dtypes or {}).get(i, "float32"), shape=(1, 4))
         for i in range(n)]
    for k, (tf_op, loc, ins, outs) in enumerate(ops):
        g.add_op(0, k, op_type=f"tf.{tf_op}", source_op=tf_op, name=loc.rsplit("/", 1)[-1],
                 inputs=[t[i] for i in ins], outputs=[t[i] for i in outs], location=loc)
    return g


LOOP = _table({"rnn": {"keras": None, "probe": "loop", "graphdef_ops": [
    "TensorListReserve", "While", "MatMul", "Tanh"], "lowers_to": None,
    "int8": {"outcome": CONVERSION_ERROR, "message": LOOP_ERROR}}})


def test_a_pattern_spans_a_loop_body() -> None:
    # the body is inlined beside the While op with fresh arguments: no data edge joins them
    g = _graph([("TensorListReserve", "s/rnn/Reserve", [0], [1]),
                ("While", "s/rnn/while", [1], [2]),
                ("MatMul", "s/rnn/while/body/MatMul", [3], [4]),
                ("Tanh", "s/rnn/while/body/Tanh", [4], [5])])
    (p,) = predict(g, LOOP)
    assert p.outcome == CONVERSION_ERROR and p.via == "pattern" and p.failing_tf_op == \
        "TensorListReserve"


def test_ops_beside_a_loop_are_not_its_body() -> None:
    g = _graph([("TensorListReserve", "s/rnn/Reserve", [0], [1]),
                ("While", "s/rnn/while", [1], [2]),
                ("MatMul", "s/rnn/MatMul", [3], [4]),
                ("Tanh", "s/rnn/Tanh", [4], [5])])
    assert predict(g, LOOP) == []


def test_cast_feeding_a_concat_is_the_probed_pattern() -> None:
    ints = {0: "int32"}
    direct = _graph([("Cast", "s/m/cast/Cast", [0], [1]),
                     ("ConcatV2", "s/m/concat/concat", [1, 2], [3])], ints)
    (p,) = predict(direct)
    assert (p.cap.name, p.outcome, set(p.tflite_ops)) == (
        "Cast+ConcatV2", FLOAT_FALLBACK, {"CAST", "CONCATENATION"})
    # through a MatMul the concat is not fed by the Cast: only the Cast stays float
    via_dense = _graph([("Cast", "s/m/cast/Cast", [0], [1]),
                        ("MatMul", "s/m/dense/MatMul", [1, 4], [5]),
                        ("ConcatV2", "s/m/concat/concat", [5, 2], [3])], ints)
    assert [(p.cap.name, p.tflite_ops) for p in predict(via_dense)] == [
        ("Cast(int32->float32)", ("CAST",))]  # the probed int32 -> float32 variant


def test_a_two_op_pattern_holds_only_in_the_probed_direction() -> None:
    """``Sub+Square`` (``square(a - b)``) fuses into an int8 SQUARED_DIFFERENCE; a Square
    whose sum is subtracted later (a factorization machine's ``sum(v)^2 - sum(v^2)``)
    is a float SQUARE of its own."""
    fused = _graph([("Sub", "s/m/Sub", [0, 1], [2]), ("Square", "s/m/Square", [2], [3])])
    assert predict(fused) == []
    fm = _graph([("Sum", "s/m/Sum", [0], [1]), ("Square", "s/m/Square", [1], [2]),
                 ("Square", "s/m/Square_1", [0], [3]), ("Sum", "s/m/Sum_1", [3], [4]),
                 ("Sub", "s/m/Sub", [2, 4], [5])])
    squares = [p for p in predict(fm) if p.cap.name == "Square"]
    assert len(squares) == 2 and all(p.outcome == FLOAT_FALLBACK for p in squares)


def test_a_transpose_is_refused_on_a_complex_spectrum_only() -> None:
    """``Transpose(complex64)``: the converter refuses a transpose of an rfft; the
    transpose of its magnitude (rfft -> abs -> transpose, a log-mel front end feeding a
    Dense) is an int8 TRANSPOSE."""
    cplx = _graph([("RFFT", "s/m/stft/rfft", [0], [1]),
                   ("Transpose", "s/m/stft/transpose", [1], [2]),
                   ("ComplexAbs", "s/m/stft/Abs", [2], [3])], {1: "complex64", 2: "complex64"})
    assert "Transpose(complex64)" in [p.cap.name for p in predict(cplx)]
    magnitude = _graph([("RFFT", "s/m/stft/rfft", [0], [1]),
                        ("ComplexAbs", "s/m/stft/Abs", [1], [2]),
                        ("Transpose", "s/m/dense/transpose", [2], [3])], {1: "complex64"})
    assert all(p.cap.variant_of != "Transpose" for p in predict(magnitude))


def test_boolean_options_select_probed_variants() -> None:
    assert match_pattern("LSTM", {"units": 8, "unroll": True}) == "keras.LSTM(unroll=True)"
    assert match_pattern("LSTM", {"units": 8, "unroll": False}) == "keras.LSTM"
    assert match_pattern("GRU", {"unroll": True}) == "keras.GRU(unroll=True)"


@pytest.mark.parametrize("graph", [
    lambda: load_savedmodel(str(SRC / "hand_gru_sequence" / "saved_model")),
    lambda: load_keras(str(SRC / "hand_gru_sequence" / "model.keras")),
], ids=["savedmodel", "keras"])
def test_recurrent_loop_error_names_its_own_record(graph: Any) -> None:
    (f,) = SourceNoBuiltin().check(graph(), Context())
    assert f.record == "tensorflow/tflite-tensorlist-element-shape"
    assert "TensorListReserve" in f.message and "unroll=True" in f.fix


def test_erf_keeps_the_no_builtin_record() -> None:
    (f,) = SourceNoBuiltin().check(load_savedmodel(str(SRC / "Erf" / "saved_model")), Context())
    assert f.record == SourceNoBuiltin.record


def test_condense_drops_mlir_locations_after_error() -> None:
    text = ('error: loc(callsite(fused["TensorListReserve:", "f/lstm/TensorArrayV2_1@__inf_5"] '
            'at fused["StatefulPartitionedCall:", "x"])): ' + LOOP_ERROR[7:] + " pass")
    assert condense(text) == LOOP_ERROR + " pass"


def _doc(versions: dict[str, str], tf_ops: dict[str, Any]) -> dict[str, Any]:
    return {"versions": versions, "probed_on": "d", "command": "c",
            "modes": {"int8": {"ADD": {"outcome": "integer"}}}, "tf_ops": tf_ops}


def test_update_replaces_only_the_probed_entries() -> None:
    v = {"tensorflow": "2.21.0", "python": "3.11.7"}
    old = _doc(v, {"Erf": {"int8": {"outcome": "conversion_error"}},
                   "keras.LSTM": {"int8": {"outcome": "conversion_error", "message": "crash"}}})
    new = _doc(v, {"keras.LSTM": {"int8": {"outcome": "conversion_error", "message": "real"}}})
    new["modes"] = {"int8": {}}
    out = merge(old, new, "python -m tools.probe --update")
    assert out["tf_ops"]["keras.LSTM"]["int8"]["message"] == "real"
    assert out["tf_ops"]["Erf"] == old["tf_ops"]["Erf"]
    assert out["modes"] == old["modes"] and out["counts"]["int8"]["integer"] == 1
    assert out["updates"][-1]["tf_ops"] == ["keras.LSTM"]
    with pytest.raises(ValueError, match="probed on"):
        merge(old, _doc({**v, "tensorflow": "2.22.0"}, {}), "c")


NESTED = _table({
    "norm": {"keras": None, "probe": "norm", "graphdef_ops": ["Mean", "Rsqrt", "Neg"],
             "lowers_to": ["MEAN", "RSQRT", "NEG"],
             "int8": {"outcome": FLOAT_FALLBACK, "float_ops": ["NEG"]}},
    "gelu": {"keras": None, "probe": "gelu", "graphdef_ops": ["Neg", "Erfc", "Mul"],
             "lowers_to": ["GELU"], "int8": {"outcome": "integer"}},
    "sort": {"keras": None, "probe": "sort", "graphdef_ops": ["Neg", "TopKV2"],
             "lowers_to": ["NEG", "TOPK_V2"], "int8": {"outcome": "integer"}},
    "sorted_norm": {"keras": None, "probe": "sort, then norm",
                    "graphdef_ops": ["Mean", "Rsqrt", "Neg", "TopKV2"],
                    "lowers_to": ["MEAN", "RSQRT", "NEG", "TOPK_V2"],
                    "int8": {"outcome": FLOAT_FALLBACK, "float_ops": ["NEG"]}},
    "Mean": {"keras": None, "probe": "m", "graphdef_ops": ["Mean"], "lowers_to": ["MEAN"],
             "int8": {"outcome": "integer"}},
    "Rsqrt": {"keras": None, "probe": "r", "graphdef_ops": ["Rsqrt"], "lowers_to": ["RSQRT"],
              "int8": {"outcome": "integer"}}})


def test_an_op_of_a_smaller_pattern_instance_does_not_complete_an_enclosing_one() -> None:
    # a layer scope holding a normalization without a Neg and an exact GELU with one: the
    # GELU's Neg is the GELU's, so the layer is no instance of "norm"
    layer = _graph([("Mean", "s/layer/norm/Mean", [0], [1]),
                    ("Rsqrt", "s/layer/norm/Rsqrt", [1], [2]),
                    ("Neg", "s/layer/Gelu/Neg", [2], [3]),
                    ("Erfc", "s/layer/Gelu/Erfc", [3], [4]),
                    ("Mul", "s/layer/Gelu/mul", [4, 2], [5])])
    assert [p for p in predict(layer, NESTED) if p.outcome != "integer"] == []
    # a pattern holding all of the smaller one (a sort and what follows) keeps its instance
    sorted_norm = _graph([("Neg", "s/m/argsort/Neg", [0], [1]),
                          ("TopKV2", "s/m/argsort/TopKV2", [1], [2]),
                          ("Mean", "s/m/Mean", [2], [3]),
                          ("Rsqrt", "s/m/Rsqrt", [3], [4])])
    (p,) = [p for p in predict(sorted_norm, NESTED) if p.outcome == FLOAT_FALLBACK]
    assert p.cap.name == "sorted_norm" and p.tflite_ops == ("NEG",)


def test_float_carries_into_a_keras_operation_of_several_builtins() -> None:
    # keras.ops.where(c, ones_like(s), zeros_like(s)): the where's probe lowers to GREATER,
    # MUL and SELECT_V2; the float ZEROS_LIKE keeps its SELECT_V2 float
    from qlint.predict.patterns import lower

    graph = load_keras(str(REPO / "fixtures" / "heldout" / "models" / "arch7.ae_anomaly"
                           / "model.keras"))
    lower(graph)
    carried = [(graph[p.op]["source_op"], p.tflite_ops) for p in predict(graph)
               if p.via == "carried"]
    assert carried == [("ops.Where", ("SELECT_V2",))]


def _positions(dim: int) -> ModelGraph:
    """sin(cast(range(tf.shape(x)[dim]))) on x of shape (None, None, 16)."""
    g = ModelGraph("savedmodel", "synthetic", "source")
    spec = [("x", "float32", (None, None, 16), {}), ("s", "int32", (3,), {}),
            ("b", "int32", (1,), {"constant": True, "value": float(dim)}),
            ("e", "int32", (1,), {"constant": True, "value": float(dim + 1)}),
            ("n", "int32", (), {}), ("r", "int32", (None,), {}), ("f", "float32", (None,), {}),
            ("y", "float32", (None,), {})]
    t = {name: g.add_tensor(0, i, name=name, dtype=dt, shape=sh, **more)
         for i, (name, dt, sh, more) in enumerate(spec)}
    for k, (op, ins, out, attrs) in enumerate([
            ("Shape", ["x"], "s", {}), ("StridedSlice", ["s", "b", "e", "e"], "n",
                                        {"shrink_axis_mask": 1}),
            ("Range", ["n"], "r", {}), ("Cast", ["r"], "f", {"SrcT": "int32", "DstT": "float32"}),
            ("Sin", ["f"], "y", {})]):
        g.add_op(0, k, op_type=f"tf.{op}", source_op=op, name=op, inputs=[t[i] for i in ins],
                 outputs=[t[out]], location=f"s/pos/{op}", attrs=attrs)
    return g


def test_float_math_on_a_dimension_that_is_not_static_is_a_kernel() -> None:
    # a sequence length of unknown size: the Cast and the Sin run at run time, in float
    unknown = {p.cap.name.split("(")[0] for p in predict(_positions(1))
               if p.outcome == FLOAT_FALLBACK}
    assert {"Cast", "Sin"} <= unknown
    # the static channel count: folded by the converter, no kernel
    assert [p for p in predict(_positions(2)) if p.outcome == FLOAT_FALLBACK] == []


def test_a_refusing_condition_wins_over_one_met_earlier() -> None:
    from qlint.predict.variants import conditioned

    g = _graph([("Transpose", "s/m/Transpose", [0], [1])])
    holds = [{"fact": "ifm_rank", "eq": 2}]
    ok = _table({"T(ok)": {"keras": None, "probe": "a", "graphdef_ops": ["Transpose"],
                           "variant_of": "Transpose", "when": holds, "lowers_to": ["TRANSPOSE"],
                           "int8": {"outcome": "integer"}},
                 "T(refused)": {"keras": None, "probe": "b", "graphdef_ops": ["Transpose"],
                                "variant_of": "Transpose", "when": holds, "lowers_to": None,
                                "int8": {"outcome": CONVERSION_ERROR, "message": "m"}}})
    met = conditioned(g, next(iter(g.ops())), list(ok.tf_ops()))
    assert met is not None and met.name == "T(refused)"
