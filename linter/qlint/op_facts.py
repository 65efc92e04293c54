"""Facts about one op of a `ModelGraph`: the values target conditions are written over.

A condition of a target table (`qlint.conditions`) names a fact (``stride_max``,
``filter_w``, ``padding``, ``ifm_batch``, ``mean_reduces_depth``, ...) and compares it
with a value.  This module computes those facts for one IR op:

* from the IR itself: activation shapes, ranks, dtypes, per-axis quantization, whether
  the input and output quantization match, the filter size of a convolution (its
  weight shape), the resize factors (output over input size), whether the op's first
  input is a constant (``first_input_constant``: a folded ``If`` predicate), whether its
  first input or output is also a model output, and which named outputs of a SavedModel op
  are used (``used_outputs``: ``["indices"]`` for a ``TopKV2`` whose values are dropped)
  or, in a ``.tflite`` file, which output slots (``used_output_slots``: ``[1]``), whether
  an output has no elements (``empty_output``: a split's empty last part) or is read by
  nothing (``output_unused``: a split whose other part is dropped), and a
  source op's ``data_format`` attribute (``NCHW``: a ``BiasAdd`` along axis 1), a source
  StridedSlice's bit masks (``new_axis_mask``) and whether its spec names every input
  dimension (``slice_spec_full``), how many of the first input's dims are of unknown
  size (``ifm_unknown_dims``), the
  op type of the first op its output reaches through layout-only ops
  (``next_compute_op``: ``PACK`` for a RESHAPE whose result is transposed, then
  stacked; ``output`` for a model output), whether an input of the op is also read by a
  concatenation (``ifm_joined``) or, through slices, splits and layout ops, by one
  (``ifm_part_joined``), whether the op reads a slice of a tensor
  whose other part is concatenated, and which the converter takes first, or the whole of
  a tensor another reader of which negates and concatenates a part (``joined_sibling``,
  `qlint.sibling_slices`; in a SavedModel, whether that tensor is merged from two
  alike projections, followed through repeats too: ``merged_negated``; a ``.tflite``
  file leaves it unknown where the structure is present, `qlint.unknowable_facts`),
  the value of each constant scalar input ``i`` of a source op (``input1_value``: the
  exponent of ``tf.pow``; a TF reduction's scalar axis, as ``axes`` and
  ``reduces_depth``), and whether the converter can infer the dims of a SavedModel op's
  first input (``ifm_shape_inferred``, `qlint.converter_shapes`), how many groups a
  convolution's channels fall in (``conv_groups``), and whether a
  SavedModel op runs inside a while loop (``in_loop_body``), the TF op computing a source
  op's first input, or the builtin of a ``.tflite`` op's (``ifm_producer``: an FFT of a
  ``Cast``), whether a source einsum
  sums a label of one operand alone (``einsum_sums_lone_label``), whether an input of
  the op is a variable's read that a select or a maximum reads too
  (``ifm_tied_variable``, `qlint.tied_variables`), and the layout Keras 3
  gives an addition it computes as a bias add (``bias_add_format``,
  `qlint.keras_bias_add`), and whether a Keras layer's input carries the mask an
  ``Embedding(mask_zero=True)`` or a ``Masking`` layer attaches (``input_masked``);
* from the op's builtin options in a ``.tflite`` file (strides, padding, dilation,
  pool filter size, depth multiplier, ``align_corners``, ...) and the values of small
  constant inputs (the axes of a MEAN), read with the ``tflite`` flatbuffer bindings
  (`qlint.tflite_values`) only for the ops a rule asks about; and, once per graph,
  whether the op sits in a loop body the model never runs (``loop_body_never_runs``:
  the trip count the file's constants give is zero, `qlint.loop_trips`).  The loader
  has already verified the file's structure; a read that still fails leaves the facts
  out, so the condition is *unknown*, never guessed.

A fact that cannot be computed is absent from the returned mapping.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Mapping, Sequence
from typing import Any

from qlint.converter_shapes import unknown_to_converter
from qlint.graph import ModelGraph, NodeId
from qlint.keras_bias_add import BIAS_ADDERS, bias_add_format
from qlint.loop_trips import zero_trip_bodies
from qlint.sibling_slices import (
    JOIN_OPS,
    LAYOUT_OPS,
    is_kind,
    joined_sibling,
    merged_negated,
    negated_whole,
    part_joined,
)
from qlint.tflite_values import const_values, file_model, option_values
from qlint.tied_variables import tied_variable

#: Weight tensors summed for the weight-limit fact are at most this many bytes.
MAX_WEIGHT_BYTES = 64 << 20
FLOAT_DTYPES = frozenset({"float32", "float16", "float64", "bfloat16"})
#: Facts computed on converted ``.tflite`` files only (a SavedModel's loops are not
#: counted): conditions on them never hold on a source graph.
TFLITE_ONLY_FACTS = frozenset({"loop_body_never_runs"})
CONV_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"})
RESIZE_OPS = frozenset({"RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"})
#: TF reductions whose second operand is the axis (a constant scalar: ``axes``).
SOURCE_REDUCTIONS = frozenset({"Sum", "Mean", "Max", "Min", "Prod"})
#: A TF StridedSlice's bit masks, facts of a source op (``new_axis_mask``: 2 for
#: ``x[:, tf.newaxis]``).
SLICE_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
#: How many layout ops deep `next_compute_op` looks.
MAX_LAYOUT_CHAIN = 8
REDUCE_OPS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "ARG_MAX",
                        "ARG_MIN"})


#: Input slots that hold a shape, not a feature map (computed at run time on a dynamic
#: batch): TRANSPOSE_CONV's output shape, RESHAPE's new shape.
SHAPE_OPERANDS = {"TRANSPOSE_CONV": frozenset({0}), "RESHAPE": frozenset({1})}


def activation_inputs(graph: ModelGraph, op: NodeId) -> list[NodeId]:
    """The op's non-constant feature-map inputs, in slot order (shape operands left out)."""
    skip = SHAPE_OPERANDS.get(graph[op]["op_type"], frozenset())
    return [t for i, t in enumerate(graph.inputs(op))
            if t is not None and i not in skip and not graph[t].get("constant")]


