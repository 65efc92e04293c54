"""QL105 npu-compiled: a model already compiled by Vela for an Arm Ethos-U NPU."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from qlint.analysis import compute_precision
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph, NodeId
from qlint.npu_compiled import npu_compiled
from qlint.registry import Context, Rule


class NpuCompiled(Rule):
    """Says that a ``.tflite`` is Vela output for Ethos-U and how the work is split.

    **What it flags.** A converted model holding ``CUSTOM`` ops with the custom code
    ``ethos-u``: the file Vela writes (``*_vela.tflite``).  One ``info`` finding per model
    on the first ``ethos-u`` op, giving the number of ``ethos-u`` ops (each one a part of
    the network compiled into an NPU command stream), the bytes of command stream and
    read-only data they carry, and the ops Vela left for the CPU by type, with how many
    of those compute in float.  The ``ethos-u`` ops and their command-stream, read-only
    and scratch tensors are not TFLite kernels or quantized tensors, so the custom-op
    (QL104) and quantization-parameter (QL3xx) rules skip them.

    **Why it matters.** This file runs only where the Ethos-U driver and its ``ethos-u``
    kernel are registered (TFLite Micro with the Ethos-U driver, or the Linux delegate);
    the stock interpreter refuses it.  The quantization of the NPU parts was fixed when
    Vela compiled them, so lint the ``.tflite`` that went into Vela for those; what is
    left to judge here are the CPU ops, which run on the microcontroller's integer or
    float kernels and usually dominate the latency when there are any.

    **How to fix it.** Nothing to fix when every op is on the NPU.  For ops left for the
    CPU, lint the model before Vela with ``--target`` set to your Ethos-U configuration
    to see why Vela placed each op on the CPU, and replace or move those ops; Vela's
    ``--verbose-operators`` and its summary CSV give the same placement.
    """

    id = "QL105"
    name = "npu-compiled"
    record = "arm/vela-compiled-model"
    severity = Severity.INFO
    summary = "model compiled by Vela for Ethos-U: how much runs on the NPU and the CPU"
    fix = ("Lint the .tflite that went into Vela for the NPU parts; replace or move the ops "
           "left for the CPU to keep the whole network on the NPU.")

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        parts = npu_compiled(graph)
        if not parts:
            return
        n = len(parts.ops)
        stream = sum(graph[t]["nbytes"] or 0 for t in parts.blobs
                     if graph[t]["constant"] and _slot_of(graph, t, parts.ops) == 0)
        read_only = sum(graph[t]["nbytes"] or 0 for t in parts.blobs
                        if graph[t]["constant"] and _slot_of(graph, t, parts.ops) == 1)
        npu_text = (f"{n} ethos-u op{'s run' if n != 1 else ' runs'} on the NPU ({stream} bytes of "
                    f"command stream, {read_only} bytes of read-only data)")
        cpu = parts.cpu_ops
        if cpu:
            types = Counter(graph[op]["source_op"] for op in cpu)
            listed = ", ".join(t if k == 1 else f"{t} x{k}" for t, k in types.items())
            n_float = sum(compute_precision(graph, op) == "float" for op in cpu)
            floats = f", {n_float} of them in float" if n_float else ""
            cpu_text = (f"{len(cpu)} op{'s' if len(cpu) != 1 else ''} left for the CPU"
                        f"{floats}: {listed}")
        else:
            cpu_text = "no op is left for the CPU"
        yield self.finding(
            graph, parts.ops[0],
            f"model compiled by Vela for Arm Ethos-U: {npu_text}; {cpu_text}. It runs only "
            f"with the Ethos-U driver's ethos-u kernel registered",
            related=[*parts.ops[1:], *cpu[:20]],
        )


def _slot_of(graph: ModelGraph, tensor: NodeId, ops: tuple[NodeId, ...]) -> int | None:
    """The input slot at which the first ethos-u op reading ``tensor`` reads it."""
    for op in ops:
        ins = graph.inputs(op)
        if tensor in ins:
            return ins.index(tensor)
    return None
