"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

GitHub reads: ``tool.driver`` (name, semanticVersion, rules with descriptions
and help), results with ``ruleId``, ``level``, ``message.text``, one
``physicalLocation`` (repository-relative model path, ``startLine: 1`` since
code scanning has no byte offsets) and ``partialFingerprints.primaryLocationLineHash``.
URIs are percent-encoded (RFC 3986); a model outside the repository is an absolute
``file:`` URI.  No ``automationDetails`` is written, so the ``category`` input of
``github/codeql-action/upload-sarif`` applies (the action sets ``automationDetails.id``
only when the file has none).
Other viewers also get ``logicalLocations`` naming the node, ``relatedLocations``
and ``baselineState``.
"""

from __future__ import annotations

import json
import os
import pathlib
import urllib.parse
from typing import Any, TextIO

from qlint import PROJECT_URL, __version__
from qlint.escape import visible
from qlint.finding import Finding, Severity
from qlint.fingerprint import fingerprint, relative_path
from qlint.knowledge import record
from qlint.registry import Rule
from qlint.report import Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
MAX_RESULTS = 25_000  # GitHub code scanning rejects runs with more results


def rule_help(rule: type[Rule]) -> tuple[str, str]:
    """(plain text, markdown) help for a rule: its docstring and its record's advice."""
    doc = " ".join((rule.__doc__ or "").split())
    rec = record(rule.record) or {}
    lines_md = [f"**{rule.id} {rule.name}**: {rule.summary}.", "", _dedent(rule.__doc__ or "")]
    lines_txt = [f"{rule.id} {rule.name}: {doc}"]
    if rec.get("root_cause"):
        lines_md += ["", "**Root cause.** " + rec["root_cause"]]
        lines_txt.append("Root cause: " + rec["root_cause"])
    if rec.get("workarounds"):
        lines_md += ["", "**Fixes that work:**"] + [f"- {w['how']}" for w in rec["workarounds"]]
        lines_txt.append("Fixes: " + " | ".join(w["how"] for w in rec["workarounds"]))
    if rec.get("dead_ends"):
        lines_md += ["", "**Dead ends:**"] + [f"- {d['action']}: {d['why_fails']}"
                                              for d in rec["dead_ends"]]
        lines_txt.append("Dead ends: " + " | ".join(d["action"] for d in rec["dead_ends"]))
    lines_md += ["", f"Knowledge record `{rule.record}` (`qlint explain {rule.id}`); "
                 f"[rule documentation]({help_uri(rule)})."]
    return "\n".join(lines_txt).replace("**", ""), "\n".join(lines_md)


def _dedent(doc: str) -> str:
    import textwrap

    first, _, rest = doc.strip().partition("\n")
    return (first + "\n" + textwrap.dedent(rest)).strip()


def help_uri(rule: type[Rule]) -> str:
    return f"{PROJECT_URL}/blob/main/docs/rules/{rule.id}.md"


def configured_levels(report: Report) -> dict[str, Severity]:
    """Each rule's level in this run: the configuration's ``severity`` table applied to the
    rule, or, where all its findings agree on another severity (a per-path override), that
    one."""
    levels = dict(report.levels)
    seen: dict[str, set[Severity]] = {}
    for f in report.findings:
        seen.setdefault(f.rule, set()).add(f.severity)
    levels.update({rule: next(iter(s)) for rule, s in seen.items() if len(s) == 1})
    return levels


def _descriptor(rule: type[Rule], level: Severity | None = None) -> dict[str, Any]:
    text, markdown = rule_help(rule)
    rec = record(rule.record) or {}
    doc = (rule.__doc__ or "").strip()
    full = " ".join(doc.split("\n\n", 1)[0].split())
    tags = ["quantization", "tflite", *rec.get("tags", [])][:20]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary[:1024]},
        "fullDescription": {"text": full or rule.summary},
        "help": {"text": text, "markdown": markdown},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": LEVELS[level or rule.severity]},
        "properties": {"tags": sorted(set(tags)), "precision": "high",
                       "problem.severity": {"error": "error", "warning": "warning",
                                            "info": "recommendation"}[
                                                (level or rule.severity).value],
                       "record": rule.record},
    }


