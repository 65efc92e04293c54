"""Generic builders for the public TensorFlow functions (``@functions``).

`enumerate_tf_functions` lists the public functions of `TF_MODULES` and the top-level
``tf.<fn>`` functions that are not aliases of those (``tf.add`` is ``tf.math.add``) and
not in `NOT_A_MODEL_FUNCTION`.  `function_builder` applies one of them to one or two
float tensors of the first of `FUNCTION_SHAPES` it accepts; remaining required
parameters get a value by name from `BUILD_VALUES` (sized to the input shape).  These say
how to build a model, never what the probe will find; a function that builds in none of
these ways is left out of the table.

Keys: ``tf.<module>.<fn>`` and ``tf.<fn>``.  The builder name records the parameters
filled from `BUILD_VALUES` (``tf.searchsorted(values)``), the element used when the
function returns a tuple or list (``tf.math.top_k [0]``) and the input shape when it is
not (1, 16).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tools.probe.builders import Arg, Builder

TF_MODULES = ("math", "nn", "linalg", "image", "signal")
# Argument value range of the generic builders: inside the domain of acos, atanh, log, ...
UNIT = Arg((1, 16), lo=0.1, hi=0.9)

#: Input shapes a function is tried on, in order: a vector batch, then an RGB image batch
#: (``tf.image`` colour-space functions need three channels).  Without build values the
#: function is tried on these first, so the entries probed before build values existed
#: keep their shape and arity.
FUNCTION_SHAPES: tuple[tuple[int, ...], ...] = ((1, 16), (1, 4, 4, 3))
#: Further shapes tried with build values: an image batch with four channels
#: (depth_to_space, 2-D pooling), a 5-D volume (3-D pooling and convolution), a batch of
#: square matrices (tf.linalg) and a 1-D vector (unique, 1-D only functions).
MORE_SHAPES: tuple[tuple[int, ...], ...] = ((1, 8, 8, 4), (1, 2, 4, 4, 3), (1, 4, 4), (16,))

#: Top-level ``tf.<fn>`` names that are not model ops (why, one line each).
NOT_A_MODEL_FUNCTION: dict[str, str] = {
    "print": "writes to a stream as a side effect",
    "py_function": "runs Python code, not a graph op",
    "numpy_function": "runs Python code, not a graph op",
    "function": "the tracing decorator",
    "load_library": "loads a shared library into the process",
    "load_op_library": "loads a shared library into the process",
    "import_graph_def": "imports a GraphDef into the current graph",
    "register_tensor_conversion_function": "changes a process-wide registry",
    "no_gradient": "changes the process-wide gradient registry",
    "device": "a device placement context",
    "control_dependencies": "a control-dependency context",
    "init_scope": "a graph-lifting context",
    "variable_creator_scope": "a variable-creation context",
    "gradients": "builds a gradient graph, not an inference op",
    "hessians": "builds a gradient graph, not an inference op",
    "custom_gradient": "a gradient decorator",
    "recompute_grad": "a gradient decorator",
    "grad_pass_through": "a gradient decorator",
    "nondifferentiable_batch_function": "a batching decorator",
    "Assert": "a runtime check, no computation",
    "timestamp": "reads the wall clock",
    "executing_eagerly": "asks the runtime's mode",
    "inside_function": "asks the runtime's mode",
    "check_pinned": "inspects buffer placement",
    "constant": "makes a constant, no computation on its input",
    "convert_to_tensor": "a conversion, no computation",
    "type_spec_from_value": "returns a type spec",
    "group": "groups side effects into a no-op",
    "no_op": "does nothing",
    "tuple": "groups tensors with control dependencies",
}
#: Top-level name prefixes that are not model ops.
NOT_A_MODEL_PREFIX: dict[str, str] = {
    "assert_": "runtime checks, no computation",
    "get_": "getters of runtime state",
    "is_": "predicates on Python objects",
    "make_": "make protos or arrays, not ops",
    "as_": "conversions of Python objects",
}


def _spatial(s: tuple[int, ...]) -> int:
    """The number of spatial dimensions of a batch-first, channels-last input; refuses
    inputs without one (some kernels abort the process on them instead of raising)."""
    if len(s) < 3:
        raise ValueError(f"{s} has no spatial dimension")
    return len(s) - 2


def _shape_array(fill: float, dtype: str = "float32") -> Callable[[tuple[int, ...]], Any]:
    return lambda s: np.full((1, *s[1:]), fill, dtype)


# Values for the parameters a function requires beyond its float tensor(s), by name: plain
# values or a callable of the input shape.  They say how to build a model (an index in
# range, a size that fits the input), never what the probe finds.
BUILD_VALUES: dict[str, Any] = {
    # sizes and counts
    "k": 2, "nbins": 4, "num": 4, "num_segments": 2, "depth": 4, "repeats": 2,
    "num_or_size_splits": 2, "block_size": 2, "frame_length": 4, "frame_step": 2,
    "num_lower": 1, "num_upper": 1, "num_partitions": 2, "max_output_size": 4,
    # index and shape arguments, sized to the input
    "axis": -1, "shift": 1, "seq_axis": 1, "batch_axis": 0,
    "axes": lambda s: list(range(1, len(s))),
    "perm": lambda s: list(reversed(range(len(s)))),
    "multiples": lambda s: [1] * (len(s) - 1) + [2],
    "shape": lambda s: [2, *s[1:]],
    "paddings": lambda s: [[0, 0]] * (len(s) - 1) + [[1, 1]],
    "begin": lambda s: [0] * len(s),
    "end": lambda s: list(s),
    "seq_lengths": lambda s: np.full((s[0],), max(1, s[1] // 2) if len(s) > 1 else 1, "int64"),
    "segment_ids": lambda s: np.zeros((s[0],), "int32"),
    "partitions": lambda s: np.zeros((s[0],), "int32"),
    "mask": lambda s: np.ones((s[0],), bool),
    "indices": [[0]], "ids": [0], "box_indices": lambda s: np.zeros((s[0],), "int32"),
    "block_shape": [2, 2], "crops": [[0, 0], [0, 0]],
    "updates": _shape_array(0.5),
    "sorted_sequence": lambda s: np.linspace(0.0, 1.0, 8, dtype="float32")[None].repeat(
        s[0], 0) if len(s) == 2 else np.linspace(0.0, 1.0, 8, dtype="float32"),
    "values": lambda s: np.full((*s[:-1], 3), 0.5, "float32"),
    "value_range": [0.0, 1.0],
    "coeffs": [1.0, -2.0, 0.5],
    "bias": lambda s: np.full((s[-1],), 0.1, "float32"),
    "mean": 0.5, "variance": 1.0, "offset": 0.0, "scale": 1.0, "variance_epsilon": 1e-3,
    "clip_value_min": 0.2, "clip_value_max": 0.8, "clip_norm": 1.0, "max_val": 1.0,
    "pos_weight": 2.0, "rate": 0.3, "start": 0.0, "stop": 1.0,
    "delta": 0.1, "contrast_factor": 2.0, "saturation_factor": 2.0, "gamma": 1.2,
    "max_delta": 0.2, "lower": 0.5, "upper": 1.5, "central_fraction": 0.5,
    "seed": (1, 2), "dtype": "int32", "type": "int32",
    # image boxes and sizes (a (1, 4, 4, 3) image: offset 1 + target 2 fits)
    "size": [8, 8], "crop_size": [2, 2], "target_height": 2, "target_width": 2,
    "offset_height": 1, "offset_width": 1,
    "boxes": lambda s: np.tile(np.array([[0.0, 0.0, 1.0, 1.0]], "float32"), (s[0], 1)),
    "offsets": lambda s: np.zeros((s[0], 2), "float32"),
    # pooling and convolution
    "ksize": lambda s: [1, *[2] * _spatial(s), 1], "pooling_type": "AVG",
    "window_shape": lambda s: [2] * _spatial(s),
    "strides": lambda s: [1] * (_spatial(s) + 2), "stride": 1, "padding": "SAME",
    "sizes": lambda s: [1, 2, 2, 1], "rates": lambda s: [1, 1, 1, 1],
    "filters": lambda s: np.full((*[2] * _spatial(s), s[-1], 4), 0.1, "float32"),
    "filter": lambda s: np.full((*[2] * _spatial(s), s[-1], 1), 0.1, "float32"),
    "pooling_ratio": lambda s: [1.0, 1.5, 1.5, 1.0],
    "depthwise_filter": lambda s: np.full((2, 2, s[-1], 1), 0.1, "float32"),
    "pointwise_filter": lambda s: np.full((1, 1, s[-1], 4), 0.1, "float32"),
    "output_shape": lambda s: [s[0], *s[1:-1], 4],
}
# Transposed convolutions take filters as (spatial..., out, in).
_TRANSPOSED = {"filters": lambda s: np.full((*[2] * _spatial(s), 4, s[-1]), 0.1, "float32")}
_MORPHOLOGY = {"filters": lambda s: np.full((2, 2, s[-1]), 0.1, "float32"),
               "dilations": [1, 1, 1, 1], "data_format": "NHWC"}
# Where one function needs another value than `BUILD_VALUES` gives its parameter name.
# These are also passed when the parameter has a default (``tf.reverse_sequence``'s
# ``seq_axis`` defaults to None but is needed).
FUNCTION_VALUES: dict[str, dict[str, Any]] = {
    "tf.reverse_sequence": {"seq_axis": 1},
    "tf.reshape": {"shape": [-1, 2]},
    "tf.ensure_shape": {"shape": lambda s: list(s)},
    "tf.slice": {"size": lambda s: [1] * len(s)},
    "tf.nn.atrous_conv2d": {"rate": 2},
    "tf.image.random_crop": {"size": lambda s: [s[0], 2, 2, s[-1]]},
    "tf.image.stateless_random_crop": {"size": lambda s: [s[0], 2, 2, s[-1]]},
    "tf.space_to_batch_nd": {"paddings": [[0, 0], [0, 0]]},
    "tf.nn.space_to_batch": {"paddings": [[0, 0], [0, 0]]},
    "tf.nn.conv1d_transpose": _TRANSPOSED, "tf.nn.conv2d_transpose": _TRANSPOSED,
    "tf.nn.conv3d_transpose": _TRANSPOSED, "tf.nn.conv_transpose": _TRANSPOSED,
    "tf.nn.atrous_conv2d_transpose": _TRANSPOSED,
    "tf.nn.dilation2d": _MORPHOLOGY, "tf.nn.erosion2d": _MORPHOLOGY,
    "tf.linalg.tensordot": {"axes": lambda s: [[len(s) - 1], [len(s) - 1]]},
    "tf.reverse": {"axis": [-1]},
    # padding needs target >= offset + image size
    "tf.image.pad_to_bounding_box": {"target_height": 8, "target_width": 8},
    "tf.image.resize_with_crop_or_pad": {"target_height": 6, "target_width": 6},
}
OUT_DTYPES = ("float32", "int32", "int64", "bool")


def skip_reason(name: str) -> str | None:
    """Why top-level ``tf.<name>`` is not probed, or None."""
    if name in NOT_A_MODEL_FUNCTION:
        return NOT_A_MODEL_FUNCTION[name]
    for prefix, why in NOT_A_MODEL_PREFIX.items():
        if name.startswith(prefix):
            return why
    return None


def enumerate_tf_functions(tf: Any) -> list[str]:
    """``tf.<module>.<fn>`` names of the public functions of `TF_MODULES`, then the
    top-level ``tf.<fn>`` functions that are neither their aliases nor skipped."""
    out, seen = [], set()
    for mod in TF_MODULES:
        m = getattr(tf, mod)
        for n in dir(m):
            obj = getattr(m, n)
            if not n.startswith("_") and callable(obj) and not inspect.isclass(obj):
                out.append(f"tf.{mod}.{n}")
                seen.add(id(obj))
    top = []
    for n in dir(tf):
        obj = getattr(tf, n)
        if (n.startswith("_") or not callable(obj) or inspect.isclass(obj)
                or inspect.ismodule(obj) or id(obj) in seen or skip_reason(n)):
            continue
        top.append(f"tf.{n}")
    return sorted(out) + sorted(top)


def _required(fn: Any) -> list[str] | None:
    """The names of ``fn``'s parameters without a default, None if not inspectable."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [p.name for p in params if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY)]


