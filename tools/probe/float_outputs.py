"""Measure what integer conversion makes of a model output produced by a float or integer op.

Usage::

    nice -n 10 python -m tools.probe.float_outputs           write the measurement
    nice -n 10 python -m tools.probe.float_outputs --check   exit 1 when it differs
    python -m tools.probe.float_outputs --only neg,dense     print two models' measurement
    python -m tools.probe.float_outputs --score              QL401 on the converted files

(to ``rules/qlint_rules/measured/float-outputs.json``; converted files go to ``--cache``)

Each model in `MODELS` (one or two ops, or two outputs) is saved as a SavedModel under the
cache directory and converted with ``TFLiteConverter.from_saved_model`` and
``optimizations=[DEFAULT]`` plus a seeded representative dataset, under every combination
of the settings users pick: ``supported_ops`` left at its default, ``[TFLITE_BUILTINS_INT8]``
or ``[TFLITE_BUILTINS_INT8, TFLITE_BUILTINS]``, and ``inference_input_type`` /
``inference_output_type`` set to ``tf.int8`` or left unset.  For each conversion the file
records whether it converted (else the converter's condensed message), whether the real
interpreter allocated and invoked it, and for each model output (by signature name) its
dtype, the builtin that produces it and that builtin's input dtypes.  QL401 and its record
read the result; nothing in it is typed by hand.

The last op of each model is either one the probed int8 table
(``capabilities/tflite-2.21.json``) lists as ``float_fallback`` or one whose output is
not float (int32 / int64 / bool).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools.generated import write_or_check
from tools.probe.messages import condense

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "rules" / "qlint_rules" / "measured" / "float-outputs.json"
COMMAND = "python -m tools.probe.float_outputs"
CALIBRATION_SAMPLES = 8
SUPPORTED_OPS = {
    "default": None,
    "int8": ("TFLITE_BUILTINS_INT8",),
    "int8+builtins": ("TFLITE_BUILTINS_INT8", "TFLITE_BUILTINS"),
}
IO_TYPES = ("int8", "unset")

Fn = Callable[[Any, dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """A model: ``fn(tf, weights, x)`` returns its outputs by name (``out0``, ``out1``)."""

    name: str
    source: str  # what it computes, as TF code
    kind: str  # float-last | integer-last | int8-last | multi-output
    fn: Fn
    shape: tuple[int, ...] = (1, 8, 8, 4)


def _dense(tf: Any, w: dict[str, Any], x: Any) -> Any:
    return tf.nn.relu(tf.matmul(tf.reshape(x, (1, -1)), w["fc"]) + w["b"])


def _conv(tf: Any, w: dict[str, Any], x: Any) -> Any:
    return tf.nn.conv2d(x, w["conv"], 1, "SAME")


def _one(f: Callable[[Any, dict[str, Any], Any], Any]) -> Fn:
    return lambda tf, w, x: {"out0": f(tf, w, x)}


MODELS: tuple[Case, ...] = (
    # one op with no int8 kernel (float_fallback in the probed table) at the output
    Case("pow3", "tf.pow(x, 3.0)", "float-last", _one(lambda tf, w, x: tf.pow(x, 3.0))),
    Case("neg", "tf.negative(x)", "float-last", _one(lambda tf, w, x: tf.negative(x))),
    Case("sin", "tf.sin(x)", "float-last", _one(lambda tf, w, x: tf.sin(x))),
    Case("floor", "tf.floor(x)", "float-last", _one(lambda tf, w, x: tf.floor(x))),
    Case("cumsum", "tf.cumsum(x, axis=1)", "float-last",
         _one(lambda tf, w, x: tf.cumsum(x, axis=1))),
    Case("square", "tf.square(x)", "float-last", _one(lambda tf, w, x: tf.square(x))),
    Case("sign", "tf.sign(x)", "float-last", _one(lambda tf, w, x: tf.sign(x))),
    # two ops: an int8 op, then the float one
    Case("dense_neg", "tf.negative(dense(x))", "float-last",
         _one(lambda tf, w, x: tf.negative(_dense(tf, w, x)))),
    Case("conv_cumsum", "tf.cumsum(conv2d(x), axis=1)", "float-last",
         _one(lambda tf, w, x: tf.cumsum(_conv(tf, w, x), axis=1))),
    Case("conv_pow3", "tf.pow(conv2d(x), 3.0)", "float-last",
         _one(lambda tf, w, x: tf.pow(_conv(tf, w, x), 3.0))),
    # two ops: the float one, then an op with an int8 kernel
    Case("neg_reshape", "tf.reshape(tf.negative(x), (1, -1))", "int8-last",
         _one(lambda tf, w, x: tf.reshape(tf.negative(x), (1, -1)))),
    Case("sin_add", "tf.sin(x) + x", "int8-last", _one(lambda tf, w, x: tf.sin(x) + x)),
    Case("dense", "dense(x)", "int8-last", _one(_dense)),
    # last op with a non-float output
    Case("argmax_i64", "tf.argmax(x, axis=-1)", "integer-last",
         _one(lambda tf, w, x: tf.argmax(x, axis=-1))),
    Case("dense_argmax_i32", "tf.argmax(dense(x), axis=-1, output_type=tf.int32)",
         "integer-last",
         _one(lambda tf, w, x: tf.argmax(_dense(tf, w, x), axis=-1, output_type=tf.int32))),
    Case("shape", "tf.shape(conv2d(x))", "integer-last",
         _one(lambda tf, w, x: tf.shape(_conv(tf, w, x)))),
    Case("cast_i32", "tf.cast(conv2d(x), tf.int32)", "integer-last",
         _one(lambda tf, w, x: tf.cast(_conv(tf, w, x), tf.int32))),
    Case("greater", "conv2d(x) > 0.0", "integer-last",
         _one(lambda tf, w, x: tf.greater(_conv(tf, w, x), 0.0))),
    Case("not_equal", "tf.not_equal(x, 0.5)", "integer-last",
         _one(lambda tf, w, x: tf.not_equal(x, 0.5))),
    # two outputs, one of them float-fallback or non-float
    Case("multi_dense_neg", "dense(x), tf.negative(dense(x))", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)), "out1": tf.negative(d)}),
    Case("multi_conv_cumsum", "conv2d(x), tf.cumsum(conv2d(x), axis=1)", "multi-output",
         lambda tf, w, x: {"out0": (c := _conv(tf, w, x)), "out1": tf.cumsum(c, axis=1)}),
    Case("multi_dense_argmax", "dense(x), tf.argmax(dense(x), axis=-1)", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)), "out1": tf.argmax(d, axis=-1)}),
    Case("multi_dense_argmax_i32",
         "dense(x), tf.argmax(dense(x), axis=-1, output_type=tf.int32)", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)),
                           "out1": tf.argmax(d, axis=-1, output_type=tf.int32)}),
    Case("multi_conv_argmax", "conv2d(x), tf.argmax(conv2d(x), axis=-1)", "multi-output",
         lambda tf, w, x: {"out0": (c := _conv(tf, w, x)), "out1": tf.argmax(c, axis=-1)}),
    Case("multi_dense_argmin", "dense(x), tf.argmin(dense(x), axis=-1)", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)), "out1": tf.argmin(d, axis=-1)}),
    Case("multi_dense_topk", "dense(x), tf.math.top_k(dense(x), 2).indices", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)),
                           "out1": tf.math.top_k(d, 2).indices}),
    Case("multi_dense_greater", "dense(x), dense(x) > 0.5", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)), "out1": tf.greater(d, 0.5)}),
    # two outputs, one feeding an op with an int8 kernel that makes the other
    Case("multi_dense_reshape", "dense(x), tf.reshape(dense(x), (1, 2, 4))", "multi-output",
         lambda tf, w, x: {"out0": (d := _dense(tf, w, x)),
                           "out1": tf.reshape(d, (1, 2, 4))}),
    Case("multi_conv_maxpool", "conv2d(x), max_pool2d(conv2d(x), 2)", "multi-output",
         lambda tf, w, x: {"out0": (c := _conv(tf, w, x)),
                           "out1": tf.nn.max_pool2d(c, 2, 2, "VALID")}),
)


def _weights(tf: Any) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {"fc": tf.constant((rng.standard_normal((256, 8)) * 0.1).astype(np.float32)),
            "b": tf.constant(np.zeros(8, np.float32)),
            "conv": tf.constant((rng.standard_normal((3, 3, 4, 4)) * 0.3).astype(np.float32))}


def _save(tf: Any, case: Case, directory: Path) -> None:
    w = _weights(tf)
    root = tf.Module()
    root.fn = tf.function(lambda x: case.fn(tf, w, x), autograph=False,
                          input_signature=[tf.TensorSpec(case.shape, tf.float32, name="x")])
    if directory.exists():
        shutil.rmtree(directory)
    tf.saved_model.save(root, str(directory), signatures=root.fn)


def _convert(tf: Any, case: Case, saved: Path, ops: str, io: str) -> bytes:
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative() -> Iterator[dict[str, np.ndarray]]:
        rng = np.random.default_rng(1)
        for _ in range(CALIBRATION_SAMPLES):
            yield {"x": rng.uniform(-1.0, 1.0, case.shape).astype(np.float32)}

    conv.representative_dataset = representative
    names = SUPPORTED_OPS[ops]
    if names is not None:
        conv.target_spec.supported_ops = [getattr(tf.lite.OpsSet, n) for n in names]
    if io == "int8":
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _io(tf: Any, buf: bytes) -> dict[str, Any]:
    """Each signature input's dtype and consuming builtins; each signature output's dtype,
    producing builtin (``(constant)`` for a folded output) and that builtin's input dtypes;
    the model's op counts and how many ops (QUANTIZE/DEQUANTIZE aside) read or write an
    int8/int16 activation."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    tnames = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    sg = model.subgraphs[0]
    produced: dict[int, tuple[str, list[str]]] = {}
    consumed: dict[int, list[str]] = {}
    counts: dict[str, int] = {}
    integer_ops = 0
    for op in sg.operators or []:
        code = model.operatorCodes[op.opcodeIndex]
        name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "UNKNOWN")
        counts[name] = counts.get(name, 0) + 1
        ins = [tnames[sg.tensors[i].type] for i in (op.inputs if op.inputs is not None else [])
               if i >= 0 and sg.tensors[i].buffer is not None
               and not (model.buffers[sg.tensors[i].buffer].data is not None)]
        outs = [tnames[sg.tensors[i].type]
                for i in (op.outputs if op.outputs is not None else [])]
        if name not in ("QUANTIZE", "DEQUANTIZE") and {"int8", "int16"} & {*ins, *outs}:
            integer_ops += 1
        for o in op.outputs if op.outputs is not None else []:
            produced[int(o)] = (name, ins)
        for i in op.inputs if op.inputs is not None else []:
            consumed.setdefault(int(i), []).append(name)
    graph_inputs = {int(i) for i in (sg.inputs if sg.inputs is not None else [])}
    inputs: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for sig in model.signatureDefs or []:
        for t in sig.inputs or []:
            idx = int(t.tensorIndex)
            inputs[_name(t.name)] = {"dtype": tnames[sg.tensors[idx].type],
                                     "consumed_by": sorted(consumed.get(idx, []))}
        for t in sig.outputs or []:
            idx = int(t.tensorIndex)
            op, ins = produced.get(
                idx, ("(model input)" if idx in graph_inputs else "(constant)", []))
            outputs[_name(t.name)] = {"dtype": tnames[sg.tensors[idx].type],
                                      "produced_by": op, "producer_inputs": ins}
    return {"ops": dict(sorted(counts.items())), "integer_ops": integer_ops,
            "inputs": dict(sorted(inputs.items())), "outputs": dict(sorted(outputs.items()))}


