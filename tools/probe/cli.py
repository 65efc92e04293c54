"""``python -m tools.probe``: probe every TFLite builtin and write the capability tables."""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tools.probe import OUTCOMES, SCHEMA_VERSION
from tools.probe.raw_ops import refused_by_name
from tools.probe.runner import GuardedWorker
from tools.probe.tf_ops import TF_OP_BUILDERS, builder_for

MODES = ("int8", "int16x8")
DEFAULT_TIMEOUT = 180.0


def _normalize(res: dict[str, Any]) -> dict[str, Any]:
    """Turn a timeout, crash or probe bug into an ordinary outcome entry."""
    if "failed" in res:
        out = dict(res.get("partial") or {})
        out.update(outcome=res["failed"], message=res["message"])
        out.setdefault("probe", None)
        return out
    if "error" in res:
        return {"outcome": "unprobed", "probe": None, "message": f"probe failed: {res['error']}"}
    return res


def _entry(res: dict[str, Any]) -> dict[str, Any]:
    """The stored form of one builtin outcome (fixed key order, no internals)."""
    out = {"outcome": res["outcome"], "probe": res.get("probe"), "message": res.get("message")}
    for key in ("io", "lowers_to"):
        if res.get(key):
            out[key] = res[key]
    return out


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def probe_builtins(
    worker: GuardedWorker,
    ops: Iterable[str],
    modes: Sequence[str],
    save_dir: str | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Probe ``ops`` in each mode; int8 models are saved under ``save_dir`` for TFLM."""
    result: dict[str, dict[str, dict[str, Any]]] = {m: {} for m in modes}
    for mode in modes:
        for op in ops:
            save = os.path.join(save_dir, op) if save_dir and mode == "int8" else None
            res = _normalize(worker.run({"kind": "builtin", "op": op, "mode": mode, "save": save}))
            result[mode][op] = res
            _log(f"[{mode}] {op}: {res['outcome']} ({res.get('seconds', '-')} s)")
    return result


def probe_tf_ops(worker: GuardedWorker, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Probe TF ops / Keras layers under strict int8."""
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        res = worker.run({"kind": "tf_op", "key": key})
        if "failed" in res or "error" in res:
            norm = _normalize(res)
            partial = res.get("partial") or {}
            res = {
                "keras": builder_for(key).keras,
                "probe": builder_for(key).name,
                "graphdef_ops": partial.get("graphdef_ops"),
                "lowers_to": partial.get("lowers_to"),
                "int8": {"outcome": norm["outcome"], "message": norm["message"]},
            }
        res.pop("seconds", None)
        if key.startswith(("tf.", "keras.ops.")) and res.get("graphdef_ops") is None:
            _log(f"[tf_ops] {key}: not built by the generic function builder, left out")
            continue  # @functions: a function the builder cannot call is no entry
        extra = builder_for(key).extra
        res.update({k: extra[k] for k in ("variant_of", "when", "pattern_when", "carry_when",
                                          "ordered", "carry_only", "no_carry")
                    if k in extra})
        out[key] = {
            k: res[k]
            for k in ("keras", "probe", "via", "variant_of", "when", "pattern_when",
                      "carry_when", "carry_when_builtin", "ordered", "carry_only", "no_carry",
                      "when_builtin", "graphdef_ops",
                      "graphdef_consts", "lowers_to", "float_message", "int8")
            if k in res
        }
        _log(f"[tf_ops] {key}: {res['int8']['outcome']}")
    return out


def expand_keys(worker: GuardedWorker, keys: list[str],
                table: dict[str, Any] | None = None) -> list[str]:
    """Expand ``@keras`` (every public Keras layer and activation without an entry yet,
    enumerated from the installed Keras), ``@functions`` (every public function of
    ``tf.math``, ``tf.nn``, ``tf.linalg``, ``tf.image``, ``tf.signal`` and top-level ``tf``,
    `tools.probe.tf_functions`), ``@legalized`` (the TF ops of `tools.probe.legalized`) and
    ``@float_fallback`` (every entry of ``table``, the table being updated, whose int8
    outcome is ``float_fallback``) and ``@keras_flags`` (each boolean constructor argument
    of every Keras layer set against its default, `keras_layers.flag_variants`) in a list
    of tf_ops keys."""
    from tools.probe.keras_layers import NOT_A_MODEL_LAYER
    from tools.probe.legalized import legalized_builders

    out: list[str] = []
    for key in keys:
        if key == "@keras_ops":
            got = worker.run({"kind": "keras_list"})
            out.extend(f for f in got.get("ops", []) if f not in TF_OP_BUILDERS)
        elif key == "@keras_flags":
            got = worker.run({"kind": "keras_list"})
            out.extend(f for f in got.get("flags", []) if f not in TF_OP_BUILDERS)
        elif key == "@float_fallback":
            out.extend(k for k, e in ((table or {}).get("tf_ops") or {}).items()
                       if (e.get("int8") or {}).get("outcome") == "float_fallback")
        elif key == "@raw_ops":  # every TF op of the installed TF without an entry yet
            got = worker.run({"kind": "keras_list"})
            entries = (table or {}).get("tf_ops") or {}
            have = set(entries) | set(TF_OP_BUILDERS) | {  # and ops known as an entry's one op
                e["graphdef_ops"][0] for e in entries.values()
                if len(set(e.get("graphdef_ops") or ())) == 1}
            out.extend(f for f in got.get("raw_ops", []) if f not in have)
        elif key == "@legalized":
            out.extend(legalized_builders())
        elif key == "@functions":
            got = worker.run({"kind": "keras_list"})
            out.extend(f for f in got.get("functions", []) if f not in TF_OP_BUILDERS)
        elif key == "@keras":
            got = worker.run({"kind": "keras_list"})
            have = set(TF_OP_BUILDERS)
            out.extend(f"keras.{c}" for c in got.get("layers", [])
                       if c not in NOT_A_MODEL_LAYER and f"keras.{c}" not in have)
            out.extend(f"keras.Activation({a})" for a in got.get("activations", [])
                       if f"keras.Activation({a})" not in have and a != "linear")
        else:
            out.append(key)
    return list(dict.fromkeys(out))


def split_keys(text: str) -> list[str]:
    """``--tf-ops`` keys: comma-separated, a comma inside parentheses belonging to its key
    (``keras.Activation(gelu,approximate)``)."""
    keys, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            keys.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    keys.append("".join(cur))
    return [k.strip() for k in keys if k.strip()]


FLAG_KEY = re.compile(r"keras\.(?P<cls>\w+)\(\w+=(True|False)\)")


def drop_flags_like_base(tf_ops: dict[str, dict[str, Any]],
                         base: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]],
                                                                   list[str]]:
    """``tf_ops`` without the boolean-argument variants (``keras.Dot(normalize=True)``)
    whose int8 outcome and float ops are those of their class's entry in ``tf_ops`` or
    ``base``: the class entry already says it.  Returns the kept entries and the keys
    dropped."""
    kept: dict[str, dict[str, Any]] = {}
    same: list[str] = []
    for key, entry in tf_ops.items():
        m = FLAG_KEY.fullmatch(key)
        plain = (tf_ops.get(f"keras.{m['cls']}") or base.get(f"keras.{m['cls']}")) if m else None
        if plain is not None and _verdict(plain) == _verdict(entry):
            same.append(key)
        else:
            kept[key] = entry
    return kept, same


