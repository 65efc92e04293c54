"""QL190 unknown-op: a positive and a negative fixture for each kind of graph."""

from __future__ import annotations

from conftest import FIXTURES
from graph_builders import chain

from qlint.api import lint
from qlint.config import Config
from qlint.graph import ModelGraph
from qlint.registry import Context
from qlint.targets import get_target
from qlint_rules.unknown_op import UnknownOp, probe_command


def findings(graph: ModelGraph, target: str = "tflite-int8") -> list[str]:
    rule = UnknownOp()
    if not rule.applies_to(graph):
        return []
    return [f.message for f in rule.check(graph, Context(target=get_target(target)))]


def source(*tf_ops: str) -> ModelGraph:
    """A SavedModel-like source graph: a chain of TF ops."""
    g = ModelGraph("savedmodel", "model", "source")
    prev = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4))
    ins = [prev]
    for i, op in enumerate(tf_ops):
        out = g.add_tensor(0, i + 1, name=f"t{i}", dtype="float32", shape=(1, 4))
        g.add_op(0, i, op_type=f"tf.{op}", source_op=op, name=op, inputs=[prev], outputs=[out],
                 location=f"serving_default/{op}_{i}")
        prev = out
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": ins,
                             "outputs": [prev]}]
    return g


def test_builtin_without_verdict_is_named_with_its_probe_command() -> None:
    (msg,) = findings(chain([("SVDF", "float32"), ("SVDF", "float32"), ("ADD", "float32")]))
    assert msg.startswith("builtin SVDF has no probed verdict on tflite-int8")
    assert "2 ops of this kind" in msg
    assert probe_command("builtin", "SVDF") in msg
    (msg,) = findings(chain([("NO_SUCH_BUILTIN", "float32")]))
    assert "it has no entry" in msg


def test_known_builtins_and_quantized_models_are_silent() -> None:
    assert findings(chain([("CONV_2D", "float32"), ("CUMSUM", "float32")])) == []
    # a quantized model: QL101 and QL190 judge float models only
    assert findings(chain([("SVDF", "int8")])) == []


def test_tf_op_without_entry() -> None:
    (msg,) = findings(source("Cumsum", "NoSuchTfOp"))
    assert msg.startswith("TF op NoSuchTfOp has no probed int8 verdict")
    assert "--tf-ops NoSuchTfOp" in msg
    assert findings(source("Cumsum", "Erf")) == []


def test_keras_fixture_layers_are_known() -> None:
    report = lint([str(FIXTURES / "source" / "hand_gelu_block" / "model.keras")],
                  select=["QL190"], config=Config())
    assert [f.message for f in report.findings] == []


def test_summary_counts_unknown_ops() -> None:
    from qlint.reporters.json import to_dict
    from qlint.reporters.text import summary_line

    report = lint([str(FIXTURES / "source" / "Cumsum" / "saved_model")], select=["QL190"],
                  config=Config())
    assert "unknown" not in summary_line(report)
    assert to_dict(report)["summary"]["unknown_ops"] == 0
