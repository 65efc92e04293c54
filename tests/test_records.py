"""Knowledge records: each validates against the schema and each rule names one."""

from __future__ import annotations

import re

import jsonschema
import pytest
from conftest import REPO
from qlint.knowledge import all_records, record, record_schema
from qlint.registry import discover_rules


def test_every_record_validates() -> None:
    validator = jsonschema.Draft202012Validator(record_schema())
    records = all_records()
    assert len(records) >= 5
    for rec in records.values():
        errors = [e.message for e in validator.iter_errors(rec)]
        assert not errors, (rec["id"], errors)
        if rec["regex"] is not None:
            re.compile(rec["regex"])
            assert re.search(rec["regex"], rec["signature"]), rec["id"]
        if rec["verification_tier"] == "reproduced":
            assert (REPO / rec["reproducer"]).exists(), rec["reproducer"]
        for linked in (*rec["transition_graph"]["leads_to"],
                       *rec["transition_graph"]["frequently_confused_with"]):
            assert linked in records, (rec["id"], linked)


@pytest.mark.parametrize("rule", discover_rules(), ids=lambda r: r.id)
def test_every_rule_names_an_existing_record(rule: type) -> None:
    assert record(rule.record) is not None, (rule.id, rule.record)
    doc = rule.__doc__ or ""
    assert len(doc.split()) > 20, f"{rule.id} needs a docstring: what, why, how to fix"
