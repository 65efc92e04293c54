"""Output dtypes of SavedModel ops whose type attributes the SavedModel leaves out at
their defaults (no TensorFlow; the defaults file is checked against TensorFlow's op
definitions where TensorFlow is installed)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from qlint.loaders.savedmodel_dtypes import output_dtype, type_defaults


def _node(op: str, **types: int) -> SimpleNamespace:
    return SimpleNamespace(op=op, attr={k: SimpleNamespace(type=v) for k, v in types.items()})


def test_a_type_attribute_left_at_its_default_types_the_output() -> None:
    """A float32 ``LeakyRelu`` saved without ``T`` (its default) is float32; a ``Relu``,
    whose ``T`` has no default, stays unknown without it; a ``T`` set wins."""
    assert type_defaults()["LeakyRelu"] == {"T": "float32"}
    assert output_dtype(_node("LeakyRelu"), 0) == "float32"
    assert output_dtype(_node("LeakyRelu", T=19), 0) == "float16"  # DT_HALF
    assert output_dtype(_node("Relu"), 0) == "unknown"
    assert output_dtype(_node("Range"), 0) == "int32"  # Tidx's default


@pytest.mark.tensorflow
def test_the_defaults_file_matches_the_installed_tensorflow() -> None:
    pytest.importorskip("tensorflow")
    from tools.gen_tf_type_defaults import OUT, collect

    assert json.loads(OUT.read_text(encoding="utf-8")) == collect()
