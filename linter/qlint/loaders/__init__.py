"""Loaders turn a model file into the `ModelGraph` IR, one module per format.

`FORMATS` is the one registry of model formats: what a file or directory of each format
looks like (used by `qlint.discover`) and which function loads it (imported only when
a model of that format is linted).  A new format is a new loader module and one entry
here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from qlint.graph import ModelGraph


@dataclass(frozen=True)
class Format:
    """One model format: how discovery recognizes it and where its loader is."""

    name: str
    loader: str  # "module:function", the function taking a path and returning a ModelGraph
    suffixes: tuple[str, ...] = ()  # lower-case file suffixes of a model file
    directory_files: tuple[str, ...] = ()  # a directory holding one of these is one model

    def load(self) -> Callable[[str], ModelGraph]:
        """The load function, imported on first use."""
        module, _, function = self.loader.partition(":")
        return getattr(import_module(module), function)  # type: ignore[no-any-return]


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("tflite", "qlint.loaders.tflite:load_tflite", suffixes=(".tflite",)),
    Format("savedmodel", "qlint.loaders.savedmodel:load_savedmodel",
           directory_files=("saved_model.pb", "saved_model.pbtxt")),
    Format("keras", "qlint.loaders.keras:load_keras", suffixes=(".keras", ".h5", ".hdf5")),
)}
# File suffix -> format name.
SUFFIXES: dict[str, str] = {s: f.name for f in FORMATS.values() for s in f.suffixes}


def loader_for(fmt: str) -> Callable[[str], ModelGraph]:
    """The load function of format ``fmt`` (`KeyError` for an unknown format)."""
    return FORMATS[fmt].load()
