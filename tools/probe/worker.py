"""The probe's worker process: builds, converts and runs one small model per job.

The parent (`tools.probe.runner`) starts this in a child process and sends jobs
over a pipe, so that a hanging or crashing converter/interpreter cannot stall the
run.  TensorFlow is imported only by ``builtin``/``tf_op``/``info`` jobs; ``tflm``
jobs import only ``tflite_micro``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from tools.probe.builders import HARNESS, Arg, Builder, builtin_plan
from tools.probe.builtin_conditions import builtin_carry_when, builtin_when
from tools.probe.classify import (
    CONVERSION_OPS,
    OpInfo,
    classify_target,
    float_op_counts,
    float_ops,
    op_names,
)
from tools.probe.messages import condense
from tools.probe.tf_ops import TF_OP_BUILDERS, builder_for

TFLM_ARENA_BYTES = 4 << 20
CALIBRATION_SAMPLES = 16
#: TF ops whose outcome a probed variant ties to the value of their constant second
#: operand (``Pow(y=2)``: an int8 MUL, ``Pow(y=3)``: a float POW): a probe records those
#: constants of its graph (`_graphdef_consts`).
CONST_OPERAND_OPS = frozenset(
    b.extra["variant_of"] for b in TF_OP_BUILDERS.values()
    if any(isinstance(c, dict) and c.get("fact") == "input1_value"
           for c in (b.extra.get("when") or ())))
_SKIP_GRAPHDEF = frozenset(
    {
        "Placeholder", "Const", "Identity", "IdentityN", "NoOp", "ReadVariableOp",
        "VarHandleOp", "StatefulPartitionedCall", "PartitionedCall", "_Arg", "_Retval",
    }
)


class _Phase:
    """Reports the current phase to the parent, so a timeout can name it."""

    def __init__(self, conn: Connection | None) -> None:
        self.conn = conn

    def __call__(self, name: str, partial: dict[str, Any] | None = None) -> None:
        if self.conn is not None:
            self.conn.send({"phase": name, "partial": dict(partial or {})})


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Redirect fd 2 (C++ logs included) to a file; yields a list filled on exit."""
    out: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield out
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", "replace"))


# -- TensorFlow side -------------------------------------------------------------------


