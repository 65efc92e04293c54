"""Tensor dtypes and scalar attributes of SavedModel ops, read from their attributes (no
op definitions).

A GraphDef node carries its type attributes (``T``, ``DstT``, ``out_type``, ...) but not
which attribute types which output; the SavedModel loader asks these functions.  A
SavedModel leaves out a type attribute at its default (a float32 ``LeakyRelu`` has no
``T``): the defaults TensorFlow's op definitions give are read from
``tf_type_defaults.json`` (written by ``python -m tools.gen_tf_type_defaults``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import cache
from typing import Any

BOOL_OUTPUT = frozenset({"Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual",
                         "LogicalAnd", "LogicalOr", "LogicalNot", "IsNan", "IsFinite", "IsInf"})

#: Random ops, stateless ones too: their ``dtype`` (``output_dtype``) types the output,
#: ``T`` the shape operand (``tf.random.uniform([1, 32])`` reads an int32 shape).  The
#: converter does not fold them even when their shape and seed are constants (it refuses
#: StatelessRandomNormalV2 as it is).
RANDOM_PREFIXES = ("Random", "StatelessRandom", "StatelessMultinomial", "StatelessTruncated",
                   "StatelessParameterized", "Multinomial", "TruncatedNormal",
                   "ParameterizedTruncatedNormal")
#: Ops returning complex numbers / real numbers from complex ones, with the type attribute
#: (``Tcomplex``, ``Tout``, ``Treal``) a SavedModel omits when it has its default.
TO_COMPLEX = frozenset({"RFFT", "RFFT2D", "RFFT3D", "Complex"})
FROM_COMPLEX = frozenset({"IRFFT", "IRFFT2D", "IRFFT3D", "Real", "Imag", "ComplexAbs", "Angle"})


@cache
def type_defaults() -> dict[str, dict[str, str]]:
    """op -> {type attribute: its default dtype}, as TensorFlow's op definitions give them."""
    path = os.path.join(os.path.dirname(__file__), "tf_type_defaults.json")
    with open(path, encoding="utf-8") as f:
        ops = json.load(f)["ops"]
    return ops if isinstance(ops, dict) else {}


def attr_dtype(node: Any, names: Iterable[str]) -> str | None:
    """The first of the type attributes ``names`` the node sets, or leaves out at a
    default its op definition gives."""
    from qlint.loaders._tf_protos import dtype_name

    defaults = type_defaults().get(node.op, {})
    for n in names:
        if n in node.attr:
            a = node.attr[n]
            if a.type:
                return dtype_name(a.type)
        if n in defaults:
            return defaults[n]
    return None


def output_dtype(node: Any, idx: int) -> str:
    """Dtype of output ``idx`` of a top-level node."""
    op = node.op
    if op in BOOL_OUTPUT:
        return "bool"
    if op == "Cast":
        return attr_dtype(node, ("DstT",)) or "unknown"
    if op in ("ArgMax", "ArgMin"):
        return attr_dtype(node, ("output_type",)) or "int64"
    if op == "MaxPoolWithArgmax" and idx == 1:
        return attr_dtype(node, ("Targmax",)) or "int64"
    if op in ("Shape", "Size", "Rank"):
        return attr_dtype(node, ("out_type",)) or "int32"
    if op.startswith(RANDOM_PREFIXES):  # ``T`` types the shape operand, not the output
        return attr_dtype(node, ("dtype", "output_dtype")) or "float32"
    # type attributes a SavedModel leaves out at their default value
    if op in TO_COMPLEX:
        return attr_dtype(node, ("Tcomplex", "Tout")) or "complex64"
    if op in FROM_COMPLEX:
        return attr_dtype(node, ("Treal", "Tout")) or "float32"
    if "Tout" in node.attr and node.attr["Tout"].list.type:
        from qlint.loaders._tf_protos import dtype_name

        types = node.attr["Tout"].list.type
        return dtype_name(types[idx]) if idx < len(types) else "unknown"
    found = attr_dtype(node, ("T", "Tparams", "dtype", "out_type", "output_type", "Tidx",
                              "Tcomplex"))
    return found or "unknown"


def arg_dtype(node: Any, arg: str) -> str | None:
    """Dtype of output ``arg`` of a body op when it differs from the op's ``T``."""
    if node.op == "TopKV2" and arg == "indices":
        return "int32"
    if node.op == "MaxPoolWithArgmax" and arg == "argmax":
        return attr_dtype(node, ("Targmax",)) or "int64"
    if node.op.startswith("Unique") and arg in ("idx", "count"):
        return attr_dtype(node, ("out_idx",)) or "int32"
    if node.op.startswith("FusedBatchNorm") and arg != "y":
        return attr_dtype(node, ("U", "T"))
    return None


def plain_attrs(node: Any) -> dict[str, Any]:
    """The scalar attributes rules may need (strings, numbers, bools, types)."""
    from qlint.loaders._tf_protos import dtype_name

    out: dict[str, Any] = {}
    for k, v in node.attr.items():
        if k.startswith("_"):
            continue
        which = v.WhichOneof("value") if hasattr(v, "WhichOneof") else None
        if which == "s":
            out[k] = v.s.decode("utf-8", "replace")
        elif which == "i":
            out[k] = int(v.i)
        elif which == "f":
            out[k] = float(v.f)
        elif which == "b":
            out[k] = bool(v.b)
        elif which == "type":
            out[k] = dtype_name(v.type)
        elif which == "func":
            out[k] = v.func.name
        elif which == "list" and v.list.i:
            out[k] = [int(x) for x in v.list.i]
        elif which == "list" and v.list.type:
            out[k] = [dtype_name(x) for x in v.list.type]
        elif which == "list" and v.list.f:
            out[k] = [float(x) for x in v.list.f]
    return out
