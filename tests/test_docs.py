"""Generated rule docs: present, complete and up to date with the rules and records."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

gen_docs = pytest.importorskip("tools.gen_docs")

from qlint.registry import discover_rules  # noqa: E402

SECTIONS = ("## What it flags", "## Why it matters", "## Example", "## Fix", "## Dead ends",
            "## Known messages")


@pytest.fixture(scope="module")
def pages() -> dict:
    return gen_docs.generate()


def test_generated_docs_are_not_stale(pages: dict) -> None:
    stale = [str(p.relative_to(REPO)) for p in gen_docs.stale(pages)]
    assert not stale, f"run python -m tools.gen_docs (stale: {', '.join(stale)})"


@pytest.mark.parametrize("rule", discover_rules(), ids=lambda r: r.id)
def test_every_rule_has_a_complete_page(pages: dict, rule: type) -> None:
    text = pages[REPO / "docs" / "rules" / f"{rule.id}.md"]
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions), rule.id
    assert rule.record in text
    assert f"{rule.id} [" in text or "Signature:" in text
    index = pages[REPO / "docs" / "index.md"]
    assert f"[{rule.id}](rules/{rule.id}.md)" in index


def test_readme_lists_every_rule_as_registered() -> None:
    """The README's rule table names each rule with its registered name and severity."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]]
            for line in readme.splitlines() if line.startswith("| QL")}
    expected = {r.id: [r.name, r.severity.value] for r in discover_rules()}
    assert rows == expected


def test_examples_are_real_findings(pages: dict) -> None:
    examples = gen_docs.example_findings(discover_rules())
    assert "QL103" in examples and "QL104" in examples
    for rule_id, line in examples.items():
        assert f": {rule_id} [" in line
        assert (REPO / line.split(":", 1)[0].split()[-1]).is_file(), line


def test_check_mode_reports_stale_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen_docs, "RULES_DIR", tmp_path / "rules")
    monkeypatch.setattr(gen_docs, "DOCS", tmp_path)
    assert gen_docs.main(["--check"]) == 1
    assert gen_docs.main([]) == 0
    assert gen_docs.main(["--check"]) == 0
