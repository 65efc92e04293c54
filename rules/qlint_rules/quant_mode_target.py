"""QL510 quant-mode-target: a model quantized in a mode the int8 target does not run as int8."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.registry import Context, Rule

FULL_INTEGER = ("converter.optimizations = [tf.lite.Optimize.DEFAULT]; "
                "converter.representative_dataset = <100-500 real samples>; "
                "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; "
                "converter.inference_input_type = converter.inference_output_type = tf.int8")


def describe(mode: str) -> tuple[str, str] | None:
    """(what a model of ``mode`` is, what to change for full integer); None when the mode
    computes on int8 kernels or is a plain float model.  The modes are `qlint.quant_mode`'s
    names."""
    if mode.startswith("dynamic-range"):
        width = mode.rpartition("-")[2] if mode != "dynamic-range" else "int8"
        return (f"a dynamic-range (hybrid) model: {width} weights, float32 activations, float "
                f"compute (hybrid kernels quantize activations on the fly)",
                "a representative dataset and TFLITE_BUILTINS_INT8 (DEFAULT alone gives "
                "dynamic range), or ai-edge-quantizer's static_wi8_ai8 recipe")
    if mode == "fp16-weights":
        return ("a float16-weights model: weights stored as float16 and dequantized to "
                "float32, float compute", "no target_spec.supported_types = [tf.float16]")
    if mode.startswith("blockwise-"):  # blockwise-int4-weights, ...
        width = mode.split("-")[1]
        return (f"a blockwise-quantized model: {width} weights with a scale per block of "
                f"elements, float32 activations, float compute",
                "ai-edge-quantizer's static_wi8_ai8 recipe (per-channel int8 weights, int8 "
                "activations) instead of blockwise weights, or TFLiteConverter with a "
                "representative dataset and TFLITE_BUILTINS_INT8")
    if mode.endswith("-weights"):  # int8-weights, int4-weights, ...
        return (f"a weight-only model ({mode}): quantized weights dequantized to float32 by "
                f"DEQUANTIZE ops, float compute",
                "ai-edge-quantizer's static_wi8_ai8 recipe instead of a weight-only one, or "
                "TFLiteConverter with a representative dataset and TFLITE_BUILTINS_INT8")
    if mode == "int16x8":
        return ("an int16x8 model: int16 activations with int8 weights, int16 kernels",
                "TFLITE_BUILTINS_INT8 instead of "
                "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8")
    return None


@cache
def measured() -> dict[str, Any]:
    """``measured/quant-modes.json``: each mode's fixture run in each runtime."""
    text = files("qlint_rules").joinpath("measured", "quant-modes.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


class QuantModeTarget(Rule):
    """Flags a dynamic-range, weight-only, float16-weights or int16x8 model linted for int8.

    **What it flags.** A converted model whose quantization mode (``qlint`` reads it from
    the tensors: float compute fed by integer or float16 weights, directly or through
    DEQUANTIZE, or int16 activations) is not full-integer int8, under an int8 target
    (``tflite-int8``, ``tflm-int8`` and the int8 NPU targets).  One finding per model, on
    its first op.

    **Why it matters.** None of these models computes on int8 kernels.  TensorFlow Lite
    Micro refuses dynamic-range and float16-weights models when it allocates them (the
    messages measured by ``tools/probe_quant_modes.py`` on the committed fixtures, e.g.
    ``Input type: FLOAT32 with filter type: INT8 not supported. Node FULLY_CONNECTED
    (number 7) failed to prepare``, and ``Hybrid models are not supported on TFLite
    Micro.`` for a hybrid CONV_2D); LiteRT runs them on float, hybrid or int16 kernels,
    and an int8-only accelerator runs none of it.  The file says nothing is wrong: the
    conversion asked for this mode, usually by leaving out the representative dataset.

    **How to fix it.** Convert for full integer: ``optimizations=[DEFAULT]``, a
    ``representative_dataset``, ``supported_ops=[TFLITE_BUILTINS_INT8]`` and int8 input
    and output types; or lint with the target the model is meant for.
    """

    id = "QL510"
    name = "quant-mode-target"
    record = "tensorflow/tflite-quant-mode-target"
    severity = Severity.WARNING
    summary = "dynamic-range, weight-only, float16-weights or int16x8 model under an int8 target"
    fix = f"Convert for full integer: {FULL_INTEGER}."

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        mode = graph.quant_mode or ""
        what = describe(mode)
        if what is None:
            return
        target = ctx.target
        if target.mode != "int8":
            return
        # An NPU target runs on its NPU what Vela places there: no measured runtime answers
        # for it; the others are measured by tools/probe_quant_modes.py under their runtime.
        runtime = None if target.npu else target.runtime
        ops = list(graph.ops())
        if not ops:
            return
        probe = measured()["modes"].get(mode, {}).get("runtimes", {})
        result = probe.get(runtime or "")  # tools/probe_quant_modes.py runtime names
        if result is not None and not result["runs"]:
            severity = Severity.ERROR
            effect = (f"{target.name} refuses it: the interpreter stops at allocation with "
                      f"'{result['message']}'")
        elif result is not None:
            severity = Severity.WARNING
            effect = (f"{target.name} runs it, but on {'int16' if mode == 'int16x8' else 'float'}"
                      f" kernels: no op uses an int8 kernel")
        elif runtime is None:
            severity = Severity.WARNING
            effect = f"an int8-only NPU such as {target.name}'s runs none of it as int8"
        else:
            severity = Severity.WARNING
            effect = (f"no op of it computes on an int8 kernel of {target.name} (whether "
                      f"{target.name} loads this mode at all was not measured)")
        yield self.finding(
            graph, ops[0],
            f"{what[0]}; {effect}. For full integer, convert with {what[1]}",
            severity=severity,
        )
