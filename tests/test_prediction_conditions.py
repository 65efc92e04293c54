"""Conditions and joins in the source prediction, from the probed table (no TensorFlow)."""

from __future__ import annotations

from qlint.graph import ModelGraph
from qlint.predict.patterns import source_table
from qlint.predict.source import joined, predict, unknown_ops
from qlint.predict.tables import FLOAT_FALLBACK, INTEGER


def pow_graph(exponent: float | None, shape: tuple[int, ...] = (1, 4)) -> ModelGraph:
    """``x ** exponent`` with a constant exponent (``None``: a second model input)."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    extra = {} if exponent is None else {"value": exponent}
    y = g.add_tensor(0, 1, name="y", dtype="float32", shape=() if extra else shape,
                     constant=exponent is not None, **extra)
    out = g.add_tensor(0, 2, name="out", dtype="float32", shape=shape)
    g.add_op(0, 0, op_type="POW", source_op="Pow", name="Pow", inputs=[x, y], outputs=[out],
             location="serving_default/Pow")
    ins = [x] if exponent is not None else [x, y]
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": ins,
                             "outputs": [out]}]
    return g


def test_pow_exponent_is_a_probed_condition() -> None:
    table = source_table()
    variants = {c.name: c for c in table.tf_ops() if c.variant_of == "Pow"}
    assert {c.when[0]["eq"] for c in variants.values() if c.when} == {0.5, 2.0, 3.0}
    assert predict(pow_graph(2.0), table) == []  # becomes an int8 MUL
    assert predict(pow_graph(0.5), table) == []  # becomes an int8 SQRT
    (p,) = predict(pow_graph(3.0), table)
    assert (p.outcome, p.tflite_ops, p.cap.name) == (FLOAT_FALLBACK, ("POW",), "Pow(y=3)")
    for exponent in (0.5, 2.0):  # from rank 5 every exponent stays a float POW
        (p,) = predict(pow_graph(exponent, (1, 4, 4, 2, 2)), table)
        assert (p.outcome, p.cap.name) == (FLOAT_FALLBACK, f"Pow(y={exponent:g}, rank 5)")
    (p,) = predict(pow_graph(None), table)  # a tensor exponent: the plain Pow entry
    assert p.cap.name == "Pow"
    assert unknown_ops(pow_graph(2.0), table) == []


def test_an_entry_without_its_own_outcome_takes_its_builtins_verdict() -> None:
    table = source_table()
    cumsum = table.tf_op("Cumsum")
    assert cumsum is not None and cumsum.lowers_to == ("CUMSUM",)
    crashed = cumsum.__class__(name="X", outcome="unprobed", lowers_to=("CUMSUM",))
    j = joined(table, crashed)
    assert j is not None and (j.outcome, j.float_ops) == (FLOAT_FALLBACK, ("CUMSUM",))
    conv = cumsum.__class__(name="Y", outcome="unprobed", lowers_to=("CONV_2D", "ADD"))
    j = joined(table, conv)
    assert j is not None and j.outcome == INTEGER
    unknown = cumsum.__class__(name="Z", outcome="unprobed", lowers_to=("SVDF",))
    assert joined(table, unknown) is None
    assert joined(table, cumsum.__class__(name="W", outcome="unprobed")) is None


def test_float_carried_to_a_neighbour_in_a_float_tflite() -> None:
    from graph_builders import chain

    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    def flagged(g: ModelGraph) -> list[str]:
        return [f.node["op_type"] for f in Int8Readiness().check(g, Context())]

    # the probed Cast+ConcatV2 pattern: an int32 -> float32 CAST keeps its CONCATENATION float
    g = chain([("CAST", "float32"), ("CONCATENATION", "float32")], io_dtype="int32")
    assert flagged(g) == ["CAST", "CONCATENATION"]
    # a CONCATENATION fed by an integer-capable op, or by a float op outside any probed
    # pattern, stays integer
    assert flagged(chain([("ADD", "float32"), ("CONCATENATION", "float32")])) == []
    assert flagged(chain([("NEG", "float32"), ("RESHAPE", "float32")])) == ["NEG"]
    # the probed tf.signal.stft with an unknown batch dimension: the complex64 SQUEEZE
    # after RFFT2D stays float (complex counts as float, as the probe classifies it)
    g = chain([("RFFT2D", "complex64"), ("SQUEEZE", "complex64"), ("COMPLEX_ABS", "float32")],
              io_dtype="float32")
    assert flagged(g) == ["RFFT2D", "SQUEEZE", "COMPLEX_ABS"]
    # the probed chains: a shape op after a float NEG is quantized
    table = source_table()
    for shape_op in ("Reshape", "Squeeze", "ExpandDims", "Transpose", "StridedSlice"):
        cap = table.tf_op(f"Neg+{shape_op}")
        assert cap is not None and cap.float_ops == ("NEG",), shape_op
    # ... unless its result is stacked or concatenated (through more layout ops, too):
    # then the layout op next to the NEG stays float and the PACK is int8
    g = chain([("NEG", "float32"), ("RESHAPE", "float32"), ("TRANSPOSE", "float32"),
               ("PACK", "float32")])
    assert flagged(g) == ["NEG", "RESHAPE"]
    g = chain([("NEG", "float32"), ("TRANSPOSE", "float32"), ("CONCATENATION", "float32")])
    assert flagged(g) == ["NEG", "TRANSPOSE"]
    assert flagged(chain([("NEG", "float32"), ("RESHAPE", "float32"), ("ADD", "float32")])) \
        == ["NEG"]


def test_next_compute_op_looks_through_layout_ops() -> None:
    from graph_builders import chain

    from qlint.op_facts import op_facts

    g = chain([("NEG", "float32"), ("RESHAPE", "float32"), ("TRANSPOSE", "float32"),
               ("PACK", "float32")])
    neg, reshape, transpose, pack = g.ops()
    assert op_facts(g, transpose)["next_compute_op"] == "PACK"
    assert op_facts(g, neg)["next_compute_op"] == "PACK"
    assert op_facts(g, reshape)["next_compute_op"] == "PACK"
    assert op_facts(g, pack)["next_compute_op"] == "output"
    g = chain([("NEG", "float32"), ("RESHAPE", "float32")])
    assert op_facts(g, next(iter(g.ops())))["next_compute_op"] == "output"


def layout_neg_graph(rotary: bool) -> ModelGraph:
    """basic-pitch's CQT (``rotary`` False): Conv2D -> Squeeze -> Transpose -> Neg -> Pack
    with the un-negated branch, in one large layer scope; or a rotary embedding (``rotary``):
    Split -> Neg -> Pack -> Reshape."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 1, 64, 1))
    tensors = [g.add_tensor(0, 1 + i, name=f"t{i}", dtype="float32", shape=(1, 8, 57))
               for i in range(6)]
    scope = "serving_default/model/cqt"
    steps = ([("Split", "SPLIT", [x], [tensors[0], tensors[1]]),
              ("Neg", "NEG", [tensors[1]], [tensors[2]]),
              ("Pack", "PACK", [tensors[2], tensors[0]], [tensors[3]]),
              ("Reshape", "RESHAPE", [tensors[3]], [tensors[4]])] if rotary else
             [("Conv2D", "CONV_2D", [x], [tensors[0]]),
              ("Squeeze", "RESHAPE", [tensors[0]], [tensors[1]]),
              ("Transpose", "TRANSPOSE", [tensors[1]], [tensors[2]]),
              ("Neg", "NEG", [tensors[2]], [tensors[3]]),
              ("Pack", "PACK", [tensors[3], tensors[2]], [tensors[4]])])
    for k, (op, builtin, ins, outs) in enumerate(steps):
        g.add_op(0, k, op_type=builtin, source_op=op, name=f"{op}_{k}", inputs=ins,
                 outputs=outs, location=f"{scope}/{op}_{k}", attrs={"T": "float32"})
    filler = tensors[5]
    for k in range(len(steps), len(steps) + 100):  # a layer scope too large for a pattern
        out = g.add_tensor(0, 100 + k, name=f"f{k}", dtype="float32", shape=(1, 8, 57))
        g.add_op(0, k, op_type="RELU", source_op="Relu", name=f"Relu_{k}", inputs=[filler],
                 outputs=[out], location=f"{scope}/Relu_{k}", attrs={"T": "float32"})
        filler = out
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [tensors[4], filler]}]
    return g


