"""Load a `.tflite` flatbuffer into a `ModelGraph`.

The file is mapped read-only with ``mmap`` and walked table by table against the TFLite
schema (field numbers as in ``schema.fbs``; enum names from the ``tflite`` bindings);
weight buffers are never read, only their sizes.  Python flatbuffers has no verifier, so
this module is one: before any table, vector or string is used, its offsets, vtable and
length are checked against the file, and every tensor, buffer and opcode index against its
table.  Structure limits (`MAX_NODES`, `MAX_EDGES`, `MAX_RANK`, quantization vector lengths)
keep a hostile file from making the walk slow or memory-hungry.  Anything wrong becomes a
`ModelLoadError` (one line, exit code 2); an out-of-range read the checks missed is caught at
the one place the walk is entered and becomes one too.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import struct
from collections.abc import Callable, Iterable
from itertools import compress, repeat
from typing import Any

import flatbuffers
import numpy as np

from qlint.errors import ModelLoadError
from qlint.graph import BulkFacts, ModelGraph, Quant, SlotPositions
from qlint.quant_columns import QuantValues
from qlint.quant_mode import classify_quant_mode


def _tflite_enum(module: str) -> dict[int, str]:
    """Value -> name of an enum class of the ``tflite`` bindings (``tflite/<module>.py``).

    The enum modules are classes of integer constants; their assignments are read with
    `ast` from the file, so that the ``tflite`` package, whose ``__init__`` imports every
    generated module (a sixth of qlint's start-up), is never imported.
    """
    import ast
    import importlib.util

    spec = importlib.util.find_spec("tflite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(location, f"{module}.py")
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        out = {}
        for cls in tree.body:
            if isinstance(cls, ast.ClassDef) and cls.name == module:
                for stmt in cls.body:
                    if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                            and isinstance(stmt.targets[0], ast.Name)
                            and isinstance(stmt.value, ast.Constant)
                            and isinstance(stmt.value.value, int)):
                        out[stmt.value.value] = stmt.targets[0].id
        if out:
            return out
    import importlib  # not a plain file (e.g. a zipped install): import it

    enum = getattr(importlib.import_module(f"tflite.{module}"), module)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


FILE_IDENTIFIER = b"TFL3"

# Structure limits.  A real model is far below them (a 100k-op model has ~330k nodes and
# ~300k edges); a hostile file can reference one table many times and claim far more.  They
# bound the walk's time and memory (a few GB at worst) whatever the file says.
MAX_NODES = 1_000_000  # ops + tensors + subgraphs over the model
MAX_EDGES = 4_000_000  # op input and output slots over the model
MAX_RANK = 64  # dimensions of one tensor
MAX_QUANT_VALUES = 1 << 24  # scale, zero point, min and max values over the model
MAX_NAME_CHARS = 1 << 26  # characters of tensor names over the model
MAX_STRING = 4096  # characters kept of one string (longer ones end with "...")
MAX_TABLES = 5_000_000  # tables read over the model (a table referenced twice counts twice)

_BUILTIN_NAMES: dict[int, str] = _tflite_enum("BuiltinOperator")
_OPTIONS_NAMES: dict[int, str] = _tflite_enum("BuiltinOptions")
_DTYPES: dict[int, str] = {v: k.lower() for v, k in _tflite_enum("TensorType").items()}
_DTYPE_SIZE = {
    "float32": 4, "float16": 2, "int32": 4, "uint8": 1, "int64": 8, "bool": 1,
    "int16": 2, "int8": 1, "float64": 8, "uint64": 8, "uint32": 4, "uint16": 2,
    "bfloat16": 2, "complex64": 8, "complex128": 16, "int4": 1,
}
_MODEL_OPTIMIZATION_MODES = {
    1001: "PTQ_FLOAT16", 1002: "PTQ_DYNAMIC_RANGE", 1003: "PTQ_FULL_INTEGER",
    1004: "PTQ_INT16", 2000: "QUANTIZATION_AWARE_TRAINING", 3001: "RANDOM_SPARSITY",
    3002: "BLOCK_SPARSITY", 3003: "STRUCTURED_SPARSITY",
}

# Field numbers (vtable slot = 4 + 2 * number) of the tables the loader reads.
_MODEL_VERSION, _MODEL_OPCODES, _MODEL_SUBGRAPHS, _MODEL_DESCRIPTION, _MODEL_BUFFERS = range(5)
_MODEL_METADATA, _MODEL_SIGNATURES = 6, 7
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS, _SG_NAME = range(5)
(_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_VARIABLE, _T_SPARSITY,
 _T_SHAPE_SIGNATURE, _T_HAS_RANK) = range(9)
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS_TYPE = range(4)
_OC_DEPRECATED_CODE, _OC_CUSTOM, _OC_VERSION, _OC_CODE = range(4)
_B_DATA, _B_OFFSET, _B_SIZE = range(3)
_Q_MIN, _Q_MAX, _Q_SCALE, _Q_ZERO_POINT, _Q_AXIS = 0, 1, 2, 3, 6
_MD_NAME, _MD_BUFFER = range(2)
_SD_INPUTS, _SD_OUTPUTS, _SD_KEY, _SD_SUBGRAPH = 0, 1, 2, 4
_TM_NAME, _TM_TENSOR = range(2)

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<HH")
_SCALARS = {fmt: struct.Struct("<" + fmt) for fmt in "bBhHiIqQ?f"}
_NP = {"i": np.dtype("<i4"), "f": np.dtype("<f4"), "q": np.dtype("<i8")}
_I1, _U1, _U2, _I4, _U4, _F4, _I8, _U8 = (
    np.dtype(c) for c in ("i1", "u1", "<u2", "<i4", "<u4", "<f4", "<i8", "<u8"))


def builtin_name(code: int) -> str:
    """Canonical name of a builtin code; ``UNKNOWN_<n>`` for codes newer than the bindings."""
    return _BUILTIN_NAMES.get(code, f"UNKNOWN_{code}")


def load_tflite(path: str) -> ModelGraph:
    """Parse ``path`` into a `ModelGraph`; raise `ModelLoadError` when it cannot."""
    try:
        # O_NONBLOCK: a FIFO or device named *.tflite must not block the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ModelLoadError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ModelLoadError(path, "not a regular file")
        size = st.st_size
        if size < 8:
            raise ModelLoadError(path, f"not a TFLite flatbuffer: file is {size} bytes")
        buf = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise ModelLoadError(path, f"cannot map file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        if buf[4:8] != FILE_IDENTIFIER:
            raise ModelLoadError(
                path, "not a TFLite flatbuffer: no file identifier "  # never quote the file
                f"{FILE_IDENTIFIER.decode()!r} at byte 4"
            )
        try:
            return _Walker(path, buf, size).walk()
        except ModelLoadError:
            raise
        except (struct.error, IndexError, ValueError, TypeError, OverflowError,
                UnicodeDecodeError, MemoryError, RecursionError) as exc:
            raise ModelLoadError(
                path, f"truncated or corrupt TFLite flatbuffer ({exc})"
            ) from None
    finally:
        with contextlib.suppress(BufferError):  # a view still alive: freed with it
            buf.close()


class _Table:
    """A verified table: its position, object size and field offsets (0 = absent)."""

    __slots__ = ("fields", "osize", "pos", "what")

    def __init__(self, pos: int, osize: int, fields: tuple[int, ...], what: str) -> None:
        self.pos = pos
        self.osize = osize
        self.fields = fields
        self.what = what

    def field(self, number: int, width: int) -> int:
        """File position of field ``number`` (``width`` bytes) or 0 when it is absent."""
        if number >= len(self.fields):
            return 0
        fo = self.fields[number]
        if not fo:
            return 0
        if fo < 4 or fo + width > self.osize:
            raise _corrupt(f"{self.what} field {number} lies outside its table")
        return self.pos + fo


_ARANGE = {k: np.arange(k, dtype=np.int64) for k in (1, 2, 4, 8)}
_ABSENT = np.zeros(0, dtype=np.int64)
_GATHER_CHUNK = 1 << 16  # positions per gather of unaligned values


class _Batch:
    """The tables of one vector (a subgraph's tensors or ops, the buffers, ...), verified
    together and read one field at a time for all of them with numpy.

    The checks are those of `_Walker.table` and its field readers, applied to every table
    of the batch before any of its fields is used; a defect is reported for the first
    table (in file order) that has it.  ``what(i)`` names table ``i`` in messages.
    """

    def __init__(self, w: _Walker, pos: np.ndarray, what: Callable[[int], str]) -> None:
        self.w, self.pos, self.what, self.n = w, pos, what, len(pos)
        size = w.size
        w.tables_read += self.n
        if w.tables_read > MAX_TABLES:
            raise _corrupt(f"more than {MAX_TABLES} tables read")
        self.first((pos < 0) | (pos > size - 4),
                   lambda i: f"{what(i)} at offset {pos[i]} is outside the {size}-byte file")
        vt = pos - w.read(pos, _I4)
        self.first((vt < 0) | (vt > size - 4), lambda i: f"{what(i)} has its vtable outside "
                   "the file")
        vsize, osize = w.read(vt, _U2), w.read(vt + 2, _U2)
        self.first((vsize < 4) | (vsize & 1 == 1) | (vt + vsize > size) | (osize < 4)
                   | (pos + osize > size), lambda i: f"{what(i)} has a malformed vtable")
        self.vt, self.vsize, self.osize = vt, vsize, osize

    @staticmethod
    def first(bad: np.ndarray, message: Callable[[int], str]) -> None:
        """Raise for the first ``True`` in ``bad``."""
        if bad.any():
            raise _corrupt(message(int(np.argmax(bad))))

    def field(self, number: int, width: int) -> np.ndarray:
        """File position of field ``number`` per table (0 where it is absent)."""
        slot = 4 + 2 * number
        fo = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(self.vsize >= slot + 2)
        fo[has] = self.w.read(self.vt[has] + slot, _U2)
        self.first((fo != 0) & ((fo < 4) | (fo + width > self.osize)),
                   lambda i: f"{self.what(i)} field {number} lies outside its table")
        return np.where(fo != 0, self.pos + fo, 0)

    def scalar(self, number: int, dtype: np.dtype, default: int = 0) -> np.ndarray:
        p = self.field(number, dtype.itemsize)
        wide = dtype.kind in "ib" or (dtype.kind == "u" and dtype.itemsize < 8)
        out = np.full(self.n, default, dtype=np.int64 if wide else dtype)
        has = np.flatnonzero(p)
        out[has] = self.w.read(p[has], dtype)
        return out

    def ref(self, number: int) -> np.ndarray:
        """Target position of an offset field per table (0 where it is absent)."""
        p = self.field(number, 4)
        target = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(p)
        target[has] = p[has] + self.w.read(p[has], _U4)
        self.first(target > self.w.size - 4,
                   lambda i: f"{self.what(i)} field {number} points outside the file")
        return target

    def vector(self, number: int, elem: int, suffix: str) -> tuple[np.ndarray, np.ndarray]:
        """(start of the elements, count) per table; (0, 0) where the field is absent."""
        target = self.ref(number)
        count = np.zeros(self.n, dtype=np.int64)
        has = np.flatnonzero(target)
        count[has] = self.w.read(target[has], _U4)
        self.first(target + 4 + count * elem > self.w.size,
                   lambda i: f"{self.what(i)}{suffix} claims {count[i]} entries but the file "
                   "ends first")
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
        self.first(count > limit_arr,
                   lambda i: f"{self.what(i)}{suffix} has {count[i]} entries (limit "
                   f"{limit_arr[i]})")
        total = int(count.sum())
        if total > budget:
            raise _corrupt(f"{self.what(0)}{suffix}: {total} entries over the model's limit")
        ends = np.cumsum(count)
        if not total:
            return start != 0, np.zeros(0, dtype=dtype), ends
        rep = np.repeat(start - (ends - count) * dtype.itemsize, count)
        at = rep + np.arange(total, dtype=np.int64) * dtype.itemsize
        return start != 0, self.w.read(at, dtype), ends

    def strings(self, number: int, suffix: str) -> list[str | None]:
        """A string field per table (invalid UTF-8 replaced, at most `MAX_STRING` chars)."""
        start, count = self.vector(number, 1, suffix)
        if int(count.max(initial=0)) > MAX_STRING:
            return [self.w.decode(a, c) if a else None
                    for a, c in zip(start.tolist(), count.tolist(), strict=True)]
        buf = self.w.buf
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
        cache = self.w.strings
        out: list[str | None] = []
        for a, c in zip(start.tolist(), count.tolist(), strict=True):
            if not a:
                out.append(None)
                continue
            text = cache.get(a)
            if text is None:
                text = cache[a] = buf[a:a + c].decode("utf-8", errors="replace")
            out.append(text)
        return out


class _Corrupt(Exception):
    """A structural defect; the walker adds the path and raises `ModelLoadError`."""


def _corrupt(message: str) -> _Corrupt:
    return _Corrupt(message)


class _Walker:
    """One pass over the flatbuffer, verifying and building the graph."""

    def __init__(self, path: str, buf: mmap.mmap, size: int) -> None:
        self.path = path
        self.buf = buf
        self.size = size
        self.nodes = 0
        self.edges = 0
        self.quant_values = 0
        self.name_chars = 0
        self.strings: dict[int, str] = {}
        self.tables_read = 0
        self.opcodes: dict[int, dict[str, Any]] = {}
        # What the walk read in bulk, per subgraph, handed to the graph at the end.
        self.n_tensors = 0
        self.n_ops = 0
        self.quant_pieces: list[tuple[np.ndarray, ...]] = []
        self.slot_pieces: list[tuple[np.ndarray, ...]] = []
        self.u8: np.ndarray = np.frombuffer(buf, np.uint8)
        self.views: dict[np.dtype, np.ndarray] = {}

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
        cached = self.strings.get(start)
        if cached is None:
            raw = self.buf[start:start + min(n, MAX_STRING)]
            cached = raw.decode("utf-8", errors="replace") + ("..." if n > MAX_STRING else "")
            self.strings[start] = cached
        return cached

    def fail(self, message: str) -> ModelLoadError:
        return ModelLoadError(self.path, f"corrupt TFLite flatbuffer: {message}")

    # -- verified primitives ---------------------------------------------------------
    def table(self, pos: int, what: str) -> _Table:
        """Check the table at ``pos`` and its vtable lie inside the file, then read it."""
        size = self.size
        self.tables_read += 1
        if self.tables_read > MAX_TABLES:
            raise _corrupt(f"more than {MAX_TABLES} tables read")
        if not 0 <= pos <= size - 4:
            raise _corrupt(f"{what} at offset {pos} is outside the {size}-byte file")
        vt = pos - _I32.unpack_from(self.buf, pos)[0]
        if not 0 <= vt <= size - 4:
            raise _corrupt(f"{what} has its vtable outside the file")
        vsize, osize = _HEADER.unpack_from(self.buf, vt)
        if vsize < 4 or vsize & 1 or vt + vsize > size or osize < 4 or pos + osize > size:
            raise _corrupt(f"{what} has a malformed vtable")
        n = (vsize - 4) // 2
        fields = struct.unpack_from(f"<{n}H", self.buf, vt + 4) if n else ()
        return _Table(pos, osize, fields, what)

    def scalar(self, t: _Table, number: int, fmt: str, default: Any = 0) -> Any:
        s = _SCALARS[fmt]
        p = t.field(number, s.size)
        return s.unpack_from(self.buf, p)[0] if p else default

    def ref(self, t: _Table, number: int) -> int:
        """Target position of an offset field, or 0 when the field is absent."""
        p = t.field(number, 4)
        if not p:
            return 0
        target = p + _U32.unpack_from(self.buf, p)[0]
        if target > self.size - 4:
            raise _corrupt(f"{t.what} field {number} points outside the file")
        return target

    def child(self, t: _Table, number: int, what: str) -> _Table | None:
        target = self.ref(t, number)
        return self.table(target, what) if target else None

    def vector(self, t: _Table, number: int, elem: int, what: str) -> tuple[int, int]:
        """(start of the elements, count) of a vector field; (0, 0) when absent."""
        target = self.ref(t, number)
        if not target:
            return 0, 0
        n = _U32.unpack_from(self.buf, target)[0]
        if target + 4 + n * elem > self.size:
            raise _corrupt(f"{what} claims {n} entries but the file ends first")
        return target + 4, n

    def numbers(self, t: _Table, number: int, code: str, what: str,
                limit: int = MAX_EDGES) -> list[Any] | None:
        """A vector of numbers as a list; ``None`` when the field is absent.

        More than ``limit`` entries is refused before any is read.
        """
        dtype = _NP[code]
        start, n = self.vector(t, number, dtype.itemsize, what)
        if not start:
            return None
        if n > limit:
            raise _corrupt(f"{what} has {n} entries (limit {limit})")
        return np.frombuffer(self.buf, dtype, n, start).tolist() if n else []

    def tables(self, t: _Table, number: int, what: str, limit: int = MAX_NODES) -> list[int]:
        """Positions of the tables of a vector-of-tables field (at most ``limit``)."""
        return self.table_array(t, number, what, limit).tolist()

    def table_array(self, t: _Table, number: int, what: str,
                    limit: int = MAX_NODES) -> np.ndarray:
        """`tables` as an int64 array."""
        start, n = self.vector(t, number, 4, what)
        if not n:
            return _ABSENT
        if n > limit:
            raise _corrupt(f"{what} has {n} entries (limit {limit})")
        rel = np.frombuffer(self.buf, "<u4", n, start).astype(np.int64)
        return rel + np.arange(start, start + 4 * n, 4, dtype=np.int64)

    def string(self, t: _Table, number: int) -> str | None:
        """A string field (invalid UTF-8 replaced, at most `MAX_STRING` characters)."""
        start, n = self.vector(t, number, 1, f"{t.what} string")
        return self.decode(start, n) if start else None

    def count(self, nodes: int = 0, edges: int = 0, quant: int = 0, chars: int = 0) -> None:
        """Add to the structure budgets; a file over one is refused."""
        self.nodes += nodes
        self.edges += edges
        self.quant_values += quant
        self.name_chars += chars
        if self.nodes > MAX_NODES:
            raise _corrupt(f"more than {MAX_NODES} ops, tensors and subgraphs")
        if self.edges > MAX_EDGES:
            raise _corrupt(f"more than {MAX_EDGES} op inputs and outputs")
        if self.quant_values > MAX_QUANT_VALUES:
            raise _corrupt(f"more than {MAX_QUANT_VALUES} quantization values")
        if self.name_chars > MAX_NAME_CHARS:
            raise _corrupt(f"tensor names longer than {MAX_NAME_CHARS} characters in all")

    # -- the walk ----------------------------------------------------------------------
    def walk(self) -> ModelGraph:
        try:
            return self._walk()
        except _Corrupt as exc:
            raise self.fail(str(exc)) from None
        finally:
            self.u8 = _ABSENT  # release the views so the map can be closed
            self.views.clear()

    def _walk(self) -> ModelGraph:
        model = self.table(_U32.unpack_from(self.buf, 0)[0], "model")
        graph = ModelGraph(
            "tflite", self.path, "converted",
            schema_version=self.scalar(model, _MODEL_VERSION, "I"),
            description=self.string(model, _MODEL_DESCRIPTION) or "",
        )
        buffer_spans = self.buffer_spans(model)
        opcodes = [self.opcode(pos)
                   for pos in self.tables(model, _MODEL_OPCODES, "operator_codes")]
        graph.attrs["metadata"] = self.metadata(model, buffer_spans)
        graph.attrs["subgraphs"] = []
        for s, pos in enumerate(self.tables(model, _MODEL_SUBGRAPHS, "subgraphs")):
            self.count(nodes=1)
            self.subgraph(graph, s, self.table(pos, f"subgraph {s}"), opcodes,
                          [length for _, length in buffer_spans])
        graph.attrs["signatures"] = self.signatures(model, graph)
        self.hand_over(graph)
        graph.attrs["quant_mode"] = classify_quant_mode(graph)
        return graph

    def hand_over(self, graph: ModelGraph) -> None:
        """Give the graph the slot positions and quantization values read in bulk, so
        rules need not derive them from the nodes again."""
        n = self.n_tensors

        def joined(arrays: Iterable[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate([np.zeros(0, dtype=dtype), *arrays]).astype(dtype)

        slots = list(zip(*self.slot_pieces, strict=True)) or [()] * 4
        in_pos, in_op, out_pos, out_op = (joined(piece, np.int64) for piece in slots)
        in_pos[in_pos < 0] = n
        out_pos[out_pos < 0] = n
        quant = list(zip(*self.quant_pieces, strict=True)) or [()] * 6
        graph.set_bulk(BulkFacts(
            slot_positions=SlotPositions(in_pos, in_op, out_pos, out_op, n),
            quant_values=QuantValues(
                n_scale=joined(quant[0], np.int64), scale=joined(quant[1], np.float64),
                n_zp=joined(quant[2], np.int64), zp=joined(quant[3], np.float64),
                axis=joined(quant[4], np.int64), minmax_equal=joined(quant[5], np.bool_),
                exact_only=False)))

    # -- model-level tables --------------------------------------------------------
    def buffer_spans(self, model: _Table) -> list[tuple[int, int]]:
        """(file offset, length) of every buffer's bytes, checked, without reading them."""
        b = _Batch(self, self.table_array(model, _MODEL_BUFFERS, "buffers"),
                   lambda k: f"buffer {k}")
        start, n = b.vector(_B_DATA, 1, " data")
        offset, length = b.scalar(_B_OFFSET, _U8), b.scalar(_B_SIZE, _U8)
        external = (n == 0) & (offset > 1)
        end = offset + length
        b.first(external & ((end < offset) | (end > self.size)),
                lambda k: f"buffer {k} (offset {offset[k]}, {length[k]} bytes) lies outside "
                f"the {self.size}-byte file; truncated?")
        span_start = np.where(n > 0, start, np.where(external, offset.astype(np.int64), 0))
        span_len = np.where(n > 0, n, np.where(external, length.astype(np.int64), 0))
        return list(zip(span_start.tolist(), span_len.tolist(), strict=True))

    def opcode(self, pos: int) -> dict[str, Any]:
        """An operator code; one table referenced many times is read once."""
        cached = self.opcodes.get(pos)
        if cached is not None:
            return cached
        oc = self.table(pos, "operator code")
        code = max(self.scalar(oc, _OC_CODE, "i"), self.scalar(oc, _OC_DEPRECATED_CODE, "b"))
        name = builtin_name(code)
        custom = (self.string(oc, _OC_CUSTOM) or "") if name == "CUSTOM" else None
        out = {"code": code, "name": name, "custom_code": custom,
               "source": f"CUSTOM:{custom}" if custom is not None else name,
               "version": self.scalar(oc, _OC_VERSION, "i", 1)}
        self.opcodes[pos] = out
        return out

    def metadata(self, model: _Table, spans: list[tuple[int, int]]) -> dict[str, Any]:
        """Named metadata entries: runtime version, conversion metadata, others by size."""
        out: dict[str, Any] = {}
        for pos in self.tables(model, _MODEL_METADATA, "metadata"):
            m = self.table(pos, "metadata")
            name = self.string(m, _MD_NAME) or ""
            idx = self.scalar(m, _MD_BUFFER, "I")
            if idx >= len(spans):
                raise self.fail(f"metadata {name!r} points at missing buffer {idx}")
            start, length = spans[idx]
            if name == "min_runtime_version" and length:
                raw = bytes(self.buf[start:start + min(length, 64)])
                out[name] = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
            elif name == "CONVERSION_METADATA" and length:
                out["conversion"] = _conversion_metadata(self.buf, start)
            else:
                out[name] = {"bytes": length}
        return out

    def signatures(self, model: _Table, graph: ModelGraph) -> dict[str, Any]:
        """Signature defs; a table referenced many times is read once (no n x m blow-up)."""
        sigs: dict[str, Any] = {}
        seen: dict[int, tuple[str | None, dict[str, Any]]] = {}
        maps: dict[int, tuple[str, int]] = {}

        def tensors(sd: _Table, number: int, sub: int, i: int) -> dict[str, str]:
            out = {}
            for tpos in self.tables(sd, number, f"signature {i} tensors"):
                if tpos not in maps:
                    tm = self.table(tpos, f"signature {i} tensor map")
                    maps[tpos] = (self.string(tm, _TM_NAME) or "",
                                  self.scalar(tm, _TM_TENSOR, "I"))
                name, index = maps[tpos]
                out[name] = f"s{sub}/t{index}"
            return out

        for i, pos in enumerate(self.tables(model, _MODEL_SIGNATURES, "signature_defs")):
            if pos not in seen:
                sd = self.table(pos, f"signature {i}")
                sub = self.scalar(sd, _SD_SUBGRAPH, "I")
                seen[pos] = (self.string(sd, _SD_KEY), {
                    "subgraph": sub,
                    "inputs": tensors(sd, _SD_INPUTS, sub, i),
                    "outputs": tensors(sd, _SD_OUTPUTS, sub, i),
                })
            key, entry = seen[pos]
            sigs[key or f"signature_{i}"] = entry
        return sigs

    # -- subgraphs -------------------------------------------------------------------
    def subgraph(
        self,
        graph: ModelGraph,
        s: int,
        sg: _Table,
        opcodes: list[dict[str, Any]],
        buffer_sizes: list[int],
    ) -> None:
        tensor_pos = self.table_array(sg, _SG_TENSORS, f"subgraph {s} tensors",
                                      MAX_NODES - self.nodes)
        self.count(nodes=len(tensor_pos))
        op_pos = self.table_array(sg, _SG_OPERATORS, f"subgraph {s} operators",
                                  MAX_NODES - self.nodes)
        self.count(nodes=len(op_pos))
        n_tensors = len(tensor_pos)
        tensor_ids, tensor_names = self.tensors(graph, s, tensor_pos, buffer_sizes)
        inputs = self.indices(self.numbers(sg, _SG_INPUTS, "i", f"subgraph {s} inputs",
                                           max(n_tensors, 1)) or [], n_tensors, s)
        outputs = self.indices(self.numbers(sg, _SG_OUTPUTS, "i", f"subgraph {s} outputs",
                                            max(n_tensors, 1)) or [], n_tensors, s)
        graph.attrs["subgraphs"].append({
            "index": s,
            "name": self.string(sg, _SG_NAME) or "",
            "inputs": [tensor_ids[i] for i in inputs],
            "outputs": [tensor_ids[i] for i in outputs],
        })
        self.ops(graph, s, op_pos, opcodes, tensor_ids, tensor_names)

    def ops(self, graph: ModelGraph, s: int, op_pos: np.ndarray,
            opcodes: list[dict[str, Any]], tensor_ids: list[str],
            tensor_names: list[str]) -> None:
        """Read every operator of subgraph ``s`` and add it to the graph."""
        b = _Batch(self, op_pos, lambda k: f"op {k} of subgraph {s}")
        oc_index = b.scalar(_OP_OPCODE, _U4)
        b.first(oc_index >= len(opcodes),
                lambda k: f"op {k} of subgraph {s} uses opcode {oc_index[k]} of {len(opcodes)}")
        slots = []
        positions: list[np.ndarray] = []  # per side: tensor positions in the graph, op positions
        first_out = np.zeros(0, dtype=np.int64)  # each op's first output tensor index, or -1
        by_index: list[str | None] = [*tensor_ids, None]
        base = self.n_tensors - len(tensor_ids)  # the graph position of tensor 0
        for field, suffix in ((_OP_INPUTS, " inputs"), (_OP_OUTPUTS, " outputs")):
            _, values, ends = b.numbers_array(field, _I4, suffix, MAX_EDGES - self.edges,
                                              MAX_EDGES - self.edges)
            flat = values.tolist()
            self.count(edges=len(flat))
            if flat:
                lo, hi = min(flat), max(flat)
                if lo < -1 or hi >= len(tensor_ids):
                    bad = next(i for i in flat if not -1 <= i < len(tensor_ids))
                    raise self.fail(f"tensor index {bad} out of range in subgraph {s} "
                                    f"({len(tensor_ids)} tensors)")
            ids = tuple(map(by_index.__getitem__, flat))  # -1 (absent) is the last: None
            starts = [0, *ends.tolist()]
            slots.append(list(map(ids.__getitem__, map(slice, starts, starts[1:]))))
            counts = np.diff(ends, prepend=0)
            positions += [np.where(values < 0, -1, values.astype(np.int64) + base),
                          np.repeat(np.arange(self.n_ops, self.n_ops + b.n), counts)]
            if suffix == " outputs":
                first_out = np.full(b.n, -1, dtype=np.int64)
                has = np.flatnonzero(counts)
                first_out[has] = values[ends[has] - counts[has]]
                for k in np.flatnonzero((first_out < 0) & (counts > 1)).tolist():
                    first_out[k] = next((i for i in flat[starts[k]:starts[k + 1]] if i >= 0), -1)
        # An op is named after its first present output tensor.
        names: list[str] = list(map([*tensor_names, ""].__getitem__, first_out.tolist()))
        for k in np.flatnonzero(first_out < 0).tolist():
            names[k] = f"op{k}"
        # Ops with one opcode and one options type share an attrs template (copied per op).
        key = (oc_index * 256 + b.scalar(_OP_OPTIONS_TYPE, _U1)).tolist()
        templates: dict[int, dict[str, Any]] = {}
        for k in set(key):
            oc, opt = opcodes[k // 256], k % 256
            attr: dict[str, Any] = {"version": oc["version"]}
            if opt:
                attr["options"] = _OPTIONS_NAMES.get(opt, f"UNKNOWN_OPTIONS_{opt}")
            if oc["custom_code"] is not None:
                attr["custom_code"] = oc["custom_code"]
            templates[k] = attr
        attrs = list(map(dict.copy, map(templates.__getitem__, key)))
        oc_list = oc_index.tolist()
        graph.add_ops(s, list(map([oc["name"] for oc in opcodes].__getitem__, oc_list)),
                      list(map([oc["source"] for oc in opcodes].__getitem__, oc_list)), names,
                      slots[0], slots[1], attrs)
        self.slot_pieces.append(tuple(positions))
        self.n_ops += b.n

    def indices(self, raw: list[int], n_tensors: int, s: int) -> list[int]:
        for i in raw:
            if not 0 <= i < n_tensors:
                raise self.fail(f"tensor index {i} out of range in subgraph {s} "
                                f"({n_tensors} tensors)")
        return raw

    def tensors(self, graph: ModelGraph, s: int, pos: np.ndarray,
                buffer_sizes: list[int]) -> tuple[list[str], list[str]]:
        """Read every tensor of subgraph ``s``, add them to the graph; their ids and names."""
        def what(i: int) -> str:
            return f"tensor {i} of subgraph {s}"

        b = _Batch(self, pos, what)
        n = b.n
        names = b.strings(_T_NAME, " string")
        self.count(chars=sum(map(len, filter(None, names))))
        type_codes = b.scalar(_T_TYPE, _I1).tolist()
        has_static, static_arr, static_ends = b.numbers_array(
            _T_SHAPE, _I4, " shape", MAX_RANK, MAX_RANK * max(n, 1))
        static_flat = static_arr.tolist()
        _, sig_flat, sig_ends = b.numbers(_T_SHAPE_SIGNATURE, _I4, " shape_signature",
                                          MAX_RANK, MAX_RANK * max(n, 1))
        has_rank = b.scalar(_T_HAS_RANK, _U1)
        buf_index = b.scalar(_T_BUFFER, _U4)
        n_buffers = len(buffer_sizes)
        b.first(buf_index >= max(n_buffers, 1),
                lambda i: f"{what(i)} uses buffer {buf_index[i]} of {n_buffers}")
        sparse = b.ref(_T_SPARSITY) != 0
        variable = b.scalar(_T_VARIABLE, _U1) != 0
        quants, values = self.quants(b, _quant_limits(has_static, static_arr, static_ends))
        self.quant_pieces.append(values)
        name_of = {c: _DTYPES.get(c) or f"unknown_{c}" for c in set(type_codes)}
        dtypes = list(map(name_of.__getitem__, type_codes))
        shapes = _shapes(has_static, static_flat, static_ends, has_rank.tolist(), sig_flat,
                         sig_ends)
        data = np.asarray(buffer_sizes or [0], dtype=np.int64)[buf_index]
        constants = (data > 0).tolist()
        # Activations: elements (the product of the known dimensions) x element size.
        elems, exact = _static_elements(static_arr, static_ends)
        size_of = {c: _DTYPE_SIZE.get(name, 0) for c, name in name_of.items()}
        elem_size = np.fromiter(map(size_of.__getitem__, type_codes), dtype=np.int64, count=n)
        nbytes = np.where(data > 0, data, elems * elem_size).tolist()
        redo = (data == 0) & ~(exact & (np.diff(sig_ends, prepend=0) == 0))
        for i in np.flatnonzero(redo).tolist():  # a shape signature, or a huge product
            count = 1
            for d in shapes[i] or ():
                if d is not None and d > 0:
                    count *= d
            nbytes[i] = count * _DTYPE_SIZE.get(dtypes[i], 0)
        unknown_rank = ((np.diff(static_ends, prepend=0) == 0) & ~has_static & (has_rank == 0)
                        & (np.diff(sig_ends, prepend=0) == 0) & (data == 0))
        for i in np.flatnonzero(unknown_rank).tolist():
            nbytes[i] = 0
        extra: dict[int, dict[str, Any]] = {}
        for i in np.flatnonzero(sparse).tolist():
            extra.setdefault(i, {})["sparse"] = True
        for i in np.flatnonzero(variable).tolist():
            extra.setdefault(i, {})["variable"] = True
        plain_names = [name or "" for name in names]
        self.n_tensors += n
        return graph.add_tensors(s, plain_names, dtypes, shapes, quants, constants, nbytes,
                                 extra), plain_names

    def quants(self, tensors: _Batch, limits: np.ndarray
               ) -> tuple[list[Quant | None], tuple[np.ndarray, ...]]:
        """Quantization parameters per tensor, and the same values in bulk (the fields of
        `QuantValues`, for these tensors); more values than ``limits`` (the tensor's
        element count) is corrupt."""
        n = tensors.n
        qpos = tensors.ref(_T_QUANT)
        which = np.flatnonzero(qpos)
        out: list[Quant | None] = [None] * n
        n_scale, n_zp, axis_of = (np.zeros(n, dtype=np.int64) for _ in range(3))
        minmax_equal = np.zeros(n, dtype=bool)
        if not len(which):
            return out, (n_scale, np.zeros(0), n_zp, np.zeros(0), axis_of, minmax_equal)
        q = _Batch(self, qpos[which], lambda j: f"{tensors.what(int(which[j]))} quantization")
        limit = limits[which]
        budget = MAX_QUANT_VALUES - self.quant_values
        columns, arrays = [], []
        for field, dtype, suffix in ((_Q_SCALE, _F4, " scale"), (_Q_ZERO_POINT, _I8,
                                     " zero_point"), (_Q_MIN, _F4, " min"), (_Q_MAX, _F4, " max")):
            _, values, ends = q.numbers_array(field, dtype, suffix, limit, budget)
            flat = values.tolist()
            budget -= len(flat)
            self.count(quant=len(flat))
            columns.append(_split(flat, ends))
            arrays.append((values, ends, np.diff(ends, prepend=0)))
        axis_arr = q.scalar(_Q_AXIS, _I4)
        axis = axis_arr.tolist()
        scales, zps, mins, maxs = columns
        # An absent min or max is None; a table with no values at all is no quantization.
        mins = [v or None for v in mins] if any(mins) else [None] * len(mins)
        maxs = [v or None for v in maxs] if any(maxs) else [None] * len(maxs)
        made = list(map(tuple.__new__, repeat(Quant),  # Quant(...) without a Python call
                        zip(scales, zps, axis, mins, maxs, strict=True)))
        (scale, _, scale_count), (zp, _, zp_count), (lo, lo_ends, lo_count), (
            hi, hi_ends, hi_count) = arrays
        kept = (scale_count + zp_count + lo_count + hi_count) > 0
        for i, quant in zip(which[kept].tolist(), compress(made, kept), strict=True):
            out[i] = quant
        n_scale[which] = scale_count
        n_zp[which] = zp_count
        axis_of[which[kept]] = axis_arr[kept]
        both = np.flatnonzero((lo_count > 0) & (hi_count > 0))
        minmax_equal[which[both]] = (lo[lo_ends[both] - lo_count[both]]
                                     == hi[hi_ends[both] - hi_count[both]])
        return out, (n_scale, scale.astype(np.float64), n_zp, zp.astype(np.float64), axis_of,
                     minmax_equal)


def _split(flat: list[Any], ends: np.ndarray) -> list[tuple[Any, ...]]:
    """``flat`` cut into one tuple per table at ``ends``."""
    n = len(ends)
    if not flat:
        return [()] * n
    if len(flat) == n and bool((np.diff(ends, prepend=0) == 1).all()):
        return list(zip(flat))
    bounds = [0, *ends.tolist()]
    return list(map(tuple(flat).__getitem__, map(slice, bounds, bounds[1:])))


def _shapes(has_static: np.ndarray, static_flat: list[int], static_ends: np.ndarray,
            has_rank: list[int], sig_flat: list[int], sig_ends: np.ndarray
            ) -> list[tuple[int | None, ...] | None]:
    """Each tensor's shape: its shape signature (-1 as None) when it has one, else its
    static shape; None when the file gives neither a shape nor a rank."""
    starts = [0, *static_ends.tolist()]
    shapes: list[tuple[int | None, ...] | None] = list(
        map(tuple, map(static_flat.__getitem__, map(slice, starts, starts[1:]))))
    empty = (np.diff(static_ends, prepend=0) == 0) & ~has_static
    for i in np.flatnonzero(empty).tolist():
        if not has_rank[i]:
            shapes[i] = None
    sig_starts = [0, *sig_ends.tolist()]
    for i in np.flatnonzero(np.diff(sig_ends, prepend=0)).tolist():
        shapes[i] = tuple([None if d < 0 else d
                           for d in sig_flat[sig_starts[i]:sig_starts[i + 1]]])
    return shapes


def _static_elements(dims: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tensor, the product of the positive dimensions of its static shape (1 for none),
    and whether that product is exact (below 2**53; the caller recomputes the others)."""
    counts = np.diff(ends, prepend=0)
    if not len(counts):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    padded = np.append(np.where(dims > 0, dims, 1), 1).astype(np.float64)
    product = np.multiply.reduceat(padded, ends - counts)
    product = np.where(counts == 0, 1.0, product)
    exact = product < 2.0 ** 53
    return np.where(exact, product, 0).astype(np.int64), exact


def _quant_limits(has_static: np.ndarray, dims: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Most quantization values each tensor may have: its static element count (at least
    1), or `MAX_QUANT_VALUES` when its shape is absent or has an unknown dimension."""
    counts = np.diff(ends, prepend=0)
    starts = ends - counts
    padded = np.append(dims, 1).astype(np.float64)
    elems = np.multiply.reduceat(padded, starts) if len(starts) else np.zeros(0)
    elems = np.where(counts == 0, 1.0, elems)
    negative = np.append(dims < 0, False).astype(np.int64)
    unknown = (np.add.reduceat(negative, starts) > 0) & (counts > 0) if len(starts) else elems > 0
    known = has_static & ~unknown
    return np.where(known, np.clip(np.maximum(elems, 1), 1, MAX_QUANT_VALUES),
                    MAX_QUANT_VALUES).astype(np.int64)


def _conversion_metadata(buf: mmap.mmap, start: int) -> dict[str, Any]:
    """Read the converter's ``CONVERSION_METADATA`` flatbuffer (conversion_metadata.fbs)."""
    root = flatbuffers.table.Table(buf, flatbuffers.encode.Get(
        flatbuffers.packer.uoffset, buf, start) + start)
    out: dict[str, Any] = {}
    env_off = root.Offset(4)
    if env_off:
        env = flatbuffers.table.Table(buf, root.Indirect(env_off + root.Pos))
        o = env.Offset(4)
        if o:
            at = env.Indirect(o + env.Pos)  # a string: length, then bytes; read at most 256
            n = min(flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, at), 256)
            out["tensorflow_version"] = bytes(buf[at + 4:at + 4 + n]).decode("utf-8", "replace")
        o = env.Offset(6)
        if o:
            out["api_version"] = env.Get(flatbuffers.number_types.Uint32Flags, o + env.Pos)
        o = env.Offset(8)
        if o:
            out["model_type"] = env.Get(flatbuffers.number_types.Int32Flags, o + env.Pos)
    opt_off = root.Offset(6)
    if opt_off:
        opts = flatbuffers.table.Table(buf, root.Indirect(opt_off + root.Pos))
        o = opts.Offset(4)
        if o:
            n = opts.VectorLen(o)
            first = opts.Vector(o)
            if n > 64 or first + 4 * n > len(buf):
                raise ValueError("conversion metadata vector too long")
            modes = [flatbuffers.encode.Get(flatbuffers.packer.int32, buf, first + 4 * j)
                     for j in range(n)]
            out["optimization_modes"] = [_MODEL_OPTIMIZATION_MODES.get(m, str(m)) for m in modes]
        for off, key in ((6, "allow_custom_ops"), (8, "enable_select_tf_ops"),
                         (10, "force_select_tf_ops")):
            o = opts.Offset(off)
            if o:
                out[key] = bool(opts.Get(flatbuffers.number_types.BoolFlags, o + opts.Pos))
    return out
