"""Measure which quantized tensor types the default CPU delegate (XNNPACK) takes, op by op.

Usage::

    python -m tools.probe.xnnpack_types          write measured/xnnpack-types.json
    python -m tools.probe.xnnpack_types --check  exit 1 when the measurement differs

(``measured/`` is ``rules/qlint_rules/measured/``.)

For each one-op float model in `OPS` (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D) and each
weight configuration in `CONFIGS` (ai-edge-quantizer 0.10.0's dynamic-range, weight-only and
static recipes with 8-, 4- and 2-bit weights, channelwise or in blocks of 32), the child
process quantizes the model with ai-edge-quantizer, reads the result with qlint's own loader
to key each op by its activation type, weight type and weight granularity (the key QL106
looks up, `qlint_rules.delegate_types.weight_key`), then allocates and invokes it in the
TensorFlow Lite interpreter and the LiteRT interpreter with their default delegates, and
once more with the builtin kernels only.  It records
whether allocation succeeded (and the delegate's message when it did not) and, for each op
of the model, whether a delegate node replaced it.  Nothing in the table is typed by hand.

The same child measures committed fixtures (the ai-edge-quantizer outputs in
``fixtures/quantizer_recipes/`` and the converter's int8, int16x8 and fp16
CNNs): which ops the default delegate replaced, and the mean absolute error of each
runtime's output against the float model's over seeded random inputs, with and without the
default delegates.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tools.generated import write_or_check

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "rules" / "qlint_rules" / "measured" / "xnnpack-types.json"
RECIPES = REPO / "fixtures" / "quantizer_recipes"
COMMAND = "python -m tools.probe.xnnpack_types"
SEED = 1234
SAMPLES = 8
PACKAGES = ("tensorflow-cpu", "ai-edge-litert", "ai-edge-quantizer")
# (name, recipe kind, weight bits, granularity, activation bits for static recipes)
CONFIGS: tuple[tuple[str, str, int, str, int], ...] = (
    *((f"{kind}_w{bits}{'c' if gran == 'CHANNELWISE' else 'b32'}", kind, bits, gran, 0)
      for kind in ("dynamic", "weight_only") for bits in (8, 4, 2)
      for gran in ("CHANNELWISE", "BLOCKWISE_32")),
    ("static_a8w8c", "static", 8, "CHANNELWISE", 8),
    ("static_a16w8c", "static", 8, "CHANNELWISE", 16),
    ("static_a8w4c", "static", 4, "CHANNELWISE", 8))
OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


# -- the child: build, quantize, run ------------------------------------------------------------


def _float_model(op: str) -> bytes:
    """A float model of one ``op`` with a constant weight tensor (seeded values)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(SEED)
    if op == "FULLY_CONNECTED":
        shape, w = [1, 64], rng.uniform(-1, 1, (64, 32)).astype(np.float32)

        def body(x: Any) -> Any:
            return tf.matmul(x, w)
    elif op == "CONV_2D":
        shape, w = [1, 8, 8, 64], rng.uniform(-1, 1, (3, 3, 64, 16)).astype(np.float32)

        def body(x: Any) -> Any:
            return tf.nn.conv2d(x, w, 1, "SAME")
    else:
        shape, w = [1, 8, 8, 64], rng.uniform(-1, 1, (3, 3, 64, 1)).astype(np.float32)

        def body(x: Any) -> Any:
            return tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME")

    module = tf.Module()  # the trackable gives the model its serving_default signature
    module.f = tf.function(body, input_signature=[tf.TensorSpec(shape, tf.float32, name="x")])
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()],
                                                           module)
    return bytes(conv.convert())


def _quantize(float_model: bytes, op: str, config: tuple[str, str, int, str, int]) -> bytes:
    import numpy as np
    from ai_edge_quantizer import qtyping, quantizer, recipe_manager

    _, kind, bits, gran, act_bits = config
    name = qtyping.TFLOperationName[op]
    granularity = qtyping.QuantGranularity[gran]
    rm = recipe_manager.RecipeManager()
    if kind == "dynamic":
        rm.add_dynamic_config(".*", name, bits, granularity)
    elif kind == "weight_only":
        rm.add_weight_only_config(".*", name, bits, granularity)
    else:
        rm.add_static_config(".*", name, act_bits, bits, granularity)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "float.tflite")
        Path(path).write_bytes(float_model)
        q = quantizer.Quantizer(path)
        q.load_quantization_recipe(rm.get_quantization_recipe())
        if q.need_calibration:
            rng = np.random.default_rng(SEED)
            shape = _input_shape(float_model)
            calib = {"serving_default": [{"x": rng.uniform(-1, 1, shape).astype(np.float32)}
                                         for _ in range(SAMPLES)]}
            return bytes(q.quantize(q.calibrate(calib)).quantized_model)
        return bytes(q.quantize().quantized_model)


