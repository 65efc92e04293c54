"""Glob patterns matched without backtracking regexes.

Suppressions match patterns against node locations, which the model's author chooses;
a backtracking regex such as ``(a|aa)+$`` never ends on a 40-character name.  A glob
(``*`` any run of characters, ``?`` one character, ``[abc]``/``[!abc]`` one of a set) is
matched here by the two-pointer wildcard algorithm: at most len(pattern) x len(text) steps.

A pattern without ``*``, ``?`` or ``[`` matches where it occurs anywhere in the text, as
the plain-word regexes of earlier versions did (``location = "CUMSUM"``).
"""

from __future__ import annotations

from dataclasses import dataclass

GLOB_CHARS = frozenset("*?[")
# Regex syntax that has no meaning in a glob: a pattern using it was written for the
# regex matcher of earlier versions and would silently match nothing as a glob.
REGEX_ONLY = frozenset("()|+^$\\{}")


@dataclass(frozen=True)
class _Token:
    kind: str  # "lit", "any" (?), "star", "set"
    chars: str = ""
    negate: bool = False

    def accepts(self, ch: str) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "lit":
            return ch == self.chars
        inside = any(lo <= ch <= hi for lo, hi in zip(self.chars[::2], self.chars[1::2],
                                                      strict=True))
        return inside != self.negate


def _parse(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if not tokens or tokens[-1].kind != "star":
                tokens.append(_Token("star"))
            i += 1
        elif c == "?":
            tokens.append(_Token("any"))
            i += 1
        elif c == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1:end]
            negate = body[:1] == "!"
            body = body[1:] if negate else body
            ranges = ""
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    ranges += body[j] + body[j + 2]
                    j += 3
                else:
                    ranges += body[j] * 2
                    j += 1
            tokens.append(_Token("set", ranges, negate))
            i = end + 1
        else:
            tokens.append(_Token("lit", c))
            i += 1
    return tokens


class Glob:
    """A compiled glob; `match` tests the whole text (substring for plain words)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.plain = not (GLOB_CHARS & set(pattern))
        self._tokens = _parse(pattern)

    def match(self, text: str) -> bool:
        if self.plain:
            return self.pattern in text
        return _match(self._tokens, text)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Glob) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)


def _match(tokens: list[_Token], text: str) -> bool:
    """Whole-text wildcard match; after a mismatch only the last ``*`` is retried."""
    t = p = 0
    star_p, star_t = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p].kind != "star" and tokens[p].accepts(text[t]):
            p += 1
            t += 1
        elif p < len(tokens) and tokens[p].kind == "star":
            star_p, star_t = p, t
            p += 1
        elif star_p >= 0:
            star_t += 1
            p, t = star_p + 1, star_t
        else:
            return False
    while p < len(tokens) and tokens[p].kind == "star":
        p += 1
    return p == len(tokens)
