"""Findings: what a rule reports about one node of one model."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from qlint.graph import ModelGraph, NodeId


class Severity(str, Enum):
    """Severity of a finding, ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.lower())
        except ValueError:
            raise ValueError(f"unknown severity {text!r} (use info, warning or error)") from None


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def node_ref(graph: ModelGraph, node: NodeId) -> dict[str, Any]:
    """The JSON-ready identity of a node: enough to find it again in the file."""
    attrs = graph[node]
    if attrs["kind"] == "op":
        return {
            "kind": "op",
            "name": attrs["name"],
            "op_type": attrs["op_type"],
            "source_op": attrs["source_op"],
            "subgraph": attrs["subgraph"],
            "index": attrs["index"],
            "location": attrs["location"],
        }
    return {
        "kind": "tensor",
        "name": attrs["name"],
        "subgraph": attrs["subgraph"],
        "index": attrs["index"],
        "location": attrs["location"],
    }


@dataclass
class Finding:
    """One problem on one node; ``related`` lists the other nodes it involves."""

    rule: str
    name: str
    record: str
    severity: Severity
    model: str
    location: str
    message: str
    fix: str
    node: dict[str, Any]
    related: list[dict[str, Any]] = field(default_factory=list)
    baseline_state: str | None = None  # "new" when a baseline is in use

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "record": self.record,
            "model": self.model,
            "location": self.location,
            "message": self.message,
            "fix": self.fix,
            "node": self.node,
            "related": self.related,
        }
