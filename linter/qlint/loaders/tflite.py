"""Load a `.tflite` flatbuffer into a `ModelGraph`: the walk over the TFLite schema.

The file is mapped read-only with ``mmap`` and read with the verified flatbuffer reader
(`qlint.loaders.flatbuf`) against the TFLite schema (`qlint.loaders.tflite_schema`, generated
from the real schema); weight buffers are never read, only their sizes.  Every tensor,
buffer and opcode index is checked against its table.  The tables of one kind are read in
bulk over the whole model (every subgraph's tensors in one batch, every op in another), so
the cost is linear in what the file holds, however many subgraphs it has.  Structure limits
(`MAX_NODES`, `MAX_EDGES`, `MAX_RANK`, quantization values, name characters; one SubGraph
table referenced by two subgraphs is refused) keep a hostile file from making the walk slow
or memory-hungry.  Anything wrong becomes a `ModelLoadError` (one line, exit code 2); an
out-of-range read the checks missed is caught at the one place the walk is entered and
becomes one too.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import struct
from collections.abc import Iterable
from itertools import compress, repeat
from typing import Any

import numpy as np

from qlint.errors import ModelLoadError
from qlint.graph import BulkFacts, ModelGraph, Quant, SlotPositions
from qlint.loaders import tflite_schema as schema
from qlint.loaders.flatbuf import (
    ABSENT,
    F4,
    I1,
    I4,
    I8,
    MAX_STRING,
    MAX_TABLES,
    U1,
    U4,
    U8,
    Batch,
    Corrupt,
    Reader,
    Table,
    msg_too_many,
)
from qlint.quant_columns import QuantValues
from qlint.quant_mode import classify_quant_mode

__all__ = ["MAX_EDGES", "MAX_NODES", "MAX_STRING", "MAX_TABLES", "builtin_name", "load_tflite"]

FILE_IDENTIFIER = b"TFL3"

# Structure limits.  A real model is far below them (a 100k-op model has ~330k nodes and
# ~300k edges); a hostile file can reference one table many times and claim far more.  They
# bound the walk's time and memory (a few GB at worst) whatever the file says.
MAX_NODES = 1_000_000  # ops + tensors + subgraphs over the model
MAX_EDGES = 4_000_000  # op input and output slots over the model
MAX_RANK = 64  # dimensions of one tensor
MAX_QUANT_VALUES = 1 << 24  # scale, zero point, min and max values over the model
MAX_NAME_CHARS = 1 << 26  # characters of tensor names over the model
MAX_METADATA_STRING = 256  # characters kept of a string of the conversion metadata
MAX_OPTIMIZATION_MODES = 64  # entries of the conversion metadata's optimization modes

# Bytes per element, as stored (sub-byte types count one byte; opaque types nothing).
_DTYPE_SIZE = {
    "float32": 4, "float16": 2, "int32": 4, "uint8": 1, "int64": 8, "bool": 1,
    "int16": 2, "int8": 1, "float64": 8, "uint64": 8, "uint32": 4, "uint16": 2,
    "bfloat16": 2, "complex64": 8, "complex128": 16, "int4": 1, "uint4": 1, "int2": 1,
    "float8_e4m3fn": 1, "float8_e5m2": 1,
}
_BLOCKWISE = next(k for k, v in schema.QUANTIZATION_DETAILS.items()
                  if v == "BlockwiseQuantization")
_U32 = struct.Struct("<I")


def builtin_name(code: int) -> str:
    """Canonical name of a builtin code; ``UNKNOWN_<n>`` for codes newer than the schema."""
    return schema.BUILTIN_OPERATORS.get(code, f"UNKNOWN_{code}")


def dtype_name(code: int) -> str:
    """numpy-style name of a tensor type (``int8``, ``int4``); ``unknown_<n>`` otherwise."""
    return schema.TENSOR_TYPES.get(code) or f"unknown_{code}"


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


def _namer(kind: str, ends: np.ndarray) -> Any:
    """``what(i)`` for entry ``i`` of a batch over every subgraph: ``<kind> k of subgraph s``
    (``ends`` are the cumulative entry counts per subgraph)."""
    def what(i: int) -> str:
        s = int(np.searchsorted(ends, i, side="right"))
        return f"{kind} {i - (int(ends[s - 1]) if s else 0)} of subgraph {s}"
    return what


class _Walker(Reader):
    """One pass over the flatbuffer, verifying and building the graph."""

    def __init__(self, path: str, buf: mmap.mmap, size: int) -> None:
        super().__init__(buf, size)
        self.path = path
        self.nodes = 0
        self.edges = 0
        self.quant_values = 0
        self.name_chars = 0
        self.opcodes: dict[int, dict[str, Any]] = {}
        # What the walk read in bulk, handed to the graph at the end.
        self.n_tensors = 0
        self.quant_pieces: tuple[np.ndarray, ...] = ()
        self.slot_pieces: list[np.ndarray] = []

    def fail(self, message: str) -> ModelLoadError:
        return ModelLoadError(self.path, f"corrupt TFLite flatbuffer: {message}")

    def count(self, nodes: int = 0, edges: int = 0, quant: int = 0, chars: int = 0) -> None:
        """Add to the structure budgets; a file over one is refused."""
        self.nodes += nodes
        self.edges += edges
        self.quant_values += quant
        self.name_chars += chars
        if self.nodes > MAX_NODES:
            raise Corrupt(f"more than {MAX_NODES} ops, tensors and subgraphs")
        if self.edges > MAX_EDGES:
            raise Corrupt(f"more than {MAX_EDGES} op inputs and outputs")
        if self.quant_values > MAX_QUANT_VALUES:
            raise Corrupt(f"more than {MAX_QUANT_VALUES} quantization values")
        if self.name_chars > MAX_NAME_CHARS:
            raise Corrupt(f"tensor names longer than {MAX_NAME_CHARS} characters in all")

    # -- the walk ----------------------------------------------------------------------
    def walk(self) -> ModelGraph:
        try:
            return self._walk()
        except Corrupt as exc:
            raise self.fail(str(exc)) from None
        finally:
            self.release()  # the numpy views, so the map can be closed

    def _walk(self) -> ModelGraph:
        model = self.table(self.root(), "model")
        graph = ModelGraph(
            "tflite", self.path, "converted",
            schema_version=self.scalar(model, schema.MODEL_VERSION, "I"),
            description=self.string(model, schema.MODEL_DESCRIPTION) or "",
        )
        buffer_spans = self.buffer_spans(model)
        opcodes = [self.opcode(pos) for pos in self.tables(
            model, schema.MODEL_OPERATOR_CODES, "operator_codes", MAX_NODES)]
        graph.attrs["metadata"] = self.metadata(model, buffer_spans)
        graph.attrs["subgraphs"] = []
        self.subgraphs(graph, model, opcodes, [length for _, length in buffer_spans])
        graph.attrs["signatures"] = self.signatures(model)
        self.hand_over(graph)
        graph.attrs["quant_mode"] = classify_quant_mode(graph)
        return graph

    def hand_over(self, graph: ModelGraph) -> None:
        """Give the graph the slot positions and quantization values read in bulk, so
        rules need not derive them from the nodes again."""
        n = self.n_tensors

        def joined(arrays: Iterable[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate([np.zeros(0, dtype=dtype), *arrays]).astype(dtype)

        in_pos, in_op, out_pos, out_op = (
            self.slot_pieces or [np.zeros(0, dtype=np.int64)] * 4)
        in_pos[in_pos < 0] = n
        out_pos[out_pos < 0] = n
        quant: list[tuple[np.ndarray, ...]] = (
            [(piece,) for piece in self.quant_pieces] or [()] * 6)
        graph.set_bulk(BulkFacts(
            slot_positions=SlotPositions(in_pos, in_op, out_pos, out_op, n),
            quant_values=QuantValues(
                n_scale=joined(quant[0], np.int64), scale=joined(quant[1], np.float64),
                n_zp=joined(quant[2], np.int64), zp=joined(quant[3], np.float64),
                axis=joined(quant[4], np.int64), minmax_equal=joined(quant[5], np.bool_),
                exact_only=False)))

    # -- model-level tables --------------------------------------------------------
    def buffer_spans(self, model: Table) -> list[tuple[int, int]]:
        """(file offset, length) of every buffer's bytes, checked, without reading them."""
        b = Batch(self, self.table_array(model, schema.MODEL_BUFFERS, "buffers", MAX_NODES),
                  lambda k: f"buffer {k}")
        start, n = b.vector(schema.BUFFER_DATA, 1, " data")
        offset, length = b.scalar(schema.BUFFER_OFFSET, U8), b.scalar(schema.BUFFER_SIZE, U8)
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
        code = max(self.scalar(oc, schema.OPERATOR_CODE_BUILTIN_CODE, "i"),
                   self.scalar(oc, schema.OPERATOR_CODE_DEPRECATED_BUILTIN_CODE, "b"))
        name = builtin_name(code)
        custom = ((self.string(oc, schema.OPERATOR_CODE_CUSTOM_CODE) or "")
                  if name == "CUSTOM" else None)
        out = {"code": code, "name": name, "custom_code": custom,
               "source": f"CUSTOM:{custom}" if custom is not None else name,
               "version": self.scalar(oc, schema.OPERATOR_CODE_VERSION, "i", 1)}
        self.opcodes[pos] = out
        return out

    def metadata(self, model: Table, spans: list[tuple[int, int]]) -> dict[str, Any]:
        """Named metadata entries: runtime version, conversion metadata, others by size."""
        out: dict[str, Any] = {}
        for pos in self.tables(model, schema.MODEL_METADATA, "metadata", MAX_NODES):
            m = self.table(pos, "metadata")
            name = self.string(m, schema.METADATA_NAME) or ""
            idx = self.scalar(m, schema.METADATA_BUFFER, "I")
            if idx >= len(spans):
                raise self.fail(f"metadata {name!r} points at missing buffer {idx}")
            start, length = spans[idx]
            if name == "min_runtime_version" and length:
                raw = bytes(self.buf[start:start + min(length, 64)])
                out[name] = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
            elif name == "CONVERSION_METADATA" and length:
                out["conversion"] = self.conversion_metadata(start)
            else:
                out[name] = {"bytes": length}
        return out

    def conversion_metadata(self, start: int) -> dict[str, Any]:
        """The converter's ``CONVERSION_METADATA`` flatbuffer (conversion_metadata.fbs),
        nested in a buffer at ``start``, read with the same verified reader."""
        root = self.table(self.root(start), "conversion metadata")
        out: dict[str, Any] = {}
        env = self.child(root, schema.CONVERSION_METADATA_ENVIRONMENT,
                         "conversion metadata environment")
        if env is not None:
            version = self.string(env, schema.ENVIRONMENT_TENSORFLOW_VERSION,
                                  MAX_METADATA_STRING)
            if version is not None:
                out["tensorflow_version"] = version
            for number, key, fmt in ((schema.ENVIRONMENT_API_VERSION, "api_version", "I"),
                                     (schema.ENVIRONMENT_MODEL_TYPE, "model_type", "i")):
                if env.field(number, 4):
                    out[key] = self.scalar(env, number, fmt)
        opts = self.child(root, schema.CONVERSION_METADATA_OPTIONS,
                          "conversion metadata options")
        if opts is not None:
            modes = self.numbers(opts, schema.CONVERSION_OPTIONS_MODEL_OPTIMIZATION_MODES, "i",
                                 "conversion metadata optimization modes",
                                 MAX_OPTIMIZATION_MODES)
            if modes is not None:
                out["optimization_modes"] = [
                    schema.MODEL_OPTIMIZATION_MODES.get(m, str(m)) for m in modes]
            for number, key in ((schema.CONVERSION_OPTIONS_ALLOW_CUSTOM_OPS, "allow_custom_ops"),
                                (schema.CONVERSION_OPTIONS_ENABLE_SELECT_TF_OPS,
                                 "enable_select_tf_ops"),
                                (schema.CONVERSION_OPTIONS_FORCE_SELECT_TF_OPS,
                                 "force_select_tf_ops")):
                if opts.field(number, 1):
                    out[key] = bool(self.scalar(opts, number, "?"))
        return out

    def signatures(self, model: Table) -> dict[str, Any]:
        """Signature defs; a table referenced many times is read once (no n x m blow-up)."""
        sigs: dict[str, Any] = {}
        seen: dict[int, tuple[str | None, dict[str, Any]]] = {}
        maps: dict[int, tuple[str, int]] = {}

        def tensors(sd: Table, number: int, sub: int, i: int) -> dict[str, str]:
            out = {}
            for tpos in self.tables(sd, number, f"signature {i} tensors", MAX_NODES):
                if tpos not in maps:
                    tm = self.table(tpos, f"signature {i} tensor map")
                    maps[tpos] = (self.string(tm, schema.TENSOR_MAP_NAME) or "",
                                  self.scalar(tm, schema.TENSOR_MAP_TENSOR_INDEX, "I"))
                name, index = maps[tpos]
                out[name] = f"s{sub}/t{index}"
            return out

        for i, pos in enumerate(self.tables(model, schema.MODEL_SIGNATURE_DEFS,
                                            "signature_defs", MAX_NODES)):
            if pos not in seen:
                sd = self.table(pos, f"signature {i}")
                sub = self.scalar(sd, schema.SIGNATURE_DEF_SUBGRAPH_INDEX, "I")
                seen[pos] = (self.string(sd, schema.SIGNATURE_DEF_SIGNATURE_KEY), {
                    "subgraph": sub,
                    "inputs": tensors(sd, schema.SIGNATURE_DEF_INPUTS, sub, i),
                    "outputs": tensors(sd, schema.SIGNATURE_DEF_OUTPUTS, sub, i),
                })
            key, entry = seen[pos]
            sigs[key or f"signature_{i}"] = entry
        return sigs

    # -- subgraphs -------------------------------------------------------------------
    def subgraphs(self, graph: ModelGraph, model: Table, opcodes: list[dict[str, Any]],
                  buffer_sizes: list[int]) -> None:
        """Read every subgraph, with all their tensors and all their ops in two batches."""
        pos = self.table_array(model, schema.MODEL_SUBGRAPHS, "subgraphs", MAX_NODES)
        if len(np.unique(pos)) < len(pos):
            order = np.argsort(pos, kind="stable")
            again = np.flatnonzero(pos[order][1:] == pos[order][:-1])
            j = int(min(order[again + 1]))
            i = int(np.flatnonzero(pos == pos[j])[0])
            raise Corrupt(f"subgraph {j} is the same table as subgraph {i} "
                          "(a converter writes each subgraph once)")
        sg = Batch(self, pos, lambda s: f"subgraph {s}")
        t_start, t_count = sg.vector(schema.SUB_GRAPH_TENSORS, 4, " tensors")
        o_start, o_count = sg.vector(schema.SUB_GRAPH_OPERATORS, 4, " operators")
        for s, (nt, no) in enumerate(zip(t_count.tolist(), o_count.tolist(), strict=True)):
            self.count(nodes=1)
            for n, kind in ((nt, "tensors"), (no, "operators")):
                if n > MAX_NODES - self.nodes:
                    raise Corrupt(msg_too_many(f"subgraph {s} {kind}", n,
                                               MAX_NODES - self.nodes))
                self.count(nodes=n)
        tensor_ends, op_ends = np.cumsum(t_count), np.cumsum(o_count)
        tensor_pos = self.table_refs(t_start, t_count)
        op_pos = self.table_refs(o_start, o_count)
        columns = self.tensors(tensor_pos, tensor_ends, buffer_sizes)
        n_tensors = t_count.tolist()
        limit = np.maximum(t_count, 1)
        io_of: dict[str, tuple[list[int], list[int]]] = {}  # the values, cut per subgraph
        for field, key in ((schema.SUB_GRAPH_INPUTS, "inputs"),
                           (schema.SUB_GRAPH_OUTPUTS, "outputs")):
            _, flat, ends = sg.numbers(field, I4, f" {key}", limit, MAX_NODES)
            self.check_indices(flat, ends, n_tensors, lowest=0)
            io_of[key] = (flat, [0, *ends.tolist()])
        names = sg.strings(schema.SUB_GRAPH_NAME, " string")
        ops = self.ops(op_pos, op_ends, tensor_ends, opcodes, columns["names"])
        t_bounds, o_bounds = [0, *tensor_ends.tolist()], [0, *op_ends.tolist()]
        extra: list[dict[int, dict[str, Any]]] = [{} for _ in range(len(pos))]
        for i, more in columns["extra"].items():
            s = int(np.searchsorted(tensor_ends, i, side="right"))
            extra[s][i - t_bounds[s]] = more
        for s in range(len(pos)):
            t0, t1 = t_bounds[s], t_bounds[s + 1]
            c = {k: v[t0:t1] for k, v in columns.items() if k != "extra"}
            ids = graph.add_tensors(s, c["names"], c["dtypes"], c["shapes"], c["quants"],
                                    c["constants"], c["nbytes"], extra[s])
            io = {k: [ids[i] for i in flat[b[s]:b[s + 1]]] for k, (flat, b) in io_of.items()}
            graph.attrs["subgraphs"].append({"index": s, "name": names[s] or "", **io})
            o0, o1 = o_bounds[s], o_bounds[s + 1]
            o = {k: v[o0:o1] for k, v in ops.items()}
            graph.add_ops(s, o["types"], o["sources"], o["names"], o["inputs"], o["outputs"],
                          o["attrs"])

    def table_refs(self, start: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Positions of the tables of several (checked) vectors of tables, concatenated."""
        total = int(count.sum())
        if not total:
            return ABSENT
        ends = np.cumsum(count)
        at = np.repeat(start - (ends - count) * 4, count) + np.arange(total) * 4
        return at + self.read(at, U4).astype(np.int64)

    def check_indices(self, flat: list[int], ends: np.ndarray, n_tensors: list[int],
                      lowest: int) -> None:
        """Every tensor index in ``flat`` (cut per subgraph at ``ends``) is in range;
        ``lowest`` is -1 where an absent optional slot is allowed."""
        if not flat:
            return
        values = np.asarray(flat, dtype=np.int64)
        sub = np.repeat(np.arange(len(ends)), np.diff(ends, prepend=0))
        bad = (values < lowest) | (values >= np.asarray(n_tensors, dtype=np.int64)[sub])
        if bad.any():
            k = int(np.argmax(bad))
            s = int(sub[k])
            raise Corrupt(f"tensor index {flat[k]} out of range in subgraph {s} "
                          f"({n_tensors[s]} tensors)")

    def ops(self, op_pos: np.ndarray, op_ends: np.ndarray, tensor_ends: np.ndarray,
            opcodes: list[dict[str, Any]], tensor_names: list[str]) -> dict[str, list[Any]]:
        """Read every operator of every subgraph; the columns `ModelGraph.add_ops` takes."""
        what = _namer("op", op_ends)
        b = Batch(self, op_pos, what)
        oc_index = b.scalar(schema.OPERATOR_OPCODE_INDEX, U4)
        b.first(oc_index >= len(opcodes),
                lambda k: f"{what(k)} uses opcode {oc_index[k]} of {len(opcodes)}")
        n_sub = len(op_ends)
        sub_of_op = np.repeat(np.arange(n_sub), np.diff(op_ends, prepend=0))
        t_counts = np.diff(tensor_ends, prepend=0)
        base = (tensor_ends - t_counts)  # the graph position of each subgraph's tensor 0
        ids_ext = [f"s{s}/t{i}" for s, n in enumerate(t_counts.tolist()) for i in range(n)]
        absent = len(ids_ext)
        ids_ext.append(None)  # type: ignore[arg-type]
        slots: list[list[tuple[str | None, ...]]] = []
        first_out = np.zeros(0, dtype=np.int64)  # each op's first output (graph position)
        for field, suffix in ((schema.OPERATOR_INPUTS, " inputs"),
                              (schema.OPERATOR_OUTPUTS, " outputs")):
            _, values, ends = b.numbers_array(field, I4, suffix, MAX_EDGES - self.edges,
                                              MAX_EDGES - self.edges)
            flat = values.tolist()
            self.count(edges=len(flat))
            counts = np.diff(ends, prepend=0)
            slot_sub = np.repeat(sub_of_op, counts)
            self.check_indices(flat, np.cumsum(np.bincount(slot_sub, minlength=n_sub)),
                               t_counts.tolist(), lowest=-1)
            gpos = np.where(values < 0, -1, values.astype(np.int64) + base[slot_sub])
            ids = tuple(map(ids_ext.__getitem__, np.where(gpos < 0, absent, gpos).tolist()))
            starts = [0, *ends.tolist()]
            slots.append(list(map(ids.__getitem__, map(slice, starts, starts[1:]))))
            self.slot_pieces += [gpos, np.repeat(np.arange(b.n), counts)]
            if suffix == " outputs":
                first_out = np.full(b.n, -1, dtype=np.int64)
                has = np.flatnonzero(counts)
                first_out[has] = gpos[ends[has] - counts[has]]
                for k in np.flatnonzero((first_out < 0) & (counts > 1)).tolist():
                    first_out[k] = next((int(i) for i in gpos[starts[k]:starts[k + 1]]
                                         if i >= 0), -1)
        # An op is named after its first present output tensor.
        names: list[str] = list(map([*tensor_names, ""].__getitem__, first_out.tolist()))
        op_starts = op_ends - np.diff(op_ends, prepend=0)
        for k in np.flatnonzero(first_out < 0).tolist():
            names[k] = f"op{k - int(op_starts[sub_of_op[k]])}"
        # Ops with one opcode and one options type share an attrs template (copied per op).
        key = (oc_index * 256 + b.scalar(schema.OPERATOR_BUILTIN_OPTIONS_TYPE, U1)).tolist()
        templates: dict[int, dict[str, Any]] = {}
        for k in set(key):
            oc, opt = opcodes[k // 256], k % 256
            attr: dict[str, Any] = {"version": oc["version"]}
            if opt:
                attr["options"] = schema.BUILTIN_OPTIONS.get(opt, f"UNKNOWN_OPTIONS_{opt}")
            if oc["custom_code"] is not None:
                attr["custom_code"] = oc["custom_code"]
            templates[k] = attr
        oc_list = oc_index.tolist()
        return {"types": list(map([oc["name"] for oc in opcodes].__getitem__, oc_list)),
                "sources": list(map([oc["source"] for oc in opcodes].__getitem__, oc_list)),
                "names": names, "inputs": slots[0], "outputs": slots[1],
                "attrs": list(map(dict.copy, map(templates.__getitem__, key)))}

    def tensors(self, pos: np.ndarray, ends: np.ndarray,
                buffer_sizes: list[int]) -> dict[str, Any]:
        """Read every tensor of every subgraph (``ends``: cumulative count per subgraph);
        the columns `ModelGraph.add_tensors` takes, over the whole model."""
        what = _namer("tensor", ends)
        b = Batch(self, pos, what)
        n = self.n_tensors = b.n
        names = b.strings(schema.TENSOR_NAME, " string")
        self.count(chars=sum(map(len, filter(None, names))))
        type_codes = b.scalar(schema.TENSOR_TYPE, I1).tolist()
        has_static, static_arr, static_ends = b.numbers_array(
            schema.TENSOR_SHAPE, I4, " shape", MAX_RANK, MAX_RANK * max(n, 1))
        static_flat = static_arr.tolist()
        _, sig_flat, sig_ends = b.numbers(schema.TENSOR_SHAPE_SIGNATURE, I4, " shape_signature",
                                          MAX_RANK, MAX_RANK * max(n, 1))
        has_rank = b.scalar(schema.TENSOR_HAS_RANK, U1)
        buf_index = b.scalar(schema.TENSOR_BUFFER, U4)
        n_buffers = len(buffer_sizes)
        b.first(buf_index >= max(n_buffers, 1),
                lambda i: f"{what(i)} uses buffer {buf_index[i]} of {n_buffers}")
        sparse = b.ref(schema.TENSOR_SPARSITY) != 0
        variable = b.scalar(schema.TENSOR_IS_VARIABLE, U1) != 0
        quants, values = self.quants(b, _quant_limits(has_static, static_arr, static_ends),
                                     ends)
        self.quant_pieces = values
        name_of = {c: dtype_name(c) for c in set(type_codes)}
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
        return {"names": [name or "" for name in names], "dtypes": dtypes, "shapes": shapes,
                "quants": quants, "constants": constants, "nbytes": nbytes, "extra": extra}

    def quants(self, tensors: Batch, limits: np.ndarray, ends: np.ndarray
               ) -> tuple[list[Quant | None], tuple[np.ndarray, ...]]:
        """Quantization parameters per tensor, and the same values in bulk (the fields of
        `QuantValues`, for these tensors); more values than ``limits`` (the tensor's
        element count) is corrupt.  ``ends``: cumulative tensor count per subgraph."""
        n = tensors.n
        qpos = tensors.ref(schema.TENSOR_QUANTIZATION)
        which = np.flatnonzero(qpos)
        out: list[Quant | None] = [None] * n
        n_scale, n_zp, axis_of = (np.zeros(n, dtype=np.int64) for _ in range(3))
        minmax_equal = np.zeros(n, dtype=bool)
        if not len(which):
            return out, (n_scale, np.zeros(0), n_zp, np.zeros(0), axis_of, minmax_equal)
        q = Batch(self, qpos[which], lambda j: f"{tensors.what(int(which[j]))} quantization")
        limit = limits[which]
        budget = MAX_QUANT_VALUES - self.quant_values
        columns, arrays = [], []
        for field, dtype, suffix in (
                (schema.QUANTIZATION_PARAMETERS_SCALE, F4, " scale"),
                (schema.QUANTIZATION_PARAMETERS_ZERO_POINT, I8, " zero_point"),
                (schema.QUANTIZATION_PARAMETERS_MIN, F4, " min"),
                (schema.QUANTIZATION_PARAMETERS_MAX, F4, " max")):
            _, values, v_ends = q.numbers_array(field, dtype, suffix, limit, budget)
            flat = values.tolist()
            budget -= len(flat)
            self.count(quant=len(flat))
            columns.append(_split(flat, v_ends))
            arrays.append((values, v_ends, np.diff(v_ends, prepend=0)))
        axis_arr = q.scalar(schema.QUANTIZATION_PARAMETERS_QUANTIZED_DIMENSION, I4)
        axis = axis_arr.tolist()
        blocks = self.blockwise(q, which, ends)
        scales, zps, lo_values, hi_values = columns
        # An absent min or max is None; a table with no values at all is no quantization.
        mins = [v or None for v in lo_values] if any(lo_values) else [None] * len(lo_values)
        maxs = [v or None for v in hi_values] if any(hi_values) else [None] * len(hi_values)
        made = list(map(tuple.__new__, repeat(Quant),  # Quant(...) without a Python call
                        zip(scales, zps, axis, mins, maxs, *blocks[1:], strict=True)))
        (scale, _, scale_count), (zp, _, zp_count), (lo, lo_ends, lo_count), (
            hi, hi_ends, hi_count) = arrays
        kept = ((scale_count + zp_count + lo_count + hi_count) > 0) | blocks[0]
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

    def blockwise(self, q: Batch, which: np.ndarray, ends: np.ndarray
                  ) -> tuple[np.ndarray, list[int], list[str | None], list[str | None]]:
        """The `BlockwiseQuantization` details of each quantization table of ``q`` (of the
        tensors ``which``): (has details, block size, scales tensor id, zero points tensor
        id); the tensors are checked to be in the subgraph."""
        kind = q.scalar(schema.QUANTIZATION_PARAMETERS_DETAILS_TYPE, U1)
        size: list[int] = [0] * q.n
        scales: list[str | None] = [None] * q.n
        zero_points: list[str | None] = [None] * q.n
        has = kind == _BLOCKWISE
        if not has.any():  # no details to read (the common case)
            return has, size, scales, zero_points
        target = q.ref(schema.QUANTIZATION_PARAMETERS_DETAILS)
        has &= target != 0
        at = np.flatnonzero(has)
        d = Batch(self, target[at], lambda j: f"{q.what(int(at[j]))} blockwise details")
        sub = np.searchsorted(ends, which[at], side="right")
        n_in_sub = np.diff(ends, prepend=0)[sub]
        s_idx = d.scalar(schema.BLOCKWISE_QUANTIZATION_SCALES, I4)
        z_idx = d.scalar(schema.BLOCKWISE_QUANTIZATION_ZERO_POINTS, I4)
        block = d.scalar(schema.BLOCKWISE_QUANTIZATION_BLOCK_SIZE, I4)
        d.first((s_idx < 0) | (s_idx >= n_in_sub), lambda j: f"{d.what(j)} point at "
                f"scales tensor {s_idx[j]} of {n_in_sub[j]}")
        d.first((z_idx < -1) | (z_idx >= n_in_sub), lambda j: f"{d.what(j)} point at "
                f"zero points tensor {z_idx[j]} of {n_in_sub[j]}")
        for j, s, si, zi, bs in zip(at.tolist(), sub.tolist(), s_idx.tolist(),
                                    z_idx.tolist(), block.tolist(), strict=True):
            size[j], scales[j] = bs, f"s{s}/t{si}"
            zero_points[j] = f"s{s}/t{zi}" if zi >= 0 else None
        return has, size, scales, zero_points


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


_EXACT_BITS = 53.0  # a float64 holds every integer below 2**53


def _products(dims: np.ndarray, ends: np.ndarray, bits: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per segment of ``dims`` (cut at ``ends``; each >= 1): the product as float64 where
    it is below ``2**bits``, and which segments are that small.  Larger products are not
    multiplied out (so nothing overflows) and read 0."""
    counts = np.diff(ends, prepend=0)
    if not len(counts):
        return np.zeros(0), np.zeros(0, dtype=bool)
    starts = ends - counts
    log = np.append(np.log2(dims.astype(np.float64)), 0.0)
    small = (np.add.reduceat(log, starts) < bits) | (counts == 0)
    keep = np.repeat(small, counts)
    safe = np.append(np.where(keep, dims, 1), 1).astype(np.float64)
    product = np.where(counts == 0, 1.0, np.multiply.reduceat(safe, starts))
    return np.where(small, product, 0.0), small


def _static_elements(dims: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per tensor, the product of the positive dimensions of its static shape (1 for none),
    and whether that product is exact (below 2**53; the caller recomputes the others)."""
    product, exact = _products(np.where(dims > 0, dims, 1), ends, _EXACT_BITS)
    return product.astype(np.int64), exact


def _quant_limits(has_static: np.ndarray, dims: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Most quantization values each tensor may have: its static element count (at least
    1), or `MAX_QUANT_VALUES` when its shape is absent or has an unknown dimension."""
    counts = np.diff(ends, prepend=0)
    starts = ends - counts
    if not len(counts):
        return np.zeros(0, dtype=np.int64)
    zero = np.add.reduceat(np.append(dims == 0, False).astype(np.int64), starts) > 0
    unknown = np.add.reduceat(np.append(dims < 0, False).astype(np.int64), starts) > 0
    unknown &= counts > 0
    product, small = _products(np.maximum(np.abs(dims.astype(np.int64)), 1), ends,
                                _EXACT_BITS)
    elems = np.where(zero & (counts > 0), 1, np.where(small, product, MAX_QUANT_VALUES))
    known = has_static & ~unknown
    return np.where(known, np.clip(np.maximum(elems, 1), 1, MAX_QUANT_VALUES),
                    MAX_QUANT_VALUES).astype(np.int64)