def test_a_negation_moved_up_through_layout_ops_keeps_the_first_of_them_float() -> None:
    """The probed ordered chains (``Squeeze+Transpose+Neg+Pack``, ...): the converter moves
    the Neg up to the convolution, and the squeeze (a RESHAPE) next to it stays float; the
    PACK is int8.  A chain is its data edges: found in a scope of any size.  A rotary
    embedding's Neg -> Pack -> Reshape is no such chain: its PACK stays float."""
    table = source_table()
    g = layout_neg_graph(rotary=False)
    (p,) = predict(g, table)
    assert p.cap.name == "Squeeze+Transpose+Neg+Pack" and p.cap.ordered
    assert (p.tflite_ops, p.counts) == (("NEG", "RESHAPE"), (1, 1))
    assert [g[o]["source_op"] for o in (p.op, *p.related)] == [
        "Squeeze", "Transpose", "Neg", "Pack"]
    g = layout_neg_graph(rotary=True)
    preds = predict(g, table)
    assert sorted(b for p in preds for b in p.tflite_ops) == ["NEG", "PACK"]


def one_op_graph(tf_op: str) -> ModelGraph:
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 8, 8))
    out = g.add_tensor(0, 1, name="out", dtype="float32", shape=(1, 8, 8))
    g.add_op(0, 0, op_type=tf_op, source_op=tf_op, name=tf_op, inputs=[x], outputs=[out],
             location=f"serving_default/{tf_op}")
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    return g


def test_matrix_band_part_is_probed() -> None:
    table = source_table()
    (p,) = predict(one_op_graph("MatrixBandPart"), table)
    assert (p.outcome, set(p.tflite_ops)) == (FLOAT_FALLBACK, {"ZEROS_LIKE", "SELECT_V2"})
    assert unknown_ops(one_op_graph("MatrixBandPart"), table) == []


def test_keras_application_layers_are_probed() -> None:
    table = source_table()
    for cls in ("LayerScale", "StochasticDepth", "CustomScaleLayer"):
        cap = table.tf_op(f"keras.{cls}")
        assert cap is not None and cap.keras == cls and cap.outcome == INTEGER, cls


def test_ops_on_integer_tensors_only_are_not_float() -> None:
    from graph_builders import chain

    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    rule = Int8Readiness()
    # FLOOR_DIV has no int8 kernel on float data; on int32 shape arithmetic it is integer
    assert [f.node["op_type"] for f in rule.check(
        chain([("FLOOR_DIV", "float32")]), Context())] == ["FLOOR_DIV"]
    g = chain([("CONV_2D", "float32"), ("FLOOR_DIV", "int32")], io_dtype="float32")
    g2 = chain([("FLOOR_DIV", "int32")], io_dtype="int32")
    assert [f.node["op_type"] for f in rule.check(g, Context())] == ["FLOOR_DIV"]  # float in
    assert list(rule.check(g2, Context())) == []


def reader_graph(tf_op: str, also_output: bool, used: tuple[str, ...] = ("output",)
                 ) -> ModelGraph:
    """``conv2d(x) -> tf_op`` whose conv2d result is (or is not) a model output too;
    ``used`` names the op's outputs the model uses (a SavedModel body op's output args)."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 8, 8, 4))
    w = g.add_tensor(0, 1, name="w", dtype="float32", shape=(3, 3, 4, 4), constant=True)
    c = g.add_tensor(0, 2, name="conv", dtype="float32", shape=(1, 8, 8, 4))
    k = g.add_tensor(0, 3, name="k", dtype="int32", shape=(), constant=True)
    outs = [g.add_tensor(0, 4 + i, name=f"{tf_op}:{a}", dtype="int32", shape=(1, 8, 8, 2),
                         output_arg=a) for i, a in enumerate(used)]
    g.add_op(0, 0, op_type="CONV_2D", source_op="Conv2D", name="Conv2D", inputs=[x, w],
             outputs=[c], location="serving_default/Conv2D")
    g.add_op(0, 1, op_type=tf_op, source_op=tf_op, name=tf_op, inputs=[c, k], outputs=outs,
             location=f"serving_default/{tf_op}")
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": ([c] if also_output else []) + outs}]
    return g


def test_reading_a_model_output_is_a_probed_condition() -> None:
    table = source_table()
    # ARG_MAX / ARG_MIN reading a tensor that is also a model output compute in float
    for tf_op, builtin in (("ArgMax", "ARG_MAX"), ("ArgMin", "ARG_MIN")):
        (p,) = predict(reader_graph(tf_op, True), table)
        assert (p.outcome, p.tflite_ops) == (FLOAT_FALLBACK, (builtin,))
        assert p.cap.name == f"{tf_op}(input is model output)"
        assert p.cap.when == [{"fact": "ifm_is_model_output", "eq": True}]
        assert predict(reader_graph(tf_op, False), table) == []
    # the boundary the probe swept: these stay int8 either way
    for tf_op in ("Greater", "Reshape", "MaxPool"):
        for also in (True, False):
            assert predict(reader_graph(tf_op, also), table) == [], (tf_op, also)
    assert unknown_ops(reader_graph("ArgMax", True), table) == []


def test_topk_outcome_depends_on_the_outputs_used() -> None:
    table = source_table()
    for also in (True, False):
        (p,) = predict(reader_graph("TopKV2", also, ("indices",)), table)
        assert (p.outcome, p.tflite_ops) == (FLOAT_FALLBACK, ("TOPK_V2",))
        assert predict(reader_graph("TopKV2", also, ("values", "indices")), table) == []
        assert predict(reader_graph("TopKV2", also, ("values",)), table) == []


def log_sigmoid_graph() -> ModelGraph:
    """``tf.math.log_sigmoid`` as TF writes it: ``LogSigmoid/Neg``, ``LogSigmoid/Softplus``
    and the scope's result, a ``Neg`` named ``LogSigmoid`` after the scope itself."""
    g = ModelGraph("savedmodel", "model", "source")
    x, a, b, out = (g.add_tensor(0, i, name=n, dtype="float32", shape=(1, 4))
                    for i, n in enumerate(("x", "neg", "softplus", "out")))
    for i, (name, tf_op, ins, outs) in enumerate((
            ("LogSigmoid/Neg", "Neg", [x], [a]),
            ("LogSigmoid/Softplus", "Softplus", [a], [b]),
            ("LogSigmoid", "Neg", [b], [out]))):
        g.add_op(0, i, op_type=tf_op.upper(), source_op=tf_op, name=name, inputs=ins,
                 outputs=outs, location=f"serving_default/{name}")
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    return g


