"""Reporters render a `Report`; one module per output format."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from qlint.report import Report

FORMATS = ("text", "json", "sarif", "github", "markdown", "model-explorer")


def reporter_for(fmt: str) -> Callable[[Report, TextIO], None]:
    """The render function of an output format, imported on demand."""
    if fmt == "text":
        from qlint.reporters.text import render
    elif fmt == "json":
        from qlint.reporters.json import render
    elif fmt == "sarif":
        from qlint.reporters.sarif import render
    elif fmt == "github":
        from qlint.reporters.github import render
    elif fmt == "markdown":
        from qlint.reporters.markdown import render
    elif fmt == "model-explorer":
        from qlint.reporters.model_explorer import render
    else:
        raise KeyError(fmt)
    return render
