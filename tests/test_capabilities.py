"""The capability loader and the targets: shipped tables, lookups, provenance (no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qlint.errors import UsageError
from qlint.predict.tables import (
    OUTCOMES,
    UNPROBED,
    CapabilityError,
    available_files,
    latest_file,
    load_file,
    load_table,
)
from qlint.targets import DEFAULT_TARGET, TARGETS, get_target, list_targets

CAPS = Path(__file__).resolve().parent.parent / "rules" / "qlint_rules" / "capabilities"
MAX_MESSAGE = 400


def test_shipped_files_are_found_through_the_package() -> None:
    files = available_files()
    assert any(f.startswith("tflite-") for f in files)
    assert any(f.startswith("tflm-") for f in files)
    assert latest_file("tflite") == "tflite-2.21.json"


@pytest.mark.parametrize("path", sorted(p for p in CAPS.glob("*.json")
                                         if not p.name.startswith("vela-")),  # test_target_limits
                         ids=lambda p: p.name)
def test_table_files_are_stamped_and_compact(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["runtime"] in ("tflite", "tflm")
    assert data["versions"] and data["probed_on"] and data["command"].startswith("python -m")
    assert "python" in data["versions"]
    # tf_ops grows with probe coverage (Keras ops; the TF ops the converter refuses by name;
    # context sweeps such as the sibling-slice readers, the loop bodies never run and the
    # readers of variables)
    assert path.stat().st_size < 700_000
    for mode, ops in data["modes"].items():
        for op, entry in ops.items():
            assert entry["outcome"] in OUTCOMES, (mode, op)
            msg = entry.get("message")
            assert msg is None or len(msg) <= MAX_MESSAGE, (mode, op)
            if entry["outcome"] in ("conversion_error", "runtime_error", UNPROBED):
                assert msg, f"{path.name} {mode}/{op}: {entry['outcome']} without its message"
            if entry["outcome"] == "float_fallback":
                assert "float" in entry["io"], (mode, op)


def test_every_schema_builtin_has_an_entry_in_every_mode() -> None:
    data = load_file("tflite-2.21.json").data
    n = data["builtin_codes"]
    assert n >= 200
    for mode in ("int8", "int16x8"):
        assert len(data["modes"][mode]) == n
    tflm = load_file(latest_file("tflm")).data
    assert len(tflm["modes"]["int8"]) == n


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_target_loads_with_provenance(name: str) -> None:
    table = get_target(name).table()
    prov = table.provenance
    assert prov.file == get_target(name).source_file
    assert prov.probed_on and prov.command and prov.versions
    assert table.op("CONV_2D") is not None
    assert table.op("NO_SUCH_OP") is None
    assert sum(table.counts().values()) == len(list(table.ops()))


def test_lookups_return_typed_capabilities() -> None:
    table = get_target("tflite-int8").table()
    conv = table.op("CONV_2D")
    assert conv is not None and conv.integer and conv.probed and conv.mode == "int8"
    assert conv.io == "int8->int8"
    unprobed = [c for c in table.ops() if not c.probed]
    assert unprobed and all(c.message for c in unprobed)
    assert table.op("CUSTOM") is not None and table.op("CUSTOM").outcome == UNPROBED


def test_tf_ops_by_key_and_by_graphdef_name() -> None:
    table = get_target("tflite-int8").table()
    cumsum = table.tf_op("Cumsum")
    assert cumsum is not None and cumsum.lowers_to == ("CUMSUM",)
    assert cumsum.graphdef_ops == ("Cumsum",)
    erf = table.tf_op("Erf")
    assert erf is not None and erf.outcome == "conversion_error"
    assert erf.message and "Erf" in erf.message
    gelu = table.keras_layer("Activation")
    assert any(t.lowers_to == ("GELU",) for t in gelu)
    assert table.tf_op("NoSuchOp") is None


#: Entries named after a TF op whose probe holds other ops, and why that is the op.
NOT_THE_OP_ITSELF = {
    "ClipByValue": "tf.clip_by_value writes Minimum and Maximum",
    "Sort": "tf.sort is TopKV2 (with a Neg when descending); there is no Sort op",
    "HashTableV2": "the table a lookup reads: its probe holds the lookup",
    "LookupTableImportV2": "the initializer of the table a lookup reads",
}


def test_an_entry_named_after_a_tf_op_probed_that_op() -> None:
    """An entry keyed by a TF op name describes a probe whose graph held that op (the
    OnesLike and Add entries once had probes where tf.ones_like was folded and tf.math.add
    wrote AddV2)."""
    data = json.loads((CAPS / "tflite-2.21.json").read_text(encoding="utf-8"))
    missing = sorted(
        key for key, e in data["tf_ops"].items()
        if e.get("graphdef_ops") is not None and not e.get("keras") and "+" not in key
        and "(" not in key and not key.startswith(("tf.", "tf_keras.", "keras.", "implements:"))
        and key not in e["graphdef_ops"] and key not in NOT_THE_OP_ITSELF)
    assert missing == []


def test_target_names_aliases_and_errors() -> None:
    assert get_target(None).name == DEFAULT_TARGET == "tflite-int8"
    assert get_target("tflm").name == "tflm-int8"
    assert get_target("TFLite-Int16x8").mode == "int16x8"
    with pytest.raises(UsageError, match="unknown target 'edgetpu'"):
        get_target("edgetpu")


def test_list_targets_names_source_and_provenance() -> None:
    infos = list_targets()
    assert [t.name for t in infos] == ["tflite-int8", "tflite-int16x8", "tflm-int8",
                                       "ethos-u55-128", "ethos-u55-256", "ethos-u65-256",
                                       "ethos-u85-256"]
    for t in infos:
        assert t.description and t.source.endswith(".json") and t.probed_on in t.provenance
        assert t.as_dict()["source"] == t.source


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(CapabilityError, match="no mode"):
        load_table("tflite-2.21.json", "int4")


def test_loading_never_imports_tensorflow() -> None:
    code = (
        "import sys, qlint.targets as t\n"
        "for n in ('tflite-int8', 'tflite-int16x8', 'tflm-int8'):\n"
        "    t.get_target(n).table().op('CONV_2D')\n"
        "t.get_target('tflite-int8').table().tf_op('Erf')\n"
        "heavy = ('tensorflow', 'keras', 'tflite_micro')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in heavy]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture
def no_shipped_tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shipped tables gone (a broken installation); the caches cleared around it."""
    from qlint.predict import patterns, tables

    caches = (tables.newest_table, patterns.keras_patterns, patterns.tf_op_lowerings)
    for c in caches:
        c.cache_clear()
    monkeypatch.setattr(tables, "available_files", lambda: ())
    yield
    monkeypatch.undo()
    for c in caches:
        c.cache_clear()


def test_a_missing_shipped_table_is_an_error_not_silence(no_shipped_tables: None) -> None:
    from qlint.api import lint
    from qlint.config import Config
    from qlint.predict.patterns import tf_op_lowerings

    with pytest.raises(CapabilityError, match="no capability table for runtime 'tflite'"):
        tf_op_lowerings()
    source = Path(__file__).resolve().parent.parent / "fixtures" / "source" / "Erf" / "saved_model"
    (model,) = lint([str(source)], config=Config(), jobs=1).models
    assert model.error is not None and "CapabilityError" in model.error
    assert "no capability table for runtime 'tflite'" in model.error
