"""Probe Arm's Vela compiler: where each op of a one-op int8 model is placed.

``python -m tools.probe.vela --out rules/qlint_rules/capabilities/`` builds the sweep
models of `tools.probe.vela_sweep` and the default one-op model of every builtin the
TFLite probe found integer (converted once with the real TensorFlow converter and
cached under ``--cache``), compiles each with the installed ``vela`` for each
accelerator config, and writes ``vela-<version>.json``: per op, the hypotheses of the
sweep with what Vela did with their points on each config (see docs/targets.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tools.probe.vela_run import CONFIGS, VelaResult, run_vela, vela_command
from tools.probe.vela_sweep import DEFAULT_TOO, SOURCE_PREDICATES, Point, hypotheses

#: Facts kept with each point in the table (the rest can be recomputed from the model).
KEPT_FACTS = ("ifm_batch", "rank", "ifm_dtype", "float_tensors", "per_axis", "padding",
              "stride_max", "filter_w", "filter_h", "filter_max", "dilation_max",
              "depth_multiplier", "ifm_c", "axes", "reduces_depth", "scale_max", "align_corners",
              "half_pixel_centers", "io_quant_match", "dynamic_non_batch",
              "ofm_is_model_output", "io_elements_match", "only_feeds_npu_reshape_shape",
              "quant_missing", "io_per_axis", "zero_point_out_of_range", "scalar_tensors")
#: Kept facts stored only where they hold (false at almost every point).
SPARSE_FACTS = frozenset({"quant_missing", "io_per_axis", "zero_point_out_of_range",
                          "scalar_tensors", "only_feeds_npu_reshape_shape"})


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def default_points(table_file: Path) -> list[Point]:
    """One default model per builtin the TFLite int8 probe found integer or float fallback
    (a float island between DEQUANTIZE and QUANTIZE)."""
    from tools.probe.builders import builtin_plan

    table = json.loads(table_file.read_text())["modes"]["int8"]
    out = []
    for op, entry in table.items():
        if entry.get("outcome") not in ("integer", "float_fallback"):
            continue
        plan = builtin_plan(op)
        if isinstance(plan, str):
            continue
        out.append(Point(op, f"default {op}", plan))
    return out


# -- building (TensorFlow) ---------------------------------------------------------------


def convert_point(point: Point) -> bytes:
    """The int8 (or int16x8) model of ``point``, converted by the real converter."""
    from tools.probe import worker

    if point.per_channel:
        buf = worker._convert(point.builder, point.mode)
    else:
        tf, _ = worker._tf()
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        cf, root = worker._build(point.builder)
        conv = tf.lite.TFLiteConverter.from_concrete_functions(
            [convert_variables_to_constants_v2(cf)], root)
        conv._experimental_disable_per_channel = True
        names = [f"in{i}" for i in range(len(point.builder.args))]
        buf = worker._finish(tf, conv, point.builder, point.mode, names)
    if point.edit:
        buf = EDITS[point.edit](buf)
    return buf


def _edit_first(buf: bytes, op_types: tuple[str, ...],
                edit: Callable[[Any, Any], None]) -> bytes:
    """Apply ``edit(subgraph, operator)`` to the first op of one of ``op_types`` and
    re-serialize the model (the quantization edits of the sweep)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    codes = model.operatorCodes
    wanted = {getattr(schema.BuiltinOperator, t) for t in op_types}
    sg = model.subgraphs[0]
    for op in sg.operators:
        code = codes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) in wanted:
            edit(sg, op)
            break
    else:
        raise ValueError(f"no {'/'.join(op_types)} to edit")
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _scale_output(sg: Any, op: Any) -> None:
    q = sg.tensors[op.outputs[0]].quantization
    q.scale = [float(s) * 2.0 for s in q.scale]


def _drop_weight_quant(sg: Any, op: Any) -> None:
    sg.tensors[op.inputs[1]].quantization = None


def _two_zero_points(sg: Any, op: Any) -> None:
    q = sg.tensors[op.outputs[0]].quantization
    q.zeroPoint = [int(q.zeroPoint[0])] * 2


def _zero_point(slot: str) -> Callable[[Any, Any], None]:
    def edit(sg: Any, op: Any) -> None:
        index = op.inputs[0] if slot == "input" else op.outputs[0]
        sg.tensors[index].quantization.zeroPoint = [200]
    return edit


_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")
EDITS: dict[str, Callable[[bytes], bytes]] = {
    "reshape_output_scale": lambda b: _edit_first(b, ("RESHAPE",), _scale_output),
    "weights_no_quant": lambda b: _edit_first(b, _CONVS, _drop_weight_quant),
    "output_two_zero_points": lambda b: _edit_first(b, ("MAX_POOL_2D",), _two_zero_points),
    "input_zero_point_200": lambda b: _edit_first(b, _CONVS, _zero_point("input")),
    "output_zero_point_200": lambda b: _edit_first(b, (*_CONVS, "ADD"), _zero_point("output")),
}


