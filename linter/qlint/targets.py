"""Targets: what ``--target`` names, as objects the rules receive through `Context`.

A `Target` is a runtime and a quantization mode, backed by a probed capability table
(`qlint.predict.tables`; the newest shipped file of its runtime), with a description
and the table's provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        return self.table().provenance

    def info(self) -> TargetInfo:
        """Name, description, source file and provenance of this target."""
        prov = self.provenance
        return TargetInfo(
            name=self.name,
            description=self.description,
            runtime=self.runtime,
            mode=self.mode,
            source=prov.file,
            provenance=prov.describe(),
            versions=dict(prov.versions),
            probed_on=prov.probed_on,
            command=prov.command,
        )


@dataclass(frozen=True)
class TargetInfo:
    """What ``qlint targets`` shows about one target."""

    name: str
    description: str
    runtime: str
    mode: str
    source: str
    provenance: str
    versions: dict[str, str]
    probed_on: str
    command: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "description": self.description,
            "runtime": self.runtime,
            "mode": self.mode,
            "source": self.source,
            "provenance": self.provenance,
            "versions": dict(self.versions),
            "probed_on": self.probed_on,
            "command": self.command,
        }


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


def list_targets() -> list[TargetInfo]:
    """Every target with its description, source file and provenance."""
    return [t.info() for t in TARGETS.values()]