def artifact_location(path: str) -> dict[str, Any]:
    """An ``artifactLocation`` for a model: a percent-encoded (RFC 3986) URI relative to
    ``%SRCROOT%`` (the repository root) when the model lies inside it, else an absolute
    ``file:`` URI without ``uriBaseId``."""
    rel = relative_path(path)
    if os.path.isabs(rel):
        return {"uri": pathlib.Path(rel).as_uri()}
    # the file name's bytes, percent-encoded: a non-UTF-8 name becomes %FF, not an error
    return {"uri": urllib.parse.quote(os.fsencode(rel), safe="/"), "uriBaseId": "%SRCROOT%"}


def _location(finding: Finding, node: dict[str, Any],
              artifact: dict[str, Any]) -> dict[str, Any]:
    return {
        "physicalLocation": {"artifactLocation": artifact, "region": {"startLine": 1}},
        "logicalLocations": [{
            "name": node["name"] or node["location"],
            "fullyQualifiedName": node["location"],
            "kind": "function" if node["kind"] == "op" else "variable",
        }],
    }


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    uri = artifact_location(f.model)
    fp = fingerprint(f)
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "level": LEVELS[f.severity],
        "message": {"text": f"{f.message} [{f.location}]. Fix: {f.fix} "
                            f"(record {f.record}; qlint explain {f.rule})"},
        "locations": [_location(f, f.node, uri)],
        "partialFingerprints": {"primaryLocationLineHash": f"{fp[:16]}:1",
                                "qlintFingerprint/v1": fp},
        "properties": {"record": f.record, "fix": f.fix, "node": f.node},
    }
    if f.rule in rule_index:
        result["ruleIndex"] = rule_index[f.rule]
    if f.related:
        result["relatedLocations"] = [
            {"id": i + 1, **_location(f, n, uri), "message": {"text": n["location"]}}
            for i, n in enumerate(f.related[:100])
        ]
    if f.baseline_state:
        result["baselineState"] = f.baseline_state
    return result


def to_sarif(report: Report) -> dict[str, Any]:
    # Every rule that ran, found something or not: its level shows what the configuration
    # made of it, and GitHub keeps the rule's description for alerts it closes.
    rules = list(report.rules)
    index = {r.id: i for i, r in enumerate(rules)}
    levels = configured_levels(report)
    notifications = [
        {"level": "error", "message": {"text": f"{m.path}: {m.error}"},
         "locations": [{"physicalLocation": {"artifactLocation": artifact_location(m.path)}}]}
        for m in report.unreadable
    ] + [{"level": "error", "message": {"text": e}} for e in report.errors]
    findings = report.findings
    cut = max(0, len(findings) - MAX_RESULTS)
    if cut:
        notifications.append({"level": "warning", "message": {"text": (
            f"{cut} of {len(findings)} results were left out: GitHub code scanning accepts "
            f"at most {MAX_RESULTS} results per run (see the text or JSON output for all)")}})
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "qlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": PROJECT_URL,
                "rules": [_descriptor(r, levels.get(r.id)) for r in rules],
            }},
            "invocations": [{
                "executionSuccessful": not (report.unreadable or report.errors),
                "toolExecutionNotifications": _visible(notifications),
            }],
            "results": [_visible(_result(f, index)) for f in findings[:MAX_RESULTS]],
            "properties": {"target": report.target,
                           "baselineHidden": report.baseline_hidden,
                           "suppressed": report.suppressed,
                           "resultsLeftOut": cut},
        }],
    }


def _visible(obj: Any) -> Any:
    """``obj`` with every string escaped (`qlint.escape.visible`): names and paths come
    from the model, and GitHub shows messages and locations as they are."""
    if isinstance(obj, str):
        return visible(obj)
    if isinstance(obj, dict):
        return {k: _visible(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_visible(v) for v in obj]
    return obj


def render(report: Report, stream: TextIO) -> None:
    json.dump(to_sarif(report), stream, indent=2)
    stream.write("\n")
