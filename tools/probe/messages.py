"""Condense toolchain messages to their key lines, keeping the real text."""

from __future__ import annotations

import re

MAX_CHARS = 400

# Lines that carry the reason for a failure, most telling first.
_KEY_PATTERNS = (
    re.compile(r"Quantization not yet supported", re.I),
    re.compile(r"neither a custom op nor a flex op", re.I),
    re.compile(r"Didn't find op for builtin opcode", re.I),
    re.compile(r"\bwas not true\b|!=|not near", re.I),
    re.compile(r"not supported|unsupported|only supports|are supported currently", re.I),
    re.compile(r"Node number \d+ \(\w+\) failed", re.I),
    re.compile(r"\berror:", re.I),
    re.compile(r"failed|cannot|can't|unable|invalid", re.I),
)

_NOISE = (
    re.compile(r"^\s*$"),
    re.compile(r"^\s*(WARNING|W0000|I0000|INFO)\b"),
    re.compile(r"^\s*(loc\(|note:|<unknown>:0: note|see current operation)"),
    re.compile(r"tf\.lite\.Interpreter is deprecated|migration guide|_INTERPRETER_DELETION"),
    # the converter's closing lines after any refused op: generic, not about the op
    re.compile(r"^Some ops are not supported by the native TFLite runtime, you can enable TF "
               r"kernels fallback using TF Select"),
    re.compile(r"^error: failed while converting: '[^']*':?$"),
)


def _strip_location(text: str) -> str:
    """``loc(callsite(...)): 'tf.X' op ...`` -> ``'tf.X' op ...`` (MLIR source locations)."""
    if not text.startswith("loc("):
        return text
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                rest = text[i + 1:]
                return rest[1:].lstrip() if rest.startswith(":") else text
    return text


def _clean(line: str) -> str:
    line = line.strip()
    # MLIR diagnostics start with a source location; keep what follows "error:".
    m = re.search(r"\berror: (.*)$", line)
    if m:
        line = "error: " + _strip_location(m.group(1))
    # Absolute build paths are noise; keep the source-relative part.
    line = re.sub(r"/[\w./-]*/(tensorflow/(lite|compiler)/)", r"\1", line)
    return re.sub(r"\s+", " ", line)


def key_lines(text: str) -> list[str]:
    """The informative lines of ``text``, most telling first, without duplicates."""
    lines = [_clean(raw) for raw in text.splitlines()]
    lines = [ln for ln in lines if ln and not any(p.search(ln) for p in _NOISE)]
    picked: list[str] = []
    for pattern in _KEY_PATTERNS:
        for ln in lines:
            if pattern.search(ln) and ln not in picked:
                picked.append(ln)
    if not picked:
        picked = lines[:2]
    return picked


def condense(text: str | None, limit: int = MAX_CHARS) -> str | None:
    """The key lines of a toolchain message joined by `` | ``, at most ``limit`` chars."""
    if text is None:
        return None
    text = str(text)
    out = ""
    for ln in key_lines(text):
        cand = ln if not out else f"{out} | {ln}"
        if len(cand) > limit:
            if not out:
                out = ln[: limit - 3] + "..."
            break
        out = cand
    return out or text.strip()[:limit] or None
