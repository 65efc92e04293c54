"""GitHub Actions workflow-command annotations (``::error file=...::message``)."""

from __future__ import annotations

from typing import TextIO

from qlint.escape import github_data as _escape_data
from qlint.escape import github_property as _escape_property
from qlint.finding import Severity
from qlint.fingerprint import relative_path
from qlint.report import Report

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report, stream: TextIO) -> None:
    for f in report.findings:
        props = ",".join([
            f"file={_escape_property(relative_path(f.model))}",
            "line=1",
            f"title={_escape_property(f'{f.rule} {f.name}')}",
        ])
        text = f"{f.location}: {f.message}. Fix: {f.fix} (record {f.record})"
        stream.write(f"::{COMMANDS[f.severity]} {props}::{_escape_data(text)}\n")
    for m in report.unreadable:
        stream.write(f"::error file={_escape_property(relative_path(m.path))}::"
                     f"{_escape_data(f'qlint cannot read this model: {m.error}')}\n")
    for e in report.errors:
        stream.write(f"::error::{_escape_data(e)}\n")
