"""Variables read from a SavedModel's checkpoint as data: which hold the same value.

keras-hub's Gemma, built with random weights from one seeded initializer, holds byte-
identical key and value kernels; the converter merges the two projections.  The
checkpoint reader gives them one content, and a damaged checkpoint leaves every variable
without one (the graph still loads)."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from qlint.loaders import _tf_protos
from qlint.loaders.savedmodel import load_savedmodel
from qlint.loaders.savedmodel_variables import variable_contents
from qlint.loaders.tensor_bundle import BundleError, read_index

GEMMA = FIXTURES / "heldout" / "models" / "hub14.gemma" / "saved_model"


def _meta(root: Path) -> object:
    return _tf_protos.parse_saved_model((root / "saved_model.pb").read_bytes()).meta_graphs[0]


def test_identical_kernels_share_one_content() -> None:
    contents = variable_contents(str(GEMMA), _meta(GEMMA))
    layer = "decoder_block_0/attention"
    key, value, query = (contents[f"{layer}/{p}/kernel_1"] for p in ("key", "value", "query"))
    assert key == value and key.startswith("value:")  # byte-identical, compared
    assert query != key
    # a variable no other matches is its own checkpoint key: never read
    assert contents["token_embedding/embeddings_1"].startswith(("variable:", "value:"))
    assert len(set(contents.values())) < len(contents)


def test_reads_of_alike_kernels_carry_the_content_through_folding() -> None:
    """The kernels are read, then reshaped (folded): both MatMuls read tensors alike."""
    g = load_savedmodel(str(GEMMA))
    mm = {g[o]["name"].rsplit("/", 2)[-2]: o for o in g.ops()
          if "decoder_block_0_1/attention_1/" in g[o]["name"]
          and g[o]["name"].endswith(("key_1/MatMul", "value_1/MatMul", "query_1/MatMul"))}
    assert len(mm) == 3
    kernel = {k: g[g.inputs(o)[1]].get("content") for k, o in mm.items()}
    assert kernel["key_1"] is not None and kernel["key_1"] == kernel["value_1"]
    assert kernel["query_1"] != kernel["key_1"]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "saved_model"
    shutil.copytree(GEMMA, root)
    return root


@pytest.mark.parametrize("damage", ["missing", "truncated", "magic", "empty data", "symlink",
                                    "fifo"])
def test_a_damaged_checkpoint_leaves_variables_without_content(tmp_path: Path,
                                                                damage: str) -> None:
    root = _copy(tmp_path)
    index = root / "variables" / "variables.index"
    data = root / "variables" / "variables.data-00000-of-00001"
    if damage == "missing":
        index.unlink()
    elif damage == "truncated":
        index.write_bytes(index.read_bytes()[:-20])
    elif damage == "magic":
        raw = bytearray(index.read_bytes())
        raw[-1] ^= 0xFF
        index.write_bytes(bytes(raw))
    elif damage == "symlink":  # a link out of the model, to a file of the same bytes
        outside = tmp_path / "elsewhere.index"
        outside.write_bytes(index.read_bytes())
        index.unlink()
        index.symlink_to(outside)
    elif damage == "fifo":  # a pipe nobody writes: opening it would wait forever
        data.unlink()
        os.mkfifo(data)
    else:
        data.write_bytes(b"")
    assert variable_contents(str(root), _meta(root)) == {}
    g = load_savedmodel(str(root))  # the graph itself loads as before
    kernels = [g[t] for o in g.ops() if g[o]["source_op"] == "BatchMatMulV2"
               for t in g.inputs(o) if t is not None and g[t].get("constant")]
    assert kernels and all(k.get("content") is None for k in kernels)


def test_a_mutated_index_raises_only_bundle_errors(tmp_path: Path) -> None:
    """Random byte flips, truncations and growths of a real index: the reader returns or
    raises `BundleError`, nothing else (offsets and lengths are checked, not trusted)."""
    raw = (GEMMA / "variables" / "variables.index").read_bytes()
    rng = random.Random(25)
    path = tmp_path / "variables.index"
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        buf = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        if rng.random() < 0.2:
            buf = buf[:rng.randrange(len(buf))]
        path.write_bytes(bytes(buf))
        try:
            read_index(str(path))
            outcomes["read"] += 1
        except BundleError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == 300
