"""Reading configuration and baseline files within limits decided before parsing.

A config file or baseline comes from the repository, which an attacker may control as
much as the models.  `read_limited` refuses a file over its size limit before reading it;
`check_json_nesting` and `check_toml_nesting` refuse text whose brackets nest deeper than
a limit before a recursive parser (``tomllib``, ``json``) sees it, in one linear pass that
skips strings and comments; `check_model_file_size` refuses a model file over its limit.
"""

from __future__ import annotations

import os
import re

from qlint.errors import ConfigError, ModelLoadError
from qlint.escape import visible

MAX_CONFIG_BYTES = 1024**2  # qlint.toml / pyproject.toml
MAX_BASELINE_BYTES = 64 * 1024**2  # about 300,000 recorded findings
MAX_NESTING = 64  # arrays and tables inside each other
MAX_BASELINE_CONTAINERS = 2_000_000  # [ and { in a baseline (two a finding)

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def read_limited(path: str, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refused as a `ConfigError` when over ``limit``."""
    shown = visible(path)
    try:
        if os.path.getsize(path) > limit:
            raise ConfigError(f"{shown}: {what} is larger than {_size(limit)}")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError(f"{shown}: {what} is larger than {_size(limit)}")
    return data


def check_model_file_size(path: str, name: str, limit: int, size: int | None = None) -> None:
    """Refuse model file ``name`` (of the model ``path``) over ``limit`` bytes before it is
    read (and after, if it grew)."""
    size = os.path.getsize(name) if size is None else size
    if size > limit:
        raise ModelLoadError(path, f"{os.path.basename(name)} is larger than "
                             f"{limit // 1024**2} MiB (the limit qlint reads)")


def _size(n: int) -> str:
    return f"{n // 1024**2} MiB" if n >= 1024**2 else f"{n // 1024} KiB"


def check_json_nesting(data: bytes, path: str, what: str) -> None:
    """Refuse JSON nested deeper than `MAX_NESTING` or with too many containers."""
    if data.count(b"[") + data.count(b"{") > MAX_BASELINE_CONTAINERS:
        raise ConfigError(f"{visible(path)}: {what} has more than "
                          f"{MAX_BASELINE_CONTAINERS} arrays and objects")
    depth = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub(b'""', data)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                raise ConfigError(f"{visible(path)}: {what} is nested deeper than "
                                  f"{MAX_NESTING} levels")
        else:
            depth -= 1


def check_toml_nesting(text: str, path: str) -> None:
    """Refuse TOML whose arrays and inline tables nest deeper than `MAX_NESTING`."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if c in "\"'":
            triple = text.startswith(c * 3, i)
            if triple:
                j = text.find(c * 3, i + 3)
                i = n if j < 0 else j + 3
                while i < n and text[i] == c:  # """a"""" ends with the last quote
                    i += 1
                continue
            i += 1
            while i < n and text[i] != c and text[i] != "\n":
                if c == '"' and text[i] == "\\":
                    i += 1
                i += 1
            i += 1
            continue
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise ConfigError(f"{visible(path)}: nested deeper than {MAX_NESTING} levels")
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
