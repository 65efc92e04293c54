"""Node data overlays for Google's Model Explorer (``--node_data_paths=overlay.json``).

Model Explorer reads one overlay per model: ``{graphId: {"results": {key: {"value",
"bgColor"}}}}``, where a key is a node id or an output tensor name of that graph.
qlint keys each model the way Model Explorer's own adapters build its graphs:

* ``.tflite`` (the flatbuffer and MLIR adapters): one graph per subgraph, named like
  the subgraph; an unnamed one like the signature that runs it, else ``main`` (the
  first) or ``subgraph_<i>``; an op is keyed by its first output tensor name, which both
  adapters attach to the op's node.
* SavedModel (the "TF adapter (direct)", ``builtin_tf_direct``): graph ``main`` is the
  top-level GraphDef (node id = its position), and each library function is a graph
  named like the function whose node ids count its ``GraphInputs`` node first, then
  its NodeDefs in file order.  The "TF adapter (MLIR)" renames the functions while
  importing them, so an overlay cannot name its graphs in advance.

A finding on a tensor is shown on the op that produces it, or, for a constant
(weights, biases: hidden ``pseudo_const`` nodes in Model Explorer), on the ops that
read it.  Values are text: rule id, severity and message, several findings on one
node joined; the colour is the worst severity's.  A model without findings gets a
green note on its inputs saying it was linted, so an empty overlay never looks like
"qlint did not run".  Model Explorer has no adapter for ``.keras`` files: such models
get no overlay and a note (export them to a SavedModel to see one).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from qlint import __version__
from qlint.errors import UsageError
from qlint.escape import visible
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.report import ModelResult, Report

COLOURS = {Severity.ERROR: "#e53935", Severity.WARNING: "#fb8c00", Severity.INFO: "#1e88e5"}
CLEAN_COLOUR = "#43a047"
MAX_VALUE_CHARS = 2000
SUPPORTED = ("tflite", "savedmodel")
Key = tuple[str, str]  # (graph id, node key)


@dataclass
class _Marks:
    """What goes on each node: the findings' texts and the worst severity."""

    texts: dict[Key, list[str]] = field(default_factory=dict)
    worst: dict[Key, Severity] = field(default_factory=dict)

    def add(self, key: Key, text: str, severity: Severity) -> None:
        texts = self.texts.setdefault(key, [])
        if text not in texts:
            texts.append(text)
        if key not in self.worst or severity.rank > self.worst[key].rank:
            self.worst[key] = severity


def finding_text(f: Finding) -> str:
    return f"{f.rule} {f.name} ({f.severity.value}): {f.message}"


def model_node_data(model: ModelResult, target: str,
                    graph: ModelGraph | None = None) -> dict[str, Any]:
    """The overlay (ModelNodeData) of one linted ``.tflite`` or SavedModel."""
    from qlint.loaders import loader_for

    graph = graph or loader_for(str(model.format))(model.path)
    keyer = _TfliteKeys(graph) if model.format == "tflite" else _SavedModelKeys(graph)
    marks = _Marks()
    unplaced: list[str] = []
    for f in model.findings:
        text = finding_text(f)
        placed = False
        for node in [f.node, *f.related]:
            for key in keyer.keys(node):
                marks.add(key, text, f.severity)
                placed = True
        if not placed:
            unplaced.append(text)
    anchors = keyer.input_keys()
    if not model.findings:
        note = f"qlint {__version__}: no findings (target {target})"
        return _node_data({k: ([note], None) for k in anchors})
    for key in anchors if unplaced else ():
        worst = max((f.severity for f in model.findings), key=lambda s: s.rank)
        marks.add(key, f"{len(unplaced)} finding(s) on no node of this graph: "
                  + "; ".join(unplaced), worst)
    return _node_data({k: (marks.texts[k], marks.worst[k]) for k in marks.texts})


