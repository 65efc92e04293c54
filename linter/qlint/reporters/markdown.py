"""Markdown for a GitHub job summary (``>> $GITHUB_STEP_SUMMARY``) or a pull-request
comment: a heading with the totals, findings per rule, then the findings themselves.

Every string that comes from a model (paths, node locations, messages) is escaped:
Markdown punctuation is backslash-escaped, ``<``/``>``/``&`` become entities (no raw
HTML), ``@`` and ``#`` become entities (no mentions, no issue links), line breaks
become spaces (a table row stays one line).  The output is capped below GitHub's
65,536-character comment limit (the job summary allows 1 MiB); what does not fit is
counted, not dropped silently.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TextIO

from qlint import PROJECT_URL
from qlint.escape import visible
from qlint.finding import Finding
from qlint.report import Report
from qlint.reporters.text import summary_line

MAX_CHARS = 60_000
_PUNCT = re.compile(r"([\\`*_{}\[\]()!|~+\-.:=^$\"'])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;", "#": "&#35;"}
SEVERITY_MARK = {"error": "🔴 error", "warning": "🟠 warning", "info": "🔵 info"}


def escape(text: str) -> str:
    """``text`` as literal Markdown inline content (one line, no HTML, no mentions)."""
    text = " ".join(visible(text).split())  # controls, ESC, bidi: qlint.escape
    text = "".join(_ENTITIES.get(ch, ch) for ch in text)
    return _PUNCT.sub(r"\\\1", text)


def _rule_link(f: Finding) -> str:
    return f"[{escape(f.rule)}]({PROJECT_URL}/blob/main/docs/rules/{f.rule}.md) {escape(f.name)}"


def _row(f: Finding) -> str:
    return (f"| {SEVERITY_MARK[f.severity.value]} | {_rule_link(f)} | {escape(f.model)} | "
            f"{escape(f.location)} | {escape(f.message)}. Fix: {escape(f.fix)} |\n")


def to_markdown(report: Report, max_chars: int = MAX_CHARS) -> str:
    parts = [f"### qlint: {escape(summary_line(report))}\n\n"]
    if report.findings:
        per_rule = Counter((f.rule, f.name, f.severity.value) for f in report.findings)
        parts.append("| Findings | Rule | Severity |\n|---:|---|---|\n")
        for (rule, name, sev), n in sorted(per_rule.items(), key=lambda kv: (-kv[1], kv[0])):
            parts.append(f"| {n} | {escape(rule)} {escape(name)} | {escape(sev)} |\n")
        parts.append("\n")
    problems = [f"- {escape(m.path)}: {escape(str(m.error))}\n" for m in report.unreadable]
    problems += [f"- {escape(e)}\n" for e in report.errors]
    if problems:
        parts.append("**Could not be linted:**\n\n" + "".join(problems) + "\n")
    head = "".join(parts)
    if not report.findings:
        return head
    table = "| Severity | Rule | Model | Node | Finding |\n|---|---|---|---|---|\n"
    rows: list[str] = []
    size = len(head) + len(table) + 200
    findings = sorted(report.findings, key=lambda f: -f.severity.rank)
    for f in findings:
        row = _row(f)
        if size + len(row) > max_chars:
            break
        rows.append(row)
        size += len(row)
    tail = ""
    if len(rows) < len(findings):
        tail = (f"\n{len(findings) - len(rows)} more findings are not shown here (size "
                "limit); run qlint locally or see its SARIF in code scanning.\n")
    return head + table + "".join(rows) + tail


def render(report: Report, stream: TextIO) -> None:
    stream.write(to_markdown(report))