def placements(required: list[str], n: int, values: dict[str, Any]) -> list[tuple[list[str],
                                                                                 list[str]]]:
    """Ways to call a function with ``n`` float tensors: (tensor parameters, filled
    parameters).  The first tensor takes the first required parameter, or else the first
    that has no build value; a second tensor takes the next parameter without a build value
    (never a filter or index argument); every other required parameter needs a build
    value."""
    out: list[tuple[list[str], list[str]]] = []
    free = [p for p in required if p not in values]
    for first in required[:1] + free[:1]:
        tensors = [first, *[p for p in free if p != first][:n - 1]]
        if len(tensors) < n:
            continue
        rest = [p for p in required if p not in tensors]
        if all(p in values for p in rest) and (tensors, rest) not in out:
            out.append((tensors, rest))
    return out


def _resolve(tf: Any, path: str) -> Any:
    obj = tf
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def function_builder(path: str) -> Builder:
    """``tf.<module>.<fn>`` / ``tf.<fn>`` applied to one float input, else to two, of the
    first of `FUNCTION_SHAPES` it accepts; then with the remaining required parameters
    from `BUILD_VALUES` on `FUNCTION_SHAPES` and `MORE_SHAPES` (found at build time)."""
    chosen: dict[str, Any] = {}
    values = {**BUILD_VALUES, **FUNCTION_VALUES.get(path, {})}

    def make(tf: Any, keras: Any, rng: np.random.Generator) -> Any:
        fn = _resolve(tf, path)
        required = _required(fn)
        if required is not None:  # FUNCTION_VALUES are passed even where there is a default
            required += [p for p in FUNCTION_VALUES.get(path, {}) if p not in required]
        tries: list[tuple[tuple[int, ...], int, list[str] | None, list[str]]] = [
            (shape, n, None, []) for shape in FUNCTION_SHAPES for n in (1, 2)]
        if required is not None:
            tries += [(shape, n, tensors, rest) for shape in FUNCTION_SHAPES + MORE_SHAPES
                      for n in (1, 2) for tensors, rest in placements(required, n, values)
                      if rest or shape in MORE_SHAPES]
        errors = []
        for shape, n, tensors, rest in tries:
            size = int(np.prod(shape))
            x = tf.constant(np.linspace(0.1, 0.9, size, dtype="float32").reshape(shape))
            try:
                fill = {p: values[p](shape) if callable(values[p]) else values[p]
                        for p in rest}
                call = _caller(fn, tensors, fill)
                out = call(*[x] * n)
                element = _element(tf, out)
            except Exception as exc:
                errors.append(f"{shape} x{n}: {type(exc).__name__}: {exc}")
                continue
            label = path + (f"({', '.join(rest)})" if rest else "")
            label += f" [{element}]" if element is not None else ""
            chosen.update(arity=n, shape=shape, name=label)
            return lambda *xs: _pick(call(*xs), element)
        raise ValueError(" | ".join(errors[-2:]))

    b = Builder(path, make, (UNIT,))
    b.extra["arity_search"] = True
    b.extra["chosen"] = chosen
    return b


def _caller(fn: Any, tensors: list[str] | None, fill: dict[str, Any]) -> Callable[..., Any]:
    if tensors is None:
        return lambda *xs: fn(*xs)
    return lambda *xs: fn(**dict(zip(tensors, xs, strict=True)), **fill)


def _pick(out: Any, element: int | None) -> Any:
    return out if element is None else out[element]


def _element(tf: Any, out: Any) -> int | None:
    """None when ``out`` is one tensor of a model dtype, else the index of the first
    tensor of a tuple or list; raises when there is none."""
    if isinstance(out, (tuple, list)):
        idx = next((i for i, o in enumerate(out) if tf.is_tensor(o)), None)
        if idx is None:
            raise TypeError(f"returns {type(out).__name__} without a tensor")
        _check(tf, out[idx])
        return idx
    _check(tf, out)
    return None


def _check(tf: Any, out: Any) -> None:
    if not tf.is_tensor(out) or out.dtype.name not in OUT_DTYPES:
        kind = out.dtype.name if tf.is_tensor(out) else type(out).__name__
        raise TypeError(f"returns {kind}, not one tensor")
