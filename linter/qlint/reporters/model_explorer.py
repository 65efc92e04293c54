"""Node data for Google's Model Explorer (``model-explorer m.tflite --node_data_paths=x.json``).

The overlay is keyed per graph (the subgraph name, or ``subgraph_<i>`` when it has
none) and, inside a graph, by output tensor name, which Model Explorer matches
against the outputs of its nodes.  Each flagged node gets the value of its worst
severity (3 error, 2 warning, 1 info) and that severity's colour; nodes a finding
involves (``related``) are coloured too.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from typing import Any, TextIO

from qlint.errors import UsageError
from qlint.escape import visible
from qlint.finding import Finding, Severity
from qlint.report import ModelResult, Report

VALUES = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}
COLOURS = {3: "#e53935", 2: "#fb8c00", 1: "#1e88e5"}
THRESHOLDS = [{"value": v, "bgColor": c} for v, c in sorted(COLOURS.items())]


def _graph_id(subgraph: int, names: dict[int, str]) -> str:
    return names.get(subgraph) or f"subgraph_{subgraph}"


def model_node_data(model: ModelResult, subgraph_names: dict[int, str]) -> dict[str, Any]:
    """ModelNodeData for one model: ``{graphId: {"results": {...}, "thresholds": [...]}}``."""
    graphs: dict[str, dict[str, Any]] = {}

    def mark(node: dict[str, Any], f: Finding) -> None:
        gid = visible(_graph_id(node["subgraph"], subgraph_names))
        results = graphs.setdefault(gid, {"results": {}, "thresholds": THRESHOLDS})["results"]
        key = visible(node["name"])  # an op's name in .tflite is its first output tensor's name
        value = VALUES[f.severity]
        if key not in results or results[key]["value"] < value:
            results[key] = {"value": value, "bgColor": COLOURS[value]}

    for f in model.findings:
        mark(f.node, f)
        for rel in f.related:
            mark(rel, f)
    return graphs


def to_node_data(report: Report) -> dict[str, Any]:
    """One model: its ModelNodeData.  Several: ``{model path: ModelNodeData}``."""
    per_model = {visible(m.path): model_node_data(m, _subgraph_names(m)) for m in report.models
                 if m.error is None and m.format is not None}
    if len(per_model) == 1:
        return next(iter(per_model.values()))
    return per_model


def render(report: Report, stream: TextIO) -> None:
    json.dump(to_node_data(report), stream, indent=2)
    stream.write("\n")


def write_per_model(report: Report, directory: str,
                    inputs: Iterable[tuple[str, str | None]] = ()) -> list[str]:
    """Write ``<model file name>.qlint.json`` for each model into ``directory``; a second
    model of the same file name gets ``<name>-2.qlint.json``.  ``inputs`` are never
    overwritten (`qlint.safe_output`)."""
    from qlint.safe_output import check_directory, unique_names, write_text

    inputs = list(inputs)
    check_directory(directory, inputs)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {visible(directory)}: {exc.strerror or exc}") from None
    models = [m for m in report.models if m.error is None and m.format is not None]
    names = unique_names(os.path.basename(os.path.normpath(m.path)) + ".qlint.json"
                         for m in models)
    written = []
    for m, name in zip(models, names, strict=True):
        out = os.path.join(directory, name)
        data = model_node_data(m, _subgraph_names(m))
        write_text(out, functools.partial(_dump, data), inputs, what="overlay")
        written.append(out)
    return written


def _dump(data: dict[str, Any], fh: TextIO) -> None:
    json.dump(data, fh, indent=2)
    fh.write("\n")


def _subgraph_names(model: ModelResult) -> dict[int, str]:
    return dict(enumerate(model.subgraph_names))
