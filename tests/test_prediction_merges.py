"""Ops the converter merges or fuses wherever they sit (no TensorFlow): ops repeating an
earlier op on alike inputs, down the graph (common-subexpression elimination), and a Sub
feeding a Square (one SQUARED_DIFFERENCE) in a block of many Subs."""

from __future__ import annotations

from test_prediction_context import source_graph

from qlint.graph import ModelGraph
from qlint.predict.source import predict


def predicted(g: ModelGraph) -> list[str]:
    return sorted(p.cap.name for p in predict(g))


def test_ops_reading_merged_ops_and_alike_constants_are_merged_too() -> None:
    """Two Tile ops of one tensor by alike constant multiples, each concatenated and
    summed: the converter keeps one CUMSUM, as it keeps one Tile and one concatenation."""
    def graph(alike: bool) -> ModelGraph:
        c = {"dtype": "int32", "shape": (3,), "constant": True}
        tensors: dict[int, dict[str, object]] = {
            0: {"shape": (1, 8, 2)}, 1: {**c, "content": "m"},
            2: {**c, "content": "m" if alike else "n"},
            3: {"shape": (1, 8, 2)}, 4: {"shape": (1, 8, 2)},
            5: {"shape": (1, 16, 2)}, 6: {"shape": (1, 16, 2)},
            7: {"shape": (1, 16, 2)}, 8: {"shape": (1, 16, 2)},
            9: {"dtype": "int32", "shape": (), "constant": True, "content": "axis"}}
        return source_graph([("Tile", [0, 1], [3], "m/Tile"), ("Tile", [0, 2], [4], "m/Tile_1"),
                             ("ConcatV2", [3, 0, 9], [5], "m/concat"),
                             ("ConcatV2", [4, 0, 9], [6], "m/concat_1"),
                             ("Cumsum", [5, 9], [7], "m/Cumsum"),
                             ("Cumsum", [6, 9], [8], "m/Cumsum_1")], tensors, [7, 8])

    assert predicted(graph(alike=True)) == ["Cumsum"]
    assert predicted(graph(alike=False)) == ["Cumsum", "Cumsum"]


def test_sub_feeding_square_is_one_squared_difference_in_a_large_block() -> None:
    steps = [("Sub", [0, 1], [2], "block/sub"), ("Square", [2], [3], "block/Square")]
    steps += [("Sub", [0, 1], [10 + k], f"block/sub_{k + 1}") for k in range(100)]
    tensors: dict[int, dict[str, object]] = {k: {} for k in (0, 1, 2, 3)}
    tensors.update({10 + k: {} for k in range(100)})
    assert "Square" not in predicted(source_graph(steps, tensors, [3]))
    # a Square whose result is later subtracted is no such pattern
    rev = [("Square", [0], [2], "fm/Square"), ("Sub", [2, 1], [3], "fm/sub")]
    assert predicted(source_graph(rev, {0: {}, 1: {}, 2: {}, 3: {}}, [3])) == ["Square"]
