"""A slice of a tensor whose other part is concatenated: the fact and what the probed
table predicts from it, on a SavedModel graph and on a float ``.tflite`` (no TensorFlow)."""

from __future__ import annotations

import pytest

from qlint.graph import ModelGraph
from qlint.op_facts import op_facts
from qlint.predict.patterns import source_table
from qlint.predict.source import predict
from qlint.predict.tables import FLOAT_FALLBACK
from qlint.quant_mode import classify_quant_mode
from qlint.sibling_slices import joined_sibling

# (TF op, builtin) of each step, per IR kind
KINDS = {"MatMul": "FULLY_CONNECTED", "StridedSlice": "STRIDED_SLICE", "ConcatV2":
         "CONCATENATION", "AddV2": "ADD", "Mul": "MUL", "Reshape": "RESHAPE",
         "Split": "SPLIT", "Einsum": "BATCH_MATMUL", "Neg": "NEG", "Pack": "PACK",
         "Transpose": "TRANSPOSE", "BatchMatMulV2": "BATCH_MATMUL", "Cumsum": "CUMSUM",
         "Sub": "SUB"}
Step = tuple[str, list[int], list[int]]


def add_steps(g: ModelGraph, steps: list[Step], names: dict[int, str] | None = None) -> None:
    """Each (TF op, inputs, outputs) as a SavedModel op, or as its builtin in a .tflite
    (a builtin's own name stands for itself)."""
    for k, (op, ins, outs) in enumerate(steps):
        name = (names or {}).get(k, f"{op}_{k}")
        if g.format == "savedmodel":
            g.add_op(0, k, op_type=op, source_op=op, name=name, inputs=ins, outputs=outs,
                     location=f"serving_default/{name}", attrs={"T": "float32"})
        else:
            kind = KINDS.get(op, op)
            g.add_op(0, k, op_type=kind, source_op=kind, name=name, inputs=ins,
                     outputs=outs, location=f"subgraph[0]/op[{k}]")


def finish(g: ModelGraph, inputs: list[int], outputs: list[int]) -> ModelGraph:
    """The graph's one subgraph, and a .tflite file's quantization mode."""
    g.attrs["subgraphs"] = [{"index": 0, "name": "serving_default", "inputs": inputs,
                             "outputs": outputs}]
    if g.format == "tflite":
        g.attrs["quant_mode"] = classify_quant_mode(g)
    return g


def sibling_graph(fmt: str, joined: bool = True, reader: str = "AddV2",
                  shared_slice: bool = False, via_split: bool = False,
                  read_first: bool = False, slice_first: bool = False) -> ModelGraph:
    """t = x @ w; one part of t concatenated with x (``joined``; else multiplied first),
    the other part read by ``reader``.  ``shared_slice``: the reader's slice is also read
    by a MUL.  ``via_split``: the concatenated part comes from a Split of t.
    ``read_first``: the converter takes the reader first (its slice's name sorts first in
    a SavedModel; it runs first in a ``.tflite``).  ``slice_first``: in a ``.tflite``,
    the reader's slice runs before the concatenation, the reader after it (tf2-gnn's
    RGAT)."""
    g = ModelGraph(fmt, "model", "source" if fmt == "savedmodel" else "converted")
    tensors = iter(range(100))

    def tensor(name: str, **kw: object) -> int:
        return g.add_tensor(0, next(tensors), name=name, dtype="float32",
                            shape=kw.pop("shape", (1, 16, 16)), **kw)

    x = tensor("x")
    w = tensor("w", constant=True, shape=(16, 32))
    t, a, b, c, m, y, z = (tensor(n) for n in ("t", "a", "b", "c", "m", "y", "z"))
    # the slices' begin operands: two halves, not one slice taken twice
    first, second = (tensor(n, constant=True, content=n) for n in ("begin0", "begin8"))
    steps: list[tuple[str, list[int], list[int]]] = [("MatMul", [x, w], [t])]
    if via_split:
        steps.append(("Split", [t], [a, m]))
    else:
        steps.append(("StridedSlice", [t, first], [a]))
    join = [("ConcatV2", [a, x], [c])] if joined else [("Mul", [a], [m]),
                                                       ("ConcatV2", [m, x], [c])]
    read = [("StridedSlice", [t, second], [b]), (reader, [b], [y])]
    if fmt == "tflite" and slice_first:
        steps += read[:1] + join + read[1:]
    else:
        steps += read + join if read_first and fmt == "tflite" else join + read
    if shared_slice:
        steps.append(("Mul", [b], [z]))
    # with read_first, the reader's slice is named to sort before the other part's
    names = {k: f"{op}_0" for k, (op, _, outs) in enumerate(steps)
             if read_first and outs == [b]}
    add_steps(g, steps, names)
    return finish(g, [x], [c, y, z] if shared_slice else [c, y])