def test_a_pattern_counts_each_float_op_and_owns_the_op_named_after_its_scope() -> None:
    from qlint.registry import Context
    from qlint_rules.source_kernels import SourceFloatFallback

    table = source_table()
    cap = table.tf_op("tf.math.log_sigmoid")
    assert cap is not None and cap.float_ops == ("NEG",) and cap.float_count("NEG") == 2
    (p,) = predict(log_sigmoid_graph(), table)  # one pattern, not a pattern and a Neg
    assert p.via == "pattern" and p.tflite_ops == ("NEG",) and len(p.related) == 2
    (f,) = SourceFloatFallback().check(log_sigmoid_graph(), Context())
    assert "NEG x2 stay float" in f.message


def test_cast_direction_is_a_probed_condition() -> None:
    """A Cast of int64 argmax indices to float32 is judged by the probed int64 -> float32
    entry, not by the plain Cast entry (float32 -> int32)."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="idx", dtype="int64", shape=(1, 4))
    out = g.add_tensor(0, 1, name="out", dtype="float32", shape=(1, 4))
    g.add_op(0, 0, op_type="CAST", source_op="Cast", name="Cast", inputs=[x], outputs=[out],
             location="serving_default/Cast", attrs={"SrcT": "int64", "DstT": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    (p,) = predict(g, source_table())
    assert (p.outcome, p.cap.name, p.tflite_ops) == (
        FLOAT_FALLBACK, "Cast(int64->float32)", ("CAST",))


def test_a_scope_holding_a_pattern_twice_gives_two_instances() -> None:
    """Keras 3's ``Dot(normalize=True)`` normalizes both inputs in the layer's own scope:
    two unit-normalization patterns, each leaving a SQUARE in float."""
    from qlint.predict.source import _instances

    g = ModelGraph("savedmodel", "model", "source")
    chain = ("Square", "Sum", "Minimum", "Rsqrt", "Mul")
    ops = []
    for side in ("", "_1"):
        prev = g.add_tensor(0, len(ops) * 2, name=f"in{side}", dtype="float32", shape=(1, 16))
        for tf_op in chain:
            out = g.add_tensor(0, len(ops) * 2 + 1, name=f"{tf_op}{side}:0", dtype="float32",
                               shape=(1, 16))
            ops.append(g.add_op(0, len(ops), op_type=tf_op.upper(), source_op=tf_op,
                                name=f"{tf_op}{side}", inputs=[prev], outputs=[out],
                                location=f"serving_default/m/dot/{tf_op}{side}"))
            prev = out
    source_ops = {o: g[o]["source_op"] for o in ops}
    # ops interleaved as TF lists them: the i-th of each TF op is the i-th instance's
    mixed = [o for pair in zip(ops[:5], ops[5:], strict=True) for o in pair]
    assert _instances(mixed, source_ops) == [ops[:5], ops[5:]]
    found = predict(g, source_table())
    squares = [p for p in found if p.via == "pattern"]
    assert len(squares) == 2 and {g[p.op]["source_op"] for p in squares} == {"Square"}
    assert all(p.tflite_ops == ("SQUARE",) for p in squares)


def test_a_folded_if_predicate_reaches_the_branches() -> None:
    """``tf.image.rot90`` (held-out set 4): nested StatelessIf on ``k % 4`` of a constant
    ``k``. Branch arguments bound to constants are constant, so every If takes the probed
    constant-predicate variant (folded by the converter, integer), not the float IF."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_savedmodel(str(path / "op4.rot90" / "saved_model"))
    ifs = [o for o in g.ops() if g[o]["source_op"] == "StatelessIf"]
    assert len(ifs) == 3
    assert all(g[g.inputs(o)[0]]["constant"] for o in ifs)
    assert predict(g, source_table()) == []
    data_if = source_table().tf_op("StatelessIf")
    assert data_if is not None and data_if.float_ops == ("IF",)  # a data-dependent cond


def test_a_cast_names_the_type_it_reads_and_a_pattern_counts_what_it_holds() -> None:
    """Held-out set 5's tabular model: a Bucketize (int32 out, though its ``T`` is float)
    feeds an int32 -> float32 Cast outside the one-hot CategoryEncoding, whose own scope
    keeps one Cast (float32 -> int64); the probe's CategoryEncoding kept two CAST float."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_savedmodel(str(path / "arch5.tabular" / "saved_model"))
    bucketize = next(o for o in g.ops() if g[o]["source_op"] == "Bucketize")
    (out,) = g.outputs(bucketize)
    assert out is not None and g[out]["dtype"] == "int32"
    found = predict(g, source_table())
    casts = sum(p.count("CAST") for p in found if "CAST" in p.tflite_ops)
    assert casts == 4  # what the converter kept float (verdicts/arch5.tabular.json)
    pattern = [p for p in found if p.via == "pattern"]
    assert len(pattern) == 2 and all(p.cap.float_count("CAST") == 2 for p in pattern)
    assert all(p.count("CAST") == 1 for p in pattern)


def test_ql111_names_every_refused_op_the_model_has_and_a_written_out_gelu_is_fused() -> None:
    """Held-out set 6: a stateless random op brings two TF ops the converter refuses; the
    exact GELU written out with ``erf`` is a probed pattern the converter fuses (no Erf
    error)."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel
    from qlint.registry import Context
    from qlint_rules.source_kernels import SourceNoBuiltin

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    (f,) = SourceNoBuiltin().check(load_savedmodel(str(path / "op6.dither" / "saved_model")),
                                   Context())
    assert f.message.endswith(
        "(tf.StatelessRandomGetKeyCounter, tf.StatelessRandomUniformV2)")
    gelu = load_savedmodel(str(path / "op6.gelu_erf" / "saved_model"))
    assert list(SourceNoBuiltin().check(gelu, Context())) == []
    assert predict(gelu, source_table()) == []


def test_a_keras_operation_on_integer_tensors_is_integer() -> None:
    """``keras.ops.not_equal(token_ids, 0)`` (held-out set 6's fastText): the probe built the
    operation on floats (NOT_EQUAL stays float); on int32 token ids it is integer, and it
    is known (no QL190)."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras
    from qlint.predict.source import judge

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_keras(str(path / "arch6.fasttext" / "model.keras"))
    table = source_table()
    assert table.tf_op("keras.ops.NotEqual") is not None
    j = judge(g, table)
    assert not any(g[p.op]["source_op"] == "ops.NotEqual" for p in j.predictions)
    assert j.unknown == []


def test_arithmetic_on_shapes_is_no_float_kernel() -> None:
    """Held-out set 7: Keras ``Resizing(crop_to_aspect_ratio=True)`` casts the image's
    height and width to float to compute its crop box; the converter folds it (no CAST in
    the int8 model), so qlint predicts no float CAST there."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel
    from qlint.predict.shape_arithmetic import shape_arithmetic

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_savedmodel(str(path / "arch7.crop_preprocess" / "saved_model"))
    shape_ops = shape_arithmetic(g, list(g.ops()))
    casts = [o for o in g.ops() if g[o]["source_op"] == "Cast" and "resizing" in
             g[o]["location"]]
    assert len(casts) == 8 and set(casts) <= shape_ops
    assert not any(g[o]["source_op"] in ("Conv2D", "ResizeBilinear") for o in shape_ops)
    assert predict(g, source_table()) == []


def complex_graph(op: str, dtype: str) -> ModelGraph:
    """One binary ``op`` over two ``dtype`` tensors (a cross spectrum when complex64)."""
    g = ModelGraph("savedmodel", "model", "source")
    a = g.add_tensor(0, 0, name="a", dtype=dtype, shape=(1, 9))
    b = g.add_tensor(0, 1, name="b", dtype=dtype, shape=(1, 9))
    out = g.add_tensor(0, 2, name="out", dtype=dtype, shape=(1, 9))
    g.add_op(0, 0, op_type=op.upper(), source_op=op, name=op, inputs=[a, b], outputs=[out],
             location=f"serving_default/{op}", attrs={"T": dtype})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [a, b],
                             "outputs": [out]}]
    return g


