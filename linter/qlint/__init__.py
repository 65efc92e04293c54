"""qlint: a static linter for quantizing TensorFlow / TensorFlow Lite models to integer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Where the project and its rule documentation live (SARIF informationUri / helpUri).
PROJECT_URL = "https://github.com/qlint/qlint"

if TYPE_CHECKING:
    from qlint.report import Report

__all__ = ["PROJECT_URL", "__version__", "lint"]


def lint(paths: Any, **options: Any) -> Report:
    """Lint model files or directories and return a `Report` (see `qlint.api.lint`)."""
    from qlint.api import lint as _lint

    return _lint(paths, **options)
