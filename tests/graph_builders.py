"""Small hand-built `ModelGraph`s for unit tests of the IR and rules."""

from __future__ import annotations

from qlint.graph import ModelGraph, Quant
from qlint.quant_mode import classify_quant_mode

Q8 = Quant(scale=(0.1,), zero_point=(0,))


def chain(spec: list[tuple[str, str]], *, io_dtype: str | None = None) -> ModelGraph:
    """A straight-line model: ``spec`` is [(op_type, output dtype), ...].

    The input dtype is the first op's output dtype unless ``io_dtype`` says
    otherwise; integer tensors get per-tensor quantization.
    """
    g = ModelGraph("tflite", "chain.tflite", "converted")
    first = io_dtype or spec[0][1]
    prev = g.add_tensor(0, 0, name="input", dtype=first, shape=(1, 4),
                        quant=Q8 if first in ("int8", "int16", "uint8") else None)
    inputs = [prev]
    for i, (op_type, dtype) in enumerate(spec):
        out = g.add_tensor(0, i + 1, name=f"t{i + 1}", dtype=dtype, shape=(1, 4),
                           quant=Q8 if dtype in ("int8", "int16", "uint8") else None)
        g.add_op(0, i, op_type=op_type, source_op=op_type, name=f"t{i + 1}",
                 inputs=[prev], outputs=[out])
        prev = out
    g.attrs["subgraphs"] = [{"index": 0, "name": "main", "inputs": inputs, "outputs": [prev]}]
    g.attrs["quant_mode"] = classify_quant_mode(g)
    return g