def test_arithmetic_on_complex_spectra_is_a_probed_dtype_condition() -> None:
    """The converter refuses RealDiv, AddV2 and Sub on complex64 (and keeps a complex Mul
    in float); on float32 they are int8 kernels."""
    for op in ("RealDiv", "AddV2", "Sub"):
        (p,) = predict(complex_graph(op, "complex64"), source_table())
        assert (p.outcome, p.cap.name) == ("conversion_error", f"{op}(complex64)")
        assert predict(complex_graph(op, "float32"), source_table()) == []
    (p,) = predict(complex_graph("Mul", "complex64"), source_table())
    assert (p.outcome, p.cap.name) == (FLOAT_FALLBACK, "Mul(complex64)")


def spectrum_graph(*chain: tuple[str, str]) -> ModelGraph:
    """``frames -> StridedSlice -> RFFT -> ...``: ``chain`` of (TF op, output dtype) after
    the rfft, each reading the previous one's output."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 4, 32))
    frames = g.add_tensor(0, 1, name="frames", dtype="float32", shape=(1, 4, 16))
    g.add_op(0, 0, op_type="STRIDED_SLICE", source_op="StridedSlice", name="frame",
             inputs=[x], outputs=[frames], location="serving_default/stft/frame/StridedSlice",
             attrs={"T": "float32"})
    prev = g.add_tensor(0, 2, name="spectrum", dtype="complex64", shape=(1, 4, 9))
    g.add_op(0, 1, op_type="RFFT", source_op="RFFT", name="rfft", inputs=[frames],
             outputs=[prev], location="serving_default/stft/rfft", attrs={"Tcomplex": "complex64"})
    for k, (op, dtype) in enumerate(chain):
        out = g.add_tensor(0, 3 + k, name=f"t{k}", dtype=dtype, shape=(1, 4, 9))
        g.add_op(0, 2 + k, op_type=op.upper(), source_op=op, name=op, inputs=[prev],
                 outputs=[out], location=f"serving_default/{op}", attrs={"T": "complex64"})
        prev = out
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [prev]}]
    return g


def test_a_probe_harness_is_not_part_of_the_probed_ops_entry() -> None:
    """A complex64 result cannot leave an int8 model, so the RFFT probe ends in
    ``tf.math.abs`` and the Imag probe starts from ``tf.signal.rfft2d``; the probe keeps
    those harness ops' float ops apart, so an rfft read by ``tf.math.imag`` is RFFT2D
    (with its RESHAPE) and IMAG, with no COMPLEX_ABS and one RFFT2D."""
    table = source_table()
    rfft, imag = table.tf_op("RFFT"), table.tf_op("Imag")
    assert rfft is not None and imag is not None
    assert "COMPLEX_ABS" not in rfft.float_ops and "RFFT2D" in rfft.float_ops
    assert imag.float_ops == ("IMAG",)
    preds = predict(spectrum_graph(("Imag", "float32")), table)
    assert sorted((p.cap.name, b) for p in preds for b in p.tflite_ops) == [
        ("Imag", "IMAG"), ("RFFT", "RESHAPE"), ("RFFT", "RFFT2D")]


def test_a_strided_slice_of_a_spectrum_is_a_dtype_condition() -> None:
    """The converter refuses a StridedSlice of complex64 (``StridedSlice(complex64)``); the
    float framing slice before an rfft (``tf.signal.stft``) is no such slice."""
    table = source_table()
    names = sorted(p.cap.name for p in predict(spectrum_graph(("StridedSlice", "complex64")),
                                               table))
    assert names == ["RFFT", "StridedSlice(complex64)"]
    assert [p.cap.name for p in predict(spectrum_graph(), table)] == ["RFFT"]


def bias_add_graph(rank: int, data_format: str) -> ModelGraph:
    """One ``BiasAdd`` of a length-6 bias to a rank-``rank`` tensor."""
    shape = (1, 6, 4, 4, 4)[:rank]
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    b = g.add_tensor(0, 1, name="b", dtype="float32", shape=(6,), constant=True)
    out = g.add_tensor(0, 2, name="out", dtype="float32", shape=shape)
    g.add_op(0, 0, op_type="ADD", source_op="BiasAdd", name="BiasAdd", inputs=[x, b],
             outputs=[out], location="serving_default/BiasAdd",
             attrs={"T": "float32", "data_format": data_format})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    return g


def test_an_nchw_bias_add_fails_to_convert_unless_rank_4() -> None:
    """Keras 3 adds a bias along axis 1 with ``BiasAdd(data_format="NCHW")``; the probe
    measured the converter's channels-last rewrite failing on rank 3 and 5."""
    for rank in (3, 5):
        (p,) = predict(bias_add_graph(rank, "NCHW"), source_table())
        assert (p.outcome, p.cap.name) == ("conversion_error", f"BiasAdd(NCHW, rank {rank})")
        assert "same rank" in (p.cap.message or "")
    assert predict(bias_add_graph(4, "NCHW"), source_table()) == []
    assert predict(bias_add_graph(3, "NHWC"), source_table()) == []


def test_ql111_names_the_layout_record_for_an_nchw_bias_add() -> None:
    from qlint.registry import Context
    from qlint_rules.source_kernels import SourceNoBuiltin

    (f,) = SourceNoBuiltin().check(bias_add_graph(3, "NCHW"), Context())
    assert f.record == "tensorflow/tflite-bias-add-nchw-rank"
    assert "data_format == 'NCHW'" in f.message
    assert f.fix and "bias_axes='hc'" in f.fix


def test_each_complex_number_op_is_probed_with_itself() -> None:
    """``tf.complex`` has no TFLite builtin; its entry's probe holds a Complex op (it once
    shared the spectrum probe of COMPLEX_ABS, which has none)."""
    table = source_table()
    for key in ("Complex", "ComplexAbs", "Real", "Imag"):
        cap = table.tf_op(key)
        assert cap is not None and key in (cap.graphdef_ops or ()), key
    cap = table.tf_op("Complex")
    assert cap is not None and cap.outcome == "conversion_error"


def test_a_keras_operation_is_judged_by_the_number_of_arguments_it_was_called_with() -> None:
    """``keras.ops.where(c)`` returns indices (an Unpack the converter refuses);
    ``keras.ops.where(c, x, y)`` selects (an int8 SELECT): the loader keeps how many
    arguments the call had, the probe swept both."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras
    from qlint.predict.patterns import layer_key, match_pattern

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch7.ae_anomaly" / "model.keras")
    g = load_keras(str(path))
    (where,) = [o for o in g.ops() if g[o]["source_op"] == "ops.Where"]
    assert g[where]["attrs"]["call_args"] == 3
    assert layer_key(g, where) == "keras.ops.Where(args=3)"
    assert [p for p in predict(g, source_table()) if p.op == where] == []
    assert match_pattern("ops.Where", {}, tokens=("args=1",)) == "keras.ops.Where"


def test_an_if_on_a_predicate_of_static_shapes_is_folded() -> None:
    """``Resizing(pad_to_aspect_ratio=True)`` branches on the image's height and width: a
    predicate computed from shapes alone folds like a constant one (no float IF)."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch9.doc_preprocess" / "saved_model")
    g = load_savedmodel(str(path))
    ifs = [o for o in g.ops() if g[o]["source_op"] in ("If", "StatelessIf")]
    assert ifs
    assert [p for p in predict(g, source_table()) if p.op in ifs] == []


