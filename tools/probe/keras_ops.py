"""Generic builders for Keras 3 operations called in a functional model.

``keras.ops.not_equal(x, 0)`` on a Keras tensor adds a node whose class is an
``Operation`` of ``keras.src.ops.*`` (``NotEqual``); a ``.keras`` file saves it like a
layer, with that module.  The qlint Keras loader names such a node ``ops.<Class>`` (an
operation may share its name with a layer: ``Add``, ``Dot``), and its table key is
``keras.ops.<Class>``.

`enumerate_keras_ops` lists the operation classes of the installed Keras whose function
`keras.ops` exports (found by the class name in snake case, in ``keras.ops`` or one of
its submodules); `op_builder` wraps one in a functional model, called on one float
input, else two, of the first of `SHAPES` it accepts, and the model is converted the way
users convert one, through its ``model.export()`` SavedModel (an unknown batch size: a
``zeros_like`` is not folded then, and the converter refuses a ``roll``).  This says how
to build the model, never what the probe will find; an operation that builds with none
of them is left out.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

#: The modules of Keras' operation classes.
OP_MODULES = ("numpy", "nn", "math", "core", "image", "linalg")
#: Values for required arguments after the input tensor(s), by parameter name: how to
#: build the model, never what the probe finds.
BUILD_VALUES: dict[str, Any] = {"x_min": -0.5, "x_max": 0.5, "k": 2, "indices": [0, 1],
                                "repeats": 2, "shift": 1, "n": 2, "axis": -1}
#: Operations whose tensors do not come first (``einsum(subscripts, *operands)``).
CALLS: dict[str, Any] = {
    "Einsum": lambda fn, x: fn("bi,bi->b", x, x),
    "Cast": lambda fn, x: fn(x, "int32"),
    "GetItem": lambda fn, x: fn(x, 0),
    "Concatenate": lambda fn, x: fn([x, x], axis=-1),
    "Matmul": lambda fn, x: fn(x, x[0][:, None]),
    "Swapaxes": lambda fn, x: fn(x, 0, 1),
    "Moments": lambda fn, x: sum(fn(x, axes=[1], keepdims=True)),
    "Pad": lambda fn, x: fn(x, [[0, 0], [1, 1]]),
    "Split": lambda fn, x: (lambda p: p[0] * p[1])(fn(x, 2, axis=-1)),  # both halves used
    "Reshape": lambda fn, x: fn(x, (1, 4, 4)),
    "DepthToSpace": lambda fn, x: fn(x, 2),
    "TakeAlongAxis": lambda fn, x: fn(x, np.arange(16, dtype="int32")[None, ::-1], axis=-1),
    "Stack": lambda fn, x: fn([x, x * 0.5], axis=1),
}
#: Operations whose outcome depends on how many arguments they are called with, keyed
#: ``<Class>(args=<n>)``: ``where(c)`` returns indices, ``where(c, x, y)`` selects.
ARITY_CALLS: dict[str, Any] = {
    "Where(args=3)": lambda fn, x: fn(x > 0.5, x, x * 0.5),
}
#: Input shapes tried in order (batch 1).
SHAPES: tuple[tuple[int, ...], ...] = ((1, 16), (1, 4, 4, 3), (1, 8, 8, 4))


def snake(name: str) -> str:
    """``NotEqual`` -> ``not_equal``, ``RGBToGrayscale`` -> ``rgb_to_grayscale``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def op_function(keras: Any, cls_name: str) -> Any:
    """The ``keras.ops`` function of an operation class, or ``None``."""
    name = snake(cls_name)
    for space in (keras.ops, *(getattr(keras.ops, m, None) for m in OP_MODULES)):
        fn = getattr(space, name, None) if space is not None else None
        if callable(fn):
            return fn
    return None


def enumerate_keras_ops(keras: Any) -> list[str]:
    """``keras.ops.<Class>`` keys of the installed Keras' operations with a function."""
    from keras.src.ops.operation import Operation

    out: dict[str, None] = {}
    for m in OP_MODULES:
        mod = importlib.import_module(f"keras.src.ops.{m}")
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) and issubclass(obj, Operation) and obj is not Operation
                    and obj.__module__ == mod.__name__ and op_function(keras, name)):
                out[f"keras.ops.{name}"] = None
    return sorted(out)


def _call(fn: Any, cls_name: str, ins: list[Any], variant: str | None = None) -> Any:
    """``fn`` on the input tensors, required arguments after them filled by name."""
    if variant is not None:
        return ARITY_CALLS[f"{cls_name}({variant})"](fn, *ins)
    if cls_name in CALLS:
        return CALLS[cls_name](fn, *ins)
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    extra = {p.name: BUILD_VALUES[p.name] for p in params[len(ins):]
             if p.default is inspect.Parameter.empty and p.name in BUILD_VALUES}
    return fn(*ins, **extra)


def op_builder(cls_name: str, variant: str | None = None) -> Builder:
    """A builder calling the ``keras.ops`` function of ``cls_name`` in a functional model
    (``variant``: ``args=<n>``, a call of `ARITY_CALLS`)."""
    chosen: dict[str, Any] = {}

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        fn = op_function(keras, cls_name)
        if fn is None:
            raise ValueError(f"keras.ops has no function for {cls_name}")
        errors = []
        for shape in SHAPES:
            for n in (1, 2):
                try:
                    ins = [keras.Input(shape=shape[1:], batch_size=shape[0]) for _ in range(n)]
                    out = _call(fn, cls_name, ins, variant)
                    if isinstance(out, (tuple, list)) and out:  # top_k: (values, indices)
                        out = out[0]
                    if not isinstance(out, keras.KerasTensor):
                        raise TypeError(f"returns {type(out).__name__}, not one tensor")
                    model = keras.Model(ins, out)
                    model([np.full(shape, 0.5, "float32")] * n if n > 1
                          else np.full(shape, 0.5, "float32"))
                except Exception as exc:  # the next shape or arity; keep Keras' reason
                    errors.append(f"{shape} x{n}: {type(exc).__name__}: {exc}")
                    continue
                chosen["shape"] = shape
                return model
        raise ValueError(" | ".join(errors[-2:]))

    label = f"keras.ops.{snake(cls_name)}" + (f"({variant})" if variant else "")
    b = Builder(label, make, (Arg((1, 16), lo=0.1, hi=0.9),),
                keras=f"ops.{cls_name}", saved_model=True)
    b.extra["shape_search"] = True
    b.extra["chosen"] = chosen
    return b
