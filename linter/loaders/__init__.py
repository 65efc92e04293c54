"""Loaders turn a model file into the `ModelGraph` IR, one module per format."""

from __future__ import annotations

from collections.abc import Callable

from qlint.graph import ModelGraph


def loader_for(fmt: str) -> Callable[[str], ModelGraph]:
    """The load function of a format, imported only when a model of that format is linted."""
    if fmt == "tflite":
        from qlint.loaders.tflite import load_tflite

        return load_tflite
    raise KeyError(fmt)


FORMATS = ("tflite",)
