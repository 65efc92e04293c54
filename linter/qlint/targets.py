"""Targets: what ``--target`` names, as objects the rules receive through `Context`.

A `Target` is a runtime and a quantization mode, backed by a probed capability table
(`qlint.predict.tables`; the newest shipped file of its runtime), with a description
and the table's provenance; an NPU target also has a Vela placement table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qlint.errors import UsageError
from qlint.predict.tables import CapabilityTable, Provenance, latest_file, newest_table

if TYPE_CHECKING:
    from qlint.graph import ModelGraph, NodeId
    from qlint.placement import OpPlacement, PlacementTable

DEFAULT_TARGET = "tflite-int8"


@dataclass(frozen=True)
class Target:
    """A ``--target`` profile: a runtime, a quantization mode and a description.

    An NPU target (``npu`` set to a Vela accelerator config) runs what Vela places on
    the NPU there and everything else on the CPU with the ``runtime``'s integer kernels.
    """

    name: str
    runtime: str
    mode: str
    description: str
    npu: str | None = None

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

    def placement_table(self) -> PlacementTable | None:
        """The Vela placement table of an NPU target, ``None`` for CPU targets."""
        if self.npu is None:
            return None
        from qlint.placement import load_placement_table

        return load_placement_table()

    def refusal(self, graph: ModelGraph, op: NodeId) -> OpPlacement | None:
        """What this target's compiler does with ``op`` when it refuses the model.

        For an NPU target, the op's predicted placement when the placement table
        (probed with the real Vela) says ``refused``, with Vela's message; ``None``
        otherwise and for CPU targets.  Rules whose severity depends on what the target
        does (QL3xx) read it here rather than naming targets themselves.
        """
        if self.npu is None:
            return None
        from qlint.placement import REFUSED, placements

        placed = placements(graph, self.npu).get(op)
        return placed if placed is not None and placed.placement == REFUSED else None

    def info(self) -> TargetInfo:
        """Name, description, source file and provenance of this target."""
        prov = self.provenance
        source, text = prov.file, prov.describe()
        versions = dict(prov.versions)
        placement = self.placement_table()
        if placement is not None:
            vp = placement.provenance
            source = f"{vp.file} + {prov.file}"
            text = (f"NPU placement (config {self.npu}): {vp.describe()}; "
                    f"CPU kernels ({prov.file}): {text}")
            versions = {**versions, **dict(vp.versions)}
        return TargetInfo(
            name=self.name,
            description=self.description,
            runtime=self.runtime,
            mode=self.mode,
            source=source,
            provenance=text,
            versions=versions,
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


#: Vela accelerator configs offered as Ethos-U targets (probed in ``vela-*.json``).
ETHOS_U_CONFIGS = ("ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u85-256")
_CPU_TARGETS = (
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
_NPU_TARGETS = tuple(
    Target(
        config,
        "tflm",
        "int8",
        f"Arm Ethos-U NPU ({config}, Vela default system config): ops placed on the NPU as "
        "the real Vela compiler placed them, the rest on TFLite Micro int8 kernels",
        npu=config,
    )
    for config in ETHOS_U_CONFIGS
)
TARGETS: dict[str, Target] = {t.name: t for t in (*_CPU_TARGETS, *_NPU_TARGETS)}
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