def _reader(g: ModelGraph, name: str) -> object:
    return next(o for o in g.ops() if g[o]["name"].startswith(name))


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_the_fact_holds_only_for_a_joined_sibling(fmt: str) -> None:
    def fact(**kw: object) -> str:
        g = sibling_graph(fmt, **kw)  # type: ignore[arg-type]
        return op_facts(g, _reader(g, "AddV2"))["joined_sibling"]  # type: ignore[no-any-return]

    assert fact() == "joined first"
    assert fact(via_split=True) == "joined first"  # the concatenated part split off
    assert fact(joined=False) == "none"  # a MUL between the other part and the concat
    assert fact(shared_slice=True) == "none"  # the reader's slice is read by another op too
    assert fact(read_first=True) == "read first"  # the converter takes the reader first
    if fmt == "tflite":  # the reader's slice taken before the concatenation: int8 (RGAT)
        assert fact(slice_first=True) == "read first"
    g = sibling_graph(fmt)
    concat = _reader(g, "ConcatV2")
    assert joined_sibling(g, concat, [t for t in g.inputs(concat) if t is not None]) \
        == "none"  # the concatenated slice's own sibling is the reader's: not joined


def test_prediction_follows_the_probed_sweep() -> None:
    table = source_table()
    entries = {c.name: c for c in table.tf_ops() if "(sibling slice" in c.name}
    assert entries["AddV2(sibling slice joined)"].outcome == FLOAT_FALLBACK
    assert entries["ConcatV2(sibling slice joined)"].outcome != FLOAT_FALLBACK
    (p,) = [p for p in predict(sibling_graph("savedmodel"), table)]
    assert (p.cap.name, p.tflite_ops) == ("AddV2(sibling slice joined)", ("ADD",))
    assert predict(sibling_graph("savedmodel", joined=False), table) == []
    assert predict(sibling_graph("savedmodel", shared_slice=True), table) == []
    assert predict(sibling_graph("savedmodel", read_first=True), table) == []
    assert entries["AddV2(sibling slice read first)"].outcome != FLOAT_FALLBACK


def test_float_tflite_reader_is_flagged_by_ql101() -> None:
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    def flagged(g: ModelGraph) -> list[str]:
        return [f.node["op_type"] for f in Int8Readiness().check(g, Context())]

    assert flagged(sibling_graph("tflite")) == ["ADD"]
    assert flagged(sibling_graph("tflite", reader="Einsum")) == ["BATCH_MATMUL"]
    assert flagged(sibling_graph("tflite", joined=False)) == []
    assert flagged(sibling_graph("tflite", read_first=True)) == []


def test_converter_order_walks_readers_in_name_order() -> None:
    from qlint.converter_order import op_order

    # t's readers: the join's slice (StridedSlice_1) and the reader's (StridedSlice_3):
    # the one named last is walked first, so its branch comes last (reverse post-order)
    g = sibling_graph("savedmodel")
    order = op_order(g)
    by_name = {g[o]["name"]: order[o] for o in g.ops()}
    assert by_name["MatMul_0"] == 0
    assert by_name["ConcatV2_2"] < by_name["StridedSlice_3"] < by_name["AddV2_4"]
    g = sibling_graph("savedmodel", read_first=True)
    order = op_order(g)
    by_name = {g[o]["name"]: order[o] for o in g.ops()}
    assert by_name["AddV2_4"] < by_name["StridedSlice_1"] < by_name["ConcatV2_2"]
    g = sibling_graph("tflite", read_first=True)  # a .tflite: its own execution order
    assert list(op_order(g).values()) == list(range(len(list(g.ops()))))


