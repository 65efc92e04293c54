"""Knowledge records: load them by id from the ``qlint.rules`` package data."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


def _records_dir() -> Any:
    return resources.files("qlint_rules").joinpath("records")


@lru_cache(maxsize=1)
def all_records() -> dict[str, dict[str, Any]]:
    """Every shipped record, keyed by id."""
    out: dict[str, dict[str, Any]] = {}
    for domain in _records_dir().iterdir():
        if not domain.is_dir():
            continue
        for entry in domain.iterdir():
            if entry.name.endswith(".json"):
                record = json.loads(entry.read_text(encoding="utf-8"))
                out[record["id"]] = record
    return out


def record(record_id: str) -> dict[str, Any] | None:
    return all_records().get(record_id)


def record_schema() -> dict[str, Any]:
    return json.loads(_records_dir().joinpath("schema.json").read_text(encoding="utf-8"))
