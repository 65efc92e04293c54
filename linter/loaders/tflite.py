"""Load a `.tflite` flatbuffer into a `ModelGraph`.

The file is mapped with ``mmap`` and walked with the ``tflite`` flatbuffer
bindings; weight buffers are never read, only their sizes.  Python flatbuffers
has no verifier, so vector lengths are checked against the file size before
they are walked, and any out-of-range read in a corrupt file is turned into a
`ModelLoadError` at the one place the walk is entered.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from typing import Any

import flatbuffers
import tflite
from qlint.errors import ModelLoadError
from qlint.graph import ModelGraph, Quant
from qlint.quant_mode import classify_quant_mode
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

FILE_IDENTIFIER = b"TFL3"

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


def builtin_name(code: int) -> str:
    """Canonical name of a builtin code; ``UNKNOWN_<n>`` for codes newer than the bindings."""
    return _BUILTIN_NAMES.get(code, f"UNKNOWN_{code}")


def load_tflite(path: str) -> ModelGraph:
    """Parse ``path`` into a `ModelGraph`; raise `ModelLoadError` when it cannot."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise ModelLoadError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        size = os.fstat(fd).st_size
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
        with contextlib.suppress(BufferError):  # a numpy view still alive: freed with it
            buf.close()


class _Walker:
    """One pass over the flatbuffer, building the graph."""

    def __init__(self, path: str, buf: mmap.mmap, size: int) -> None:
        self.path = path
        self.buf = buf
        self.size = size

    def check_len(self, n: int, elem_size: int, what: str) -> int:
        if n < 0 or n * elem_size > self.size:
            raise ModelLoadError(
                self.path, f"corrupt TFLite flatbuffer: {what} claims {n} entries "
                f"in a {self.size}-byte file"
            )
        return n

    def string(self, raw: bytes | None) -> str:
        return raw.decode("utf-8", errors="replace") if raw is not None else ""

    def walk(self) -> ModelGraph:
        model = tflite.Model.GetRootAs(self.buf, 0)
        graph = ModelGraph(
            "tflite", self.path, "converted",
            schema_version=model.Version(),
            description=self.string(model.Description()),
        )
        n_buffers = self.check_len(model.BuffersLength(), 4, "buffers")
        buffer_sizes = [self.buffer_size(model.Buffers(i)) for i in range(n_buffers)]
        opcodes = [
            self.opcode(model.OperatorCodes(i))
            for i in range(self.check_len(model.OperatorCodesLength(), 4, "operator_codes"))
        ]
        graph.attrs["metadata"] = self.metadata(model)
        graph.attrs["subgraphs"] = []
        for s in range(self.check_len(model.SubgraphsLength(), 4, "subgraphs")):
            self.subgraph(graph, s, model.Subgraphs(s), opcodes, buffer_sizes)
        graph.attrs["signatures"] = self.signatures(model, graph)
        graph.attrs["quant_mode"] = classify_quant_mode(graph)
        return graph

    # -- model-level tables --------------------------------------------------------
    def buffer_size(self, b: tflite.Buffer) -> int:
        n = b.DataLength()
        if n:
            return self.check_len(n, 1, "buffer data")
        size = b.Size()
        return int(size) if b.Offset() > 1 else 0

    def opcode(self, oc: tflite.OperatorCode) -> dict[str, Any]:
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        name = builtin_name(code)
        custom = self.string(oc.CustomCode()) if name == "CUSTOM" else None
        return {"code": code, "name": name, "custom_code": custom, "version": oc.Version()}

    def metadata(self, model: tflite.Model) -> dict[str, Any]:
        """Named metadata entries: runtime version, conversion metadata, others by size."""
        out: dict[str, Any] = {}
        n = self.check_len(model.MetadataLength(), 4, "metadata")
        for i in range(n):
            m = model.Metadata(i)
            name = self.string(m.Name())
            idx = m.Buffer()
            if idx >= model.BuffersLength():
                raise ModelLoadError(self.path, f"corrupt TFLite flatbuffer: metadata {name!r} "
                                     f"points at missing buffer {idx}")
            b = model.Buffers(idx)
            start, length = self.buffer_span(b)
            if name == "min_runtime_version" and length:
                raw = bytes(self.buf[start:start + min(length, 64)])
                out[name] = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
            elif name == "CONVERSION_METADATA" and length:
                out["conversion"] = _conversion_metadata(self.buf, start)
            else:
                out[name] = {"bytes": length}
        return out

    def buffer_span(self, b: tflite.Buffer) -> tuple[int, int]:
        """(file offset, length) of a buffer's bytes without reading them."""
        n = b.DataLength()
        if n:
            self.check_len(n, 1, "buffer data")
            vec = b._tab.Vector(b._tab.Offset(4))  # start of the data vector
            return vec, n
        if b.Offset() > 1:
            return int(b.Offset()), int(b.Size())
        return 0, 0

    def signatures(self, model: tflite.Model, graph: ModelGraph) -> dict[str, Any]:
        sigs: dict[str, Any] = {}
        for i in range(self.check_len(model.SignatureDefsLength(), 4, "signature_defs")):
            sd = model.SignatureDefs(i)
            sub = sd.SubgraphIndex()
            key = self.string(sd.SignatureKey()) or f"signature_{i}"

            def tensors(count: int, get: Any, sub: int = sub) -> dict[str, str]:
                return {
                    self.string(get(j).Name()): f"s{sub}/t{get(j).TensorIndex()}"
                    for j in range(self.check_len(count, 4, "signature tensors"))
                }

            sigs[key] = {
                "subgraph": sub,
                "inputs": tensors(sd.InputsLength(), sd.Inputs),
                "outputs": tensors(sd.OutputsLength(), sd.Outputs),
            }
        return sigs

    # -- subgraphs -------------------------------------------------------------------
    def subgraph(
        self,
        graph: ModelGraph,
        s: int,
        sg: tflite.SubGraph,
        opcodes: list[dict[str, Any]],
        buffer_sizes: list[int],
    ) -> None:
        n_tensors = self.check_len(sg.TensorsLength(), 4, f"subgraph {s} tensors")
        tensor_ids = [
            self.tensor(graph, s, i, sg.Tensors(i), buffer_sizes) for i in range(n_tensors)
        ]
        inputs = self.indices(sg.InputsAsNumpy() if sg.InputsLength() else [], n_tensors, s)
        outputs = self.indices(sg.OutputsAsNumpy() if sg.OutputsLength() else [], n_tensors, s)
        graph.attrs["subgraphs"].append({
            "index": s,
            "name": self.string(sg.Name()),
            "inputs": [tensor_ids[i] for i in inputs],
            "outputs": [tensor_ids[i] for i in outputs],
        })
        for k in range(self.check_len(sg.OperatorsLength(), 4, f"subgraph {s} operators")):
            op = sg.Operators(k)
            oc_index = op.OpcodeIndex()
            if oc_index >= len(opcodes):
                raise ModelLoadError(self.path, f"corrupt TFLite flatbuffer: op {k} of subgraph "
                                     f"{s} uses opcode {oc_index} of {len(opcodes)}")
            oc = opcodes[oc_index]
            ins = self.op_tensors(op.InputsAsNumpy() if op.InputsLength() else [], tensor_ids, s)
            outs = self.op_tensors(op.OutputsAsNumpy() if op.OutputsLength() else [],
                                   tensor_ids, s)
            first_out = next((t for t in outs if t is not None), None)
            name = graph[first_out]["name"] if first_out else f"op{k}"
            source = f"CUSTOM:{oc['custom_code']}" if oc["custom_code"] is not None else oc["name"]
            attrs: dict[str, Any] = {"version": oc["version"]}
            opt_type = op.BuiltinOptionsType()
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

    def indices(self, raw: Any, n_tensors: int, s: int) -> list[int]:
        out = [int(i) for i in raw]
        for i in out:
            if not 0 <= i < n_tensors:
                raise ModelLoadError(self.path, f"corrupt TFLite flatbuffer: tensor index {i} "
                                     f"out of range in subgraph {s} ({n_tensors} tensors)")
        return out

    def op_tensors(self, raw: Any, tensor_ids: list[str], s: int) -> list[str | None]:
        out: list[str | None] = []
        for i in (int(x) for x in raw):
            if i == -1:  # optional input left out
                out.append(None)
            elif 0 <= i < len(tensor_ids):
                out.append(tensor_ids[i])
            else:
                raise ModelLoadError(self.path, f"corrupt TFLite flatbuffer: tensor index {i} "
                                     f"out of range in subgraph {s} ({len(tensor_ids)} tensors)")
        return out

    def tensor(
        self, graph: ModelGraph, s: int, i: int, t: tflite.Tensor, buffer_sizes: list[int]
    ) -> str:
        name = self.string(t.Name())
        dtype = _DTYPES.get(t.Type(), f"unknown_{t.Type()}")
        shape: tuple[int | None, ...] | None
        if t.ShapeSignatureLength():
            sig = t.ShapeSignatureAsNumpy().tolist()
            shape = tuple(None if d < 0 else int(d) for d in sig)
        elif t.ShapeLength():
            shape = tuple(int(d) for d in t.ShapeAsNumpy().tolist())
        else:
            shape = None if t.ShapeIsNone() and not t.HasRank() else ()
        buf_index = t.Buffer()
        if not 0 <= buf_index < max(len(buffer_sizes), 1):
            raise ModelLoadError(self.path, f"corrupt TFLite flatbuffer: tensor {i} of subgraph "
                                 f"{s} uses buffer {buf_index} of {len(buffer_sizes)}")
        data = buffer_sizes[buf_index] if buffer_sizes else 0
        constant = data > 0
        if constant:
            nbytes = data
        else:
            elems = 1
            for d in shape or ():
                elems *= d if d is not None and d > 0 else 1
            nbytes = elems * _DTYPE_SIZE.get(dtype, 0) if shape is not None else 0
        extra: dict[str, Any] = {}
        if t.Sparsity() is not None:
            extra["sparse"] = True
        if t.IsVariable():
            extra["variable"] = True
        return graph.add_tensor(
            s, i,
            name=name,
            dtype=dtype,
            shape=shape,
            quant=self.quant(t.Quantization()),
            constant=constant,
            nbytes=nbytes,
            **extra,
        )

    def quant(self, q: tflite.QuantizationParameters | None) -> Quant | None:
        if q is None:
            return None
        n_scale = self.check_len(q.ScaleLength(), 4, "quantization scale")
        n_zp = self.check_len(q.ZeroPointLength(), 8, "quantization zero_point")
        n_min = self.check_len(q.MinLength(), 4, "quantization min")
        n_max = self.check_len(q.MaxLength(), 4, "quantization max")
        if not (n_scale or n_zp or n_min or n_max):
            return None
        return Quant(
            scale=tuple(q.ScaleAsNumpy().tolist()) if n_scale else (),
            zero_point=tuple(int(z) for z in q.ZeroPointAsNumpy().tolist()) if n_zp else (),
            axis=q.QuantizedDimension(),
            min=tuple(q.MinAsNumpy().tolist()) if n_min else None,
            max=tuple(q.MaxAsNumpy().tolist()) if n_max else None,
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
            out["tensorflow_version"] = env.String(o + env.Pos).decode("utf-8", "replace")
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
            if n * 4 > len(buf):
                raise ValueError("conversion metadata vector too long")
            first = opts.Vector(o)
            modes = [flatbuffers.encode.Get(flatbuffers.packer.int32, buf, first + 4 * j)
                     for j in range(n)]
            out["optimization_modes"] = [_MODEL_OPTIMIZATION_MODES.get(m, str(m)) for m in modes]
        for off, key in ((6, "allow_custom_ops"), (8, "enable_select_tf_ops"),
                         (10, "force_select_tf_ops")):
            o = opts.Offset(off)
            if o:
                out[key] = bool(opts.Get(flatbuffers.number_types.BoolFlags, o + opts.Pos))
    return out