def drop_functions_like_existing(tf_ops: dict[str, dict[str, Any]],
                                 base: dict[str, dict[str, Any]]) -> tuple[
                                     dict[str, dict[str, Any]], dict[str, str]]:
    """``tf_ops`` without the new ``tf.*`` function entries (keys not in ``base``) whose
    traced GraphDef ops, TFLite lowering and int8 verdict equal those of an entry of
    ``base`` or of one kept before it: qlint matches source ops by their GraphDef ops, so
    such an entry adds nothing (``tf.nn.max_pool2d`` is ``keras.MaxPooling2D``).  Returns
    the kept entries and, for each key dropped, the key of the entry it equals."""
    seen: dict[str, str] = {}
    for key, entry in base.items():
        seen.setdefault(_trace(entry), key)
    kept: dict[str, dict[str, Any]] = {}
    same: dict[str, str] = {}
    for key, entry in tf_ops.items():
        if (key.startswith("tf.") and key not in base and "variant_of" not in entry
                and _trace(entry) in seen):
            same[key] = seen[_trace(entry)]
            continue
        kept[key] = entry
        seen.setdefault(_trace(entry), key)
    return kept, same


def drop_functions_of_known_ops(tf_ops: dict[str, dict[str, Any]],
                                base: dict[str, dict[str, Any]]) -> tuple[
                                    dict[str, dict[str, Any]], list[str]]:
    """``tf_ops`` without the new ``tf.*`` function entries (keys not in ``base``) all of
    whose GraphDef ops the table already knows on their own: as a key or as the one op of
    an entry, of ``base`` or of this run.  qlint looks a lone op up by exactly that, and
    matches an entry of several ops wherever they meet in one name scope, so a composite
    of known ops (``tf.nn.moments``: Mean, SquaredDifference, ...) would stand in for
    their own entries in users' layers without naming any op qlint did not know.  Returns
    the kept entries and the keys dropped."""
    known = set(base)
    for entry in [*base.values(), *tf_ops.values()]:
        ops = entry.get("graphdef_ops") or []
        if len(set(ops)) == 1:
            known.add(ops[0])
    kept: dict[str, dict[str, Any]] = {}
    dropped: list[str] = []
    for key, entry in tf_ops.items():
        ops = set(entry.get("graphdef_ops") or ())
        if (key.startswith("tf.") and key not in base and "variant_of" not in entry
                and len(ops) > 1 and ops <= known):
            dropped.append(key)
        else:
            kept[key] = entry
    return kept, dropped