#: Where a convolution's filter holds its input channels (TF: HWIO / DHWIO; TFLite's
#: CONV_2D: OHWI, its CONV_3D: DHWIO, as TensorFlow's).
FILTER_IN_CHANNELS = {"Conv2D": -2, "Conv3D": -2, "CONV_2D": -1, "CONV_3D": -2}


def _conv_groups(graph: ModelGraph, op: NodeId, ishape: tuple[Any, ...]) -> int | None:
    """How many groups a convolution's channels fall in: its input's channels over its
    filter's input channels (``conv_groups``; 1 for a plain convolution)."""
    node = graph[op]
    axis = FILTER_IN_CHANNELS.get(str(node.get("source_op") or node["op_type"]))
    ins = graph.inputs(op)
    if axis is None or len(ins) < 2 or ins[1] is None or not ishape:
        return None
    fshape = _static(graph[ins[1]])
    c, f = ishape[-1], fshape[axis] if len(fshape) >= -axis else None
    if not isinstance(c, int) or not isinstance(f, int) or f <= 0 or c % f:
        return None
    return c // f


def op_facts(graph: ModelGraph, op: NodeId, *, options: bool = True) -> dict[str, Any]:
    """Every fact about ``op`` that can be computed (see the module docstring).

    ``options=False`` leaves out the facts read from the op's builtin options and
    constants in the file (the ones that need the ``tflite`` bindings)."""
    node = graph[op]
    op_type = node["op_type"]
    facts: dict[str, Any] = {"op_type": op_type}
    ins = activation_inputs(graph, op)
    outs = [t for t in graph.outputs(op) if t is not None]
    tensors = [graph[t] for t in (*ins, *outs)]
    shapes = [_static(t) for t in tensors]
    if tensors:
        facts["rank"] = max(len(s) for s in shapes)
        dims = [d for s in shapes for d in s if isinstance(d, int)]
        if dims:
            facts["max_dim"] = max(dims)
        facts["float_tensors"] = any(t.get("dtype") in FLOAT_DTYPES for t in tensors)
        facts["dtypes"] = sorted({str(t.get("dtype")) for t in tensors})
        raw = [tuple(t.get("shape") or ()) for t in tensors]
        facts["dynamic_batch"] = any(s[:1] == (None,) for s in raw)
        facts["dynamic_non_batch"] = any(d is None for s in raw for d in s[1:])
        if all(t.get("shape") is None for t in tensors):  # shapes unknown: the model's batch
            batch = _model_input_batch(graph)
            if batch is None:
                del facts["dynamic_batch"]
            else:
                facts["dynamic_batch"] = batch
    if ins:
        ifm = graph[ins[0]]
        ishape = _static(ifm)
        facts["ifm_dtype"] = ifm.get("dtype")
        producer = graph.producer(ins[0])
        if producer is not None:  # a SavedModel's TF op, a .tflite file's builtin
            facts["ifm_producer"] = graph[producer].get(
                "source_op" if graph.format != "tflite" else "op_type")
        if ifm.get("shape") is not None:  # dims of unknown size (a batch of None)
            facts["ifm_unknown_dims"] = sum(d is None for d in ifm["shape"])
        groups = _conv_groups(graph, op, ishape)
        if groups is not None:
            facts["conv_groups"] = groups
        if ishape:
            facts["ifm_batch"] = ishape[0]
            facts["ifm_rank"] = len(ishape)
            if len(ishape) == 4:
                facts["ifm_h"], facts["ifm_w"], facts["ifm_c"] = ishape[1:]
    for i, t in enumerate(graph.inputs(op)):  # a constant scalar operand: pow's exponent
        value = graph[t].get("value") if t is not None else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            facts[f"input{i}_value"] = value
    # an output of no elements: a TFLite builtin lists every output, a SavedModel op
    # only the ones read, so the loader notes the others (``empty_output``)
    facts["empty_output"] = bool(node.get("attrs", {}).get("empty_output")) or any(
        0 in (graph[t].get("shape") or ()) for t in outs) or (
        bool(ins) and _split_empty_part(node.get("attrs", {}).get("config"),
                                        graph[ins[0]].get("shape")))
    model_outputs = {t for sg in graph.attrs.get("subgraphs", []) for t in sg.get("outputs", ())}
    facts["output_unused"] = output_unused(graph, op, model_outputs)
    if ins and graph.format == "savedmodel":  # dims the converter re-infers from the ops
        facts["ifm_shape_inferred"] = ins[0] not in graph.derived(unknown_to_converter)
    if node.get("source_op") in SOURCE_REDUCTIONS and "input1_value" in facts:
        facts["axes"] = [int(facts["input1_value"])]  # a source op's constant scalar axis
    if graph.format == "savedmodel":  # inside a while loop's body or condition
        facts["in_loop_body"] = _in_loop_body(graph, str(node.get("location", "")))
    if graph.format == "tflite":  # read once per graph, with the bindings where it loops
        facts["loop_body_never_runs"] = int(node["subgraph"]) in zero_trip_bodies(graph)
    if node.get("source_op") == "StridedSlice" and graph.format != "tflite":
        facts.update(_slice_facts(graph, op, node.get("attrs", {})))
    equation = node.get("attrs", {}).get("equation")
    if node.get("source_op") == "Einsum" and isinstance(equation, str):
        lone = einsum_sums_lone_label(equation)
        if lone is not None:
            facts["einsum_sums_lone_label"] = lone
    if graph.format == "keras" and ins:  # a Keras mask on the input (not an op in the file)
        facts["input_masked"] = _masks(graph, graph.producer(ins[0]))
    if graph.format == "keras" and node.get("source_op") in BIAS_ADDERS:  # a BiasAdd?
        layout = bias_add_format(node["source_op"], node.get("attrs", {}),
                                 graph[outs[0]].get("shape") if outs else None)
        if layout is not None:
            facts["bias_add_format"] = layout
    fmt = node.get("attrs", {}).get("data_format")
    if isinstance(fmt, str) and graph.format != "tflite":  # a source op's layout: NHWC, NCHW
        facts["data_format"] = fmt
    facts["ifm_tied_variable"] = tied_variable(graph, op)
    first = next(iter(graph.inputs(op)), None)
    if first is not None:  # a constant (or constant-folded) first operand: an If's predicate
        facts["first_input_constant"] = bool(graph[first].get("constant"))
    if ins:
        facts["ifm_is_model_output"] = ins[0] in model_outputs
        facts["joined_sibling"] = joined_sibling(graph, op, ins)
        if graph.format == "savedmodel":
            facts["merged_negated"] = merged_negated(graph, op, ins)
        elif graph.format == "tflite" and not negated_whole(graph, op, ins):
            facts["merged_negated"] = False  # else unknown: merged already (unknowable_facts)
        facts["ifm_joined"] = any(is_kind(graph, c, JOIN_OPS) for t in ins
                                  for c in graph.consumers(t) if c != op)
        facts["ifm_part_joined"] = part_joined(graph, ins[:1])
    used = [t for t in outs if t in model_outputs or graph.consumers(t)]
    args = [graph[t].get("output_arg") for t in used]
    if all(isinstance(a, str) for a in args):  # a SavedModel's function-body op
        facts["used_outputs"] = sorted(set(args))
    if graph.format == "tflite":  # a builtin's outputs are listed slot by slot
        facts["used_output_slots"] = [
            slot for slot, t in enumerate(graph.outputs(op))
            if t is not None and (t in model_outputs or graph.consumers(t))]
    if outs:
        facts["ofm_is_model_output"] = outs[0] in model_outputs
        reached = _next_compute_op(graph, outs[0], model_outputs)
        if reached is not None:
            facts["next_compute_op"] = reached
        ofm = graph[outs[0]]
        oshape = _static(ofm)
        facts["ofm_dtype"] = ofm.get("dtype")
        if len(oshape) == 4:
            facts["ofm_h"], facts["ofm_w"], facts["ofm_c"] = oshape[1:]
        if ins:
            facts["io_quant_match"] = _quant_key(graph[ins[0]]) == _quant_key(ofm)
            facts["io_elements_match"] = _elements(_static(graph[ins[0]])) == _elements(oshape)
    if len(ins) >= 2:
        a, b = (_static(graph[t]) for t in ins[:2])
        facts["broadcast"] = a != b
    weights = _weights(graph, op, op_type)
    facts.update(_quant_facts(tensors, graph[weights] if weights is not None else None))
    if weights is not None:
        w = graph[weights]
        quant = w.get("quant")
        facts["weights_dtype"] = w.get("dtype")
        facts["per_axis"] = bool(quant is not None and len(quant.scale) > 1)
        wshape = tuple(w.get("shape") or ())
        if op_type in CONV_OPS and len(wshape) == 4:
            facts["filter_h"], facts["filter_w"] = wshape[1], wshape[2]
    if options:
        facts.update(_options(graph, op))
    _derive(facts, op_type)
    return facts


