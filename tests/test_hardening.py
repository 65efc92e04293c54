"""Broken, hostile and huge model files: one line and exit 2, never a crash, hang or blow-up.

The small regression files in ``tests/data/corrupt/`` (written by its ``build.py``) each hold
one defect; the huge ones are made here as sparse files, so they cost no disk space.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, REPO, fixture_model, run_qlint

import qlint
from qlint.loaders import tflite as tflite_loader
from tools.fuzz import tflite_structure
from tools.synth import write_model

CORRUPT = REPO / "tests" / "data" / "corrupt"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORRUPT / "expected.json").read_text())
HAS_H5PY = importlib.util.find_spec("h5py") is not None
needs_h5py = pytest.mark.skipif(not HAS_H5PY, reason="h5py is not installed (pip install .[h5])")


def _linted_path(root: Path, name: str) -> Path:
    """What qlint names for regression entry ``name``: a SavedModel file means its directory."""
    return root / name.split("/")[0]


def _seed(tmp_path: Path, layout: str = "inline") -> bytes:
    path = tmp_path / f"seed-{layout}.tflite"
    write_model(str(path), 3, layout=layout)
    return path.read_bytes()


def _offset_field(data: bytes, label: str) -> int:
    return next(f.pos for f in tflite_structure(data) if f.label == label and f.kind == "uoffset")


def _huge_vector(tmp_path: Path, name: str, label: str, count: int, elem: int = 4) -> Path:
    """A valid model whose vector ``label`` claims ``count`` zero entries, as a sparse file."""
    data = _seed(tmp_path)
    pos = _offset_field(data, label)
    target = len(data) + (-len(data)) % 4
    buf = bytearray(data + bytes(target - len(data)) + struct.pack("<I", count))
    struct.pack_into("<I", buf, pos, target - pos)
    path = tmp_path / name
    with open(path, "wb") as fh:
        fh.write(buf)
        fh.truncate(len(buf) + count * elem)  # a hole: zeros the file system does not store
    return path


def _lint_measured(path: Path) -> dict[str, object]:
    """Lint ``path`` in a fresh process; its result, wall time and peak RSS.

    The peak is the new process image's ``VmHWM``: ``ru_maxrss`` would include the memory of
    the (large) pytest process the child was forked from.
    """
    code = (
        "import json, resource, sys, time\n"
        "import qlint\n"
        "t = time.perf_counter()\n"
        "r = qlint.lint([sys.argv[1]])\n"
        "secs = time.perf_counter() - t\n"
        "try:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "    rss = int(hwm[0].split()[1]) / 1024\n"
        "except (OSError, IndexError):\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': secs, 'rss_mb': rss,\n"
        "  'errors': [m.error for m in r.unreadable], 'exit_code': r.exit_code()}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


# -- the regression files ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_regression_file_gives_its_reason(name: str) -> None:
    want = EXPECTED[name]
    start = time.perf_counter()
    report = qlint.lint([str(_linted_path(CORRUPT, name))])
    assert time.perf_counter() - start < 5
    assert report.exit_code() == want["exit_code"], [m.error for m in report.models]
    if want["exit_code"] == 2:
        [model] = report.unreadable
        assert str(want["message"]) in str(model.error)
        assert "internal error" not in str(model.error)
        assert "\n" not in str(model.error)


def test_fuzz_found_missing_zero_point_is_not_an_internal_error() -> None:
    """Fuzz case 1554 of seed 1: max_pool_scale.tflite with the zero_point field removed.

    The flatbuffer is valid (the runtime refuses the scale/zero-point count mismatch), so the
    rules must report it, not fail on it.
    """
    report = qlint.lint([str(CORRUPT / "found_missing_zero_point.tflite")])
    errors = [str(m.error) for m in report.models if m.error]
    assert not [e for e in errors if "internal error" in e], errors


def test_regression_folder_one_line_per_bad_file_others_linted(tmp_path: Path) -> None:
    for name in EXPECTED:
        top = name.split("/")[0]
        if (CORRUPT / top).is_dir():
            shutil.copytree(CORRUPT / top, tmp_path / top, dirs_exist_ok=True)
        else:
            shutil.copy(CORRUPT / name, tmp_path / name)
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "good.tflite")
    res = run_qlint(str(tmp_path))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    bad = sorted(str(_linted_path(tmp_path, n)) for n, w in EXPECTED.items()
                 if w["exit_code"] == 2)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == len(bad), res.stderr
    for path, line in zip(bad, sorted(lines), strict=True):
        assert line.startswith(f"qlint: error: {path}: "), line
    assert "good.tflite:subgraph[0]" in res.stdout


def test_regression_files_are_up_to_date(tmp_path: Path) -> None:
    """build.py still writes exactly the committed files."""
    sys.path.insert(0, str(CORRUPT))
    try:
        import build  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CORRUPT))
    for name, (make, code, message) in build.CASES.items():
        assert (CORRUPT / name).read_bytes() == make(), name
        assert EXPECTED[name] == {"exit_code": code, "message": message}


# -- huge claims in small or sparse files ------------------------------------------------

@pytest.mark.parametrize(("label", "count", "reason"), [
    ("model.subgraphs[0].tensors", 200_000_000, "tensors has 200000000 entries (limit"),
    ("model.subgraphs[0].operators[0].inputs", 100_000_000, "inputs has 100000000 entries"),
    ("model.subgraphs[0].tensors[0].shape", 100_000_000, "shape has 100000000 entries"),
    ("model.subgraphs[0].tensors[0].quantization.scale", 50_000_000, "scale has 50000000"),
    ("model.buffers", 150_000_000, "buffers has 150000000 entries"),
])
def test_huge_vector_claims_are_refused_fast_in_little_memory(
        tmp_path: Path, label: str, count: int, reason: str) -> None:
    path = _huge_vector(tmp_path, "huge.tflite", label, count)
    assert path.stat().st_size > 100_000_000
    got = _lint_measured(path)
    assert got["exit_code"] == 2
    [error] = got["errors"]
    assert reason in str(error)
    assert float(got["seconds"]) < 5  # type: ignore[arg-type]
    assert float(got["rss_mb"]) < 400, got  # type: ignore[arg-type]


def test_one_tensor_table_referenced_a_million_times_is_refused(tmp_path: Path) -> None:
    data = _seed(tmp_path)
    fields = tflite_structure(data)
    vec_pos = _offset_field(data, "model.subgraphs[0].tensors")
    first = next(f.pos for f in fields if f.label == "model.subgraphs[0].tensors[0]"
                 and f.kind == "uoffset")
    table = first + struct.unpack_from("<I", data, first)[0]
    count = tflite_loader.MAX_NODES + 10
    start = len(data) + (-len(data)) % 4
    elems = np.arange(start + 4, start + 4 + 4 * count, 4, dtype=np.int64)
    rel = (table - elems).astype(np.int64) & 0xFFFFFFFF  # offsets pointing backwards wrap
    buf = bytearray(data + bytes(start - len(data)) + struct.pack("<I", count))
    struct.pack_into("<I", buf, vec_pos, start - vec_pos)
    path = tmp_path / "shared.tflite"
    path.write_bytes(bytes(buf) + rel.astype("<u4").tobytes())
    got = _lint_measured(path)
    assert got["exit_code"] == 2
    assert "limit" in str(got["errors"][0])  # type: ignore[index]
    assert float(got["seconds"]) < 5  # type: ignore[arg-type]


def test_huge_name_is_read_only_in_part(tmp_path: Path) -> None:
    path = _huge_vector(tmp_path, "name.tflite", "model.subgraphs[0].tensors[0].name",
                        300_000_000, elem=1)
    got = _lint_measured(path)
    assert got["exit_code"] == 0, got
    assert float(got["seconds"]) < 5  # type: ignore[arg-type]
    assert float(got["rss_mb"]) < 400, got  # type: ignore[arg-type]


# -- files that are not files -------------------------------------------------------------

def test_fifo_named_like_a_model_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.tflite"
    os.mkfifo(fifo)
    res = run_qlint(str(fifo), str(fixture_model("int8_cnn")))
    assert res.returncode == 2
    assert res.stderr.strip() == f"qlint: error: {fifo}: not a regular file"


def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "zero.tflite"
    os.symlink("/dev/zero", link)
    report = qlint.lint([str(link)])
    assert [m.error for m in report.unreadable] == ["not a regular file"]


def test_symlink_loop_named_directly_and_inside_a_tree(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.tflite", tmp_path / "a.tflite")
    os.symlink(tmp_path / "a.tflite", tmp_path / "b.tflite")
    shutil.copy(fixture_model("int8_cnn"), tmp_path / "good.tflite")
    res = run_qlint(str(tmp_path / "a.tflite"), str(tmp_path))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"qlint: error: {tmp_path / 'a.tflite'}: "
                                               "broken symbolic link"]
    assert "1 model" in res.stdout


def test_unreadable_file_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.tflite"
    shutil.copy(fixture_model("int8_cnn"), path)
    path.chmod(0)
    if os.geteuid() != 0:  # root reads anything: then simulate the refusal
        report = qlint.lint([str(path)])
    else:
        real_open = os.open

        def refuse(p: str, flags: int, *args: int) -> int:
            if str(p) == str(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(p))
            return real_open(p, flags, *args)

        monkeypatch.setattr(tflite_loader.os, "open", refuse)
        report = qlint.lint([str(path)])
    assert [m.error for m in report.unreadable] == ["cannot open: Permission denied"]
    assert report.exit_code() == 2


def test_directory_named_like_a_model_is_walked(tmp_path: Path) -> None:
    (tmp_path / "weird.tflite").mkdir()
    shutil.copy(fixture_model("int8_cnn"), tmp_path / "weird.tflite" / "m.tflite")
    report = qlint.lint([str(tmp_path / "weird.tflite")])
    assert report.exit_code() == 0 and len(report.models) == 1


# -- read-only ----------------------------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every entry under ``root``: content hash (files), mtime and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = ""
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    digest = hashlib.sha256(fh.read()).hexdigest()
            out[os.path.relpath(p, root)] = (digest, st.st_mtime_ns, st.st_mode)
    return out


def test_models_and_their_directories_are_left_untouched(tmp_path: Path) -> None:
    tree = tmp_path / "models"
    shutil.copytree(FIXTURES, tree, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(CORRUPT, tree / "corrupt", ignore=shutil.ignore_patterns("*.py"))
    write_model(str(tree / "synth.tflite"), 30, layout="external")
    os.utime(tree, ns=(1_000_000_000, 1_000_000_000))  # mtimes that any write would change
    for p in tree.rglob("*"):
        os.utime(p, ns=(1_000_000_000, 1_000_000_000), follow_symlinks=False)
    before = _snapshot(tree)
    dir_mtime = tree.stat().st_mtime_ns
    for args in ([str(tree)], ["--format", "json", str(tree)], []):
        res = run_qlint(*args, cwd=tree)
        assert res.returncode == 2, res.stderr  # the corrupt files
        assert "Traceback" not in res.stderr
    assert _snapshot(tree) == before
    assert tree.stat().st_mtime_ns == dir_mtime


def test_loader_opens_the_model_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real_open = os.open

    def spy(p: str, flags: int, *args: int) -> int:
        seen.append(flags)
        return real_open(p, flags, *args)

    monkeypatch.setattr(tflite_loader.os, "open", spy)
    tflite_loader.load_tflite(str(fixture_model("int8_cnn")))
    assert seen and all(f & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC) == 0
                        for f in seen)


# -- synthetic models ---------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["inline", "external"])
def test_synthetic_models_are_clean_full_int8(tmp_path: Path, layout: str) -> None:
    path = tmp_path / f"{layout}.tflite"
    info = write_model(str(path), 50, 0.25, layout=layout)
    assert info.ops == 50 and info.weight_bytes >= 0.25 * (1 << 20)
    graph = tflite_loader.load_tflite(str(path))
    assert graph.quant_mode == "full-int8"
    assert [graph[o]["op_type"] for o in graph.ops()][:3] == [
        "CONV_2D", "DEPTHWISE_CONV_2D", "ADD"]
    weights = [graph[t] for t in graph.tensors() if graph[t]["constant"]]
    assert sum(t["nbytes"] for t in weights) == info.weight_bytes
    report = qlint.lint([str(path)])
    assert report.exit_code() == 0 and not report.findings


@pytest.mark.tensorflow
def test_synthetic_models_run_in_the_real_interpreter(tmp_path: Path) -> None:
    import tensorflow as tf

    outputs = []
    for layout in ("inline", "external"):
        path = tmp_path / f"{layout}.tflite"
        write_model(str(path), 7, layout=layout)
        interp = tf.lite.Interpreter(model_path=str(path))
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        assert inp["dtype"] == np.int8
        interp.set_tensor(inp["index"], np.ones(inp["shape"], np.int8))
        interp.invoke()
        out = interp.get_output_details()[0]
        assert out["dtype"] == np.int8
        outputs.append(interp.get_tensor(out["index"]).copy())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_unreadable_directory_is_reported_not_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qlint.discover as discover

    (tmp_path / "locked").mkdir()
    shutil.copy(fixture_model("int8_cnn"), tmp_path / "locked" / "m.tflite")
    shutil.copy(fixture_model("int8_cnn"), tmp_path / "good.tflite")
    (tmp_path / "locked").chmod(0)
    if os.geteuid() == 0:  # root lists anything: then simulate the refusal
        real_scandir = os.scandir

        def refuse(p: str) -> object:
            if os.path.basename(str(p)) == "locked":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(p))
            return real_scandir(p)

        monkeypatch.setattr(discover.os, "scandir", refuse)
    try:
        report = qlint.lint([str(tmp_path)])
        alone = qlint.lint([str(tmp_path / "locked")])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert report.errors == [f"{tmp_path / 'locked'}: cannot read directory: Permission denied"]
    assert [m.path for m in report.models] == [str(tmp_path / "good.tflite")]
    assert report.exit_code() == 2
    assert alone.errors == report.errors  # not also "no model files found"


def test_signature_tables_referenced_n_by_m_times_are_read_once(tmp_path: Path) -> None:
    """100k references to one signature def whose inputs are 100k references to one map."""
    sys.path.insert(0, str(CORRUPT))
    try:
        import build  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CORRUPT))
    n = 100_000
    path = tmp_path / "sigs.tflite"
    path.write_bytes(build.signature_fanout(_seed(tmp_path), n, n))
    start = time.perf_counter()
    graph = tflite_loader.load_tflite(str(path))
    assert time.perf_counter() - start < 5
    sigs = graph.attrs["signatures"]
    assert len(sigs) == n  # the shared def has no key: one default key per reference
    assert sigs["signature_0"] == {"subgraph": 0, "inputs": {"": "s0/t0"}, "outputs": {}}


# -- SavedModel and Keras -------------------------------------------------------------------

def test_exponential_call_fan_out_is_cut_and_noted() -> None:
    """2^40 call paths through a 2 kB library: instantiation stops at the visit budget."""
    from qlint.loaders.savedmodel import load_savedmodel

    start = time.perf_counter()
    graph = load_savedmodel(str(CORRUPT / "call_fan_out"))
    assert time.perf_counter() - start < 5
    truncated = graph.attrs["metadata"]["truncated"]
    assert any("node instantiations" in why for why in truncated), truncated
    assert 0 < len(list(graph.ops())) < 5000


def test_recursive_and_cyclic_graphs_are_linted() -> None:
    from qlint.loaders.savedmodel import load_savedmodel

    ring = load_savedmodel(str(CORRUPT / "call_ring"))
    assert any(why.startswith("recursive call of ring") for why in
               ring.attrs["metadata"]["truncated"])
    cyclic = load_savedmodel(str(CORRUPT / "cyclic_graph"))
    assert {cyclic[o]["name"] for o in cyclic.ops()} >= {"sink", *(f"c{i}" for i in range(10))}


@pytest.mark.parametrize(("claim_mib", "inflates_mib"), [(60, 4000), (1 << 12, 4000)])
def test_zip_bomb_is_read_bounded(tmp_path: Path, claim_mib: int, inflates_mib: int) -> None:
    """config.json inflating to 4 GB from 4 MB, claiming 60 MiB (under the limit) or all."""
    from tools.fuzz import ZipMember, write_zip, zip_bomb

    path = tmp_path / "bomb.keras"
    path.write_bytes(write_zip([ZipMember(b"config.json", compressed=zip_bomb(inflates_mib),
                                          file_size=min(claim_mib << 20, 0xFFFFFFFF), crc=0)]))
    got = _lint_measured(path)
    assert got["exit_code"] == 2
    assert "config.json" in str(got["errors"][0])  # type: ignore[index]
    assert float(got["seconds"]) < 5  # type: ignore[arg-type]
    assert float(got["rss_mb"]) < 400, got  # type: ignore[arg-type]


def test_member_names_outside_the_archive_are_never_written(tmp_path: Path) -> None:
    """Members named ../../x, /tmp/x, ..\\x: the archive is read, nothing is extracted."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    shutil.copy(CORRUPT / "path_traversal.keras", work / "m.keras")
    before = _snapshot(tmp_path)
    res = run_qlint("m.keras", cwd=work)
    assert res.returncode == 0, res.stderr
    assert _snapshot(tmp_path) == before
    assert not Path("/tmp/qlint-absolute").exists()


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_fifo_named_like_a_keras_model_does_not_block(tmp_path: Path, suffix: str) -> None:
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    report = qlint.lint([str(fifo)])
    if suffix == ".h5" and not HAS_H5PY:
        assert "needs h5py" in str(report.unreadable[0].error)
    else:
        assert [m.error for m in report.unreadable] == ["not a regular file"]


