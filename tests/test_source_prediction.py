"""qlint's prediction from SavedModel and .keras files vs the real strict int8 converter.

A session fixture builds every case of ``fixtures/build_source.py`` once (one TensorFlow
subprocess; cached in ``$QLINT_SOURCE_CACHE`` when set, else a session tmp dir) and
records what ``TFLiteConverter`` did under ``TFLITE_BUILTINS_INT8``.  qlint then predicts
from the files, without TensorFlow.  Items compared per model and file kind:

* a converter error: the item ``error`` (predicted by QL111 or QL211);
* a model that converts: one item per TFLite op computing in float (predicted by QL110);
  float predictions on a model that fails to convert are not counted (the error hides them).

Keras files whose layers are opaque to qlint (Lambda) are left out of the Keras score:
qlint says it cannot see them (QL112) instead of guessing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

from qlint.loaders.keras import load_keras
from qlint.loaders.savedmodel import load_savedmodel
from qlint.predict.source import predict
from qlint.predict.tables import CONVERSION_ERROR, FLOAT_FALLBACK, RUNTIME_ERROR
from qlint.registry import Context
from qlint_rules.source_dtypes import Float16Policy

pytestmark = pytest.mark.tensorflow
GOAL = 0.98
# Precision and recall must both reach GOAL on every file kind.  Recurrent layers are
# probed through model.export() + from_saved_model (the frozen concrete function crashes
# the converter), GroupNormalization's exported pattern is larger than LayerNormalization's,
# and CONCATENATION fed by an int->float Cast has its own probed entry (Cast+ConcatV2).
RECALL_FLOOR = {"savedmodel": GOAL, "keras": GOAL}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("QLINT_SOURCE_CACHE") or tmp_path_factory.mktemp("source"))
    subprocess.run([sys.executable, str(REPO / "fixtures" / "build_source.py"), str(out)],
                   check=True, cwd=REPO, capture_output=True, timeout=1500)
    return out


def predicted(graph: Any) -> tuple[bool, set[str]]:
    """(a conversion error predicted, the builtins predicted float). A builtin the probe
    saw stay float in only some of its conversions (``float_runs``, a SPLIT_V with an
    empty part) is left out, and scored neither way: one conversion of the model cannot
    confirm or refute a "may"."""
    preds = predict(graph)
    error = any(p.outcome == CONVERSION_ERROR for p in preds) or any(
        True for _ in Float16Policy().check(graph, Context()))
    floats = {o for p in preds if _float(p) and not _may(p) for o in p.tflite_ops}
    return error, floats


def _float(p: Any) -> bool:
    """A float prediction, or one whose probe kept ops float and then failed to run (a
    batched non_max_suppression_padded: QL110 names its float ops all the same)."""
    return p.outcome == FLOAT_FALLBACK or (p.outcome == RUNTIME_ERROR and bool(p.cap.float_ops))


def _may(p: Any) -> bool:
    runs = p.cap.float_runs
    return runs is not None and runs[0] < runs[1]


def uncertain(graph: Any) -> set[str]:
    """The builtins predicted float in only some probed conversions."""
    return {o for p in predict(graph) if p.outcome == FLOAT_FALLBACK and _may(p)
            for o in p.tflite_ops}


def score(items: list[tuple[str, bool, set[str], dict[str, Any]]]) -> dict[str, Any]:
    tp = fp = fn = 0
    misses: list[str] = []
    for case, error, floats, truth in items:
        if "error" in truth:
            if error:
                tp += 1
            else:
                fn += 1
                misses.append(f"{case}: missed error")
            continue
        if error:
            fp += 1
            misses.append(f"{case}: predicted error")
        real = set(truth.get("float_ops", [])) - truth.get("uncertain", set())
        tp += len(floats & real)
        fp += len(floats - real)
        fn += len(real - floats)
        if floats != real:
            misses.append(f"{case}: predicted {sorted(floats)}, real {sorted(real)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"models": len(items), "tp": tp, "fp": fp, "fn": fn, "precision": precision,
            "recall": recall, "misses": misses}


def _cases(built: Path) -> dict[str, dict[str, Any]]:
    return json.loads((built / "index.json").read_text())


def test_savedmodel_prediction_matches_converter(built: Path) -> None:
    items = []
    for case, truth in _cases(built).items():
        if "build_error" in truth:
            continue
        graph = load_savedmodel(str(built / case / "saved_model"))
        error, floats = predicted(graph)
        items.append((case, error, floats, {**truth, "uncertain": uncertain(graph)}))
    s = score(items)
    (built / "score_savedmodel.json").write_text(json.dumps(s, indent=1))
    print(f"\nSavedModel: {s['models']} models, precision {s['precision']:.3f}, "
          f"recall {s['recall']:.3f} (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    assert s["precision"] >= GOAL and s["recall"] >= RECALL_FLOOR["savedmodel"], s["misses"]


def test_keras_prediction_matches_converter(built: Path) -> None:
    items, opaque = [], []
    for case, truth in _cases(built).items():
        path = built / case / "model.keras"
        if "build_error" in truth or not path.is_file():
            continue
        graph = load_keras(str(path))
        if any(graph[op]["attrs"].get("opaque") for op in graph.ops()):
            opaque.append(case)
            continue
        error, floats = predicted(graph)
        items.append((case, error, floats, {**truth, "uncertain": uncertain(graph)}))
    s = score(items)
    s["opaque"] = opaque
    (built / "score_keras.json").write_text(json.dumps(s, indent=1))
    print(f"\n.keras: {s['models']} models ({len(opaque)} opaque, not scored), precision "
          f"{s['precision']:.3f}, recall {s['recall']:.3f} (tp {s['tp']}, fp {s['fp']}, "
          f"fn {s['fn']})")
    assert s["precision"] >= GOAL and s["recall"] >= RECALL_FLOOR["keras"], s["misses"]


def test_architectures_were_built(built: Path) -> None:
    cases = _cases(built)
    apps = [c for c in cases if c.startswith("app_")]
    assert len(apps) >= 4
    assert all("build_error" not in cases[c] for c in apps), {c: cases[c] for c in apps}
