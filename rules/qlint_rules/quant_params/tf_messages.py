"""What TensorFlow 2.21 prints for each quantization defect, as the QL3xx findings quote it.

Each message is a `str.format` template whose fields come from the model; ``N`` and
``...`` stand where the real message names something qlint does not know (the delegate's
node number, the channel).  ``fixtures/build_quant_params.py`` records what the real
interpreter printed for each edited fixture in ``fixtures/quant_params/expected.json``;
``tests/test_quant_params.py`` checks the findings against those captures.
"""

from __future__ import annotations

# -- the interpreter, while the model loads ---------------------------------------------------

INVALID_TENSOR = "Tensor {index} has invalid quantization parameters."
ZERO_POINT_COUNT = ("QuantizationParam has {zero_points} zero_point values and {scales} scale "
                    "values. Must have same number.")
NULL_ZERO_POINT = "Quantization parameters has non-null scale but null zero_point."
AXIS_RANGE = "quantized_dimension must be in range [0, {rank}). Was {axis}."
SCALE_COUNT = ("num_scales must be 1 for per-layer quantization, or {size} for per-axis "
               "quantization, but got {count}.")

# -- the builtin kernels, at allocate_tensors() -----------------------------------------------

NODE_FAILED = "Node number {index} ({op_type}) failed to prepare."
NOT_AFFINE = "{role}->quantization.type != kTfLiteAffineQuantization (0 != 1)"
FILTER_ZERO_POINT = "zero_point->data[i] != 0 ({zero_point} != 0)"
INT16_ZERO_POINT = "zero_point == 0"
BIAS_SCALE = "scale_diff / output_scale <= 0.02 was not true."
OUTPUT_ZERO_POINT = "output->params.zero_point != {want} ({got} != {want})"
OUTPUT_SCALE_NEAR = "output->params.scale not near 1.f / {denominator}"
OUTPUT_SCALE = "output->params.scale == {fraction} was not true."
CONCAT_SCALE = "concatenation.cc:237 t->params.scale != output->params.scale"

# -- the XNNPACK delegate (applied by default to int8 models), at allocate_tensors() ----------

XNNPACK_NODE_FAILED = "Node number N (TfLiteXNNPackDelegate) failed to prepare."
XNNPACK_RUNTIME = "failed to create XNNPACK runtime"
XNNPACK_SCALE = "unsupported scale value ... in XNNPACK delegate"
XNNPACK_ZERO_POINT = ("unsupported zero-point value ({zero_point}) for {dtype} tensor {index} "
                      "in XNNPACK delegate")
XNNPACK_BIAS_ZERO_POINT = ("unsupported zero-point value ({zero_point}) in channel ... of "
                           "{dtype} tensor {index} in XNNPACK delegate")
XNNPACK_NOT_DELEGATED = "failed to delegate {op_type} node #{index}"

# -- which same-scale ops TensorFlow 2.21 refuses with different in/out parameters ------------
# (reproduced by fixtures/quant_params; every other same-scale op runs silently)

SAME_SCALE_KERNEL_REFUSES: dict[str, str] = {"CONCATENATION": CONCAT_SCALE}
SAME_SCALE_XNNPACK_REFUSES = frozenset({"MAX_POOL_2D", "PAD"})

# Quoted from the TensorFlow 2.21 source: no fixture has made the interpreter print them
# yet.  Every other message above occurs in a captured one (tests/test_quant_params.py).
FROM_SOURCE_ONLY = frozenset({"AXIS_RANGE", "INT16_ZERO_POINT", "NULL_ZERO_POINT",
                              "OUTPUT_SCALE_NEAR"})


def quote(*messages: str) -> str:
    """Messages as a finding quotes them: ``'first', 'second'``."""
    return ", ".join(f"'{m}'" for m in messages)
