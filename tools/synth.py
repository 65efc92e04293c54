"""Write synthetic, valid full-int8 ``.tflite`` models of any size, without TensorFlow.

Usage::

    python -m tools.synth --ops N --weights-mb M --out FILE [--layout auto|inline|external]
                          [--channels C] [--seed S] [--shared-weights]

The model is one subgraph: an int8 input ``[1, 4, 4, C]`` followed by a chain of ``N`` ops
cycling through ``CONV_2D`` (3x3, per-channel int8 weights, int32 bias),
``DEPTHWISE_CONV_2D`` (3x3) and a residual ``ADD``, with an int8 output.  Every tensor carries
proper quantization parameters (bias scale = input scale x weight scale, weight zero points
0), so the model is a clean full-int8 model that the real TFLite interpreter loads and runs.

The flatbuffer is written with the ``flatbuffers`` builder and the ``tflite`` package's
generated builder functions.  Weights are laid out in one of two ways:

``inline``
    inside the flatbuffer, as ``Buffer.data`` vectors (what the converter writes for models
    under 2 GB); the builder holds them in memory, so this is for small weights.
``external``
    after the flatbuffer, addressed by ``Buffer.offset`` / ``Buffer.size`` (relative to the
    start of the file, 16-byte aligned) with the ``buffer_location`` metadata entry, as the
    converter does for models over 2 GB.  The weight bytes are streamed to the file in 1 MiB
    chunks, so writing gigabytes of weights takes a few megabytes of memory.

``auto`` (the default) picks ``external`` above 256 MiB of weights.  The channel count ``C``
is chosen so that the weights add up to at least ``--weights-mb`` (at least 4 channels).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.Padding import Padding
from tflite.TensorType import TensorType

# The generated modules (``tflite.Buffer`` ...), not the classes ``tflite`` re-exports.
(AddOptions, Buffer, Conv2DOptions, DepthwiseConv2DOptions, Metadata, Model, Operator,
 OperatorCode, QuantizationParameters, SignatureDef, SubGraph, Tensor, TensorMap) = (
    importlib.import_module(f"tflite.{name}") for name in (
        "AddOptions", "Buffer", "Conv2DOptions", "DepthwiseConv2DOptions", "Metadata", "Model",
        "Operator", "OperatorCode", "QuantizationParameters", "SignatureDef", "SubGraph",
        "Tensor", "TensorMap"))

ALIGN = 16
CHUNK = 1 << 20
AUTO_EXTERNAL_BYTES = 256 << 20
HEIGHT = WIDTH = 4
ACT_SCALE = 0.05
ACT_ZERO_POINT = -2
CYCLE = ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD")
_OPCODES = {
    "CONV_2D": BuiltinOperator.CONV_2D,
    "DEPTHWISE_CONV_2D": BuiltinOperator.DEPTHWISE_CONV_2D,
    "ADD": BuiltinOperator.ADD,
}


@dataclass
class _Buf:
    """A planned buffer: its byte size, what fills it, and its file offset once placed."""

    size: int
    fill: str = "weights"  # "weights" (int8 pattern), "zeros", or "bytes"
    raw: bytes = b""
    offset: int = 0


@dataclass
class _Tensor:
    name: str
    dtype: int
    shape: tuple[int, ...]
    buffer: int = 0
    scale: Sequence[float] = ()
    zero_point: Sequence[int] = ()
    axis: int = 0


@dataclass
class _Op:
    kind: str
    inputs: list[int]
    outputs: list[int]


@dataclass
class Plan:
    """The whole model before it is serialized."""

    channels: int
    tensors: list[_Tensor] = field(default_factory=list)
    ops: list[_Op] = field(default_factory=list)
    buffers: list[_Buf] = field(default_factory=lambda: [_Buf(0, "bytes")])
    metadata: list[tuple[str, int]] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    @property
    def weight_bytes(self) -> int:
        return sum(b.size for b in self.buffers if b.fill != "bytes")

    def add_buffer(self, buf: _Buf) -> int:
        self.buffers.append(buf)
        return len(self.buffers) - 1

    def add_tensor(self, t: _Tensor) -> int:
        self.tensors.append(t)
        return len(self.tensors) - 1


@dataclass
class SynthInfo:
    """What `write_model` wrote."""

    path: str
    ops: int
    tensors: int
    buffers: int
    channels: int
    weight_bytes: int
    file_bytes: int
    layout: str
    seconds: float


def channels_for(ops: int, weight_bytes: int) -> int:
    """Smallest channel count (>= 4) whose CONV_2D weights reach ``weight_bytes``."""
    n_conv = max(1, (ops + len(CYCLE) - 1) // len(CYCLE))
    return max(4, math.ceil(math.sqrt(weight_bytes / (9 * n_conv))))


def plan_model(ops: int, channels: int, shared_weights: bool = False) -> Plan:
    """The tensors, ops and buffers of an ``ops``-long int8 chain with ``channels`` channels.

    With ``shared_weights`` every CONV_2D filter reads one buffer, every DEPTHWISE_CONV_2D
    filter another and every bias a third: the same graph (ops, tensors, shapes, quantization)
    with the weights of one block, the tiny-weight twin of the full model.
    """
    if ops < 1:
        raise ValueError("a model needs at least one op")
    c = channels
    plan = Plan(channels=c)
    act_shape = (1, HEIGHT, WIDTH, c)

    def activation(name: str) -> int:
        return plan.add_tensor(_Tensor(name, TensorType.INT8, act_shape,
                                       scale=(ACT_SCALE,), zero_point=(ACT_ZERO_POINT,)))

    w_scales = [0.004 + 0.001 * (k % 7) for k in range(c)]
    b_scales = [ACT_SCALE * s for s in w_scales]
    x = activation("serving_default_input:0")
    plan.inputs.append(x)
    prev = x
    shared: dict[str, int] = {}

    def weight_buffer(key: str, buf: _Buf) -> int:
        if not shared_weights:
            return plan.add_buffer(buf)
        if key not in shared:
            shared[key] = plan.add_buffer(buf)
        return shared[key]

    for i in range(ops):
        kind = CYCLE[i % len(CYCLE)]
        prefix = f"synth/block{i // len(CYCLE)}/{kind.lower()}{i}"
        if kind == "ADD":
            out = activation(f"{prefix}/add")
            plan.ops.append(_Op(kind, [x, prev], [out]))
        else:
            wshape = (c, 3, 3, c) if kind == "CONV_2D" else (1, 3, 3, c)
            axis = 0 if kind == "CONV_2D" else 3
            w_buf = weight_buffer(kind, _Buf(int(np.prod(wshape))))
            w = plan.add_tensor(_Tensor(f"{prefix}/weights", TensorType.INT8, wshape, w_buf,
                                        w_scales, [0] * c, axis))
            b_buf = weight_buffer("bias", _Buf(4 * c, "zeros"))
            b = plan.add_tensor(_Tensor(f"{prefix}/bias", TensorType.INT32, (c,), b_buf,
                                        b_scales, [0] * c, 0))
            out = activation(f"{prefix}/out")
            plan.ops.append(_Op(kind, [x, w, b], [out]))
        prev, x = x, out
    plan.outputs.append(x)
    version = plan.add_buffer(_Buf(16, "bytes", b"1.14.0".ljust(16, b"\0")))
    plan.metadata.append(("min_runtime_version", version))
    return plan


def _pad(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class _Serializer:
    """Serialize a `Plan` with the generated ``tflite`` builder functions."""

    def __init__(self, plan: Plan, external: bool, pattern: bytes) -> None:
        self.plan = plan
        self.external = external
        self.pattern = pattern
        self.pattern_pos = 0

    def data(self, buf: _Buf) -> bytes:
        if buf.fill == "bytes":
            return buf.raw
        if buf.fill == "zeros":
            return bytes(buf.size)
        out = b"".join(chunk for chunk in _pattern_chunks(self.pattern, buf.size,
                                                          self.pattern_pos))
        self.pattern_pos = (self.pattern_pos + buf.size) % len(self.pattern)
        return out

    def build(self) -> bytes:
        plan = self.plan
        b = flatbuffers.Builder(1 << 20)
        self.pattern_pos = 0
        buffers = []
        for k, buf in enumerate(plan.buffers):
            inline = k == 0 or buf.fill == "bytes" or not self.external
            payload = self.data(buf) if inline and buf.size else b""
            vec = None
            if payload:
                b.StartVector(1, len(payload), ALIGN)
                b.head -= len(payload)
                b.Bytes[b.head:b.head + len(payload)] = payload
                vec = b.EndVector()
            Buffer.BufferStart(b)
            if vec is not None:
                Buffer.BufferAddData(b, vec)
            if not inline:
                Buffer.BufferAddOffset(b, buf.offset or 2)  # placeholder on the sizing pass
                Buffer.BufferAddSize(b, buf.size)
            buffers.append(Buffer.BufferEnd(b))
        tensors = [self.tensor(b, t) for t in plan.tensors]
        operators = [self.operator(b, op) for op in plan.ops]
        sg_name = b.CreateString("main")
        t_vec = self.offsets(b, SubGraph.SubGraphStartTensorsVector, tensors)
        o_vec = self.offsets(b, SubGraph.SubGraphStartOperatorsVector, operators)
        in_vec = b.CreateNumpyVector(np.asarray(plan.inputs, np.int32))
        out_vec = b.CreateNumpyVector(np.asarray(plan.outputs, np.int32))
        SubGraph.SubGraphStart(b)
        SubGraph.SubGraphAddTensors(b, t_vec)
        SubGraph.SubGraphAddInputs(b, in_vec)
        SubGraph.SubGraphAddOutputs(b, out_vec)
        SubGraph.SubGraphAddOperators(b, o_vec)
        SubGraph.SubGraphAddName(b, sg_name)
        subgraph = SubGraph.SubGraphEnd(b)
        codes = []
        for kind in CYCLE[: min(len(CYCLE), len(plan.ops))]:
            OperatorCode.OperatorCodeStart(b)
            OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(_OPCODES[kind], 127))
            OperatorCode.OperatorCodeAddBuiltinCode(b, _OPCODES[kind])
            OperatorCode.OperatorCodeAddVersion(b, 3 if kind == "CONV_2D" else 2)
            codes.append(OperatorCode.OperatorCodeEnd(b))
        metadata = []
        for name, index in plan.metadata:
            s = b.CreateString(name)
            Metadata.MetadataStart(b)
            Metadata.MetadataAddName(b, s)
            Metadata.MetadataAddBuffer(b, index)
            metadata.append(Metadata.MetadataEnd(b))
        signature = self.signature(b)
        description = b.CreateString("qlint synthetic int8 chain")
        codes_vec = self.offsets(b, Model.ModelStartOperatorCodesVector, codes)
        sg_vec = self.offsets(b, Model.ModelStartSubgraphsVector, [subgraph])
        buf_vec = self.offsets(b, Model.ModelStartBuffersVector, buffers)
        md_vec = self.offsets(b, Model.ModelStartMetadataVector, metadata)
        sig_vec = self.offsets(b, Model.ModelStartSignatureDefsVector, [signature])
        Model.ModelStart(b)
        Model.ModelAddVersion(b, 3)
        Model.ModelAddOperatorCodes(b, codes_vec)
        Model.ModelAddSubgraphs(b, sg_vec)
        Model.ModelAddDescription(b, description)
        Model.ModelAddBuffers(b, buf_vec)
        Model.ModelAddMetadata(b, md_vec)
        Model.ModelAddSignatureDefs(b, sig_vec)
        b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def offsets(b: flatbuffers.Builder, start: object, items: list[int]) -> int:
        start(b, len(items))  # type: ignore[operator]
        for off in reversed(items):
            b.PrependUOffsetTRelative(off)
        return int(b.EndVector())

    def tensor(self, b: flatbuffers.Builder, t: _Tensor) -> int:
        name = b.CreateString(t.name)
        shape = b.CreateNumpyVector(np.asarray(t.shape, np.int32))
        quant = None
        if t.scale:
            scale = b.CreateNumpyVector(np.asarray(t.scale, np.float32))
            zp = b.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
            QuantizationParameters.QuantizationParametersStart(b)
            QuantizationParameters.QuantizationParametersAddScale(b, scale)
            QuantizationParameters.QuantizationParametersAddZeroPoint(b, zp)
            QuantizationParameters.QuantizationParametersAddQuantizedDimension(b, t.axis)
            quant = QuantizationParameters.QuantizationParametersEnd(b)
        Tensor.TensorStart(b)
        Tensor.TensorAddShape(b, shape)
        Tensor.TensorAddType(b, t.dtype)
        Tensor.TensorAddBuffer(b, t.buffer)
        Tensor.TensorAddName(b, name)
        if quant is not None:
            Tensor.TensorAddQuantization(b, quant)
        return int(Tensor.TensorEnd(b))

    def operator(self, b: flatbuffers.Builder, op: _Op) -> int:
        ins = b.CreateNumpyVector(np.asarray(op.inputs, np.int32))
        outs = b.CreateNumpyVector(np.asarray(op.outputs, np.int32))
        if op.kind == "CONV_2D":
            Conv2DOptions.Conv2DOptionsStart(b)
            Conv2DOptions.Conv2DOptionsAddPadding(b, Padding.SAME)
            Conv2DOptions.Conv2DOptionsAddStrideW(b, 1)
            Conv2DOptions.Conv2DOptionsAddStrideH(b, 1)
            Conv2DOptions.Conv2DOptionsAddDilationWFactor(b, 1)
            Conv2DOptions.Conv2DOptionsAddDilationHFactor(b, 1)
            options, opt_type = Conv2DOptions.Conv2DOptionsEnd(b), BuiltinOptions.Conv2DOptions
        elif op.kind == "DEPTHWISE_CONV_2D":
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsStart(b)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddPadding(b, Padding.SAME)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddStrideW(b, 1)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddStrideH(b, 1)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddDepthMultiplier(b, 1)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddDilationWFactor(b, 1)
            DepthwiseConv2DOptions.DepthwiseConv2DOptionsAddDilationHFactor(b, 1)
            options = DepthwiseConv2DOptions.DepthwiseConv2DOptionsEnd(b)
            opt_type = BuiltinOptions.DepthwiseConv2DOptions
        else:
            AddOptions.AddOptionsStart(b)
            options, opt_type = AddOptions.AddOptionsEnd(b), BuiltinOptions.AddOptions
        Operator.OperatorStart(b)
        Operator.OperatorAddOpcodeIndex(b, CYCLE.index(op.kind))
        Operator.OperatorAddInputs(b, ins)
        Operator.OperatorAddOutputs(b, outs)
        Operator.OperatorAddBuiltinOptionsType(b, opt_type)
        Operator.OperatorAddBuiltinOptions(b, options)
        return int(Operator.OperatorEnd(b))

    def signature(self, b: flatbuffers.Builder) -> int:
        def maps(indices: list[int], prefix: str) -> int:
            items = []
            for k, idx in enumerate(indices):
                name = b.CreateString(f"{prefix}_{k}")
                TensorMap.TensorMapStart(b)
                TensorMap.TensorMapAddName(b, name)
                TensorMap.TensorMapAddTensorIndex(b, idx)
                items.append(TensorMap.TensorMapEnd(b))
            b.StartVector(4, len(items), 4)
            for off in reversed(items):
                b.PrependUOffsetTRelative(off)
            return int(b.EndVector())

        ins = maps(self.plan.inputs, "input")
        outs = maps(self.plan.outputs, "output")
        key = b.CreateString("serving_default")
        SignatureDef.SignatureDefStart(b)
        SignatureDef.SignatureDefAddInputs(b, ins)
        SignatureDef.SignatureDefAddOutputs(b, outs)
        SignatureDef.SignatureDefAddSignatureKey(b, key)
        SignatureDef.SignatureDefAddSubgraphIndex(b, 0)
        return int(SignatureDef.SignatureDefEnd(b))


def _pattern_chunks(pattern: bytes, size: int, start: int = 0) -> Iterator[bytes]:
    """``size`` bytes of the repeating ``pattern`` from position ``start``, in chunks."""
    pos = start % len(pattern)
    while size > 0:
        n = min(size, len(pattern) - pos)
        yield pattern[pos:pos + n]
        size -= n
        pos = 0


def write_model(path: str, ops: int, weights_mb: float = 0.0, *, layout: str = "auto",
                channels: int | None = None, seed: int = 0,
                shared_weights: bool = False) -> SynthInfo:
    """Write the synthetic model to ``path`` and describe it (``shared_weights``: see
    `plan_model`; the channel count still follows ``weights_mb``)."""
    started = time.perf_counter()
    target = int(weights_mb * (1 << 20))
    c = channels if channels is not None else channels_for(ops, target)
    plan = plan_model(ops, c, shared_weights)
    if layout == "auto":
        layout = "external" if plan.weight_bytes > AUTO_EXTERNAL_BYTES else "inline"
    if layout not in ("inline", "external"):
        raise ValueError(f"unknown layout {layout!r}")
    external = layout == "external"
    rng = np.random.default_rng(seed)
    pattern = rng.integers(-127, 128, size=CHUNK, dtype=np.int8).tobytes()
    ser = _Serializer(plan, external, pattern)
    if external:
        loc = plan.add_buffer(_Buf(19, "bytes", b"outside flatbuffers"))
        plan.metadata.append(("buffer_location", loc))
        size = len(ser.build())  # sizing pass: offsets do not change the layout
        pos = _pad(size)
        for buf in plan.buffers[1:]:
            if buf.fill != "bytes":
                buf.offset = pos
                pos = _pad(pos + buf.size)
        flat = ser.build()
        if len(flat) != size:
            raise RuntimeError("flatbuffer size changed between the two passes")
    else:
        flat = ser.build()
    tmp = f"{path}.part"
    with open(tmp, "wb") as fh:
        fh.write(flat)
        if external:
            ser.pattern_pos = 0
            for buf in plan.buffers[1:]:
                if buf.fill == "bytes":
                    continue
                fh.write(bytes(buf.offset - fh.tell()))
                if buf.fill == "zeros":
                    for done in range(0, buf.size, CHUNK):
                        fh.write(bytes(min(CHUNK, buf.size - done)))
                else:
                    for chunk in _pattern_chunks(pattern, buf.size, ser.pattern_pos):
                        fh.write(chunk)
                    ser.pattern_pos = (ser.pattern_pos + buf.size) % len(pattern)
    os.replace(tmp, path)
    return SynthInfo(path=path, ops=len(plan.ops), tensors=len(plan.tensors),
                     buffers=len(plan.buffers), channels=c, weight_bytes=plan.weight_bytes,
                     file_bytes=os.path.getsize(path), layout=layout,
                     seconds=time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.synth", description=__doc__.split("\n")[0])
    p.add_argument("--ops", type=int, required=True, help="number of ops in the chain")
    p.add_argument("--weights-mb", type=float, default=0.0,
                   help="at least this many MiB of weights (default: as few as possible)")
    p.add_argument("--out", required=True, help="the .tflite file to write")
    p.add_argument("--layout", choices=("auto", "inline", "external"), default="auto",
                   help="weights inside the flatbuffer or after it (default: auto)")
    p.add_argument("--channels", type=int, help="channel count (overrides --weights-mb)")
    p.add_argument("--shared-weights", action="store_true",
                   help="all filters of a kind share one buffer: the same graph as without "
                   "this flag, with the weights of one block (a tiny-weight twin)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weight pattern")
    args = p.parse_args(argv)
    if args.ops < 1 or (args.channels is not None and args.channels < 1):
        p.error("--ops and --channels must be positive")
    info = write_model(args.out, args.ops, args.weights_mb, layout=args.layout,
                       channels=args.channels, seed=args.seed,
                       shared_weights=args.shared_weights)
    print(f"wrote {info.path}: {info.ops} ops, {info.tensors} tensors, {info.channels} channels, "
          f"{info.weight_bytes / (1 << 20):.1f} MiB weights ({info.layout}), "
          f"{info.file_bytes} bytes in {info.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
