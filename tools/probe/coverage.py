"""How much of the toolchain the probed tables cover.

    python -m tools.probe.coverage            # needs Keras to enumerate its layers
    python -m tools.probe.coverage --json

Three figures, each "N of M" with what is left and why:

* TF ops the converter legalizes (`tools.probe.legalized.LEGALIZED_TF_OPS`, from the
  converter's own pattern files): with a probed strict-int8 outcome in ``tf_ops``;
* public Keras 3 layers and activations (enumerated from the installed Keras);
* TFLite builtins of the converter's schema: with a probed int8 outcome (not ``unprobed``).

An entry counts as probed when its int8 outcome is ``integer``, ``float_fallback``,
``conversion_error`` or ``runtime_error``; ``unprobed`` entries keep their reason.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.probe.keras_layers import NOT_A_MODEL_LAYER
from tools.probe.legalized import LEGALIZED_TF_OPS, NOT_BUILDABLE

TABLE = (Path(__file__).resolve().parents[2] / "rules" / "qlint_rules" / "capabilities"
         / "tflite-2.21.json")
PROBED = frozenset({"integer", "float_fallback", "conversion_error", "runtime_error"})


def _outcome(entry: dict[str, Any] | None) -> str:
    return str(((entry or {}).get("int8") or {}).get("outcome", "missing"))


def coverage(table: dict[str, Any], layers: list[str], acts: list[str]) -> dict[str, Any]:
    """The three coverage figures of a ``tflite-*.json`` table."""
    tf_ops = table.get("tf_ops") or {}
    out: dict[str, Any] = {}
    left = {op: NOT_BUILDABLE.get(op) or (tf_ops.get(op) or {}).get("int8", {}).get("message")
            or _outcome(tf_ops.get(op)) for op in LEGALIZED_TF_OPS
            if _outcome(tf_ops.get(op)) not in PROBED}
    out["tf_ops"] = {"probed": len(LEGALIZED_TF_OPS) - len(left),
                     "of": len(LEGALIZED_TF_OPS), "left": left}
    keys = {f"keras.{c}": c for c in layers} | {f"keras.Activation({a})": a for a in acts
                                                if a != "linear"}
    left = {}
    for key, name in keys.items():
        if name in NOT_A_MODEL_LAYER:
            left[key] = f"not probed: {NOT_A_MODEL_LAYER[name]}"
            continue
        variants = [v for k, v in tf_ops.items() if k == key or k.startswith(key + "(")]
        if not any(_outcome(v) in PROBED for v in variants):
            msg = next(((v.get("int8") or {}).get("message") for v in variants), None)
            left[key] = msg or "no entry"
    out["keras"] = {"probed": len(keys) - len(left), "of": len(keys), "left": left}
    modes = table["modes"]["int8"]
    left = {op: e.get("message") or "unprobed" for op, e in modes.items()
            if e.get("outcome") not in PROBED}
    out["builtins"] = {"probed": len(modes) - len(left), "of": len(modes), "left": left}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--table", type=Path, default=TABLE)
    args = ap.parse_args(argv)
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from tools.probe.keras_layers import enumerate_keras

    layers, acts = enumerate_keras(keras)
    cov = coverage(json.loads(args.table.read_text(encoding="utf-8")), layers, acts)
    if args.json:
        print(json.dumps(cov, indent=1, sort_keys=True))
        return 0
    names = {"tf_ops": "TF ops the converter legalizes", "keras": "Keras 3 layers and activations",
             "builtins": "TFLite builtins"}
    for k, c in cov.items():
        print(f"{names[k]}: probed {c['probed']} of {c['of']}")
        for name, why in sorted(c["left"].items()):
            print(f"  {name}: {str(why)[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
