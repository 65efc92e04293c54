"""Untrusted models in CI: nothing leaks, nothing is overwritten, nothing hangs.

Each test plays one attack from docs/hardening.md's threat model and shows it blocked.
Everything is built under ``tmp_path``; a canary secret lives outside the model trees.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, fixture_model, run_qlint, tree_state

from qlint.errors import ConfigError, UsageError
from qlint.escape import github_data, github_property, visible

SECRET = "machine example.com login ci password SECRET123"
NAME = b"island_cumsum_1/cumsum_1/Cumsum"
# Same length as NAME, so it can replace it in place: a newline and a workflow command,
# a terminal title change (ESC ] ... BEL) and a right-to-left override.
HOSTILE = "\n::error::PWNED\x1b]0;x\x07\u202e".encode()
HOSTILE += b"a" * (len(NAME) - len(HOSTILE))
FORMATS = ("text", "json", "sarif", "github", "model-explorer")
UNSAFE = ("\x1b", "\x07", "\u202e", "\x9b")


def _hostile_model(path: Path) -> Path:
    data = fixture_model("island_cumsum").read_bytes()
    assert len(HOSTILE) == len(NAME) and NAME in data
    path.write_bytes(data.replace(NAME, HOSTILE))
    return path


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "netrc"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(SECRET + "\n")
    return secret


def _json_strings(obj: object) -> str:
    """Every key and string value of a parsed JSON document, one a line."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return "\n".join(k + "\n" + _json_strings(v) for k, v in obj.items())
    if isinstance(obj, list):
        return "\n".join(_json_strings(v) for v in obj)
    return ""


def _assert_clean(text: str, github: bool = False) -> None:
    """No terminal control and no workflow command a model could have injected."""
    for ch in UNSAFE:
        assert ch not in text, repr(ch)
    assert "SECRET123" not in text
    for line in text.splitlines():
        if github:
            assert line.startswith(("::error ", "::warning ", "::notice ", "::error::")), line
            assert not line.startswith("::error::PWNED"), line
        else:
            assert not line.startswith("::"), line


# -- messages say where, never what -------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "github", "sarif", "json"])
def test_pbtxt_symlink_to_a_secret_is_never_quoted(tmp_path: Path, fmt: str) -> None:
    sm = tmp_path / "sm"
    sm.mkdir()
    (sm / "saved_model.pbtxt").symlink_to(_secret(tmp_path))
    res = run_qlint("--format", fmt, str(sm), cwd=tmp_path)
    assert res.returncode == 2
    assert "SECRET" not in res.stdout + res.stderr and "example.com" not in res.stdout
    assert res.stderr.strip().splitlines() == [
        f"qlint: error: {sm}: saved_model.pbtxt cannot be parsed at line 1, column 9"]


@pytest.mark.parametrize("name", ["m.tflite", "m.keras", "m.h5"])
def test_a_model_named_explicitly_that_links_to_a_secret_is_not_quoted(
        tmp_path: Path, name: str) -> None:
    secret = _secret(tmp_path)
    secret.write_bytes(b"\xffSECRET123 " + SECRET.encode())
    (tmp_path / name).symlink_to(secret)
    res = run_qlint(str(tmp_path / name))
    assert res.returncode == 2
    assert "SECRET" not in res.stdout + res.stderr and "machine" not in res.stderr
    assert len(res.stderr.splitlines()) == 1, res.stderr


