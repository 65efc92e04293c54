"""Reporters render a `Report`; one module per output format.

`REPORTERS` is the one registry of output formats (``--format``): each names its module
(imported only when used, with a ``render(report, stream, **options)`` function), the
`RenderOptions` it takes, and, for a reporter that writes its own files instead of one
stream, the module's function doing so.  A new output format is a new module and one
entry here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from qlint.report import Report


@dataclass(frozen=True)
class RenderOptions:
    """Presentation choices of the command line; a reporter receives those it declares."""

    colour: bool | None = None  # None: colour only on a terminal
    explain: bool = False  # show each finding's knowledge record under it
    quiet: bool = False  # no summary line
    statistics: bool = False  # one line per rule that fired instead of the findings


@dataclass(frozen=True)
class Reporter:
    """One output format: its module, the `RenderOptions` fields its ``render`` takes,
    and ``writes``, the module's ``(report, output) -> paths written`` function when the
    format writes its own files (``output`` a file, a directory or ``None``)."""

    name: str
    module: str
    options: tuple[str, ...] = ()
    writes: str | None = None

    def render(self, report: Report, stream: TextIO,
               options: RenderOptions = RenderOptions()) -> None:
        """Write ``report`` to ``stream``."""
        kwargs = {name: getattr(options, name) for name in self.options}
        import_module(self.module).render(report, stream, **kwargs)

    def write(self, report: Report, output: str | None,
              inputs: Iterable[tuple[str, str | None]] = ()) -> list[str]:
        """Write ``report`` where ``output`` says (`writes`); the paths written.  ``inputs``
        (the linted models and named paths) are never overwritten (`qlint.safe_output`)."""
        if self.writes is None:
            raise ValueError(f"the {self.name} reporter renders to a stream")
        return getattr(import_module(self.module), self.writes)(  # type: ignore[no-any-return]
            report, output, inputs)


REPORTERS: dict[str, Reporter] = {r.name: r for r in (
    Reporter("text", "qlint.reporters.text", options=("colour", "explain", "quiet",
                                                      "statistics")),
    Reporter("json", "qlint.reporters.json"),
    Reporter("sarif", "qlint.reporters.sarif"),
    Reporter("github", "qlint.reporters.github"),
    Reporter("markdown", "qlint.reporters.markdown"),
    Reporter("model-explorer", "qlint.reporters.model_explorer", writes="write_overlays"),
)}
FORMATS = tuple(REPORTERS)
