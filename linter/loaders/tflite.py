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
from typing import Any

import flatbuffers
import numpy as np
from qlint.errors import ModelLoadError
from qlint.graph import ModelGraph, Quant
from qlint.quant_mode import classify_quant_mode
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

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

_BUILTIN_NAMES: dict[int, str] = {
    v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")
}
_OPTIONS_NAMES: dict[int, str] = {
    v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_")
}
_DTYPES: dict[int, str] = {
    v: k.lower() for k, v in vars(TensorType).items() if not k.startswith("_")
}
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
                path, f"not a TFLite flatbuffer: file identifier is {bytes(buf[4:8])!r}, "
                f"expected {FILE_IDENTIFIER!r}"
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
        start, n = self.vector(t, number, 4, what)
        if not n:
            return []
        if n > limit:
            raise _corrupt(f"{what} has {n} entries (limit {limit})")
        rel = np.frombuffer(self.buf, "<u4", n, start).astype(np.int64)
        return (rel + np.arange(start, start + 4 * n, 4, dtype=np.int64)).tolist()

    def string(self, t: _Table, number: int) -> str | None:
        """A string field (invalid UTF-8 replaced, at most `MAX_STRING` characters)."""
        start, n = self.vector(t, number, 1, f"{t.what} string")
        if not start:
            return None
        cached = self.strings.get(start)
        if cached is None:
            raw = self.buf[start:start + min(n, MAX_STRING)]
            cached = raw.decode("utf-8", errors="replace") + ("..." if n > MAX_STRING else "")
            self.strings[start] = cached
        return cached

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

    def _walk(self) -> ModelGraph:
        model = self.table(_U32.unpack_from(self.buf, 0)[0], "model")
        graph = ModelGraph(
            "tflite", self.path, "converted",
            schema_version=self.scalar(model, _MODEL_VERSION, "I"),
            description=self.string(model, _MODEL_DESCRIPTION) or "",
        )
        buffers = self.tables(model, _MODEL_BUFFERS, "buffers")
        buffer_spans = [self.buffer_span(k, pos) for k, pos in enumerate(buffers)]
        opcodes = [self.opcode(pos)
                   for pos in self.tables(model, _MODEL_OPCODES, "operator_codes")]
        graph.attrs["metadata"] = self.metadata(model, buffer_spans)
        graph.attrs["subgraphs"] = []
        for s, pos in enumerate(self.tables(model, _MODEL_SUBGRAPHS, "subgraphs")):
            self.count(nodes=1)
            self.subgraph(graph, s, self.table(pos, f"subgraph {s}"), opcodes,
                          [length for _, length in buffer_spans])
        graph.attrs["signatures"] = self.signatures(model, graph)
        graph.attrs["quant_mode"] = classify_quant_mode(graph)
        return graph

    # -- model-level tables --------------------------------------------------------
    def buffer_span(self, k: int, pos: int) -> tuple[int, int]:
        """(file offset, length) of buffer ``k``'s bytes, checked, without reading them."""
        b = self.table(pos, f"buffer {k}")
        start, n = self.vector(b, _B_DATA, 1, f"buffer {k} data")
        if n:
            return start, n
        offset = self.scalar(b, _B_OFFSET, "Q")
        if offset > 1:
            length = self.scalar(b, _B_SIZE, "Q")
            if offset + length > self.size:
                raise _corrupt(f"buffer {k} (offset {offset}, {length} bytes) lies outside "
                               f"the {self.size}-byte file; truncated?")
            return offset, length
        return 0, 0

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
        tensor_pos = self.tables(sg, _SG_TENSORS, f"subgraph {s} tensors",
                                 MAX_NODES - self.nodes)
        self.count(nodes=len(tensor_pos))
        op_pos = self.tables(sg, _SG_OPERATORS, f"subgraph {s} operators",
                             MAX_NODES - self.nodes)
        self.count(nodes=len(op_pos))
        n_tensors = len(tensor_pos)
        tensor_ids = [self.tensor(graph, s, i, pos, buffer_sizes)
                      for i, pos in enumerate(tensor_pos)]
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
        for k, pos in enumerate(op_pos):
            op = self.table(pos, f"op {k} of subgraph {s}")
            oc_index = self.scalar(op, _OP_OPCODE, "I")
            if oc_index >= len(opcodes):
                raise self.fail(f"op {k} of subgraph {s} uses opcode {oc_index} of "
                                f"{len(opcodes)}")
            oc = opcodes[oc_index]
            raw_ins = self.numbers(op, _OP_INPUTS, "i", f"op {k} of subgraph {s} inputs",
                                   MAX_EDGES - self.edges) or []
            self.count(edges=len(raw_ins))
            raw_outs = self.numbers(op, _OP_OUTPUTS, "i", f"op {k} of subgraph {s} outputs",
                                    MAX_EDGES - self.edges) or []
            self.count(edges=len(raw_outs))
            ins = self.op_tensors(raw_ins, tensor_ids, s)
            outs = self.op_tensors(raw_outs, tensor_ids, s)
            first_out = next((t for t in outs if t is not None), None)
            name = graph[first_out]["name"] if first_out else f"op{k}"
            source = f"CUSTOM:{oc['custom_code']}" if oc["custom_code"] is not None else oc["name"]
            attrs: dict[str, Any] = {"version": oc["version"]}
            opt_type = self.scalar(op, _OP_OPTIONS_TYPE, "B")
            if opt_type:
                attrs["options"] = _OPTIONS_NAMES.get(opt_type, f"UNKNOWN_OPTIONS_{opt_type}")
            if oc["custom_code"] is not None:
                attrs["custom_code"] = oc["custom_code"]
            graph.add_op(
                s, k,
                op_type=oc["name"],
                source_op=source,
                name=name,
                inputs=ins,
                outputs=outs,
                attrs=attrs,
                location=f"subgraph[{s}]/op[{k}]:{source}({name})",
            )

    def indices(self, raw: list[int], n_tensors: int, s: int) -> list[int]:
        for i in raw:
            if not 0 <= i < n_tensors:
                raise self.fail(f"tensor index {i} out of range in subgraph {s} "
                                f"({n_tensors} tensors)")
        return raw

    def op_tensors(self, raw: list[int], tensor_ids: list[str], s: int) -> list[str | None]:
        out: list[str | None] = []
        for i in raw:
            if i == -1:  # optional input left out
                out.append(None)
            elif 0 <= i < len(tensor_ids):
                out.append(tensor_ids[i])
            else:
                raise self.fail(f"tensor index {i} out of range in subgraph {s} "
                                f"({len(tensor_ids)} tensors)")
        return out

    def tensor(
        self, graph: ModelGraph, s: int, i: int, pos: int, buffer_sizes: list[int]
    ) -> str:
        what = f"tensor {i} of subgraph {s}"
        t = self.table(pos, what)
        name = self.string(t, _T_NAME) or ""
        self.count(chars=len(name))
        type_code = self.scalar(t, _T_TYPE, "b")
        dtype = _DTYPES.get(type_code, f"unknown_{type_code}")
        static = self.numbers(t, _T_SHAPE, "i", f"{what} shape", MAX_RANK)
        sig = self.numbers(t, _T_SHAPE_SIGNATURE, "i", f"{what} shape_signature", MAX_RANK)
        shape: tuple[int | None, ...] | None
        if sig:
            shape = tuple(None if d < 0 else d for d in sig)
        elif static:
            shape = tuple(static)
        else:
            shape = None if static is None and not self.scalar(t, _T_HAS_RANK, "?") else ()
        buf_index = self.scalar(t, _T_BUFFER, "I")
        if not 0 <= buf_index < max(len(buffer_sizes), 1):
            raise self.fail(f"{what} uses buffer {buf_index} of {len(buffer_sizes)}")
        data = buffer_sizes[buf_index] if buffer_sizes else 0
        constant = data > 0
        elems = 1
        for d in shape or ():
            elems *= d if d is not None and d > 0 else 1
        computed = elems * _DTYPE_SIZE.get(dtype, 0) if shape is not None else 0
        nbytes = data if constant else computed
        extra: dict[str, Any] = {}
        if self.ref(t, _T_SPARSITY):
            extra["sparse"] = True
        if self.scalar(t, _T_VARIABLE, "?"):
            extra["variable"] = True
        static_elems = None
        if static is not None and all(d >= 0 for d in static):
            static_elems = 1
            for d in static:
                static_elems *= d
        q = self.child(t, _T_QUANT, f"{what} quantization")
        return graph.add_tensor(
            s, i,
            name=name,
            dtype=dtype,
            shape=shape,
            quant=self.quant(q, what, static_elems) if q is not None else None,
            constant=constant,
            nbytes=nbytes,
            **extra,
        )

    def quant(self, q: _Table, what: str, elems: int | None) -> Quant | None:
        """Quantization parameters; more values than the tensor has elements is corrupt."""
        limit = min(max(elems, 1) if elems is not None else MAX_QUANT_VALUES,
                    MAX_QUANT_VALUES - self.quant_values)
        scale = self.numbers(q, _Q_SCALE, "f", f"{what} quantization scale", limit)
        zp = self.numbers(q, _Q_ZERO_POINT, "q", f"{what} quantization zero_point", limit)
        lo = self.numbers(q, _Q_MIN, "f", f"{what} quantization min", limit)
        hi = self.numbers(q, _Q_MAX, "f", f"{what} quantization max", limit)
        if not (scale or zp or lo or hi):
            return None
        self.count(quant=len(scale or ()) + len(zp or ()) + len(lo or ()) + len(hi or ()))
        return Quant(
            scale=tuple(scale or ()),
            zero_point=tuple(zp or ()),
            axis=self.scalar(q, _Q_AXIS, "i"),
            min=tuple(lo) if lo else None,
            max=tuple(hi) if hi else None,
        )


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
