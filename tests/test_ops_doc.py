"""docs/ops.md is generated from the capability tables and must not be stale."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.probe.ops_doc import DOC, render  # noqa: E402


def test_ops_doc_is_up_to_date() -> None:
    assert DOC.is_file(), "docs/ops.md missing: run python -m tools.probe.ops_doc"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/ops.md is stale: run python -m tools.probe.ops_doc"
    )


def test_ops_doc_covers_every_target_and_builtin() -> None:
    text = render()
    header = next(line for line in text.splitlines() if line.startswith("| op |"))
    assert "tflite-int8" in header and "tflite-int16x8" in header and "tflm-int8" in header
    for op in ("CONV_2D", "CUMSUM", "TOPK_V2", "STABLEHLO_ADD"):
        assert f"\\n| {op} |" in repr(text) or f"| {op} |" in text
    assert "## TF ops and Keras layers" in text