def rotary_graph(fmt: str, negated: bool = True, reader: str = "Transpose",
                 pack: bool = True) -> ModelGraph:
    """t = x @ w (keys and values from one projection); a, b = split(t); the rotation
    stack([-b, a]) (``pack``; else a concatenation), or stack([b * 2, a]) where not
    ``negated``; the value ``reader`` (a TRANSPOSE, then a BATCH_MATMUL) reads t whole."""
    g = ModelGraph(fmt, "model", "source" if fmt == "savedmodel" else "converted")
    tensors = iter(range(100))

    def tensor(name: str) -> int:
        return g.add_tensor(0, next(tensors), name=name, dtype="float32", shape=(1, 16, 16))

    x, t, a, b, nb, r, v, q, o = (tensor(n) for n in ("x", "t", "a", "b", "nb", "r", "v", "q", "o"))
    w = g.add_tensor(0, next(tensors), name="w", dtype="float32", shape=(16, 16),
                     constant=True)
    steps = [("MatMul", [x, w], [t]), ("Split", [t], [a, b]),
             ("Neg" if negated else "Mul", [b], [nb]),
             ("Pack" if pack else "ConcatV2", [nb, a], [r]), (reader, [t], [v]),
             ("BatchMatMulV2", [x, v], [o])]
    add_steps(g, steps)
    return finish(g, [x], [r, o, q])


@pytest.mark.parametrize("fmt", ["savedmodel", "tflite"])
def test_a_whole_tensor_beside_a_negated_rotation(fmt: str) -> None:
    """The value read whole from the projection a rotary embedding negates half of and
    stacks (keys and values from one projection) is ``negated``; the matrix product
    reading it through the TRANSPOSE alone is too; a rotation without the negation, or
    an op that is part of the rotation, is not."""
    def fact(op: str, **kw: object) -> str:
        g = rotary_graph(fmt, **kw)  # type: ignore[arg-type]
        return op_facts(g, _reader(g, op))["joined_sibling"]  # type: ignore[no-any-return]

    assert fact("Transpose") == "negated"
    assert fact("Transpose", pack=False) == "negated"
    assert fact("BatchMatMulV2") == "negated"  # through the TRANSPOSE only it reads
    assert fact("Transpose", negated=False) == "none"
    assert fact("Split") == "none"


def test_the_transpose_beside_a_negated_rotation_stays_float() -> None:
    """The probe (``Transpose(sibling negated)``) kept the TRANSPOSE float, and the
    matrix product reading it (``Transpose+BatchMatMulV2(sibling negated)``, carried);
    every other reading op of the sweep stayed int8."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    table = source_table()
    entries = {c.name: c for c in table.tf_ops() if "(sibling negated)" in c.name}
    assert entries["Transpose(sibling negated)"].float_ops == ("TRANSPOSE",)
    assert entries["AddV2(sibling negated)"].outcome != FLOAT_FALLBACK

    def flagged(g: ModelGraph) -> list[str]:
        return sorted(f.node["op_type"] for f in Int8Readiness().check(g, Context())
                      if f.node["op_type"] in ("TRANSPOSE", "BATCH_MATMUL", "ADD"))

    assert flagged(rotary_graph("tflite")) == ["BATCH_MATMUL", "TRANSPOSE"]
    assert flagged(rotary_graph("tflite", negated=False)) == []
    assert flagged(rotary_graph("tflite", reader="AddV2")) == []
    names = [p.cap.name for p in predict(rotary_graph("savedmodel"), table)]
    assert "Transpose(sibling negated)" in names
    assert not any("sibling negated" in n
                   for n in (p.cap.name for p in predict(rotary_graph(
                       "savedmodel", negated=False), table)))


def cumsum_graph(fmt: str, joined: bool = True, twice: bool = False) -> ModelGraph:
    """c = cumsum(x); c[:, 1:] - concat([zeros, c[:, :-1]]) (``joined``; else the two
    slices subtracted); ``twice``: the same computed again on x (a TimeMixer block
    decomposing one series twice), which the converter merges into the first."""
    g = ModelGraph(fmt, "model", "source" if fmt == "savedmodel" else "converted")
    tensors = iter(range(100))

    def tensor(name: str, **kw: object) -> int:
        return g.add_tensor(0, next(tensors), name=name, dtype="float32", shape=(1, 16, 8),
                            **kw)

    x = tensor("x")
    zeros = tensor("zeros", constant=True, content="z")
    begin1, begin0 = (tensor(n, constant=True, content=n) for n in ("begin1", "begin0"))
    steps: list[tuple[str, list[int], list[int]]] = []
    outs: list[int] = []
    for _ in range(2 if twice else 1):
        c, a, b, j, d = (tensor(n) for n in ("c", "a", "b", "j", "d"))
        steps += [("Cumsum", [x], [c]), ("StridedSlice", [c, begin1], [a]),
                  ("StridedSlice", [c, begin0], [b])]
        if joined:
            steps += [("ConcatV2", [zeros, b], [j]), ("Sub", [a, j], [d])]
        else:
            steps += [("Sub", [a, b], [d])]
        outs.append(d)
    add_steps(g, steps)
    return finish(g, [x], outs)


def test_slices_of_a_float_cumsum_stay_float_where_one_is_concatenated() -> None:
    """The probe (``Cumsum+StridedSlice(slice joined)``) kept both slices of a float
    CUMSUM float where one of them is concatenated, and neither where they are only
    subtracted; on a SavedModel the repeated decomposition is merged, and each carried
    slice counts once."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    def flagged(g: ModelGraph) -> list[str]:
        return sorted(f.node["op_type"] for f in Int8Readiness().check(g, Context()))

    assert flagged(cumsum_graph("tflite")) == ["CUMSUM", "STRIDED_SLICE", "STRIDED_SLICE"]
    assert flagged(cumsum_graph("tflite", joined=False)) == ["CUMSUM"]
    table = source_table()

    def carried(g: ModelGraph) -> list[tuple[str, int]]:
        return [(p.tflite_ops[0], p.count(p.tflite_ops[0])) for p in predict(g, table)
                if p.via == "carried"]

    assert carried(cumsum_graph("savedmodel")) == [("STRIDED_SLICE", 1)] * 2
    assert carried(cumsum_graph("savedmodel", twice=True)) == [("STRIDED_SLICE", 1)] * 2
    assert carried(cumsum_graph("savedmodel", joined=False)) == []