def _node_data(entries: dict[Key, tuple[list[str], Severity | None]]) -> dict[str, Any]:
    graphs: dict[str, dict[str, Any]] = {}
    for (gid, key), (texts, severity) in sorted(entries.items()):
        value = visible(" | ".join(texts))  # names come from the model
        if len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS - 3] + "..."
        results = graphs.setdefault(visible(gid), {"results": {}})["results"]
        results[visible(key)] = {"value": value,
                        "bgColor": COLOURS[severity] if severity else CLEAN_COLOUR}
    return graphs


class _GraphIndex:
    """Positions of a ModelGraph's nodes: (kind, subgraph, index) -> node id."""

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        self.ops = {(a["subgraph"], a["index"]): op for op, a, _ in graph.op_nodes()}
        self.tensors = {(a["subgraph"], a["index"]): t for t, a in graph.tensor_nodes()}

    def ops_showing(self, node: dict[str, Any]) -> list[str]:
        """The op nodes a finding on ``node`` is shown on (see the module docstring)."""
        where = (node["subgraph"], node["index"])
        if node["kind"] == "op":
            op = self.ops.get(where)
            return [op] if op is not None else []
        tensor = self.tensors.get(where)
        if tensor is None:
            return []
        producer = self.graph.producer(tensor)
        return [producer] if producer is not None else self.graph.consumers(tensor)


class _TfliteKeys(_GraphIndex):
    def _graph_id(self, subgraph: int) -> str:
        """The adapters' graph id: the subgraph's name; else the key of the first
        signature that runs it; else ``main`` for subgraph 0, ``subgraph_<i>`` after."""
        subs = self.graph.attrs.get("subgraphs", [])
        name = subs[subgraph]["name"] if subgraph < len(subs) else ""
        if name:
            return str(name)
        for key, sig in self.graph.attrs.get("signatures", {}).items():
            if sig.get("subgraph") == subgraph:
                return str(key)
        return "main" if subgraph == 0 else f"subgraph_{subgraph}"

    def keys(self, node: dict[str, Any]) -> list[Key]:
        out = []
        for op in self.ops_showing(node):
            a = self.graph[op]
            if not any(t is not None for t in self.graph.outputs(op)):
                # no output tensor to name it (ASSIGN_VARIABLE): the adapter's node id is
                # the op's index in its subgraph
                out.append((self._graph_id(a["subgraph"]), str(a["index"])))
            elif a["name"]:
                out.append((self._graph_id(a["subgraph"]), a["name"]))
        return out

    def input_keys(self) -> list[Key]:
        """Every subgraph's input tensors: Model Explorer's ``GraphInputs`` node."""
        keys = []
        for i, sub in enumerate(self.graph.attrs.get("subgraphs", [])):
            for t in sub.get("inputs", []):
                if t in self.graph and self.graph[t]["name"]:
                    keys.append((self._graph_id(i), self.graph[t]["name"]))
        return keys


class _SavedModelKeys(_GraphIndex):
    """Node ids of the direct TF adapter, read from the SavedModel's own GraphDef."""

    def __init__(self, graph: ModelGraph) -> None:
        super().__init__(graph)
        meta = _meta_graph(graph.path)
        gdef = meta.graph_def
        self.top = {n.name: (i, n.op) for i, n in enumerate(gdef.node)}
        self.placeholders = [i for i, n in enumerate(gdef.node) if n.op == "Placeholder"]
        # node name -> [(function, node id, op)]
        self.in_functions: dict[str, list[tuple[str, str, str]]] = {}
        # the adapter numbers a function's nodes after its GraphInputs node (id 0), which
        # it adds to a function without arguments too (a hash table's creator)
        for f in gdef.library.function:
            for i, n in enumerate(f.node_def):
                self.in_functions.setdefault(n.name, []).append(
                    (f.signature.name, str(i + 1), n.op))

    def keys(self, node: dict[str, Any]) -> list[Key]:
        out: list[Key] = []
        for op in self.ops_showing(node):
            a = self.graph[op]
            name, tf_op = a["name"], a["source_op"]
            out += [(fn, nid) for fn, nid, o in self.in_functions.get(name, ()) if o == tf_op]
            top = self.top.get(name)
            if top is not None and top[1] == tf_op:
                out.append(("main", str(top[0])))
        return out

    def input_keys(self) -> list[Key]:
        return [("main", str(i)) for i in self.placeholders]