def test_fuzz_found_zip_version_is_a_load_error() -> None:
    """keras fuzz case 2488 of seed 1: one flipped bit asks for zip version 22.2."""
    report = qlint.lint([str(CORRUPT / "found_zip_version.keras")])
    assert [m.error for m in report.unreadable] == [
        "not a .keras archive (bad zip: zip file version 22.2)"]


@needs_h5py
def test_fuzz_found_hdf5_library_loop_is_stopped() -> None:
    """h5 fuzz case 328 of seed 3: two flipped bytes make libhdf5 loop forever in C.

    The reader is stopped by its CPU-time limit, so the verdict (and the message) is the
    same on an idle and on a loaded machine; only the wall time differs, so it is not
    asserted."""
    res = run_qlint(str(CORRUPT / "found_hdf5_attribute_loop.h5"),
                    str(REPO / "fixtures" / "source" / "Erf" / "saved_model"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"qlint: error: {CORRUPT / 'found_hdf5_attribute_loop.h5'}: the HDF5 library used "
        "more than 2 s of CPU time reading the file (corrupt file?)"]
    assert "1 model" in res.stdout


@needs_h5py
@pytest.mark.parametrize(("name", "reason"), [
    ("found_hdf5_unknown_object.h5", "corrupt HDF5 file: KeyError"),  # h5 seed 1 case 81
    ("found_hdf5_bad_datatype.h5", "corrupt HDF5 file: RuntimeError"),  # h5 seed 1 case 118
])
def test_fuzz_found_corrupt_hdf5_is_one_line(name: str, reason: str) -> None:
    report = qlint.lint([str(CORRUPT / name)])
    [model] = report.unreadable
    assert str(model.error).startswith(reason), model.error
    assert "\n" not in str(model.error) and len(str(model.error)) < 250


@needs_h5py
def test_hdf5_reader_runs_isolated_from_the_model_directory(tmp_path: Path) -> None:
    """A module named h5py beside the model (or on PYTHONPATH) is never imported."""
    from tools.fuzz import write_h5

    marker = tmp_path / "imported"
    (tmp_path / "h5py.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (tmp_path / "m.h5").write_bytes(write_h5({"model_config": json.dumps(
        {"class_name": "Sequential", "config": {"layers": []}})}))
    res = run_qlint("m.h5", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert not marker.exists()


def test_one_subgraph_table_referenced_200000_times_is_refused_in_one_line(
        tmp_path: Path) -> None:
    """A 0.8 MB file whose subgraph vector names one SubGraph table 200,000 times: refused
    by a structure rule (a converter writes each subgraph once) before any subgraph is read,
    not after 200,000 walks of it."""
    from tools.fuzz import many_subgraphs

    path = tmp_path / "shared.tflite"
    path.write_bytes(many_subgraphs(200_000, shared=True))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(qlint.errors.ModelLoadError, match="subgraph 1 is the same table as "
                       "subgraph 0"):
        tflite_loader.load_tflite(str(path))
    res = run_qlint(str(path), "--isolated", "--no-progress")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"qlint: error: {path}: corrupt TFLite flatbuffer: subgraph 1 is the same table as "
        "subgraph 0 (a converter writes each subgraph once)"]


