"""Node data for Google's Model Explorer (``model-explorer m.tflite --node_data_paths=x.json``).

The overlay is keyed per graph (the subgraph name, or ``subgraph_<i>`` when it has
none) and, inside a graph, by output tensor name, which Model Explorer matches
against the outputs of its nodes.  Each flagged node gets the value of its worst
severity (3 error, 2 warning, 1 info) and that severity's colour; nodes a finding
involves (``related``) are coloured too.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from qlint.errors import UsageError
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
        gid = _graph_id(node["subgraph"], subgraph_names)
        results = graphs.setdefault(gid, {"results": {}, "thresholds": THRESHOLDS})["results"]
        key = node["name"]  # an op's name in .tflite is its first output tensor's name
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
    per_model = {m.path: model_node_data(m, _subgraph_names(m)) for m in report.models
                 if m.error is None and m.format is not None}
    if len(per_model) == 1:
        return next(iter(per_model.values()))
    return per_model


def render(report: Report, stream: TextIO) -> None:
    json.dump(to_node_data(report), stream, indent=2)
    stream.write("\n")


def write_per_model(report: Report, directory: str) -> list[str]:
    """Write ``<model file name>.qlint.json`` for each model into ``directory``."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    written = []
    for m in report.models:
        if m.error is not None or m.format is None:
            continue
        out = os.path.join(directory, os.path.basename(m.path) + ".qlint.json")
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(model_node_data(m, _subgraph_names(m)), fh, indent=2)
        written.append(out)
    return written


def _subgraph_names(model: ModelResult) -> dict[int, str]:
    return dict(enumerate(model.subgraph_names))