@pytest.mark.parametrize("conv", ["CONV_3D", "CONV_3D_TRANSPOSE"])
def test_a_concatenated_float_3d_convolution_keeps_its_concatenation_float(conv: str) -> None:
    """``Conv3D+ConcatV2``, ``Conv3DBackpropInputV2+ConcatV2``: a UNETR decoder's
    transposed convolution concatenated with a skip connection; an ADD between (the
    probe with a BiasAdd) leaves the CONCATENATION int8."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    def graph(bias_add: bool) -> ModelGraph:
        g = ModelGraph("tflite", "model", "converted")
        x, k, c, b, s, y, o = (g.add_tensor(0, i, name=n, dtype="float32",
                                            shape=(1, 4, 4, 4, 2), constant=n in "kb")
                               for i, n in enumerate(["x", "k", "c", "b", "s", "y", "o"]))
        steps = [(conv, [x, k], [c])] + ([("ADD", [c, b], [s])] if bias_add else []) + [
            ("CONCATENATION", [s if bias_add else c, y], [o])]
        add_steps(g, steps)
        return finish(g, [x, y], [o])

    def flagged(g: ModelGraph) -> list[str]:
        return sorted(f.node["op_type"] for f in Int8Readiness().check(g, Context()))

    assert flagged(graph(bias_add=False)) == sorted([conv, "CONCATENATION"])
    assert flagged(graph(bias_add=True)) == [conv]


@pytest.mark.parametrize("alike", [True, False])
def test_keys_and_values_of_kernels_alike_are_one_tensor(alike: bool) -> None:
    """A SavedModel projecting keys and values by two kernels of the same bytes (their
    ``content``): the converter merges the two MatMuls, and the value TRANSPOSE reads the
    tensor whose half the keys' rotation negates (`qlint.merges`)."""
    g = ModelGraph("savedmodel", "model", "source")
    tensors = iter(range(100))

    def tensor(name: str, **kw: object) -> int:
        return g.add_tensor(0, next(tensors), name=name, dtype="float32", shape=(1, 16, 16),
                            **kw)

    x, tk, tv, a, b, nb, r, v = (tensor(n) for n in ("x", "tk", "tv", "a", "b", "nb", "r", "v"))
    wk = tensor("wk", constant=True, content="value:k")
    wv = tensor("wv", constant=True, content="value:k" if alike else "value:v")
    steps = [("MatMul", [x, wk], [tk]), ("MatMul", [x, wv], [tv]), ("Split", [tk], [a, b]),
             ("Neg", [b], [nb]), ("Pack", [nb, a], [r]), ("Transpose", [tv], [v])]
    add_steps(g, steps)
    finish(g, [x], [r, v])
    transpose = _reader(g, "Transpose")
    assert op_facts(g, transpose)["joined_sibling"] == ("negated" if alike else "none")
    names = [p.cap.name for p in predict(g, source_table())]
    assert ("Transpose(sibling negated)" in names) is alike