def test_a_random_op_outputs_its_dtype_not_its_shape_type() -> None:
    """``tf.random.uniform([1, 32])``: ``T`` types the int32 shape operand, ``dtype`` the
    float output; the op is a float RANDOM_UNIFORM, not integer shape arithmetic."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "op7.mc_dropout" / "saved_model")
    g = load_savedmodel(str(path))
    (rnd,) = [o for o in g.ops() if g[o]["source_op"] == "RandomUniform"]
    assert [g[t]["dtype"] for t in g.outputs(rnd)] == ["float32"]
    assert [p.tflite_ops for p in predict(g, source_table()) if p.op == rnd] == [
        ("RANDOM_UNIFORM",)]


def test_an_op_of_a_predicted_pattern_is_not_claimed_again_by_another() -> None:
    """``invert_permutation(argsort(x))``: the argsort's Neg belongs to the probed
    pattern of the whole; the ``tf.sort`` pattern it also fits claims it no second time."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "op7.invert_permutation" / "saved_model")
    (p,) = predict(load_savedmodel(str(path)), source_table())
    assert (p.via, p.tflite_ops) == ("pattern", ("NEG", "TOPK_V2"))


def test_float_spreads_along_a_probed_chain_in_a_source_graph() -> None:
    """A NeRF-style positional encoding: the converter keeps the CONCATENATION of a float
    SIN with the input float too (probed ``Sin+ConcatV2``); the source prediction carries
    the float from the Sin to its ConcatV2, naming the Sin that feeds it."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch10.nerf" / "saved_model")
    g = load_savedmodel(str(path))
    carried = [p for p in predict(g, source_table()) if p.via == "carried"]
    assert sorted(g[p.op]["source_op"] for p in carried) == ["ConcatV2", "ConcatV2"]
    assert all(p.tflite_ops == ("CONCATENATION",) and g[p.related[0]]["source_op"] in
               ("Sin", "Cos") and p.cap.name == "Sin+ConcatV2" for p in carried)


def test_state_a_model_assigns_is_kept_as_resource_variables() -> None:
    """A stateful GRU / LSTM assigns its state at inference: the SavedModel loader keeps
    each assignment (it depends on no output, so a pruning from the outputs would drop
    it), and the probed ``AssignVariableOp`` says READ_VARIABLE / ASSIGN_VARIABLE stay
    float; the ``.keras`` layers are judged by their probed stateful variants."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras
    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch10.stateful_kws")
    g = load_savedmodel(str(path / "saved_model"))
    assigns = [o for o in g.ops() if g[o]["source_op"] == "AssignVariableOp"]
    assert len(assigns) == 3
    kept = {o for p in predict(g, source_table()) for o in (p.op, *p.related)}
    assert set(assigns) <= kept
    k = load_keras(str(path / "model.keras"))
    caps = sorted(p.cap.name for p in predict(k, source_table()))
    assert caps == ["keras.GRU(stateful=True,unroll=True)",
                    "keras.LSTM(stateful=True,unroll=True)"]


def test_a_keras_layer_names_every_tf_op_its_probe_refused() -> None:
    """A ``.keras`` file has no TF ops to look for: an ``IntegerLookup`` names all three
    hash-table ops its probed conversion refused."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras
    from qlint.registry import Context
    from qlint_rules.source_kernels import SourceNoBuiltin

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch9.wide_deep" / "model.keras")
    found = {f.message.rsplit(" (", 1)[-1] for f in SourceNoBuiltin().check(
        load_keras(str(path)), Context())}
    assert found == {"tf.SparseCross)", "tf.HashTableV2, tf.LookupTableFindV2, "
                     "tf.LookupTableImportV2)"}


def test_a_variants_conditions_judge_only_the_builtin_its_own_op_lowers_to() -> None:
    """``Mul(complex64)``'s probe also kept a RESHAPE in float; its condition (a complex64
    operand of the Mul) says nothing about RESHAPEs in a float ``.tflite``, only about its
    MUL, as ``Cast(int64->float32)``'s says something about CASTs."""
    from qlint_rules.int8_readiness import _conditioned_variants

    variants = _conditioned_variants(source_table())
    # RESHAPE's only variants are Reshape's own (a reshape in a loop body never run)
    assert {v.variant_of for v in variants.get("RESHAPE", ())} <= {"Reshape"}
    assert "Mul(complex64)" not in [v.name for v in variants.get("RESHAPE", ())]
    assert "Mul(complex64)" in [v.name for v in variants["MUL"]]
    assert "Cast(int64->float32)" in [v.name for v in variants["CAST"]]


def ste_graph() -> ModelGraph:
    """QKeras' straight-through rounding: ``x + (-x + round(x))`` (``Neg``, ``Round``,
    ``AddV2``), then a ``Sign`` padded with 1.0 (``PadV2``) as larq binarizes."""
    g = ModelGraph("savedmodel", "model", "source")
    shape = (1, 4, 4, 2)
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    t = [g.add_tensor(0, k, name=f"t{k}", dtype="float32", shape=shape) for k in range(1, 7)]
    pads = g.add_tensor(0, 7, name="pads", dtype="int32", shape=(4, 2), constant=True)
    one = g.add_tensor(0, 8, name="one", dtype="float32", shape=(), constant=True, value=1.0)
    for k, (op, builtin, ins, out) in enumerate([
            ("Neg", "NEG", [x], t[0]), ("Round", "ROUND", [x], t[1]),
            ("AddV2", "ADD", [t[1], t[0]], t[2]), ("AddV2", "ADD", [x, t[2]], t[3]),
            ("Sign", "SIGN", [t[3]], t[4]), ("PadV2", "PADV2", [t[4], pads, one], t[5])]):
        g.add_op(0, k, op_type=builtin, source_op=op, name=f"{op}_{k}", inputs=ins,
                 outputs=[out], location=f"serving_default/q/{op}_{k}", attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [t[5]]}]
    return g


def test_a_negation_added_is_a_sub_and_a_pad_of_a_float_sign_stays_float() -> None:
    """Probed ``Neg+AddV2``: the converter turns ``a + (-b)`` into an int8 SUB, so the Neg
    of a straight-through estimator is no float op; probed ``Sign+PadV2``: the PADV2 of a
    float SIGN stays float too."""
    g = ste_graph()
    preds = {g[p.op]["source_op"]: p for p in predict(g, source_table())}
    assert sorted(preds) == ["Round", "Sign"]  # no Neg
    sign = preds["Sign"]
    assert (sign.cap.name, sign.tflite_ops) == ("Sign+PadV2", ("SIGN", "PADV2"))
    assert [g[r]["source_op"] for r in sign.related] == ["PadV2"]


def test_float_is_carried_along_the_edges_a_probe_saw() -> None:
    """A probe records which float op read which (``float_edges``); only those pairs
    carry float.  Sparsemax's probe (a Keras layer) saw its CUMSUM read by a float SUB and
    a float SELECT_V2; a CEIL and a FLOOR that merely stayed float in one probe, not one
    reading the other, carry nothing."""
    from qlint.predict.carry import carried_pairs

    table = source_table()
    sparsemax = table.tf_op("keras.Activation(sparsemax)")
    assert sparsemax is not None and sparsemax.float_edges is not None
    assert ("CUMSUM", "SUB", "float32") in sparsemax.float_edges
    pairs = carried_pairs(table)
    assert "keras.Activation(sparsemax)" in [c.name for c in pairs[("CUMSUM", "SUB", "float32")]]
    assert not any(p[:2] == ("CEIL", "FLOOR") for p in pairs)
    assert all(cap.float_edges is None or pair in cap.float_edges
               for pair, caps in pairs.items() for cap in caps)