#: Integer dtypes whose tensors carry quantization parameters in a quantized model.
QUANTIZED_DTYPES = frozenset({"int8", "uint8", "int16"})
#: Zero points each activation dtype can hold.
_ZP_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (0, 0)}


def _quant_facts(activations: Sequence[Mapping[str, Any]],
                 weights: Mapping[str, Any] | None) -> dict[str, Any]:
    """Facts on the quantization parameters of the op's activations and weights.

    ``quant_missing``: an 8/16-bit activation or weight tensor without scale or zero
    point; ``io_per_axis``: an activation with more than one scale or zero point;
    ``zero_point_out_of_range``: an activation zero point its dtype cannot hold (int16:
    any non-zero).  Int32/bool tensors (shape arithmetic, indices) are not looked at.
    """
    missing = per_axis = out_of_range = False
    for t in [*activations, *([weights] if weights is not None else [])]:
        dtype = str(t.get("dtype"))
        if dtype not in QUANTIZED_DTYPES:
            continue
        q = t.get("quant")
        if q is None or not q.has_params or not q.zero_point:
            missing = True
            continue
        if t is weights:
            continue
        per_axis = per_axis or len(q.scale) > 1 or len(q.zero_point) > 1
        lo, hi = _ZP_RANGE[dtype]
        out_of_range = out_of_range or any(not lo <= int(z) <= hi for z in q.zero_point)
    return {"quant_missing": missing, "io_per_axis": per_axis,
            "zero_point_out_of_range": out_of_range,
            "scalar_tensors": any(t.get("shape") == () for t in activations)}


