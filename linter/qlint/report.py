"""The result of one lint run: per-model outcomes and their findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qlint.finding import Finding, Severity

if TYPE_CHECKING:
    from qlint.registry import Rule


@dataclass
class ModelResult:
    """One model: its findings, or the reason it could not be read."""

    path: str
    format: str | None
    quant_mode: str | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    suppressed: int = 0  # findings hidden by configured suppressions
    subgraph_names: list[str] = field(default_factory=list)
    rules_run: list[str] = field(default_factory=list)  # ids of the rules that checked it
    # NPU targets: partitions and transitions (`qlint.placement.Partitions.as_dict`)
    partitions: dict[str, Any] | None = None


#: The rule whose findings are ops qlint has no verdict for (counted in the summary).
UNKNOWN_OP_RULE = "QL190"


@dataclass
class Report:
    """Everything a reporter needs; `exit_code` applies the CLI's policy."""

    models: list[ModelResult]
    target: str
    fail_on: Severity = Severity.ERROR
    errors: list[str] = field(default_factory=list)  # named paths that were not models
    notes: list[str] = field(default_factory=list)  # paths the walk skipped on purpose
    baseline_hidden: int | None = None  # None: no baseline in use
    rules: list[type[Rule]] = field(default_factory=list)  # those that ran, by id
    # rule id -> the severity the configuration's ``severity`` table gives it (rules the
    # table does not name keep their default)
    levels: dict[str, Severity] = field(default_factory=dict)

    @property
    def suppressed(self) -> int:
        return sum(m.suppressed for m in self.models)

    def apply_baseline(self, known: set[str],
                       key: Callable[[Finding], str] | None = None) -> None:
        """Hide findings whose fingerprint (``key``, default `fingerprint`) is in
        ``known``; mark the rest as new."""
        from qlint.fingerprint import fingerprint

        key = key or fingerprint
        hidden = 0
        for model in self.models:
            kept = []
            for f in model.findings:
                if key(f) in known:
                    hidden += 1
                else:
                    f.baseline_state = "new"
                    kept.append(f)
            model.findings = kept
        self.baseline_hidden = hidden

    @property
    def findings(self) -> list[Finding]:
        return [f for m in self.models for f in m.findings]

    @property
    def unreadable(self) -> list[ModelResult]:
        return [m for m in self.models if m.error is not None]

    def unknown_ops(self) -> int:
        """Ops with no probed verdict (QL190 unknown-op findings and their related ops)."""
        return sum(1 + len(f.related) for f in self.findings if f.rule == UNKNOWN_OP_RULE)

    def counts(self) -> dict[str, int]:
        c = Counter(f.severity.value for f in self.findings)
        return {s.value: c.get(s.value, 0) for s in (Severity.ERROR, Severity.WARNING,
                                                     Severity.INFO)}

    def exit_code(self) -> int:
        """0 clean, 1 findings at or above ``fail_on``, 2 unreadable input."""
        if self.errors or self.unreadable:
            return 2
        if any(f.severity.rank >= self.fail_on.rank for f in self.findings):
            return 1
        return 0
