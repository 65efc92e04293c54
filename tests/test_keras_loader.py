"""Keras loader: .keras and .h5 read as data; Lambdas opaque and never run."""

from __future__ import annotations

import base64
import json
import marshal
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, run_qlint

from qlint.errors import ModelLoadError
from qlint.loaders.keras import load_keras
from qlint.predict.patterns import lower

SRC = FIXTURES / "source"


def test_functional_graph_layers_and_locations() -> None:
    g = load_keras(str(SRC / "hand_gelu_block" / "model.keras"))
    assert g.format == "keras" and g.stage == "source"
    locs = [g[o]["location"] for o in g.ops()]
    assert locs == ["dense", "gelu", "norm", "out"]
    out = next(o for o in g.ops() if g[o]["name"] == "out")
    assert g[out]["attrs"]["activation"] == "gelu"
    dense = next(o for o in g.ops() if g[o]["name"] == "dense")
    assert g[dense]["op_type"] == "keras.Dense"  # the file's class; lowering is predicted
    lower(g)
    assert g[dense]["op_type"] == "FULLY_CONNECTED"
    assert g[dense]["location"] == "dense"
    assert g[g.inputs(dense)[0]]["shape"] == (1, 4, 16)


def test_mixed_precision_policy_and_multiple_inputs() -> None:
    g = load_keras(str(SRC / "hand_mixed_float16" / "model.keras"))
    conv = next(o for o in g.ops() if g[o]["name"] == "conv")
    assert g[conv]["attrs"]["policy"] == "mixed_float16"
    assert g[conv]["attrs"]["compute_dtype"] == "float16"
    g2 = load_keras(str(SRC / "hand_concat_int" / "model.keras"))
    assert len(g2.attrs["subgraphs"][0]["inputs"]) == 2
    cat = next(o for o in g2.ops() if g2[o]["name"] == "concat")
    assert len(g2.inputs(cat)) == 2


def _keras_with(tmp_path: Path, config: object, name: str = "m.keras") -> Path:
    p = tmp_path / name
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
    return p


def test_lambda_that_would_create_a_file_is_opaque_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    code = compile(f"lambda x: open({str(marker)!r}, 'w').write('x') or x", "<m>", "eval")
    fn_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    payload = base64.b64encode(marshal.dumps(fn_code)).decode()
    config = {
        "module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [1, 4], "dtype": "float32", "name": "x"}},
            {"module": "keras.layers", "class_name": "Lambda", "config": {
                "name": "evil", "function": {"class_name": "__lambda__", "config": {
                    "code": payload, "defaults": None, "closure": None}}}},
        ]}}
    path = _keras_with(tmp_path, config)
    g = load_keras(str(path))
    (op,) = list(g.ops())
    assert g[op]["attrs"]["opaque"] is True
    r = run_qlint(str(path))
    assert "QL112" in r.stdout and "evil" in r.stdout
    assert not marker.exists()


def test_nested_model_and_custom_class(tmp_path: Path) -> None:
    inner = {"module": "keras", "class_name": "Sequential", "name": "inner", "config": {
        "name": "inner", "layers": [
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d"}},
            {"module": "my_pkg.layers", "class_name": "Fancy", "registered_name": "Fancy",
             "config": {"name": "fancy"}}]},
        "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [1, 4], "dtype": "float32", "keras_history": ["x", 0, 0]}}],
            "kwargs": {}}]}
    outer = {"module": "keras", "class_name": "Functional", "config": {
        "name": "outer", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "name": "x",
             "config": {"batch_shape": [1, 4], "dtype": "float32", "name": "x"},
             "inbound_nodes": []},
            inner],
        "input_layers": ["x", 0, 0], "output_layers": ["inner", 0, 0]}}
    g = load_keras(str(_keras_with(tmp_path, outer)))
    locs = {g[o]["location"]: g[o] for o in g.ops()}
    assert set(locs) == {"inner/d", "inner/fancy"}
    assert locs["inner/fancy"]["attrs"]["opaque"]
    assert g.inputs(next(o for o in g.ops() if g[o]["name"] == "d"))[0] == \
        g.attrs["subgraphs"][0]["inputs"][0]


def test_a_subclassed_model_is_one_opaque_layer(tmp_path: Path) -> None:
    """A subclassed model of a package (kimm's networks) saves its constructor's
    arguments, not its layers: one opaque op of its class, fed by an input of its build
    shape, which QL112 names; a Keras class without a layer list stays an error."""
    config = {"module": "mypkg.models.net", "class_name": "TinyNet",
              "config": {"name": "tiny_net", "width": 4, "trainable": True},
              "registered_name": "mypkg>TinyNet",
              "build_config": {"input_shape": [None, 8, 8, 3]}}
    path = _keras_with(tmp_path, config)
    g = load_keras(str(path))
    (op,) = list(g.ops())
    assert g[op]["source_op"] == "TinyNet" and g[op]["attrs"]["opaque"] is True
    assert "subclassed model" in g[op]["attrs"]["opaque_reason"]
    (x,) = g.attrs["subgraphs"][0]["inputs"]
    assert g[x]["shape"] == (None, 8, 8, 3)
    r = run_qlint(str(path))
    assert r.returncode == 0 and "QL112" in r.stdout and "TinyNet model" in r.stdout
    assert "lint it: the traced graph shows the model's ops" in r.stdout
    keras_own = dict(config, module="keras.src.models.functional", class_name="Functional",
                     registered_name="Functional")
    with pytest.raises(ModelLoadError, match="no layer list"):
        load_keras(str(_keras_with(tmp_path, keras_own, "own.keras")))


