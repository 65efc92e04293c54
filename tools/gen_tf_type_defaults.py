"""Write the default values of TF ops' type attributes, which a SavedModel leaves out.

Usage::

    python -m tools.gen_tf_type_defaults          write linter/qlint/loaders/tf_type_defaults.json
    python -m tools.gen_tf_type_defaults --check  exit 1 when the file differs

A GraphDef saved with its default attributes stripped has no ``T`` on a ``LeakyRelu`` of
float32 (``T`` defaults to ``DT_FLOAT``), so the SavedModel loader cannot read the dtype
of its result from the node.  The defaults come from the op definitions TensorFlow
registers (``op_def_registry``), for the type attributes the loader reads an output's
dtype from (`qlint.loaders.savedmodel_dtypes`), with TensorFlow's version; regenerated,
never typed.  Linting reads the JSON file and never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.generated import REPO, json_main

OUT = REPO / "linter" / "qlint" / "loaders" / "tf_type_defaults.json"
#: The type attributes an output's dtype is read from (`savedmodel_dtypes.output_dtype`).
ATTRS = ("T", "Tparams", "dtype", "out_type", "output_type", "Tidx", "Tcomplex", "DstT",
         "Treal", "Tout")


def collect() -> dict[str, Any]:
    """{"tensorflow": version, "ops": {op: {attr: dtype}}} for every registered op with a
    default on one of `ATTRS`."""
    import tensorflow as tf
    from tensorflow.python.framework import dtypes, op_def_registry

    ops: dict[str, dict[str, str]] = {}
    for name in sorted(n for n in dir(tf.raw_ops) if not n.startswith("_")):
        op_def = op_def_registry.get(name)
        if op_def is None:
            continue
        for a in op_def.attr:
            if a.type == "type" and a.name in ATTRS and a.HasField("default_value"):
                ops.setdefault(name, {})[a.name] = dtypes.as_dtype(a.default_value.type).name
    return {"tensorflow": tf.__version__, "ops": ops}


def main(argv: Sequence[str] | None = None) -> int:
    return json_main(argv, __doc__ or "", OUT, "python -m tools.gen_tf_type_defaults",
                     collect, sort_keys=True)


if __name__ == "__main__":
    raise SystemExit(main())
