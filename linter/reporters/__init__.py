"""Reporters render a `Report`; one module per output format."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from qlint.report import Report

FORMATS = ("text", "json")


def reporter_for(fmt: str) -> Callable[[Report, TextIO], None]:
    """The render function of an output format, imported on demand."""
    if fmt == "text":
        from qlint.reporters.text import render
    elif fmt == "json":
        from qlint.reporters.json import render
    else:
        raise KeyError(fmt)
    return render
