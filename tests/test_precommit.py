"""The pre-commit hook, run by the real ``pre-commit try-repo`` on a temporary repository.

The hook's environment (qlint, its dependencies and h5py, from PyPI) is built once per
test session in a session-wide ``PRE_COMMIT_HOME``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, fixture_model


def _pre_commit() -> list[str] | None:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    return [found] if found else None


PRE_COMMIT = _pre_commit()

pytestmark = pytest.mark.skipif(PRE_COMMIT is None,
                                reason="pre-commit is not installed (test extra)")

TryRepo = Callable[..., subprocess.CompletedProcess[str]]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def legacy_h5(target: Path, keras_file: Path) -> None:
    """A legacy HDF5 Keras model: the .keras file's config as the ``model_config``
    attribute, as ``model.save("m.h5")`` writes it."""
    h5py = pytest.importorskip("h5py")
    with zipfile.ZipFile(keras_file) as zf:
        config = json.loads(zf.read("config.json"))
    with h5py.File(target, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "3.15.1"
        f.attrs["backend"] = "tensorflow"


@pytest.fixture(scope="session")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    shutil.copy(fixture_model("island_cumsum"), work / "bad.tflite")
    shutil.copy(fixture_model("island_cumsum"), work / "MODEL.TFLITE")
    shutil.copy(fixture_model("int8_cnn"), work / "good.tflite")
    legacy_h5(work / "legacy.h5", FIXTURES / "source" / "hand_mixed_float16" / "model.keras")
    (work / "notes.txt").write_text("not a model\n")
    git(work, "add", ".")
    return work


@pytest.fixture()
def try_repo(work: Path, hook_home: Path) -> TryRepo:
    env = {**os.environ, "PRE_COMMIT_HOME": str(hook_home), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def run(*files: str, verbose: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*(PRE_COMMIT or []), "try-repo", str(REPO), "qlint",
                               *(["--verbose"] if verbose else []), "--files", *files],
                              cwd=work, env=env, capture_output=True, text=True, timeout=1800)

    return run


def test_pre_commit_flags_the_bad_model_and_passes_the_good_one(try_repo: TryRepo) -> None:
    bad = try_repo("bad.tflite", "notes.txt")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "QL103" in bad.stdout and "bad.tflite" in bad.stdout
    good = try_repo("good.tflite", "notes.txt")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    skipped = try_repo("notes.txt")  # the files regex keeps non-models away from qlint
    assert skipped.returncode == 0 and "no files to check" in skipped.stdout.lower()


def test_upper_case_suffix_is_linted(try_repo: TryRepo) -> None:
    res = try_repo("MODEL.TFLITE")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "MODEL.TFLITE:subgraph[0]" in res.stdout and "QL103" in res.stdout


def test_legacy_h5_is_read_in_the_hook_environment(try_repo: TryRepo) -> None:
    res = try_repo("legacy.h5")
    assert "needs h5py" not in res.stdout, res.stdout
    assert res.returncode == 1, res.stdout + res.stderr
    assert "legacy.h5:" in res.stdout and "QL211" in res.stdout


def test_warnings_show_with_verbose(try_repo: TryRepo, work: Path) -> None:
    shutil.copy(fixture_model("float_io_int8"), work / "float_io.tflite")
    git(work, "add", ".")
    quiet = try_repo("float_io.tflite")
    assert quiet.returncode == 0 and "QL401" not in quiet.stdout  # pre-commit hides it
    loud = try_repo("float_io.tflite", verbose=True)
    assert loud.returncode == 0 and "QL401" in loud.stdout
