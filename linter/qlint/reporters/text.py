"""Human-readable output: one line a finding, grouped by model, then a summary."""

from __future__ import annotations

import os
from typing import TextIO

from qlint.escape import visible
from qlint.finding import Severity
from qlint.report import Report

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal; never when ``NO_COLOR`` is set, always when ``FORCE_COLOR``
    is (https://no-color.org, https://force-color.org), never on ``TERM=dumb``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def render(report: Report, stream: TextIO, colour: bool | None = None,
           explain: bool = False, quiet: bool = False, statistics: bool = False) -> None:
    """Write ``path:location: ID [severity] message (record)`` lines and a summary line
    (``quiet``: no summary line; ``statistics``: `render_statistics` instead).

    With ``explain`` each finding is followed by its knowledge record: root cause, fix
    steps, dead ends and the documentation link.
    """
    if statistics:
        render_statistics(report, stream, colour=colour, quiet=quiet)
        return
    colour = use_colour(stream) if colour is None else colour

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    first = True
    for model in report.models:
        if not model.findings:
            continue
        if not first:
            stream.write("\n")
        first = False
        for f in model.findings:
            sev = paint(f"[{f.severity.value}]", _COLOURS[f.severity])
            stream.write(
                f"{paint(visible(f.model), _BOLD)}:{visible(f.location)}: "
                f"{paint(f.rule, _BOLD)} {sev} {visible(f.message)} ({f.record})\n"
            )
            stream.write(f"    {paint('fix:', _DIM)} {visible(f.fix)}\n")
            if explain:
                stream.write(_explained(f.record))
    if quiet:
        return
    if not first:
        stream.write("\n")
    for line in partition_lines(report):
        stream.write(line + "\n")
    stream.write(summary_line(report) + "\n")


def partition_lines(report: Report) -> list[str]:
    """One line per model split by an NPU target: partitions, transitions, op placement."""
    out = []
    for m in report.models:
        p = m.partitions
        if not p:
            continue
        unknown = f", {p['unknown_ops']} unknown" if p["unknown_ops"] else ""
        refused = "; Vela refuses it" if p["refused"] else ""
        out.append(f"{m.path}: {p['target_config']}: {p['npu_partitions']} NPU partition"
                   f"{'s' if p['npu_partitions'] != 1 else ''}, {p['transitions']} CPU/NPU "
                   f"transition{'s' if p['transitions'] != 1 else ''}; ops on NPU "
                   f"{p['npu_ops']}, on CPU {p['cpu_ops']}{unknown}{refused}")
    return out


def render_statistics(report: Report, stream: TextIO, colour: bool | None = None,
                      quiet: bool = False) -> None:
    """One line per rule that fired: count, id, severity and name, most frequent first;
    then the summary line unless ``quiet``."""
    colour = use_colour(stream) if colour is None else colour
    counts: dict[tuple[str, str], int] = {}
    worst: dict[tuple[str, str], Severity] = {}
    for f in report.findings:
        key = (f.rule, f.name)
        counts[key] = counts.get(key, 0) + 1
        if key not in worst or f.severity.rank > worst[key].rank:
            worst[key] = f.severity
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    for (rule, name), n in rows:
        sev = worst[(rule, name)]
        label = f"[{sev.value}]"
        if colour:
            label = f"{_COLOURS[sev]}{label}{_RESET}"
        stream.write(f"{n:>{width}}\t{rule}\t{label}\t{name}\n")
    if not quiet:
        if rows:
            stream.write("\n")
        stream.write(summary_line(report) + "\n")


def _explained(record_id: str) -> str:
    """The record under a finding, indented; one line when the record is not installed."""
    from qlint.explain import format_record
    from qlint.knowledge import record

    rec = record(record_id)
    if rec is None:
        return f"    (no knowledge record {record_id} installed)\n"
    return "\n".join(format_record(rec, indent="    ", full=False)) + "\n"


def summary_line(report: Report) -> str:
    linted = len(report.models) - len(report.unreadable)
    models = f"{linted} model{'s' if linted != 1 else ''}"
    parts = []
    if report.findings:
        c = report.counts()
        detail = ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in c.items() if n)
        total = len(report.findings)
        parts.append(f"Found {total} finding{'s' if total != 1 else ''} ({detail}) in {models}")
    else:
        parts.append(f"No findings in {models} (target {report.target})")
    unknown = report.unknown_ops()
    if unknown:
        parts.append(f"{unknown} op{'s' if unknown != 1 else ''} with no probed verdict "
                     "(QL190 unknown-op: not known to be fine)")
    if report.baseline_hidden is not None:
        parts.append(f"{report.baseline_hidden} known finding"
                     f"{'s' if report.baseline_hidden != 1 else ''} hidden by the baseline")
    if report.suppressed:
        parts.append(f"{report.suppressed} suppressed by configuration")
    bad = len(report.unreadable) + len(report.errors)
    if bad:
        parts.append(f"{bad} path{'s' if bad != 1 else ''} could not be linted")
    return "; ".join(parts) + "."
