"""Writing a generated file, or checking that the one on disk is current (``--check``)."""

from __future__ import annotations

from pathlib import Path

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
