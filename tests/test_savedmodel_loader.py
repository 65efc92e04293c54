"""SavedModel loader: real exports parsed without TensorFlow, hostile inputs rejected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, run_qlint

from qlint.discover import discover
from qlint.errors import ModelLoadError
from qlint.loaders import _tf_protos
from qlint.loaders.savedmodel import load_savedmodel
from qlint.predict.patterns import lower

SRC = FIXTURES / "source"


def test_keras_export_inlines_calls_with_layer_locations() -> None:
    g = load_savedmodel(str(SRC / "hand_lambda_cumsum" / "saved_model"))
    assert g.format == "savedmodel" and g.stage == "source"
    assert list(g.attrs["signatures"]) == ["serving_default"]  # serve deduplicated
    ops = {g[o]["source_op"]: g[o] for o in g.ops()}
    assert {"Conv2D", "BiasAdd", "Cumsum"} <= set(ops)
    cum = ops["Cumsum"]
    assert cum["op_type"] == "tf.Cumsum"  # the file's op; lowering is predicted
    lower(g)
    assert cum["op_type"] == "CUMSUM"
    assert cum["location"].startswith("serving_default/") and "lambda" in cum["location"]
    assert cum["location"].endswith("/Cumsum")
    conv = next(o for o in g.ops() if g[o]["source_op"] == "Conv2D")
    ins = [g[t] for t in g.inputs(conv)]
    assert ins[0]["dtype"] == "float32" and ins[0]["shape"] in ((1, 8, 8, 3), (None, 8, 8, 3))
    assert ins[1]["constant"] and ins[1]["shape"] == (3, 3, 3, 4)
    assert "StatefulPartitionedCall" not in {g[o]["source_op"] for o in g.ops()}


def test_max_pool_argmax_indices_are_int64() -> None:
    """``tf.nn.max_pool_with_argmax`` (held-out set 3): its ``argmax`` output has the
    ``Targmax`` type, so the Cast reading it is int64 -> float32."""
    g = load_savedmodel(str(FIXTURES / "heldout" / "models" / "op3.max_pool_argmax"
                            / "saved_model"))
    cast = next(o for o in g.ops() if g[o]["source_op"] == "Cast")
    (src,) = g.inputs(cast)
    assert src is not None and g[src]["dtype"] == "int64"
    assert g[g.producer(src)]["source_op"] == "MaxPoolWithArgmax"


def test_tf_module_save_and_saved_model_pb_named() -> None:
    pb = SRC / "Erf" / "saved_model" / "saved_model.pb"
    sources, errors = discover([str(pb)])
    assert errors == [] and sources[0].format == "savedmodel"
    assert sources[0].path == str(pb.parent)
    g = load_savedmodel(str(pb))
    lower(g)
    assert [g[o]["op_type"] for o in g.ops()] == ["tf.Erf"]  # no TFLite builtin probed


def _write(path: Path, msg: object) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "saved_model.pb").write_bytes(msg.SerializeToString())  # type: ignore[attr-defined]
    return path


def _tf1(tmp_path: Path) -> Path:
    m = _tf_protos.messages()
    sm = m["SavedModel"]()
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    a = mg.graph_def.node.add(name="a", op="Placeholder")
    a.attr["dtype"].type = 1
    f = mg.graph_def.node.add(name="fl", op="Floor", input=["a"])
    f.attr["T"].type = 1
    sig = mg.signature_def["serving_default"]
    sig.inputs["a"].name = "a:0"
    sig.outputs["b"].name = "fl:0"
    return _write(tmp_path / "tf1", sm)


def test_tf1_graph_without_functions(tmp_path: Path) -> None:
    g = load_savedmodel(str(_tf1(tmp_path)))
    (op,) = list(g.ops())
    assert g[op]["source_op"] == "Floor" and g[op]["location"] == "serving_default/fl"
    assert g[g.inputs(op)[0]]["dtype"] == "float32"


def test_recursive_function_library_terminates(tmp_path: Path) -> None:
    m = _tf_protos.messages()
    sm = m["SavedModel"]()
    mg = sm.meta_graphs.add()
    lib = mg.graph_def.library
    for name, callee in (("f", "g"), ("g", "f")):
        fd = lib.function.add()
        fd.signature.name = name
        fd.signature.input_arg.add(name="x")
        fd.signature.output_arg.add(name="y")
        call = fd.node_def.add(name="call", op="PartitionedCall", input=["x"])
        call.attr["f"].func.name = callee
        fd.node_def.add(name="sin", op="Sin", input=["call:output:0"])
        fd.ret["y"] = "sin:y:0"
    mg.graph_def.node.add(name="x", op="Placeholder")
    top = mg.graph_def.node.add(name="c", op="PartitionedCall", input=["x"])
    top.attr["f"].func.name = "f"
    # a cyclic top-level graph too
    mg.graph_def.node.add(name="p", op="AddV2", input=["q", "x"])
    mg.graph_def.node.add(name="q", op="AddV2", input=["p", "x"])
    sig = mg.signature_def["serving_default"]
    sig.inputs["x"].name = "x:0"
    sig.outputs["y"].name = "c:0"
    sig.outputs["z"].name = "q:0"
    g = load_savedmodel(str(_write(tmp_path / "rec", sm)))
    assert any("recursive call" in w for w in g.attrs["metadata"]["truncated"])
    assert [g[o]["source_op"] for o in g.ops()].count("Sin") >= 1


@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff\x0f garbage", b"\x12\x05\x0a\x03\xff"])
def test_protobuf_decode_error_is_one_line_exit_2(tmp_path: Path, payload: bytes) -> None:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "saved_model.pb").write_bytes(payload)
    with pytest.raises(ModelLoadError):
        load_savedmodel(str(d))
    r = run_qlint(str(d))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_no_tensorflow_import_and_no_writes(tmp_path: Path) -> None:
    sm = SRC / "hand_lambda_cumsum" / "saved_model"
    before = sorted(p.name for p in sm.rglob("*"))
    for target in (sm, SRC / "hand_lambda_cumsum" / "model.keras"):
        r = subprocess.run([sys.executable, "-X", "importtime", "-m", "qlint", str(target)],
                           capture_output=True, text=True, timeout=120)
        imported = {ln.split("|")[-1].strip().split(".")[0] for ln in r.stderr.splitlines()
                    if ln.startswith("import time:")}
        assert r.returncode in (0, 1), r.stderr[-500:]
        assert not imported & {"tensorflow", "keras", "tf_keras", "h5py"}, target
    assert sorted(p.name for p in sm.rglob("*")) == before


def test_a_multi_input_signature_loads_the_same_in_every_process() -> None:
    """Protobuf map order differs between processes; tensor ids must not."""
    model = SRC / "hand_concat_int" / "saved_model"
    dump = ("import sys; from qlint.loaders.savedmodel import load_savedmodel; "
            "g = load_savedmodel(sys.argv[1]); "
            "print(g.attrs['signatures'], [(t, g[t]['name']) for t in g.tensors()])")
    runs = {subprocess.run([sys.executable, "-c", dump, str(model)], capture_output=True,
                           text=True, check=True).stdout for _ in range(6)}
    assert len(runs) == 1
    assert "'inputs': {" in next(iter(runs)) and len(load_savedmodel(str(model)).attrs[
        "signatures"]["serving_default"]["inputs"]) == 2


def test_the_initializer_that_fills_a_lookup_table_is_a_subgraph() -> None:
    """The converter converts a SavedModel's ``__saved_model_init_op`` too (and refuses
    its ``LookupTableImportV2``); the loader follows the initializer's control edges to
    the table import.  A model without tables has no such subgraph."""
    heldout = FIXTURES / "heldout" / "models"
    g = load_savedmodel(str(heldout / "arch9.wide_deep" / "saved_model"))
    names = [sg["name"] for sg in g.attrs["subgraphs"]]
    assert names == ["serving_default", "__saved_model_init_op"]
    init_ops = [g[o]["source_op"] for o in g.ops() if g[o]["subgraph"] == 1]
    assert init_ops == ["HashTableV2", "LookupTableImportV2"]  # the IntegerLookup's table
    plain = load_savedmodel(str(heldout / "arch9.ircnn" / "saved_model"))
    assert [sg["name"] for sg in plain.attrs["subgraphs"]] == ["serving_default"]


def test_a_function_the_converter_replaces_whole_is_one_op() -> None:
    """``tf.image.non_max_suppression_padded``'s body (``_implements``) and a Keras 2
    LSTM's function (``api_implements: lstm_<uuid>``) are each one ``implements:`` op,
    judged by the probed outcome of the whole function: NON_MAX_SUPPRESSION_V4 stays
    float; the LSTM on a static batch is an int8 UNIDIRECTIONAL_SEQUENCE_LSTM, on an
    unknown batch size the converter refuses its TensorListReserve."""
    from qlint.predict.patterns import source_table
    from qlint.predict.source import predict

    heldout = FIXTURES / "heldout" / "models"
    nms = load_savedmodel(str(heldout / "tf11.ssd_postprocess" / "saved_model"))
    ops = [nms[o]["source_op"] for o in nms.ops()]
    assert ops.count("implements:non_max_suppression_padded_v2") == 1
    assert "StatelessWhile" not in ops and "TopKV2" not in ops  # the body is not inlined
    found = predict(nms, source_table())
    assert [p.tflite_ops for p in found] == [("NON_MAX_SUPPRESSION_V4",)]
    lstm = load_savedmodel(str(heldout / "k2arch11.lstm_har_fixed_batch" / "saved_model"))
    (op,) = [o for o in lstm.ops() if lstm[o]["source_op"] == "implements:lstm"]
    assert predict(lstm, source_table()) == []
    x = lstm.inputs(op)[0]
    lstm[x]["shape"] = (None, *lstm[x]["shape"][1:])  # the same call on an unknown batch
    (p,) = predict(lstm, source_table())
    assert (p.cap.name, p.outcome) == ("implements:lstm(dynamic batch)", "conversion_error")
    assert p.failing_tf_ops(lstm) == ["TensorListReserve"]


def test_control_flow_reading_variables_is_judged_as_probed() -> None:
    """A ``tf.switch_case`` whose branches read tf.Variables is refused with the
    variables' ops (the probe's message names them; the loader folds variable reads into
    constants, so the finding names them from the probe); a ``tf.cond`` alike converts
    with a float IF; the cond of int32 label ids (GatherV2 types its output by
    ``Tparams``) stays int8."""
    from qlint.predict.patterns import source_table
    from qlint.predict.source import predict

    heldout = FIXTURES / "heldout" / "models"
    case = load_savedmodel(str(heldout / "tf11.switch_head" / "saved_model"))
    (p,) = [p for p in predict(case, source_table()) if p.outcome == "conversion_error"]
    assert set(p.failing_tf_ops(case)) == {"Case", "VarHandleOp", "ReadVariableOp",
                                           "AssignVariableOp"}
    cond = load_savedmodel(str(heldout / "tf11.early_exit" / "saved_model"))
    assert [p.tflite_ops for p in predict(cond, source_table())] == [("IF",)]
    labels = load_savedmodel(str(heldout / "tf11.topk_reject" / "saved_model"))
    assert "IF" not in [b for p in predict(labels, source_table()) for b in p.tflite_ops]


def test_a_variable_added_to_by_a_constant_is_state_not_folded() -> None:
    """A TF Model Garden SparseMixer's router counts its tokens in variables it adds to
    (``AssignAddVariableOp``), some by constants: an update is state the converted model
    keeps (READ_VARIABLE, ADD, ASSIGN_VARIABLE, probed as ``AssignAddVariableOp``), never
    folded away with its constant operands."""
    from qlint.predict.patterns import source_table
    from qlint.predict.source import predict

    sm = load_savedmodel(str(FIXTURES / "heldout" / "models" / "tp29.sparse_mixer" /
                             "saved_model"))
    updates = [op for op in sm.ops() if sm[op].get("source_op") == "AssignAddVariableOp"]
    assert len(updates) == 12
    assert not [loc for loc, op in sm.attrs.get("folded_ops", []) if op.startswith("Assign")]
    state = [b for p in predict(sm, source_table()) if p.op in updates
             for b in p.tflite_ops for _ in range(p.count(b))]
    assert sorted(state) == ["ASSIGN_VARIABLE"] * 12 + ["READ_VARIABLE"] * 12
