"""Shared test helpers: repository paths, fixture models, the TensorFlow marker."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
HAS_TF = importlib.util.find_spec("tensorflow") is not None


def fixture_model(scenario: str) -> Path:
    """The committed .tflite of a fixture scenario."""
    path = FIXTURES / scenario / f"{scenario}.tflite"
    assert path.is_file(), f"missing fixture {path}: run python fixtures/build.py"
    return path


def run_qlint(*args: str, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a user would, in a fresh process."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "qlint", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if HAS_TF:
        return
    skip = pytest.mark.skip(reason="TensorFlow is not installed (pip install .[test])")
    for item in items:
        if "tensorflow" in item.keywords:
            item.add_marker(skip)
