"""The pre-commit hook, run by the real ``pre-commit try-repo`` on a temporary repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, fixture_model

PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (test extra)")
def test_pre_commit_try_repo_flags_the_bad_model_and_passes_the_good_one(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    shutil.copy(fixture_model("island_cumsum"), work / "bad.tflite")
    shutil.copy(fixture_model("int8_cnn"), work / "good.tflite")
    (work / "notes.txt").write_text("not a model\n")
    git(work, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(PRE_COMMIT), "try-repo", str(REPO), "qlint", "--files",
                               *files], cwd=work, env=env, capture_output=True, text=True,
                              timeout=900)

    bad = try_repo("bad.tflite", "notes.txt")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "QL103" in bad.stdout and "bad.tflite" in bad.stdout
    good = try_repo("good.tflite", "notes.txt")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
    skipped = try_repo("notes.txt")  # the files regex keeps non-models away from qlint
    assert skipped.returncode == 0 and "no files to check" in skipped.stdout.lower()