def test_escape_makes_every_unsafe_character_visible() -> None:
    assert visible("a\nb\rc\x1b[2J\x07\x9b\u202e\u2066x") == \
        "a\\nb\\rc\\x1b[2J\\x07\\x9b\\u202e\\u2066x"
    assert visible(os.fsdecode(b"bad\xff.tflite")) == "bad\\xff.tflite"
    assert visible("models/conv_1/Relu6 (ok)") == "models/conv_1/Relu6 (ok)"
    assert github_data("50%\n::error::x") == "50%25\\n::error::x"
    assert github_property("a:b,c%") == "a%3Ab%2Cc%25"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_are_escaped_in_every_format(tmp_path: Path, fmt: str) -> None:
    model = _hostile_model(tmp_path / "m.tflite")
    res = run_qlint("--format", fmt, str(model), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    _assert_clean(res.stdout, github=fmt == "github")
    _assert_clean(res.stderr)
    shown = "\\n::error::PWNED\\x1b]0;x\\x07\\u202e"
    if fmt in ("text", "github"):
        assert shown in res.stdout
    if fmt in ("sarif", "model-explorer"):  # the escapes themselves, JSON-encoded
        assert shown in _json_strings(json.loads(res.stdout))


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_file_name_is_escaped_in_every_format(tmp_path: Path, fmt: str) -> None:
    name = "m\n::error::PWNED\x1b[2J\u202e.tflite"
    shutil.copy(fixture_model("island_cumsum"), tmp_path / name)
    (tmp_path / "bad.tflite").write_bytes(b"TFL3 not a model")
    os.rename(tmp_path / "bad.tflite", tmp_path / ("bad\n::warning::x\x07.tflite"))
    res = run_qlint("--format", fmt, str(tmp_path), cwd=tmp_path)
    assert res.returncode == 2
    _assert_clean(res.stdout, github=fmt == "github")
    _assert_clean(res.stderr)
    [line] = res.stderr.strip().splitlines()
    assert line.startswith(f"qlint: error: {tmp_path}/bad\\n::warning::x\\x07.tflite: ")


@pytest.mark.parametrize("args", [("-o", "out.txt"), ("--format", "json"),
                                  ("--format", "sarif"), ("--format", "github"),
                                  ("--write-baseline", "b.json"),
                                  ("--format", "model-explorer", "-o", "overlays")])
def test_non_utf8_file_names_are_printed_escaped(tmp_path: Path, args: tuple[str, ...]
                                                 ) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (tmp_path / "overlays").mkdir()
    raw = os.fsencode(str(models)) + b"/bad\xff.tflite"
    shutil.copy(fixture_model("island_cumsum"), raw)
    res = run_qlint(*args, "models", cwd=tmp_path)
    assert "Traceback" not in res.stderr
    assert res.returncode in (0, 1), res.stderr
    out = res.stdout + res.stderr
    for written in ("out.txt", "b.json", "overlays/bad\\xff.tflite.qlint.json"):
        if (tmp_path / written).exists():
            out += (tmp_path / written).read_text()
    if args[-1] == "sarif":  # a URI: the name's bytes percent-encoded
        out = _json_strings(json.loads(res.stdout)).replace("bad%FF", "bad\\xff")
    if args[-1] == "json":  # the path as Python holds it, JSON-escaped (\udcff)
        out = _json_strings(json.loads(res.stdout)).replace("bad\udcff", "bad\\xff")
    # the baseline is JSON too: its text holds the JSON escape \udcff
    assert "bad\\xff" in out or "bad\\udcff" in out, out


# -- the walk -----------------------------------------------------------------------

def test_walk_skips_symlinks_leaving_the_tree(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(fixture_model("island_cumsum"), outside / "other_project.tflite")
    _secret(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(fixture_model("island_cumsum"), models / "mine.tflite")
    (models / "root").symlink_to("/")
    (models / "escape").symlink_to(outside)
    (models / "file.tflite").symlink_to(outside / "other_project.tflite")
    (models / "inside").symlink_to(models / "mine.tflite")  # stays in the tree: followed
    res = run_qlint("--format", "json", str(models), cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    linted = [m["path"] for m in json.loads(res.stdout)["models"]]
    assert linted == [str(models / "mine.tflite")]
    notes = sorted(res.stderr.strip().splitlines())
    assert notes == [f"qlint: note: {models / n}: skipped: a symbolic link leading outside "
                     "the directory named" for n in ("escape", "file.tflite", "root")]


def test_a_symlink_named_explicitly_is_linted(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(fixture_model("island_cumsum"), outside / "m.tflite")
    (tmp_path / "link.tflite").symlink_to(outside / "m.tflite")
    res = run_qlint(str(tmp_path / "link.tflite"))
    assert res.returncode == 1 and "QL103" in res.stdout


def test_walk_skips_a_savedmodel_whose_file_links_outside(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "sm").mkdir(parents=True)
    (models / "sm" / "saved_model.pb").symlink_to(
        FIXTURES / "source" / "Erf" / "saved_model" / "saved_model.pb")
    res = run_qlint(str(models))
    assert "skipped" in res.stderr and "models/sm" in res.stderr


@pytest.mark.parametrize("paths", [("models", "models/sub"), ("models", "models"),
                                   ("models/sub", "models")])
def test_overlapping_paths_lint_each_model_once(tmp_path: Path, paths: tuple[str, str]
                                                ) -> None:
    (tmp_path / "models" / "sub").mkdir(parents=True)
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "models" / "a.tflite")
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "models" / "sub" / "b.tflite")
    res = run_qlint("--format", "json", *paths, cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert res.stderr == ""
    linted = sorted(m["path"] for m in json.loads(res.stdout)["models"])
    assert [os.path.basename(p) for p in linted] == ["a.tflite", "b.tflite"]


# -- outputs --------------------------------------------------------------------------

def _model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    shutil.copy(fixture_model("island_cumsum"), d / "m.tflite")
    shutil.copytree(FIXTURES / "source" / "Erf" / "saved_model", d / "sm")
    return d


@pytest.mark.parametrize("args", [
    ("-o", "models/m.tflite", "models/m.tflite"),
    ("--write-baseline", "models/m.tflite", "models/m.tflite"),
    ("-o", "models/sm/report.json", "models"),
    ("-o", "models/sm/saved_model.pb", "models/sm"),
    ("--write-baseline", "models/sm/variables/b.json", "models"),
    ("--format", "model-explorer", "-o", "models/sm", "models"),
    ("--format", "model-explorer", "-o", "models/sm/variables", "models"),
    ("-o", "link.json", "models"),
    ("--write-baseline", "link.json", "models"),
    ("-o", "/dev/full", "models"),
    ("-o", "adir", "models"),
    ("--write-baseline", "adir", "models"),
])
def test_outputs_never_overwrite_a_model(tmp_path: Path, args: tuple[str, ...]) -> None:
    models = _model_dir(tmp_path)
    (tmp_path / "link.json").symlink_to(models / "m.tflite")
    (tmp_path / "adir").mkdir()
    before = tree_state(models)
    res = run_qlint(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    [line] = res.stderr.strip().splitlines()
    assert line.startswith("qlint: error: "), line
    assert "Traceback" not in res.stderr
    assert tree_state(models) == before
    assert os.readlink(tmp_path / "link.json") == str(models / "m.tflite")


def test_model_explorer_files_have_unique_names(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "models" / sub).mkdir(parents=True)
        shutil.copy(fixture_model("island_cumsum"), tmp_path / "models" / sub / "m.tflite")
    (tmp_path / "out").mkdir()
    res = run_qlint("--format", "model-explorer", "-o", "out", "models", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    written = sorted(str(p.relative_to(tmp_path / "out"))
                     for p in (tmp_path / "out").rglob("*.json"))
    assert written == ["a/m.tflite.qlint.json", "b/m.tflite.qlint.json"]
    assert res.stderr.count("wrote ") == 2


def test_overlays_resolve_each_linted_model_once(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing one overlay per model checks every file against all linted models; the
    models' real paths are resolved once, not once per written file."""
    from qlint import safe_output
    from qlint.report import ModelResult, Report
    from qlint.reporters.model_explorer import write_overlays

    (tmp_path / "sm").mkdir()
    models = [ModelResult(path=str(tmp_path / f"m{i}.tflite"), format="tflite")
              for i in range(20)]
    inputs = [(m.path, "tflite") for m in models] + [(str(tmp_path / "sm"), "savedmodel")]
    calls: list[str] = []
    real = safe_output._real
    monkeypatch.setattr(safe_output, "_real", lambda p: calls.append(p) or real(p))
    monkeypatch.setattr("qlint.reporters.model_explorer.model_node_data",
                        lambda model, target: {"main": {"results": {}}})
    written = write_overlays(Report(models=models, target="tflite-int8"),
                             str(tmp_path / "out"), inputs)
    assert len(written) == 20
    # each input once, plus the output directory, each overlay's directory and each file
    assert len(calls) == len(inputs) + 1 + 2 * 20
    with pytest.raises(UsageError, match="inside the linted model"):
        write_overlays(Report(models=models, target="tflite-int8"),
                       str(tmp_path / "sm" / "variables"), inputs)


def test_model_explorer_overlay_name_taken_by_a_directory(tmp_path: Path) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    (tmp_path / "out" / "m.tflite.qlint.json").mkdir(parents=True)
    res = run_qlint("--format", "model-explorer", "-o", "out", "m.tflite", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "qlint: error: cannot write the overlay out/m.tflite.qlint.json: it is a directory"]


def test_writes_are_atomic(tmp_path: Path) -> None:
    from qlint.safe_output import write_text

    target = tmp_path / "report.json"
    target.write_text("old report\n")

    def fails(fh: object) -> None:
        fh.write("half a rep")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UsageError, match="No space left on device"):
        write_text(str(target), fails)
    assert target.read_text() == "old report\n"
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary left behind
    write_text(str(target), lambda fh: fh.write("new\n"))
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path) == ["report.json"]


# -- user errors: one line, exit 2 ----------------------------------------------------

@pytest.mark.parametrize(("name", "content"), [
    ("qlint.toml", "select = " + "[" * 100_000),
    ("pyproject.toml", "[tool.qlint]\nseverity = " + "{a=" * 50_000),
    ("qlint.toml", 'x = """' + "[" * 1000 + '"""\n' + "y = " + "[" * 100 + "]" * 100),
])
def test_deeply_nested_config_is_one_line(tmp_path: Path, name: str, content: str) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    (tmp_path / name).write_text(content)
    res = run_qlint("m.tflite", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"qlint: error: {tmp_path / name}: nested deeper than 64 levels"]


@pytest.mark.parametrize("name", ["qlint.toml", "pyproject.toml"])
def test_config_symlinked_out_of_the_repository_is_refused(tmp_path: Path, name: str) -> None:
    secret = tmp_path / "outside" / "credentials.toml"
    secret.parent.mkdir()
    secret.write_text('[tool.qlint]\nSECRET123 = "token"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(fixture_model("island_cumsum"), repo / "m.tflite")
    (repo / name).symlink_to(secret)
    res = run_qlint("m.tflite", cwd=repo)
    assert res.returncode == 2
    assert "SECRET" not in res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [
        f"qlint: error: {repo / name}: refusing a configuration file that is a symbolic "
        "link out of its directory (name it with --config)"]


def test_baseline_content_is_never_quoted(tmp_path: Path) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    (tmp_path / "b.json").write_text('{"version": "SECRET123", "findings": []}')
    (tmp_path / "c.json").write_text('{"SECRET123": [1, 2}')
    for name in ("b.json", "c.json"):
        res = run_qlint("--baseline", name, "m.tflite", cwd=tmp_path)
        assert res.returncode == 2 and "SECRET" not in res.stderr, res.stderr
        assert len(res.stderr.splitlines()) == 1


def test_nesting_inside_toml_strings_and_comments_is_not_counted(tmp_path: Path) -> None:
    from qlint.config import load_config

    cfg = tmp_path / "qlint.toml"
    cfg.write_text('# ' + "[" * 200 + '\nselect = ["' + "[" * 200 + '"]\n'
                   "ignore = ['" + "{" * 200 + "']\n")
    assert load_config(str(cfg)).select == ["[" * 200]


def test_deeply_nested_baseline_is_one_line(tmp_path: Path) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    (tmp_path / "b.json").write_text("[" * 100_000)
    res = run_qlint("--baseline", "b.json", "m.tflite", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "qlint: error: b.json: the baseline is nested deeper than 64 levels"]


@pytest.mark.parametrize(("name", "size", "message"), [
    ("qlint.toml", 2 << 20, "the config file is larger than 1 MiB"),
    ("b.json", 65 << 20, "the baseline is larger than 64 MiB"),
])
def test_huge_config_and_baseline_refused_before_reading(
        tmp_path: Path, name: str, size: int, message: str) -> None:
    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    with open(tmp_path / name, "wb") as fh:
        fh.truncate(size)  # sparse: no disk space used
    args = ["--baseline", name] if name.endswith(".json") else []
    res = run_qlint(*args, "m.tflite", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f"qlint: error: {tmp_path / name if name.endswith('.toml') else name}: {message}"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_stdout_on_a_full_disk_is_one_line(tmp_path: Path, fmt: str) -> None:
    import subprocess

    shutil.copy(fixture_model("island_cumsum"), tmp_path / "m.tflite")
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "qlint", "--format", fmt, "m.tflite"],
                             cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "qlint: error: cannot write the output: No space left on device"]


# -- bounds ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "size", "message"), [
    ("saved_model.pb", (256 << 20) + 1, "saved_model.pb is larger than 256 MiB"),
    ("saved_model.pbtxt", (32 << 20) + 1, "saved_model.pbtxt is larger than 32 MiB"),
])
def test_huge_savedmodel_refused_before_reading(tmp_path: Path, name: str, size: int,
                                                message: str) -> None:
    import qlint

    (tmp_path / "sm").mkdir()
    with open(tmp_path / "sm" / name, "wb") as fh:
        fh.truncate(size)
    [model] = qlint.lint([str(tmp_path / "sm")], config=None).models
    assert model.error is not None and message in model.error


def test_suppressions_are_globs_and_regexes_are_refused(tmp_path: Path) -> None:
    from qlint.config import load_config

    cfg = tmp_path / "qlint.toml"
    cfg.write_text('[[suppress]]\nrule = "QL103"\nlocation = "(a|aa)+$"\n')
    with pytest.raises(ConfigError, match="glob pattern"):
        load_config(str(cfg))


def test_glob_matcher() -> None:
    from qlint.glob_match import Glob

    assert Glob("CUMSUM").match("subgraph[0]/op[2]:CUMSUM(x)")  # a plain word: anywhere
    assert Glob("*CUMSUM(*").match("subgraph[0]/op[2]:CUMSUM(x)")
    assert not Glob("CUMSUM*").match("subgraph[0]/op[2]:CUMSUM(x)")
    assert Glob("serving_default/*/head/?").match("serving_default/m/head/x")
    assert Glob("op[[]2]*").match("op[2]:ADD")
    assert Glob("[!a-c]x").match("dx") and not Glob("[!a-c]x").match("bx")
    # The pathological cases of backtracking matchers end at once (at most |p| x |t| steps).
    assert not Glob("*a*a*a*a*a*a*a*b").match("a" * 20_000)
    assert Glob("*a*a*a*a*a*a*a*").match("a" * 20_000)


def test_many_findings_are_grouped_and_related_nodes_capped() -> None:
    from qlint.finding import Finding, Severity
    from qlint.finding_caps import GROUP_ABOVE, MAX_RELATED, cap_findings

    def finding(i: int, op_type: str) -> Finding:
        node = {"kind": "op", "subgraph": 0, "index": i, "name": f"n{i}", "op_type": op_type,
                "location": f"op[{i}]"}
        return Finding("QL103", "float-island", "r", Severity.ERROR, "m.tflite", f"op[{i}]",
                       "float island", "fix", node, related=[node] * 500)

    few = cap_findings([finding(i, "CUMSUM") for i in range(10)])
    assert len(few) == 10 and all(len(f.related) == MAX_RELATED for f in few)
    many = [finding(i, "CUMSUM" if i % 3 else "ERF") for i in range(GROUP_ABOVE * 15)]
    grouped = cap_findings(many)
    assert [f.node["op_type"] for f in grouped] == ["ERF", "CUMSUM"]
    assert "grouped: 5000 ops of this type" in grouped[0].message
    assert "grouped: 10000 ops" in grouped[1].message
    assert all(len(f.related) == MAX_RELATED for f in grouped)


def test_sarif_stays_within_githubs_result_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from qlint.finding import Finding, Severity
    from qlint.report import ModelResult, Report
    from qlint.reporters import sarif

    node = {"kind": "op", "subgraph": 0, "index": 0, "name": "n", "op_type": "ADD",
            "location": "op[0]"}
    findings = [Finding("QL103", "float-island", "r", Severity.ERROR, "m.tflite", f"op[{i}]",
                        "m", "fix", {**node, "index": i}) for i in range(30)]
    monkeypatch.setattr(sarif, "MAX_RESULTS", 10)
    doc = sarif.to_sarif(Report([ModelResult("m.tflite", "tflite", findings=findings)],
                                "tflite-int8"))
    run = doc["runs"][0]
    assert len(run["results"]) == 10
    assert run["properties"]["resultsLeftOut"] == 20
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert "20 of 30 results were left out" in notes[-1]["message"]["text"]


def test_100k_layer_sequential_is_linted(tmp_path: Path) -> None:
    import zipfile

    import qlint

    layers = [{"class_name": "InputLayer",
               "config": {"batch_shape": [None, 8], "dtype": "float32", "name": "in"}}]
    layers += [{"module": "keras.layers", "class_name": "Dense",
                "config": {"name": f"d{i}", "units": 8, "activation": "relu"}}
               for i in range(100_000)]
    config = {"class_name": "Sequential", "config": {"name": "seq", "layers": layers}}
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps(config))
    [model] = qlint.lint([str(path)], config=None).models
    assert model.error is None


def _h5_with_config(path: Path, config: str) -> Path:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = config
    return path


def test_h5_limits_are_judged_before_any_timer(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The item limit decides inside the reader, before parsing; the reader's clock is
    CPU time, so a loaded machine cannot turn the verdict into a timeout."""
    from qlint.errors import ModelLoadError
    from qlint.loaders import keras

    path = _h5_with_config(tmp_path / "many.h5", "[" + "0," * 300 + "0]")
    monkeypatch.setattr(keras, "MAX_JSON_ITEMS", 100)
    with pytest.raises(ModelLoadError, match=r"model_config has 301 items .*limit 100"):
        keras.load_keras(str(path))
    monkeypatch.setattr(keras, "MAX_CONFIG_BYTES", 64)
    with pytest.raises(ModelLoadError, match="model_config is larger than 64 bytes"):
        keras.load_keras(str(path))


def test_fixture_trees_are_compared_by_content_mode_and_mtime(tmp_path: Path) -> None:
    """The session fixture's snapshot notices a rewrite with identical bytes."""
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    before = tree_state(tmp_path)
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert tree_state(tmp_path) != before



# -- the fuzzer's attacks and detectors -------------------------------------------------

def test_fuzz_detectors_fire_on_what_they_look_for() -> None:
    from tools.fuzz.attacks import CANARY, judge

    snap = {"models/m.tflite": (0o100644, 10, 1, "")}
    assert judge("text", 1, "ok\n", "", {}, snap, snap) == (None, "")
    assert judge("text", 1, "a\x1b[2Jb", "", {}, snap, snap)[0] == "escape"
    assert judge("text", 1, "x\n::error::PWNED\n", "", {}, snap, snap)[0] == "escape"
    assert judge("github", 1, "::error file=m,line=1::x\n", "", {}, snap, snap) == (None, "")
    assert judge("github", 1, "::error::PWNED\n", "", {}, snap, snap) == (None, "")
    assert judge("json", 2, "", f"qlint: error: m: {CANARY}\n", {}, snap, snap)[0] == "leak"
    assert judge("json", 1, "", "", {"report": "\u202e"}, snap, snap)[0] == "escape"
    touched = {"models/m.tflite": (0o100644, 10, 2, "")}
    assert judge("text", 1, "", "", {}, snap, touched)[0] == "written"
    assert judge("text", 1, "", "", {}, snap, {**snap, "out/report": (0, 1, 1, "")}) == \
        (None, "")


@pytest.mark.parametrize("fmt", ["tflite", "savedmodel", "keras", "h5"])
def test_fuzz_attacks_are_linted_without_a_problem(tmp_path: Path, fmt: str) -> None:
    import random

    from tools.fuzz import FORMATS, Case, CaseFactory
    from tools.fuzz.attacks import attack_mutators, run_case

    if fmt not in FORMATS:
        pytest.skip(f"{fmt} cannot be fuzzed here (h5py missing)")
    factory = CaseFactory(fmt, 0)
    seeds = factory.seeds
    rng = random.Random(7)
    for i, (name, mutate, _) in enumerate(attack_mutators(fmt)):
        for j in range(4):
            s = (i + j) % len(seeds)
            out = mutate(rng, seeds[s][1], factory.fields[s], [])
            case = Case(j, seeds[s][0], name, out[1], out[0], out[2] if len(out) > 2 else "")
            k = 4 * i + j  # every output format, with and without -o and planted links
            _, _, problem, detail = run_case(  # no time limit: tests never judge timings
                lambda d, case=case, k=k: FORMATS[fmt].materialize(case, d, f"c{k}"),
                k, str(tmp_path), 1e6)
            assert problem is None, (name, case.description, problem, detail)


def test_model_explorer_directory_with_only_unreadable_models(tmp_path: Path) -> None:
    """Fuzz-found (tflite seed 20260523 case 29): no readable model left the overlay
    writer with nothing to name, and it raised instead of writing nothing."""
    (tmp_path / "bad.tflite").write_bytes(b"not a model")
    (tmp_path / "out").mkdir()
    res = run_qlint("--format", "model-explorer", "-o", "out", "bad.tflite", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.splitlines()) == 1
    assert os.listdir(tmp_path / "out") == []
