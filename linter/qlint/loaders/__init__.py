"""Loaders turn a model file into the `ModelGraph` IR, one module per format."""

from __future__ import annotations

from collections.abc import Callable

from qlint.graph import ModelGraph


def loader_for(fmt: str) -> Callable[[str], ModelGraph]:
    """The load function of a format, imported only when a model of that format is linted."""
    if fmt == "tflite":
        from qlint.loaders.tflite import load_tflite

        return load_tflite
    if fmt == "savedmodel":
        from qlint.loaders.savedmodel import load_savedmodel

        return load_savedmodel
    if fmt == "keras":
        from qlint.loaders.keras import load_keras

        return load_keras
    raise KeyError(fmt)


FORMATS = ("tflite", "savedmodel", "keras")
