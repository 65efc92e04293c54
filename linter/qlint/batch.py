"""Choosing which discovered models a run lints: exclusion globs, path lists, shards.

For large model registries a CI matrix (or any batch engine) splits the work:
``--files-from FILE`` reads the paths, ``--shard K/N`` keeps every N-th model of
the sorted model list starting at the K-th, so N jobs given the same paths lint
disjoint sets that together cover every model, in the same order on every run.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TypeVar

from qlint.errors import UsageError

T = TypeVar("T")


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``."""
    k_text, slash, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not slash or n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text!r}: expected K/N with 1 <= K <= N (for example 2/4)")
    return k, n


def take_shard(items: Sequence[T], shard: tuple[int, int], key: str = "path") -> list[T]:
    """The K-th of N interleaved parts of ``items`` sorted by their ``key`` attribute,
    returned in their original order."""
    k, n = shard
    ranked = sorted(range(len(items)), key=lambda i: str(getattr(items[i], key)))
    keep = {i for pos, i in enumerate(ranked) if pos % n == k - 1}
    return [item for i, item in enumerate(items) if i in keep]


def read_files_from(spec: str) -> list[str]:
    """Paths listed one a line in file ``spec`` (``-``: standard input); blank lines skipped."""
    try:
        if spec == "-":
            text = sys.stdin.read()
        else:
            with open(spec, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"--files-from {spec}: cannot read: {reason}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def is_excluded(path: str, patterns: Iterable[str], roots: Iterable[str] = ()) -> bool:
    """True when a glob matches ``path`` (as given, or relative to the working directory
    or one of ``roots``), the path below a matching directory, or any single component
    of it."""
    pats = list(patterns)
    if not pats:
        return False
    given = os.path.normpath(path).replace(os.sep, "/")
    absolute = os.path.abspath(path)
    candidates = [given] + [os.path.relpath(absolute, r).replace(os.sep, "/")
                            for r in (os.getcwd(), *roots)]
    parts = [p for p in given.split("/") if p not in ("", ".", "..")]
    for pat in pats:
        pat = pat.rstrip("/")
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pat) or fnmatch.fnmatchcase(candidate, pat + "/*"):
                return True
        if "/" not in pat and any(fnmatch.fnmatchcase(part, pat) for part in parts):
            return True
    return False
