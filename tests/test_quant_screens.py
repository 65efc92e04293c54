"""The QL3xx rules screen tensors and weighted ops in bulk with numpy, then check exactly
what the screen lets through.  A screen must never hold back an item its exact check
flags: with screening off (``ScreenedRule(screen=False)``: the exact check on every tensor
and op) the findings must be the same.

The models are the committed fixtures with their quantization fields mutated (scales,
zero points, min/max, quantized dimension, dtypes, shapes), so every screened rule fires
on many of them.
"""

from __future__ import annotations

import math
import random
import struct
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES

from qlint.api import lint_one
from qlint.discover import ModelSource
from qlint.graph import ModelGraph, Quant
from qlint.quant_columns import quant_columns
from qlint.registry import Context, Rule, discover_rules
from qlint.targets import get_target
from qlint_rules.quant_params import screens
from qlint_rules.quant_params.shared import ScreenedRule
from tools.fuzz import tflite_structure

SCREENED = ("QL301", "QL302", "QL303", "QL304", "QL305", "QL309")
_SPECIAL_SCALES = (0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e-12, 1e-9, 7.8e-9,
                   1e3, 300.0, 1 / 256, 1 / 128, 1e-40)
_QUANT_FIELDS = ("scale", "zero_point", "min", "max", "quantized_dimension", "type", "shape")


def mutated_models(directory: Path, per_seed: int = 12, seed: int = 11) -> list[Path]:
    """``per_seed`` models per fixture, each with one to three quantization fields changed."""
    rng = random.Random(seed)
    seeds = sorted(FIXTURES.glob("*/*.tflite"))
    out = []
    for path in seeds:
        data = path.read_bytes()
        fields = [f for f in tflite_structure(data) if any(w in f.label for w in _QUANT_FIELDS)]
        for k in range(per_seed if fields else 0):
            buf = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 3))):
                f = rng.choice(fields)
                if f.width == 4 and any(w in f.label for w in ("scale", "min", "max")):
                    old = struct.unpack_from("<f", buf, f.pos)[0]
                    value = (rng.choice(_SPECIAL_SCALES) if rng.random() < 0.6
                             else old * rng.choice((0.5, 2.0, 1.0001, 1.5, 1e-6, 1e6)))
                    struct.pack_into("<f", buf, f.pos, value)
                elif f.width == 8:
                    struct.pack_into("<q", buf, f.pos, rng.choice(
                        (0, 1, -1, 5, 127, 128, -128, -129, 255, 256, 200, 40000)))
                elif f.width == 4:
                    struct.pack_into("<i", buf, f.pos, rng.choice((0, 1, 2, 3, 4, 7, 8, -1)))
                elif f.width == 1:
                    buf[f.pos] = rng.choice((0, 1, 2, 3, 6, 7, 9, 10))
            target = directory / f"{path.parent.name}_{path.stem}_{k}.tflite"
            target.write_bytes(bytes(buf))
            out.append(target)
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    directory = tmp_path_factory.mktemp("screens")
    return [str(p) for p in sorted(FIXTURES.glob("*/*.tflite"))] + [
        str(p) for p in mutated_models(directory)]


QL3_RULES = [cls for cls in discover_rules() if cls.id.startswith("QL3")]


def findings(paths: list[str], target: str, screen: bool) -> dict[str, list[dict[str, object]]]:
    rules: list[Rule] = [cls(screen=screen) if issubclass(cls, ScreenedRule) else cls()
                         for cls in QL3_RULES]
    ctx = Context(target=get_target(target))
    return {p: [f.as_dict() for f in lint_one(ModelSource("tflite", p), rules, ctx).findings]
            for p in paths}


def test_the_screened_rules_are_the_screened_ones() -> None:
    assert tuple(cls.id for cls in QL3_RULES if issubclass(cls, ScreenedRule)) == SCREENED


@pytest.mark.parametrize("target", ["tflite-int8", "tflite-int16x8"])
def test_screens_hold_back_nothing_the_exact_checks_flag(
        corpus: list[str], target: str) -> None:
    screened = findings(corpus, target, screen=True)
    exact = findings(corpus, target, screen=False)
    assert screened == exact
    fired = Counter(f["rule"] for fs in exact.values() for f in fs)
    for rule in SCREENED:  # the corpus exercises every screened rule
        assert fired[rule] >= 3, (rule, fired)


def _graph(quants: list[Quant | None], dtypes: list[str]) -> ModelGraph:
    g = ModelGraph("tflite", "m.tflite", "converted")
    ids = [g.add_tensor(0, i, name=f"t{i}", dtype=d, shape=(4,), quant=q)
           for i, (q, d) in enumerate(zip(quants, dtypes, strict=True))]
    g.add_op(0, 0, op_type="ADD", source_op="ADD", name="add", inputs=ids[:-1],
             outputs=ids[-1:])
    return g


def test_quant_columns_summarise_each_tensor() -> None:
    g = _graph([Quant((0.5, 0.25, 2.0), (0, 3, -1), 0), None, Quant((1.0, math.nan), (0, 0)),
                Quant((0.1,), (-128,), 0, (1.0,), (1.0,))],
               ["int8", "float32", "int8", "int8"])
    cols = quant_columns(g)
    assert cols.ids == ["s0/t0", "s0/t1", "s0/t2", "s0/t3"]
    assert cols.n_scale.tolist() == [3, 0, 2, 1]
    assert cols.scale_min[0] == 0.25 and cols.scale_max[0] == 2.0
    assert cols.scales_ok.tolist() == [True, False, False, True]
    assert cols.zp_min[0] == -1 and cols.zp_max[0] == 3
    assert cols.zp_nonzero.tolist() == [True, False, False, True]
    assert cols.minmax_equal.tolist() == [False, False, False, True]
    assert math.isnan(cols.first_scale[1]) and cols.first_scale[3] == pytest.approx(0.1)
    assert cols.dtype_in({"int8"}).tolist() == [True, False, True, True]
    assert cols.has_scale().tolist() == [True, False, True, True]
    assert not cols.exact_only


def test_a_screen_lets_through_its_suspects_only_when_on() -> None:
    g = _graph([Quant((0.5,), (300,)), Quant((0.5,), (0,)), None], ["int8", "int8", "int8"])
    assert screens.tensors(g, screens.zero_points) == ["s0/t0"]
    assert screens.tensors(g, screens.zero_points, on=False) == ["s0/t0", "s0/t1", "s0/t2"]


def test_values_numpy_cannot_hold_make_the_screens_let_everything_through() -> None:
    g = _graph([Quant((0.5,), (10 ** 400,)), Quant((0.5,), (0,))], ["int8", "int8"])
    cols = quant_columns(g)
    assert cols.exact_only
    assert screens.tensors(g, screens.zero_points) == ["s0/t0", "s0/t1"]
