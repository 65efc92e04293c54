"""A grouped 3-d convolution (a Mix-FFN's depthwise Conv3D): the converter writes a
CONV_3D whose kernel TFLite refuses to prepare, so strict int8 conversion fails in its
calibration run (``Conv3D(grouped)``, under the fact ``conv_groups``)."""

from __future__ import annotations

import pytest

from qlint.graph import ModelGraph
from qlint.op_facts import op_facts
from qlint.quant_mode import classify_quant_mode
from qlint.registry import Context
from qlint_rules.int8_readiness import Int8Readiness
from qlint_rules.source_kernels import SourceNoBuiltin


def conv3d_graph(fmt: str, filter_in: int) -> ModelGraph:
    """x (1, 4, 4, 4, 8) -> Conv3D / CONV_3D with a (3, 3, 3, filter_in, 8) filter."""
    g = ModelGraph(fmt, "model", "source" if fmt == "savedmodel" else "converted")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4, 4, 4, 8))
    k = g.add_tensor(0, 1, name="k", dtype="float32", shape=(3, 3, 3, filter_in, 8),
                     constant=True)
    y = g.add_tensor(0, 2, name="y", dtype="float32", shape=(1, 4, 4, 4, 8))
    op = "Conv3D" if fmt == "savedmodel" else "CONV_3D"
    g.add_op(0, 0, op_type=op, source_op=op, name="conv", inputs=[x, k], outputs=[y],
             location=f"{'serving_default' if fmt == 'savedmodel' else 'subgraph[0]'}/conv",
             attrs={"T": "float32"} if fmt == "savedmodel" else {})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [y]}]
    if fmt == "tflite":
        g.attrs["quant_mode"] = classify_quant_mode(g)
    return g


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_the_groups_of_a_convolution(fmt: str) -> None:
    for filter_in, groups in ((8, 1), (1, 8), (2, 4)):
        g = conv3d_graph(fmt, filter_in)
        assert op_facts(g, next(iter(g.ops())))["conv_groups"] == groups


def test_a_grouped_conv_3d_is_refused_a_plain_one_stays_float() -> None:
    def found(filter_in: int) -> list[tuple[str, str]]:
        return [(f.severity.value, f.message) for f in
                Int8Readiness().check(conv3d_graph("tflite", filter_in), Context())]

    ((severity, message),) = found(1)
    assert severity == "error" and "refused when conv_groups > 1" in message
    assert "conv3d.cc" in message
    ((severity, message),) = found(8)
    assert severity == "warning" and "no integer kernel" in message


def test_a_grouped_conv3d_fails_strict_conversion_naming_its_builtin() -> None:
    (f,) = SourceNoBuiltin().check(conv3d_graph("savedmodel", 1), Context())
    assert f.message.endswith("(CONV_3D)")
    assert list(SourceNoBuiltin().check(conv3d_graph("savedmodel", 8), Context())) == []
