"""GitHub Actions workflow-command annotations (``::error file=...::message``).

Every finding is printed as one workflow command, escaped the way the runner
unescapes them (``ActionCommand.TryParseV2``: data ``%``, CR, LF; properties also
``:`` and ``,``).  The runner turns at most 10 error, 10 warning and 10 notice
commands of a step into annotations (and at most 50 per job); the rest stay in the
step's log only.  When a run has more than that, one ``::notice`` comes first with
the totals and where the full report is, so nothing disappears without a word.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from qlint.escape import github_data as escape_data
from qlint.escape import github_property as escape_property
from qlint.finding import Severity
from qlint.fingerprint import relative_path
from qlint.report import Report

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
# Annotations the runner shows per step, by command; and per job.
PER_STEP = {"error": 10, "warning": 10, "notice": 10}
PER_JOB = 50


def command(name: str, message: str, **props: str) -> str:
    """One workflow command line: ``::name k=v,k=v::message``."""
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{name}{' ' + head if head else ''}::{escape_data(message)}\n"


def _run_url() -> str | None:
    server, repo, run = (os.environ.get(k) for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def overflow_notice(report: Report, counts: Counter[str]) -> str | None:
    """The totals notice, when some commands will not become annotations."""
    notices = counts["notice"] + 1  # this notice takes one of the step's notice slots
    hidden = (max(0, counts["error"] - PER_STEP["error"])
              + max(0, counts["warning"] - PER_STEP["warning"])
              + max(0, notices - PER_STEP["notice"]))
    if not hidden:
        return None
    c = report.counts()
    linted = len(report.models) - len(report.unreadable)
    where = _run_url()
    log = f"this step's log ({where})" if where else "this step's log"
    text = (f"qlint found {len(report.findings)} findings ({c['error']} errors, "
            f"{c['warning']} warnings, {c['info']} info) in {linted} models; GitHub shows "
            f"at most {PER_STEP['error']} error, {PER_STEP['warning']} warning and "
            f"{PER_STEP['notice']} notice annotations per step ({PER_JOB} per job), so "
            f"{hidden} are not annotated. Every finding is in {log}; the full report is "
            "qlint's Markdown job summary (--format markdown >> $GITHUB_STEP_SUMMARY) "
            "or its SARIF in code scanning (--format sarif).")
    return command("notice", text, title=f"qlint: {hidden} findings not shown as annotations")


def render(report: Report, stream: TextIO) -> None:
    lines = []
    counts: Counter[str] = Counter()
    for f in report.findings:
        name = COMMANDS[f.severity]
        counts[name] += 1
        lines.append(command(name, f"{f.location}: {f.message}. Fix: {f.fix} "
                             f"(record {f.record})", file=relative_path(f.model), line="1",
                             title=f"{f.rule} {f.name}"))
    for m in report.unreadable:
        counts["error"] += 1
        lines.append(command("error", f"qlint cannot read this model: {m.error}",
                             file=relative_path(m.path)))
    for e in report.errors:
        counts["error"] += 1
        lines.append(command("error", e))
    notice = overflow_notice(report, counts)
    if notice:
        stream.write(notice)
    stream.writelines(lines)
