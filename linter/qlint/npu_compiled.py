"""Parts of a converted model that an NPU compiler has already compiled (Arm Vela).

Vela replaces every run of ops it places on the Ethos-U NPU by one ``CUSTOM`` op with the
custom code ``ethos-u``.  Its first inputs are not activations but opaque ``uint8`` blobs
without quantization parameters
the driver hands to the NPU: the command stream, the read-only data (weights and biases,
compressed) and the scratch areas; the remaining inputs and the outputs are the ordinary
int8 activations the CPU side exchanges with the NPU.  Ops Vela left for the CPU stay
ordinary TFLite builtins beside the ``ethos-u`` ops.

`npu_compiled` finds these ops and blobs from the graph's structure, once per graph, so
that rules judging TFLite kernels and quantization tables (QL104, QL301) leave them alone
and QL105 can describe the split.
"""

from __future__ import annotations

from dataclasses import dataclass

from qlint.graph import ModelGraph, NodeId

ETHOS_U_CODE = "ethos-u"
# Vela's ethos-u op inputs: command stream, read-only data, scratch, fast scratch, then the
# input feature maps (ethosu/vela/npu_serialisation.py, tflite_writer.py).
ETHOS_U_BLOB_SLOTS = 4
BLOB_DTYPES = frozenset({"uint8"})


@dataclass(frozen=True)
class NpuCompiled:
    """The ``ethos-u`` ops of a graph, their driver blobs and the ops left for the CPU."""

    ops: tuple[NodeId, ...]
    blobs: frozenset[NodeId]
    cpu_ops: tuple[NodeId, ...]

    @property
    def nodes(self) -> frozenset[NodeId]:
        """Every op and tensor Vela compiled: what kernel and quantization rules skip."""
        return frozenset(self.ops) | self.blobs

    def __bool__(self) -> bool:
        return bool(self.ops)


def npu_compiled(graph: ModelGraph) -> NpuCompiled:
    """The graph's `NpuCompiled` parts, found once per graph."""
    return graph.derived(_find)


def is_ethos_u(graph: ModelGraph, op: NodeId) -> bool:
    node = graph[op]
    return node["op_type"] == "CUSTOM" and node["attrs"].get("custom_code") == ETHOS_U_CODE


def _find(graph: ModelGraph) -> NpuCompiled:
    if graph.format != "tflite":
        return NpuCompiled((), frozenset(), ())
    npu = tuple(op for op in graph.ops_of_type({"CUSTOM"}) if is_ethos_u(graph, op))
    if not npu:
        return NpuCompiled((), frozenset(), ())
    npu_set = set(npu)
    blobs: set[NodeId] = set()
    for op in npu:
        for t in graph.inputs(op)[:ETHOS_U_BLOB_SLOTS]:
            if t is None:
                continue
            node = graph[t]
            if node["dtype"] not in BLOB_DTYPES or (
                    node["quant"] is not None and node["quant"].has_params):
                continue  # an activation: it has quantization parameters
            # A blob is read by ethos-u ops only, at a blob slot, and no op writes it.
            if graph.producer(t) is None and all(c in npu_set for c in graph.consumers(t)):
                blobs.add(t)
    cpu = tuple(op for op in graph.ops() if op not in npu_set)
    return NpuCompiled(npu, frozenset(blobs), cpu)
