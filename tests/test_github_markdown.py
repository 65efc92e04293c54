"""GitHub workflow commands, read back with the runner's own parsing rules, and the
Markdown summary's escaping."""

from __future__ import annotations

import io
import re

from conftest import REPO, run_qlint

from qlint.escape import visible
from qlint.finding import Finding, Severity
from qlint.report import ModelResult, Report
from qlint.reporters import github, markdown

# actions/runner src/Runner.Worker/ActionCommandManager.cs + ActionCommand.TryParseV2:
# the line (leading whitespace trimmed) starts with "::"; the command info runs to the
# next "::"; properties are split on "," and each on the first "="; unescaping replaces
# each escape sequence in this order.
DATA_ESCAPES = [("\r", "%0D"), ("\n", "%0A"), ("%", "%25")]
PROPERTY_ESCAPES = [("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25")]
COMMANDS = {"error", "warning", "notice"}


def _unescape(text: str, mappings: list[tuple[str, str]]) -> str:
    for token, replacement in mappings:
        text = text.replace(replacement, token)
    return text


def parse_v2(line: str) -> tuple[str, dict[str, str], str] | None:
    message = line.lstrip()
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    info = message[2:end]
    name, _, props_str = info.partition(" ")
    if name not in COMMANDS:
        return None
    props = {}
    for prop in (p for p in props_str.strip().split(",") if p):
        key, eq, value = prop.partition("=")
        if eq and key and value:
            props[key.lower()] = _unescape(value, PROPERTY_ESCAPES)
    return name, props, _unescape(message[end + 2:], DATA_ESCAPES)


HOSTILE = "evil,name:50%\n::error::injected\r%0A@team #1 <b>|x|</b> `tick` [a](b)"


def hostile_report(n_errors: int = 1, n_warnings: int = 0) -> Report:
    node = {"kind": "op", "name": HOSTILE, "op_type": "ADD", "source_op": "ADD",
            "subgraph": 0, "index": 0, "location": f"subgraph[0]/op[0]:ADD({HOSTILE})"}
    model = f"models/{HOSTILE.replace(chr(10), ' ')}.tflite"

    def finding(sev: Severity) -> Finding:
        return Finding(rule="QL103", name="float-island", record="r", severity=sev,
                       model=model, location=node["location"], message=f"msg {HOSTILE}",
                       fix="fix it", node=node)

    findings = [finding(Severity.ERROR) for _ in range(n_errors)]
    findings += [finding(Severity.WARNING) for _ in range(n_warnings)]
    return Report(models=[ModelResult(path=model, format="tflite", findings=findings)],
                  target="tflite-int8")


def test_every_line_is_one_command_the_runner_reads_back_exactly() -> None:
    out = io.StringIO()
    github.render(hostile_report(), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1  # nothing injected a second command
    parsed = parse_v2(lines[0])
    assert parsed is not None
    name, props, data = parsed
    assert name == "error"
    # read back exactly, as qlint.escape shows it: control characters (CR here) visible
    assert props == {"file": visible(hostile_report().models[0].path), "line": "1",
                     "title": "QL103 float-island"}
    shown = visible(HOSTILE)
    assert data.startswith(f"subgraph[0]/op[0]:ADD({shown}): msg {shown}. Fix: fix it")


def test_more_findings_than_annotations_get_one_notice_first() -> None:
    out = io.StringIO()
    github.render(hostile_report(n_errors=12, n_warnings=3), out)
    lines = [parse_v2(line) for line in out.getvalue().splitlines()]
    assert all(lines)
    kinds = [p[0] for p in lines if p]
    assert kinds[0] == "notice" and kinds.count("notice") == 1
    assert kinds.count("error") == 12 and kinds.count("warning") == 3
    notice = lines[0][2] if lines[0] else ""
    assert "15 findings (12 errors, 3 warnings" in notice and "2 are not annotated" in notice
    out = io.StringIO()
    github.render(hostile_report(n_errors=10, n_warnings=10), out)
    assert not out.getvalue().startswith("::notice")  # everything fits: no notice


def test_github_format_on_the_fixtures_announces_what_is_not_annotated() -> None:
    res = run_qlint("--format", "github", "fixtures", cwd=REPO,
                    env={"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "7",
                         "GITHUB_REPOSITORY": "o/r"})
    lines = [parse_v2(line) for line in res.stdout.splitlines()]
    assert all(lines)
    first = lines[0]
    assert first and first[0] == "notice"
    assert "https://github.com/o/r/actions/runs/7" in first[2]
    errors = sum(1 for p in lines if p and p[0] == "error")
    warnings = sum(1 for p in lines if p and p[0] == "warning")
    notices = sum(1 for p in lines if p and p[0] == "notice")  # info findings + the summary
    hidden = max(0, errors - 10) + max(0, warnings - 10) + max(0, notices - 10)
    assert f"so {hidden} are not annotated" in first[2]


def test_markdown_escapes_model_strings() -> None:
    text = markdown.to_markdown(hostile_report())
    row = next(line for line in text.splitlines() if line.startswith("| 🔴"))
    assert row.count("|") - row.count("\\|") == 6  # five cells: no pipe broke out
    assert "<b>" not in text and "@team" not in text and "#1" not in text
    assert "\n::error" not in text and "[a](b)" not in text
    assert "&lt;b&gt;" in text and "&#64;team" in text


def test_markdown_is_capped_and_says_how_many_are_left_out() -> None:
    text = markdown.to_markdown(hostile_report(n_errors=400), max_chars=5000)
    assert len(text) <= 5000
    shown = sum(1 for line in text.splitlines() if line.startswith("| 🔴"))
    assert 0 < shown < 400
    assert re.search(rf"\n{400 - shown} more findings are not shown", text)


def test_markdown_format_from_the_command_line() -> None:
    res = run_qlint("--format", "markdown", "fixtures/island_cumsum", "fixtures/int8_cnn",
                    cwd=REPO)
    assert res.returncode == 1
    assert res.stdout.startswith("### qlint: Found 1 finding")
    assert "QL103" in res.stdout and "| Severity | Rule | Model | Node | Finding |" in res.stdout
