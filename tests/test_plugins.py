"""A third-party rule package, installed with pip, is found and run like the built-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_model, run_qlint

from qlint.registry import ENTRY_POINT_GROUP, _scan_entry_points, _Unusual, entry_points

PLUGIN_RULE = '''
"""A tiny example plugin rule."""

from qlint.finding import Severity
from qlint.registry import Rule


class CountOps(Rule):
    """Flags every model with more than three ops (an example plugin).

    What it flags: models with more than three ops.  Why it matters: it shows
    how plugins work.  How to fix it: nothing to fix; it is an example.
    """

    id = "XMPL001"
    name = "too-many-ops"
    record = "tensorflow/tflite-int8-silent-float-fallback"
    severity = Severity.WARNING
    summary = "model has more than three ops"
    fix = "Nothing; this is an example plugin."

    def check(self, graph, ctx):
        ops = list(graph.ops())
        if len(ops) > 3:
            yield self.finding(graph, ops[0], f"model has {len(ops)} ops")
'''


def test_installed_plugin_rule_runs(tmp_path: Path) -> None:
    pkg = tmp_path / "src"
    (pkg / "qlint_example").mkdir(parents=True)
    (pkg / "qlint_example" / "__init__.py").write_text(PLUGIN_RULE)
    (pkg / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "qlint-example"
        version = "0.0.1"

        [project.entry-points."qlint.rules"]
        too-many-ops = "qlint_example:CountOps"

        [tool.setuptools]
        packages = ["qlint_example"]
    '''))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(site), str(pkg)],
                   check=True, capture_output=True, timeout=300)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = run_qlint("rules", env=env)
    assert "XMPL001" in listed.stdout and "too-many-ops" in listed.stdout
    res = run_qlint("--select", "XMPL", "--fail-on", "warning", str(fixture_model("int8_cnn")),
                    env=env)
    assert res.returncode == 1
    assert "XMPL001 [warning] model has" in res.stdout
    # Without the plugin on the path the rule does not exist.
    assert "XMPL001" not in run_qlint("rules").stdout


# -- entry-point discovery without importlib.metadata ------------------------------------

def _dist(site: Path, dirname: str, entry_points: str | None) -> None:
    """A metadata directory ``site/dirname`` with that ``entry_points.txt`` (None: none)."""
    d = site / dirname
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dirname.split('-')[0]}\n"
                                "Version: 1.0\n")
    if entry_points is not None:
        (d / "entry_points.txt").write_text(entry_points)


def _triples(eps: Any) -> list[tuple[str, str, str]]:
    return [(ep.group, ep.name, ep.value) for ep in eps]


def _metadata_entry_points(group: str) -> list[tuple[str, str, str]]:
    import importlib.metadata

    importlib.invalidate_caches()
    return _triples(importlib.metadata.entry_points(group=group))


def test_scan_matches_importlib_metadata_on_this_environment() -> None:
    import importlib.metadata

    groups = {ep.group for d in importlib.metadata.distributions() for ep in d.entry_points}
    assert ENTRY_POINT_GROUP in groups and "console_scripts" in groups
    for group in sorted(groups):
        assert _triples(_scan_entry_points(group, list(sys.path))) == \
            _metadata_entry_points(group), group


def test_scan_matches_importlib_metadata_on_tricky_layouts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    # the first distribution of a name wins, even when it declares no entry points
    _dist(first, "Shadow_Pkg-2.0.dist-info", None)
    _dist(second, "shadow.pkg-1.0.dist-info", "[qlint.rules]\nhidden = shadow:Hidden\n")
    # comments, blank lines, spacing, other groups, a value with extras, '=' in a value
    _dist(first, "alpha-1.0.dist-info",
          "# comment\n\n[console_scripts]\nalpha = alpha.cli:main\n"
          "[qlint.rules]\n  one   =  alpha.rules:One  \n; not a comment = x\n"
          "two=alpha.rules:Two [extra]\n[ qlint.rules ]\nthree = alpha:Three\n"
          "[qlint.rules]\nfour = alpha:Four=5\n")
    _dist(second, "alpha-0.9.dist-info", "[qlint.rules]\nold = alpha_old:Old\n")
    _dist(second, "beta.egg-info", "[qlint.rules]\r\nbeta = beta:Beta\r\n")
    (second / "gamma.egg-info").write_text("Metadata-Version: 1.0\nName: gamma\n")  # a file
    _dist(second, "delta-1.0.dist-info", "[qlint.rules]\ndelta = delta:Delta\n")
    (second / "delta-1.0.dist-info" / "entry_points.txt").chmod(0o000)
    path = [str(first), str(tmp_path / "missing"), str(second), "", *sys.path]
    monkeypatch.setattr(sys, "path", path)
    monkeypatch.chdir(tmp_path)
    scanned = _triples(_scan_entry_points(ENTRY_POINT_GROUP, path))
    assert ("qlint.rules", "one", "alpha.rules:One") in scanned
    assert ("qlint.rules", "two", "alpha.rules:Two [extra]") in scanned
    assert ("qlint.rules", "four", "alpha:Four=5") in scanned
    assert ("qlint.rules", "beta", "beta:Beta") in scanned
    assert not {"hidden", "old", "three"} & {name for _, name, _ in scanned}
    assert scanned == _metadata_entry_points(ENTRY_POINT_GROUP)
    assert _triples(entry_points("console_scripts")) == _metadata_entry_points("console_scripts")


@pytest.mark.parametrize("layout", ["malformed-line", "upper-case-suffix", "zip-on-path",
                                    "egg-directory"])
def test_scan_leaves_unusual_layouts_to_importlib_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    entry = str(site)
    if layout == "malformed-line":
        _dist(site, "odd-1.0.dist-info", "[other.group]\nno equals sign here\n")
    elif layout == "upper-case-suffix":
        _dist(site, "Odd-1.0.DIST-INFO", "[qlint.rules]\nodd = odd:Odd\n")
    elif layout == "zip-on-path":
        import zipfile

        entry = str(tmp_path / "plugins.zip")
        with zipfile.ZipFile(entry, "w") as zf:
            zf.writestr("odd-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: odd\n")
            zf.writestr("odd-1.0.dist-info/entry_points.txt", "[qlint.rules]\nodd = odd:Odd\n")
    else:
        entry = str(tmp_path / "odd-1.0-py3.egg")
        info = tmp_path / "odd-1.0-py3.egg" / "EGG-INFO"
        info.mkdir(parents=True)
        (info / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: odd\n")
        (info / "entry_points.txt").write_text("[qlint.rules]\nodd = odd:Odd\n")
    with pytest.raises(_Unusual):
        _scan_entry_points(ENTRY_POINT_GROUP, [entry, *sys.path])
    monkeypatch.setattr(sys, "path", [entry, *sys.path])
    if layout == "malformed-line":  # importlib.metadata itself cannot parse that file
        with pytest.raises((TypeError, ValueError)):
            entry_points(ENTRY_POINT_GROUP)
    else:
        assert _triples(entry_points(ENTRY_POINT_GROUP)) == \
            _metadata_entry_points(ENTRY_POINT_GROUP)


BROKEN_PLUGINS = {
    "missing-module": ("qlint_missing_xyz:Rule",
                       "cannot load rule plugin 'bad' (qlint_missing_xyz:Rule): "
                       "No module named 'qlint_missing_xyz'"),
    "not-a-rule": ("os.path:join", "entry point bad = os.path:join is not a qlint Rule "
                   "subclass"),
    "duplicate-id": ("qlint_rules.custom_op:CustomOp",
                     "rule id QL104 is registered twice"),
    "bad-value": ("not a valid value!",
                  "cannot load rule plugin 'bad' (not a valid value!): "),
}


@pytest.mark.parametrize("case", sorted(BROKEN_PLUGINS))
def test_broken_plugin_is_one_error_line(tmp_path: Path, case: str) -> None:
    value, message = BROKEN_PLUGINS[case]
    site = tmp_path / "site"
    _dist(site, "qlint_broken-1.0.dist-info", f"[qlint.rules]\nbad = {value}\n")
    if case == "duplicate-id":  # the same class under a second module name
        (site / "qlint_dup.py").write_text("from qlint_rules.custom_op import CustomOp as C\n"
                                           "class CustomOp(C):\n    '''Copy.'''\n")
        (site / "qlint_broken-1.0.dist-info" / "entry_points.txt").write_text(
            "[qlint.rules]\nbad = qlint_dup:CustomOp\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    res = run_qlint("rules", env=env)
    assert res.returncode == 2
    assert res.stderr.startswith(f"qlint: error: {message}"), res.stderr
    assert res.stderr.count("\n") == 1
