"""Seeded fuzzing of the loaders: mutated model files never make qlint crash or hang.

The long run is ``python -m tools.fuzz --iterations N``; this suite runs a few hundred
cases per format with a fixed seed, plus the CLI in real processes on some of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import fixture_model, run_qlint

from tools import fuzz
from tools.fuzz.attacks import attack_mutators

SEED = 20260523
# Cases per format: a .h5 case starts the isolated HDF5 reader process, so fewer of them.
ITERATIONS = {"tflite": 400, "savedmodel": 300, "keras": 300, "h5": 150}


@pytest.mark.parametrize("fmt", sorted(fuzz.FORMATS))
def test_mutated_files_never_crash_hang_or_print_more_than_one_line(fmt: str) -> None:
    iterations = ITERATIONS.get(fmt, 200)
    summary = fuzz.fuzz(fmt, iterations, SEED)
    assert summary.tried == iterations
    details = [f"case {o.index} [{o.problem}] {o.seed_name} {o.mutation}: {o.detail}"
               for o in summary.problems]
    assert summary.ok, "\n".join(details[:10])
    assert summary.counts == dict.fromkeys(fuzz.PROBLEMS, 0)
    assert summary.max_seconds < fuzz.TIME_LIMIT


def test_structure_walk_reaches_the_fields_the_loader_reads() -> None:
    data = fixture_model("int8_cnn").read_bytes()
    fields = fuzz.tflite_structure(data)
    kinds = {f.kind for f in fields}
    assert {"root", "uoffset", "soffset", "vtable", "vlen", "index", "shape",
            "string"} <= kinds
    labels = {f.label for f in fields}
    assert "model.subgraphs[0].tensors" in labels
    assert any(label.endswith(".quantization.scale") for label in labels)
    assert all(f.pos >= 0 and f.pos + f.width <= len(data) for f in fields)


def test_cases_are_reproducible_by_number() -> None:
    a, b = fuzz.CaseFactory("tflite", 3), fuzz.CaseFactory("tflite", 3)
    for k in (0, 1, 57):
        assert a.case(k).data == b.case(k).data
        assert a.case(k).description == b.case(k).description
    assert {fuzz.CaseFactory("tflite", 4).case(k).data for k in range(5)} != \
        {a.case(k).data for k in range(5)}
    names = {m for m, _, _ in (*fuzz.MUTATORS, *attack_mutators("tflite"))}
    assert {a.case(k).mutator for k in range(200)} == names


@pytest.mark.parametrize("fmt", sorted(set(fuzz.FORMATS) - {"tflite"}))
def test_cases_of_every_format_are_reproducible_and_use_every_mutation(fmt: str) -> None:
    a, b = fuzz.CaseFactory(fmt, 3), fuzz.CaseFactory(fmt, 3)
    for k in (0, 1, 57):
        ca, cb = a.case(k), b.case(k)
        assert (ca.data, ca.description, ca.layout) == (cb.data, cb.description, cb.layout)
    names = {m for m, _, _ in (*fuzz.FORMATS[fmt].mutators, *attack_mutators(fmt))}
    assert {a.case(k).mutator for k in range(300)} == names


def test_protobuf_tree_writes_every_savedmodel_seed_back_unchanged() -> None:
    for name, data in fuzz.savedmodel_seeds():
        tree = fuzz.pb_parse(data)
        assert tree is not None, name
        assert fuzz.pb_write(tree) == data, name
        kinds = {f.kind for f in fuzz.pb_structure(data)}
        assert kinds == {"tag", "vlen", "varint"}, name
    assert fuzz.pb_parse(b"\x0b") is None  # start-group wire type: not a message


def test_zip_writer_and_bomb_inflate_as_claimed() -> None:
    import io
    import zipfile
    import zlib

    data = fuzz.write_zip([fuzz.ZipMember(b"config.json", b"{}"),
                           fuzz.ZipMember(b"w", b"abc", method=0)])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("config.json") == b"{}" and zf.read("w") == b"abc"
    bomb = fuzz.zip_bomb(3)
    assert len(bomb) < 10_000
    assert zlib.decompress(bomb, -15) == b"[" + b" " * (3 << 20)


def test_savedmodel_cases_are_directories_and_are_removed(tmp_path: Path) -> None:
    factory = fuzz.CaseFactory("savedmodel", 1)
    case = next(c for c in map(factory.case, range(200)) if c.layout == "pbtxt")
    path = fuzz.FORMATS["savedmodel"].materialize(case, str(tmp_path), "m")
    assert sorted(os.listdir(path)) == ["saved_model.pbtxt"]
    fuzz._remove(path)
    assert not os.path.exists(path)


def test_in_process_alarm_turns_a_stuck_loader_into_a_hang(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import qlint.loaders.tflite as loader

    def stuck(path: str) -> None:
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(loader, "load_tflite", stuck)
    path = tmp_path / "m.tflite"
    path.write_bytes(fixture_model("int8_cnn").read_bytes())
    start = time.perf_counter()
    out = fuzz.lint_in_process(str(path), limit=0.3)
    assert out.problem == "hang"
    assert time.perf_counter() - start < 5


def test_supervisor_kills_a_silent_worker_and_carries_on(monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[subprocess.Popen[str]] = []

    def silent(fmt: str, seed: int, start: int, stop: int,
               limit: float) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        spawned.append(proc)
        return proc

    monkeypatch.setattr(getattr(fuzz, "runner", fuzz), "_spawn", silent)  # module or package
    start = time.perf_counter()
    summary = fuzz.fuzz("tflite", 2, 0, startup=0.5)
    assert summary.tried == 2 and summary.counts["hang"] == 2
    assert time.perf_counter() - start < 20
    assert all(p.poll() is not None for p in spawned)


def test_judge_rules() -> None:
    ok = fuzz.judge("/m.tflite", 2, "", "qlint: error: /m.tflite: corrupt TFLite flatbuffer\n")
    assert ok == (None, "")
    assert fuzz.judge("/m.tflite", 2, "", "qlint: error: /m.tflite: a\nmore\n")[0] == "stderr"
    assert fuzz.judge("/m.tflite", 3, "", "")[0] == "exit_code"
    assert fuzz.judge("/m.tflite", 0, "", "warning\n")[0] == "stderr"
    assert fuzz.judge("/m.tflite", 2, "", "qlint: error: /m.tflite: internal error in x")[0] \
        == "internal"
    assert fuzz.judge("/m.tflite", 1, "", "Traceback (most recent call last):\n")[0] \
        == "traceback"


def test_cli_in_real_processes_on_mutated_files(tmp_path: Path) -> None:
    """The installed CLI, not only the in-process call, gives the same verdict."""
    factory = fuzz.CaseFactory("tflite", SEED)
    for k in range(6):
        case = factory.case(k)
        path = tmp_path / f"case{k}.tflite"
        path.write_bytes(case.data)
        expected = fuzz.lint_in_process(str(path))
        res = run_qlint(str(path))
        assert res.returncode == expected.exit_code, (k, case.description, res.stderr)
        assert fuzz.judge(str(path), res.returncode, res.stdout, res.stderr) == (None, ""), \
            (k, case.description, res.stderr)


def test_maintainer_command_prints_counts_per_format() -> None:
    res = subprocess.run([sys.executable, "-m", "tools.fuzz", "--iterations", "20",
                          "--seed", "5"], cwd=fuzz.REPO, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = {line.split(":", 1)[0]: line for line in res.stdout.splitlines()}
    assert sorted(lines) == sorted(fuzz.FORMATS)
    for fmt, line in lines.items():
        assert line.startswith(f"{fmt}: 20 files tried, 0 tracebacks, 0 internal errors, ")
        assert "0 runs over 5 s CPU" in line and "max CPU time" in line
        assert "0 writes outside the output, 0 leaks, 0 escapes" in line
