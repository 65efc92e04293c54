"""Discovery: which files a directory walk finds, in what order, and what it refuses."""

from __future__ import annotations

import os
from pathlib import Path

from qlint.discover import discover


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_recursive_sorted_and_hidden_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "b" / "z.tflite")
    touch(tmp_path / "a.tflite")
    touch(tmp_path / "b" / "a.TFLITE")
    touch(tmp_path / ".git" / "hidden.tflite")
    touch(tmp_path / ".hidden.tflite")
    touch(tmp_path / "notes.txt")
    sources, errors = discover([str(tmp_path)])
    assert errors == []
    rel = [os.path.relpath(s.path, tmp_path) for s in sources]
    assert rel == ["a.tflite", os.path.join("b", "a.TFLITE"), os.path.join("b", "z.tflite")]
    assert {s.format for s in sources} == {"tflite"}


def test_symlink_loop_terminates_and_duplicates_are_listed_once(tmp_path: Path) -> None:
    touch(tmp_path / "m" / "x.tflite")
    os.symlink(tmp_path, tmp_path / "m" / "loop")
    os.symlink(tmp_path / "m", tmp_path / "alias")
    sources, errors = discover([str(tmp_path), str(tmp_path / "m" / "x.tflite")])
    assert errors == []
    assert len(sources) == 1


def test_named_paths_that_are_not_models(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    other = touch(tmp_path / "readme.md")
    os.symlink(tmp_path / "gone.tflite", tmp_path / "dangling.tflite")
    sources, errors = discover([str(empty), str(other), str(tmp_path / "missing.tflite"),
                                str(tmp_path / "dangling.tflite")])
    assert sources == []
    reasons = {os.path.basename(e.path): e.reason for e in errors}
    assert reasons["empty"].startswith("no model files found")
    assert reasons["readme.md"].startswith("not a model file")
    assert reasons["missing.tflite"] == "no such file or directory"
    assert reasons["dangling.tflite"] == "broken symbolic link"
