"""What the SavedModel loader keeps of a ``Const`` node's value: a one-element numeric
constant's value (``tf.pow(x, 2.0)``'s exponent, for prediction conditions) and a digest
of a small constant's contents (constants alike, which the converter merges), and of
what a constant-folded op computes its results from (a kernel reshaped alike)."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

# DataType enum values of the numeric scalars whose value is kept, and their fields.
_SCALAR_FIELDS = {1: ("float_val", "<f"), 2: ("double_val", "<d"), 3: ("int_val", "<i"),
                  9: ("int64_val", "<q"), 10: ("bool_val", "<?")}


#: Constants up to this many serialized bytes get a digest of their value.
MAX_DIGESTED_CONST = 4096


def content_digest(node: Any) -> str | None:
    """A digest of a small ``Const``'s value (dtype, shape and contents): two constants
    alike are one to the converter, which merges the ops reading them alike."""
    if "value" not in node.attr:
        return None
    raw = node.attr["value"].tensor.SerializeToString(deterministic=True)
    if len(raw) > MAX_DIGESTED_CONST:
        return None
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def scalar_value(node: Any) -> float | None:
    """The value of a one-element numeric or bool ``Const`` (``tf.pow(x, 2.0)``'s exponent;
    an ``If``'s predicate fixed at export: 1.0 or 0.0)."""
    if "value" not in node.attr:
        return None
    t = node.attr["value"].tensor
    if any(d.size != 1 for d in t.tensor_shape.dim):
        return None
    field_fmt = _SCALAR_FIELDS.get(int(t.dtype))
    if field_fmt is None:
        return None
    vals = getattr(t, field_fmt[0])
    if len(vals) == 1:
        return float(vals[0])
    if t.tensor_content:
        size = struct.calcsize(field_fmt[1])
        if len(t.tensor_content) == size:
            return float(struct.unpack(field_fmt[1], t.tensor_content)[0])
    return None


def folded_content(op: str, attrs: dict[str, Any], inputs: list[str | None]) -> str | None:
    """A digest of a constant-folded op: its TF op, attributes and its inputs' contents;
    None where an input's content is unknown."""
    if any(c is None for c in inputs):
        return None
    text = repr((op, sorted(attrs.items()), inputs)).encode()
    return hashlib.blake2b(text, digest_size=12).hexdigest()
