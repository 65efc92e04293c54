"""QL3xx quantization-parameter rules against edited real conversions.

``fixtures/quant_params/expected.json`` (written by ``fixtures/build_quant_params.py``)
says, per edited fixture, which rule must flag it, on which tensor and op, and what the real
TensorFlow 2.21 interpreter did with it: fail at load or at ``allocate_tensors()`` (with
its message) or run silently.  The rules' severities and messages must agree with that.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from qlint import lint
from qlint.finding import Finding
from qlint.knowledge import record
from qlint.registry import discover_rules

QP_DIR = FIXTURES / "quant_params"
QL3_RULES = [r for r in discover_rules() if r.id.startswith("QL3")]


@cache
def expected() -> dict[str, Any]:
    return dict(json.loads((QP_DIR / "expected.json").read_text())["cases"])


CASES = sorted(expected())


def qp_findings(path: Path, select: list[str], **options: Any) -> list[Finding]:
    report = lint([str(path)], select=select, **options)
    assert report.unreadable == []
    return report.findings


def real_failure(case: str) -> str | None:
    """The interpreter's message when any mode failed (default delegate first), else None."""
    outcome = expected()[case]["interpreter"]
    for mode in ("default", "builtin"):
        if outcome[mode]["stage"] != "ok":
            return str(outcome[mode]["error"])
    return None


def longest_common_substring(a: str, b: str) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def target_finding(case: str) -> Finding:
    """The finding of the case's rule that names the edited tensor and op."""
    entry = expected()[case]
    tensor, op = entry["edit"]["tensor"], entry["edit"]["op"]
    found = qp_findings(QP_DIR / entry["file"], [entry["rule"]])
    for f in found:
        nodes = [f.node, *f.related]
        has_tensor = any(n["kind"] == "tensor" and n["index"] == tensor for n in nodes)
        has_op = any(n["kind"] == "op" and n["index"] == op for n in nodes)
        if has_tensor and has_op:
            return f
    raise AssertionError(f"{entry['rule']} did not flag tensor {tensor} / op {op} in {case}: "
                         f"{[(f.location, f.message) for f in found]}")


def test_every_case_has_a_fixture_and_all_rules_are_covered() -> None:
    for case, entry in expected().items():
        assert (QP_DIR / entry["file"]).is_file(), case
        assert "edit" in entry, case
    assert {e["rule"] for e in expected().values()} == {r.id for r in QL3_RULES}


@pytest.mark.parametrize("case", CASES)
def test_rule_flags_its_fixture_on_the_right_node(case: str) -> None:
    f = target_finding(case)
    assert f.rule == expected()[case]["rule"]


@pytest.mark.parametrize("case", CASES)
def test_severity_and_message_match_the_real_interpreter(case: str) -> None:
    f = target_finding(case)
    failure = real_failure(case)
    if failure is not None:
        assert f.severity.value == "error", (case, failure)
        # the message quotes the failure the interpreter really printed
        assert longest_common_substring(f.message, failure) >= 20, (f.message, failure)
    else:
        assert f.severity.value in ("warning", "info"), (case, f.message)
        assert re.search(r"silent|runs", f.message), f.message


@pytest.mark.parametrize("rule", QL3_RULES, ids=lambda r: r.id)
def test_record_is_reproduced_and_its_regex_matches_the_captured_message(rule: type) -> None:
    rec = record(rule.record)
    assert rec is not None
    assert rec["verification_tier"] == "reproduced"
    assert rec["reproducer"].startswith("fixtures/quant_params/")
    failures = [real_failure(c) for c, e in expected().items() if e["rule"] == rule.id]
    messages = [m for m in failures if m is not None]
    if rec["regex"] is None:
        # a silent record may only lead to a failure another record's regex explains
        led = [record(r) for r in rec["transition_graph"]["leads_to"]]
        for m in messages:
            assert any(o and o["regex"] and re.search(o["regex"], m) for o in led), (rule.id, m)
    else:
        assert messages
        for m in messages:
            assert re.search(rec["regex"], m), (rule.id, m)