def drop_raw_ops_not_refused(tf_ops: dict[str, dict[str, Any]],
                             base: dict[str, dict[str, Any]]) -> tuple[
                                 dict[str, dict[str, Any]], int]:
    """``tf_ops`` without the new entries of the generic one-node builder
    (`tools.probe.raw_ops`) that the converter did not refuse by name: on made-up inputs
    their int8 outcome says nothing reliable, so those ops stay unknown.  Returns the
    kept entries and how many were dropped."""
    kept: dict[str, dict[str, Any]] = {}
    dropped = 0
    for key, entry in tf_ops.items():
        if key not in base and str(entry.get("probe", "")).startswith("tf.raw_ops.") \
                and not refused_by_name(key.removeprefix("raw:"), entry):
            dropped += 1
        else:
            kept[key] = entry
    return kept, dropped


def _trace(entry: dict[str, Any]) -> str:
    return json.dumps([sorted(entry.get("graphdef_ops") or ()), entry.get("via"),
                       entry.get("when_builtin") is not None,
                       sorted(entry.get("lowers_to") or ()), _verdict(entry)], sort_keys=True)


def drop_repeated_messages(tf_ops: dict[str, dict[str, Any]]) -> None:
    """Drop each entry's ``float_message`` that repeats its ``int8`` message (the
    unquantized conversion failed the same way); the table keeps it where it differs."""
    for entry in tf_ops.values():
        if "float_message" in entry and entry["float_message"] == (
                entry.get("int8") or {}).get("message"):
            del entry["float_message"]


def _verdict(entry: dict[str, Any]) -> tuple[Any, ...]:
    i8 = entry.get("int8") or {}
    return i8.get("outcome"), tuple(i8.get("float_ops") or ()), i8.get("float_counts")


