"""Bounds on what one model can make qlint print.

A small hostile model can repeat one bad op tens of thousands of times; reporting each
occurrence would make a report of hundreds of megabytes that no CI system accepts.  When
a model has more than `GROUP_ABOVE` findings, the findings of one rule on one op type
(tensors count as one type) become one finding: the first occurrence, its message saying
how many there were, and up to `MAX_RELATED` of the others as related nodes.  Any
finding keeps at most `MAX_RELATED` related nodes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from qlint.finding import Finding

GROUP_ABOVE = 1_000  # findings in one model before grouping starts
MAX_RELATED = 100  # related nodes kept on one finding


def _kind(f: Finding) -> str:
    node = f.node
    return str(node.get("op_type")) if node.get("kind") == "op" else "tensor"


def cap_findings(findings: list[Finding]) -> list[Finding]:
    """``findings`` of one model, grouped and capped as the module docstring says."""
    out = []
    if len(findings) <= GROUP_ABOVE:
        for f in findings:
            if len(f.related) > MAX_RELATED:
                f = dataclasses.replace(f, related=f.related[:MAX_RELATED])
            out.append(f)
        return out
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        groups[(f.rule, _kind(f))].append(f)
    for (_, kind), group in groups.items():
        first = group[0]
        if len(group) == 1:
            out.append(dataclasses.replace(first, related=first.related[:MAX_RELATED]))
            continue
        related = [g.node for g in group[1:MAX_RELATED + 1]]
        what = "ops of this type" if kind != "tensor" else "tensors"
        message = (f"{first.message} (grouped: {len(group)} {what} in this model have this "
                   f"finding; the first is reported, {len(related)} more are listed as "
                   f"related nodes)")
        out.append(dataclasses.replace(first, message=message, related=related))
    return out
