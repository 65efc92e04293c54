"""Rule base class and the registry that finds rules through entry points.

Built-in rules register under the ``qlint.rules`` entry-point group exactly as
third-party plugins do; an entry point names a `Rule` subclass.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from importlib.machinery import PathFinder
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


class EntryPoint:
    """One ``name = value`` line of an ``entry_points.txt`` group, loadable like
    `importlib.metadata.EntryPoint` (same value syntax, same errors)."""

    # importlib.metadata.EntryPoint.pattern
    pattern = re.compile(
        r"(?P<module>[\w.]+)\s*"
        r"(:\s*(?P<attr>[\w.]+)\s*)?"
        r"((?P<extras>\[.*\])\s*)?$"
    )

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name, self.value, self.group = name, value, group

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    def load(self) -> Any:
        """Import the module named by ``value`` and return the object it names."""
        match = self.pattern.match(self.value)
        module = import_module(match.group("module"))  # type: ignore[union-attr]
        attrs = filter(None, (match.group("attr") or "").split("."))  # type: ignore[union-attr]
        obj: Any = module
        for attr in attrs:
            obj = getattr(obj, attr)
        return obj


class _Unusual(Exception):
    """Something the fast scan does not handle exactly as importlib.metadata does."""


_INFO_SUFFIXES = (".dist-info", ".egg-info")


def _normalize(name: str) -> str:
    # importlib.metadata.Prepared.normalize
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _parse_entry_points(text: str) -> list[tuple[str, str, str]]:
    """(group, name, value) of every entry, as ``importlib.metadata.Sectioned`` reads them."""
    out = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue
        name, eq, value = line.partition("=")
        if not eq:
            raise _Unusual(line)  # importlib.metadata fails on it: let it
        out.append((section, name.strip(), value.strip()))
    return out


def _scan_entry_points(group: str, path: list[Any]) -> list[EntryPoint]:
    """The entry points of ``group`` in the distributions on ``path``.

    The same answer as ``importlib.metadata.entry_points(group=group)`` for the
    distributions that ``importlib.metadata`` finds through `sys.path` (metadata
    directories ``*.dist-info`` / ``*.egg-info`` directly in a path directory; the
    first distribution of a normalized name wins; entries in path, directory
    listing and file order) without importing `importlib.metadata` and the
    ``email`` package it pulls in.  Anything else (zip files on the path, another
    distribution finder, ``.egg`` directories, names whose metadata must be read)
    raises `_Unusual`.
    """
    finders = [f for f in sys.meta_path if getattr(f, "find_distributions", None)]
    if finders != [PathFinder]:
        raise _Unusual("another distribution finder")
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for entry in path:
        if not isinstance(entry, str):
            raise _Unusual(repr(entry))
        root = entry or "."
        try:
            children = os.listdir(root)
        except FileNotFoundError:
            continue
        except Exception:  # a zip file, an unreadable directory, a strange path
            raise _Unusual(root) from None
        if os.path.basename(entry).lower().endswith(".egg"):
            raise _Unusual(root)
        # importlib.metadata.Lookup: grouped by normalized name, first listed first
        by_name: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith(_INFO_SUFFIXES):
                if not child.endswith(_INFO_SUFFIXES):
                    raise _Unusual(child)  # importlib.metadata reads its Name
                name = _normalize(low.rpartition(".")[0].partition("-")[0])
                by_name.setdefault(name, []).append(child)
        for name, dirs in by_name.items():
            for child in dirs:
                if name in seen:
                    continue
                seen.add(name)
                try:
                    with open(os.path.join(entry, child, "entry_points.txt"),
                              encoding="utf-8") as fh:
                        text = fh.read()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError,
                        PermissionError):
                    continue
                except (OSError, ValueError) as exc:
                    raise _Unusual(str(exc)) from None
                found.extend(EntryPoint(n, v, g) for g, n, v in _parse_entry_points(text)
                             if g == group)
    return found


def entry_points(group: str) -> list[Any]:
    """The entry points of ``group``, in ``importlib.metadata.entry_points`` order.

    Read from the ``entry_points.txt`` files on `sys.path` directly (importing
    `importlib.metadata` costs about as much as linting a small model); falls back to
    `importlib.metadata` whenever the environment holds anything the scan does not
    handle exactly as it does.
    """
    try:
        return _scan_entry_points(group, list(sys.path))
    except _Unusual:
        from importlib.metadata import entry_points as metadata_entry_points

        return list(metadata_entry_points(group=group))


def discover_rules() -> list[type[Rule]]:
    """All rules registered in the ``qlint.rules`` group, sorted by id."""
    found: dict[str, type[Rule]] = {}
    for ep in entry_points(ENTRY_POINT_GROUP):
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
