"""Rule base class and the registry that finds rules through entry points.

Built-in rules register under the ``qlint.rules`` entry-point group exactly as
third-party plugins do; an entry point names a `Rule` subclass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

from qlint.errors import PluginError
from qlint.finding import Finding, Severity, node_ref
from qlint.graph import ModelGraph, NodeId
from qlint.targets import Target, default_target

ENTRY_POINT_GROUP = "qlint.rules"


@dataclass(frozen=True)
class Context:
    """What a rule may consult besides the graph: the `Target` the model must run on."""

    target: Target = field(default_factory=default_target)


class Rule:
    """Base class of every rule.

    Subclasses set the class attributes and implement `check`.  The class
    docstring is user-facing: it says what the rule flags, why it matters and how
    to fix it (``docs/rules/<ID>.md`` is generated from it).
    """

    id: ClassVar[str]
    name: ClassVar[str]
    record: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    fix: ClassVar[str]
    stages: ClassVar[frozenset[str]] = frozenset({"converted"})
    formats: ClassVar[frozenset[str]] = frozenset({"tflite"})

    def applies_to(self, graph: ModelGraph) -> bool:
        return graph.stage in self.stages and graph.format in self.formats

    def check(self, graph: ModelGraph, ctx: Context) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(
        self,
        graph: ModelGraph,
        node: NodeId,
        message: str,
        *,
        fix: str | None = None,
        related: Iterable[NodeId] = (),
        severity: Severity | None = None,
        record: str | None = None,
    ) -> Finding:
        """Build a finding about ``node`` carrying this rule's identity.

        ``fix``, ``severity`` and ``record`` default to the rule's; a rule passes another
        ``record`` when the knowledge record that explains this case is a different one
        (QL111 quotes a converter message that belongs to another record)."""
        return Finding(
            rule=self.id,
            name=self.name,
            record=record or self.record,
            severity=severity or self.severity,
            model=graph.path,
            location=graph[node]["location"],
            message=message,
            fix=fix or self.fix,
            node=node_ref(graph, node),
            related=[node_ref(graph, n) for n in related if n != node],
        )


def _validate(cls: Any, origin: str) -> type[Rule]:
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise PluginError(f"entry point {origin} is not a qlint Rule subclass")
    for attr in ("id", "name", "record", "severity", "summary", "fix"):
        if not getattr(cls, attr, None):
            raise PluginError(f"rule {origin} does not set {attr!r}")
    if not (cls.__doc__ or "").strip():
        raise PluginError(f"rule {origin} has no docstring")
    return cls


def discover_rules() -> list[type[Rule]]:
    """All rules registered in the ``qlint.rules`` group, sorted by id."""
    found: dict[str, type[Rule]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take qlint down
            raise PluginError(f"cannot load rule plugin {ep.name!r} ({ep.value}): {exc}") from exc
        cls = _validate(cls, f"{ep.name} = {ep.value}")
        other = found.get(cls.id)
        if other is not None and other is not cls:
            raise PluginError(
                f"rule id {cls.id} is registered twice ({other.__module__}, {ep.value})"
            )
        found[cls.id] = cls
    return sorted(found.values(), key=lambda c: c.id)


def select_rules(
    rules: Iterable[type[Rule]],
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> Iterator[type[Rule]]:
    """Filter rules by id, id prefix (``QL1``) or name; empty ``select`` means all."""
    sel, ign = list(select), list(ignore)
    for cls in rules:
        if sel and not rule_matches(cls.id, cls.name, sel):
            continue
        if ign and rule_matches(cls.id, cls.name, ign):
            continue
        yield cls


def rule_matches(rule_id: str, name: str, keys: Iterable[str]) -> bool:
    """True when a rule is named by any key: its id, an id prefix or its name."""
    return any(rule_id.startswith(k.upper()) or name == k for k in keys)