def _tf() -> tuple[Any, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    return tf, keras


def _sample(arg: Arg, rng: np.random.Generator) -> np.ndarray:
    shape = arg.sample_shape
    if arg.dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if arg.dtype.startswith(("int", "uint")):
        return rng.integers(int(arg.lo), int(arg.hi), shape).astype(arg.dtype)
    return rng.uniform(arg.lo, arg.hi, shape).astype(arg.dtype)


def _build(builder: Builder) -> tuple[Any, Any]:
    """The concrete function and trackable root for ``builder``."""
    tf, keras = _tf()
    keras.utils.set_random_seed(0)
    obj = builder.make(tf, keras, np.random.default_rng(0))
    sig = [
        tf.TensorSpec(a.shape, tf.as_dtype(a.dtype), name=f"in{i}")
        for i, a in enumerate(builder.args)
    ]
    is_keras = isinstance(obj, keras.Model)

    def call(*xs: Any) -> Any:
        if is_keras:
            return obj(list(xs) if len(xs) > 1 else xs[0])
        return obj(*xs)

    fn = tf.function(call, input_signature=sig)
    root = tf.Module()
    root.obj = obj
    root.fn = fn
    return fn.get_concrete_function(), root


def _export(builder: Builder, directory: str) -> Any:
    """Save ``builder``'s model as a SavedModel in ``directory``; its serving signature.

    Keras models go through ``model.export()``, other callables through
    ``tf.saved_model.save`` with a ``serving_default`` signature over the builder's args.
    """
    tf, keras = _tf()
    keras.utils.set_random_seed(0)
    obj = builder.make(tf, keras, np.random.default_rng(0))
    if isinstance(obj, keras.Model):
        obj.export(directory, verbose=False)
    else:
        sig = [tf.TensorSpec(a.shape, tf.as_dtype(a.dtype), name=f"in{i}")
               for i, a in enumerate(builder.args)]
        root = tf.Module()
        root.obj = obj
        root.fn = tf.function(lambda *xs: obj(*xs), input_signature=sig)
        tf.saved_model.save(root, directory, signatures=root.fn)
    return tf.saved_model.load(directory).signatures["serving_default"]


class HarnessError(Exception):
    """The probe could not drive the converter on a model it built (no verdict of the
    converter's; the entry stays ``unprobed``)."""


def _signature_names(fn: Any, builder: Builder) -> list[str]:
    """The serving signature's input names, in the order of ``builder.args``."""
    names = sorted(fn.structured_input_signature[1])
    if len(names) != len(builder.args):
        raise HarnessError(f"signature has inputs {names}, builder has {len(builder.args)} args")
    if len(names) == 1:
        return names
    by_index = {int(m.group(1)): n for n in names if (m := re.fullmatch(r"in(\d+)", n))}
    if sorted(by_index) == list(range(len(names))):
        return [by_index[i] for i in range(len(names))]
    # a Keras export names its inputs keras_tensor_<n>, n counting up as they were made
    made = {int(m.group(1)): n for n in names if (m := re.fullmatch(r"keras_tensor_(\d+)", n))}
    if len(made) == len(names):
        return [made[i] for i in sorted(made)]
    raise HarnessError(f"cannot order signature inputs {names} by builder args")


def _convert(builder: Builder, mode: str, saved_model: str | None = None) -> bytes:
    """Convert ``builder``'s model: ``float`` (reference), ``int8`` or ``int16x8``.

    With ``saved_model`` (a directory written by `_export`), the converter reads it
    with ``TFLiteConverter.from_saved_model``; otherwise a frozen concrete function.
    """
    tf, _ = _tf()
    names = [f"in{i}" for i in range(len(builder.args))]
    if saved_model is not None:
        names = _signature_names(tf.saved_model.load(saved_model).signatures["serving_default"],
                                 builder)
        conv = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        return _finish(tf, conv, builder, mode, names)
    cf, root = _build(builder)
    if builder.resource_variables:
        conv = tf.lite.TFLiteConverter.from_concrete_functions([cf], root)
        conv.experimental_enable_resource_variables = True
    else:
        # Keras weights are variables: freeze them as a saved inference model would.
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        frozen = cf if builder.keep_variables else convert_variables_to_constants_v2(cf)
        conv = tf.lite.TFLiteConverter.from_concrete_functions([frozen], root)
    return _finish(tf, conv, builder, mode, names)


def _finish(tf: Any, conv: Any, builder: Builder, mode: str, names: list[str]) -> bytes:
    """Set up ``conv`` for ``mode`` (samples keyed by input ``names``) and convert."""
    if mode == "float":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        return bytes(conv.convert())

    def representative() -> Iterator[dict[str, np.ndarray]]:
        rng = np.random.default_rng(1)
        for _ in range(CALIBRATION_SAMPLES):
            yield {n: _sample(a, rng) for n, a in zip(names, builder.args, strict=True)}

    def representative_list() -> Iterator[list[np.ndarray]]:
        for sample in representative():
            yield list(sample.values())

    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    if mode == "int8":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        io = tf.int8
    elif mode == "int16x8":
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
        io = tf.int16
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if not builder.float_io:
        conv.inference_input_type = io
        conv.inference_output_type = io
    try:
        return bytes(conv.convert())
    except ValueError as exc:
        # Calibration matches samples to inputs by signature name; a model that
        # comes out without a SignatureDef takes them by position instead.
        if "SignatureDef" not in str(exc):
            raise
    conv.representative_dataset = representative_list
    return bytes(conv.convert())


def _flatbuffer_ops(buf: bytes, skip_subgraph0: bool = False) -> list[OpInfo]:
    """Ops of every subgraph read from the flatbuffer itself."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    tnames = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    out: list[OpInfo] = []
    for si, sg in enumerate(model.subgraphs or []):
        if skip_subgraph0 and si == 0:
            continue
        ops = sg.operators or []
        active = {int(i) for i in (sg.inputs if sg.inputs is not None else [])}
        for op in ops:
            active.update(int(i) for i in (op.outputs if op.outputs is not None else []))
        for op in ops:
            code = model.operatorCodes[op.opcodeIndex]
            name = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "UNKNOWN")
            ins = [int(i) for i in (op.inputs if op.inputs is not None else [])]
            outs = [int(i) for i in (op.outputs if op.outputs is not None else [])]
            out.append(
                OpInfo(
                    name=name,
                    inputs=tuple(tnames[sg.tensors[i].type] for i in ins if i in active),
                    outputs=tuple(tnames[sg.tensors[i].type] for i in outs),
                    subgraph=si,
                )
            )
    return out


def _interpreter(buf: bytes) -> Any:
    tf, _ = _tf()
    return tf.lite.Interpreter(
        model_content=buf,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )


def _model_ops(buf: bytes) -> list[OpInfo]:
    """Ops of a converted model: subgraph 0 from the interpreter, the rest from the file."""
    try:
        interp = _interpreter(buf)
        details = interp._get_ops_details()
    except Exception:
        return _flatbuffer_ops(buf)
    active = {int(d["index"]) for d in interp.get_input_details()}
    for d in details:
        active.update(int(i) for i in d["outputs"])

    def dtype(i: int) -> str:
        return np.dtype(interp._get_tensor_details(i, 0)["dtype"]).name

    ops = [
        OpInfo(
            name=d["op_name"],
            inputs=tuple(dtype(int(i)) for i in d["inputs"] if int(i) in active),
            outputs=tuple(dtype(int(i)) for i in d["outputs"] if int(i) >= 0),
        )
        for d in details
    ]
    return ops + _flatbuffer_ops(buf, skip_subgraph0=True)


def _returned_order(interp: Any) -> list[int]:
    """The output tensors of a converted probe in the order its function returned them:
    the signature's ``output_0``, ``output_1``, ... where the file has a signature, else
    the converter's names for a concrete function's results (``Identity``,
    ``Identity_1``, ...)."""
    sigs = interp._get_full_signature_list()
    outs = next(iter(sigs.values()), {}).get("outputs", {}) if sigs else {}
    named = {n: int(d["index"] if isinstance(d, dict) else d) for n, d in outs.items()} or {
        str(o["name"]): int(o["index"]) for o in interp.get_output_details()}
    by_k = {int(m.group(1) or 0): i for n, i in named.items()
            if (m := re.fullmatch(r"(?:output|Identity)_?(\d*)", n))}
    if len(by_k) != len(named):
        return [int(o["index"]) for o in interp.get_output_details()]
    return [by_k[k] for k in sorted(by_k)]


def _harness_ops(buf: bytes, builder: Builder) -> set[int]:
    """Subgraph-0 op indices of a converted probe that compute its harness
    (`Builder.harness_last`): ops whose output tensor the converter named after a
    ``harness`` op, and with ``harness_last`` the op computing the model's output (behind
    its QUANTIZE), which is named after the output; or, where the builder names some
    (``harness_outputs``: positions), the ops computing those outputs alone."""
    interp = _interpreter(buf)
    details = interp._get_ops_details()
    producer = {int(i): k for k, d in enumerate(details) for i in d["outputs"]}
    out = {k for k, d in enumerate(details) for i in d["outputs"]
           if int(i) >= 0 and interp._get_tensor_details(int(i), 0)["name"].startswith(HARNESS)}
    if builder.harness_last:
        outputs = [int(o["index"]) for o in interp.get_output_details()]
        chosen = builder.extra.get("harness_outputs")
        if chosen is not None:
            outputs = [i for k, i in enumerate(_returned_order(interp)) if k in chosen]
        for index in outputs:
            k = producer.get(index)
            while k is not None and details[k]["op_name"] == "QUANTIZE":
                k = producer.get(int(details[k]["inputs"][0]))
            if k is not None:
                out.add(k)
    return out


def _float_edges(buf: bytes, ops: list[OpInfo], skip: set[int]) -> list[list[str]]:
    """(producer, consumer, dtype of the tensor between) of a converted probe where both
    builtins compute in float and the consumer reads a tensor the producer writes
    (subgraph 0; conversion ops and the ops in ``skip`` left out): where the probe saw
    float carried from op to op, on float32 or on complex64 data."""
    interp = _interpreter(buf)
    details = interp._get_ops_details()
    floating = {k for k, d in enumerate(details)
                if k < len(ops) and k not in skip and ops[k].computes_in_float
                and d["op_name"] not in CONVERSION_OPS}
    producer = {int(i): k for k in floating for i in details[k]["outputs"]}
    edges = {(details[producer[int(i)]]["op_name"], details[k]["op_name"],
              np.dtype(interp._get_tensor_details(int(i), 0)["dtype"]).name)
             for k in floating for i in details[k]["inputs"] if int(i) in producer}
    return sorted([a, b, t] for a, b, t in edges)


def _float_siblings(buf: bytes, ops: list[OpInfo], skip: set[int]) -> list[list[str]]:
    """(float op, float op reading the same tensor, its dtype) of a converted probe: a
    SHAPE handed the dequantized input of the transposed convolution beside it."""
    interp = _interpreter(buf)
    details = interp._get_ops_details()
    floating = [k for k, d in enumerate(details)
                if k < len(ops) and k not in skip and ops[k].computes_in_float
                and d["op_name"] not in CONVERSION_OPS]
    pairs = {(details[a]["op_name"], details[b]["op_name"],
              np.dtype(interp._get_tensor_details(int(i), 0)["dtype"]).name)
             for a in floating for b in floating if a != b
             for i in set(details[a]["inputs"]) & set(details[b]["inputs"]) if int(i) >= 0}
    return sorted([a, b, t] for a, b, t in pairs if t in ("float32", "complex64"))


def _without_harness(ops: list[OpInfo], buf: bytes, builder: Builder) -> list[OpInfo]:
    """``ops`` of a converted probe without those computing its harness (`_harness_ops`)."""
    if not (builder.harness or builder.harness_last):
        return ops
    harness = _harness_ops(buf, builder)
    return [op for k, op in enumerate(ops) if k not in harness]


def _inputs_for(interp: Any, builder: Builder) -> list[tuple[int, np.ndarray]]:
    """Input arrays in interpreter input order, quantized where the input is."""
    rng = np.random.default_rng(2)
    out: list[tuple[int, np.ndarray]] = []
    for pos, d in enumerate(interp.get_input_details()):
        m = re.search(r"in(\d+)", d["name"])
        k = int(m.group(1)) if m else pos
        arg = builder.args[k] if k < len(builder.args) else builder.args[pos]
        dt = np.dtype(d["dtype"])
        scale, zp = d["quantization"]
        if dt.kind in "iu" and scale and arg.dtype.startswith("float"):
            real = rng.uniform(arg.lo, arg.hi, arg.sample_shape)
            info = np.iinfo(dt)
            arr = np.clip(np.round(real / scale) + zp, info.min, info.max).astype(dt)
        else:
            arr = _sample(Arg(arg.shape, dt.name, arg.lo, arg.hi, arg.sample_shape), rng)
        out.append((int(d["index"]), arr))
    return out


def _run(buf: bytes, builder: Builder) -> tuple[str | None, list[np.ndarray]]:
    """Allocate and invoke; returns (error text or None, the inputs fed)."""
    interp = _interpreter(buf)
    dynamic = any(a.shape is None or None in a.shape for a in builder.args)
    feeds: list[np.ndarray] = []
    try:
        if dynamic:
            for d in interp.get_input_details():
                m = re.search(r"in(\d+)", d["name"])
                arg = builder.args[int(m.group(1)) if m else 0]
                interp.resize_tensor_input(d["index"], list(arg.sample_shape))
        interp.allocate_tensors()
        for idx, arr in _inputs_for(interp, builder):
            interp.set_tensor(idx, arr)
            feeds.append(arr)
        interp.invoke()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}", feeds
    return None, feeds


def _save(path: str | None, buf: bytes, feeds: list[np.ndarray]) -> None:
    if path:
        with open(path + ".tflite", "wb") as f:
            f.write(buf)
        np.savez(path + ".npz", *feeds)


_REFERENCE: dict[str, list[OpInfo]] = {}


def _reference_ops(op: str, plan: Builder) -> list[OpInfo]:
    """Ops of the unquantized conversion of ``plan`` (cached per op for both modes)."""
    if op not in _REFERENCE:
        _REFERENCE[op] = _model_ops(_convert(plan, "float"))
    return _REFERENCE[op]


def probe_builtin(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """Probe one builtin op in one mode."""
    op, mode = job["op"], job["mode"]
    plan = builtin_plan(op)
    if isinstance(plan, str):
        return {"outcome": "unprobed", "probe": None, "message": plan}
    res: dict[str, Any] = {"probe": plan.name}
    phase("reference", res)
    try:
        ref_ops = _reference_ops(op, plan)
    except Exception as exc:
        res.update(
            outcome="unprobed",
            message="builder does not convert to TFLite builtins even unquantized: "
            + (condense(str(exc)) or type(exc).__name__),
        )
        return res
    if op not in CONVERSION_OPS and not any(o.name == op for o in ref_ops):
        res.update(
            outcome="unprobed",
            message=f"builder lowers to {', '.join(op_names(ref_ops)) or 'nothing'}, not {op}",
            lowers_to=op_names(ref_ops, skip_conversion=False),
        )
        return res
    phase("convert", res)
    try:
        buf = _convert(plan, mode)
    except Exception as exc:
        res.update(outcome="conversion_error", message=condense(f"{type(exc).__name__}: {exc}"))
        return res
    ops = _model_ops(buf)
    outcome, io = classify_target(ops, op)
    phase("invoke", {**res, "io": io})
    err, feeds = _run(buf, plan)
    _save(job.get("save"), buf, feeds)
    if outcome == "missing":
        res.update(
            outcome="unprobed",
            message=f"op disappeared in {mode} conversion; model has "
            + (", ".join(op_names(ops, skip_conversion=False)) or "no ops"),
            lowers_to=op_names(ops, skip_conversion=False),
        )
        return res
    if err is not None:
        res.update(outcome="runtime_error", message=condense(err), io=io, classified=outcome)
        return res
    res.update(outcome=outcome, message=None, io=io)
    return res


def _graphdef_ops(cf: Any) -> list[str]:
    """The TF ops of a probe's graph and its functions, as the SavedModel loader sees
    them: a function the converter replaces whole is one op, ``implements:<name>``
    (`qlint.loaders.savedmodel_composites`), and the functions it calls are not read."""
    from qlint.loaders.savedmodel_composites import implements_name

    gd = cf.graph.as_graph_def()
    funcs = {f.signature.name: f for f in gd.library.function}
    inside: set[str] = set()  # functions called from a composite's body
    todo = [f for f in funcs.values() if implements_name(f)]
    while todo:
        for n in todo.pop().node_def:
            called = [n.op] + [a.func.name for a in n.attr.values() if a.func.name] + [
                fn.name for a in n.attr.values() for fn in a.list.func]
            for c in called:
                if c in funcs and c not in inside and not implements_name(funcs[c]):
                    inside.add(c)
                    todo.append(funcs[c])
    names = [n.op for n in gd.node if not n.name.startswith(HARNESS)]
    composites = set()
    for name, f in funcs.items():
        composite = implements_name(f)
        if composite:
            composites.add(composite)
        elif name not in inside:
            names.extend(n.op for n in f.node_def)
    names.extend(sorted(composites))  # last: the library's order of functions varies
    return list(dict.fromkeys(n for n in names if n not in _SKIP_GRAPHDEF and n not in funcs))


def _graphdef_consts(cf: Any) -> dict[str, list[float]]:
    """The constant scalar second operands of the probe graph's ops whose outcome a probe
    found to depend on that operand (`CONST_OPERAND_OPS`: the exponent of a Pow), by TF
    op: a pattern holds only where its ops have the same constants."""
    from tensorflow.python.framework import tensor_util

    gd = cf.graph.as_graph_def()
    nodes = list(gd.node) + [n for f in gd.library.function for n in f.node_def]
    by_name = {n.name: n for n in nodes}
    out: dict[str, set[float]] = {}
    for n in nodes:
        if n.op not in CONST_OPERAND_OPS or len(n.input) < 2:
            continue
        src = by_name.get(n.input[1].split(":")[0].lstrip("^"))
        if src is None or src.op != "Const":
            continue
        value = tensor_util.MakeNdarray(src.attr["value"].tensor)
        if value.size == 1:
            out.setdefault(n.op, set()).add(float(value.reshape(-1)[0]))
    return {op: sorted(v) for op, v in sorted(out.items())}


def _resolve_shape(builder: Builder) -> Builder:
    """A generic Keras layer builder with the input shape the layer accepted."""
    import dataclasses

    tf, keras = _tf()
    keras.utils.set_random_seed(0)
    model = builder.make(tf, keras, np.random.default_rng(0))
    if builder.extra.get("arity_search"):
        n, shape = builder.extra["chosen"]["arity"], builder.extra["chosen"]["shape"]
        a = builder.args[0]
        label = builder.extra["chosen"].get("name", builder.name)
        name = label if shape == a.shape else f"{label} on {shape}"
        return dataclasses.replace(builder, args=(Arg(shape, a.dtype, a.lo, a.hi),) * n,
                                   make=lambda tf, keras, rng: model, name=name)
    shape = builder.extra["chosen"]["shape"]
    a = builder.args[0]
    signature = ((None, *shape[1:]) if builder.extra["chosen"].get("dynamic_batch")
                 else shape)
    args = tuple(Arg(signature, a.dtype, a.lo, a.hi, sample=shape) for _ in model.inputs)
    return dataclasses.replace(builder, args=args, make=lambda tf, keras, rng: model,
                               name=f"{builder.name} on {signature}")


def keras_list(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """The public layer classes and activations of the installed Keras."""
    from tools.probe.keras_layers import enumerate_keras

    tf, keras = _tf()
    layers, acts = enumerate_keras(keras)
    from tools.probe.keras_layers import flag_variants
    from tools.probe.keras_ops import enumerate_keras_ops
    from tools.probe.raw_ops import enumerate_raw_ops
    from tools.probe.tf_functions import enumerate_tf_functions

    return {"layers": layers, "activations": acts, "functions": enumerate_tf_functions(tf),
            "flags": flag_variants(keras, layers), "ops": enumerate_keras_ops(keras),
            "raw_ops": enumerate_raw_ops(tf)}


def probe_tf_op(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """Probe one TF op / Keras layer pattern under strict int8."""
    key = job["key"]
    builder = builder_for(key)
    if "resolve" in builder.extra:  # a builder made from the installed TF's op definition
        try:
            builder = builder.extra["resolve"](_tf()[0])
        except Exception as exc:
            return {"keras": None, "probe": builder.name, "graphdef_ops": None,
                    "lowers_to": None,
                    "int8": {"outcome": "unprobed",
                             "message": condense(f"cannot build: {exc}")}}
    if builder.extra.get("shape_search") or builder.extra.get("arity_search"):
        try:
            builder = _resolve_shape(builder)
        except Exception as exc:
            return {"keras": builder.keras, "probe": builder.name, "graphdef_ops": None,
                    "lowers_to": None,
                    "int8": {"outcome": "unprobed",
                             "message": condense(f"cannot build: {exc}")}}
    if not builder.saved_model:
        return _probe_tf_op(builder, phase, None)
    with tempfile.TemporaryDirectory(prefix="qlint-probe-sm-") as tmp:
        return _probe_tf_op(builder, phase, os.path.join(tmp, "saved_model"))


def _probe_tf_op(builder: Builder, phase: _Phase, saved_model: str | None) -> dict[str, Any]:
    phase("build")
    res: dict[str, Any] = {"keras": builder.keras, "probe": builder.name}
    if saved_model is not None:
        res["via"] = "saved_model"
    try:
        fn = _export(builder, saved_model) if saved_model is not None else _build(builder)[0]
        res["graphdef_ops"] = _graphdef_ops(fn)
        consts = _graphdef_consts(fn)
        if consts:
            res["graphdef_consts"] = consts
    except Exception as exc:
        res.update(
            graphdef_ops=None, lowers_to=None,
            int8={"outcome": "unprobed", "message": condense(f"cannot build: {exc}")},
        )
        return res
    phase("reference", res)
    try:
        ref_buf = _convert(builder, "float", saved_model)
        ref_ops: list[OpInfo] | None = _without_harness(_model_ops(ref_buf), ref_buf, builder)
        res["lowers_to"] = op_names(ref_ops or [])
        when_builtin = builtin_when(builder, ref_buf, _interpreter)
        if when_builtin is not None:
            res["when_builtin"] = when_builtin
        carry_builtin = builtin_carry_when(builder, ref_buf, _interpreter)
        if carry_builtin is not None:
            res["carry_when_builtin"] = carry_builtin
    except Exception as exc:
        ref_ops = None
        res["lowers_to"] = None
        res["float_message"] = condense(f"{type(exc).__name__}: {exc}")
    phase("convert", res)
    try:
        buf = _convert(builder, "int8", saved_model)
    except HarnessError as exc:
        res["int8"] = {"outcome": "unprobed", "message": condense(f"cannot convert: {exc}")}
        return res
    except Exception as exc:
        res["int8"] = {
            "outcome": "conversion_error",
            "message": condense(f"{type(exc).__name__}: {exc}"),
        }
        return res
    ops = _model_ops(buf)
    entry: dict[str, Any] = {}
    repeat = int(builder.extra.get("repeat", 1))
    # other forms of the same structure, converted once each (the concatenation's other
    # operand of a joined sibling slice): an outcome that varies with what the file does
    # not say is a share of the forms, as a varying conversion is a share of the repeats
    forms: list[Builder] = list(builder.extra.get("forms", ()))
    if repeat > 1 or forms:  # an outcome that varies from conversion to conversion
        others = [_convert(builder, "int8", saved_model) for _ in range(repeat - 1)] + [
            _convert(form, "int8") for form in forms]
        runs = [(buf, ops)] + [(b, _model_ops(b)) for b in others]
        floating = [r for r in runs if float_ops(_without_harness(r[1], r[0], builder))]
        entry["float_runs"] = [len(floating), len(runs)]
        if floating:
            buf, ops = floating[0]
    harness: set[int] = set()
    if builder.harness or builder.harness_last:
        harness = _harness_ops(buf, builder)
        entry["harness_float_ops"] = float_ops(op for k, op in enumerate(ops) if k in harness)
    with contextlib.suppress(Exception):  # the interpreter cannot read every probe
        if edges := _float_edges(buf, ops, harness):
            entry["float_edges"] = edges
        if builder.extra.get("float_siblings") and (
                siblings := _float_siblings(buf, ops, harness)):  # the probes that ask
            entry["float_siblings"] = siblings
    ops = _without_harness(ops, buf, builder)
    phase("invoke", res)
    err, _ = _run(buf, builder)
    names = op_names(ops)
    if ref_ops is None or names != res["lowers_to"]:
        entry["ops"] = names
    bad = float_ops(ops)  # the converted file's, whether or not the interpreter runs it
    if err is not None:
        entry.update(outcome="runtime_error", message=condense(err))
    else:
        entry.update(outcome="float_fallback" if bad else "integer", message=None)
    if bad:
        entry["float_ops"] = bad
        counts = float_op_counts(ops)
        if any(n > 1 for n in counts.values()):
            entry["float_counts"] = counts
    keep = ("outcome", "message", "float_ops", "float_counts", "ops", "float_edges",
            "float_siblings", "harness_float_ops", "float_runs")
    res["int8"] = {k: entry[k] for k in keep if k in entry}
    return res


def tf_info(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """Versions of the toolchain and the builtin operator list of its schema."""
    tf, keras = _tf()
    from tensorflow.lite.python import schema_py_generated as schema

    ops = {k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return {
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "flatbuffers": importlib.metadata.version("flatbuffers"),
            "python": platform.python_version(),
            "platform": f"{sys.platform}-{platform.machine()}",
        },
        "builtins": sorted(ops, key=ops.__getitem__),
        "builtin_codes": ops,
    }


# -- TensorFlow Lite Micro side --------------------------------------------------------


def tflm_info(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """Version of the installed tflite-micro package (raises when it is missing)."""
    import tflite_micro

    return {
        "versions": {
            "tflite-micro": importlib.metadata.version("tflite-micro"),
            "tflite-micro-build": tflite_micro.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": f"{sys.platform}-{platform.machine()}",
        }
    }


def probe_tflm(job: dict[str, Any], phase: _Phase) -> dict[str, Any]:
    """Load and invoke a saved int8 model with the TFLM Python interpreter."""
    from tflite_micro import runtime

    with open(job["path"] + ".tflite", "rb") as f:
        buf = f.read()
    feeds = np.load(job["path"] + ".npz")
    arrays = [feeds[k] for k in sorted(feeds.files, key=lambda k: int(k.split("_")[1]))]
    phase("invoke")
    with _captured_stderr() as log:
        try:
            interp = runtime.Interpreter.from_bytes(buf, arena_size=TFLM_ARENA_BYTES)
            for i, arr in enumerate(arrays):
                # TFLM has no dynamic shapes: feed the model's static input shape.
                shape = tuple(int(d) for d in interp.get_input_details(i)["shape"])
                interp.set_input(np.resize(arr, shape).astype(arr.dtype), i)
            interp.invoke()
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    if error is None:
        return {"ok": True, "message": None}
    text = (log[0] if log else "") + "\n" + error
    return {"ok": False, "message": condense(text)}


HANDLERS = {
    "builtin": probe_builtin,
    "tf_op": probe_tf_op,
    "info": tf_info,
    "keras_list": keras_list,
    "tflm": probe_tflm,
    "tflm_info": tflm_info,
}


def serve(conn: Connection, log_path: str | None = None) -> None:
    """Worker loop: receive jobs, send ``{"phase": ...}`` updates and one result each."""
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    phase = _Phase(conn)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        start = time.monotonic()
        try:
            result = HANDLERS[job["kind"]](job, phase)
        except Exception as exc:
            result = {"error": condense(f"{type(exc).__name__}: {exc}"),
                      "traceback": traceback.format_exc(limit=3)}
        result["seconds"] = round(time.monotonic() - start, 2)
        conn.send({"result": result})
