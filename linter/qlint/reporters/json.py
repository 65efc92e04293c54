"""Machine-readable output, documented by ``qlint/schemas/report.schema.json``."""

from __future__ import annotations

import json
from typing import Any, TextIO

from qlint import __version__
from qlint.fingerprint import fingerprint
from qlint.report import Report

SCHEMA_VERSION = 1


def to_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "qlint", "version": __version__},
        "target": report.target,
        "fail_on": report.fail_on.value,
        "models": [
            {
                "path": m.path,
                "format": m.format,
                "quant_mode": m.quant_mode,
                "error": m.error,
                "findings": len(m.findings),
                "partitions": m.partitions,
            }
            for m in report.models
        ],
        "errors": list(report.errors),
        "findings": [{**f.as_dict(), "fingerprint": fingerprint(f),
                      "baseline_state": f.baseline_state} for f in report.findings],
        "summary": {
            **report.counts(),
            "findings": len(report.findings),
            "unknown_ops": report.unknown_ops(),
            "models": len(report.models),
            "unreadable": len(report.unreadable) + len(report.errors),
            "suppressed": report.suppressed,
            "baseline_hidden": report.baseline_hidden,
            "exit_code": report.exit_code(),
        },
    }


def render(report: Report, stream: TextIO) -> None:
    json.dump(to_dict(report), stream, indent=2, sort_keys=False)
    stream.write("\n")
