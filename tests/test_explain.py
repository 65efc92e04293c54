"""``qlint explain``: records by rule or record id, and real toolchain logs."""

from __future__ import annotations

import io

import pytest
from conftest import REPO, run_qlint
from test_records import log_index

from qlint.errors import UsageError
from qlint.explain import main, match_log
from qlint.knowledge import all_records
from qlint.registry import discover_rules


def _explain(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out, stdin=io.StringIO(stdin))
    return code, out.getvalue()


@pytest.mark.parametrize("rule", discover_rules(), ids=lambda r: r.id)
def test_explain_by_rule_id_and_name(rule: type) -> None:
    rec = all_records()[rule.record]
    for key in (rule.id, rule.id.lower(), rule.name, rule.record):
        code, text = _explain(key)
        assert code == 0
        assert text.startswith(rule.record + "\n")
        assert f"{rule.id} {rule.name}" in text
        for heading in ("Root cause:", "Fix:", "Known message:", "Versions:", "Verification:"):
            assert heading in text
        assert rec["verification_tier"] in text
        if rec["dead_ends"]:
            assert "Dead ends" in text


def test_explain_every_record_in_both_languages() -> None:
    for rec_id, rec in all_records().items():
        _, en = _explain(rec_id)
        _, zh = _explain(rec_id, "--lang", "zh")
        assert rec["root_cause"].split()[0] in en
        assert "根本原因" in zh and "修复方法" in zh
        assert rec["root_cause_zh"][:10] in zh.replace("\n", "")
        assert rec["workarounds_zh"][0][:10] in zh
        if rec.get("official_doc_url"):
            assert rec["official_doc_url"] in en


def test_unknown_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        _explain("QL999")
    proc = run_qlint("explain", "no/such-record")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "no/such-record" in proc.stderr


@pytest.mark.parametrize("entry", log_index(), ids=lambda e: e["case"])
def test_explain_log_names_the_record_of_each_real_failure(entry: dict) -> None:
    path = REPO / "fixtures" / "logs" / entry["log"]
    matches = match_log(path.read_text(encoding="utf-8"))
    assert matches, entry["log"]
    assert matches[0].record["id"] == entry["record"]
    proc = run_qlint("explain", "--log", str(path))
    assert proc.returncode == 0, proc.stderr
    assert f": {entry['record']}\n" in proc.stdout.splitlines(keepends=True)[0]


@pytest.mark.parametrize(("case", "node"), [
    ("op_not_builtin_erf", "op Erf"),
    ("mixed_float16_conv", "op Conv2D"),
    ("custom_op_unresolved", "node 2 (Erf)"),
    ("kernel_type_mismatch_add", "node 3 (ADD)"),
    ("legacy_quantizer_cumsum", "op CUMSUM"),
    ("calibration_empty_legacy", "tensor serving_default_image:0"),
])
def test_explain_log_names_the_node(case: str, node: str) -> None:
    text = (REPO / "fixtures" / "logs" / f"{case}.log").read_text(encoding="utf-8")
    assert node in match_log(text)[0].nodes


def test_family_match_folds_into_the_specific_record() -> None:
    text = (REPO / "fixtures" / "logs" / "custom_op_unresolved.log").read_text(encoding="utf-8")
    assert [m.record["id"] for m in match_log(text)] == ["tensorflow/tflite-custom-op"]


def test_explain_log_from_stdin_and_no_match() -> None:
    line = "RuntimeError: tensorflow/lite/kernels/conv.cc:372 x != 0 (5 != 0)" \
           "Node number 31 (CONV_2D) failed to prepare."
    code, text = _explain("--log", "-", stdin=line)
    assert code == 0
    assert "node 31 (CONV_2D)" in text
    assert "tensorflow/tflite-interpreter-prepare-failure" in text
    code, text = _explain("--log", "-", stdin="all good\n")
    assert code == 1
    assert "no known message" in text


def test_explain_log_in_chinese() -> None:
    path = REPO / "fixtures" / "logs" / "representative_dataset_missing.log"
    code, text = _explain("--log", str(path), "--lang", "zh")
    assert code == 0
    assert "必须指定" in text


def test_unreadable_log_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        _explain("--log", "/nonexistent/qlint.log")


def test_lint_explain_inlines_the_record_under_each_finding() -> None:
    model = REPO / "fixtures" / "island_cumsum" / "island_cumsum.tflite"
    plain = run_qlint(str(model), "--isolated")
    proc = run_qlint(str(model), "--isolated", "--explain")
    assert proc.returncode == plain.returncode == 1
    rec = all_records()["tensorflow/tflite-int8-silent-float-fallback"]
    lines = proc.stdout.splitlines()
    first = next(i for i, ln in enumerate(lines) if " QL103 " in ln)
    assert lines[first + 1].lstrip().startswith("fix:")
    block = "\n".join(lines[first + 2:])
    for heading in ("Root cause:", "Fix:", "Dead ends", rec["official_doc_url"]):
        assert heading in block
    assert "Root cause:" not in plain.stdout
