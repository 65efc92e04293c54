"""Baselines: record today's findings so that only new ones block a change."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, TextIO

from qlint import __version__
from qlint.errors import ConfigError, UsageError
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
    if not os.path.isfile(path):
        raise UsageError(f"baseline {path} does not exist (create it with --write-baseline)")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        if doc.get("version") != BASELINE_VERSION:
            raise ConfigError(f"{path}: unsupported baseline version {doc.get('version')!r}")
        return {str(e["fingerprint"]) for e in doc["findings"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a qlint baseline ({exc})") from None
