"""Configuration from ``qlint.toml`` or ``[tool.qlint]`` in ``pyproject.toml``.

The file is found by walking up from the first linted path, as ruff does: in
each directory a ``qlint.toml`` wins over a ``pyproject.toml`` that has a
``[tool.qlint]`` table; the first directory with either ends the search.
Command-line flags override the file.  Unknown keys are errors naming the key
and the file.

```toml
[tool.qlint]
target = "tflite-int8"
select = ["QL1", "QL4"]          # ids, id prefixes or rule names
ignore = ["uint8-model-io"]
extend-select = []
fail-on = "error"
baseline = "qlint-baseline.json"  # relative to this file

[tool.qlint.severity]            # per-rule severity
QL401 = "error"

[tool.qlint.per-path-overrides."legacy/**"]
ignore = ["QL402"]

[[tool.qlint.suppress]]          # rule plus a glob on the node location
rule = "QL103"
location = "CUMSUM"               # a plain word matches anywhere; "*/head/*" the whole
reason = "runs on the CPU by design"
```

A config file is read only up to `qlint.bounded_read.MAX_CONFIG_BYTES` and refused when
its arrays and tables nest deeper than `qlint.bounded_read.MAX_NESTING`, before parsing.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from qlint.bounded_read import MAX_CONFIG_BYTES, check_toml_nesting, read_limited
from qlint.errors import ConfigError
from qlint.escape import visible
from qlint.finding import Finding, Severity
from qlint.glob_match import REGEX_ONLY, Glob
from qlint.registry import rule_matches

TOP_KEYS = {"target", "select", "ignore", "extend-select", "fail-on", "severity",
            "per-path-overrides", "suppress", "baseline", "exclude", "extend-exclude"}
OVERRIDE_KEYS = {"select", "ignore", "extend-select", "severity"}
SUPPRESS_KEYS = {"rule", "location", "reason"}


@dataclass(frozen=True)
class Suppression:
    """Hide findings of ``rule`` (id, prefix or name) whose location matches the glob
    ``location`` (`qlint.glob_match`: linear time on any name a model supplies)."""

    rule: str
    location: Glob
    reason: str = ""

    def matches(self, finding: Finding) -> bool:
        return rule_matches(finding.rule, finding.name, [self.rule]) and \
            self.location.match(finding.location)


@dataclass
class Override:
    """Options for the model paths matching ``pattern`` (relative to the config file)."""

    pattern: str
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)


@dataclass
class Config:
    """Effective options; ``path`` is the file they came from, if any."""

    path: str | None = None
    target: str = "tflite-int8"
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    fail_on: Severity = Severity.ERROR
    severity: dict[str, Severity] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=list)
    suppress: list[Suppression] = field(default_factory=list)
    baseline: str | None = None
    exclude: list[str] = field(default_factory=list)  # globs, as --exclude
    extend_exclude: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def for_model(self, model_path: str) -> tuple[list[str], list[str], dict[str, Severity]]:
        """(select, ignore, severity) in force for one model, overrides applied in order."""
        select = list(self.select)
        ignore = list(self.ignore)
        extend = list(self.extend_select)
        severity = dict(self.severity)
        rel = os.path.relpath(os.path.abspath(model_path), self.root).replace(os.sep, "/")
        for ov in self.overrides:
            if fnmatch.fnmatch(rel, ov.pattern) or fnmatch.fnmatch(rel, ov.pattern + "/*"):
                if ov.select is not None:
                    select = list(ov.select)
                ignore += ov.ignore
                extend += ov.extend_select
                severity.update(ov.severity)
        if extend:
            select = [*select, *extend] if select else []
        return select, ignore, severity


def find_config(start: str) -> str | None:
    """The config file governing ``start``, walking up to the filesystem root."""
    path = os.path.abspath(start)
    if not os.path.isdir(path):
        path = os.path.dirname(path)
    while True:
        candidate = os.path.join(path, "qlint.toml")
        if os.path.isfile(candidate):
            return candidate
        candidate = os.path.join(path, "pyproject.toml")
        if os.path.isfile(candidate) and _has_qlint_table(candidate):
            return candidate
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib

    data = read_limited(path, MAX_CONFIG_BYTES, "the config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{visible(path)}: not valid UTF-8 (byte {exc.start})") from None
    check_toml_nesting(text, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # "Invalid value (at line 3, column 9)"
        raise ConfigError(f"{visible(path)}: invalid TOML: {visible(exc)}") from None
    except RecursionError:  # a backstop: check_toml_nesting refuses deep nesting first
        raise ConfigError(f"{visible(path)}: nested too deeply") from None


def _has_qlint_table(path: str) -> bool:
    try:
        return "qlint" in _read_toml(path).get("tool", {})
    except ConfigError:
        return True  # let load_config report the broken file


def load_config(path: str) -> Config:
    """Parse one config file; every problem is a `ConfigError` naming the file."""
    data = _read_toml(path)
    if os.path.basename(path) == "pyproject.toml":
        data = data.get("tool", {}).get("qlint", {})
    return _parse(data, path)


def _strings(value: Any, key: str, path: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: '{key}' must be a list of strings")
    return list(value)


def _severities(value: Any, key: str, path: str) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: '{key}' must be a table of rule = severity")
    out = {}
    for rule, sev in value.items():
        try:
            out[rule] = Severity.parse(str(sev))
        except ValueError as exc:
            raise ConfigError(f"{path}: '{key}.{rule}': {exc}") from None
    return out


def _check_keys(table: dict[str, Any], allowed: set[str], where: str, path: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{path}: unknown key '{key}' in {where} "
                              f"(allowed: {', '.join(sorted(allowed))})")


def _parse(data: dict[str, Any], path: str) -> Config:
    _check_keys(data, TOP_KEYS, "[tool.qlint]" if path.endswith("pyproject.toml") else path, path)
    cfg = Config(path=path)
    if "target" in data:
        if not isinstance(data["target"], str):
            raise ConfigError(f"{path}: 'target' must be a string")
        cfg.target = data["target"]
    for key in ("select", "ignore", "extend-select", "exclude", "extend-exclude"):
        if key in data:
            setattr(cfg, key.replace("-", "_"), _strings(data[key], key, path))
    if "fail-on" in data:
        try:
            cfg.fail_on = Severity.parse(str(data["fail-on"]))
        except ValueError as exc:
            raise ConfigError(f"{path}: 'fail-on': {exc}") from None
    if "severity" in data:
        cfg.severity = _severities(data["severity"], "severity", path)
    if "baseline" in data:
        if not isinstance(data["baseline"], str):
            raise ConfigError(f"{path}: 'baseline' must be a path")
        cfg.baseline = os.path.join(os.path.dirname(os.path.abspath(path)), data["baseline"])
    overrides = data.get("per-path-overrides", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: 'per-path-overrides' must be a table of glob = options")
    for pattern, opts in overrides.items():
        if not isinstance(opts, dict):
            raise ConfigError(f"{path}: per-path-overrides '{pattern}' must be a table")
        _check_keys(opts, OVERRIDE_KEYS, f"per-path-overrides '{pattern}'", path)
        cfg.overrides.append(Override(
            pattern=pattern.rstrip("/"),
            select=_strings(opts["select"], "select", path) if "select" in opts else None,
            ignore=_strings(opts.get("ignore", []), "ignore", path),
            extend_select=_strings(opts.get("extend-select", []), "extend-select", path),
            severity=_severities(opts.get("severity", {}), "severity", path),
        ))
    suppress = data.get("suppress", [])
    if not isinstance(suppress, list):
        raise ConfigError(
            f"{path}: 'suppress' must be an array of tables ([[tool.qlint.suppress]])")
    for i, entry in enumerate(suppress):
        if not isinstance(entry, dict) or "rule" not in entry or "location" not in entry:
            raise ConfigError(f"{path}: suppress[{i}] needs 'rule' and 'location'")
        _check_keys(entry, SUPPRESS_KEYS, f"suppress[{i}]", path)
        location = str(entry["location"])
        if REGEX_ONLY & set(location):
            raise ConfigError(
                f"{path}: suppress[{i}].location is a glob pattern (*, ?, [abc]); regular "
                f"expressions are no longer accepted: found {visible(location)!r}")
        cfg.suppress.append(Suppression(str(entry["rule"]), Glob(location),
                                        str(entry.get("reason", ""))))
    return cfg


def resolve_config(paths: list[str], explicit: str | None = None,
                   isolated: bool = False) -> Config:
    """The configuration for a run: ``explicit`` file, or the one found above ``paths[0]``."""
    if isolated:
        return Config()
    if explicit is not None:
        if not os.path.isfile(explicit):
            raise ConfigError(f"{explicit}: no such config file")
        return load_config(explicit)
    found = find_config(paths[0] if paths else ".")
    if found and _links_away(found):
        raise ConfigError(f"{visible(found)}: refusing a configuration file that is a "
                          "symbolic link out of its directory (name it with --config)")
    return load_config(found) if found else Config()


def _links_away(path: str) -> bool:
    """True for a symbolic link whose target is outside the link's own directory: a
    repository's config file must not make qlint read (and quote) a file elsewhere."""
    if not os.path.islink(path):
        return False
    home = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    return not os.path.realpath(path).startswith(home.rstrip(os.sep) + os.sep)