def test_float_is_carried_only_on_the_dtype_the_probe_saw() -> None:
    """An rfft's complex64 RESHAPE keeps a following EXPAND_DIMS float; a float32
    RESHAPE feeding an EXPAND_DIMS says nothing of that."""
    from qlint.predict.carry import carried_pairs, carrying

    pairs = carried_pairs(source_table())
    assert carrying(pairs, "RESHAPE", "EXPAND_DIMS", "complex64") != ()
    assert carrying(pairs, "RESHAPE", "EXPAND_DIMS", "float32") == ()
    assert carrying(pairs, "RESHAPE", "EXPAND_DIMS", "int32") == ()


def masked_select_graph() -> ModelGraph:
    """``tf.where(mask, x, tf.zeros_like(x))`` as a SavedModel holds it (the attention mask
    of keras-hub's Gemma, DIN's attention scores)."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 16))
    mask = g.add_tensor(0, 1, name="mask", dtype="bool", shape=(1, 16))
    zeros = g.add_tensor(0, 2, name="zeros", dtype="float32", shape=(1, 16))
    out = g.add_tensor(0, 3, name="out", dtype="float32", shape=(1, 16))
    g.add_op(0, 0, op_type="tf.ZerosLike", source_op="ZerosLike", name="zeros_like",
             inputs=[x], outputs=[zeros], location="serving_default/a/zeros_like",
             attrs={"T": "float32"})
    g.add_op(0, 1, op_type="SELECT_V2", source_op="SelectV2", name="SelectV2",
             inputs=[mask, zeros, x], outputs=[out], location="serving_default/a/SelectV2",
             attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x, mask],
                             "outputs": [out]}]
    return g


def test_float_is_carried_from_the_builtin_an_op_was_predicted_to_become() -> None:
    """The probe saw a float ZEROS_LIKE keep the SELECT_V2 reading it float
    (``OnesLike+ZerosLike+SelectV2``): a source ZerosLike is predicted a float
    ZEROS_LIKE and carries it on.  The carry starts from the builtin the op's prediction
    named, so an op with no one-op lowering of its own carries too."""
    from qlint.predict.carry import carried_predictions

    table = source_table()
    g = masked_select_graph()
    preds = {g[p.op]["source_op"]: p for p in predict(g, table)}
    assert sorted(preds) == ["SelectV2", "ZerosLike"]
    assert preds["ZerosLike"].tflite_ops == ("ZEROS_LIKE",)
    sel = preds["SelectV2"]
    assert (sel.via, sel.tflite_ops, sel.cap.name) == (
        "carried", ("SELECT_V2",), "OnesLike+ZerosLike+SelectV2")
    assert [g[r]["source_op"] for r in sel.related] == ["ZerosLike"]
    zeros = preds["ZerosLike"].op
    g[zeros]["source_op"] = g[zeros]["op_type"] = "UnloweredZeros"  # no lowering known
    assert [c[3] for c in carried_predictions(g, {zeros: "ZEROS_LIKE"}, table)] == [
        "SELECT_V2"]
    assert carried_predictions(g, {zeros: None}, table) == []


def new_axis_graph(shape: tuple[int | None, ...], spec: int) -> ModelGraph:
    """``mask[:, tf.newaxis, :]`` (``spec`` 3: every dim named) or ``mask[:, tf.newaxis]``
    (``spec`` 2) as a SavedModel holds it: a StridedSlice with a new axis at position 1, its
    begin / end / strides of ``spec`` elements, zero masks left out of the attributes."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="mask", dtype="bool", shape=shape)
    bounds = [g.add_tensor(0, 1 + i, name=n, dtype="int32", shape=(spec,), constant=True)
              for i, n in enumerate(("begin", "end", "strides"))]
    out = g.add_tensor(0, 4, name="out", dtype="bool", shape=(shape[0], 1, *shape[1:]))
    full = (1 << spec) - 1 - 2  # every spec entry but the new axis is a full slice
    g.add_op(0, 0, op_type="STRIDED_SLICE", source_op="StridedSlice", name="strided_slice",
             inputs=[x, *bounds], outputs=[out], location="serving_default/enc/strided_slice",
             attrs={"T": "bool", "begin_mask": full, "end_mask": full, "new_axis_mask": 2})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    return g


def test_a_new_axis_on_two_unknown_dims_fails_conversion() -> None:
    """The probed StridedSlice variants: a new axis in a spec naming every input dim, on
    an input with two dims of unknown size, is refused (the keras.io translation
    transformer's padding mask); one unknown dim, or a spec leaving the last dim
    implicit, converts."""
    from qlint.op_facts import op_facts
    from qlint.predict.tables import CONVERSION_ERROR

    g = new_axis_graph((None, None), 3)
    facts = op_facts(g, next(iter(g.ops())))
    assert (facts["new_axis_mask"], facts["slice_spec_full"], facts["ifm_unknown_dims"]) == (
        2, True, 2)
    (p,) = predict(g, source_table())
    assert (p.outcome, p.cap.name) == (
        CONVERSION_ERROR, "StridedSlice(new axis, full spec, two unknown dims)")
    assert p.failing_tf_op == "StridedSlice"
    assert predict(new_axis_graph((None, 16), 3), source_table()) == []
    g = new_axis_graph((None, None), 2)
    assert op_facts(g, next(iter(g.ops())))["slice_spec_full"] is False
    assert predict(g, source_table()) == []


def squared_difference_graph(shape: tuple[int | None, ...]) -> ModelGraph:
    """``tf.math.squared_difference(x, mean)`` as a SavedModel holds it."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    mean = g.add_tensor(0, 1, name="mean", dtype="float32",
                        shape=(shape[0], *(1 for _ in shape[1:])))
    out = g.add_tensor(0, 2, name="out", dtype="float32", shape=shape)
    g.add_op(0, 0, op_type="SQUARED_DIFFERENCE", source_op="SquaredDifference",
             name="SquaredDifference", inputs=[x, mean], outputs=[out],
             location="serving_default/gn/SquaredDifference", attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x, mean],
                             "outputs": [out]}]
    return g


def group_norm_layer_graph(shape: tuple[int | None, ...]) -> ModelGraph:
    """A ``.keras`` model of one GroupNormalization(2) layer on ``shape``."""
    g = ModelGraph("keras", "model.keras", "source", subgraphs=[])
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    out = g.add_tensor(0, 1, name="out", dtype="float32", shape=shape)
    g.add_op(0, 0, op_type="keras.GroupNormalization", source_op="GroupNormalization",
             name="group_normalization", inputs=[x], outputs=[out],
             attrs={"config": {"groups": 2, "axis": -1}}, location="group_normalization")
    g.attrs["subgraphs"].append({"name": "model", "inputs": [x], "outputs": [out]})
    return g


def test_a_squared_difference_of_rank_5_becomes_a_float_square() -> None:
    """Probed: a SquaredDifference of a rank-5 tensor (GroupNormalization's variance on an
    image) becomes SUB and a float SQUARE; of rank 4 it stays an int8 SQUARED_DIFFERENCE.
    A GroupNormalization layer on a sequence (rank 3) keeps only its NEG float."""
    table = source_table()
    (p,) = predict(squared_difference_graph((None, 4, 4, 2, 2)), table)
    assert (p.cap.name, p.tflite_ops) == ("SquaredDifference(rank 5)", ("SQUARE",))
    assert predict(squared_difference_graph((None, 4, 4, 4)), table) == []
    gn = table.tf_op("keras.GroupNormalization")
    assert gn is not None and gn.pattern_when == {
        "SquaredDifference": [{"fact": "rank", "ge": 5}]}
    (p,) = predict(group_norm_layer_graph((None, 8, 8, 4)), table)
    assert (p.cap.name, p.tflite_ops) == ("keras.GroupNormalization", ("NEG", "SQUARE"))
    (p,) = predict(group_norm_layer_graph((None, 16, 8)), table)
    assert (p.cap.name, p.tflite_ops) == ("keras.GroupNormalization(rank 3 input)", ("NEG",))


def pow_tanh_graph(exponent: float, shape: tuple[int, ...]) -> ModelGraph:
    """``tanh(x + 0.044715 * x ** exponent)`` in one scope: with exponent 3 the ops of the
    tanh-approximated GELU, which the converter fuses into an int8 GELU."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    e = g.add_tensor(0, 1, name="e", dtype="float32", shape=(), constant=True, value=exponent)
    c = g.add_tensor(0, 2, name="c", dtype="float32", shape=(), constant=True, value=0.044715)
    t = [g.add_tensor(0, 3 + i, name=f"t{i}", dtype="float32", shape=shape) for i in range(4)]
    for k, (op, builtin, ins, out) in enumerate([
            ("Pow", "POW", [x, e], t[0]), ("Mul", "MUL", [t[0], c], t[1]),
            ("AddV2", "ADD", [x, t[1]], t[2]), ("Tanh", "TANH", [t[2]], t[3])]):
        g.add_op(0, k, op_type=builtin, source_op=op, name=f"{op}_{k}", inputs=ins,
                 outputs=[out], location=f"serving_default/m/act/{op}_{k}",
                 attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [t[3]]}]
    return g