@pytest.mark.parametrize("kind", ["bad_zip", "bad_json", "no_config", "not_model"])
def test_corrupt_keras_is_one_line_exit_2(tmp_path: Path, kind: str) -> None:
    if kind == "bad_zip":
        p = tmp_path / "m.keras"
        p.write_bytes(b"PK\x03\x04 not really a zip")
    elif kind == "bad_json":
        p = _keras_with(tmp_path, "{not json")
    elif kind == "no_config":
        p = tmp_path / "m.keras"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr("metadata.json", "{}")
    else:
        p = _keras_with(tmp_path, [1, 2])
    with pytest.raises(ModelLoadError):
        load_keras(str(p))
    r = run_qlint(str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_h5_missing_model_config_and_real_h5(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "w.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=[1, 2])
    with pytest.raises(ModelLoadError, match="model_config"):
        load_keras(str(p))
    r = run_qlint(str(p))
    assert r.returncode == 2 and "model_config" in r.stderr
    cfg = json.loads(zipfile.ZipFile(SRC / "hand_lambda_cumsum" / "model.keras")
                     .read("config.json"))
    q = tmp_path / "m.h5"
    with h5py.File(q, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg)
    g = load_keras(str(q))
    assert [g[o]["source_op"] for o in g.ops()] == ["Conv2D", "Lambda", "Conv2D"]


@pytest.mark.parametrize("hostile", [[], {"a": [1]}, 7])
def test_a_class_name_that_is_not_a_string_is_no_internal_error(
        tmp_path: Path, hostile: object) -> None:
    """Found by the fuzzer: a layer whose ``class_name`` is a list or an object."""
    cfg = json.loads(zipfile.ZipFile(SRC / "hand_concat_int" / "model.keras")
                     .read("config.json"))
    cfg["config"]["layers"][-1]["class_name"] = hostile
    r = run_qlint("--isolated", "--no-progress", str(_keras_with(tmp_path, cfg)))
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    assert r.returncode in (0, 1, 2) and len(r.stderr.strip().splitlines()) <= 1


def test_a_keras_operation_is_not_taken_for_the_layer_of_the_same_name() -> None:
    """``keras.ops.not_equal`` in a functional model (held-out set 6's fastText) is saved
    as class ``NotEqual`` of ``keras.src.ops.numpy``: the node is ``ops.NotEqual``, and a
    ``keras.ops.add`` would be ``ops.Add``, not the ``Add`` layer."""
    from pathlib import Path

    from qlint.loaders.keras import load_keras

    path = Path(__file__).resolve().parent.parent / "fixtures" / "heldout" / "models"
    g = load_keras(str(path / "arch6.fasttext" / "model.keras"))
    kinds = {g[o]["source_op"] for o in g.ops()}
    assert "ops.NotEqual" in kinds and "NotEqual" not in kinds
    assert {"Embedding", "GlobalAveragePooling1D", "Dense"} <= kinds


def test_a_keras2_h5_is_judged_by_keras2_probes() -> None:
    """A Keras 2 (tf_keras) ``.h5``: a ``TFOpLambda`` names the TF function it calls, so
    it is judged by that function's entry, the entry its probe behaved as, or its
    probed variant (``tf.ones_like`` folds on a static batch; on this model's unknown
    batch it is the integer ``tf.ones_like(dynamic batch)``) instead of being opaque;
    ``LayerNormalization`` is judged by its tf_keras probe (an int8 fusion, where Keras
    3's keeps a NEG float); an ``LSTM`` by the batch size of the model's input, which the
    file's layers do not record."""
    from qlint.predict.patterns import source_table
    from qlint.predict.source import predict, unknown_ops

    heldout = FIXTURES / "heldout" / "models"
    g = load_keras(str(heldout / "k2arch11.transformer_block" / "model.h5"))
    assert not any(g[o]["attrs"].get("opaque") for o in g.ops())
    assert unknown_ops(g, source_table()) == []
    assert predict(g, source_table()) == []
    for sg in g.attrs["subgraphs"]:  # the same call on a batch of one: not known
        for t in sg["inputs"]:
            g[t]["shape"] = (1, *g[t]["shape"][1:])
    assert [u.name for u in unknown_ops(g, source_table())] == ["tf.ones_like"]
    # tf.image.resize was probed to be ResizeBilinear's entry, tf.concat (two inputs, as a
    # Keras 2 model calls it) keras.Concatenate's
    calls = load_keras(str(heldout / "k2arch11.tf_ops_functional" / "model.h5"))
    assert source_table().function_alias("tf.concat") == "keras.Concatenate"
    assert unknown_ops(calls, source_table()) == []
    lstm = load_keras(str(heldout / "k2arch11.lstm_har_fixed_batch" / "model.h5"))
    assert predict(lstm, source_table()) == []  # batch 1: an int8 sequence LSTM
    for sg in lstm.attrs["subgraphs"]:
        for t in sg["inputs"]:
            lstm[t]["shape"] = (None, *lstm[t]["shape"][1:])
    (p,) = predict(lstm, source_table())
    assert (p.cap.name, p.outcome) == ("tf_keras.LSTM(dynamic batch)", "conversion_error")
