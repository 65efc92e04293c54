"""Writing reports, baselines and overlays without ever damaging a model.

Every file qlint writes goes through `write_text`:

* the target is refused (a `UsageError`, exit 2) when it is a symbolic link (a planted link
  would redirect the write anywhere), a directory or another non-regular file (a device,
  a FIFO), one of the linted models or named paths, or a path inside a linted SavedModel
  directory;
* the content goes to a temporary file in the target's directory, which then replaces
  the target in one ``os.replace``: a reader sees the old file or the whole new one, and a
  failed write (disk full) leaves the old file and no temporary behind.  (No ``fsync``:
  a report need not survive a power cut, and syncing costs seconds on a busy disk.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from qlint.errors import UsageError
from qlint.escape import visible


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


@dataclass(frozen=True)
class Protected:
    """The linted models' real paths, resolved once: a run that writes one overlay per
    model checks each against every model, and resolving them anew for each file would
    cost time quadratic in the number of models."""

    files: dict[str, str]  # real path -> the path as given
    savedmodels: dict[str, str]  # real directory -> the path as given

    @classmethod
    def of(cls, models: Models) -> Protected:
        if isinstance(models, Protected):
            return models
        files: dict[str, str] = {}
        savedmodels: dict[str, str] = {}
        for model, fmt in models:
            real = _real(model)
            files.setdefault(real, model)
            if fmt == "savedmodel":
                savedmodels.setdefault(real, model)
        return cls(files, savedmodels)

    def savedmodel_holding(self, real: str) -> str | None:
        """The linted SavedModel directory ``real`` is (or is inside), as given."""
        path = real
        while True:
            if path in self.savedmodels:
                return self.savedmodels[path]
            parent = os.path.dirname(path)
            if parent == path:
                return None
            path = parent


Models = Protected | Iterable[tuple[str, str | None]]


def check_target(path: str, models: Models, what: str = "output") -> None:
    """Refuse ``path`` as an output; ``models`` are the linted (path, format) pairs."""
    shown = visible(path)
    if os.path.islink(path):
        raise UsageError(f"refusing to write the {what} {shown}: it is a symbolic link")
    if os.path.isdir(path):
        raise UsageError(f"cannot write the {what} {shown}: it is a directory")
    if os.path.exists(path) and not os.path.isfile(path):
        raise UsageError(f"refusing to write the {what} {shown}: it is not a regular file")
    protected = Protected.of(models)
    real = _real(path)
    if real in protected.files:
        raise UsageError(f"refusing to write the {what} {shown}: it is a linted model")
    holder = protected.savedmodel_holding(real)
    if holder is not None:
        raise UsageError(f"refusing to write the {what} {shown}: it is inside the "
                         f"linted model {visible(holder)}")


def check_directory(directory: str, models: Models) -> None:
    """Refuse ``directory`` as an output folder when it is a link or inside a SavedModel."""
    shown = visible(directory)
    if os.path.islink(directory):
        raise UsageError(f"refusing to write into {shown}: it is a symbolic link")
    holder = Protected.of(models).savedmodel_holding(_real(directory))
    if holder is not None:
        raise UsageError(f"refusing to write into {shown}: it is inside the linted "
                         f"model {visible(holder)}")


def write_text(path: str, write: Callable[[TextIO], None],
               models: Models = (), what: str = "output") -> None:
    """Check ``path`` (`check_target`), then write it atomically with ``write(stream)``."""
    check_target(path, models, what)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".qlint-", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write the {what} {visible(path)}: "
                         f"{exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UsageError(f"cannot write the {what} {visible(path)}: "
                         f"{exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