def test_a_pattern_holds_only_with_the_constants_its_probe_had() -> None:
    """The probe of the tanh-approximated GELU recorded its Pow's exponent, 3: a Pow of 2
    on a rank-5 tensor (a YOLO box decode) beside a Tanh, a Mul and an AddV2 is no GELU,
    and stays the float POW its own probed variant says."""
    table = source_table()
    gelu = table.tf_op("keras.Activation(gelu,approximate)")
    assert gelu is not None and gelu.graphdef_consts == {"Pow": (3.0,)}
    assert predict(pow_tanh_graph(3.0, (1, 4, 4, 8)), table) == []
    (p,) = predict(pow_tanh_graph(2.0, (1, 4, 4, 2, 8)), table)
    assert (p.cap.name, p.tflite_ops) == ("Pow(y=2, rank 5)", ("POW",))


def tensor_list_write_graph(batch: int | None) -> ModelGraph:
    """A while-loop body's TensorListSetItem writing a (batch, 8) step, as a SavedModel
    of a recurrent layer holds it."""
    g = ModelGraph("savedmodel", "model", "source")
    handle = g.add_tensor(0, 0, name="handle", dtype="variant", shape=())
    index = g.add_tensor(0, 1, name="i", dtype="int32", shape=())
    item = g.add_tensor(0, 2, name="item", dtype="float32", shape=(batch, 8))
    out = g.add_tensor(0, 3, name="out", dtype="variant", shape=())
    g.add_op(0, 0, op_type="tf.TensorListSetItem", source_op="TensorListSetItem",
             name="TensorListSetItem", inputs=[handle, index, item], outputs=[out],
             location="serving_default/rnn/while/body/TensorListSetItem",
             attrs={"element_dtype": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default",
                             "inputs": [handle, index, item], "outputs": [out]}]
    return g


def test_a_tensor_list_written_on_an_unknown_batch_is_refused() -> None:
    """Probed: a TensorArray written in a while loop on an unknown batch leaves a
    TensorListReserve without a static element shape, which the converter refuses; on a
    batch of one the probe killed the converter, so that case has no verdict (unknown)."""
    from qlint.predict.tables import CONVERSION_ERROR

    table = source_table()
    (p,) = predict(tensor_list_write_graph(None), table)
    assert (p.outcome, p.cap.name) == (CONVERSION_ERROR, "TensorListSetItem(unknown batch)")
    assert "TensorListReserve" in (p.cap.message or "")
    assert predict(tensor_list_write_graph(1), table) == []
    assert [u.name for u in unknown_ops(tensor_list_write_graph(1), table)] == [
        "TensorListSetItem"]


def split_graph(sizes: tuple[int, ...]) -> ModelGraph:
    """A ``SplitV`` of 4 channels into ``sizes``; only the non-empty parts are read, so, as
    in a SavedModel, the loader notes an empty one in the op's attributes."""
    g = ModelGraph("savedmodel", "model", "source")
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=(1, 8, 8, 4))
    parts = [g.add_tensor(0, 1 + k, name=f"p{k}", dtype="float32", shape=(1, 8, 8, n),
                          output_arg="output") for k, n in enumerate(sizes) if n]
    attrs: dict[str, object] = {"num_split": len(sizes), "T": "float32"}
    if 0 in sizes:
        attrs["empty_output"] = True
    g.add_op(0, 0, op_type="SPLIT_V", source_op="SplitV", name="split", inputs=[x],
             outputs=parts, location="serving_default/split", attrs=attrs)
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": parts}]
    return g


def test_a_split_with_an_empty_part_may_stay_float() -> None:
    """The converter keeps a SPLIT_V with an empty part (FasterNet's partial convolution)
    in float in some conversions and not in others, with the same model; the probe
    converted it several times and the finding says how many of them kept it float."""
    from qlint.registry import Context
    from qlint_rules.source_kernels import SourceFloatFallback

    (p,) = predict(split_graph((1, 3, 0)), source_table())
    assert p.cap.name == "SplitV(empty part)" and p.cap.float_runs is not None
    k, n = p.cap.float_runs
    assert 0 < k < n
    (f,) = SourceFloatFallback().check(split_graph((1, 3, 0)), Context())
    assert f"may run (in {k} of {n} probed conversions)" in f.message
    assert predict(split_graph((1, 3)), source_table()) == []


def l2_normalize_graph(axis: int) -> ModelGraph:
    """``tf.math.l2_normalize(x, axis)`` on (1, 2, 4, 8) as TensorFlow writes it: Square,
    Sum over ``axis``, Maximum with epsilon, Rsqrt, Mul, in the function's name scope."""
    g = ModelGraph("savedmodel", "model", "source")
    shape = (1, 2, 4, 8)
    reduced = tuple(1 if i == axis % 4 else d for i, d in enumerate(shape))
    x = g.add_tensor(0, 0, name="x", dtype="float32", shape=shape)
    sq = g.add_tensor(0, 1, name="sq", dtype="float32", shape=shape)
    ax = g.add_tensor(0, 2, name="axis", dtype="int32", shape=(), constant=True, value=axis)
    sm = g.add_tensor(0, 3, name="sum", dtype="float32", shape=reduced)
    eps = g.add_tensor(0, 4, name="eps", dtype="float32", shape=(), constant=True, value=1e-12)
    mx = g.add_tensor(0, 5, name="max", dtype="float32", shape=reduced)
    rs = g.add_tensor(0, 6, name="rsqrt", dtype="float32", shape=reduced)
    out = g.add_tensor(0, 7, name="out", dtype="float32", shape=shape)
    scope = "serving_default/m/tf.math.l2_normalize/l2_normalize"
    for k, (op, builtin, ins, o) in enumerate([
            ("Square", "SQUARE", [x], sq), ("Sum", "SUM", [sq, ax], sm),
            ("Maximum", "MAXIMUM", [sm, eps], mx), ("Rsqrt", "RSQRT", [mx], rs),
            ("Mul", "MUL", [x, rs], out)]):
        g.add_op(0, k, op_type=builtin, source_op=op, name=op, inputs=ins, outputs=[o],
                 location=f"{scope}/{op}" if op != "Mul" else scope, attrs={"T": "float32"})
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": [x],
                             "outputs": [out]}]
    return g


