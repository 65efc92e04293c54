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
    """A named path that cannot be linted, with the reason; ``skipped``: not an error, a
    note that the walk left something out on purpose (a symlink leaving the tree)."""

    path: str
    reason: str
    skipped: bool = False


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

    Files are taken as named (an unknown suffix is an error, a symbolic link is followed);
    directories are walked recursively in sorted order, skipping hidden entries, following
    symlinked directories at most once each so a link loop ends, and never following a
    symbolic link that leads outside the directory named (it is listed as ``skipped``).
    A model reached twice (overlapping or repeated paths) is listed once.
    """
    found: dict[str, ModelSource] = {}
    errors: list[DiscoveryError] = []
    for path in paths:
        if not os.path.lexists(path):
            errors.append(DiscoveryError(path, "no such file or directory"))
        elif os.path.isdir(path) and (fmt := directory_format(path)):
            found.setdefault(os.path.realpath(path), ModelSource(fmt, path))
        elif os.path.isdir(path):
            n_errors = len(errors)
            any_model = False
            for src in _walk(path, _real_dir(path), set(), errors):
                any_model = True
                found.setdefault(os.path.realpath(src.path), src)
            if not any_model and not any(not e.skipped for e in errors[n_errors:]):
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


def _real_dir(path: str) -> str:
    return os.path.realpath(path).rstrip(os.sep) + os.sep


def _leaves(path: str, root: str) -> bool:
    """True when ``path`` resolves outside the directory ``root`` (a realpath ending in /)."""
    return not (os.path.realpath(path) + os.sep).startswith(root)


def _walk(top: str, root: str, seen: set[tuple[int, int]],
          errors: list[DiscoveryError]) -> Iterator[ModelSource]:
    """Models under directory ``top`` inside the tree ``root``; a directory that cannot be
    listed goes to ``errors``, a symbolic link leading outside ``root`` is skipped."""
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
            is_link = entry.is_symlink()
        except OSError:
            continue
        if is_link and _leaves(child, root):
            if is_dir or format_of(entry.name) is not None:
                errors.append(DiscoveryError(child, "skipped: a symbolic link leading outside "
                                             "the directory named", skipped=True))
            continue
        if is_dir and (fmt := directory_format(child)):
            if any(os.path.lexists(f) and _leaves(f, root)
                   for f in (os.path.join(child, n) for n in DIRECTORY_FILES)):
                errors.append(DiscoveryError(child, "skipped: its saved_model file is a "
                                             "symbolic link leading outside the directory "
                                             "named", skipped=True))
                continue
            yield ModelSource(fmt, child)
        elif is_dir:
            yield from _walk(child, root, seen, errors)
        else:
            fmt = format_of(entry.name)
            if entry.name in DIRECTORY_FILES or entry.name.lower().endswith(WEIGHTS_ONLY_SUFFIX):
                continue  # a SavedModel is found as its directory
            if fmt is not None and os.path.exists(child):
                yield ModelSource(fmt, child)
