"""Facts a ``.tflite`` file cannot tell, and what a probed condition on one says there.

A few probed conditions are on the source graph as the converter sees it before it
merges ops alike: ``merged_negated`` (`qlint.sibling_slices`) tells keys and values
projected by kernels of the same bytes, which the converter merges into one projection,
from one projection read twice.  The probe kept the reader of such a tensor float in most
conversions where the kernels were merged and int8 in every one where one projection was
read twice; a converted ``.tflite`` file is merged already and shows the two alike.

On a ``.tflite`` file such a fact is left unknown where the structure it needs is
present (and false where it is absent), and a probed condition that holds but for it
*may* hold: QL101 then says the op *may* stay float, never that it does, and names what
the file cannot show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qlint.conditions import holds

#: Fact -> what a ``.tflite`` file cannot show of it, as a finding says it.
UNKNOWABLE_ON_TFLITE: dict[str, str] = {
    "merged_negated": (
        "the probe saw this where keys and values were projected by kernels of the same "
        "bytes, which the converter merged; a .tflite file cannot tell that from one "
        "projection read twice, int8 in every probed conversion"),
}


def may_hold(conds: Iterable[Mapping[str, Any]], facts: Mapping[str, Any]) -> bool:
    """Whether every condition holds, or is on a fact of `UNKNOWABLE_ON_TFLITE` that
    ``facts`` leave unknown (and at least one is): the op *may* meet the conditions."""
    unknowable = False
    for cond in conds:
        result = holds(cond, facts)
        if result is True:
            continue
        if result is None and cond.get("fact") in UNKNOWABLE_ON_TFLITE:
            unknowable = True
            continue
        return False
    return unknowable


def unknowable_in(conds: Iterable[Mapping[str, Any]]) -> list[str]:
    """What a ``.tflite`` file cannot show of the facts ``conds`` name, in order."""
    return [UNKNOWABLE_ON_TFLITE[f] for c in conds
            if (f := c.get("fact")) in UNKNOWABLE_ON_TFLITE]
