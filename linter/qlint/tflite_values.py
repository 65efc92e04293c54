"""Values a ``.tflite`` file holds beyond the IR: builtin option values and small constants.

Read with the ``tflite`` flatbuffer bindings over a read-only map of the file, once per
graph, and only for the ops a rule asks about.  The loader has already verified the
file's structure; callers treat a read that still fails as an unknown value.
"""

from __future__ import annotations

import re
from typing import Any

from qlint.graph import ModelGraph

#: Constant inputs read for their values (axes, sizes, loop bounds) are at most this many
#: bytes.
MAX_CONST_BYTES = 256
#: Option names shortened to the names conditions use.
_RENAME = {"filter_width": "filter_w", "filter_height": "filter_h",
           "dilation_wfactor": "dilation_w", "dilation_hfactor": "dilation_h"}
_PADDING = {0: "SAME", 1: "VALID"}
_ACTIVATION = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH",
               5: "SIGN_BIT", 6: "SIGMOID"}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _read_model(graph: ModelGraph) -> Any:
    """The bindings' root table over a read-only map of the file (weights are not read
    into memory; the loader has already verified the structure)."""
    import mmap

    from tflite.Model import Model

    with open(graph.path, "rb") as fh:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    return Model.GetRootAs(data, 0)


def file_model(graph: ModelGraph) -> Any:
    """The ``tflite`` bindings' root table of the graph's file (read once per graph)."""
    return graph.derived(_read_model)


def option_values(fb_op: Any, options_name: str | None) -> dict[str, Any]:
    """The scalar fields of an operator's builtin options (``options_name``: its table
    type, ``WhileOptions``), named in snake case as conditions name them."""
    if not options_name or not re.fullmatch(r"[A-Za-z0-9]+Options", options_name):
        return {}
    import importlib

    try:
        cls = getattr(importlib.import_module(f"tflite.{options_name}"), options_name)
    except (ImportError, AttributeError):
        return {}
    table = fb_op.BuiltinOptions()
    if table is None:
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith(("_", "GetRootAs", "Init")) or name.endswith(
            ("Length", "AsNumpy", "IsNone", "BufferHasIdentifier")
        ):
            continue
        method = getattr(obj, name)
        if not callable(method) or method.__code__.co_argcount != 1:
            continue
        value = method()
        if isinstance(value, bool | int | float):
            key = _snake(name)
            out[_RENAME.get(key, key)] = value
    if "padding" in out:
        out["padding"] = _PADDING.get(out["padding"], out["padding"])
    if "fused_activation_function" in out:
        out["fused_activation_function"] = _ACTIVATION.get(
            out["fused_activation_function"], out["fused_activation_function"])
    return out


def const_values(model: Any, sg: Any, index: int) -> Any:
    """Values of small constant tensor ``index`` of subgraph ``sg`` (int32/int64), or None."""
    import numpy as np

    if index < 0:
        return None
    tensor = sg.Tensors(index)
    buf = model.Buffers(tensor.Buffer())
    if buf is None or buf.DataLength() == 0 or buf.DataLength() > MAX_CONST_BYTES:
        return None
    dtype = {2: np.int32, 4: np.int64}.get(tensor.Type())
    if dtype is None:
        return None
    return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype)
