"""Re-probe a sample of ops with the installed TensorFlow and compare with the shipped table.

The full probe (``python -m tools.probe``) is a maintainer command; this keeps a
small, fast sample honest: if the installed toolchain disagrees with the table,
the table is stale or the probe changed.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.probe.builders import BUILTIN_BUILDERS, builtin_plan  # noqa: E402
from tools.probe.classify import (  # noqa: E402
    OpInfo,
    classify_target,
    float_op_counts,
    float_ops,
)
from tools.probe.cli import (  # noqa: E402
    drop_flags_like_base,
    probe_builtins,
    probe_tf_ops,
    probe_tflm,
    split_keys,
)
from tools.probe.messages import condense  # noqa: E402
from tools.probe.runner import GuardedWorker  # noqa: E402
from tools.probe.tf_ops import TF_OP_BUILDERS  # noqa: E402

TABLE = REPO / "rules" / "qlint_rules" / "capabilities" / "tflite-2.21.json"
SAMPLE = {
    "int8": ["CONV_2D", "CUMSUM", "TOPK_V2", "SIN", "SOFTMAX", "LOGISTIC", "ATAN2", "EXP",
             "RFFT2D"],
    "int16x8": ["CONV_2D", "CUMSUM"],
}
# Entries of every kind: raw ops, swept conditions (a constant operand, a model output
# read), legalized ops, generic Keras builders.
TF_SAMPLE = ["Erf", "Cumsum", "Pow(y=2)", "Pow(y=3)", "Pow(y=2, rank 5)",
             "ArgMax(input is model output)",
             "MatMul", "AddN", "keras.ELU", "keras.Conv3D", "keras.Activation(mish)",
             "MatrixBandPart", "STFT(1024 dynamic)", "RFFT+Squeeze", "Transpose(complex64)",
             "keras.LayerScale",
             "tf.math.lgamma", "Cast(int64->float32)",
             "TopKV2(indices only; input not model output)", "keras.Dot(normalize=True)",
             "StatelessIf(constant predicate)", "tf.image.rgb_to_hsv", "RFFT2D+ComplexAbs",
             "keras.CategoryEncoding(one_hot)", "tf.tensor_scatter_nd_max", "tf.linalg.eigh",
             "Complex", "Mul(complex64)", "ResourceGather", "keras.ops.Where(args=3)",
             "Betainc", "DenseBincount", "Roll(dynamic batch)", "Sin+ConcatV2",
             "AssignVariableOp", "BiasAdd(NCHW, rank 3)", "LookupTableImportV2",
             "implements:non_max_suppression_padded_v2", "implements:lstm(static batch)",
             "Case", "tf_keras.LayerNormalization", "tf_keras.LSTM(dynamic batch)",
             "RFFT", "Imag", "StridedSlice(complex64)", "Neg+AddV2", "Sign+PadV2",
             "OnesLike+ZerosLike+SelectV2", "Squeeze+Transpose+Neg+Pack",
             "Neg+Transpose+ConcatV2", "StridedSlice(new axis, full spec, two unknown dims)",
             "SquaredDifference(rank 5)", "keras.Activation(gelu,approximate)",
             "tf_keras.ConvLSTM2D(dynamic batch)", "keras.EinsumDense(bias NCHW, rank 3)",
             "tf.zeros_like(dynamic batch)", "keras.GlobalAveragePooling1D(masked input)",
             "Transpose(rank 8)", "Pad(complex64)", "Sin+Cos+Pack", "MatMul(complex64)",
             "Round(float64)", "Einsum(label summed in one operand)",
             "InvertPermutation", "FFT", "Div", "Mean(complex64)", "Sub+Square",
             "implements:non_max_suppression_padded_v2(batched boxes)",
             "Shape(input is model output)", "ReadVariableOp+SelectV2(variable selected)",
             "keras.ops.OnesLike(input is model output)",
             "Shape+Square(batch unknown, input of a Mul)",
             "Shape+Neg(batch unknown, input of a Transpose)", "AssignAddVariableOp",
             "Einsum(complex64)", "Cast(float32->complex64)"]
TIMEOUT = 120.0



@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    tf = pytest.importorskip("tensorflow")
    if tf.__version__ != data["versions"]["tensorflow"]:
        probed = data["versions"]["tensorflow"]
        pytest.skip(f"table probed on TF {probed}, installed {tf.__version__}")
    return data


@pytest.fixture(scope="module")
def reprobed(table: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, GuardedWorker(TIMEOUT) as w:
        out: dict[str, Any] = {}
        for mode, ops in SAMPLE.items():
            got = probe_builtins(w, ops, [mode], tmp)[mode]
            out.update({(mode, op): r for op, r in got.items()})
        out["tf_ops"] = probe_tf_ops(w, TF_SAMPLE)
        out["tmp_models"] = {op: out[("int8", op)] for op in SAMPLE["int8"]}
        if importlib.util.find_spec("tflite_micro") is not None:
            with GuardedWorker(TIMEOUT) as tw:
                out["tflm"] = probe_tflm(tw, out["tmp_models"], tmp)
        return out


@pytest.mark.tensorflow
@pytest.mark.parametrize(
    ("mode", "op"), [(m, op) for m, ops in SAMPLE.items() for op in ops]
)
def test_builtin_outcome_matches_table(
    table: dict[str, Any], reprobed: dict[str, Any], mode: str, op: str
) -> None:
    want = table["modes"][mode][op]
    got = reprobed[(mode, op)]
    assert got["outcome"] == want["outcome"], got
    assert got.get("message") == want["message"]
    assert got.get("io") == want.get("io")


@pytest.mark.tensorflow
@pytest.mark.parametrize("key", TF_SAMPLE)
def test_tf_op_matches_table(table: dict[str, Any], reprobed: dict[str, Any], key: str) -> None:
    want, got = table["tf_ops"][key], reprobed["tf_ops"][key]
    # the ops of a graph's function library (If / Case branches) come in the library's
    # order, which follows the names TensorFlow gave the functions in that process; only a
    # chain's order carries meaning (``Sub+Square``: producer first)
    assert sorted(got["graphdef_ops"] or ()) == sorted(want["graphdef_ops"] or ())
    if "+" in key:
        assert got["graphdef_ops"] == want["graphdef_ops"]
    assert got["lowers_to"] == want["lowers_to"]
    assert got["int8"] == want["int8"]
    assert got.get("when") == want.get("when")
    assert got.get("when_builtin") == want.get("when_builtin")
    assert got.get("graphdef_consts") == want.get("graphdef_consts")


@pytest.mark.tensorflow
def test_tflm_sample_matches_table(reprobed: dict[str, Any]) -> None:
    if "tflm" not in reprobed:
        pytest.skip("tflite-micro is not installed (pip install .[probe])")
    import importlib.metadata

    version = importlib.metadata.version("tflite-micro")
    path = REPO / "rules" / "qlint_rules" / "capabilities" / f"tflm-{version}.json"
    if not path.is_file():
        pytest.skip(f"no table for the installed tflite-micro {version}")
    data = json.loads(path.read_text(encoding="utf-8"))
    for op, got in reprobed["tflm"].items():
        assert got["outcome"] == data["modes"]["int8"][op]["outcome"], op


# -- the probe's own logic, without TensorFlow ------------------------------------------


def test_classification_from_op_dtypes() -> None:
    ops = [
        OpInfo("DEQUANTIZE", ("int8",), ("float32",)),
        OpInfo("CUMSUM", ("float32",), ("float32",)),
        OpInfo("QUANTIZE", ("float32",), ("int8",)),
        OpInfo("CONV_2D", ("int8",), ("int8",)),
    ]
    assert classify_target(ops, "CUMSUM") == ("float_fallback", "float32->float32")
    assert classify_target(ops, "CONV_2D") == ("integer", "int8->int8")
    assert classify_target(ops, "QUANTIZE") == ("integer", "float32->int8")
    assert classify_target(ops, "SIN") == ("missing", None)
    assert float_ops(ops) == ["CUMSUM"]
    twice = [*ops, OpInfo("NEG", ("float32",), ("float32",)), ops[1]]
    assert float_ops(twice) == ["CUMSUM", "NEG"]
    assert float_op_counts(twice) == {"CUMSUM": 2, "NEG": 1}


def test_condense_keeps_the_key_line() -> None:
    text = (
        "loc(callsite(...)): error: 'tf.Erf' op is neither a custom op nor a flex op\n"
        "<unknown>:0: note: see current operation: %0 = ...\n"
        "error: failed while converting: 'main':\n" + "x" * 2000
    )
    out = condense(text)
    assert out is not None and len(out) <= 400
    assert out.startswith("error: 'tf.Erf' op is neither a custom op nor a flex op")


def test_every_builtin_has_a_plan_and_tf_ops_are_named() -> None:
    assert isinstance(builtin_plan("STABLEHLO_ADD"), str)
    assert isinstance(builtin_plan("CUSTOM"), str)
    assert builtin_plan("CONV_2D") is BUILTIN_BUILDERS["CONV_2D"]
    for key, b in TF_OP_BUILDERS.items():  # Keras 3 and Keras 2 (tf_keras) layers
        assert b.name and (b.keras is None) == (not key.startswith(("keras.", "tf_keras."))), key


def test_every_legalized_tf_op_has_a_builder_or_a_reason() -> None:
    from tools.probe.legalized import LEGALIZED_TF_OPS, NOT_BUILDABLE
    from tools.probe.tf_ops import builder_for

    assert len(LEGALIZED_TF_OPS) == len(set(LEGALIZED_TF_OPS)) > 100
    for op in LEGALIZED_TF_OPS:
        assert op in NOT_BUILDABLE or builder_for(op).name, op
    assert builder_for("keras.ELU").keras == "ELU"
    assert builder_for("keras.Activation(mish)").keras == "Activation"


def test_coverage_counts_the_table() -> None:
    from tools.probe.coverage import coverage

    table = json.loads(TABLE.read_text(encoding="utf-8"))
    cov = coverage(table, ["Conv2D", "InputLayer", "NoSuchLayer"], ["relu", "linear"])
    assert cov["builtins"]["of"] == len(table["modes"]["int8"])
    assert cov["keras"]["of"] == 4  # linear is the identity
    assert "keras.NoSuchLayer" in cov["keras"]["left"]
    assert cov["keras"]["left"]["keras.InputLayer"].startswith("not probed")
    assert cov["tf_ops"]["probed"] + len(cov["tf_ops"]["left"]) == cov["tf_ops"]["of"]


def test_a_flag_variant_is_kept_only_where_it_differs_from_its_class() -> None:
    def entry(outcome: str, *float_ops: str) -> dict[str, Any]:
        return {"int8": {"outcome": outcome, "float_ops": list(float_ops)}}

    probed = {"keras.Dot(normalize=True)": entry("float_fallback", "SQUARE"),
              "keras.Dense(use_bias=False)": entry("integer"),
              "keras.Conv2D(use_bias=False)": entry("integer"),
              "keras.Conv2D": entry("integer"),
              "keras.Nope(flag=True)": entry("integer")}
    base = {"keras.Dot": entry("integer"), "keras.Dense": entry("integer")}
    kept, same = drop_flags_like_base(probed, base)
    assert sorted(same) == ["keras.Conv2D(use_bias=False)", "keras.Dense(use_bias=False)"]
    assert sorted(kept) == ["keras.Conv2D", "keras.Dot(normalize=True)", "keras.Nope(flag=True)"]


def test_flag_variants_name_each_boolean_argument_against_its_default() -> None:
    keras = pytest.importorskip("keras")
    from tools.probe.keras_layers import flag_variants
    from tools.probe.tf_ops import builder_for

    assert flag_variants(keras, ["Dot"]) == ["keras.Dot(normalize=True)"]
    assert "keras.LSTM(unroll=True)" in flag_variants(keras, ["LSTM"])
    assert builder_for("keras.Dot(normalize=True)").name == "keras.layers.Dot(normalize=True)"


def test_a_dynamic_batch_layer_key_is_a_variant_of_its_layer() -> None:
    from tools.probe.tf_ops import builder_for

    for prefix in ("keras", "tf_keras"):
        b = builder_for(f"{prefix}.ConvLSTM2D(dynamic batch)")
        assert b.name == f"{prefix}.layers.ConvLSTM2D" and b.saved_model
        assert b.extra["variant_of"] == f"{prefix}.ConvLSTM2D"
        assert b.extra["when"] == [{"fact": "dynamic_batch", "eq": True}]
    assert "variant_of" not in builder_for("keras.ConvLSTM2D").extra


def test_tf_ops_keys_split_on_commas_outside_parentheses() -> None:
    assert split_keys("Cumsum, keras.Activation(gelu,approximate),,@functions") == [
        "Cumsum", "keras.Activation(gelu,approximate)", "@functions"]


def test_function_enumeration_skips_aliases_and_non_model_functions() -> None:
    from types import SimpleNamespace

    from tools.probe.tf_functions import (
        NOT_A_MODEL_FUNCTION,
        enumerate_tf_functions,
        skip_reason,
    )

    def add(x: Any, y: Any) -> Any:
        return x

    def fn(x: Any) -> Any:
        return x

    mods = {m: SimpleNamespace() for m in ("nn", "linalg", "image", "signal")}
    tf = SimpleNamespace(math=SimpleNamespace(add=add, _hidden=fn), **mods, add=add,
                         searchsorted=fn, roll=fn, print=fn, py_function=fn,
                         assert_equal=fn, get_logger=fn, is_tensor=fn, make_ndarray=fn,
                         as_dtype=fn, TensorSpec=SimpleNamespace, config=mods["nn"])
    assert enumerate_tf_functions(tf) == ["tf.math.add", "tf.roll", "tf.searchsorted"]
    assert skip_reason("assert_rank") and skip_reason("timestamp") and not skip_reason("roll")
    assert all(isinstance(why, str) and why for why in NOT_A_MODEL_FUNCTION.values())


def test_required_parameters_are_filled_by_name_after_the_float_tensors() -> None:
    from tools.probe.tf_functions import BUILD_VALUES, placements
    from tools.probe.tf_ops import builder_for

    values = {"k": 1, "indices": [[0]], "values": 0.5, "sorted_sequence": [0.0]}
    # the tensor takes the first parameter, the others come from the build values
    assert placements(["sorted_sequence", "values"], 1, values) == [
        (["sorted_sequence"], ["values"])]
    # else the first parameter without a build value (polyval(coeffs, x))
    assert placements(["coeffs", "x"], 1, {"coeffs": [1.0]}) == [(["x"], ["coeffs"])]
    # a second tensor never takes a parameter that has a build value
    assert placements(["input", "indices"], 2, values) == []
    assert placements(["x", "y"], 2, values) == [(["x", "y"], [])]
    assert placements(["x", "depth_unknown"], 1, values) == []
    assert callable(BUILD_VALUES["filters"]) and BUILD_VALUES["filters"]((1, 4, 4, 3)).shape == (
        2, 2, 3, 4)
    for key in ("tf.searchsorted", "tf.math.top_k", "tf.nn.avg_pool3d"):
        b = builder_for(key)
        assert b.name == key and b.extra["arity_search"]


def test_generic_function_builder_fills_arguments_and_picks_a_tuple_element() -> None:
    tf = pytest.importorskip("tensorflow")
    import numpy as np

    from tools.probe.tf_ops import builder_for

    def build(key: str) -> tuple[dict[str, Any], Any]:
        b = builder_for(key)
        fn = b.make(tf, None, np.random.default_rng(0))
        chosen = b.extra["chosen"]
        x = tf.constant(np.full(chosen["shape"], 0.5, "float32"))
        return chosen, fn(*[x] * chosen["arity"])

    chosen, out = build("tf.searchsorted")  # two sorted float tensors
    assert chosen["name"] == "tf.searchsorted" and out.dtype == tf.int32
    chosen, out = build("tf.histogram_fixed_width")
    assert chosen["name"] == "tf.histogram_fixed_width(value_range)" and out.dtype == tf.int32
    chosen, out = build("tf.math.top_k")
    assert chosen["name"] == "tf.math.top_k [0]" and out.dtype == tf.float32
    chosen, out = build("tf.nn.avg_pool3d")
    assert chosen["shape"] == (1, 2, 4, 4, 3) and tuple(out.shape) == (1, 2, 4, 4, 3)
    chosen, _ = build("tf.reverse_sequence")
    assert chosen["name"] == "tf.reverse_sequence(seq_lengths, seq_axis)"
    with pytest.raises(ValueError):
        build("tf.image.decode_png")  # takes a string, never a float tensor


def test_a_new_function_entry_is_kept_only_where_it_differs_from_the_table() -> None:
    from tools.probe.cli import drop_functions_like_existing, drop_repeated_messages

    def entry(ops: list[str], outcome: str, **more: Any) -> dict[str, Any]:
        return {"graphdef_ops": ops, "lowers_to": ["X"],
                "int8": {"outcome": outcome, "float_counts": {"X": 1}, **more}}

    base = {"MaxPool": entry(["MaxPool"], "integer"), "tf.math.abs": entry(["Abs"], "integer")}
    probed = {"tf.nn.max_pool2d": entry(["MaxPool"], "integer"),
              "tf.nn.max_pool3d": entry(["MaxPool3D"], "integer"),
              "tf.max_pool3d_alias": entry(["MaxPool3D"], "integer"),
              "tf.nn.odd": entry(["MaxPool"], "float_fallback"),
              "tf.math.abs": entry(["Abs"], "integer"),
              "keras.MaxPooling2D": entry(["MaxPool"], "integer"),
              # a condition of a function (a shape it does not fold on) is kept as such
              "tf.nn.max_pool2d(dynamic batch)": {**entry(["MaxPool"], "integer"),
                                                  "variant_of": "tf.nn.max_pool2d"}}
    kept, same = drop_functions_like_existing(probed, base)
    assert same == {"tf.nn.max_pool2d": "MaxPool", "tf.max_pool3d_alias": "tf.nn.max_pool3d"}
    assert sorted(kept) == ["keras.MaxPooling2D", "tf.math.abs", "tf.nn.max_pool2d(dynamic batch)",
                            "tf.nn.max_pool3d", "tf.nn.odd"]
    tf_ops = {"a": {"float_message": "m", "int8": {"outcome": "conversion_error",
                                                   "message": "m"}},
              "b": {"float_message": "m", "int8": {"outcome": "conversion_error",
                                                   "message": "n"}}}
    drop_repeated_messages(tf_ops)
    assert "float_message" not in tf_ops["a"] and tf_ops["b"]["float_message"] == "m"


def test_a_new_composite_function_entry_needs_an_op_the_table_does_not_know() -> None:
    from tools.probe.cli import drop_functions_of_known_ops

    def entry(*ops: str) -> dict[str, Any]:
        return {"graphdef_ops": list(ops), "int8": {"outcome": "integer"}}

    base = {"Mean": entry("Mean"), "tf.math.square": entry("Square"),
            "keras.LayerNormalization": entry("Mean", "SquaredDifference", "Rsqrt")}
    probed = {"tf.nn.moments": entry("Mean", "SquaredDifference", "StopGradient"),
              "tf.stop_gradient": entry("StopGradient"),
              "tf.nn.sufficient_statistics": entry("Square", "Sum"),
              "tf.math.reduce_sum": entry("Sum"),
              "tf.image.random_crop": entry("Slice", "RandomUniformInt"),
              "keras.Thing": entry("Mean", "Square")}
    kept, dropped = drop_functions_of_known_ops(probed, base)
    # SquaredDifference is only inside a composite: not known on its own
    assert dropped == ["tf.nn.sufficient_statistics"]
    assert "tf.nn.moments" in kept and "keras.Thing" in kept and "tf.image.random_crop" in kept


def test_keras_operations_are_named_and_built_from_their_function() -> None:
    from tools.probe.keras_ops import snake

    assert snake("NotEqual") == "not_equal" and snake("RGBToGrayscale") == "rgb_to_grayscale"
    keras = pytest.importorskip("keras")
    from tools.probe.keras_ops import enumerate_keras_ops, op_function
    from tools.probe.tf_ops import builder_for

    keys = enumerate_keras_ops(keras)
    assert {"keras.ops.NotEqual", "keras.ops.Add", "keras.ops.Erf"} <= set(keys)
    assert op_function(keras, "NotEqual") is keras.ops.not_equal
    b = builder_for("keras.ops.NotEqual")
    assert b.keras == "ops.NotEqual" and b.name == "keras.ops.not_equal"
