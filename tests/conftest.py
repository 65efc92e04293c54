"""Shared test helpers: repository paths, fixture models, the TensorFlow marker."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
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


def tree_state(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file and directory under ``root``: (sha256 or "dir", mode, mtime in ns); a
    directory holding Python files is compared by its listing instead of its mtime."""
    import hashlib

    state: dict[str, tuple[str, int, int]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        if "__pycache__" in path.parts:
            continue
        st = path.lstat()
        if path.is_symlink():
            digest = "link:" + os.readlink(path)
        elif path.is_dir() and any(path.glob("*.py")):
            # a Python package: importing it adds __pycache__, which changes its mtime
            names = sorted(p.name for p in path.iterdir() if p.name != "__pycache__")
            state[str(path.relative_to(root))] = ("dir:" + "/".join(names), st.st_mode, 0)
            continue
        elif path.is_dir():
            digest = "dir"
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(root))] = (digest, st.st_mode, st.st_mtime_ns)
    return state


@pytest.fixture(autouse=True, scope="session")
def _models_left_untouched() -> Iterator[None]:
    """Every committed model file and directory is byte-identical, with the same mode and
    mtime, after the session: no test (and no qlint run) writes into them."""
    roots = [FIXTURES, REPO / "tests" / "data"]
    before = {str(r): tree_state(r) for r in roots}
    yield
    for r in roots:
        after = tree_state(r)
        changed = sorted(k for k in before[str(r)].keys() | after.keys()
                         if before[str(r)].get(k) != after.get(k))
        assert not changed, f"model files changed under {r}: {changed[:10]}"
