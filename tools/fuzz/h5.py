"""Fuzz legacy Keras HDF5 (`.h5`) models."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from typing import Any

from tools.fuzz.common import (
    Field,
    FormatSpec,
    _flip,
    _splice,
    _truncate,
)
from tools.fuzz.keras import _keras_json, _zip_members, keras_seeds

# -- legacy Keras HDF5 (.h5) ------------------------------------------------------------

def h5_available() -> bool:
    """True when h5py can be imported (the ``h5``/``test`` extras)."""
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def write_h5(attrs: dict[str, Any], datasets: dict[str, Any] | None = None) -> bytes:
    """An HDF5 file in memory with root attributes ``attrs`` (and some datasets)."""
    import h5py
    import numpy as np

    buf = io.BytesIO()
    big = any(len(v) > 32_000 for v in attrs.values() if isinstance(v, (str, bytes)))
    with h5py.File(buf, "w", libver="latest" if big else "earliest") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        g = f.create_group("model_weights")
        g.create_dataset("kernel", data=np.arange(16, dtype="float32"))
        for k, v in (datasets or {}).items():
            f.create_dataset(k, data=v)
    return buf.getvalue()


def h5_seeds() -> list[tuple[str, bytes]]:
    """The ``.keras`` seeds' model configs written as legacy HDF5 models."""
    out = []
    for name, data in keras_seeds():
        config = _zip_members(data).get("config.json", b"{}").decode()
        out.append((f"{name}->h5", write_h5({"model_config": config, "keras_version": "3.15.1",
                                             "backend": "tensorflow"})))
    return out


def _h5_config_mutator(rng: random.Random, data: bytes, fields: list[Field],
                       others: Sequence[bytes]) -> tuple[bytes, str]:
    """A legacy HDF5 model whose ``model_config`` is missing, of another type or hostile."""
    import h5py
    import numpy as np

    with h5py.File(io.BytesIO(data), "r") as f:
        raw = f.attrs.get("model_config", "{}")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    kind = rng.choice(("json", "json", "json", "missing", "types", "as_dataset", "bytes",
                       "meta_types"))
    attrs: dict[str, Any] = {"keras_version": "3.15.1", "backend": "tensorflow"}
    datasets: dict[str, Any] = {}
    if kind == "json":
        try:
            config = json.loads(text)
        except ValueError:
            config = {}
        hostile, desc = _keras_json(rng, config)
        attrs["model_config"] = hostile.encode("utf-8", "surrogatepass")
        return write_h5(attrs), f"model_config {desc}"
    if kind == "missing":
        return write_h5(attrs), "no model_config"
    if kind == "types":
        value = rng.choice((np.arange(10, dtype="int64"), np.float64(3.5), np.array([], "f4"),
                            np.array([text[:100], "x"], dtype=h5py.string_dtype()),
                            np.zeros((3, 3), "u1"), np.bool_(True)))
        attrs["model_config"] = value
        return write_h5(attrs), f"model_config of type {type(value).__name__} " \
                                f"{getattr(value, 'dtype', '')}"
    if kind == "as_dataset":
        datasets["model_config"] = text
        return write_h5(attrs, datasets), "model_config stored as a dataset"
    if kind == "bytes":
        attrs["model_config"] = np.void(b"\xff\xfe" + text.encode()[:1000])
        return write_h5(attrs), "model_config as opaque invalid UTF-8 bytes"
    attrs["model_config"] = text
    attrs["keras_version"] = rng.choice((np.arange(5), np.void(b"\xff"), 7))
    attrs["backend"] = np.zeros((2, 2))
    return write_h5(attrs), "keras_version/backend of odd types"


def h5_spec() -> FormatSpec:
    """Legacy ``.h5`` Keras models: bytes of the HDF5 file and hostile ``model_config``."""
    return FormatSpec(".h5", h5_seeds, None, (
        ("flip", _flip, 2),
        ("truncate", _truncate, 2),
        ("splice", _splice, 1),
        ("model_config", _h5_config_mutator, 8),
    ))