def _model_input_batch(graph: ModelGraph) -> bool | None:
    """Whether the model's inputs have an unknown batch size (a Keras layer whose own
    shapes the file leaves out has the batch of the model's inputs); None if unknown."""
    shapes = [graph[t].get("shape") for sg in graph.attrs.get("subgraphs", [])
              for t in sg.get("inputs", ())]
    known = [tuple(s) for s in shapes if s]
    if not known or len(known) != len(shapes):
        return None
    return any(s[0] is None for s in known)


def _next_compute_op(graph: ModelGraph, tensor: NodeId,
                     model_outputs: set[NodeId]) -> str | list[str] | None:
    """The op type of the first op reading ``tensor`` that is no layout op, looking
    through layout ops (`LAYOUT_OPS`; ``"output"`` where a model output is reached): the
    one type, or the sorted types where the tensor reaches several; None when nothing
    is reached within `MAX_LAYOUT_CHAIN` layout ops."""
    found: set[str] = set()
    frontier, seen = [tensor], {tensor}
    for _ in range(MAX_LAYOUT_CHAIN):
        nxt: list[NodeId] = []
        for t in frontier:
            if t in model_outputs:
                found.add("output")
            for c in graph.consumers(t):
                if is_kind(graph, c, LAYOUT_OPS):
                    nxt.extend(o for o in graph.outputs(c) if o is not None and o not in seen)
                    seen.update(nxt)
                else:
                    found.add(str(graph[c]["op_type"]))
        if not nxt:
            break
        frontier = nxt
    else:
        return None
    if not found:
        return None
    return next(iter(found)) if len(found) == 1 else sorted(found)


