"""Measure what each runtime does with a model of each quantization mode.

Usage::

    python -m tools.probe_quant_modes          write rules/qlint_rules/measured/quant-modes.json
    python -m tools.probe_quant_modes --check  exit 1 when the measurement differs

For one committed fixture model of each quantization mode (`MODELS`: the converter's float,
fp16-weights, dynamic-range, int16x8 and full-int8 CNNs, and ai-edge-quantizer's weight-only,
sub-byte dynamic-range and blockwise outputs) this loads, allocates and invokes
the model with zero inputs in the TensorFlow Lite interpreter, the LiteRT interpreter
(both with and without the default delegates) and the TensorFlow Lite Micro interpreter,
each in a child process, and records whether it ran and the message it printed when it
did not.  QL510 reads the result; nothing in it is typed by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.generated import json_main

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "rules" / "qlint_rules" / "measured" / "quant-modes.json"
MODELS = {"float": "float_cnn/float_cnn", "fp16-weights": "fp16_cnn/fp16_cnn",
          "dynamic-range": "dynamic_range_cnn/dynamic_range_cnn",
          "int16x8": "int16x8_cnn/int16x8_cnn", "full-int8": "int8_cnn/int8_cnn",
          # ai-edge-quantizer outputs (fixtures/build_toolchains.py --only aeq)
          "int8-weights": "quantizer_recipes/aeq_weight_only_wi8_afp32",
          "int4-weights": "quantizer_recipes/aeq_weight_only_wi4_afp32",
          "dynamic-range-int4": "quantizer_recipes/aeq_dynamic_wi4c_afp32",
          "dynamic-range-int2": "quantizer_recipes/aeq_dynamic_wi2c_afp32",
          "blockwise-int4-weights": "quantizer_recipes/aeq_dynamic_wi4b32_afp32",
          "blockwise-int2-weights": "quantizer_recipes/aeq_dynamic_wi2b32_afp32"}
RUNTIMES = ("tflite", "tflite-builtin-only", "litert", "litert-builtin-only", "tflm")

_RUNNER = r"""
import sys, numpy as np
runtime, path = sys.argv[1], sys.argv[2]
if runtime == "tflm":
    from tflite_micro.python.tflite_micro import runtime as tflm
    it = tflm.Interpreter.from_file(path)
    d = it.get_input_details(0)
    it.set_input(np.zeros(d["shape"], dtype=d["dtype"]), 0)
    it.invoke()
else:
    if runtime.startswith("litert"):
        from ai_edge_litert import interpreter as lite
        cls, resolver = lite.Interpreter, lite.OpResolverType
    else:
        import tensorflow as tf
        cls, resolver = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    kind = (resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES if runtime.endswith("builtin-only")
            else resolver.AUTO)
    it = cls(model_path=path, experimental_op_resolver_type=kind)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
    it.invoke()
print("QLINT-RAN")
"""
_NOISE = re.compile(r"^(I|W|E)\d{4} |WARNING: All log messages|oneDNN|cpu_feature_guard|"
                    r"rebuild TensorFlow|cuda|Created TensorFlow Lite XNNPACK|warnings.warn|"
                    r"UserWarning|Interpreter is deprecated|^\s*$|See the \[migration guide\]|"
                    r"^\s*TF 2\.20\. Please use the LiteRT|^\s*for details\.$")


def run(runtime: str, model: Path) -> dict[str, object]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    proc = subprocess.run([sys.executable, "-c", _RUNNER, runtime, str(model)],
                          capture_output=True, text=True, env=env, timeout=300)
    text = proc.stdout + proc.stderr
    if proc.returncode == 0 and "QLINT-RAN" in proc.stdout:
        return {"runs": True, "message": None}
    # What the runtime printed before the Python traceback, then the exception's own line.
    head, _, trace = text.partition("Traceback (most recent call last)")
    tail = [ln for ln in trace.splitlines() if ln.strip()][-1:]
    lines = [ln.strip() for ln in [*head.splitlines(), *tail] if not _NOISE.search(ln)]
    lines = [ln.replace(str(REPO) + "/", "") for ln in lines]
    return {"runs": False, "message": " ".join(dict.fromkeys(lines))[-600:]}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {d: version(d) for d in ("tensorflow-cpu", "ai-edge-litert", "tflite-micro")}


def measure() -> dict[str, object]:
    modes: dict[str, object] = {}
    for mode, name in MODELS.items():
        model = REPO / "fixtures" / f"{name}.tflite"
        modes[mode] = {"model": f"fixtures/{name}.tflite",
                       "runtimes": {rt: run(rt, model) for rt in RUNTIMES}}
    return {"generated_by": "python -m tools.probe_quant_modes", "versions": versions(),
            "modes": modes}


def main(argv: Sequence[str] | None = None) -> int:
    return json_main(argv, __doc__ or "", OUT, "python -m tools.probe_quant_modes", measure,
                     indent=2, sort_keys=True)


if __name__ == "__main__":
    sys.exit(main())
