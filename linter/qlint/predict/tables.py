"""Probed op capability tables: what each op does under int8 on a runtime.

The tables live in ``qlint_rules/capabilities/*.json`` (``rules/qlint_rules/capabilities/``
in the source tree).  They are produced by ``python -m tools.probe`` with the real
converter and interpreter, and stamped with the versions they were probed on.
This module only reads them: no TensorFlow, loaded lazily and cached (`newest_table`
is the one way the rest of qlint reads the newest table of a runtime).  A missing or
malformed shipped table raises `CapabilityError`: it is a defect of the installation,
never silently read as "no data".

Outcomes:

``integer``
    the op runs with int8/int16 activations.
``float_fallback``
    the model converts, but the op runs in float32 between DEQUANTIZE/QUANTIZE.
``conversion_error``
    the converter fails (``message`` holds its text).
``runtime_error``
    the model converts but the interpreter cannot allocate or invoke it.
``unprobed``
    the probe could not build a model for the op; ``message`` says why.  Never a
    guess about support.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from qlint.errors import QlintError

PACKAGE = "qlint_rules"
DIRECTORY = "capabilities"
SCHEMA_VERSION = 1

INTEGER = "integer"
FLOAT_FALLBACK = "float_fallback"
CONVERSION_ERROR = "conversion_error"
RUNTIME_ERROR = "runtime_error"
UNPROBED = "unprobed"
OUTCOMES = (INTEGER, FLOAT_FALLBACK, CONVERSION_ERROR, RUNTIME_ERROR, UNPROBED)
#: Outcomes meaning "this op does not get an integer kernel on the target".
NOT_INTEGER = frozenset({FLOAT_FALLBACK, CONVERSION_ERROR, RUNTIME_ERROR})


class CapabilityError(QlintError):
    """A capability table is missing or malformed."""


@dataclass(frozen=True)
class OpCapability:
    """The probed outcome of one TFLite builtin in one mode of one runtime."""

    op: str
    mode: str
    outcome: str
    probe: str | None = None
    message: str | None = None
    io: str | None = None
    lowers_to: tuple[str, ...] | None = None

    @property
    def integer(self) -> bool:
        """True when the op was observed running on int8/int16 activations."""
        return self.outcome == INTEGER

    @property
    def probed(self) -> bool:
        """False when the probe could not build the op (no claim about support)."""
        return self.outcome != UNPROBED

    @property
    def lacks_integer_kernel(self) -> bool:
        """True for float fallback, conversion error or runtime error."""
        return self.outcome in NOT_INTEGER


@dataclass(frozen=True)
class TfOpCapability:
    """The probed strict-int8 behaviour of a TF op or Keras layer pattern."""

    name: str
    outcome: str
    keras: str | None = None
    probe: str | None = None
    graphdef_ops: tuple[str, ...] | None = None
    lowers_to: tuple[str, ...] | None = None
    message: str | None = None
    float_ops: tuple[str, ...] = ()
    # How many instances of each float op one probed instance of the pattern left in
    # float, when some op stayed float more than once (``tf.math.lgamma``: two NEG);
    # an op absent here stayed float once.
    float_counts: tuple[tuple[str, int], ...] = ()
    # (producer, consumer, dtype) of the probe where both builtins stayed float, the
    # consumer reading the producer's output of that dtype ("*": not recorded): float
    # the converter carried from op to op
    float_edges: tuple[tuple[str, str, str], ...] | None = None
    # (float op, float op, dtype) of the probe reading one tensor of that dtype: float the
    # converter hands a reader beside a float op (a SHAPE of a transposed convolution's
    # input gets the dequantized tensor)
    float_siblings: tuple[tuple[str, str, str], ...] = ()
    # (conversions in which the op stayed float, conversions) for an outcome the
    # converter does not decide the same way every time
    float_runs: tuple[int, int] | None = None
    # A condition under which ``variant_of``'s op behaves as this entry says: a constant
    # operand, ``{"input": 1, "value": 2.0}`` (the op's second input is the constant 2.0),
    # or `qlint.conditions` over the op's facts, ``[{"fact": "ifm_is_model_output",
    # "eq": true}]`` (its first input is also a model output).
    variant_of: str | None = None
    when: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    # ``when`` as it reads on the TFLite builtin the op lowers to, where the probe
    # measured a difference (``used_outputs`` names become ``used_output_slots``).
    when_builtin: Sequence[Mapping[str, Any]] | None = None
    # A pattern's conditions on its member ops, by TF op: ``{"Sum": [{"fact":
    # "reduces_depth", "eq": false}]}`` (an l2_normalize over a middle axis)
    pattern_when: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    # A chain's conditions on an op it carries float to, by builtin: ``{"RESHAPE":
    # [{"fact": "next_compute_op", "in": ["PACK", "CONCATENATION"]}]}`` (a RESHAPE of a
    # float NEG stays float when its result is stacked, not when it is the model output)
    carry_when: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    # ``carry_when`` as it reads on a .tflite file's builtins, where it names a SavedModel
    # op's outputs (``used_outputs`` names become the ``used_output_slots`` the probe saw)
    carry_when_builtin: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    # A chain whose TF ops must flow in ``graphdef_ops`` order, each feeding the next
    # through the chain's own ops (``Squeeze+Neg+Pack``: a Squeeze read by the Neg, not a
    # Reshape of the stacked result)
    ordered: bool = False
    # a probe that only records how float spreads (``float_edges`` under ``carry_when``):
    # never matched as a pattern (a V-Net ELU read by a concatenation and a convolution)
    carry_only: bool = False
    # a probe whose ops stay float because of its own condition, not carried from one to
    # the next (the ops of a loop body the calibration run never enters): its float edges
    # teach no chain
    no_carry: bool = False
    # The constant scalar second operands the probe's graph gave its ops whose outcome
    # depends on that operand, by TF op: ``{"Pow": (3.0,)}`` (GELU's cube)
    graphdef_consts: Mapping[str, tuple[float, ...]] | None = None

    def float_count(self, builtin: str) -> int:
        """How many instances of ``builtin`` one instance of the pattern leaves in float."""
        if builtin not in self.float_ops:
            return 0
        return dict(self.float_counts).get(builtin, 1)


@dataclass(frozen=True)
class Provenance:
    """Where a table came from: file, runtime, versions, date and command."""

    file: str
    runtime: str
    versions: Mapping[str, str]
    probed_on: str
    command: str

    def summary(self) -> str:
        """One line, e.g. ``tflite-2.21.json (tensorflow 2.21.0, probed 2026-11-23)``."""
        main = next(
            (f"{k} {v}" for k, v in self.versions.items() if k in ("tensorflow", "tflite-micro")),
            ", ".join(f"{k} {v}" for k, v in self.versions.items()),
        )
        return f"{self.file} ({main}, probed {self.probed_on})"

    def describe(self) -> str:
        """Versions, date and command, without the file name."""
        vers = ", ".join(f"{k} {v}" for k, v in self.versions.items() if k != "platform")
        return f"{vers}; probed {self.probed_on} with `{self.command}`"


@dataclass(frozen=True)
class CapabilityFile:
    """One parsed table file with all its modes."""

    name: str
    data: Mapping[str, Any] = field(repr=False)

    @property
    def runtime(self) -> str:
        return str(self.data["runtime"])

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.data.get("modes", {}))

    @property
    def provenance(self) -> Provenance:
        return Provenance(
            file=self.name,
            runtime=self.runtime,
            versions=dict(self.data.get("versions", {})),
            probed_on=str(self.data.get("probed_on", "")),
            command=str(self.data.get("command", "")),
        )


class CapabilityTable:
    """One mode of one probed runtime: ``op(op_type)`` answers what it does."""

    def __init__(self, file: CapabilityFile, mode: str) -> None:
        if mode not in file.modes:
            raise CapabilityError(f"{file.name} has no mode {mode!r} (has {', '.join(file.modes)})")
        self.file = file
        self.mode = mode
        self._ops: Mapping[str, Mapping[str, Any]] = file.data["modes"][mode]
        self._tf_index: tuple[dict[str, str], dict[str, list[TfOpCapability]]] | None = None
        self._tf_all: tuple[TfOpCapability, ...] | None = None

    def __repr__(self) -> str:
        return f"CapabilityTable({self.file.name!r}, mode={self.mode!r})"

    @property
    def runtime(self) -> str:
        return self.file.runtime

    @property
    def provenance(self) -> Provenance:
        return self.file.provenance

    def op(self, op_type: str) -> OpCapability | None:
        """The probed capability of builtin ``op_type``, ``None`` when not in the table."""
        raw = self._ops.get(op_type)
        if raw is None:
            return None
        lowers = raw.get("lowers_to")
        return OpCapability(
            op=op_type,
            mode=self.mode,
            outcome=str(raw["outcome"]),
            probe=raw.get("probe"),
            message=raw.get("message"),
            io=raw.get("io"),
            lowers_to=tuple(lowers) if lowers else None,
        )

    def ops(self) -> Iterator[OpCapability]:
        """Every builtin in the table, in table order."""
        for name in self._ops:
            cap = self.op(name)
            if cap is not None:
                yield cap

    def __contains__(self, op_type: object) -> bool:
        return op_type in self._ops

    def counts(self) -> dict[str, int]:
        """How many builtins have each outcome."""
        out = dict.fromkeys(OUTCOMES, 0)
        for raw in self._ops.values():
            out[raw["outcome"]] = out.get(raw["outcome"], 0) + 1
        return out

    def tf_op(self, name: str) -> TfOpCapability | None:
        """The probed strict-int8 behaviour of TF op ``name`` (GraphDef name or table key).

        Looks up the table key first (``Cumsum``, ``keras.LayerNormalization``),
        then any entry whose observed GraphDef ops are exactly ``[name]``.
        Only int8 tables of the ``tflite`` runtime carry TF ops.
        """
        table: Mapping[str, Any] = self.file.data.get("tf_ops") or {}
        raw = table.get(name)
        key = name
        if raw is None:
            key = self._index()[0].get(name, "")
            raw = table.get(key) if key else None
        return None if raw is None else _tf_op(key, raw)

    def _index(self) -> tuple[dict[str, str], dict[str, list[TfOpCapability]]]:
        """(one GraphDef op -> first entry of exactly that op, Keras class -> entries),
        built once per table: rules ask per layer and per op."""
        if self._tf_index is None:
            single: dict[str, str] = {}
            keras: dict[str, list[TfOpCapability]] = {}
            for k, v in (self.file.data.get("tf_ops") or {}).items():
                gd = v.get("graphdef_ops") or []
                if len(gd) == 1:
                    single.setdefault(gd[0], k)
                if v.get("keras"):
                    keras.setdefault(v["keras"], []).append(_tf_op(k, v))
            self._tf_index = (single, keras)
        return self._tf_index

    def function_alias(self, name: str) -> str | None:
        """The entry a ``tf.*`` function without its own entry was probed to behave as:
        the probe drops a function whose graph and verdict are those of an existing entry
        and records which (``"tf.image.resize": "ResizeBilinear"`` in an update's
        ``functions_like_existing``)."""
        alias = None
        for update in self.file.data.get("updates") or ():
            like = update.get("functions_like_existing") if isinstance(update, Mapping) else None
            if isinstance(like, Mapping) and isinstance(like.get(name), str):
                alias = like[name]
        return alias

    def tf_ops(self) -> Iterator[TfOpCapability]:
        """Every TF op / Keras pattern entry (read once per table: several rules walk
        them for every model)."""
        if self._tf_all is None:
            self._tf_all = tuple(_tf_op(key, raw)
                                 for key, raw in (self.file.data.get("tf_ops") or {}).items())
        return iter(self._tf_all)

    def keras_layer(self, class_name: str) -> list[TfOpCapability]:
        """Entries probed from Keras class ``class_name`` (several variants possible)."""
        return list(self._index()[1].get(class_name, ()))


def _tf_op(key: str, raw: Mapping[str, Any]) -> TfOpCapability:
    int8 = raw.get("int8") or {}
    gd, low = raw.get("graphdef_ops"), raw.get("lowers_to")
    return TfOpCapability(
        name=key,
        outcome=str(int8.get("outcome", UNPROBED)),
        keras=raw.get("keras"),
        probe=raw.get("probe"),
        graphdef_ops=tuple(gd) if gd is not None else None,
        lowers_to=tuple(low) if low is not None else None,
        message=int8.get("message"),
        float_ops=tuple(int8.get("float_ops") or ()),
        float_counts=_counts(int8.get("float_counts")),
        float_edges=_edges(int8.get("float_edges")),
        float_siblings=_edges(int8.get("float_siblings")) or (),
        float_runs=_runs(int8.get("float_runs")),
        variant_of=raw.get("variant_of"),
        when=raw.get("when"),
        when_builtin=raw.get("when_builtin"),
        pattern_when=raw.get("pattern_when") if isinstance(raw.get("pattern_when"), Mapping)
        else None,
        carry_when=raw.get("carry_when") if isinstance(raw.get("carry_when"), Mapping)
        else None,
        carry_when_builtin=raw.get("carry_when_builtin")
        if isinstance(raw.get("carry_when_builtin"), Mapping) else None,
        ordered=raw.get("ordered") is True,
        carry_only=raw.get("carry_only") is True,
        no_carry=raw.get("no_carry") is True,
        graphdef_consts=_consts(raw.get("graphdef_consts")),
    )


def _consts(raw: object) -> Mapping[str, tuple[float, ...]] | None:
    """``{"Pow": [3.0]}`` with float values; anything else (absent: a probe from before
    constants were recorded) as ``None``."""
    if not isinstance(raw, Mapping):
        return None
    out = {str(op): tuple(float(v) for v in values if isinstance(v, (int, float)))
           for op, values in raw.items() if isinstance(values, Sequence)}
    return out or None


def _edges(raw: object) -> tuple[tuple[str, str, str], ...] | None:
    """``[["SIGN", "PADV2", "float32"], ...]`` as triples (a pair without its dtype: "*");
    absent (a probe from before edges were recorded) as ``None``."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return None
    return tuple((str(e[0]), str(e[1]), str(e[2]) if len(e) == 3 else "*") for e in raw
                 if isinstance(e, Sequence) and not isinstance(e, str) and len(e) in (2, 3))