def build_models(points: Iterable[Point], cache: Path, log: Any) -> dict[str, Path | str]:
    """Convert each point once (cached in ``cache``); label -> model path or error text."""
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path | str] = {}
    for p in points:
        path = cache / f"{_slug(p.label)}.tflite"
        if not path.exists():
            try:
                path.write_bytes(convert_point(p))
            except Exception as exc:  # the converter refused: recorded, not fatal
                out[p.label] = f"{type(exc).__name__}: {str(exc)[:300]}"
                print(f"  convert failed: {p.label}: {out[p.label][:120]}", file=log)
                continue
        out[p.label] = path
    return out


# -- observing ----------------------------------------------------------------------------


def target_op(path: Path, op_type: str, vela: str = "vela") -> tuple[str, dict[str, Any]] | None:
    """Output tensor name and qlint facts of the first ``op_type`` op in the model.

    The data-flow fact ``only_feeds_npu_reshape_shape`` is computed with the real Vela's
    placement (first config) of the RESHAPEs the op's outputs reach.
    """
    from qlint.loaders import loader_for
    from qlint.op_facts import op_facts
    from qlint.placement import SHAPE_FACT, shape_operand_only

    graph = loader_for("tflite")(str(path))
    seen: dict[str, VelaResult] = {}

    def reshape_on_npu(op: Any) -> bool:
        if "res" not in seen:
            seen["res"] = run_vela(str(path), CONFIGS[0], vela=vela)
        ofm = next(t for t in graph.outputs(op) if t is not None)
        return seen["res"].placement(graph[ofm]["name"]) == "npu"

    for op in graph.ops():
        if graph[op]["op_type"] == op_type:
            outs = [t for t in graph.outputs(op) if t is not None]
            facts = op_facts(graph, op)
            facts[SHAPE_FACT] = shape_operand_only(graph, reshape_on_npu)[op]
            return (graph[outs[0]]["name"] if outs else "", facts)
    return None


