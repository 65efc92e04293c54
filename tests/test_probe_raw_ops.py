"""The generic one-node builder of any TF op (`tools.probe.raw_ops`): which of its
verdicts become table entries, and that the shipped ones are refusals by name."""

from __future__ import annotations

import json

from conftest import REPO

from tools.probe.cli import drop_raw_ops_not_refused
from tools.probe.raw_ops import GRADIENT_OPS, refused_by_name

TABLE = REPO / "rules" / "qlint_rules" / "capabilities" / "tflite-2.21.json"
REFUSAL = ("error: 'tf.{}' op is neither a custom op nor a flex op | error: failed while "
           "converting: 'main':")


def entry(op: str, outcome: str, message: str | None, ops: list[str] | None = None) -> dict:
    return {"probe": f"tf.raw_ops.{op} on [1, 4] inputs (float32)",
            "graphdef_ops": [op] if ops is None else ops, "lowers_to": None,
            "int8": {"outcome": outcome, "message": message}}


def test_only_a_refusal_naming_the_op_itself_is_kept() -> None:
    new = {
        "Dawsn": entry("Dawsn", "conversion_error", REFUSAL.format("Dawsn")),
        # refused, but the message names another op (a made-up operand's)
        "NthElement": entry("NthElement", "conversion_error", REFUSAL.format("Cast")),
        # converts on made-up inputs: its int8 verdict says nothing reliable
        "Softsign": entry("Softsign", "integer", None),
        # rewritten into other ops when traced: no node of the op was converted
        "Mod": entry("Mod", "conversion_error", REFUSAL.format("Mod"), ["FloorMod"]),
        "raw:Expint": entry("Expint", "conversion_error", REFUSAL.format("Expint"),
                            ["Expint"]),
    }
    kept, dropped = drop_raw_ops_not_refused(new, base={})
    assert sorted(kept) == ["Dawsn", "raw:Expint"] and dropped == 3
    # an entry the table had keeps its place whatever this run found
    kept, dropped = drop_raw_ops_not_refused({"Softsign": new["Softsign"]},
                                             base={"Softsign": {}})
    assert list(kept) == ["Softsign"] and dropped == 0


def test_gradient_ops_are_not_enumerated() -> None:
    assert GRADIENT_OPS.fullmatch("ReluGrad") and GRADIENT_OPS.fullmatch("SqrtGrad")
    assert not GRADIENT_OPS.fullmatch("Relu6") and not GRADIENT_OPS.fullmatch("Digamma")


def test_every_shipped_entry_of_the_generic_builder_is_a_refusal_by_name() -> None:
    tf_ops = json.loads(TABLE.read_text(encoding="utf-8"))["tf_ops"]
    raw = {k: e for k, e in tf_ops.items() if str(e.get("probe")).startswith("tf.raw_ops.")
           and " inputs (" in str(e.get("probe"))}
    assert len(raw) > 100
    assert all(refused_by_name(k, e) for k, e in raw.items())