def _name(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _invoke(tf: Any, buf: bytes) -> str | None:
    """None when the interpreter allocates and invokes the model with zero inputs."""
    try:
        it = tf.lite.Interpreter(
            model_content=buf,
            experimental_op_resolver_type=(
                tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
        it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
        it.invoke()
    except Exception as exc:  # the interpreter's own message is the measurement
        return condense(f"{type(exc).__name__}: {exc}")
    return None


def _one_conversion(tf: Any, case: Case, saved: Path, ops: str, io: str,
                    cache: Path) -> dict[str, Any]:
    try:
        buf = _convert(tf, case, saved, ops, io)
    except Exception as exc:  # the converter's own message is the measurement
        return {"converted": False, "message": condense(str(exc))}
    (cache / f"{case.name}.{ops}.{io}.tflite").write_bytes(buf)
    error = _invoke(tf, buf)
    return {"converted": True, "runs": error is None, "run_message": error, **_io(tf, buf)}


def measure(cache: Path, only: Sequence[str] = ()) -> dict[str, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    cache.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {}
    for case in MODELS:
        if only and case.name not in only:
            continue
        saved = cache / case.name / "saved_model"
        _save(tf, case, saved)
        runs = {f"{ops}/{io}": _one_conversion(tf, case, saved, ops, io, cache / case.name)
                for ops in SUPPORTED_OPS for io in IO_TYPES}
        models[case.name] = {"source": case.source, "kind": case.kind, "conversions": runs}
        print(f"{case.name}: " + ", ".join(
            f"{k}=" + (",".join(f"{o['dtype']}<-{o['produced_by']}"
                                for o in v.get("outputs", {}).values()) or "error")
            for k, v in runs.items()), file=sys.stderr)
    from importlib.metadata import version

    return {"generated_by": COMMAND,
            "versions": {d: version(d) for d in ("tensorflow-cpu", "numpy")},
            "settings": {"optimizations": "[tf.lite.Optimize.DEFAULT]",
                         "representative_dataset": f"{CALIBRATION_SAMPLES} seeded uniform "
                                                   "samples in [-1, 1]",
                         "supported_ops": {k: list(v) if v else "unset (default)"
                                           for k, v in SUPPORTED_OPS.items()},
                         "inference_input_type/inference_output_type": {
                             "int8": "tf.int8", "unset": "unset (float32)"},
                         "converter": "tf.lite.TFLiteConverter.from_saved_model"},
            "models": models, "summary": summarize(models)}


def summarize(models: dict[str, Any]) -> dict[str, Any]:
    """Counts per setting: conversions, outputs by model kind, dtype and producing builtin,
    inputs by dtype and consuming builtins."""
    out: dict[str, Any] = {}
    for m in models.values():
        for setting, r in m["conversions"].items():
            s = out.setdefault(setting, {"conversions": 0, "failed": 0, "inputs": {},
                                          "outputs": {}})
            s["conversions"] += 1
            if not r["converted"]:
                s["failed"] += 1
                continue
            for o in r["outputs"].values():
                key = f"{m['kind']}: {o['dtype']} <- {o['produced_by']}"
                s["outputs"][key] = s["outputs"].get(key, 0) + 1
            for i in r["inputs"].values():
                key = f"{i['dtype']} -> {','.join(i['consumed_by'])}"
                s["inputs"][key] = s["inputs"].get(key, 0) + 1
    for s in out.values():
        s["outputs"] = dict(sorted(s["outputs"].items()))
        s["inputs"] = dict(sorted(s["inputs"].items()))
    return dict(sorted(out.items()))


def float_io(conversion: dict[str, Any]) -> list[tuple[str, str]]:
    """The (role, builtin at the edge) of each float32 input or output of a converted model
    that computes on integers: what QL401 is meant to flag."""
    if not conversion.get("converted") or not conversion["integer_ops"]:
        return []
    out = [("input", ",".join(i["consumed_by"])) for i in conversion["inputs"].values()
           if i["dtype"] == "float32" and i["consumed_by"]]
    out += [("output", o["produced_by"]) for o in conversion["outputs"].values()
            if o["dtype"] == "float32" and not o["produced_by"].startswith("(")]
    return out


def score(models: dict[str, Any], cache: Path) -> dict[str, Any]:
    """QL401 on every converted file under ``cache`` against `float_io` of the measurement:
    per role, found / missed / extra, and the misses."""
    from qlint import lint

    counts = {"expected": 0, "found": 0, "missed": 0, "extra": 0}
    misses: list[str] = []
    for name, m in models.items():
        for setting, r in m["conversions"].items():
            if not r["converted"]:
                continue
            path = cache / name / f"{name}.{setting.replace('/', '.')}.tflite"
            found = [f.message.split()[1] for f in
                     lint([str(path)], select=["QL401"]).models[0].findings]
            for role, edge in float_io(r):
                counts["expected"] += 1
                if role in found:
                    found.remove(role)
                    counts["found"] += 1
                else:
                    counts["missed"] += 1
                    misses.append(f"{name} {setting}: {role} at {edge}")
            counts["extra"] += len(found)
            misses += [f"{name} {setting}: extra {role}" for role in found]
    return {**counts, "misses": misses}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when stale")
    p.add_argument("--cache", type=Path,
                   default=Path(os.environ.get("QLINT_PROBE_CACHE",
                                          Path.home() / ".cache" / "qlint"))
                   / "float_outputs",
                   help="where the SavedModels and converted files go (outside the repo)")
    p.add_argument("--only", default="",
                   help="comma-separated model names: print their measurement, write nothing")
    p.add_argument("--score", action="store_true",
                   help="lint the converted files in --cache with QL401 and compare")
    args = p.parse_args(argv)
    if args.score:
        print(json.dumps(score(json.loads(OUT.read_text(encoding="utf-8"))["models"],
                               args.cache), indent=1))
        return 0
    if args.only:
        only = args.only.split(",")
        unknown = sorted(set(only) - {c.name for c in MODELS})
        if unknown:
            p.error(f"unknown model(s): {', '.join(unknown)}")
        print(json.dumps(measure(args.cache, only)["models"], indent=1, sort_keys=True))
        return 0
    text = json.dumps(measure(args.cache), indent=1, sort_keys=True) + "\n"
    return write_or_check(OUT, text, COMMAND, args.check)


if __name__ == "__main__":
    sys.exit(main())