def observe(point: Point, path: Path, vela: str, log: Any,
            reused: dict[str, dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """Vela's placement of the point's op on every config, with the op's facts.

    ``reused``: observations of this point from an earlier table of the same Vela
    version (``--reuse``); the facts are always recomputed from the model.
    """
    found = target_op(path, point.op, vela)
    if found is None:
        print(f"  {point.label}: the converted model has no {point.op}", file=log)
        return None
    ofm, facts = found
    observed: dict[str, dict[str, Any]] = {}
    if reused is not None and set(reused) == set(CONFIGS):
        observed = reused
    for config in [] if observed else CONFIGS:
        res: VelaResult = run_vela(str(path), config, vela=vela)
        place = res.placement(ofm)
        entry: dict[str, Any] = {"placement": place}
        if place == "cpu":
            entry["reason"] = res.cpu.get(ofm)
            if ofm in res.logs:
                entry["log"] = res.logs[ofm]
        elif place == "refused":
            entry["reason"] = res.message
        observed[config] = entry
    print(f"  {point.label}: " + ", ".join(f"{c}={o['placement']}" for c, o in observed.items()),
          file=log)
    return {"label": point.label,
            "facts": {k: facts[k] for k in KEPT_FACTS
                      if k in facts and (facts[k] or k not in SPARSE_FACTS)},
            "all_facts": facts, "observed": observed}


# -- folding points into conditional entries ------------------------------------------------


def fold(op: str, points: list[dict[str, Any]]) -> dict[str, Any]:
    """The table entry of ``op``: its hypotheses (then the default) with observed outcomes.

    ``op`` ``"*"`` is the entry for op types the probe never built: the hypotheses that
    hold for every op (float tensors) over the points of every op.
    """
    from qlint.conditions import all_hold
    from tools.probe.vela_sweep import HYPOTHESES

    hyps = HYPOTHESES["*"] if op == "*" else hypotheses(op)
    rules: list[dict[str, Any]] = [
        {"when": list(h.when), "source": h.source, **({"first": True} if h.first else {})}
        for h in hyps
    ] + [{"when": [], "source": "default (no condition above holds)"}]
    members: list[list[dict[str, Any]]] = [[] for _ in rules]
    for pt in points:
        for i, rule in enumerate(rules):
            if all_hold(rule["when"], pt["all_facts"]):
                members[i].append(pt)
                break
    generic = {json.dumps(h.when) for h in HYPOTHESES["*"]} if op != "*" else set()
    for rule, pts in zip(rules, members, strict=True):
        rule["points"] = [p["label"] for p in pts]
        rule["placements"] = {c: _agree([p["observed"][c] for p in pts]) for c in CONFIGS}
    # a rule of every op that none of this op's models fell under is the "*" entry's business
    rules = [r for r, pts in zip(rules, members, strict=True)
             if pts or json.dumps(tuple(r["when"])) not in generic]
    # the "*" entry names its points; they are stored under their own op
    kept = points if op != "*" else []
    entry: dict[str, Any] = {"rules": rules,
                             "points": [{"label": p["label"], "facts": p["facts"],
                                         "observed": _dedup_logs(p["observed"])} for p in kept]}
    if op in SOURCE_PREDICATES:
        entry["source_predicates"] = [dict(s) for s in SOURCE_PREDICATES[op]]
    return entry


def _dedup_logs(observed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keep Vela's verbatim log once per point: a config whose log repeats the previous
    config's says ``"log": "same as <config>"``."""
    out: dict[str, dict[str, Any]] = {}
    last: tuple[str, str] | None = None
    for config, seen in observed.items():
        seen = dict(seen)
        log = seen.get("log")
        if log is not None and last is not None and log == last[1]:
            seen["log"] = f"same as {last[0]}"
        elif log is not None:
            last = (config, log)
        out[config] = seen
    return out


def _agree(observed: list[dict[str, Any]]) -> dict[str, Any]:
    """One outcome for a rule on one config: the points' common placement, else ``mixed``."""
    if not observed:
        return {"placement": "unprobed"}
    kinds = {o["placement"] for o in observed}
    if len(kinds) > 1:
        return {"placement": "mixed", "observed": sorted(kinds)}
    place = kinds.pop()
    out: dict[str, Any] = {"placement": place}
    reasons = sorted({o.get("reason") or "" for o in observed} - {""})
    if reasons:
        out["reason"] = reasons[0]  # each point keeps its own
    return out


def versions() -> dict[str, str]:
    out = {}
    for dist in ("ethos-u-vela", "tensorflow", "tensorflow-cpu", "keras"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.probe.vela", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("rules/qlint_rules/capabilities"))
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "QLINT_PROBE_CACHE", str(Path.home() / ".cache" / "qlint-probe"))) / "vela-models")
    ap.add_argument("--vela", default="vela", help="the vela executable")
    ap.add_argument("--ops", default="", help="probe only these ops (comma-separated)")
    ap.add_argument("--no-defaults", action="store_true",
                    help="only the sweep, not the default model of every integer builtin")
    ap.add_argument("--reuse", type=Path,
                    help="reuse the observations of an earlier table of the same Vela version "
                         "for the points it has (facts are recomputed; new points are compiled)")
    args = ap.parse_args(argv)
    from tools.probe.vela_sweep import SWEEP

    reuse: dict[str, dict[str, Any]] = {}
    if args.reuse:
        old = json.loads(args.reuse.read_text())
        if old["versions"].get("ethos-u-vela") != versions().get("ethos-u-vela"):
            ap.error(f"{args.reuse} was probed with another Vela version")
        reuse = {p["label"]: p["observed"] for e in old["ops"].values() for p in e["points"]}

    start = time.time()
    tflite_table = max(args.out.glob("tflite-*.json"))
    points = list(SWEEP)
    if not args.no_defaults:
        swept = {p.op for p in SWEEP} - DEFAULT_TOO
        points += [p for p in default_points(tflite_table) if p.op not in swept]
    if args.ops:
        wanted = set(args.ops.split(","))
        points = [p for p in points if p.op in wanted]
    log = sys.stderr
    print(f"building {len(points)} models in {args.cache}", file=log)
    models = build_models(points, args.cache, log)
    by_op: dict[str, list[dict[str, Any]]] = {}
    not_built: dict[str, str] = {}
    for p in points:
        model = models[p.label]
        if isinstance(model, str):
            not_built[p.label] = model
            continue
        seen = observe(p, model, args.vela, log, reuse.get(p.label))
        if seen is not None:
            by_op.setdefault(p.op, []).append(seen)
    vers = versions()
    table = {
        "schema_version": 1,
        "runtime": "vela",
        "versions": vers,
        "probed_on": datetime.date.today().isoformat(),
        "command": "python -m tools.probe.vela --out rules/qlint_rules/capabilities/",
        "reused_observations": sum(1 for p in points if p.label in reuse),
        "vela_command": " ".join(vela_command("<config>", "<dir>", "<model>.tflite")),
        "configs": list(CONFIGS),
        "run_seconds": round(time.time() - start),
        "tflite_table": tflite_table.name,
        "not_built": not_built,
        "ops": {op: fold(op, pts) for op, pts in sorted(by_op.items())},
        "any_op": fold("*", [p for pts in by_op.values() for p in pts]),
    }
    name = f"vela-{vers.get('ethos-u-vela', 'unknown')}.json"
    (args.out / name).write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.out / name} in {table['run_seconds']} s", file=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