def _input_shape(model: bytes) -> list[int]:
    import tensorflow as tf

    it = tf.lite.Interpreter(model_content=model)
    return [int(d) for d in it.get_input_details()[0]["shape"]]


def _weights(model: bytes) -> list[dict[str, Any]]:
    """Each op of ``model`` with QL106's key for it, as qlint's loader reads the model."""
    from qlint.loaders.tflite import load_tflite
    from qlint_rules.delegate_types import weight_key

    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(model)
        f.flush()
        graph = load_tflite(f.name)
    return [{"index": graph[op]["index"], "op": graph[op]["op_type"],
             "key": weight_key(graph, op)} for op in graph.ops()]


def _runners() -> list[tuple[str, Any, Any, bool]]:
    import tensorflow as tf
    from ai_edge_litert import interpreter as litert

    tf_kind, lt_kind = tf.lite.experimental.OpResolverType, litert.OpResolverType
    return [("tflite", tf.lite.Interpreter, tf_kind.AUTO, True),
            ("tflite-builtin-only", tf.lite.Interpreter,
             tf_kind.BUILTIN_WITHOUT_DEFAULT_DELEGATES, False),
            ("litert", litert.Interpreter, lt_kind.AUTO, True),
            ("litert-builtin-only", litert.Interpreter,
             lt_kind.BUILTIN_WITHOUT_DEFAULT_DELEGATES, False)]


def _stderr_of(call: Callable[[], Any]) -> tuple[Any, str, BaseException | None]:
    """Run ``call`` with file descriptor 2 captured (the delegate logs there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        error: BaseException | None = None
        result = None
        try:
            result = call()
        except Exception as exc:  # the failure is the measurement
            error = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("utf-8", "replace")
    return result, text, error


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _run(model: bytes, inputs: list[Any]) -> dict[str, Any]:
    """Allocate and invoke ``model`` in each runner; which original ops a delegate replaced."""
    import numpy as np

    n_ops = len(_weights(model))
    out: dict[str, Any] = {}
    for name, cls, kind, delegates in _runners():
        it = cls(model_content=model, experimental_op_resolver_type=kind)
        _, log, error = _stderr_of(it.allocate_tensors)
        entry: dict[str, Any] = {"allocates": error is None,
                                 "message": _one_line(error) if error else None}
        if error is None:
            if delegates:
                entry["delegated_ops"] = _delegated(it, n_ops)
            outs = []
            d, o = it.get_input_details()[0], it.get_output_details()[0]
            for x in inputs:
                it.set_tensor(d["index"], _to(x, d))
                it.invoke()
                outs.append(_from(np.array(it.get_tensor(o["index"])), o))
            entry["outputs"] = outs
        elif "unsupported" in log:
            entry["log"] = [line for line in log.splitlines() if "XNNPACK" in line][:4]
        out[name] = entry
    return out


def _to(x: Any, detail: dict[str, Any]) -> Any:
    """``x`` in the input's type: quantized with its scale and zero point when integer."""
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return x.astype(dtype)
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)


def _from(y: Any, detail: dict[str, Any]) -> Any:
    """An output as float: dequantized when integer."""
    import numpy as np

    if np.dtype(detail["dtype"]).kind == "f":
        return y.astype(np.float32)
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * scale


def _delegated(it: Any, n_ops: int) -> list[int]:
    """Indices of the model's ops that a DELEGATE node replaced: walking back from each
    delegate node's outputs through their producers, stopping at the delegate node's inputs."""
    details = it._get_ops_details()
    producer = {int(t): d for d in details[:n_ops] for t in d["outputs"]}
    taken: set[int] = set()
    for node in details[n_ops:]:
        if node["op_name"] != "DELEGATE":
            continue
        stop = {int(t) for t in node["inputs"]}
        todo = [int(t) for t in node["outputs"]]
        while todo:
            t = todo.pop()
            d = producer.get(t)
            if t in stop or d is None or int(d["index"]) in taken:
                continue
            taken.add(int(d["index"]))
            todo.extend(int(x) for x in d["inputs"] if int(x) >= 0)
    return sorted(taken)


def _mae(outputs: list[Any], reference: list[Any]) -> float:
    import numpy as np

    return float(np.mean([np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64)))
                          for a, b in zip(outputs, reference, strict=True)]))


def _summarise(runs: dict[str, Any], reference: list[Any] | None) -> dict[str, Any]:
    out = {}
    for name, entry in runs.items():
        e = {k: v for k, v in entry.items() if k != "outputs"}
        if reference is not None and "outputs" in entry:
            mae = _mae(entry["outputs"], reference)
            if math.isfinite(mae):
                e["mean_abs_error"] = round(mae, 6)
                e["relative_error"] = round(mae / _mae(reference, [0 * r for r in reference]),
                                            6)
            else:  # the output held NaN or infinity
                e["mean_abs_error"] = e["relative_error"] = None
                e["non_finite_output"] = True
        out[name] = e
    return out