def test_an_l2_normalize_over_a_middle_axis_is_not_the_fused_one() -> None:
    """Over the last axis the converter fuses tf.math.l2_normalize into an int8
    L2_NORMALIZATION; over a middle axis (XCA attention's keys) it does not, and keeps the
    SQUARE in float: a probed pattern with a condition on its Sum (``pattern_when``)."""
    table = source_table()
    assert predict(l2_normalize_graph(-1), table) == []
    (p,) = predict(l2_normalize_graph(-2), table)
    assert (p.cap.name, p.tflite_ops) == ("L2Normalize(middle axis)", ("SQUARE",))


def test_a_keras_split_shows_its_empty_part_through_its_cut_points() -> None:
    """A .keras file lists only a split's first output; its cut points and the input
    shape say whether a part is empty (numpy's reading of ``indices_or_sections``)."""
    from qlint.op_facts import _split_empty_part

    cfg = {"indices_or_sections": [2, 8], "axis": 3}
    assert _split_empty_part(cfg, (None, 16, 16, 8)) is True
    assert _split_empty_part(cfg, (None, 16, 16, 12)) is False
    assert _split_empty_part({"indices_or_sections": [0, 4], "axis": -1}, (1, 8)) is True
    assert _split_empty_part({"indices_or_sections": 2, "axis": 1}, (1, 8)) is False
    assert _split_empty_part(cfg, (None, 16, 16, None)) is False



def test_a_rotary_embedding_keeps_its_negation_and_stack_float_each_named_once() -> None:
    """Probed ``Neg+Pack``: the PACK of a float NEG stays float. keras-hub's Llama (held-out
    set 14) rotates half of each head in two rotary-embedding scopes that hold a Reshape
    too, so ``Neg+Reshape`` matches there as well; each NEG is predicted once, as the
    converter keeps two NEG and two PACK in float."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "hub14.llama" / "saved_model")
    g = load_savedmodel(str(path))
    named = [b for p in predict(g, source_table()) for b in p.tflite_ops
             for _ in range(p.count(b))]
    assert (named.count("NEG"), named.count("PACK")) == (2, 2)


def test_a_convolution_of_frames_whose_shape_the_converter_cannot_infer_is_refused() -> None:
    """kapre's Energy layer frames audio with tf.signal.frame on an unknown batch size; TF
    records the frames' shape (set_shape), the converter re-infers it from a Reshape to a
    shape computed through a SplitV and cannot, and refuses the Conv2D that reads them
    (probed: ``Conv2D(input shape not inferred)``), although a Conv1D is an integer
    pattern. The rfft of such frames is wrapped in EXPAND_DIMS / SQUEEZE."""
    from pathlib import Path

    from qlint.converter_shapes import unknown_to_converter
    from qlint.loaders.savedmodel import load_savedmodel

    models = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_savedmodel(str(models / "tp12.kapre_energy" / "saved_model"))
    unknown = unknown_to_converter(g)
    conv = [op for op in g.ops() if g[op]["source_op"] == "Conv2D"]
    assert len(conv) == 1 and g.inputs(conv[0])[0] in unknown
    assert not any(g[op]["source_op"] == "MatMul" and g.inputs(op)[0] in unknown
                   for op in g.ops())  # the Dense after global pooling is not
    (p,) = [p for p in predict(g, source_table()) if p.op == conv[0]]
    assert (p.outcome, p.cap.name) == ("conversion_error", "Conv2D(input shape not inferred)")
    mel = load_savedmodel(str(models / "arch9.kws_mel" / "saved_model"))
    (rfft,) = [p for p in predict(mel, source_table()) if mel[p.op]["source_op"] == "RFFT"]
    assert rfft.cap.name == "RFFT(input shape not inferred)"
    assert set(rfft.tflite_ops) == {"RFFT2D", "SQUEEZE"}


def test_derived_facts_skip_dims_the_file_leaves_unknown() -> None:
    """A convolution whose weight shape has an unknown dim (a hostile file's
    ``_output_shapes``) has no filter maximum; the facts are computed without one."""
    from qlint.op_facts import _derive

    facts = {"filter_w": None, "filter_h": 3, "stride_w": 1, "stride_h": 2,
             "ifm_h": 4, "ifm_w": None, "ofm_h": 8, "ofm_w": 8}
    _derive(facts, "RESIZE_BILINEAR")
    assert facts["stride_max"] == 2
    assert "filter_max" not in facts and "filter_product" not in facts
    assert "scale_max" not in facts


def test_ones_like_of_a_model_output_keeps_its_shape_float() -> None:
    """The anomaly scorer's ``where(score > t, ones_like(score), zeros_like(score))``
    beside the score, a model output: its SHAPE reads the output dequantized (probed:
    ``keras.ops.OnesLike(input is model output)``); of another tensor, int8."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "arch7.ae_anomaly" / "model.keras")
    g = load_keras(str(path))
    (ones,) = [o for o in g.ops() if g[o]["source_op"] == "ops.OnesLike"]
    (p,) = [p for p in predict(g, source_table()) if p.op == ones]
    assert (p.cap.name, p.tflite_ops) == ("keras.ops.OnesLike(input is model output)",
                                          ("SHAPE",))
    # the same graph with the score no model output: the int8 variant
    g.attrs["subgraphs"][0]["outputs"] = [
        t for t in g.attrs["subgraphs"][0]["outputs"] if t not in g.inputs(ones)]
    assert [p for p in predict(g, source_table()) if p.op == ones] == []


def test_each_own_op_of_a_pattern_instance_counts() -> None:
    """keras-adaptive-softmax's embedding casts float -> int32 once per cluster; the last
    scope holds two such Casts beside their Muls, and the probed ``Cast`` pattern judges
    its own op: both CASTs stay float (13 in all, as the converter kept)."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel

    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "tp24.adaptive_softmax" / "saved_model")
    g = load_savedmodel(str(path))
    casts = sum(p.count("CAST") for p in predict(g, source_table()) if "CAST" in p.tflite_ops)
    assert casts == 13
    (p,) = [p for p in predict(g, source_table()) if len(p.related) == 2]
    assert p.cap.name == "Cast" and p.count("CAST") == 2


def test_a_repeat_of_merged_kernels_outweighs_the_repeat_pattern() -> None:
    """keras-hub's Llama (held-out set 14) projects keys and values with kernels of the
    same bytes (random weights from one seeded initializer), which the converter merges;
    its grouped-query repeat of the values then stays float (probed: ``<op>(sibling
    negated, merged)``, float in most probed forms).  Such a variant outweighs the integer
    pattern of the repeat: merged kernels are a context no pattern's probe had.  A variant
    float in only some runs of a condition a pattern's probe met too does not (a split)."""
    from pathlib import Path

    from qlint.loaders.savedmodel import load_savedmodel
    from qlint.predict.variants import overrides_pattern

    table = source_table()
    merged = table.tf_op("Tile(sibling negated, merged)")
    assert merged is not None and merged.float_runs is not None
    assert merged.float_runs[0] < merged.float_runs[1] < 2 * merged.float_runs[0]
    assert overrides_pattern(merged)
    split = table.tf_op("SplitV(empty part)")
    assert split is not None and split.float_runs is not None
    assert split.float_runs[0] < split.float_runs[1] and not overrides_pattern(split)
    path = (Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
            / "hub14.llama" / "saved_model")
    g = load_savedmodel(str(path))
    names = {p.cap.name for p in predict(g, table)}
    assert {"ExpandDims(sibling negated, merged)", "Tile(sibling negated, merged)"} <= names