def probe_tflm(
    worker: GuardedWorker, int8: dict[str, dict[str, Any]], save_dir: str
) -> dict[str, dict[str, Any]]:
    """TFLM outcome of each builtin, running the int8 models saved by `probe_builtins`."""
    out: dict[str, dict[str, Any]] = {}
    for op, t in int8.items():
        path = os.path.join(save_dir, op)
        entry: dict[str, Any]
        if not os.path.exists(path + ".tflite"):
            entry = {"outcome": t["outcome"], "probe": t.get("probe"), "message": t.get("message")}
            if t["outcome"] == "conversion_error":
                entry["via"] = "converter"
        else:
            res = worker.run({"kind": "tflm", "path": path})
            if "failed" in res or "error" in res:
                norm = _normalize(res)
                entry = {"outcome": "runtime_error", "probe": t.get("probe"),
                         "message": norm["message"]}
            elif res["ok"]:
                kind = t.get("classified") or t["outcome"]
                entry = {"outcome": kind, "probe": t.get("probe"), "message": None}
            else:
                entry = {"outcome": "runtime_error", "probe": t.get("probe"),
                         "message": res["message"]}
            if t.get("io"):
                entry["io"] = t["io"]
        out[op] = entry
        _log(f"[tflm] {op}: {entry['outcome']}")
    return out


def counts(table: dict[str, dict[str, Any]]) -> dict[str, int]:
    """How many entries have each outcome."""
    c = Counter(e["outcome"] for e in table.values())
    return {o: c.get(o, 0) for o in OUTCOMES}


def dump_table(doc: dict[str, Any]) -> str:
    """JSON with one line per op entry: small, diff-friendly and stable."""
    lines = ["{"]
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("modes", "tf_ops"):
            lines.append(f"  {json.dumps(key)}: {{")
            groups = value.items() if key == "modes" else [(None, value)]
            glist = list(groups)
            for gi, (gname, entries) in enumerate(glist):
                indent = "    "
                if gname is not None:
                    lines.append(f"    {json.dumps(gname)}: {{")
                    indent = "      "
                elist = list(entries.items())
                for ei, (name, entry) in enumerate(elist):
                    ec = "," if ei < len(elist) - 1 else ""
                    lines.append(
                        f"{indent}{json.dumps(name)}: {json.dumps(entry, ensure_ascii=False)}{ec}"
                    )
                if gname is not None:
                    lines.append("    }" + ("," if gi < len(glist) - 1 else ""))
            lines.append("  }" + comma)
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _existing(out: str, info: dict[str, Any]) -> dict[str, Any] | None:
    """The table an ``--update`` run merges into, if it exists."""
    major_minor = ".".join(str(info["versions"].get("tensorflow", "")).split(".")[:2])
    path = Path(out) / f"tflite-{major_minor}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.probe",
        description="Probe TFLite / TFLM int8 op support with the real toolchain.",
    )
    p.add_argument("--out", default="rules/qlint_rules/capabilities/",
                   help="directory for the JSON tables")
    p.add_argument("--ops", help="comma-separated builtins to probe (default: all in the schema)")
    p.add_argument("--tf-ops", help="comma-separated tf_ops keys (default: all; '' for none)")
    p.add_argument("--modes", default=",".join(MODES), help="modes to probe (int8,int16x8)")
    p.add_argument("--no-tflm", action="store_true", help="skip TensorFlow Lite Micro")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per job")
    p.add_argument("--log", help="file collecting the toolchain's stderr (default: discarded)")
    p.add_argument(
        "--print", action="store_true", help="print the tables to stdout instead of writing them"
    )
    p.add_argument(
        "--update", action="store_true",
        help="replace only the probed entries in the existing tables in --out (same versions)",
    )
    return p


