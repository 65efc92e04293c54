"""The tiny-weight twin of a synthetic model (tools/synth.py --shared-weights).

The benchmark compares a model with ~1 GB of weights to its twin: the same ops, tensors,
shapes and quantization, with every filter of a kind reading one shared buffer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qlint.loaders.tflite import load_tflite
from tools.synth import write_model


def test_twin_is_the_same_graph_with_one_block_of_weights(tmp_path: Path) -> None:
    full = write_model(str(tmp_path / "full.tflite"), 30, channels=16)
    twin = write_model(str(tmp_path / "twin.tflite"), 30, channels=16, shared_weights=True)
    assert twin.weight_bytes < full.weight_bytes / 5
    a, b = load_tflite(full.path), load_tflite(twin.path)
    assert list(a.ops()) == list(b.ops()) and list(a.tensors()) == list(b.tensors())
    for node in [*a.ops(), *a.tensors()]:
        assert a[node] == b[node], node
    for op in a.ops():
        assert a.inputs(op) == b.inputs(op) and a.outputs(op) == b.outputs(op)


@pytest.mark.tensorflow
def test_twin_runs_in_the_real_interpreter_like_its_model(tmp_path: Path) -> None:
    import tensorflow as tf

    outputs = []
    for shared in (False, True):
        path = tmp_path / f"{shared}.tflite"
        write_model(str(path), 7, channels=8, shared_weights=shared)
        interp = tf.lite.Interpreter(model_path=str(path))
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], np.ones(inp["shape"], np.int8))
        interp.invoke()
        out = interp.get_output_details()[0]
        outputs.append(interp.get_tensor(out["index"]).copy())
    assert outputs[0].shape == outputs[1].shape and outputs[0].dtype == np.int8
