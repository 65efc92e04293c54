"""The Python API: `lint` runs discovery, loaders and rules and returns a `Report`."""

from __future__ import annotations

import dataclasses
import gc
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from qlint.config import Config, resolve_config
from qlint.discover import ModelSource, discover
from qlint.errors import ModelLoadError
from qlint.finding import Finding, Severity
from qlint.finding_caps import cap_findings
from qlint.graph import ModelGraph
from qlint.loaders import loader_for
from qlint.predict.patterns import lower
from qlint.registry import Context, Rule, discover_rules, rule_matches, select_rules
from qlint.report import ModelResult, Report
from qlint.selection import check_selection
from qlint.targets import get_target

ProgressCallback = Callable[[int, int, str], None]


def lint(
    paths: str | Sequence[str] = (".",),
    *,
    target: str | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    extend_select: Iterable[str] = (),
    fail_on: str | Severity | None = None,
    config: Config | str | None = None,
    baseline: str | None = None,
    rules: Iterable[type[Rule]] | None = None,
    progress: ProgressCallback | None = None,
    jobs: int | None = 1,
    exclude: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
) -> Report:
    """Lint model files and directories.

    Options left at ``None`` come from ``config`` (a `Config`, a config file path,
    or, by default, the ``qlint.toml`` / ``[tool.qlint]`` found above the first
    path).  ``select``/``ignore`` take rule ids, id prefixes or rule names.  An
    unreadable model becomes a `ModelResult` with ``error`` set; the others are
    still linted.  With ``baseline``, findings recorded in that file are hidden.
    ``jobs`` > 1 (``None``: every core) lints models in that many processes; the
    report keeps discovery order either way.  ``exclude`` globs drop models found in
    directories (a path named explicitly is always linted); ``shard=(K, N)`` keeps the
    K-th of N interleaved parts of the sorted model list (`qlint.batch`).
    """
    from qlint.baseline import baseline_key, load_baseline

    paths = [paths] if isinstance(paths, str) else list(paths) or ["."]
    cfg = config if isinstance(config, Config) else resolve_config(paths, explicit=config)
    available = list(rules) if rules is not None else discover_rules()
    check_selection(cfg, available, select=select, ignore=ignore, extend_select=extend_select)
    cfg = dataclasses.replace(
        cfg,
        target=target or cfg.target,
        select=list(select) if select is not None else cfg.select,
        ignore=list(ignore) if ignore is not None else cfg.ignore,
        extend_select=[*cfg.extend_select, *extend_select],
        fail_on=(fail_on if isinstance(fail_on, Severity) else Severity.parse(fail_on))
        if fail_on is not None else cfg.fail_on,
    )
    ctx = Context(target=get_target(cfg.target))
    sources, problems = discover(paths)
    if exclude:
        from qlint.batch import is_excluded

        named = set(paths)
        sources = [s for s in sources
                   if s.path in named or not is_excluded(s.path, exclude, [cfg.root])]
    if shard is not None:
        from qlint.batch import take_shard

        sources = take_shard(sources, shard)
    workers = min(jobs or os.cpu_count() or 1, len(sources))
    results: list[ModelResult] = []
    started = _clock()
    for i, src in enumerate(sources):
        left = len(sources) - i
        if (workers > 1 and left >= PARALLEL_MIN_MODELS
                and _clock() - started >= PARALLEL_AFTER_SECONDS):
            def shifted(done: int, total: int, path: str, base: int = i) -> None:
                if progress is not None:
                    progress(base + done, base + total, path)

            results.extend(_lint_parallel(sources[i:], available, ctx, cfg,
                                          min(workers, left), shifted))
            break
        if progress is not None:
            progress(i, len(sources), src.path)
        results.append(_lint_configured(src, available, ctx, cfg))
    if progress is not None:
        progress(len(sources), len(sources), "")
    ran = {rule_id for r in results for rule_id in r.rules_run}
    rules = sorted((r for r in available if r.id in ran), key=lambda r: r.id)
    report = Report(models=results, target=ctx.target.name, fail_on=cfg.fail_on,
                    errors=[f"{p.path}: {p.reason}" for p in problems if not p.skipped],
                    notes=[f"{p.path}: {p.reason}" for p in problems if p.skipped],
                    rules=rules, levels=_configured_levels(rules, cfg))
    baseline_path = baseline or cfg.baseline
    if baseline_path:
        report.apply_baseline(load_baseline(baseline_path),
                              baseline_key(cfg.path, baseline_path))
    return report


