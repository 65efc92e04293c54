"""QL3xx quantization parameters: missing, invalid and off-spec scales and zero points.

Every rule here reads only the IR's ``Quant`` records (scale, zero point, quantized
dimension) and the op around a tensor, and compares them with the TFLite 8-bit
quantization spec and with the checks the TensorFlow 2.21 kernels, the interpreter
builder and the default XNNPACK delegate really make.  The fixtures in
``fixtures/quant_params/`` (built by ``fixtures/build_quant_params.py``) record what the
real interpreter does with each defect; severities follow them: a defect that makes
``allocate_tensors()`` fail is an error, one that runs silently is a warning.

One module per rule (``missing_params`` QL301 ... ``degenerate_calibration`` QL309);
``shared`` holds the spec's ranges and op families, the limits and the message labels;
``tf_messages`` the interpreter messages the findings quote; ``screens`` the numpy
pre-filters that let a rule look at a 100k-op model's few suspects only.
"""
