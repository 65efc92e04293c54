"""The command line as a user runs it: output, exit codes, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import FIXTURES, REPO, fixture_model, run_qlint

SCENARIOS_WITH_FINDINGS = {
    "island_cumsum": "QL103",
    "island_sin_floor": "QL103",
    "custom_op": "QL104",
    "float_io_int8": "QL401",
    "uint8_io_int8": "QL402",
}
LINE = re.compile(r"^(?P<path>[^:]+\.tflite):(?P<loc>subgraph\[\d+\]/\S+): "
                  r"(?P<rule>QL\d+) \[(?P<sev>error|warning|info)\] (?P<msg>.+) "
                  r"\((?P<rec>[^()]+)\)$")


def test_example_models_print_findings_per_scenario_and_exit_1() -> None:
    res = run_qlint("fixtures", cwd=REPO)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    lines = [m for m in map(LINE.match, res.stdout.splitlines()) if m]
    by_model: dict[str, set[str]] = {}
    for m in lines:
        by_model.setdefault(Path(m["path"]).parent.name, set()).add(m["rule"])
    for scenario, rule in SCENARIOS_WITH_FINDINGS.items():
        assert rule in by_model.get(scenario, set()), (scenario, res.stdout)
    assert "int8_cnn" not in by_model
    assert res.stdout.rstrip().splitlines()[-1].startswith("Found ")


def test_clean_model_prints_only_the_summary() -> None:
    res = run_qlint(str(fixture_model("int8_cnn")))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines() == ["No findings in 1 model (target tflite-int8)."]
    assert res.stderr == ""


def test_every_text_finding_has_a_fix_line() -> None:
    res = run_qlint(str(fixture_model("island_cumsum")))
    out = res.stdout.splitlines()
    idx = [i for i, line in enumerate(out) if LINE.match(line)]
    assert idx
    for i in idx:
        assert out[i + 1].startswith("    fix: ")


def test_json_output_matches_the_schema() -> None:
    schema = json.loads((REPO / "linter" / "qlint" / "schemas" / "report.schema.json").read_text())
    res = run_qlint("--format", "json", str(FIXTURES))
    assert res.returncode == 1
    data = json.loads(res.stdout)
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["summary"]["findings"] == len(data["findings"]) > 0
    island = next(f for f in data["findings"] if f["rule"] == "QL103")
    assert island["name"] == "float-island"
    assert island["node"]["kind"] == "op" and island["node"]["op_type"]
    assert island["related"]
    modes = {Path(m["path"]).parent.name: m["quant_mode"] for m in data["models"]}
    assert modes["int8_cnn"] == "full-int8"
    assert modes["island_cumsum"] == "mixed"


def test_output_file_and_select_ignore_fail_on(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    res = run_qlint("--format", "json", "-o", str(out), "--select", "QL4",
                    str(fixture_model("float_io_int8")))
    assert res.stdout == ""
    data = json.loads(out.read_text())
    assert {f["rule"] for f in data["findings"]} == {"QL401"}
    assert res.returncode == 0  # warnings only, fail-on error
    res = run_qlint("--select", "QL4", "--fail-on", "warning", str(fixture_model("float_io_int8")))
    assert res.returncode == 1
    res = run_qlint("--ignore", "float-model-io,uint8-model-io",
                    str(fixture_model("float_io_int8")))
    assert res.returncode == 0 and "QL401" not in res.stdout


def test_no_path_lints_the_current_directory(tmp_path: Path) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    res = run_qlint(cwd=tmp_path)
    assert res.returncode == 1
    assert "m.tflite:subgraph[0]" in res.stdout


def test_bad_inputs_one_line_each_exit_2_others_still_linted(tmp_path: Path) -> None:
    good = tmp_path / "good.tflite"
    shutil.copy(fixture_model("island_cumsum"), good)
    data = good.read_bytes()
    (tmp_path / "truncated.tflite").write_bytes(data[: len(data) // 3])
    (tmp_path / "garbage.tflite").write_bytes(b"\x13\x37" * 500)
    (tmp_path / "empty.tflite").write_bytes(b"")
    zeroed = bytearray(data)
    zeroed[0:4] = (len(data) + 1000).to_bytes(4, "little")  # root offset past the end
    (tmp_path / "badroot.tflite").write_bytes(bytes(zeroed))
    res = run_qlint(str(tmp_path))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    errors = res.stderr.strip().splitlines()
    assert len(errors) == 4, res.stderr
    for line in errors:
        assert line.startswith("qlint: error: ")
        assert ".tflite: " in line
    assert "good.tflite:subgraph[0]" in res.stdout  # the readable model is still linted
    assert "4 paths could not be linted" in res.stdout


def test_usage_errors_exit_2() -> None:
    res = run_qlint("--target", "no-such-target", str(fixture_model("int8_cnn")))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("qlint: error:")
    res = run_qlint("--format", "xml", str(fixture_model("int8_cnn")))
    assert res.returncode == 2


def test_rules_command_lists_builtins() -> None:
    res = run_qlint("rules")
    assert res.returncode == 0
    for rule_id in ("QL103", "QL104", "QL401", "QL402"):
        assert rule_id in res.stdout
    assert "tensorflow/tflite-int8-silent-float-fallback" in res.stdout


def test_version() -> None:
    res = run_qlint("--version")
    assert res.returncode == 0 and res.stdout.startswith("qlint ")


def test_linting_imports_no_tensorflow() -> None:
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "qlint",
                          str(fixture_model("island_cumsum"))],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    imported = [line.split("|")[-1].strip() for line in res.stderr.splitlines()
                if line.startswith("import time:")]
    # the check really saw the import log: the .tflite loader's imports are in it (the
    # loader itself is imported with importlib.import_module, which -X importtime omits)
    assert {"qlint.loaders.flatbuf", "qlint.quant_columns"} <= set(imported)
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras", "tf_keras")]


def test_parallel_jobs_give_the_same_report_in_the_same_order(tmp_path: Path) -> None:
    for i in range(6):
        shutil.copy(fixture_model("island_cumsum"), tmp_path / f"c{i}.tflite")
        shutil.copy(fixture_model("float_io_int8"), tmp_path / f"f{i}.tflite")
    serial = run_qlint("--jobs", "1", "--format", "json", str(tmp_path))
    parallel = run_qlint("--jobs", "2", "--format", "json", str(tmp_path))
    assert serial.returncode == parallel.returncode == 1
    assert json.loads(serial.stdout) == json.loads(parallel.stdout)
    assert len(json.loads(serial.stdout)["findings"]) == 18
    assert run_qlint("--jobs", "0", str(tmp_path)).returncode == 2


@pytest.mark.parametrize("handover_after", [0, 3])
def test_a_process_pool_takes_over_mid_run_in_the_same_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handover_after: int) -> None:
    import itertools

    import qlint
    from qlint import api
    from qlint.reporters.json import to_dict

    for i in range(6):
        shutil.copy(fixture_model("island_cumsum"), tmp_path / f"c{i}.tflite")
        shutil.copy(fixture_model("float_io_int8"), tmp_path / f"f{i}.tflite")
    serial = to_dict(qlint.lint([str(tmp_path)], jobs=1))
    # A clock read once at the start and once before each model, saying that
    # PARALLEL_AFTER_SECONDS have passed once `handover_after` models were linted here.
    ticks = itertools.count()

    def clock() -> float:
        tick = next(ticks)  # 0 at the start, k + 1 before model k
        passed = tick >= handover_after + 1 if tick else False
        return api.PARALLEL_AFTER_SECONDS * 2 if passed else 0.0

    monkeypatch.setattr(api, "_clock", clock)
    pools: list[int] = []
    real = api._lint_parallel
    monkeypatch.setattr(api, "_lint_parallel",
                        lambda sources, *a: pools.append(len(sources)) or real(sources, *a))
    seen: list[tuple[int, int]] = []
    parallel = qlint.lint([str(tmp_path)], jobs=2,
                          progress=lambda done, total, path: seen.append((done, total)))
    assert pools == [12 - handover_after]  # the pool really ran, on the models left
    assert to_dict(parallel) == serial
    assert seen[-1] == (12, 12) and all(total == 12 for _, total in seen)


def test_the_command_flushes_everything_before_it_exits() -> None:
    # The process ends with os._exit after flushing: a long JSON report arrives whole.
    all_models = [str(m) for m in sorted(FIXTURES.glob("*/*.tflite"))]
    r = run_qlint("--format", "json", "--no-progress", "--isolated", *all_models)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    assert len(report["models"]) == len(all_models)
    # A reader that stops early gets no traceback from the exit.
    proc = subprocess.run(f"{sys.executable} -m qlint --no-progress --isolated "
                          f"{' '.join(all_models)} | head -1", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