def test_many_distinct_subgraphs_are_read_in_one_batch(tmp_path: Path) -> None:
    """Thousands of subgraphs are read with one batch of tensors and one of ops (the cost is
    linear in the file); every subgraph's op reads that subgraph's own tensor."""
    from tools.fuzz import many_subgraphs

    path = tmp_path / "many.tflite"
    path.write_bytes(many_subgraphs(3000))
    graph = tflite_loader.load_tflite(str(path))
    assert len(graph.attrs["subgraphs"]) == 3000
    ops = list(graph.ops())
    assert len(ops) == 3000 and len(list(graph.tensors())) == 3000
    for s in (0, 1, 1500, 2999):
        op = f"s{s}/o0"
        assert graph.inputs(op) == [f"s{s}/t0"] and graph.outputs(op) == [f"s{s}/t0"]
        assert graph[f"s{s}/t0"]["name"] == f"t{s}"
        assert graph.attrs["subgraphs"][s]["inputs"] == [f"s{s}/t0"]
    slots = graph.slot_positions()
    assert slots.in_pos.tolist() == list(range(3000)) == slots.in_op.tolist()


@pytest.mark.parametrize("dims", [(2147483647,) * 40,
                                  (-2147483648, *(2147483647,) * 40, 0)])
def test_hostile_dims_give_no_numpy_warning(tmp_path: Path, dims: tuple[int, ...]) -> None:
    """Element counts of absurd shapes are never multiplied out in floating point (that
    overflowed and printed numpy RuntimeWarnings); the exact count is still computed."""
    import warnings

    from tools.fuzz import many_subgraphs

    path = tmp_path / "dims.tflite"
    path.write_bytes(many_subgraphs(1, dims=dims))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = tflite_loader.load_tflite(str(path))
    expected = 1
    for d in dims:
        expected *= d if d > 0 else 1
    assert graph["s0/t0"]["nbytes"] == expected * 4
    res = run_qlint(str(path), "--isolated", "--no-progress")
    assert res.returncode in (0, 1) and res.stderr == ""
