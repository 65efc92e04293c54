"""The repository layout every reader and tool can follow.

Every ``qlint`` / ``qlint_rules`` import names a real file at its dotted path (no build-time
folder renaming), modules stay small, and mypy resolves every module of both packages.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
ROOTS = {"qlint": REPO / "linter", "qlint_rules": REPO / "rules"}
PACKAGES = [REPO / "linter" / "qlint", REPO / "rules" / "qlint_rules"]
SOURCE_DIRS = ["linter", "rules", "tools", "tests", "fixtures", "benchmarks"]


def _python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (REPO / d).rglob("*.py")
                  if "data" not in p.relative_to(REPO).parts[1:2])


def _module_file(dotted: str) -> Path | None:
    """The file that ``dotted`` names under its package root, or None."""
    top = dotted.split(".")[0]
    base = ROOTS[top].joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute qlint/qlint_rules import in ``path``; a
    ``from pkg import name`` counts ``pkg.name`` when that is a module, else ``pkg``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return [(line, m) for line, m in found if m.split(".")[0] in ROOTS]


def test_every_qlint_import_is_a_file_at_its_dotted_path() -> None:
    unresolved = [f"{p.relative_to(REPO)}:{line}: {module}"
                  for p in _python_files() for line, module in _imports(p)
                  if _module_file(module) is None]
    assert not unresolved, "imports with no file at their dotted path:\n" + "\n".join(unresolved)


def test_packages_are_found_in_real_folders_without_renaming() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert "package-dir" not in setuptools
    assert setuptools["packages"]["find"]["where"] == ["linter", "rules"]
    for package in PACKAGES:
        assert (package / "__init__.py").is_file()
    # Every entry point names a module that exists at its dotted path.
    for spec in config["project"]["entry-points"]["qlint.rules"].values():
        assert _module_file(spec.split(":")[0]) is not None, spec


@pytest.mark.parametrize(("folder", "limit"), [("linter/qlint", 750),
                                               ("rules/qlint_rules", 750), ("tools", 800)])
def test_modules_stay_small(folder: str, limit: int) -> None:
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines())
             for p in (REPO / folder).rglob("*.py")}
    big = {str(p.relative_to(REPO)): n for p, n in sizes.items() if n > limit}
    assert not big, f"modules over {limit} lines: {big}"


def test_mypy_resolves_and_checks_every_module() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "-p", "qlint", "-p", "qlint_rules"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [line for line in res.stdout.splitlines() if ": error:" in line]
    unresolved = [line for line in lines if "import-not-found" in line or
                  "Cannot find implementation" in line]
    assert not unresolved, "\n".join(unresolved)
    assert res.returncode == 0, res.stdout[-4000:]
