"""SARIF on awkward paths, checked by the official 2.1.0 schema and by Microsoft's
SARIF Multitool with its SARIF and GitHub rule sets.

The multitool (``npm install @microsoft/sarif-multitool``) is found through
``SARIF_MULTITOOL`` (the path of the native ``Sarif.Multitool`` binary; ``.ci/run``
installs it and exports it) or on ``PATH``.  It exits 0 even when the log breaks its
rules, so the test reads the results it writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import fixture_model, run_qlint
from test_code_review_outputs import sarif_schema

ODD_DIR = "odd dir #1"
ODD_NAME = "m 50% é.tflite"


def multitool() -> str | None:
    configured = os.environ.get("SARIF_MULTITOOL")
    if configured:
        assert os.access(configured, os.X_OK), f"SARIF_MULTITOOL={configured} is not executable"
        return configured
    return shutil.which("Sarif.Multitool")


@pytest.fixture()
def odd_sarif(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A repository with a model whose path has a space, '#', '%' and non-ASCII letters,
    linted together with a model outside the repository; a config sets QL103 to info."""
    repo = tmp_path / "repo"
    (repo / ODD_DIR).mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    shutil.copy(fixture_model("island_cumsum"), repo / ODD_DIR / ODD_NAME)
    outside = tmp_path / "elsewhere" / "outside model.tflite"
    outside.parent.mkdir()
    shutil.copy(fixture_model("float_io_int8"), outside)
    (repo / "qlint.toml").write_text('[severity]\nQL103 = "info"\n')
    out = tmp_path / "qlint.sarif"
    res = run_qlint("--format", "sarif", "-o", str(out), ".", str(outside), cwd=repo)
    assert res.returncode in (0, 1), res.stderr
    return out, json.loads(out.read_text(encoding="utf-8"))


def test_odd_and_outside_paths_are_valid_uris(odd_sarif: tuple[Path, dict[str, Any]]) -> None:
    _, doc = odd_sarif
    jsonschema.Draft4Validator(sarif_schema()).validate(doc)
    (run,) = doc["runs"]
    artifacts = {json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"],
                            sort_keys=True) for r in run["results"]}
    assert {json.loads(a)["uri"] for a in artifacts} == {
        "odd%20dir%20%231/m%2050%25%20%C3%A9.tflite",
        (Path(odd_sarif[0]).parent / "elsewhere" / "outside model.tflite").as_uri(),
    }
    for a in map(json.loads, artifacts):
        assert ("uriBaseId" in a) == (not a["uri"].startswith("file:"))
    # The category of upload-sarif applies only when the file has no automationDetails.
    assert "automationDetails" not in run
    # The configuration set QL103 to info: its rule level says so too.
    (rule,) = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "QL103"]
    assert rule["defaultConfiguration"]["level"] == "note"
    assert {r["level"] for r in run["results"] if r["ruleId"] == "QL103"} == {"note"}


def test_microsoft_sarif_multitool_finds_no_problem(
        odd_sarif: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    tool = multitool()
    if tool is None:
        pytest.skip("Microsoft SARIF Multitool not installed (npm install "
                    "@microsoft/sarif-multitool; set SARIF_MULTITOOL to Sarif.Multitool)")
    sarif, doc = odd_sarif
    assert validate(tool, sarif, tmp_path / "verdict.sarif") == []
    # The same check sees the defects qlint used to have: raw paths that are not URI
    # references (SARIF1002) and absolute paths under a uriBaseId (SARIF1004).
    (run,) = doc["runs"]
    for result in run["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        artifact["uri"] = urllib.parse.unquote(artifact["uri"].removeprefix("file://"))
        artifact["uriBaseId"] = "%SRCROOT%"
    broken = tmp_path / "broken.sarif"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    found = {rule for rule, _, _ in validate(tool, broken, tmp_path / "verdict2.sarif")}
    assert {"SARIF1002", "SARIF1004"} <= found


def validate(tool: str, sarif: Path, verdict: Path) -> list[tuple[str, str, Any]]:
    """(rule, level, message) of every error and warning the multitool reports."""
    res = subprocess.run([tool, "validate", "--rule-kind", "Sarif;Gh", "-o", str(verdict),
                          str(sarif)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 files scanned" in res.stdout and verdict.is_file(), res.stdout + res.stderr
    (run,) = json.loads(verdict.read_text(encoding="utf-8-sig"))["runs"]
    return [(r["ruleId"], r.get("level", "warning"), r["message"])
            for r in run.get("results", []) if r.get("level", "warning") in ("error", "warning")]


def test_rule_levels_follow_the_configuration_without_findings(tmp_path: Path) -> None:
    """A rule the configuration sets to info is a 'note' in the SARIF rule table even when it
    found nothing in this run (GitHub shows the rule's level in its alert filters)."""
    (tmp_path / "qlint.toml").write_text('[severity]\nQL103 = "info"\n', encoding="utf-8")
    model = Path(__file__).resolve().parent.parent / "fixtures" / "int8_cnn" / "int8_cnn.tflite"
    res = subprocess.run([sys.executable, "-m", "qlint", "--no-progress", "--format", "sarif",
                          "--config", str(tmp_path / "qlint.toml"), str(model)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (run,) = json.loads(res.stdout)["runs"]
    assert not [r for r in run["results"] if r["ruleId"] == "QL103"]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in run["tool"]["driver"]["rules"]}
    assert levels["QL103"] == "note"
    assert levels["QL104"] == "warning"  # a rule the table does not name keeps its own