def _meta_graph(path: str) -> Any:
    """The meta graph the SavedModel loader lints (tagged ``serve``, else the first)."""
    from qlint.loaders import _tf_protos
    from qlint.loaders.savedmodel import savedmodel_dir

    root = savedmodel_dir(path)
    pb = os.path.join(root, "saved_model.pb")
    if os.path.isfile(pb):
        with open(pb, "rb") as fh:
            sm = _tf_protos.parse_saved_model(fh.read())
    else:
        with open(os.path.join(root, "saved_model.pbtxt"), encoding="utf-8") as fh:
            sm = _tf_protos.parse_saved_model_text(fh.read())
    return next((m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags),
                sm.meta_graphs[0])


def overlay_names(paths: list[str]) -> dict[str, str]:
    """A unique overlay file name for each model path: its path below the models'
    common directory, plus ``.qlint.json`` (just the file name for a single model)."""
    absolute = [os.path.abspath(p) for p in paths]
    if not absolute:  # every model was unreadable: nothing to write
        return {}
    if len(absolute) == 1:
        return {paths[0]: os.path.basename(absolute[0]) + ".qlint.json"}
    common = os.path.commonpath(absolute)
    return {p: os.path.relpath(a, common) + ".qlint.json" for p, a in zip(paths, absolute,
                                                                          strict=True)}


def _overlaid(report: Report) -> list[ModelResult]:
    models = []
    for m in report.models:
        if m.error is not None or m.format is None:
            continue
        if m.format not in SUPPORTED:
            print(f"qlint: note: {visible(m.path)}: Model Explorer has no adapter for {m.format} "
                  "models; no overlay written (export the model to a SavedModel and lint "
                  "that)", file=sys.stderr)
            continue
        models.append(m)
    return models


def render(report: Report, stream: TextIO) -> None:
    """The overlay of the run's one model; several models need one file each."""
    _render_one(_overlaid(report), report.target, stream)


def _render_one(models: list[ModelResult], target: str, stream: TextIO) -> None:
    if len(models) > 1:
        raise UsageError(f"model-explorer: {len(models)} models need one overlay file each: "
                         "write them with -o DIRECTORY")
    if models:
        json.dump(model_node_data(models[0], target), stream, indent=2)
        stream.write("\n")


def write_overlays(report: Report, output: str | None,
                   inputs: Iterable[tuple[str, str | None]] = ()) -> list[str]:
    """Write the overlays: to standard output (one model), to ``output`` when it names a
    ``.json`` file (one model), else one file per model below directory ``output``.

    Every file goes through `qlint.safe_output.write_text`: never over one of ``inputs``
    (the linted models and named paths), a link or a directory, and atomically."""
    from qlint.safe_output import Protected, check_directory, write_text

    protected = Protected.of(list(inputs))
    models = _overlaid(report)
    if output is None:
        _render_one(models, report.target, sys.stdout)
        return []
    if output.endswith(".json"):
        if len(models) > 1:
            _render_one(models, report.target, sys.stdout)  # raises: one file per model
        write_text(output, functools.partial(_render_one, models, report.target), protected,
                   what="overlay")
        return [output]
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"--output {visible(output)}: not a directory (model-explorer writes "
                         "one overlay per model into a directory, or one model's to a .json "
                         "file)")
    check_directory(output, protected)
    written = []
    by_path = {m.path: m for m in models}
    for m, name in overlay_names(list(by_path)).items():
        out = os.path.join(output, name)
        model = by_path[m]
        check_directory(os.path.dirname(out), protected)
        try:
            os.makedirs(os.path.dirname(out), exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot write {visible(out)}: {exc.strerror or exc}") from None
        data = model_node_data(model, report.target)
        write_text(out, functools.partial(_dump, data), protected, what="overlay")
        written.append(out)
    return written


def _dump(data: dict[str, Any], fh: TextIO) -> None:
    json.dump(data, fh, indent=2)
    fh.write("\n")
