"""A verified flatbuffer reader over a read-only byte buffer (a mapped file).

Python flatbuffers has no verifier, so this module is one.  Before any table, vector or
string is used, its offsets, vtable and length are checked against the buffer.  Each check
is one function that works on a single position (``int``) as on a numpy array of positions,
and each has one message: the per-table path (`Reader.table` and its field readers), the
bulk path (`Batch`, the same checks for every table of a vector at once, with numpy) and any
nested flatbuffer (the converter's metadata) use the same ones.  A defect raises `Corrupt`
with a message that says where, never what the bytes are; the caller adds the file.

Nothing here knows a schema: callers pass field numbers (vtable slot ``4 + 2 * number``).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from itertools import repeat
from typing import Any

import numpy as np

MAX_STRING = 4096  # characters kept of one string (longer ones end with "...")
MAX_TABLES = 5_000_000  # tables read over one file (a table referenced twice counts twice)

I1, U1, U2, I4, U4, F4, I8, U8 = (
    np.dtype(c) for c in ("i1", "u1", "<u2", "<i4", "<u4", "<f4", "<i8", "<u8"))
_NP = {"i": I4, "f": F4, "q": I8}
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<HH")
_SCALARS = {fmt: struct.Struct("<" + fmt) for fmt in "bBhHiIqQ?f"}
_ARANGE = {k: np.arange(k, dtype=np.int64) for k in (1, 2, 4, 8)}
ABSENT = np.zeros(0, dtype=np.int64)
_GATHER_CHUNK = 1 << 16  # positions per gather of unaligned values


class Corrupt(Exception):
    """A structural defect; the loader adds the path and raises `ModelLoadError`."""


# -- the checks: each true where the structure is bad (ints or numpy arrays) -------------

def table_outside(pos: Any, size: int) -> Any:
    return (pos < 0) | (pos > size - 4)


def vtable_outside(vt: Any, size: int) -> Any:
    return (vt < 0) | (vt > size - 4)


def vtable_malformed(vt: Any, vsize: Any, osize: Any, pos: Any, size: int) -> Any:
    return ((vsize < 4) | ((vsize & 1) == 1) | (vt + vsize > size) | (osize < 4)
            | (pos + osize > size))


def field_outside(fo: Any, width: int, osize: Any) -> Any:
    """``fo`` is a present field's offset in its table (0, absent, is never bad)."""
    return (fo != 0) & ((fo < 4) | (fo + width > osize))


def target_outside(target: Any, size: int) -> Any:
    return target > size - 4


def vector_past_end(start: Any, count: Any, elem: int, size: int) -> Any:
    """``start`` is the vector's length word."""
    return start + 4 + count * elem > size


# -- and their messages ---------------------------------------------------------------

def msg_table_outside(what: str, pos: int, size: int) -> str:
    return f"{what} at offset {pos} is outside the {size}-byte file"


def msg_vtable_outside(what: str) -> str:
    return f"{what} has its vtable outside the file"


def msg_vtable_malformed(what: str) -> str:
    return f"{what} has a malformed vtable"


def msg_field_outside(what: str, number: int) -> str:
    return f"{what} field {number} lies outside its table"


def msg_target_outside(what: str, number: int) -> str:
    return f"{what} field {number} points outside the file"


def msg_vector_past_end(what: str, count: int) -> str:
    return f"{what} claims {count} entries but the file ends first"


def msg_too_many(what: str, count: int, limit: int) -> str:
    return f"{what} has {count} entries (limit {limit})"


def msg_tables_read() -> str:
    return f"more than {MAX_TABLES} tables read"


class Table:
    """A verified table: its position, object size and field offsets (0 = absent)."""

    __slots__ = ("fields", "osize", "pos", "what")

    def __init__(self, pos: int, osize: int, fields: tuple[int, ...], what: str) -> None:
        self.pos = pos
        self.osize = osize
        self.fields = fields
        self.what = what

    def field(self, number: int, width: int) -> int:
        """File position of field ``number`` (``width`` bytes) or 0 when it is absent."""
        fo = self.fields[number] if number < len(self.fields) else 0
        if field_outside(fo, width, self.osize):
            raise Corrupt(msg_field_outside(self.what, number))
        return self.pos + fo if fo else 0


