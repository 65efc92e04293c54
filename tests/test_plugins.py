"""A third-party rule package, installed with pip, is found and run like the built-ins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import fixture_model, run_qlint

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
