"""Configuration discovery and precedence, suppressions, overrides, baselines, progress."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import fixture_model, run_qlint

from qlint import lint
from qlint.config import find_config, load_config
from qlint.errors import ConfigError


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with three models: a float island, float I/O and a clean one."""
    models = tmp_path / "models"
    (models / "legacy").mkdir(parents=True)
    shutil.copy(fixture_model("island_cumsum"), models / "island.tflite")
    shutil.copy(fixture_model("float_io_int8"), models / "legacy" / "float_io.tflite")
    shutil.copy(fixture_model("int8_cnn"), models / "clean.tflite")
    return tmp_path


def rules_in(stdout: str) -> set[str]:
    return {line.split(": ")[1].split()[0] for line in stdout.splitlines()
            if ".tflite:subgraph" in line}


def test_config_found_by_walking_up_and_qlint_toml_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.qlint]\nignore = ["QL103"]\n')
    assert find_config(str(project / "models" / "legacy")) == str(project / "pyproject.toml")
    (project / "models" / "qlint.toml").write_text('ignore = ["QL401"]\n')
    assert find_config(str(project / "models" / "legacy")) == str(project / "models" /
                                                                 "qlint.toml")
    res = run_qlint("models", cwd=project)
    assert rules_in(res.stdout) == {"QL103"}  # qlint.toml ignores QL401, not QL103


def test_pyproject_without_qlint_table_is_skipped(project: Path) -> None:
    (project / "models" / "pyproject.toml").write_text('[tool.black]\nline-length = 80\n')
    (project / "pyproject.toml").write_text('[tool.qlint]\nselect = ["QL4"]\n')
    assert find_config(str(project / "models")) == str(project / "pyproject.toml")


def test_cli_flags_override_the_file(project: Path) -> None:
    (project / "qlint.toml").write_text('select = ["QL401"]\nfail-on = "warning"\n')
    res = run_qlint("models", cwd=project)
    assert rules_in(res.stdout) == {"QL401"} and res.returncode == 1
    res = run_qlint("models", "--select", "QL103", "--fail-on", "error", cwd=project)
    assert rules_in(res.stdout) == {"QL103"} and res.returncode == 1
    res = run_qlint("models", "--select", "QL401", "--fail-on", "error", cwd=project)
    assert res.returncode == 0  # warnings only now
    res = run_qlint("models", "--isolated", cwd=project)
    assert rules_in(res.stdout) == {"QL103", "QL401"}


def test_unknown_key_is_an_error_naming_key_and_file(project: Path) -> None:
    cfg = project / "pyproject.toml"
    cfg.write_text('[tool.qlint]\nselct = ["QL1"]\n')
    res = run_qlint("models", cwd=project)
    assert res.returncode == 2
    (line,) = res.stderr.strip().splitlines()
    assert "selct" in line and str(cfg) in line
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        cfg.write_text('[tool.qlint.per-path-overrides."x/*"]\ncolour = 1\n')
        load_config(str(cfg))


def test_severity_overrides_suppressions_and_per_path(project: Path) -> None:
    (project / "qlint.toml").write_text(
        '[severity]\nfloat-model-io = "error"\n'
        '[per-path-overrides."models/legacy/**"]\nignore = ["QL103"]\n'
        '[[suppress]]\nrule = "QL103"\nlocation = "CUMSUM"\nreason = "CPU only"\n'
    )
    report = lint([str(project / "models")], config=str(project / "qlint.toml"))
    assert {f.rule for f in report.findings} == {"QL401"}
    assert {f.severity.value for f in report.findings} == {"error"}
    assert report.suppressed == 1
    assert report.exit_code() == 1


def test_baseline_round_trip(project: Path) -> None:
    res = run_qlint("models", "--write-baseline", "qlint-baseline.json", cwd=project)
    assert res.returncode == 0
    baseline = json.loads((project / "qlint-baseline.json").read_text())
    assert len(baseline["findings"]) == 3  # one island, float input, float output
    res = run_qlint("models", "--baseline", "qlint-baseline.json", cwd=project)
    assert res.returncode == 0
    assert "3 known findings hidden by the baseline" in res.stdout
    # A new problem is reported; the known ones stay hidden.
    shutil.copy(fixture_model("island_sin_floor"), project / "models" / "new.tflite")
    res = run_qlint("models", "--baseline", "qlint-baseline.json", "--format", "sarif",
                    cwd=project)
    assert res.returncode == 1
    results = json.loads(res.stdout)["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results} == {"models/new.tflite"}
    assert {r["baselineState"] for r in results} == {"new"}
    # The baseline may also come from the configuration file.
    (project / "qlint.toml").write_text('baseline = "qlint-baseline.json"\n')
    res = run_qlint("models/island.tflite", cwd=project)
    assert res.returncode == 0 and "1 known finding hidden" in res.stdout


def test_missing_baseline_is_a_usage_error(project: Path) -> None:
    res = run_qlint("models", "--baseline", "nope.json", cwd=project)
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "nope.json" in res.stderr


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from qlint import cli

    tty = FakeTTY()
    monkeypatch.setattr("sys.stderr", tty)
    cli.main([str(project / "models"), "--isolated"])
    assert "[" in tty.getvalue() and "3/3" not in tty.getvalue().rsplit("\r", 1)[-1]
    assert "0/3" in tty.getvalue() and "\r\033[K" in tty.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    cli.main([str(project / "models"), "--isolated"])
    assert piped.getvalue() == ""