@pytest.mark.parametrize("alike", [True, False])
def test_a_grouped_query_repeat_of_merged_values_stays_float(alike: bool) -> None:
    """Grouped-query attention (Llama, Mistral): the value heads repeated (``ExpandDims``,
    ``Tile``, ``Reshape``), transposed and multiplied.  Where the key and value kernels
    hold the same bytes (merged by the converter), the probes kept the whole chain float
    in three of four forms (``ExpandDims(sibling negated, merged)``, carried by
    ``Repeat+Transpose+BatchMatMulV2(sibling negated, merged)``), which is predicted where
    no integer pattern claims the ops; with kernels of their own, nothing; and on
    a ``.tflite`` file, merged already, the fact is not known (one projection read twice
    kept the chain int8)."""
    g = ModelGraph("savedmodel", "model", "source")
    tensors = iter(range(100))

    def tensor(name: str, **kw: object) -> int:
        return g.add_tensor(0, next(tensors), name=name, dtype="float32", shape=(1, 16, 16),
                            **kw)

    x, tk, tv, a, b, nb, r, e, t2, rv, v, o = (tensor(n) for n in (
        "x", "tk", "tv", "a", "b", "nb", "r", "e", "t2", "rv", "v", "o"))
    wk = tensor("wk", constant=True, content="value:k")
    wv = tensor("wv", constant=True, content="value:k" if alike else "value:v")
    steps = [("MatMul", [x, wk], [tk]), ("MatMul", [x, wv], [tv]), ("Split", [tk], [a, b]),
             ("Neg", [b], [nb]), ("Pack", [nb, a], [r]), ("ExpandDims", [tv], [e]),
             ("Tile", [e], [t2]), ("Reshape", [t2], [rv]), ("Transpose", [rv], [v]),
             ("BatchMatMulV2", [x, v], [o])]
    add_steps(g, steps)
    finish(g, [x], [r, o])
    assert op_facts(g, _reader(g, "Transpose"))["merged_negated"] is alike
    got = sorted(op for p in predict(g, source_table()) for op in p.tflite_ops
                 if op not in ("NEG", "PACK"))
    assert got == (["BATCH_MATMUL", "EXPAND_DIMS", "RESHAPE", "TILE", "TRANSPOSE"]
                   if alike else [])
    g2 = _tflite_repeat(rotated=True)  # what the .tflite file holds
    assert "merged_negated" not in op_facts(g2, _reader(g2, "EXPAND_DIMS"))


def _tflite_repeat(rotated: bool) -> ModelGraph:
    """A .tflite projection ``t`` whose result a grouped-query repeat reads whole (EXPAND_DIMS,
    TILE, RESHAPE, TRANSPOSE, BATCH_MATMUL), beside a rotation of it (split, negated,
    stacked) where ``rotated``, else beside a RELU."""
    g = ModelGraph("tflite", "model", "converted")
    tensors = iter(range(100))
    x, t, a, b, nb, r, e, t2, rv, v, o = (
        g.add_tensor(0, next(tensors), name=n, dtype="float32", shape=(1, 16, 16))
        for n in ("x", "t", "a", "b", "nb", "r", "e", "t2", "rv", "v", "o"))
    w = g.add_tensor(0, next(tensors), name="w", dtype="float32", shape=(16, 16),
                     constant=True)
    rotation = [("Split", [t], [a, b]), ("Neg", [b], [nb]), ("Pack", [nb, a], [r])]
    add_steps(g, [("MatMul", [x, w], [t]), *(rotation if rotated else [("RELU", [t], [r])]),
                  ("EXPAND_DIMS", [t], [e]), ("TILE", [e], [t2]), ("Reshape", [t2], [rv]),
                  ("Transpose", [rv], [v]), ("BatchMatMulV2", [x, v], [o])])
    return finish(g, [x], [r, o])


