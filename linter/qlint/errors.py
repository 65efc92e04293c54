"""User-facing error types, each caught once at the CLI edge (exit code 2)."""

from __future__ import annotations


class QlintError(Exception):
    """Base of every error qlint reports as one line and exit code 2."""


class ModelLoadError(QlintError):
    """A model file is unreadable, truncated, corrupt or not what its name says."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UsageError(QlintError):
    """Bad command-line arguments or options."""


class PluginError(QlintError):
    """A rule plugin cannot be loaded or is malformed."""


class ConfigError(QlintError):
    """A configuration file is invalid."""
