"""What a ruff user reaches for: rule-key validation, check subcommand, quiet, statistics,
exit-zero, excludes, colour rules, no abbreviations, output errors, baselines that do
not depend on the working directory, path lists and shards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import fixture_model, run_qlint


@pytest.fixture()
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    (root / "legacy").mkdir(parents=True)
    shutil.copy(fixture_model("island_cumsum"), root / "island.tflite")
    shutil.copy(fixture_model("float_io_int8"), root / "legacy" / "float_io.tflite")
    shutil.copy(fixture_model("int8_cnn"), root / "clean.tflite")
    return root


def one_error_line(res: object) -> str:
    lines = res.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert res.returncode == 2 and len(lines) == 1, res.stderr  # type: ignore[attr-defined]
    assert lines[0].startswith("qlint: error: ") and "Traceback" not in lines[0]
    return lines[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--select", "QL1O3"], "--select: unknown rule 'QL1O3' (did you mean QL103?)"),
    (["--select", "float-islands"], "unknown rule 'float-islands' (did you mean float-island?)"),
    (["--ignore", "nonsense-rule"], "--ignore: unknown rule 'nonsense-rule'"),
    (["--extend-select", "QL9"], "--extend-select: unknown rule 'QL9'"),
])
def test_unknown_rule_flags_exit_2_naming_the_value(models: Path, args: list[str],
                                                     expected: str) -> None:
    assert expected in one_error_line(run_qlint(*args, str(models)))


@pytest.mark.parametrize(("toml", "expected"), [
    ('select = ["QL1O3"]', "'select': unknown rule 'QL1O3' (did you mean QL103?)"),
    ('ignore = ["QL103", "bogus"]', "'ignore': unknown rule 'bogus'"),
    ('[severity]\nQL4O1 = "error"', "'severity': unknown rule 'QL4O1' (did you mean QL401?)"),
    ('[per-path-overrides."legacy/**"]\nignore = ["QL88"]',
     "per-path-overrides 'legacy/**' ignore: unknown rule 'QL88'"),
    ('[[suppress]]\nrule = "float-islnd"\nlocation = "x"',
     "suppress[0].rule: unknown rule 'float-islnd' (did you mean float-island?)"),
])
def test_unknown_rule_keys_in_the_config_exit_2_naming_file_and_key(
        models: Path, toml: str, expected: str) -> None:
    (models / "qlint.toml").write_text(toml + "\n")
    line = one_error_line(run_qlint(str(models)))
    assert str(models / "qlint.toml") in line and expected in line


def test_valid_prefixes_and_names_are_accepted(models: Path) -> None:
    res = run_qlint("--select", "QL1,float-model-io", "--ignore", "ql4", str(models))
    assert res.returncode == 1 and "QL103" in res.stdout and "QL401" not in res.stdout


def test_check_subcommand_lints_a_directory_named_like_a_command(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "rules" / "m.tflite")
    listed = run_qlint("rules", cwd=tmp_path)
    assert listed.returncode == 0 and "float-island" in listed.stdout  # the subcommand
    res = run_qlint("check", "rules", cwd=tmp_path)
    assert res.returncode == 1 and "rules/m.tflite:subgraph[0]" in res.stdout
    res = run_qlint(str(tmp_path / "rules"))  # a path that is no command name still lints
    assert res.returncode == 1


def test_no_abbreviated_options(models: Path) -> None:
    line = one_error_line_usage(run_qlint("--form", "json", str(models)))
    assert "unrecognized arguments: --form" in line


def one_error_line_usage(res: object) -> str:
    assert res.returncode == 2  # type: ignore[attr-defined]
    return str(res.stderr.strip().splitlines()[-1])  # type: ignore[attr-defined]


def test_quiet_statistics_and_exit_zero(models: Path) -> None:
    quiet = run_qlint("-q", str(models))
    assert quiet.returncode == 1 and "Found" not in quiet.stdout and "QL103" in quiet.stdout
    stats = run_qlint("--statistics", str(models))
    lines = stats.stdout.splitlines()
    assert lines[0].split("\t") == ["2", "QL401", "[warning]", "float-model-io"]
    assert lines[1].split("\t") == ["1", "QL103", "[error]", "float-island"]
    assert lines[-1].startswith("Found 3 findings")
    assert run_qlint("--statistics", "-q", str(models)).stdout.splitlines() == lines[:2]
    assert run_qlint("--exit-zero", str(models)).returncode == 0
    assert run_qlint("--exit-zero", str(models / "missing.tflite")).returncode == 2
    assert "--statistics prints text" in one_error_line(
        run_qlint("--statistics", "--format", "json", str(models)))


def test_exclude_and_extend_exclude(models: Path) -> None:
    res = run_qlint("--exclude", "legacy", str(models))
    assert "QL401" not in res.stdout and "QL103" in res.stdout
    res = run_qlint("--exclude", "legacy", "--extend-exclude", "isl*.tflite", str(models))
    assert res.returncode == 0 and "No findings in 1 model" in res.stdout
    named = run_qlint("--exclude", "*.tflite", str(models / "island.tflite"))
    assert named.returncode == 1  # a path named on the command line is always linted
    # The configuration's exclude (globs relative to its directory too) and --exclude,
    # which replaces it.
    (models.parent / "qlint.toml").write_text('exclude = ["models/legacy/*"]\n')
    res = run_qlint(".", cwd=models)
    assert "QL401" not in res.stdout and "QL103" in res.stdout
    res = run_qlint(".", "--exclude", "island.tflite", cwd=models)
    assert "QL401" in res.stdout and "QL103" not in res.stdout


@pytest.mark.parametrize(("env", "colour"), [
    ({"FORCE_COLOR": "1"}, True),
    ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ({}, False),
])
def test_colour_environment(models: Path, env: dict[str, str], colour: bool) -> None:
    res = run_qlint(str(models), env={"NO_COLOR": "", **env})
    assert ("\033[" in res.stdout) == colour


def test_no_colour_on_a_dumb_terminal() -> None:
    import io

    from qlint.reporters.text import use_colour

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    mp = pytest.MonkeyPatch()
    try:
        mp.delenv("NO_COLOR", raising=False)
        mp.delenv("FORCE_COLOR", raising=False)
        mp.setenv("TERM", "xterm")
        assert use_colour(Tty())
        mp.setenv("TERM", "dumb")
        assert not use_colour(Tty())
    finally:
        mp.undo()


def test_output_errors_are_one_line(models: Path, tmp_path: Path) -> None:
    line = one_error_line(run_qlint("-o", str(tmp_path / "newdir" / "r.json"), str(models)))
    assert "directory" in line and "does not exist" in line
    line = one_error_line(run_qlint("-o", str(tmp_path / "newdir") + "/", str(models)))
    assert "is a directory" in line
    line = one_error_line(run_qlint("--write-baseline", str(tmp_path / "no" / "b.json"),
                                    str(models)))
    assert "does not exist" in line


def test_baseline_matches_wherever_qlint_runs_from(models: Path, tmp_path: Path) -> None:
    """No git repository: paths in the baseline are relative to the config's directory."""
    (models.parent / "qlint.toml").write_text('fail-on = "warning"\n')
    baseline = models.parent / "baseline.json"
    res = run_qlint("models", "--write-baseline", str(baseline), cwd=models.parent)
    assert res.returncode == 0 and "Wrote 3 findings" in res.stdout
    assert {e["model"] for e in json.loads(baseline.read_text())["findings"]} == {
        "models/island.tflite", "models/legacy/float_io.tflite"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd, target in ((models.parent, "models"), (elsewhere, str(models)),
                        (models / "legacy", "..")):
        res = run_qlint(target, "--baseline", str(baseline), cwd=cwd)
        assert res.returncode == 0, (cwd, res.stdout)
        assert "3 known findings hidden by the baseline" in res.stdout


def test_write_baseline_refuses_after_a_bad_path(models: Path) -> None:
    baseline = models.parent / "baseline.json"
    res = run_qlint(str(models / "typo"), "--write-baseline", str(baseline))
    assert res.returncode == 2 and not baseline.exists()
    assert res.stderr.splitlines() == [
        f"qlint: error: {models / 'typo'}: no such file or directory",
        f"qlint: error: not writing the baseline {baseline}: fix the paths that could not be "
        "linted first"]


def test_files_from_and_shards(models: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{models / 'island.tflite'}\n\n{models / 'legacy'}\n")
    res = run_qlint("--files-from", str(listing), "--format", "json")
    assert {Path(m["path"]).name for m in json.loads(res.stdout)["models"]} == {
        "island.tflite", "float_io.tflite"}
    res = subprocess.run([sys.executable, "-m", "qlint", "--files-from", "-", "--format",
                          "json"], input=f"{models}\n", capture_output=True, text=True,
                         timeout=120)
    assert len(json.loads(res.stdout)["models"]) == 3
    shards = []
    for k in (1, 2, 3, 4):
        out = run_qlint("--shard", f"{k}/4", "--format", "json", str(models))
        shards.append([m["path"] for m in json.loads(out.stdout)["models"]])
    every = sorted(p for s in shards for p in s)
    assert every == sorted([str(models / "clean.tflite"), str(models / "island.tflite"),
                            str(models / "legacy" / "float_io.tflite")])
    assert shards[3] == []  # 3 models in 4 shards: the 4th is empty, still exit 0
    assert "expected K/N" in one_error_line(run_qlint("--shard", "5/4", str(models)))
