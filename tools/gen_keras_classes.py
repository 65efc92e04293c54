"""Write the Keras built-in class names the Keras loader treats as known (not custom).

Usage::

    python -m tools.gen_keras_classes          write linter/qlint/loaders/keras_classes.json
    python -m tools.gen_keras_classes --check  exit 1 when the file differs

A layer in a ``.keras``/``.h5`` config is a Keras built-in when its class is one of the
layer and model classes that Keras 3 (``keras.layers``, ``keras.Model``, ...) or tf_keras
(``tf_keras.layers``, ``tf_keras.layers.experimental``) export; anything else is a custom
class whose code qlint cannot see.  The list comes from the installed packages, with their
versions, so it is regenerated, never typed.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from tools.generated import json_main

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "linter" / "qlint" / "loaders" / "keras_classes.json"


def _layer_classes(modules: Sequence[ModuleType], base: type) -> set[str]:
    names = set()
    for mod in modules:
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_"):
                names.add(name)
                names.add(obj.__name__)
    return names


def collect() -> dict[str, object]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tf_keras

    k3 = _layer_classes([keras.layers, keras.models, keras], keras.layers.Layer)
    k3 |= {"Functional", "Sequential", "Model"}
    tk = _layer_classes([tf_keras.layers, tf_keras.layers.experimental,
                         tf_keras.layers.experimental.preprocessing, tf_keras.models, tf_keras],
                        tf_keras.layers.Layer)
    tk |= {"Functional", "Sequential", "Model"}
    return {
        "generated_by": "python -m tools.gen_keras_classes",
        "versions": {"keras": keras.__version__, "tf_keras": tf_keras.__version__},
        "keras3": sorted(k3),
        "tf_keras": sorted(tk),
    }


def main(argv: Sequence[str] | None = None) -> int:
    return json_main(argv, __doc__ or "", OUT, "python -m tools.gen_keras_classes", collect)


if __name__ == "__main__":
    sys.exit(main())
