"""Model Explorer overlays, resolved by Model Explorer's own adapters.

For every fixture model of a format Model Explorer reads, the adapter Model Explorer
uses builds the graphs; every key of qlint's overlay must name a graph it built and a
node of that graph (by node id or by an output tensor name, as Model Explorer matches
them), and a finding's node must be the op it is about.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, fixture_model, run_qlint

pytest.importorskip("model_explorer", reason="ai-edge-model-explorer is not installed (test "
                    "extra)")

TFLITE = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*.tflite"))
SAVEDMODELS = sorted(str(p.parent.relative_to(FIXTURES))
                     for p in FIXTURES.rglob("saved_model.pb"))


def adapter_graphs(path: str) -> dict[str, dict[str, Any]]:
    """graph id -> {"ids": node id -> label, "tensors": output tensor name -> node id}."""
    if path.endswith(".tflite"):
        from model_explorer.builtin_tflite_flatbuffer_adapter import (
            BuiltinTfliteFlatbufferAdapter as Adapter,
        )
    else:
        from model_explorer.builtin_tf_direct_adapter import BuiltinTfDirectAdapter as Adapter
    out = Adapter().convert(path, {})
    graphs = {}
    for coll in out["graphCollections"]:
        coll = coll if isinstance(coll, dict) else vars(coll)
        for g in coll["graphs"]:
            ids = {n["id"]: n["label"] for n in g["nodes"]}
            tensors = {m["value"]: n["id"] for n in g["nodes"]
                       for o in n.get("outputsMetadata") or [] for m in o["attrs"]
                       if m["key"] == "tensor_name"}
            graphs[g["id"]] = {"ids": ids, "tensors": tensors}
    return graphs


def overlay(path: str) -> dict[str, Any]:
    res = run_qlint("--format", "model-explorer", path)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


def resolve(graphs: dict[str, dict[str, Any]], gid: str, key: str) -> str:
    assert gid in graphs, f"graph {gid!r} not among {sorted(graphs)}"
    g = graphs[gid]
    node = g["tensors"].get(key, key)
    assert node in g["ids"], f"{key!r} is no node id or output tensor of graph {gid!r}"
    return str(g["ids"][node])


@pytest.mark.parametrize("rel", TFLITE + SAVEDMODELS)
def test_every_overlay_key_resolves_to_an_adapter_node(rel: str) -> None:
    path = str(FIXTURES / rel)
    data = overlay(path)
    graphs = adapter_graphs(path)
    assert data, "an overlay is never empty: a clean model says it was linted"
    for gid, graph_data in data.items():
        for key, result in graph_data["results"].items():
            label = resolve(graphs, gid, key)
            assert isinstance(result["value"], str) and result["bgColor"].startswith("#")
            if result["value"].startswith("QL") and path.endswith("saved_model"):
                assert label not in ("GraphInputs", "GraphOutputs", "Const"), (key, label)


def test_findings_carry_rule_and_message_and_land_on_their_op() -> None:
    path = str(fixture_model("island_sin_floor"))
    results = overlay(path)["main"]["results"]
    graphs = adapter_graphs(path)
    sin = results["island_sin_floor_1/sin_1/Sin"]
    assert sin["value"].startswith("QL103 float-island (error): float island")
    assert resolve(graphs, "main", "island_sin_floor_1/sin_1/Sin") == "sin"


def test_a_finding_on_a_constant_is_shown_on_the_op_that_reads_it() -> None:
    path = str(FIXTURES / "quant_params" / "bias_scale_conv.tflite")
    data = overlay(path)
    graphs = adapter_graphs(path)
    labels = {resolve(graphs, gid, key) for gid, g in data.items() for key in g["results"]}
    assert "pseudo_const" not in labels  # hidden by default in Model Explorer
    assert "conv_2d" in labels
    qlint_json = json.loads(run_qlint("--format", "json", path).stdout)
    assert any(f["node"]["kind"] == "tensor" for f in qlint_json["findings"])


def test_savedmodel_finding_is_on_the_tf_op_in_its_function_graph() -> None:
    path = str(FIXTURES / "source" / "Cumsum" / "saved_model")
    data = overlay(path)
    graphs = adapter_graphs(path)
    placed = [(gid, key, resolve(graphs, gid, key)) for gid, g in data.items()
              for key in g["results"]]
    assert [label for _, _, label in placed] == ["Cumsum"]
    assert placed[0][0].startswith("__inference_")


def test_a_clean_model_says_it_was_linted() -> None:
    path = str(fixture_model("int8_cnn"))
    (graph,) = overlay(path).values()
    (result,) = graph["results"].values()
    assert result["value"].startswith("qlint ") and "no findings" in result["value"]


def test_one_overlay_file_per_model_with_unique_names(tmp_path: Path) -> None:
    models = tmp_path / "models"
    for sub in ("a", "b"):
        (models / sub).mkdir(parents=True)
        os.link(fixture_model("island_cumsum"), models / sub / "m.tflite")
    res = run_qlint("--format", "model-explorer", str(models))
    assert res.returncode == 2 and "-o DIRECTORY" in res.stderr  # not one merged file
    res = run_qlint("--format", "model-explorer", "-o", str(tmp_path / "one.json"),
                    str(models))
    assert res.returncode == 2 and not (tmp_path / "one.json").exists()
    out = tmp_path / "overlays"
    res = run_qlint("--format", "model-explorer", "-o", str(out), str(models))
    assert res.returncode == 1, res.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert written == ["a/m.tflite.qlint.json", "b/m.tflite.qlint.json"]
    single = tmp_path / "single.json"
    res = run_qlint("--format", "model-explorer", "-o", str(single), str(models / "a"))
    assert res.returncode == 1 and "main" in json.loads(single.read_text())


@pytest.mark.tensorflow
@pytest.mark.parametrize("scenario", ["island_cumsum", "multi_subgraph"])
def test_unnamed_subgraphs_are_named_as_the_adapter_names_them(tmp_path: Path,
                                                               scenario: str) -> None:
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(fixture_model(scenario)))
    for sub in model.subgraphs:
        sub.name = None
    unnamed = tmp_path / "unnamed.tflite"
    flatbuffer_utils.write_model(model, str(unnamed))
    model.signatureDefs = []
    bare = tmp_path / "bare.tflite"
    flatbuffer_utils.write_model(model, str(bare))
    for path in (unnamed, bare):
        data = overlay(str(path))
        graphs = adapter_graphs(str(path))
        for gid, graph_data in data.items():
            for key in graph_data["results"]:
                resolve(graphs, gid, key)
    assert list(overlay(str(bare))) == ["main"]


@pytest.mark.parametrize("rel", ["source/Cumsum/saved_model", "int8_cnn/int8_cnn.tflite"])
def test_a_clean_overlay_lands_on_the_model_inputs(rel: str) -> None:
    path = str(FIXTURES / rel)
    res = run_qlint("--format", "model-explorer", "--select", "QL402", path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    graphs = adapter_graphs(path)
    labels = {resolve(graphs, gid, key) for gid, g in data.items() for key in g["results"]}
    assert labels <= {"Placeholder", "GraphInputs"} and labels
    values = {r["value"] for g in data.values() for r in g["results"].values()}
    assert all("no findings" in v for v in values)
