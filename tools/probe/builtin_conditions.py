"""A probe's conditions on a SavedModel op's named outputs, as they read on the TFLite
builtin it lowers to: ``used_outputs`` (``["indices"]`` of a TopKV2) becomes the
``used_output_slots`` the unquantized conversion of the probe model wires (``[1]``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tools.probe.builders import Builder

#: Loads a converted model into an interpreter (the worker's, without default delegates).
Interpreter = Callable[[bytes], Any]


def used_output_slots(buf: bytes, interpreter: Interpreter) -> dict[str, set[tuple[int, ...]]]:
    """For each op with more than one output in subgraph 0 of a converted model: the
    output slots read by another op or returned by the model, per instance."""
    interp = interpreter(buf)
    details = interp._get_ops_details()
    read = {int(i) for d in details for i in d["inputs"]}
    read.update(int(d["index"]) for d in interp.get_output_details())
    out: dict[str, set[tuple[int, ...]]] = {}
    for d in details:
        outs = [int(i) for i in d["outputs"]]
        if len(outs) > 1:
            used = tuple(slot for slot, t in enumerate(outs) if t >= 0 and t in read)
            out.setdefault(d["op_name"], set()).add(used)
    return out


def builtin_when(builder: Builder, ref_buf: bytes, interpreter: Interpreter
                 ) -> list[dict[str, Any]] | None:
    """A variant's ``when`` as it reads on the TFLite builtin the op lowers to.

    A condition on the SavedModel op's named outputs (``used_outputs``, e.g.
    ``["indices"]`` of a TopKV2) becomes one on the builtin's output slots
    (``used_output_slots``), as the unquantized conversion of the probe model wires
    them; ``None`` when the entry has no such condition or the slots are not one
    measured value."""
    when = builder.extra.get("when")
    if not isinstance(when, list) or not any(c.get("fact") == "used_outputs" for c in when):
        return None
    try:
        slots = used_output_slots(ref_buf, interpreter)
    except Exception:
        return None
    seen = {u for per_op in slots.values() for u in per_op}
    if len(slots) != 1 or len(seen) != 1:
        return None
    (used,) = seen
    return [{"fact": "used_output_slots", "eq": list(used)} if c.get("fact") == "used_outputs"
            else dict(c) for c in when]


def builtin_carry_when(builder: Builder, ref_buf: bytes, interpreter: Interpreter
                       ) -> dict[str, list[dict[str, Any]]] | None:
    """A chain's ``carry_when`` as it reads on the builtins: each condition on a builtin's
    ``used_outputs`` becomes one on its ``used_output_slots``, as the unquantized
    conversion of the probe model wires them; ``None`` when there is no such condition,
    or the slots of a builtin it names are not one measured value."""
    carry = builder.extra.get("carry_when")
    if not isinstance(carry, dict) or not any(
            c.get("fact") == "used_outputs" for conds in carry.values() for c in conds):
        return None
    try:
        slots = used_output_slots(ref_buf, interpreter)
    except Exception:
        return None
    out: dict[str, list[dict[str, Any]]] = {}
    for builtin, conds in carry.items():
        seen = slots.get(builtin, set())
        if any(c.get("fact") == "used_outputs" for c in conds) and len(seen) != 1:
            return None
        out[builtin] = [{"fact": "used_output_slots", "eq": list(next(iter(seen)))}
                        if c.get("fact") == "used_outputs" else dict(c) for c in conds]
    return out