def _inputs(model: bytes) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    shape = _input_shape(model)
    return [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(SAMPLES)]


def _reference(model: bytes, inputs: list[Any]) -> list[Any]:
    return _run(model, inputs)["tflite-builtin-only"]["outputs"]


def child() -> dict[str, Any]:
    cases: dict[str, Any] = {}
    for op in OPS:
        float_model = _float_model(op)
        inputs = _inputs(float_model)
        reference = _reference(float_model, inputs)
        for config in CONFIGS:
            key = f"{op}:{config[0]}"
            try:
                model = _quantize(float_model, op, config)
            except Exception as exc:  # the quantizer refusing is a measurement too
                cases[key] = {"quantized": False, "message": _one_line(exc)}
                continue
            cases[key] = {"quantized": True, "ops": _weights(model),
                          "runtimes": _summarise(_run(model, inputs), reference)}
    fixtures: dict[str, Any] = {}
    for float_path, paths in _fixtures().items():
        float_model = float_path.read_bytes()
        inputs = _inputs(float_model)
        reference = _reference(float_model, inputs)
        for path in paths:
            model = path.read_bytes()
            fixtures[path.relative_to(REPO / "fixtures").as_posix()] = {
                "float_model": float_path.relative_to(REPO / "fixtures").as_posix(),
                "ops": _weights(model),
                "runtimes": _summarise(_run(model, inputs), reference)}
    return {"one_op_models": cases, "fixtures": fixtures}


def _fixtures() -> dict[Path, list[Path]]:
    """Committed quantized fixtures, each with the float model it was made from."""
    cnn = REPO / "fixtures"
    return {RECIPES / "cumsum_mlp_float.tflite": sorted(RECIPES.glob("aeq_*.tflite")),
            cnn / "float_cnn" / "float_cnn.tflite": [
                cnn / name / f"{name}.tflite"
                for name in ("int8_cnn", "int16x8_cnn", "fp16_cnn")]}  # same weights


# -- the parent ---------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "absent"
    return out


def by_weight_type(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """QL106's key -> what the default delegate did with it in the one-op models: whether a
    runtime's default delegate replaced the op, whether the model allocated with the default
    delegates (the message when it did not), whether it ran on the builtin kernels, the
    largest relative error against the float model with and without the delegates, and the
    other ops of those models that no delegate replaced."""
    seen: dict[str, dict[str, Any]] = {}
    for model, case in table["one_op_models"].items():
        if not case.get("quantized"):
            continue
        runs = case["runtimes"]
        for op in case["ops"]:
            if op["key"] is None:
                continue
            s = seen.setdefault(op["key"], {"delegated": False, "allocates": True,
                                            "message": None, "builtin_runs": True,
                                            "builtin_relative_error": None,
                                            "delegate_relative_error": None,
                                            "non_finite_output": False, "models": []})
            for name in ("tflite", "litert"):
                r, b = runs[name], runs[f"{name}-builtin-only"]
                s["delegated"] |= bool(r["allocates"] and op["index"] in r["delegated_ops"])
                if not r["allocates"]:
                    s["allocates"] = False
                    s["message"] = s["message"] or r["message"]
                s["builtin_runs"] &= b["allocates"]
                s["non_finite_output"] |= bool(b.get("non_finite_output"))
                for field, run in (("builtin_relative_error", b),
                                   ("delegate_relative_error", r)):
                    e = run.get("relative_error")
                    if e is not None:
                        s[field] = e if s[field] is None else max(s[field], e)
            if model not in s["models"]:
                s["models"].append(model)
            left = s.setdefault("left_with_it", [])
            for other in case["ops"]:  # the model's other ops no delegate replaced
                taken = any(other["index"] in runs[n].get("delegated_ops", [])
                            for n in ("tflite", "litert"))
                if other is not op and not taken and other["op"] not in left:
                    left.append(other["op"])
    return dict(sorted(seen.items()))


def measure() -> dict[str, Any]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "child.json"
        subprocess.run([sys.executable, "-m", "tools.probe.xnnpack_types", "--child", str(out)],
                       check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        table = json.loads(out.read_text("utf-8"))
    table["by_weight_type"] = by_weight_type(table)
    return {"generated_by": COMMAND, "measured": datetime.date.today().isoformat(),
            "versions": _versions(), "samples": SAMPLES, "seed": SEED, **table}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the table differs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        Path(args.child).write_text(json.dumps(child()), encoding="utf-8")
        return 0
    data = measure()
    if args.check and OUT.exists():  # the date aside, the table must be the same
        old = json.loads(OUT.read_text("utf-8"))
        data["measured"] = old.get("measured")
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    return write_or_check(OUT, text, COMMAND, args.check)


if __name__ == "__main__":
    sys.exit(main())
