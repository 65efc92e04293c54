"""``qlint explain``: show a knowledge record, or find the records a toolchain log matches.

``qlint explain ID [ID ...]`` takes rule ids (``QL103``), rule names (``float-island``) or
record ids (``tensorflow/tflite-custom-op``) and prints each record: root cause, fix steps,
dead ends, the messages it matches, the versions where it holds and how it was verified.

``qlint explain --log FILE`` (``-`` reads stdin) matches a converter, interpreter or Keras log
against the ``regex`` of every record and explains each match, naming the op or node the
message is about.  Records marked ``family`` match a whole family of messages (every kernel
check, every "failed to prepare"); where a more specific record matches the same lines, the
family match only adds its node name to it.

Exit codes: 0 explained, 1 the log matched no record, 2 unknown id or unreadable log.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from qlint.errors import UsageError
from qlint.knowledge import all_records, record

if TYPE_CHECKING:
    from qlint.registry import Rule

WIDTH = 92

_LABELS = {
    "en": {
        "root_cause": "Root cause",
        "fix": "Fix",
        "dead_ends": "Dead ends (tried often, do not work)",
        "messages": "Known message",
        "versions": "Versions",
        "verification": "Verification",
        "related": "Related records",
        "doc": "Docs",
        "rules": "Rules",
        "when": "when",
        "why": "why not",
        "matched": "matched",
        "line": "line",
        "no_match": "no known message found",
        "leads_to": "leads to",
        "preceded_by": "preceded by",
        "frequently_confused_with": "often confused with",
        "silent": "(silent: nothing is printed)",
    },
    "zh": {
        "root_cause": "根本原因",
        "fix": "修复方法",
        "dead_ends": "无效做法（常被尝试，但不起作用）",
        "messages": "已知消息",
        "versions": "版本",
        "verification": "验证",
        "related": "相关记录",
        "doc": "文档",
        "rules": "规则",
        "when": "条件",
        "why": "原因",
        "matched": "匹配",
        "line": "行",
        "no_match": "未找到已知消息",
        "leads_to": "导致",
        "preceded_by": "前因",
        "frequently_confused_with": "常被混淆",
        "silent": "（静默：不输出任何消息）",
    },
}


def _rules() -> list[type[Rule]]:
    from qlint.registry import discover_rules

    return discover_rules()


def resolve(key: str) -> tuple[dict[str, Any], list[type[Rule]]]:
    """The record named by a rule id, rule name or record id, and the rules that use it.

    Raises `UsageError` when nothing has that name.
    """
    rules = _rules()
    by_rule = [r for r in rules if r.id.upper() == key.upper() or r.name == key]
    rec_id = by_rule[0].record if by_rule else key
    rec = record(rec_id)
    if rec is None:
        if by_rule:
            raise UsageError(f"rule {key} names record {rec_id!r}, which does not exist")
        raise UsageError(f"unknown rule or record {key!r} (see 'qlint rules')")
    users = by_rule or [r for r in rules if r.record == rec_id]
    return rec, users


def _wrap(text: str, indent: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _item(first: str, text: str, indent: str) -> list[str]:
    lines = _wrap(text, indent + " " * len(first))
    lines[0] = indent + first + lines[0][len(indent) + len(first):]
    return lines


def workaround_steps(rec: dict[str, Any], lang: str = "en") -> list[str]:
    """One string per workaround, in ``lang`` when the record has a translation."""
    zh = rec.get("workarounds_zh") or []
    steps = []
    for i, w in enumerate(rec["workarounds"]):
        if lang == "zh" and i < len(zh):
            steps.append(zh[i])
            continue
        action, how = w["action"].rstrip("."), w["how"]
        steps.append(how if how.startswith(action) else f"{action}: {how}")
    return steps


def format_record(rec: dict[str, Any], *, lang: str = "en", indent: str = "",
                  full: bool = True, width: int = WIDTH) -> list[str]:
    """The record as text lines: root cause, fix steps, dead ends, doc link.

    ``full`` adds the known message, versions, verification and related records (what
    ``qlint explain`` shows); without it the lines fit under a finding in a lint report.
    """
    t = _LABELS[lang]
    zh = lang == "zh"
    sub = indent + "  "
    out: list[str] = []

    def section(title: str) -> None:
        out.append(f"{indent}{title}")

    section(f"{t['root_cause']}:")
    out += _wrap(rec["root_cause_zh"] if zh else rec["root_cause"], sub, width)
    section(f"{t['fix']}:")
    for n, (step, w) in enumerate(zip(workaround_steps(rec, lang), rec["workarounds"],
                                      strict=True), 1):
        cond = f" ({t['when']}: {w['condition']})" if w.get("condition") else ""
        out += _item(f"{n}. ", step + cond, sub)
    if rec["dead_ends"]:
        section(f"{t['dead_ends']}:")
        for d in rec["dead_ends"]:
            out += _item("- ", f"{d['action'].rstrip('.')}. {t['why']}: {d['why_fails']}", sub)
    if full:
        section(f"{t['messages']}:")
        if zh:
            out += _wrap(rec["signature_zh"], sub, width)
        out += [f"{sub}{line}" for line in rec["signature"].splitlines()]
        out.append(f"{sub}regex: {rec['regex']}" if rec["regex"] else f"{sub}{t['silent']}")
        section(f"{t['versions']}:")
        for v in rec["versions"]:
            change = f": {v['behavior_change']}" if v.get("behavior_change") else ""
            out += _item("- ", f"{v['version']} [{v['status']}]{change}", sub)
        section(f"{t['verification']}:")
        verified = rec["verification_tier"]
        if rec.get("reproducer"):
            verified += f", reproducer {rec['reproducer']}"
        if rec.get("confidence") is not None:
            verified += f", confidence {rec['confidence']}"
        out.append(f"{sub}{verified}")
        links = [(k, v) for k, v in rec["transition_graph"].items() if v]
        if links:
            section(f"{t['related']}:")
            for kind, ids in links:
                out.append(f"{sub}{t[kind]}: {', '.join(ids)}")
    if rec.get("official_doc_url"):
        out.append(f"{indent}{t['doc']}: {rec['official_doc_url']}")
    return out


def render_record(rec: dict[str, Any], rules: Iterable[type[Rule]], lang: str = "en") -> str:
    """What ``qlint explain ID`` prints for one record."""
    t = _LABELS[lang]
    head = [rec["id"]]
    rules = list(rules)
    if rules:
        names = ", ".join(f"{r.id} {r.name} [{r.severity.value}]" for r in rules)
        head.append(f"{t['rules']}: {names}")
    head.append(f"{rec['category']}"
                + (f" / {rec['subcategory']}" if rec.get("subcategory") else ""))
    return "\n".join([*head, "", *format_record(rec, lang=lang)]) + "\n"


# -- log matching ---------------------------------------------------------------------------


@dataclass
class LogMatch:
    """One record matched in a log: where, what text, and the nodes the messages name."""

    record: dict[str, Any]
    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    @property
    def family(self) -> bool:
        return bool(self.record.get("family"))

    def add(self, lines: range, text: str, node: str | None) -> None:
        self.lines += [n for n in lines if n not in self.lines]
        if text not in self.texts:
            self.texts.append(text)
        if node and node not in self.nodes:
            self.nodes.append(node)


def node_label(groups: dict[str, str | None]) -> str | None:
    """The op or node a message names, from the regex's named groups.

    ``node`` (a node index), ``op`` (an op type, TF op or custom code), ``tensor`` and
    ``layer`` are understood: ``Node number 31 (CONV_2D)`` becomes ``node 31 (CONV_2D)``,
    ``'tf.Erf'`` becomes ``op Erf``.
    """
    node, op = groups.get("node"), groups.get("op")
    if node is not None:
        return f"node {node} ({op})" if op else f"node {node}"
    for key in ("op", "tensor", "layer"):
        if groups.get(key):
            return f"{key} {groups[key]}"
    return None


def match_log(text: str, records: Iterable[dict[str, Any]] | None = None) -> list[LogMatch]:
    """Every record whose regex matches ``text``, in order of first appearance.

    A match of a ``family`` record on lines that a specific record also matched is folded
    into the specific match (its node name is kept); family matches on other lines follow
    the specific ones.
    """
    records = all_records().values() if records is None else records
    starts = [m.start() for m in re.finditer(r"^", text, re.MULTILINE)]

    def line_of(pos: int) -> int:
        lo, hi = 0, len(starts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if starts[mid] <= pos:
                lo = mid
            else:
                hi = mid
        return lo + 1

    found: list[tuple[int, LogMatch]] = []
    for rec in sorted(records, key=lambda r: r["id"]):
        if not rec.get("regex"):
            continue
        lm = LogMatch(rec)
        for m in re.finditer(rec["regex"], text, re.MULTILINE):
            if m.end() == m.start():
                continue
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            lines = range(line_of(m.start()), line_of(m.end() - 1) + 1)
            lm.add(lines, m.group(0).strip(), node_label(groups))
        if lm.lines:
            found.append((min(lm.lines), lm))
    found.sort(key=lambda pair: (pair[1].family, pair[0], pair[1].record["id"]))
    specific = [lm for _, lm in found if not lm.family]
    result = list(specific)
    for _, lm in found:
        if not lm.family:
            continue
        hosts = [s for s in specific if set(s.lines) & set(lm.lines)]
        for host in hosts:
            for n in lm.nodes:
                if n not in host.nodes:
                    host.nodes.append(n)
        if not hosts or not set(lm.lines) <= {n for s in hosts for n in s.lines}:
            result.append(lm)
    return result


def _read_log(path: str, stdin: TextIO) -> str:
    if path == "-":
        return stdin.read()
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def render_log_matches(matches: Sequence[LogMatch], source: str, lang: str = "en") -> str:
    """What ``qlint explain --log`` prints: one block per matched record."""
    t = _LABELS[lang]
    if not matches:
        return f"{source}: {t['no_match']}\n"
    rules = _rules()
    blocks = []
    for i, lm in enumerate(matches, 1):
        rec = lm.record
        users = [r for r in rules if r.record == rec["id"]]
        where = ", ".join(str(n) for n in lm.lines[:8]) + (" ..." if len(lm.lines) > 8 else "")
        head = [f"[{i}] {source}: {t['line']} {where}: {rec['id']}"]
        if lm.nodes:
            head.append(f"    {', '.join(lm.nodes)}")
        head.append(f"    {t['matched']}: {_shorten(lm.texts[0])}")
        body = render_record(rec, users, lang)
        blocks.append("\n".join(head) + "\n\n" + body)
    return "\n".join(blocks)


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qlint explain", allow_abbrev=False,
        description="Explain a rule or knowledge record, or the toolchain messages in a log.",
        epilog="Exit codes: 0 explained, 1 the log matched no known message, "
               "2 unknown id or unreadable log.",
    )
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="rule id (QL103), rule name (float-island) or record id")
    p.add_argument("--log", metavar="FILE",
                   help="converter, interpreter or Keras log to match against every record "
                        "('-' reads stdin)")
    p.add_argument("--lang", choices=sorted(_LABELS), default="en",
                   help="language of the explanation (default: en)")
    return p


def main(argv: Sequence[str], stdout: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Entry point of ``qlint explain``; returns the exit code."""
    out = stdout or sys.stdout
    args = _parser().parse_args(list(argv))
    if not args.ids and not args.log:
        raise UsageError("qlint explain needs an ID (rule id, rule name or record id) or --log")
    resolved = [resolve(key) for key in args.ids]
    for n, (rec, users) in enumerate(resolved):
        if n:
            out.write("\n")
        out.write(render_record(rec, users, args.lang))
    if args.log is None:
        return 0
    text = _read_log(args.log, stdin or sys.stdin)
    matches = match_log(text)
    if resolved:
        out.write("\n")
    out.write(render_log_matches(matches, "<stdin>" if args.log == "-" else args.log,
                                 args.lang))
    return 0 if matches else 1