#: TF loop ops, and the attributes naming the functions the SavedModel loader inlines at
#: ``<loop location>/<attr>/...``.
LOOP_OPS = frozenset({"While", "StatelessWhile"})
LOOP_ATTRS = frozenset({"body", "cond"})


def _loop_locations(graph: ModelGraph) -> frozenset[str]:
    return frozenset(str(graph[op].get("location")) for op in graph.ops()
                     if graph[op].get("source_op") in LOOP_OPS)


def _in_loop_body(graph: ModelGraph, location: str) -> bool:
    """Whether a SavedModel op sits in a function a while loop runs (its location is
    ``<loop location>/body/...`` or ``.../cond/...``, as the loader inlines them)."""
    loops = graph.derived(_loop_locations)
    if not loops:
        return False
    parts = location.split("/")
    return any(parts[k] in LOOP_ATTRS and "/".join(parts[:k]) in loops
               for k in range(1, len(parts)))


def _masks(graph: ModelGraph, op: NodeId | None) -> bool:
    """Whether Keras layer ``op`` attaches a mask to its output: an ``Embedding`` with
    ``mask_zero=True`` or a ``Masking`` layer."""
    if op is None:
        return False
    node = graph[op]
    config = (node.get("attrs") or {}).get("config")
    return node.get("source_op") == "Masking" or (
        node.get("source_op") == "Embedding" and isinstance(config, Mapping)
        and config.get("mask_zero") is True)


