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


def one_line(exc: BaseException | str, limit: int = 200) -> str:
    """An exception's message on one line, at most ``limit`` characters (for a
    `ModelLoadError` reason quoting a parser)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