def merge(old: dict[str, Any], new: dict[str, Any], command: str) -> dict[str, Any]:
    """``old`` with the entries probed in ``new`` replaced (`--update`).

    Refuses tables probed on other versions: a table carries one toolchain.  The
    update is recorded in ``updates`` (date, command, the tf_ops keys it added or changed
    and how many re-probed entries it left as they were).
    """
    drop = ("probed_on", "command", "run_seconds", "platform")
    old_v = {k: v for k, v in old["versions"].items() if k not in drop}
    new_v = {k: v for k, v in new["versions"].items() if k not in drop}
    if old_v != new_v:
        raise ValueError(f"table was probed on {old_v}, the installed toolchain is {new_v}")
    out = dict(old)
    modes = {m: dict(entries) for m, entries in old["modes"].items()}
    for m, entries in new["modes"].items():
        modes.setdefault(m, {}).update(entries)
    out["modes"] = modes
    out["counts"] = {m: counts(modes[m]) for m in modes}
    note: dict[str, Any] = {"probed_on": new["probed_on"], "command": command,
                            "ops": sorted({op for e in new["modes"].values() for op in e})}
    if "tf_ops" in old or new.get("tf_ops"):
        tf_ops = dict(old.get("tf_ops") or {})
        tf_ops.update(new.get("tf_ops") or {})
        order = [k for k in TF_OP_BUILDERS if k in tf_ops]
        out["tf_ops"] = {k: tf_ops[k] for k in order + [k for k in tf_ops if k not in order]}
        # the keys whose entry is new or changed; re-probed entries that did not change
        # are only counted (a sweep such as @functions re-probes hundreds)
        probed = new.get("tf_ops") or {}
        old_tf = old.get("tf_ops") or {}
        note["tf_ops"] = [k for k, e in probed.items() if old_tf.get(k) != e]
        if len(note["tf_ops"]) < len(probed):
            note["tf_ops_unchanged"] = len(probed) - len(note["tf_ops"])
    for k in ("flags_like_base", "functions_like_existing", "functions_of_known_ops",
              "raw_ops_not_refused"):
        if new.get(k):
            note[k] = new[k]
        out.pop(k, None)
    if "tf_ops" in out:
        drop_repeated_messages(out["tf_ops"])
    out["updates"] = [*old.get("updates", []), note]
    if "tf_ops" in out:  # keep tf_ops last, as a full run writes it
        out["tf_ops"] = out.pop("tf_ops")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tools.probe``."""
    args = _parser().parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    command = " ".join(["python -m tools.probe", *map(shlex.quote, argv_list)])
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            _parser().error(f"unknown mode {m!r}")
    today = _dt.date.today().isoformat()
    log = args.log or os.devnull
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qlint-probe-") as tmp:
        with GuardedWorker(args.timeout, log) as w:
            info = w.run({"kind": "info"})
            if "versions" not in info:
                _log(f"cannot start the TensorFlow probe: {info}")
                return 2
            ops = info["builtins"] if args.ops is None else [o for o in args.ops.split(",") if o]
            t0 = time.monotonic()
            raw = probe_builtins(w, ops, modes, save_dir=tmp)
            t_builtins = time.monotonic() - t0
            keys = list(TF_OP_BUILDERS) if args.tf_ops is None else split_keys(args.tf_ops)
            existing = _existing(args.out, info) if args.update else None
            keys = expand_keys(w, keys, existing)
            t0 = time.monotonic()
            base = (existing or {}).get("tf_ops") or {}
            tf_ops, like_base = drop_flags_like_base(probe_tf_ops(w, keys), base)
            tf_ops, like_existing = drop_functions_like_existing(tf_ops, base)
            tf_ops, of_known_ops = drop_functions_of_known_ops(tf_ops, base)
            tf_ops, raw_not_refused = drop_raw_ops_not_refused(tf_ops, base)
            drop_repeated_messages(tf_ops)
            t_tf_ops = time.monotonic() - t0
        tflm_doc: dict[str, Any] | None = None
        tflm_status: dict[str, Any] = {"probed": False}
        t_tflm = 0.0
        if not args.no_tflm and "int8" in raw:
            t0 = time.monotonic()
            with GuardedWorker(args.timeout, log) as w:
                tinfo = w.run({"kind": "tflm_info"})
                if "versions" not in tinfo:
                    reason = tinfo.get("error") or tinfo.get("message") or str(tinfo)
                    tflm_status = {"probed": False, "reason": f"tflite-micro unavailable: {reason}"}
                    _log(tflm_status["reason"])
                else:
                    tflm_table = probe_tflm(w, raw["int8"], tmp)
                    t_tflm = time.monotonic() - t0
                    tversions = dict(tinfo["versions"])
                    tversions["tensorflow_converter"] = info["versions"]["tensorflow"]
                    tflm_doc = {
                        "schema_version": SCHEMA_VERSION,
                        "runtime": "tflm",
                        "versions": tversions,
                        "probed_on": today,
                        "command": command,
                        "run_seconds": round(t_tflm, 1),
                        "notes": "Each int8 model converted for tflite-2.x (strict int8, int8 I/O) "
                        "is loaded and invoked with tflite_micro.runtime.Interpreter.from_bytes. "
                        "conversion_error/unprobed entries are copied from the converter probe.",
                        "counts": {"int8": counts(tflm_table)},
                        "modes": {"int8": tflm_table},
                    }
                    tflm_status = {
                        "probed": True, "version": tversions["tflite-micro"],
                    }
    total = time.monotonic() - start
    modes_out = {m: {op: _entry(r) for op, r in raw[m].items()} for m in modes}
    tf_version = info["versions"]["tensorflow"]
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "runtime": "tflite",
        "versions": info["versions"],
        "probed_on": today,
        "command": command,
        "run_seconds": {
            "total": round(total, 1),
            "builtins": round(t_builtins, 1),
            "tf_ops": round(t_tf_ops, 1),
            "tflm": round(t_tflm, 1),
        },
        "builtin_codes": len(info["builtins"]),
        "notes": "int8: optimizations=DEFAULT, representative_dataset, supported_ops="
        "[TFLITE_BUILTINS_INT8], int8 I/O. int16x8: supported_ops="
        "[EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8], int16 I/O. Each model is "
        "allocated and invoked with tf.lite.Interpreter (BUILTIN_WITHOUT_DEFAULT_DELEGATES). "
        "tf_ops: strict int8 only; lowers_to from an unquantized conversion.",
        "counts": {m: counts(modes_out[m]) for m in modes},
        "tflm": tflm_status,
        "modes": modes_out,
        **({"flags_like_base": like_base} if like_base else {}),
        **({"functions_like_existing": like_existing} if like_existing else {}),
        **({"functions_of_known_ops": of_known_ops} if of_known_ops else {}),
        **({"raw_ops_not_refused": raw_not_refused} if raw_not_refused else {}),
        "tf_ops": tf_ops,
    }
    major_minor = ".".join(tf_version.split(".")[:2])
    outputs = {f"tflite-{major_minor}.json": doc}
    if tflm_doc is not None:
        outputs[f"tflm-{tflm_doc['versions']['tflite-micro']}.json"] = tflm_doc
    if args.update:
        for name in list(outputs):
            path = Path(args.out) / name
            if not path.is_file():
                _log(f"--update: {path} does not exist; run a full probe first")
                return 2
            try:
                outputs[name] = merge(json.loads(path.read_text(encoding="utf-8")),
                                      outputs[name], command)
            except ValueError as exc:
                _log(f"--update: {path}: {exc}")
                return 2
    if args.print:
        for name, d in outputs.items():
            print(f"== {name}")
            print(dump_table(d), end="")
    else:
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, d in outputs.items():
            (out_dir / name).write_text(dump_table(d), encoding="utf-8")
            _log(f"wrote {out_dir / name}")
    _log(f"probe finished in {total:.0f} s")
    return 0