class Reader:
    """Verified reads from ``buf`` (``size`` bytes): one table at a time, or in bulk."""

    def __init__(self, buf: mmap.mmap | bytes, size: int) -> None:
        self.buf = buf
        self.size = size
        self.tables_read = 0
        self.strings: dict[int, str] = {}
        self.u8: np.ndarray = np.frombuffer(buf, np.uint8)
        self.views: dict[np.dtype, np.ndarray] = {}

    def release(self) -> None:
        """Drop the numpy views of the buffer, so that a map can be closed."""
        self.u8 = ABSENT
        self.views.clear()

    def count_tables(self, n: int) -> None:
        self.tables_read += n
        if self.tables_read > MAX_TABLES:
            raise Corrupt(msg_tables_read())

    def root(self, start: int = 0) -> int:
        """Position of the root table of the flatbuffer that starts at ``start``."""
        return start + int(_U32.unpack_from(self.buf, start)[0])

    def read(self, positions: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Little-endian values of ``dtype`` at each (checked, maybe unaligned) position."""
        k = dtype.itemsize
        if k == 1:
            return self.u8[positions].view(dtype)
        if not (positions & (k - 1)).any():  # aligned, as a flatbuffer builder writes them
            view = self.views.get(dtype)
            if view is None:
                view = self.views[dtype] = np.frombuffer(self.buf, dtype, self.size // k)
            return view[positions >> (k.bit_length() - 1)]
        out = np.empty(len(positions), dtype=dtype)
        for at in range(0, len(positions), _GATHER_CHUNK):  # bounded index arrays
            chunk = positions[at:at + _GATHER_CHUNK]
            out[at:at + len(chunk)] = self.u8[chunk[:, None] + _ARANGE[k]].view(dtype).ravel()
        return out

    def decode(self, start: int, n: int) -> str:
        """``n`` bytes at ``start`` as text (invalid UTF-8 replaced, at most `MAX_STRING`)."""
        cached = self.strings.get(start)
        if cached is None:
            raw = self.buf[start:start + min(n, MAX_STRING)]
            cached = raw.decode("utf-8", errors="replace") + ("..." if n > MAX_STRING else "")
            self.strings[start] = cached
        return cached

    # -- one table at a time -----------------------------------------------------------
    def table(self, pos: int, what: str) -> Table:
        """Check the table at ``pos`` and its vtable lie inside the buffer, then read it."""
        size = self.size
        self.count_tables(1)
        if table_outside(pos, size):
            raise Corrupt(msg_table_outside(what, pos, size))
        vt = pos - _I32.unpack_from(self.buf, pos)[0]
        if vtable_outside(vt, size):
            raise Corrupt(msg_vtable_outside(what))
        vsize, osize = _HEADER.unpack_from(self.buf, vt)
        if vtable_malformed(vt, vsize, osize, pos, size):
            raise Corrupt(msg_vtable_malformed(what))
        n = (vsize - 4) // 2
        fields = struct.unpack_from(f"<{n}H", self.buf, vt + 4) if n else ()
        return Table(pos, osize, fields, what)

    def scalar(self, t: Table, number: int, fmt: str, default: Any = 0) -> Any:
        s = _SCALARS[fmt]
        p = t.field(number, s.size)
        return s.unpack_from(self.buf, p)[0] if p else default

    def ref(self, t: Table, number: int) -> int:
        """Target position of an offset field, or 0 when the field is absent."""
        p = t.field(number, 4)
        if not p:
            return 0
        target = p + _U32.unpack_from(self.buf, p)[0]
        if target_outside(target, self.size):
            raise Corrupt(msg_target_outside(t.what, number))
        return target

    def child(self, t: Table, number: int, what: str) -> Table | None:
        target = self.ref(t, number)
        return self.table(target, what) if target else None

    def vector(self, t: Table, number: int, elem: int, what: str) -> tuple[int, int]:
        """(start of the elements, count) of a vector field; (0, 0) when absent."""
        target = self.ref(t, number)
        if not target:
            return 0, 0
        n = _U32.unpack_from(self.buf, target)[0]
        if vector_past_end(target, n, elem, self.size):
            raise Corrupt(msg_vector_past_end(what, n))
        return target + 4, n

    def numbers(self, t: Table, number: int, code: str, what: str,
                limit: int) -> list[Any] | None:
        """A vector of numbers (``code``: i, f or q) as a list; ``None`` when absent.

        More than ``limit`` entries is refused before any is read.
        """
        dtype = _NP[code]
        start, n = self.vector(t, number, dtype.itemsize, what)
        if not start:
            return None
        if n > limit:
            raise Corrupt(msg_too_many(what, n, limit))
        return np.frombuffer(self.buf, dtype, n, start).tolist() if n else []

    def tables(self, t: Table, number: int, what: str, limit: int) -> list[int]:
        """Positions of the tables of a vector-of-tables field (at most ``limit``)."""
        return self.table_array(t, number, what, limit).tolist()

    def table_array(self, t: Table, number: int, what: str, limit: int) -> np.ndarray:
        """`tables` as an int64 array."""
        start, n = self.vector(t, number, 4, what)
        if not n:
            return ABSENT
        if n > limit:
            raise Corrupt(msg_too_many(what, n, limit))
        rel = np.frombuffer(self.buf, "<u4", n, start).astype(np.int64)
        return rel + np.arange(start, start + 4 * n, 4, dtype=np.int64)

    def string(self, t: Table, number: int, limit: int = MAX_STRING) -> str | None:
        """A string field (invalid UTF-8 replaced, at most `MAX_STRING` characters)."""
        start, n = self.vector(t, number, 1, f"{t.what} string")
        if not start:
            return None
        if limit < MAX_STRING:
            return bytes(self.buf[start:start + min(n, limit)]).decode("utf-8", "replace")
        return self.decode(start, n)


class Batch:
    """The tables of one vector (every tensor, every op, the buffers, ...), verified
    together and read one field at a time for all of them with numpy.

    The checks are those of `Reader.table` and its field readers, applied to every table
    of the batch before any of its fields is used; a defect is reported for the first
    table (in batch order) that has it.  ``what(i)`` names table ``i`` in messages.
    """

    def __init__(self, r: Reader, pos: np.ndarray, what: Callable[[int], str]) -> None:
        self.r, self.pos, self.what, self.n = r, pos, what, len(pos)
        size = r.size
        r.count_tables(self.n)
        self.first(table_outside(pos, size),
                   lambda i: msg_table_outside(what(i), int(pos[i]), size))
        vt = pos - r.read(pos, I4)
        self.first(vtable_outside(vt, size), lambda i: msg_vtable_outside(what(i)))
        vsize, osize = r.read(vt, U2), r.read(vt + 2, U2)
        self.first(vtable_malformed(vt, vsize, osize, pos, size),
                   lambda i: msg_vtable_malformed(what(i)))
        self.vt, self.vsize, self.osize = vt, vsize, osize

    @staticmethod
    def first(bad: np.ndarray, message: Callable[[int], str]) -> None:
        """Raise for the first ``True`` in ``bad``."""
        if bad.any():
            raise Corrupt(message(int(np.argmax(bad))))

    def field(self, number: int, width: int) -> np.ndarray:
        """File position of field ``number`` per table (0 where it is absent)."""
        slot = 4 + 2 * number
        fo = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(self.vsize >= slot + 2)
        fo[has] = self.r.read(self.vt[has] + slot, U2)
        self.first(field_outside(fo, width, self.osize),
                   lambda i: msg_field_outside(self.what(i), number))
        return np.where(fo != 0, self.pos + fo, 0)

    def scalar(self, number: int, dtype: np.dtype, default: int = 0) -> np.ndarray:
        p = self.field(number, dtype.itemsize)
        wide = dtype.kind in "ib" or (dtype.kind == "u" and dtype.itemsize < 8)
        out = np.full(self.n, default, dtype=np.int64 if wide else dtype)
        has = np.flatnonzero(p)
        out[has] = self.r.read(p[has], dtype)
        return out

    def ref(self, number: int) -> np.ndarray:
        """Target position of an offset field per table (0 where it is absent)."""
        p = self.field(number, 4)
        target = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(p)
        target[has] = p[has] + self.r.read(p[has], U4)
        self.first(target_outside(target, self.r.size),
                   lambda i: msg_target_outside(self.what(i), number))
        return target

    def vector(self, number: int, elem: int, suffix: str) -> tuple[np.ndarray, np.ndarray]:
        """(start of the elements, count) per table; (0, 0) where the field is absent."""
        target = self.ref(number)
        count = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(target)
        count[has] = self.r.read(target[has], U4)
        self.first(vector_past_end(target, count, elem, self.r.size),
                   lambda i: msg_vector_past_end(f"{self.what(i)}{suffix}", int(count[i])))
        return np.where(target != 0, target + 4, 0), count

    def numbers(self, number: int, dtype: np.dtype, suffix: str, limit: np.ndarray | int,
                budget: int) -> tuple[np.ndarray, list[Any], np.ndarray]:
        """A vector-of-numbers field for every table.

        Returns (present per table, all values in one list, end offset per table into that
        list); `numbers_array` gives the values as an array.  A table with more than
        ``limit`` entries, or more than ``budget`` entries in all, is refused before any
        value is read.
        """
        present, values, ends = self.numbers_array(number, dtype, suffix, limit, budget)
        return present, values.tolist(), ends

    def numbers_array(self, number: int, dtype: np.dtype, suffix: str,
                      limit: np.ndarray | int, budget: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`numbers` with the values as one array."""
        start, count = self.vector(number, dtype.itemsize, suffix)
        limit_arr = np.broadcast_to(np.asarray(limit, dtype=np.int64), count.shape)
        self.first(count > limit_arr, lambda i: msg_too_many(
            f"{self.what(i)}{suffix}", int(count[i]), int(limit_arr[i])))
        total = int(count.sum())
        if total > budget:
            raise Corrupt(f"{self.what(0)}{suffix}: {total} entries over the model's limit")
        ends = np.cumsum(count)
        if not total:
            return start != 0, np.zeros(0, dtype=dtype), ends
        rep = np.repeat(start - (ends - count) * dtype.itemsize, count)
        at = rep + np.arange(total, dtype=np.int64) * dtype.itemsize
        return start != 0, self.r.read(at, dtype), ends

    def strings(self, number: int, suffix: str) -> list[str | None]:
        """A string field per table (invalid UTF-8 replaced, at most `MAX_STRING` chars)."""
        start, count = self.vector(number, 1, suffix)
        r = self.r
        if int(count.max(initial=0)) > MAX_STRING:
            return [r.decode(a, c) if a else None
                    for a, c in zip(start.tolist(), count.tolist(), strict=True)]
        buf = r.buf
        present = np.flatnonzero(start)
        at = start[present]
        step = np.diff(at)  # strings laid out in order are distinct without sorting them
        if ((step > 0).all() or (step < 0).all()
                or len(np.unique(at)) == len(at)):  # no string shared: decode each once, in C
            ends = (at + count[present]).tolist()
            texts = list(map(bytes.decode, map(buf.__getitem__, map(slice, at.tolist(), ends)),
                             repeat("utf-8"), repeat("replace")))
            if len(texts) == self.n:
                return texts  # type: ignore[return-value]
            spread: list[str | None] = [None] * self.n
            for i, text in zip(present.tolist(), texts, strict=True):
                spread[i] = text
            return spread
        cache = r.strings
        out: list[str | None] = []
        for a, c in zip(start.tolist(), count.tolist(), strict=True):
            if not a:
                out.append(None)
                continue
            known = cache.get(a)
            if known is None:
                known = cache[a] = buf[a:a + c].decode("utf-8", errors="replace")
            out.append(known)
        return out
