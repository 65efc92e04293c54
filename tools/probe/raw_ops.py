"""Generic builders for TF ops by name: one node of the op on made-up inputs.

Most TF ops have no TFLite lowering, and the converter refuses such an op whatever its
inputs are (``'tf.X' op is neither a custom op nor a flex op``).  `resolve_raw_op`
calls ``tf.raw_ops.<X>`` on inputs typed from the op's registered definition (float32
where the op allows it, else int32, int64 or bool; two tensors for a list input),
giving required attributes that no input types a plain value, in several
configurations (`CONFIGS`: integer operands constant scalars or constant tensors, the
float operands after the first model inputs or constant scalars; each on the first of
`SHAPES` it traces with).  It asks the real converter (``TFLITE_BUILTINS``) about each;
an op refused by name in every configuration gets the builder of the first, which the
probe then converts for its int8 verdict, and an op any configuration converts gets the
builder of that one.  This way the converter can be asked for every op of the
installed TensorFlow (`enumerate_raw_ops`), and an op refused only because a made-up
operand is not constant or has the wrong shape is not taken for one without a lowering.
Only refusals of the op itself become table entries (`refused_by_name`): with made-up
inputs, an op that converts says nothing reliable about its int8 kernel, and such an op
stays unknown to qlint.

This says how to build the model, never what the probe will find.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

#: Input dtypes tried in order where the op's definition allows several.
PREFERRED = ("float32", "int32", "int64", "bool")
#: Input shapes tried in order (the model inputs): a row, a square matrix, a vector, an
#: image.
SHAPES: tuple[tuple[int, ...], ...] = ((1, 4), (4, 4), (4,), (1, 4, 4, 3))
#: (integer operands constant scalars, float operands after the first constant scalars)
CONFIGS: tuple[tuple[bool, bool], ...] = ((True, False), (False, False), (True, True),
                                          (False, True))
#: Value of a required attribute that no input types, by attribute type.
ATTR_VALUES: dict[str, Any] = {"int": 1, "float": 0.5, "bool": False, "type": "float32",
                               "list(int)": [1], "list(float)": [0.5], "string": "",
                               "shape": [1, 4], "list(type)": ["float32"]}
#: Gradient ops, which no inference graph holds: not built.  Ops whose inputs are
#: resources, variants, strings or references are not built either (`resolve_raw_op`).
GRADIENT_OPS = re.compile(r".*(Grad|GradV2|GradGrad|Gradient|GradientV2)$")
REFUSED = "'tf.{}' op is neither a custom op nor a flex op"


def _dtype_name(tf: Any, enum: int) -> str:
    return str(tf.as_dtype(enum).name)


def _allowed(tf: Any, op_def: Any, attr_name: str) -> list[str]:
    for a in op_def.attr:
        if a.name == attr_name:
            return [_dtype_name(tf, t) for t in a.allowed_values.list.type]
    return []


def _pick(allowed: list[str]) -> str | None:
    if not allowed:
        return PREFERRED[0]
    return next((d for d in PREFERRED if d in allowed), None)


def resolve_raw_op(tf: Any, name: str) -> Builder:
    """A builder of one ``tf.raw_ops.<name>`` node on typed made-up inputs: of the first
    configuration the converter does not refuse the op in, else of the first (raises
    ``ValueError`` when the definition asks for inputs it cannot make or no
    configuration traces)."""
    fn = getattr(tf.raw_ops, name, None)
    slots, layout, attrs = _signature(tf, name)
    floats = [k for k, d in enumerate(slots) if d in ("float32", "bool")]
    built: list[Builder] = []
    errors: list[str] = []
    for int_scalar, float_scalar in CONFIGS:
        fed = (floats[:1] if float_scalar else floats) or [0]
        if float_scalar and len(floats) < 2:
            continue  # the same as a configuration before it
        for shape in SHAPES:
            call = _caller(tf, fn, name, attrs, layout, slots, fed, shape, int_scalar)
            args = tuple(Arg(shape, slots[k], *((0, 4) if slots[k].startswith("int")
                                                else (0.1, 0.9))) for k in fed)
            sig = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for a in args]
            try:
                cf = tf.function(call, input_signature=sig).get_concrete_function()
            except Exception as exc:  # the next shape; keep TF's reason
                errors.append(f"{list(shape)}: {type(exc).__name__}: {str(exc)[-200:]}")
                continue
            consts = len(slots) - len(fed)
            what = ", ".join(slots[k] for k in fed) + (
                f"; {consts} constant {'scalar' if int_scalar else 'tensor'} operand(s)"
                if consts else "")
            b = Builder(f"tf.raw_ops.{name} on {list(shape)} inputs ({what})",
                        (lambda c: lambda tf, keras, rng: c)(call), args)
            if not _refused(tf, cf, name):
                return b
            built.append(b)
            break
    if not built:
        raise ValueError(" | ".join(errors[-2:]) or f"{name}: no configuration")
    return built[0]


def _signature(tf: Any, name: str) -> tuple[list[str], list[tuple[str, int, bool]],
                                            dict[str, Any]]:
    """The dtype of each input tensor, the op's arguments (name, tensors, is a list) and
    the attributes to pass."""
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(name)
    if op_def is None or getattr(tf.raw_ops, name, None) is None:
        raise ValueError(f"{name} is no registered op of this TensorFlow")
    if not op_def.input_arg:
        raise ValueError(f"{name} takes no input")
    slots: list[str] = []
    layout: list[tuple[str, int, bool]] = []
    typed: set[str] = set()
    for ia in op_def.input_arg:
        if ia.is_ref or ia.type_list_attr:
            raise ValueError(f"input {ia.name} is a reference or a list of types")
        if ia.type:
            dtype: str | None = _dtype_name(tf, ia.type)
        else:
            dtype = _pick(_allowed(tf, op_def, ia.type_attr))
            typed.add(ia.type_attr)
        if dtype not in PREFERRED:
            raise ValueError(f"input {ia.name} needs {dtype or 'an unsupported type'}")
        count = 2 if ia.number_attr else 1
        if ia.number_attr:
            typed.add(ia.number_attr)
        slots.extend([dtype] * count)
        layout.append((ia.name, count, bool(ia.number_attr)))
    return slots, layout, _attr_values(tf, op_def, typed)


def _caller(tf: Any, fn: Any, name: str, attrs: dict[str, Any],
            layout: list[tuple[str, int, bool]], slots: list[str], fed: list[int],
            shape: tuple[int, ...], int_scalar: bool) -> Any:
    """The function of the model inputs ``fed`` calling the op; the other operands are
    constants: float ones the scalar 0.5, integer ones the scalar 1 (``int_scalar``) or
    a tensor of ``shape`` holding 0 to 3."""

    def const(k: int) -> Any:
        if slots[k] in ("float32", "bool"):
            return tf.constant(0.5 if slots[k] == "float32" else True, slots[k])
        if int_scalar:
            return tf.constant(1, slots[k])
        return tf.constant((np.arange(int(np.prod(shape, dtype=np.int64))) % 4).reshape(shape),
                           slots[k])

    def call(*xs: Any) -> Any:
        given = dict(zip(fed, xs, strict=True))
        tensors = [given[k] if k in given else const(k) for k in range(len(slots))]
        kw: dict[str, Any] = dict(attrs)
        i = 0
        for arg, count, is_list in layout:
            kw[arg] = tensors[i:i + count] if is_list else tensors[i]
            i += count
        out = fn(**kw)
        if isinstance(out, (list, tuple)):
            out = next((t for t in out if hasattr(t, "dtype")), None)
        if out is None:
            raise ValueError(f"{name} returns no tensor")
        return out

    return call


def _refused(tf: Any, concrete: Any, name: str) -> bool:
    """True when the converter (``TFLITE_BUILTINS``) refuses op ``name`` by name."""
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        conv.convert()
    except Exception as exc:
        return REFUSED.format(name) in str(exc)
    return False


def _attr_values(tf: Any, op_def: Any, typed: set[str]) -> dict[str, Any]:
    """A plain value for each required attribute that no input types (`ATTR_VALUES`)."""
    attrs: dict[str, Any] = {}
    for a in op_def.attr:
        if a.name in typed or a.HasField("default_value"):
            continue
        if a.type not in ATTR_VALUES:
            raise ValueError(f"attribute {a.name} of type {a.type} needs a value")
        value = ATTR_VALUES[a.type]
        if a.type == "type":
            value = getattr(tf, _pick(_allowed(tf, op_def, a.name)) or "float32")
        attrs[a.name] = value
    return attrs


def raw_op_builder(name: str) -> Builder:
    """A builder resolved in the probe worker (`resolve_raw_op`), where TF is imported."""
    return Builder(f"tf.raw_ops.{name}", lambda tf, keras, rng: None, (),
                   extra={"resolve": lambda tf: resolve_raw_op(tf, name)})


def enumerate_raw_ops(tf: Any) -> list[str]:
    """The ops of ``tf.raw_ops`` but the gradient ops (`GRADIENT_OPS`)."""
    return sorted(n for n in dir(tf.raw_ops)
                  if re.fullmatch(r"[A-Z]\w*", n) and not GRADIENT_OPS.fullmatch(n))


def refused_by_name(key: str, entry: dict[str, Any]) -> bool:
    """True when the strict int8 conversion failed naming the op itself as no builtin."""
    i8 = entry.get("int8") or {}
    return i8.get("outcome") == "conversion_error" and key in (entry.get("graphdef_ops") or ()) \
        and REFUSED.format(key) in (i8.get("message") or "")
