"""The Python API: `lint` runs discovery, loaders and rules and returns a `Report`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from qlint.discover import ModelSource, discover
from qlint.errors import ModelLoadError
from qlint.finding import Finding, Severity
from qlint.loaders import loader_for
from qlint.registry import Context, Rule, discover_rules, select_rules
from qlint.report import ModelResult, Report


def lint(
    paths: str | Sequence[str] = (".",),
    *,
    target: str = "tflite-int8",
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    fail_on: str | Severity = Severity.ERROR,
    rules: Iterable[type[Rule]] | None = None,
) -> Report:
    """Lint model files and directories.

    ``select``/``ignore`` take rule ids, id prefixes or rule names.  An unreadable
    model becomes a `ModelResult` with ``error`` set; the others are still linted.
    """
    if isinstance(paths, str):
        paths = [paths]
    fail = fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on)
    active = [cls() for cls in select_rules(rules if rules is not None else discover_rules(),
                                            select, ignore)]
    sources, problems = discover(paths)
    ctx = Context(target=target)
    results = [lint_one(src, active, ctx) for src in sources]
    return Report(models=results, target=target, fail_on=fail,
                  errors=[f"{p.path}: {p.reason}" for p in problems])


def lint_one(src: ModelSource, rules: Sequence[Rule], ctx: Context) -> ModelResult:
    """Load one model and run every applicable rule on it.

    A defect in qlint itself on a strange model is reported against that model
    (set ``QLINT_DEBUG=1`` to see the traceback) so the other models still get linted.
    """
    stage = "loading"
    try:
        graph = loader_for(src.format)(src.path)
        result = ModelResult(path=src.path, format=src.format, quant_mode=graph.quant_mode)
        for rule in rules:
            if rule.applies_to(graph):
                stage = f"rule {rule.id}"
                result.findings.extend(rule.check(graph, ctx))
    except ModelLoadError as exc:
        return ModelResult(path=src.path, format=src.format, error=exc.reason)
    except Exception as exc:
        if os.environ.get("QLINT_DEBUG"):
            raise
        return ModelResult(path=src.path, format=src.format,
                           error=f"internal error in {stage} ({type(exc).__name__}: {exc}); "
                           "please report it with the model's structure")
    result.findings.sort(key=_finding_order)
    return result


def _finding_order(f: Finding) -> tuple[int, int, int, str]:
    node = f.node
    return (node["subgraph"], 0 if node["kind"] == "op" else 1, node["index"], f.rule)
