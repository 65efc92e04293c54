"""A third-party rule package, installed with pip, is found and run like the built-ins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import fixture_model, run_qlint
from graph_builders import chain

from qlint.registry import Context, Rule

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


# -- broken plugins -------------------------------------------------------------------

def _dist(site: Path, dirname: str, entry_points: str) -> None:
    """A metadata directory ``site/dirname`` with that ``entry_points.txt``."""
    d = site / dirname
    d.mkdir(parents=True)
    (d / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dirname.split('-')[0]}\n"
                                "Version: 1.0\n")
    (d / "entry_points.txt").write_text(entry_points)


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


# -- the examples of docs/plugins.md -----------------------------------------------------

def _doc_rules() -> dict[str, type]:
    """The rule classes defined by the Python examples of docs/plugins.md."""
    from conftest import REPO

    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) == 2
    rules: dict[str, type] = {}
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, "docs/plugins.md", "exec"), namespace)
        rules.update((v.id, v) for v in namespace.values()
                     if isinstance(v, type) and issubclass(v, Rule) and v is not Rule)
    return rules


def test_plugin_doc_examples_run() -> None:
    rules = _doc_rules()
    assert sorted(rules) == ["ACME101", "ACME102"]
    ctx = Context()
    resize = chain([("CONV_2D", "int8"), ("RESIZE_BILINEAR", "int8")])
    (f,) = rules["ACME101"]().check(resize, ctx)
    assert f.rule == "ACME101" and f.node["op_type"] == "RESIZE_BILINEAR"
    assert list(rules["ACME101"]().check(chain([("ADD", "int8")]), ctx)) == []

    deep = chain([("ADD", "int8")] * 65)
    (f,) = rules["ACME102"]().check(deep, ctx)
    assert f.message == "65 ops depend on each other in turn"
    assert f.node["index"] == 64 and f.related[0]["index"] == 0
    assert list(rules["ACME102"]().check(chain([("ADD", "int8")] * 64), ctx)) == []
