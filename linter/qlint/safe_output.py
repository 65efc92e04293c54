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
from typing import TextIO

from qlint.errors import UsageError
from qlint.escape import visible


def _real(path: str) -> str:
    return os.path.realpath(os.path.abspath(path))


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def check_target(path: str, models: Iterable[tuple[str, str | None]], what: str = "output"
                 ) -> None:
    """Refuse ``path`` as an output; ``models`` are the linted (path, format) pairs."""
    shown = visible(path)
    if os.path.islink(path):
        raise UsageError(f"refusing to write the {what} {shown}: it is a symbolic link")
    if os.path.isdir(path):
        raise UsageError(f"cannot write the {what} {shown}: it is a directory")
    if os.path.exists(path) and not os.path.isfile(path):
        raise UsageError(f"refusing to write the {what} {shown}: it is not a regular file")
    real = _real(path)
    for model, fmt in models:
        model_real = _real(model)
        if real == model_real:
            raise UsageError(f"refusing to write the {what} {shown}: it is a linted model")
        if fmt == "savedmodel" and _inside(real, model_real):
            raise UsageError(f"refusing to write the {what} {shown}: it is inside the "
                             f"linted model {visible(model)}")


def check_directory(directory: str, models: Iterable[tuple[str, str | None]]) -> None:
    """Refuse ``directory`` as an output folder when it is a link or inside a SavedModel."""
    shown = visible(directory)
    if os.path.islink(directory):
        raise UsageError(f"refusing to write into {shown}: it is a symbolic link")
    real = _real(directory)
    for model, fmt in models:
        model_real = _real(model)
        if fmt == "savedmodel" and _inside(real, model_real):
            raise UsageError(f"refusing to write into {shown}: it is inside the linted "
                             f"model {visible(model)}")


def write_text(path: str, write: Callable[[TextIO], None],
               models: Iterable[tuple[str, str | None]] = (), what: str = "output") -> None:
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

