"""Baselines: record today's findings so that only new ones block a change."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from qlint import __version__
from qlint.bounded_read import MAX_BASELINE_BYTES, check_json_nesting, read_limited
from qlint.errors import ConfigError, UsageError
from qlint.escape import visible
from qlint.finding import Finding

BASELINE_VERSION = 1


def key_root(model: str, config_path: str | None, baseline_path: str) -> str:
    """The directory a baseline's model paths are relative to, whatever the working
    directory: the model's git repository, else the configuration file's directory,
    else the baseline file's own directory."""
    from qlint.fingerprint import git_root

    if (root := git_root(model)) is not None:
        return root
    return os.path.dirname(os.path.abspath(config_path or baseline_path))


def baseline_key(config_path: str | None, baseline_path: str) -> Callable[[Finding], str]:
    """The fingerprint function of a baseline (model paths relative to `key_root`)."""
    from qlint.fingerprint import fingerprint

    return lambda f: fingerprint(f, key_root(f.model, config_path, baseline_path))


def write_baseline(findings: list[Finding], path: str, config_path: str | None = None,
                   models: Iterable[tuple[str, str | None]] = ()) -> int:
    """Write the fingerprints of ``findings`` to ``path``; return how many.

    ``models`` (path, format) are never overwritten (`qlint.safe_output.write_text`).
    """
    from qlint.fingerprint import relative_path
    from qlint.safe_output import write_text

    key = baseline_key(config_path, path)
    entries = sorted(
        ({"fingerprint": key(f), "rule": f.rule,
          "model": relative_path(f.model, key_root(f.model, config_path, path)),
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
