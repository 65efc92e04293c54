"""The composite GitHub Action (action.yml): its lint step, run here as the runner would
run it (bash, inputs in the environment, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from conftest import REPO, fixture_model

ACTION = yaml.safe_load((REPO / "action.yml").read_text())


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in ACTION["runs"]["steps"] if s.get("id") == step_id)


def test_action_is_composite_and_uses_only_declared_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    text = (REPO / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert "github/codeql-action/upload-sarif@v3" in uses
    assert any(u.startswith("actions/setup-python@") for u in uses)
    for s in ACTION["runs"]["steps"]:
        if "run" in s:  # no input is pasted into a script (script injection)
            assert "${{" not in s["run"], s["run"]
            assert subprocess.run(["bash", "-n"], input=s["run"], text=True).returncode == 0


def run_lint_step(tmp_path: Path, paths: str, args: str = "") -> tuple[int, dict[str, str],
                                                                        str, Path]:
    work = tmp_path / "ws"
    work.mkdir(exist_ok=True)
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {**os.environ, "QLINT_PATHS": paths, "QLINT_ARGS": args,
           "QLINT_SARIF": "qlint.sarif", "QLINT_SUMMARY": "true",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run(["bash", "-e", "-c", step("lint")["run"]], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return res.returncode, outputs, summary.read_text(), work / "qlint.sarif"


def test_lint_step_writes_sarif_summary_and_exit_code(tmp_path: Path) -> None:
    models = tmp_path / "ws" / "models dir"
    models.mkdir(parents=True)
    shutil.copy(fixture_model("island_cumsum"), models / "bad.tflite")
    shutil.copy(fixture_model("int8_cnn"), tmp_path / "ws" / "good.tflite")
    code, outputs, summary, sarif = run_lint_step(tmp_path, "models\\ dir/bad.tflite\n"
                                                  "good.tflite", "--fail-on error")
    # "models\ dir" is not one path: white space separates paths; name the directory.
    assert code == 0 and outputs["exit-code"] == "2"
    code, outputs, summary, sarif = run_lint_step(tmp_path, "good.tflite\n  models*",
                                                  "--target tflite-int8")
    assert code == 0 and outputs["exit-code"] == "2"  # globs are not expanded
    shutil.move(str(models), str(tmp_path / "ws" / "models"))
    code, outputs, summary, sarif = run_lint_step(tmp_path, "models\ngood.tflite",
                                                  "--target tflite-int8")
    assert code == 0 and outputs["exit-code"] == "1"
    doc = json.loads(sarif.read_text())
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"QL103"}
    assert summary.count("### qlint: Found 1 finding") == 1 and "QL103" in summary
