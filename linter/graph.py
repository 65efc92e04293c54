"""The graph IR every loader produces and every rule reads.

A `ModelGraph` wraps one bipartite ``networkx.MultiDiGraph`` of *op* nodes and
*tensor* nodes.  An edge tensor→op means "consumed by" and an edge op→tensor
"produced by"; both carry ``slot``, the input or output position.  Constants
and weights are tensor nodes without a producer.

Node attributes (see docs/architecture.md):

op node
    ``kind="op"``, ``op_type`` (canonical TFLite builtin name, e.g. ``CUMSUM``),
    ``source_op`` (what the file says), ``name``, ``subgraph``, ``index``,
    ``attrs`` (dict), ``location``, ``n_inputs``/``n_outputs`` (slot counts,
    absent optional inputs included).
tensor node
    ``kind="tensor"``, ``name``, ``dtype`` (numpy-style), ``shape`` (tuple, ``None``
    for unknown dims, or ``None`` when the rank is unknown), ``quant``
    (`Quant` or ``None``), ``constant``, ``nbytes``, ``subgraph``, ``index``,
    ``location``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

NodeId = str

FLOAT_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16"})
QUANT_DTYPES = frozenset({"int4", "int8", "uint8", "int16"})

# Ops that only move data between the integer and the float domain.
CONVERSION_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


@dataclass(frozen=True)
class Quant:
    """Quantization parameters of one tensor, as the file states them."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0
    min: tuple[float, ...] | None = None
    max: tuple[float, ...] | None = None

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    @property
    def has_params(self) -> bool:
        return len(self.scale) > 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scale": list(self.scale),
            "zero_point": list(self.zero_point),
            "axis": self.axis,
        }
        if self.min is not None:
            out["min"] = list(self.min)
        if self.max is not None:
            out["max"] = list(self.max)
        return out


@dataclass
class Island:
    """A maximal connected region of ops computing in float inside a quantized graph."""

    subgraph: int
    ops: list[NodeId]
    entries: list[NodeId] = field(default_factory=list)  # DEQUANTIZE ops feeding the island
    exits: list[NodeId] = field(default_factory=list)  # QUANTIZE ops leaving the island