# Models are linted in this process first; a process pool (which costs ~0.3 s to start on
# a 2-core machine) takes over the rest only once they have taken this long and at least
# this many models are left: a handful of small models never pays for the pool, a large
# directory does (see docs/benchmarks.md).
PARALLEL_AFTER_SECONDS = 0.5
PARALLEL_MIN_MODELS = 4
_clock = time.perf_counter


def _lint_parallel(sources: list[ModelSource], available: list[type[Rule]], ctx: Context,
                   cfg: Config, workers: int,
                   progress: ProgressCallback | None) -> list[ModelResult]:
    """Lint in ``workers`` processes, a few contiguous batches each (small models cost
    less than a round trip); results come back in discovery order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    size = max(1, -(-len(sources) // (workers * 4)))
    batches = [sources[i:i + size] for i in range(0, len(sources), size)]
    results: list[list[ModelResult]] = [[] for _ in batches]
    done = 0
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(_lint_batch, batch, available, ctx, cfg): i
                   for i, batch in enumerate(batches)}
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            done += len(batches[i])
            if progress is not None:
                progress(done, len(sources), batches[i][-1].path)
    return [r for batch in results for r in batch]


def _configured_levels(rules: Sequence[type[Rule]], cfg: Config) -> dict[str, Severity]:
    """Rule id -> the severity the configuration's table gives it (the last key that
    matches wins, as for each finding)."""
    levels: dict[str, Severity] = {}
    for rule in rules:
        for key, sev in cfg.severity.items():
            if rule_matches(rule.id, rule.name, [key]):
                levels[rule.id] = sev
    return levels


def _lint_batch(batch: list[ModelSource], available: list[type[Rule]], ctx: Context,
                cfg: Config) -> list[ModelResult]:
    return [_lint_configured(src, available, ctx, cfg) for src in batch]


def _lint_configured(src: ModelSource, available: list[type[Rule]], ctx: Context,
                     cfg: Config) -> ModelResult:
    select, ignore, severity = cfg.for_model(src.path)
    active = [cls() for cls in select_rules(available, select, ignore)]
    result = lint_one(src, active, ctx)
    kept = []
    for f in result.findings:
        for key, sev in severity.items():
            if rule_matches(f.rule, f.name, [key]):
                f.severity = sev
        if any(s.matches(f) for s in cfg.suppress):
            result.suppressed += 1
        else:
            kept.append(f)
    result.findings = cap_findings(kept)
    return result


def lint_one(src: ModelSource, rules: Sequence[Rule], ctx: Context) -> ModelResult:
    """Load one model and run every applicable rule on it.

    A defect in qlint itself on a strange model is reported against that model
    (set ``QLINT_DEBUG=1`` to see the traceback) so the other models still get linted.
    """
    stage = "loading"
    # A loaded model is a few hundred thousand small containers and no reference cycles;
    # the cyclic collector would walk them again and again while they are built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        graph = loader_for(src.format)(src.path)
        stage = "lowering"
        lower(graph)
        result = ModelResult(path=src.path, format=src.format, quant_mode=graph.quant_mode,
                             subgraph_names=[s["name"] for s in graph.attrs.get("subgraphs", [])])
        for rule in rules:
            if rule.applies_to(graph):
                stage = f"rule {rule.id}"
                result.findings.extend(rule.check(graph, ctx))
                result.rules_run.append(rule.id)
        stage = "partitions"
        result.partitions = _partitions(graph, ctx)
    except ModelLoadError as exc:
        return ModelResult(path=src.path, format=src.format, error=exc.reason)
    except Exception as exc:
        if os.environ.get("QLINT_DEBUG"):
            raise
        return ModelResult(path=src.path, format=src.format,
                           error=f"internal error in {stage} ({type(exc).__name__}: {exc}); "
                           "please report it with the model's structure")
    finally:
        if collecting:
            gc.enable()
    result.findings.sort(key=_finding_order)
    return result


def _partitions(graph: ModelGraph, ctx: Context) -> dict[str, Any] | None:
    """NPU partitions of a ``.tflite`` model on an NPU target (a float model: once
    quantized), else ``None``."""
    target = ctx.target
    if (target.npu is None or graph.format != "tflite"
            or graph.quant_mode not in ("full-int8", "int16x8", "mixed", "float",
                                        "fp16-weights")):
        return None
    from qlint.placement import partitions

    return partitions(graph, target.npu).as_dict()


def _finding_order(f: Finding) -> tuple[int, int, int, str]:
    node = f.node
    return (node["subgraph"], 0 if node["kind"] == "op" else 1, node["index"], f.rule)