def test_quoted_messages_occur_in_messages_captured_from_the_real_toolchain() -> None:
    from test_records import captured_messages

    from qlint_rules.quant_params import tf_messages

    texts = [m.text for m in captured_messages()]
    templates = {name: value for name, value in vars(tf_messages).items()
                 if name.isupper() and isinstance(value, str)}
    assert set(templates) >= tf_messages.FROM_SOURCE_ONLY
    for name, template in templates.items():
        # the literal text between the fields, "N" and "..." (which stand for what qlint
        # cannot know)
        parts = [p for p in re.split(r"\{\w+\}|\.\.\.|\bN\b", template) if len(p.strip()) >= 6]
        captured = any(all(p in text for p in parts) for text in texts)
        assert captured != (name in tf_messages.FROM_SOURCE_ONLY), (name, template)


def clean_models() -> list[Path]:
    out = []
    for scenario in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        model = scenario / f"{scenario.name}.tflite"
        if (scenario / "scenario.json").is_file() and model.is_file():
            out.append(model)
    return out


@pytest.mark.parametrize("model", clean_models(), ids=lambda p: p.stem)
def test_clean_fixture_models_get_no_ql3_finding(model: Path) -> None:
    assert qp_findings(model, ["QL3"]) == []


def test_legacy_uint8_is_not_flagged_for_other_targets() -> None:
    path = QP_DIR / expected()["legacy_uint8"]["file"]
    assert qp_findings(path, ["QL308"], target="tflite-int16x8") == []


def test_concatenation_names_the_input_with_the_widest_range() -> None:
    f = target_finding("concat_input_scales")
    widened = expected()["concat_input_scales"]["edit"]["tensor"]
    assert f.node["kind"] == "op" and f.node["op_type"] == "CONCATENATION"
    assert f"widest range: input tensor {widened} " in f.message


def test_collapsed_range_is_flagged_where_it_collapses_not_downstream() -> None:
    found = qp_findings(QP_DIR / expected()["dead_relu"]["file"], ["QL309"])
    assert [f.node["index"] for f in found] == [expected()["dead_relu"]["edit"]["tensor"]]


# -- with the real TensorFlow ---------------------------------------------------------------

APPLICATIONS = {
    "MobileNetV2_a035_96": ("MobileNetV2", (96, 96, 3), {"alpha": 0.35}),
    "MobileNetV3Small_64": ("MobileNetV3Small", (64, 64, 3), {"include_preprocessing": False}),
    "DenseNet121_32": ("DenseNet121", (32, 32, 3), {}),
}


@pytest.fixture(scope="session")
def application_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """keras.applications (weights=None) converted to full int8 once per session."""
    import keras
    import numpy as np
    import tensorflow as tf

    out = tmp_path_factory.mktemp("applications")
    models = {}
    for name, (ctor, shape, kwargs) in APPLICATIONS.items():
        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, ctor)(input_shape=shape, weights=None, **kwargs)
        rng = np.random.default_rng(0)
        data = [[rng.uniform(-1, 1, (1, *shape)).astype(np.float32)] for _ in range(2)]
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda data=data: iter(data)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
        path = out / f"{name}.tflite"
        path.write_bytes(converter.convert())
        models[name] = path
        keras.backend.clear_session()
    return models


@pytest.mark.tensorflow
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_keras_applications_int8_get_no_ql3_finding(
    name: str, application_models: dict[str, Path]
) -> None:
    found = qp_findings(application_models[name], ["QL3"])
    assert found == [], [(f.rule, f.location, f.message) for f in found]


@pytest.mark.tensorflow
@pytest.mark.parametrize("case", CASES)
def test_real_interpreter_still_does_what_expected_json_says(case: str) -> None:
    from fixtures.build_quant_params import run_interpreter, stable

    entry = expected()[case]
    for mode in ("default", "builtin"):
        want = entry["interpreter"][mode]
        if want["stage"] == "crash":
            pytest.skip("a crashing case is only run in a separate process by the builder")
        got = run_interpreter(str(QP_DIR / entry["file"]), mode=mode)
        assert (got["stage"], stable(got["error"])) == (want["stage"], stable(want["error"])), (
            case, mode)