class ModelGraph:
    """One model as a bipartite op/tensor graph with the helpers rules need."""

    def __init__(self, fmt: str, path: str, stage: str, **attrs: Any) -> None:
        self.g: nx.MultiDiGraph = nx.MultiDiGraph(
            format=fmt, path=path, stage=stage, quant_mode=None, **attrs
        )
        self._ops: list[NodeId] = []
        self._tensors: list[NodeId] = []
        # Slot lists and neighbours kept beside the networkx graph: rules ask for them for
        # every op, and walking networkx edge views each time dominates on 100k-op models.
        self._inputs: dict[NodeId, tuple[NodeId | None, ...]] = {}
        self._outputs: dict[NodeId, tuple[NodeId | None, ...]] = {}
        self._consumers: dict[NodeId, list[NodeId]] = {}
        self._producer: dict[NodeId, NodeId] = {}

    # -- building (loaders only) ------------------------------------------------
    def add_tensor(
        self,
        subgraph: int,
        index: int,
        *,
        name: str,
        dtype: str,
        shape: tuple[int | None, ...] | None,
        quant: Quant | None = None,
        constant: bool = False,
        nbytes: int = 0,
        location: str | None = None,
        **extra: Any,
    ) -> NodeId:
        node = f"s{subgraph}/t{index}"
        self.g.add_node(
            node,
            kind="tensor",
            name=name,
            dtype=dtype,
            shape=shape,
            quant=quant,
            constant=constant,
            nbytes=nbytes,
            subgraph=subgraph,
            index=index,
            location=location or f"subgraph[{subgraph}]/tensor[{index}]({name})",
            **extra,
        )
        self._tensors.append(node)
        return node

    def add_op(
        self,
        subgraph: int,
        index: int,
        *,
        op_type: str,
        source_op: str,
        name: str,
        inputs: Iterable[NodeId | None] = (),
        outputs: Iterable[NodeId | None] = (),
        attrs: Mapping[str, Any] | None = None,
        location: str | None = None,
    ) -> NodeId:
        node = f"s{subgraph}/o{index}"
        inputs, outputs = list(inputs), list(outputs)
        self.g.add_node(
            node,
            kind="op",
            op_type=op_type,
            source_op=source_op,
            name=name,
            subgraph=subgraph,
            index=index,
            attrs=dict(attrs or {}),
            location=location or f"subgraph[{subgraph}]/op[{index}]:{op_type}({name})",
            n_inputs=len(inputs),
            n_outputs=len(outputs),
        )
        for slot, t in enumerate(inputs):
            if t is not None:
                self.g.add_edge(t, node, slot=slot)
                readers = self._consumers.setdefault(t, [])
                if not readers or readers[-1] != node:  # one op reading a tensor twice
                    readers.append(node)
        for slot, t in enumerate(outputs):
            if t is not None:
                self.g.add_edge(node, t, slot=slot)
                self._producer.setdefault(t, node)
        self._inputs[node] = tuple(inputs)
        self._outputs[node] = tuple(outputs)
        self._ops.append(node)
        return node

    # -- graph-level facts --------------------------------------------------------
    @property
    def format(self) -> str:
        return str(self.g.graph["format"])

    @property
    def path(self) -> str:
        return str(self.g.graph["path"])

    @property
    def stage(self) -> str:
        return str(self.g.graph["stage"])

    @property
    def quant_mode(self) -> str | None:
        return self.g.graph.get("quant_mode")

    @property
    def attrs(self) -> dict[str, Any]:
        return self.g.graph

    def __getitem__(self, node: NodeId) -> dict[str, Any]:
        return self.g.nodes[node]

    def __contains__(self, node: object) -> bool:
        return node in self.g

    def __len__(self) -> int:
        return len(self._ops)

    # -- navigation ---------------------------------------------------------------
    def ops(self, subgraph: int | None = None) -> Iterator[NodeId]:
        """Op nodes in file order (subgraph, then execution index)."""
        for op in self._ops:
            if subgraph is None or self.g.nodes[op]["subgraph"] == subgraph:
                yield op

    def tensors(self, subgraph: int | None = None) -> Iterator[NodeId]:
        for t in self._tensors:
            if subgraph is None or self.g.nodes[t]["subgraph"] == subgraph:
                yield t

    def inputs(self, op: NodeId) -> list[NodeId | None]:
        """Input tensors of ``op`` by slot; ``None`` where an optional input is absent."""
        return list(self._inputs[op]) if op in self._inputs else self._no_slots(op)

    def outputs(self, op: NodeId) -> list[NodeId | None]:
        """Output tensors of ``op`` by slot."""
        return list(self._outputs[op]) if op in self._outputs else self._no_slots(op)

    def _no_slots(self, node: NodeId) -> list[NodeId | None]:
        if node not in self.g:
            raise KeyError(node)
        return []

    def producer(self, tensor: NodeId) -> NodeId | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: NodeId) -> list[NodeId]:
        return list(self._consumers.get(tensor, ()))

    def activations(self, op: NodeId) -> list[NodeId]:
        """Non-constant input and output tensors of ``op`` (what its kernel computes on)."""
        ins = [t for t in self.inputs(op) if t is not None and not self.g.nodes[t]["constant"]]
        outs = [t for t in self.outputs(op) if t is not None]
        return ins + outs

    # -- precision ---------------------------------------------------------------
    def compute_precision(self, op: NodeId) -> str:
        """How ``op``'s kernel computes: ``float``, ``int8``, ``int16``, ``int`` or ``none``.

        QUANTIZE/DEQUANTIZE report ``conversion``.  Quantized activations decide
        over plain integer ones (ARG_MAX on int8 input is ``int8``); an op that
        reads or writes a float activation is ``float``.
        """
        node = self.g.nodes[op]
        if node["op_type"] in CONVERSION_OPS:
            return "conversion"
        tensors = [self.g.nodes[t] for t in self.activations(op)]
        if not tensors:
            return "none"
        if any(t["dtype"] in FLOAT_DTYPES for t in tensors):
            return "float"
        if any(t["dtype"] in ("int8", "uint8", "int4") for t in tensors):
            return "int8"
        if any(t["dtype"] == "int16" and t["quant"] is not None for t in tensors):
            return "int16"
        return "int"

    def is_integer_model(self) -> bool:
        """True when at least one op computes on quantized integers."""
        return any(self.compute_precision(op) in ("int8", "int16") for op in self._ops)

    def islands(self) -> list[Island]:
        """Maximal float regions inside a quantized graph, in file order.

        Empty for a model with no integer compute at all (a float model has no
        islands: it is all float).  Two float ops belong to one island when a
        float tensor produced by one is consumed by the other.
        """
        if not self.is_integer_model():
            return []
        float_ops = [op for op in self._ops if self.compute_precision(op) == "float"]
        if not float_ops:
            return []
        members = set(float_ops)
        links = nx.Graph()
        links.add_nodes_from(float_ops)
        for op in float_ops:
            for t in self.outputs(op):
                if t is None:
                    continue
                for c in self.consumers(t):
                    if c in members:
                        links.add_edge(op, c)
        order = {op: i for i, op in enumerate(self._ops)}
        islands: list[Island] = []
        for comp in nx.connected_components(links):
            ops = sorted(comp, key=order.__getitem__)
            entries: dict[NodeId, None] = {}
            exits: dict[NodeId, None] = {}
            for op in ops:
                for t in self.inputs(op):
                    p = self.producer(t) if t is not None else None
                    if p is not None and self.g.nodes[p]["op_type"] == "DEQUANTIZE":
                        entries[p] = None
                for t in self.outputs(op):
                    if t is None:
                        continue
                    for c in self.consumers(t):
                        if self.g.nodes[c]["op_type"] == "QUANTIZE":
                            exits[c] = None
            islands.append(
                Island(
                    subgraph=self.g.nodes[ops[0]]["subgraph"],
                    ops=ops,
                    entries=sorted(entries, key=order.__getitem__),
                    exits=sorted(exits, key=order.__getitem__),
                )
            )
        islands.sort(key=lambda isl: order[isl.ops[0]])
        return islands
