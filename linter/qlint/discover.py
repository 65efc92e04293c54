"""Find the model files under the paths a user names."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from qlint.loaders import FORMATS, SUFFIXES

# A directory holding one of these files is one model (a SavedModel), not walked into.
DIRECTORY_FILES: dict[str, str] = {name: f.name for f in FORMATS.values()
                                   for name in f.directory_files}
# Keras weight files (``model.save_weights``) have no model config: skipped in walks.
WEIGHTS_ONLY_SUFFIX = ".weights.h5"
LOOKED_FOR = ", ".join(sorted(SUFFIXES)) + ", SavedModel directories"


@dataclass(frozen=True)
class ModelSource:
    """A model to lint: its format and the path the user will recognise."""

    format: str
    path: str


@dataclass(frozen=True)
class DiscoveryError:
    """A named path that cannot be linted, with the reason."""

    path: str
    reason: str


def format_of(path: str) -> str | None:
    """The format of a model file by its name (`qlint.loaders.FORMATS`), else ``None``."""
    fmt = DIRECTORY_FILES.get(os.path.basename(path))
    return fmt or SUFFIXES.get(os.path.splitext(path)[1].lower())


def directory_format(path: str) -> str | None:
    """The format of directory ``path`` when it is one model (holds ``saved_model.pb``)."""
    return next((fmt for name, fmt in DIRECTORY_FILES.items()
                 if os.path.isfile(os.path.join(path, name))), None)


def discover(paths: Iterable[str]) -> tuple[list[ModelSource], list[DiscoveryError]]:
    """Models under ``paths`` in a stable order, and the paths that could not be used.

    Files are taken as named (an unknown suffix is an error); directories are
    walked recursively in sorted order, skipping hidden entries, following
    symlinked directories at most once each so a link loop ends.  A model reached
    twice is listed once.
    """
    found: dict[str, ModelSource] = {}
    errors: list[DiscoveryError] = []
    for path in paths:
        if not os.path.lexists(path):
            errors.append(DiscoveryError(path, "no such file or directory"))
        elif os.path.isdir(path) and (fmt := directory_format(path)):
            found.setdefault(os.path.realpath(path), ModelSource(fmt, path))
        elif os.path.isdir(path):
            before, n_errors = len(found), len(errors)
            for src in _walk(path, set(), errors):
                found.setdefault(os.path.realpath(src.path), src)
            if len(found) == before and len(errors) == n_errors:
                errors.append(DiscoveryError(path, f"no model files found (looked for "
                                             f"{LOOKED_FOR})"))
        elif not os.path.exists(path):
            errors.append(DiscoveryError(path, "broken symbolic link"))
        else:
            fmt = format_of(path)
            if fmt is None:
                errors.append(DiscoveryError(path, f"not a model file qlint can read (expected "
                                             f"{LOOKED_FOR})"))
            elif os.path.basename(path) in DIRECTORY_FILES:  # the model is its directory
                root = os.path.dirname(path) or "."
                found.setdefault(os.path.realpath(root), ModelSource(fmt, root))
            else:
                found.setdefault(os.path.realpath(path), ModelSource(fmt, path))
    return list(found.values()), errors


def _walk(top: str, seen: set[tuple[int, int]],
          errors: list[DiscoveryError]) -> Iterator[ModelSource]:
    """Models under directory ``top``; a directory that cannot be listed goes to ``errors``."""
    try:
        st = os.stat(top)
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return
    seen.add(key)
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        errors.append(DiscoveryError(top, f"cannot read directory: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        child = os.path.join(top, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            continue
        if is_dir and (fmt := directory_format(child)):
            yield ModelSource(fmt, child)
        elif is_dir:
            yield from _walk(child, seen, errors)
        else:
            fmt = format_of(entry.name)
            if entry.name in DIRECTORY_FILES or entry.name.lower().endswith(WEIGHTS_ONLY_SUFFIX):
                continue  # a SavedModel is found as its directory
            if fmt is not None and os.path.exists(child):
                yield ModelSource(fmt, child)
