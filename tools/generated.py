"""Writing a generated file, or checking that the one on disk is current (``--check``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def write_or_check(out: Path, text: str, command: str, check: bool) -> int:
    """Write ``text`` to ``out``; with ``check``, write nothing and return 1 when the file on
    disk differs (``command`` regenerates it), else 0."""
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    if check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{shown} is out of date: run {command}")
        return 0 if same else 1
    out.write_text(text, encoding="utf-8")
    print(f"wrote {shown}")
    return 0


def json_main(argv: Sequence[str] | None, doc: str, out: Path, command: str,
              produce: Callable[[], Any], indent: int = 1, sort_keys: bool = False) -> int:
    """A generator's command line: ``--check`` or write ``produce()`` as JSON to ``out``
    (``doc``: the module docstring, whose first paragraph describes it)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    text = json.dumps(produce(), indent=indent, sort_keys=sort_keys) + "\n"
    return write_or_check(out, text, command, args.check)
