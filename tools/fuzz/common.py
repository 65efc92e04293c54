"""What every format's fuzzer shares: structural positions, generic mutations, cases."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Field:
    """A structural position in a seed file: ``width`` bytes at ``pos`` of some ``kind``.

    Kinds: ``root``, ``uoffset`` (table or vector reference), ``soffset`` (table → vtable),
    ``vtable`` (vtable size, object size or a field slot), ``vlen`` (vector or string
    length), ``index`` (a tensor, buffer, opcode, subgraph index), ``shape`` (a dimension),
    ``scalar`` (another number), ``string`` (string bytes), ``extent`` (external buffer
    offset or size).
    """

    pos: int
    width: int
    kind: str
    label: str


# -- mutations --------------------------------------------------------------------------

_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
                0xFFFFFFFFFFFFFFFF)


def _put(buf: bytearray, f: Field, value: int) -> None:
    value &= (1 << (8 * f.width)) - 1
    buf[f.pos:f.pos + f.width] = value.to_bytes(f.width, "little")


def _get(buf: bytes, f: Field) -> int:
    return int.from_bytes(buf[f.pos:f.pos + f.width], "little")


def _value_for(rng: random.Random, f: Field, data: bytes) -> tuple[int, str]:
    """An interesting replacement for field ``f``: boundaries, the file size, self-loops."""
    old = _get(data, f)
    size = len(data)
    choices: list[tuple[int, str]] = [(v, hex(v)) for v in _INTERESTING]
    choices += [(old + d, f"{old:#x}{d:+d}") for d in (-8, -4, -1, 1, 4, 8)]
    choices += [(-old, "negated"), (old * 4096 + 1, "scaled")]
    choices += [(size - f.pos + d, f"past-end{d:+d}") for d in (-8, -4, 0, 4, 4096)]
    if f.kind in ("uoffset", "root"):
        choices += [(0, "self-loop"), (rng.randrange(0, max(1, size)) - f.pos, "random-target")]
    if f.kind == "soffset":
        choices += [(0, "vtable-is-table"), (-(size - f.pos), "vtable-past-end"),
                    (f.pos + 1, "vtable-before-start")]
    if f.kind in ("index", "shape"):
        choices += [(-1, "-1"), (-2, "-2"), (1 << 31, "int-min"), (10**9, "1e9")]
    if f.kind == "vlen":
        choices += [(size // 4, "size/4"), (size, "size"), (size * 8, "size*8")]
    return rng.choice(choices)


def _flip(rng: random.Random, data: bytes, fields: list[Field],
          others: Sequence[bytes]) -> tuple[bytes, str]:
    buf = bytearray(data)
    n = rng.choice((1, 1, 2, 4, 16))
    for _ in range(n):
        p = rng.randrange(len(buf))
        if rng.random() < 0.5:
            buf[p] ^= 1 << rng.randrange(8)
        else:
            buf[p] = rng.randrange(256)
    return bytes(buf), f"flip x{n}"


def _truncate(rng: random.Random, data: bytes, fields: list[Field],
              others: Sequence[bytes]) -> tuple[bytes, str]:
    if fields and rng.random() < 0.5:
        cut = rng.choice(fields).pos + rng.choice((0, 1, 2, 3))
    else:
        cut = rng.choice((0, 1, 4, 7, 8, 12, rng.randrange(len(data)), len(data) - 1))
    cut = max(0, min(cut, len(data) - 1))
    return data[:cut], f"truncate at {cut}"


def _splice(rng: random.Random, data: bytes, fields: list[Field],
            others: Sequence[bytes]) -> tuple[bytes, str]:
    donor = rng.choice(others) if others else data
    n = rng.choice((4, 8, 16, 64, 256))
    src = rng.randrange(max(1, len(donor) - n))
    dst = rng.randrange(max(1, len(data) - n))
    chunk = donor[src:src + n]
    mode = rng.choice(("overwrite", "insert", "delete", "duplicate"))
    if mode == "overwrite":
        out = data[:dst] + chunk + data[dst + len(chunk):]
    elif mode == "insert":
        out = data[:dst] + chunk + data[dst:]
    elif mode == "delete":
        out = data[:dst] + data[dst + n:]
    else:
        out = data + data[dst:dst + n] * rng.choice((1, 16))
    return out, f"splice {mode} {n}B at {dst}"


def _structural(kinds: tuple[str, ...]) -> Callable[..., tuple[bytes, str]]:
    def mutate(rng: random.Random, data: bytes, fields: list[Field],
               others: Sequence[bytes]) -> tuple[bytes, str]:
        pool = [f for f in fields if f.kind in kinds]
        if not pool:
            return _flip(rng, data, fields, others)
        buf = bytearray(data)
        count = 1 if rng.random() < 0.8 else rng.choice((2, 3, 8))
        descs = []
        for _ in range(count):
            f = rng.choice(pool)
            if f.kind == "string":
                bad = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"))
                buf[f.pos:f.pos + min(f.width, len(bad))] = bad[:f.width]
                descs.append(f"{f.label}=invalid-utf8")
                continue
            value, desc = _value_for(rng, f, data)
            _put(buf, f, value)
            descs.append(f"{f.label}={desc}")
        return bytes(buf), "set " + ", ".join(descs)

    return mutate


MUTATORS: tuple[tuple[str, Callable[..., tuple[bytes, str]], int], ...] = (
    ("flip", _flip, 3),
    ("truncate", _truncate, 2),
    ("splice", _splice, 2),
    ("offset", _structural(("root", "uoffset")), 3),
    ("vtable", _structural(("soffset", "vtable")), 2),
    ("length", _structural(("vlen",)), 3),
    ("index", _structural(("index",)), 2),
    ("shape", _structural(("shape",)), 1),
    ("scalar", _structural(("scalar", "string")), 1),
    ("extent", _structural(("extent",)), 1),
)


# -- formats ----------------------------------------------------------------------------

@dataclass
class Case:
    """One mutated file, reproducible from (format, seed, index).

    ``layout`` says how a multi-file model is written (``pb``, ``pbtxt``, ...); empty for
    single-file formats.
    """

    index: int
    seed_name: str
    mutator: str
    description: str
    data: bytes
    layout: str = ""



Mutator = Callable[..., "tuple[bytes, str] | tuple[bytes, str, str]"]


@dataclass
class FormatSpec:
    """How to fuzz one format: its seeds, its structure, its mutations, how a case is written.

    A mutator is ``mutate(rng, data, fields, others)`` and returns the new bytes and a
    description, and optionally a layout (for a SavedModel: which files hold the bytes).
    ``materialize(case, directory, name)`` writes a case and returns the path to lint.
    """

    suffix: str
    seeds: Callable[[], list[tuple[str, bytes]]]
    structure: Callable[[bytes], list[Field]] | None = None
    mutators: tuple[tuple[str, Mutator, int], ...] = ()
    write: Callable[[Case, str], None] | None = None

    def materialize(self, case: Case, directory: str, name: str) -> str:
        """Write ``case`` under ``directory`` as ``name`` + suffix; the path to lint."""
        path = os.path.join(directory, name + self.suffix)
        if self.write is not None:
            self.write(case, path)
        else:
            with open(path, "wb") as fh:
                fh.write(case.data)
        return path
