"""Knowledge records: valid, linked, and true to the messages the real toolchain printed.

The captured messages come from every place the repository stores real toolchain output:
``fixtures/logs/`` (written by ``fixtures/build_logs.py``), the capability tables in
``rules/capabilities/``, the fixture scenarios' ``scenario.json`` and
``fixtures/quant_params/expected.json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import REPO

from qlint.knowledge import all_records, record, record_schema
from qlint.registry import discover_rules

LOGS = REPO / "fixtures" / "logs"
_MESSAGE_KEYS = re.compile(r"error|message|reason|stderr|log$", re.I)


@dataclass(frozen=True)
class Captured:
    """A real message, where it was captured, and the record it belongs to when known."""

    text: str
    source: str
    record: str | None = None


def log_index() -> list[dict[str, Any]]:
    """The entries of ``fixtures/logs/index.json``."""
    path = LOGS / "index.json"
    return json.loads(path.read_text(encoding="utf-8"))["logs"] if path.exists() else []


def _strings(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str) and _MESSAGE_KEYS.search(key) and len(node) > 10:
        yield node


def captured_messages() -> list[Captured]:
    """Every real toolchain message stored in the repository."""
    out = [Captured((LOGS / e["log"]).read_text(encoding="utf-8"), f"fixtures/logs/{e['log']}",
                    e["record"]) for e in log_index()]
    for path in sorted((REPO / "rules" / "qlint_rules" / "capabilities").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [Captured(s, str(path.relative_to(REPO))) for s in _strings(data)]
    for path in sorted((REPO / "fixtures").glob("*/scenario.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out += [Captured(s, str(path.relative_to(REPO))) for s in _strings(data)]
    expected = REPO / "fixtures" / "quant_params" / "expected.json"
    if expected.exists():
        rules = {r.id: r.record for r in discover_rules()}
        cases = json.loads(expected.read_text(encoding="utf-8")).get("cases", {})
        for name, case in cases.items():
            rec = rules.get(case.get("rule", ""))
            out += [Captured(s, f"fixtures/quant_params/expected.json:{name}", rec)
                    for s in _strings(case)]
    return out


def _search(rec: dict[str, Any], text: str) -> bool:
    return bool(rec["regex"]) and re.search(rec["regex"], text, re.MULTILINE) is not None


def test_every_record_validates() -> None:
    validator = jsonschema.Draft202012Validator(record_schema())
    records = all_records()
    assert len(records) >= 10
    for rec in records.values():
        errors = [e.message for e in validator.iter_errors(rec)]
        assert not errors, (rec["id"], errors)
        assert rec["id"].split("/")[0] == rec["domain"], rec["id"]
        assert len(rec["workarounds_zh"]) == len(rec["workarounds"]), rec["id"]
        if rec["regex"] is not None:
            re.compile(rec["regex"])
            assert re.search(rec["regex"], rec["signature"], re.MULTILINE), rec["id"]


def test_records_are_linked_to_existing_records() -> None:
    records = all_records()
    for rec in records.values():
        for kind, linked in rec["transition_graph"].items():
            for other in linked:
                assert other in records, (rec["id"], kind, other)
                assert other != rec["id"], (rec["id"], kind)


def test_reproducers_exist() -> None:
    cases = {e["case"] for e in log_index()}
    for rec in all_records().values():
        repro = rec.get("reproducer")
        if rec["verification_tier"] == "reproduced" or rec["regex"] is None:
            assert repro, f"{rec['id']} must name its reproducer"
        if not repro:
            continue
        path, _, case = repro.partition("::")
        assert (REPO / path).exists(), (rec["id"], repro)
        if case and path == "fixtures/build_logs.py":
            assert case in cases, (rec["id"], f"case {case} has no log in fixtures/logs")


def test_log_index_matches_the_logs_and_the_cases() -> None:
    build_logs = pytest.importorskip("fixtures.build_logs")
    entries = log_index()
    assert entries, "run python fixtures/build_logs.py"
    assert {e["log"] for e in entries} == {p.name for p in LOGS.glob("*.log")}
    assert {e["case"] for e in entries} == {c.name for c in build_logs.CASES}
    for e in entries:
        assert record(e["record"]) is not None, e
        assert e["versions"]["tensorflow"], e


def test_every_regex_matches_a_real_captured_message() -> None:
    messages = captured_messages()
    for rec in all_records().values():
        if rec["regex"] is None:
            continue
        hits = [m.source for m in messages if _search(rec, m.text)]
        assert hits, f"{rec['id']}: its regex matches no message captured from the toolchain"


def test_no_regex_matches_a_message_captured_for_another_record() -> None:
    """Family records (every kernel check, ...) may share their members' messages."""
    records = all_records()
    for msg in captured_messages():
        own = records.get(msg.record or "")
        if own is None or not _search(own, msg.text):
            assert msg.record is None or msg.source.startswith("fixtures/quant_params"), (
                f"{msg.source}: not matched by its own record {msg.record}")
            continue
        for rec in records.values():
            if rec["id"] == own["id"] or rec.get("family"):
                continue
            assert not _search(rec, msg.text), (
                f"{rec['id']} matches {msg.source}, captured for {own['id']}")


def test_silent_records_name_a_reproducer() -> None:
    for rec in all_records().values():
        if rec["regex"] is None:
            assert rec.get("reproducer"), rec["id"]
            assert (REPO / rec["reproducer"].partition("::")[0]).exists(), rec["id"]


@pytest.mark.parametrize("rule", discover_rules(), ids=lambda r: r.id)
def test_every_rule_names_an_existing_record(rule: type) -> None:
    assert record(rule.record) is not None, (rule.id, rule.record)
    doc = rule.__doc__ or ""
    assert len(doc.split()) > 20, f"{rule.id} needs a docstring: what, why, how to fix"


def test_logs_are_small() -> None:
    for path in LOGS.glob("*.log"):
        assert path.stat().st_size < 32_000, Path(path).name
