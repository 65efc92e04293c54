"""Targets: what ``--target`` names, as objects the rules receive through `Context`.

A `Target` is a runtime and a quantization mode, backed by a probed capability table
(`qlint.predict.tables`; the newest shipped file of its runtime), with a description
and the table's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass

from qlint.errors import UsageError
from qlint.predict.tables import CapabilityTable, Provenance, latest_file, newest_table

DEFAULT_TARGET = "tflite-int8"


@dataclass(frozen=True)
class Target:
    """A ``--target`` profile: a runtime, a quantization mode and a description; its
    capability table and the table's provenance are read on first use."""

    name: str
    runtime: str
    mode: str
    description: str

    @property
    def source_file(self) -> str:
        """The capability table file this target reads."""
        return latest_file(self.runtime)

    def table(self) -> CapabilityTable:
        """The op capability table of this target."""
        return newest_table(self.runtime, self.mode)

    @property
    def provenance(self) -> Provenance:
        """Where the table came from: file, runtime, versions, probe date and command."""
        return self.table().provenance


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "tflite-int8",
            "tflite",
            "int8",
            "TensorFlow Lite / LiteRT builtins, full-integer int8 (TFLITE_BUILTINS_INT8)",
        ),
        Target(
            "tflite-int16x8",
            "tflite",
            "int16x8",
            "TensorFlow Lite / LiteRT builtins, int16 activations with int8 weights",
        ),
        Target(
            "tflm-int8",
            "tflm",
            "int8",
            "TensorFlow Lite for Microcontrollers, full-integer int8",
        ),
    )
}
ALIASES = {"tflite": "tflite-int8", "tflm": "tflm-int8"}


def default_target() -> Target:
    """The target used when none is named (`DEFAULT_TARGET`)."""
    return TARGETS[DEFAULT_TARGET]


def get_target(name: str | None) -> Target:
    """The target called ``name`` (``None`` means the default); `UsageError` if unknown."""
    key = (name or DEFAULT_TARGET).strip().lower()
    key = ALIASES.get(key, key)
    try:
        return TARGETS[key]
    except KeyError:
        known = ", ".join(TARGETS)
        raise UsageError(f"unknown target {name!r} (known targets: {known})") from None


def list_targets() -> list[Target]:
    """Every target, in the order ``qlint targets`` lists them."""
    return list(TARGETS.values())
