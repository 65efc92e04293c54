"""Escaping of every string that comes from a model or a path, for every output.

A tensor, layer or file name is chosen by whoever wrote the model.  Printed raw it could
move the terminal's cursor or retitle it (ESC, BEL, C1 controls), start a line of its own
that the CI runner reads as a workflow command (``\\n::error ...``), reorder what a reviewer
sees (bidi overrides), or fail to encode at all (a non-UTF-8 file name, which Python holds
as lone surrogates).  `visible` turns each such character into a visible, unambiguous
escape (``\\x1b``, ``\\n``, ``\\u202e``; a non-UTF-8 byte as ``\\xff``) and keeps every
other character, so ordinary names print unchanged.

`github_data` and `github_property` add the GitHub Actions runner's own escaping of
workflow-command data and properties (``%``, CR, LF; and ``:`` and ``,`` in properties).
JSON output needs nothing more than `visible`'s effect on surrogates: the JSON encoder
escapes control characters itself.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab included), DEL, C1 controls, the bidi embeddings and
# overrides U+202A-U+202E and isolates U+2066-U+2069, the line and paragraph separators,
# and lone surrogates (what ``surrogateescape`` makes of non-UTF-8 bytes in file names).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _replace(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 name, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with control, bidi and undecodable characters written as visible escapes."""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_replace, s) if _UNSAFE.search(s) else s


def has_unsafe(text: str) -> bool:
    """True when `visible` would change ``text``."""
    return _UNSAFE.search(text) is not None


def github_data(text: object) -> str:
    """The data of a GitHub Actions workflow command (after ``::``)."""
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_property(text: object) -> str:
    """A property value of a GitHub Actions workflow command (``file=...``, ``title=...``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")


def error_line(message: object) -> str:
    """The one stderr line of a user error."""
    return f"qlint: error: {visible(message)}"