def _static(tensor: Mapping[str, Any]) -> tuple[int, ...]:
    """The tensor's static shape: a dynamic dimension (``None`` in the IR) is 1, as in the
    ``shape`` field of a ``.tflite`` tensor that compilers such as Vela read."""
    return tuple(1 if d is None else d for d in (tensor.get("shape") or ()))


def _elements(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def _quant_key(tensor: Mapping[str, Any]) -> tuple[Any, ...]:
    q = tensor.get("quant")
    if q is None or not q.has_params:
        return ()
    return (tuple(q.scale), tuple(q.zero_point))


def _weights(graph: ModelGraph, op: NodeId, op_type: str) -> NodeId | None:
    """The constant weight tensor of a convolution or fully-connected op (input slot 1)."""
    if op_type not in CONV_OPS and op_type != "FULLY_CONNECTED":
        return None
    inputs = graph.inputs(op)
    w = inputs[1] if len(inputs) > 1 else None
    return w if w is not None and graph[w].get("constant") else None


def einsum_sums_lone_label(equation: str) -> bool | None:
    """Whether a two-operand einsum sums a label of one operand alone: a label in neither
    the other operand nor the output ('fij,jk->ik' sums ``f`` of the first).  ``None``
    when the equation is not of two operands."""
    lhs, arrow, out = equation.replace(" ", "").replace("...", "").partition("->")
    operands = lhs.split(",")
    if len(operands) != 2:
        return None
    if not arrow:  # implicit output: every label that appears once is kept
        return False
    a, b, kept = set(operands[0]), set(operands[1]), set(out)
    return bool((a - b - kept) or (b - a - kept))


def _slice_facts(graph: ModelGraph, op: NodeId, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A source StridedSlice's bit masks (a GraphDef leaves a mask of 0 out), and whether
    its slice spec names every input dimension (``slice_spec_full``: ``x[:, tf.newaxis,
    :]`` on a matrix, or any spec with an ellipsis; ``x[:, tf.newaxis]`` leaves the last
    dimension implicit), where the input's rank and the spec's length are known."""
    out: dict[str, Any] = {}
    for mask in SLICE_MASKS:
        value = attrs.get(mask, 0)
        if isinstance(value, int) and not isinstance(value, bool):
            out[mask] = value
    ins = graph.inputs(op)
    if len(ins) < 2 or ins[0] is None or ins[1] is None or "new_axis_mask" not in out:
        return out
    rank, spec = graph[ins[0]].get("shape"), graph[ins[1]].get("shape")
    if rank is not None and spec is not None and len(spec) == 1 and spec[0] is not None:
        named = spec[0] - bin(out["new_axis_mask"]).count("1")
        out["slice_spec_full"] = bool(out.get("ellipsis_mask")) or named >= len(rank)
    return out


def _split_empty_part(config: Any, shape: Any) -> bool:
    """True when a Keras ``split`` at ``indices_or_sections`` (cut points, as numpy's
    ``split`` reads a list) leaves an empty part of the input ``shape`` (a .keras node
    shows only its first output): ``[2, 8]`` on 8 channels."""
    if not isinstance(config, Mapping) or not isinstance(shape, Sequence):
        return False
    cuts, axis = config.get("indices_or_sections"), config.get("axis", 0)
    if not isinstance(cuts, list) or not isinstance(axis, int) or not -len(shape) <= axis < len(
            shape):
        return False
    size = shape[axis]
    if not isinstance(size, int) or not all(isinstance(c, int) for c in cuts):
        return False
    bounds = [0, *(min(max(c, 0), size) for c in cuts), size]
    return any(b <= a for a, b in itertools.pairwise(bounds))


def _derive(facts: dict[str, Any], op_type: str) -> None:
    """Maxima and ratios the conditions compare, from the raw facts."""
    def known(*keys: str) -> bool:  # a dim the file leaves unknown is None: no maximum
        return all(isinstance(facts.get(k), (int, float)) for k in keys)

    for a, b, key in (("stride_w", "stride_h", "stride_max"),
                      ("filter_w", "filter_h", "filter_max"),
                      ("dilation_w", "dilation_h", "dilation_max")):
        if known(a, b):
            facts[key] = max(facts[a], facts[b])
    if known("filter_w", "filter_h"):
        facts["filter_product"] = facts["filter_w"] * facts["filter_h"]
    if op_type in RESIZE_OPS and known("ifm_h", "ifm_w", "ofm_h", "ofm_w"):
        h, w = facts["ifm_h"], facts["ifm_w"]
        if h and w:
            facts["scale_h"] = facts["ofm_h"] / h
            facts["scale_w"] = facts["ofm_w"] / w
            facts["scale_max"] = max(facts["scale_h"], facts["scale_w"])
    axes = facts.get("axes")
    rank = facts.get("ifm_rank")
    if axes is not None and rank:
        norm = sorted({a % rank for a in axes})
        facts["axes"] = norm
        facts["reduces_depth"] = rank - 1 in norm
        facts["reduces_batch"] = 0 in norm and rank > 1


def _options(graph: ModelGraph, op: NodeId) -> dict[str, Any]:
    """Builtin option values and small constant inputs of a ``.tflite`` op."""
    if graph.format != "tflite":
        return {}
    node = graph[op]
    try:
        model = file_model(graph)
        sg = model.Subgraphs(int(node["subgraph"]))
        fb_op = sg.Operators(int(node["index"]))
        out = option_values(fb_op, node.get("attrs", {}).get("options"))
        if node["op_type"] in CONV_OPS and fb_op.InputsLength() >= 2:
            total = _weights_abs_sum_max(model, sg, int(fb_op.Inputs(1)), node["op_type"])
            if total is not None:
                out["weights_abs_sum_max"] = total
        if node["op_type"] in REDUCE_OPS and fb_op.InputsLength() >= 2:
            values = const_values(model, sg, int(fb_op.Inputs(1)))
            if values is not None:
                out["axes"] = [int(v) for v in values.reshape(-1)]
        return out
    except Exception:  # a defect the structural walk did not catch: the facts are unknown
        return {}


def _weights_abs_sum_max(model: Any, sg: Any, index: int, op_type: str) -> int | None:
    """The largest per-output-channel sum of ``|weight - zero_point|`` of an int8 filter.

    What Vela's ``constraint_weights_limit`` compares with ``127 * 65536``: a depthwise
    filter (``1HWC``) is summed per channel (last axis), other filters (``OHWI``) per
    output channel (first axis).
    """
    import numpy as np

    if index < 0:
        return None
    tensor = sg.Tensors(index)
    if tensor.Type() not in (9, 3):  # INT8, UINT8
        return None
    buf = model.Buffers(tensor.Buffer())
    if buf is None or buf.DataLength() == 0 or buf.DataLength() > MAX_WEIGHT_BYTES:
        return None
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    dtype = np.int8 if tensor.Type() == 9 else np.uint8
    values = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).astype(np.int64)
    if len(shape) != 4 or values.size != int(np.prod(shape)):
        return None
    values = values.reshape(shape)
    q = tensor.Quantization()
    zp = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else np.zeros(1)
    axis = 3 if op_type == "DEPTHWISE_CONV_2D" else 0
    zp = np.asarray(zp, dtype=np.int64)
    if zp.size == shape[axis] and zp.size > 1:
        zp = zp.reshape([-1 if i == axis else 1 for i in range(4)])
    elif zp.size != 1:
        return None
    sums = np.abs(values - zp).sum(axis=tuple(i for i in range(4) if i != axis))
    return int(sums.max()) if sums.size else None


def output_unused(graph: ModelGraph, op: NodeId, model_outputs: Container[NodeId]) -> bool:
    """Whether an output of ``op`` is read by no op and is not one of ``model_outputs`` (a
    split whose other part is dropped); a SavedModel op's outputs that no op reads may be
    missing."""
    outs = [t for t in graph.outputs(op) if t is not None]
    if any(not graph.consumers(t) and t not in model_outputs for t in outs):
        return True
    parts = graph[op].get("attrs", {}).get("num_split")
    return isinstance(parts, int) and len(outs) < parts
