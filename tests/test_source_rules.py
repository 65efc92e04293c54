"""Source rules: a positive and a negative fixture each."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from qlint.graph import ModelGraph
from qlint.loaders.keras import load_keras
from qlint.loaders.savedmodel import load_savedmodel
from qlint.registry import Context
from qlint_rules.source_dtypes import ConcatDtypePromotion, Float16Policy
from qlint_rules.source_kernels import SourceFloatFallback, SourceNoBuiltin
from qlint_rules.source_opaque import OpaqueLayer
from qlint_rules.source_qat import FakeQuantCoverage

SRC = FIXTURES / "source"


def ids(rule: type, graph: ModelGraph) -> list[str]:
    r = rule()
    if not r.applies_to(graph):
        return []
    return [f.location for f in r.check(graph, Context())]


def sm(case: str) -> ModelGraph:
    return load_savedmodel(str(SRC / case / "saved_model"))


def kf(case: str) -> ModelGraph:
    return load_keras(str(SRC / case / "model.keras"))


def test_float_fallback() -> None:
    assert ids(SourceFloatFallback, sm("Cumsum")) == ["serving_default/Cumsum"]
    assert ids(SourceFloatFallback, kf("hand_gelu_block")) == ["norm"]  # NEG in LayerNorm
    assert ids(SourceFloatFallback, sm("Erf")) == []
    assert ids(SourceFloatFallback, kf("hand_mixed_float16")) == []


def test_no_builtin_judges_patterns() -> None:
    assert ids(SourceNoBuiltin, sm("Erf")) == ["serving_default/Erf"]
    # exact GELU contains an error function but becomes the int8 GELU kernel
    assert ids(SourceNoBuiltin, sm("hand_gelu_block")) == []
    assert ids(SourceNoBuiltin, kf("hand_gelu_block")) == []


def test_opaque_layer() -> None:
    assert ids(OpaqueLayer, kf("hand_lambda_cumsum")) == ["lambda"]
    assert ids(OpaqueLayer, kf("hand_gelu_block")) == []
    assert ids(OpaqueLayer, sm("hand_lambda_cumsum")) == []  # the export shows the Cumsum


def test_concat_dtype_promotion() -> None:
    (loc,) = ids(ConcatDtypePromotion, sm("hand_concat_int"))
    assert loc.endswith("concat_1/concat")
    assert ids(ConcatDtypePromotion, sm("hand_lambda_cumsum")) == []


def test_float16_policy() -> None:
    assert ids(Float16Policy, kf("hand_mixed_float16")) == ["conv"]
    assert len(ids(Float16Policy, sm("hand_mixed_float16"))) == 1
    assert ids(Float16Policy, kf("hand_gelu_block")) == []


def _qat(with_range: bool, covered: bool) -> ModelGraph:
    g = ModelGraph("savedmodel", "qat", "source")
    t = [g.add_tensor(0, i, name=f"t{i}", dtype="float32", shape=(1, 4),
                      constant=i in (1, 2, 5)) for i in range(8)]
    if not with_range:
        g[t[2]]["constant"] = False
    g.add_op(0, 0, op_type="tf.FakeQuantWithMinMaxVars", source_op="FakeQuantWithMinMaxVars",
             name="fq_in", inputs=[t[0], t[1], t[2]], outputs=[t[3]], location="s/fq_in")
    g.add_op(0, 1, op_type="tf.MatMul", source_op="MatMul", name="mm", inputs=[t[3], t[5]],
             outputs=[t[4]], location="s/mm")
    if covered:
        g.add_op(0, 2, op_type="tf.FakeQuantWithMinMaxVars",
                 source_op="FakeQuantWithMinMaxVars", name="fq_out",
                 inputs=[t[4], t[1], t[2]] if with_range else [t[4], t[1], t[5]],
                 outputs=[t[6]], location="s/fq_out")
    else:
        g.add_op(0, 2, op_type="tf.Sin", source_op="Sin", name="sin", inputs=[t[4]],
                 outputs=[t[6]], location="s/sin")
    return g


@pytest.mark.parametrize(("with_range", "covered", "expected"), [
    (True, True, []), (False, True, ["s/fq_in"]), (True, False, ["s/mm"])])
def test_fake_quant_coverage(with_range: bool, covered: bool, expected: list[str]) -> None:
    assert ids(FakeQuantCoverage, _qat(with_range, covered)) == expected


def test_float_fallback_of_an_op_reading_a_model_output() -> None:
    # real SavedModels (fixtures/build_source.py): the converter keeps ARG_MAX float when
    # its input is also a model output, and TOPK_V2 when only its indices are used
    (loc,) = ids(SourceFloatFallback, sm("hand_argmax_model_output"))
    assert loc.endswith("/ArgMax")
    assert ids(SourceFloatFallback, sm("hand_argmax")) == []
    g = sm("hand_topk_indices")
    (loc,) = ids(SourceFloatFallback, g)
    assert loc.endswith("/TopKV2")
    (topk,) = [op for op in g.ops() if g[op]["source_op"] == "TopKV2"]
    assert [g[t]["output_arg"] for t in g.outputs(topk) if t is not None] == ["indices"]