def _runs(raw: object) -> tuple[int, int] | None:
    """``[9, 12]`` as a pair; anything else as ``None``."""
    if (isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in raw)):
        return int(raw[0]), int(raw[1])
    return None


def _counts(raw: object) -> tuple[tuple[str, int], ...]:
    """``{"NEG": 2, ...}`` as pairs; anything else (an older table) as none."""
    if not isinstance(raw, Mapping):
        return ()
    return tuple((str(k), int(v)) for k, v in raw.items()
                 if isinstance(v, int) and not isinstance(v, bool) and v > 0)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


@lru_cache(maxsize=1)
def available_files() -> tuple[str, ...]:
    """Names of the shipped table files, sorted."""
    root = resources.files(PACKAGE).joinpath(DIRECTORY)
    if not root.is_dir():
        return ()
    return tuple(sorted(p.name for p in root.iterdir() if p.name.endswith(".json")))


def latest_file(runtime: str) -> str:
    """The newest shipped file for ``runtime`` (``tflite`` or ``tflm``) by version."""
    names = [n for n in available_files() if n.startswith(f"{runtime}-")]
    if not names:
        raise CapabilityError(f"no capability table for runtime {runtime!r} is installed")
    return max(names, key=_version_key)


@cache
def load_file(name: str) -> CapabilityFile:
    """Parse and check one table file (cached)."""
    try:
        text = resources.files(PACKAGE).joinpath(DIRECTORY, name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise CapabilityError(f"capability table {name} not found: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CapabilityError(f"capability table {name} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise CapabilityError(f"capability table {name} has an unsupported schema_version")
    for key in ("runtime", "versions", "probed_on", "command", "modes"):
        if key not in data:
            raise CapabilityError(f"capability table {name} lacks {key!r}")
    for mode, ops in data["modes"].items():
        for op, entry in ops.items():
            if entry.get("outcome") not in OUTCOMES:
                raise CapabilityError(f"{name}: {mode}/{op} has unknown outcome {entry!r}")
    return CapabilityFile(name, data)


def load_table(name: str, mode: str) -> CapabilityTable:
    """Mode ``mode`` of table file ``name``."""
    return CapabilityTable(load_file(name), mode)


@cache
def newest_table(runtime: str, mode: str) -> CapabilityTable:
    """Mode ``mode`` of the newest shipped table of ``runtime`` (cached);
    `CapabilityError` when it is missing or malformed."""
    return load_table(latest_file(runtime), mode)
