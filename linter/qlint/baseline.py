"""Baselines: record today's findings so that only new ones block a change."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from qlint import __version__
from qlint.errors import ConfigError, UsageError
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


def write_baseline(findings: list[Finding], path: str, config_path: str | None = None) -> int:
    """Write the fingerprints of ``findings`` to ``path``; return how many."""
    from qlint.fingerprint import relative_path

    key = baseline_key(config_path, path)
    entries = sorted(
        ({"fingerprint": key(f), "rule": f.rule,
          "model": relative_path(f.model, key_root(f.model, config_path, path)),
          "location": f.location} for f in findings),
        key=lambda e: (e["model"], e["rule"], e["location"], e["fingerprint"]),
    )
    doc: dict[str, Any] = {"version": BASELINE_VERSION, "tool": f"qlint {__version__}",
                           "findings": entries}
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    except OSError as exc:
        raise UsageError(f"cannot write baseline {path}: {exc.strerror or exc}") from None
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
