"""Reporters render a `Report`; one module per output format.

`REPORTERS` is the one registry of output formats (``--format``): each names its module
(imported only when used, with a ``render(report, stream, **options)`` function), the
`RenderOptions` it takes, and whether it can write one file per model into a directory.
A new output format is a new module and one entry here.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Reporter:
    """One output format: its module, the `RenderOptions` fields it takes, and the
    module's function writing one file per model into a directory, if any."""

    name: str
    module: str
    options: tuple[str, ...] = ()
    per_model: str | None = None

    def render(self, report: Report, stream: TextIO,
               options: RenderOptions = RenderOptions()) -> None:
        """Write ``report`` to ``stream``."""
        kwargs = {name: getattr(options, name) for name in self.options}
        import_module(self.module).render(report, stream, **kwargs)

    def write_per_model(self, report: Report, directory: str) -> list[str]:
        """Write one file per model into ``directory``; the paths written."""
        if self.per_model is None:
            raise ValueError(f"the {self.name} reporter writes one stream")
        return getattr(import_module(self.module), self.per_model)(  # type: ignore[no-any-return]
            report, directory)


REPORTERS: dict[str, Reporter] = {r.name: r for r in (
    Reporter("text", "qlint.reporters.text", options=("colour", "explain")),
    Reporter("json", "qlint.reporters.json"),
    Reporter("sarif", "qlint.reporters.sarif"),
    Reporter("github", "qlint.reporters.github"),
    Reporter("model-explorer", "qlint.reporters.model_explorer", per_model="write_per_model"),
)}
FORMATS = tuple(REPORTERS)