@pytest.mark.parametrize("rotated", [True, False])
def test_a_tflite_repeat_of_a_rotated_projection_may_stay_float(rotated: bool) -> None:
    """On a ``.tflite`` file, keys and values projected by kernels of the same bytes are
    one projection already, which the file cannot tell from one projection read twice:
    QL101 says the repeat and its product *may* stay float (float in three of four probed
    conversions of the first, int8 in every one of the second), and names what the file
    cannot show; where nothing rotates the projection, the fact is false and the chain
    unflagged."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    g = _tflite_repeat(rotated)
    facts = op_facts(g, _reader(g, "EXPAND_DIMS"))
    assert ("merged_negated" in facts) is not rotated
    found = {f.node["op_type"]: f.message for f in Int8Readiness().check(g, Context())}
    chain = ["BATCH_MATMUL", "EXPAND_DIMS", "RESHAPE", "TILE", "TRANSPOSE"]
    if not rotated:
        assert facts["merged_negated"] is False
        assert not set(chain) & set(found)
        return
    assert sorted(set(found) - {"NEG", "PACK"}) == chain
    for op in chain:
        assert " may stay " in found[op] and " stays " not in found[op], found[op]
    assert "cannot tell that from one projection read twice" in found["EXPAND_DIMS"]
    assert "(in 3 of 4 probed conversions)" in found["EXPAND_DIMS"]


@pytest.mark.parametrize("beside", ["SQUARE", "NEG"])
@pytest.mark.parametrize("producer", ["MUL", "TRANSPOSE"])
def test_a_shape_beside_a_float_square_or_neg(beside: str, producer: str) -> None:
    """``Shape+Square(batch unknown, input of a ...)``: a SHAPE reading the input of a
    float SQUARE (an RMS norm beside a mask's shape, SmolLM3) stayed float where a MUL
    gives that input and int8 where a TRANSPOSE does; beside a NEG the probe saw the
    opposite.  Both are the table's conditions (``ifm_producer``), not cases here."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    g = ModelGraph("tflite", "model", "converted")
    shapes = {"x": (1, 4, 4), "i": (1, 4, 4), "s": (3,), "f": (1, 4, 4), "y": (1, 16)}
    x, i, s, f, y = (g.add_tensor(0, n, name=name, shape=shape,
                                  dtype="int32" if name == "s" else "float32")
                     for n, (name, shape) in enumerate(shapes.items()))
    add_steps(g, [(producer, [x], [i]), ("SHAPE", [i], [s]), (beside, [i], [f]),
                  ("RESHAPE", [f, s], [y])])
    finish(g, [x], [y])
    found = {f.node["op_type"]: f.message for f in Int8Readiness().check(g, Context())}
    assert beside in found
    assert ("SHAPE" in found) is ((beside, producer) in {("SQUARE", "MUL"),
                                                         ("NEG", "TRANSPOSE")}), found
    if "SHAPE" in found:
        assert f"reading the input of the float {beside}" in found["SHAPE"]


@pytest.mark.parametrize("producer", ["MUL", "RESHAPE"])
def test_a_shape_beside_a_float_transposed_convolution(producer: str) -> None:
    """``float_siblings``: the probe saw a SHAPE reading the input of a float
    CONV_3D_TRANSPOSE (its output shape on an unknown batch) stay float where a MUL
    computes that input, and int8 where a RESHAPE lays it out (``ifm_producer``)."""
    from qlint.registry import Context
    from qlint_rules.int8_readiness import Int8Readiness

    g = ModelGraph("tflite", "model", "converted")
    shapes = {"x": (1, 2, 2, 2, 2), "i": (1, 2, 2, 2, 2), "k": (2, 2, 2, 2, 2),
              "s": (5,), "y": (1, 4, 4, 4, 2)}
    x, i, k, s, y = (g.add_tensor(0, n, name=name, shape=shape, constant=name == "k",
                                  dtype="int32" if name == "s" else "float32")
                     for n, (name, shape) in enumerate(shapes.items()))
    steps = [(producer, [x], [i]), ("SHAPE", [i], [s]), ("CONV_3D_TRANSPOSE", [s, k, i], [y])]
    add_steps(g, steps)
    finish(g, [x], [y])
    found = {f.node["op_type"]: f.message for f in Int8Readiness().check(g, Context())}
    assert "CONV_3D_TRANSPOSE" in found
    assert ("SHAPE" in found) is (producer == "MUL")
    if producer == "MUL":
        assert "reading the input of the float CONV_3D_TRANSPOSE" in found["SHAPE"]
