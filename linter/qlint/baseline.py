"""Baselines: record today's findings so that only new ones block a change."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, TextIO

from qlint import __version__
from qlint.bounded_read import MAX_BASELINE_BYTES, check_json_nesting, read_limited
from qlint.errors import ConfigError, UsageError
from qlint.escape import visible
from qlint.finding import Finding

BASELINE_VERSION = 1


def write_baseline(findings: list[Finding], path: str,
                   models: Iterable[tuple[str, str | None]] = ()) -> int:
    """Write the fingerprints of ``findings`` to ``path``; return how many.

    ``models`` (path, format) are never overwritten (`qlint.safe_output.write_text`).
    """
    from qlint.fingerprint import fingerprint, relative_path
    from qlint.safe_output import write_text

    entries = sorted(
        ({"fingerprint": fingerprint(f), "rule": f.rule, "model": relative_path(f.model),
          "location": f.location} for f in findings),
        key=lambda e: (e["model"], e["rule"], e["location"], e["fingerprint"]),
    )
    doc: dict[str, Any] = {"version": BASELINE_VERSION, "tool": f"qlint {__version__}",
                           "findings": entries}

    def write(fh: TextIO) -> None:
        json.dump(doc, fh, indent=2)
        fh.write("\n")

    write_text(path, write, models, what="baseline")
    return len(entries)


def load_baseline(path: str) -> set[str]:
    """The fingerprints recorded in a baseline file."""
    shown = visible(path)
    if not os.path.isfile(path):
        raise UsageError(f"baseline {shown} does not exist (create it with --write-baseline)")
    data = read_limited(path, MAX_BASELINE_BYTES, "the baseline")
    check_json_nesting(data, path, "the baseline")
    try:
        doc = json.loads(data)
        if doc.get("version") != BASELINE_VERSION:
            raise ConfigError(f"{shown}: unsupported baseline version (expected "
                              f"{BASELINE_VERSION})")
        return {str(e["fingerprint"]) for e in doc["findings"]}
    except json.JSONDecodeError as exc:  # where, never what
        raise ConfigError(f"{shown}: not a qlint baseline (invalid JSON at line {exc.lineno}, "
                          f"column {exc.colno})") from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ConfigError(f"{shown}: not a qlint baseline (expected {{\"version\": "
                          f"{BASELINE_VERSION}, \"findings\": [...]}})") from None
