"""The graph IR every loader produces and every rule reads: the store, nothing derived.

A `ModelGraph` is one bipartite graph of *op* nodes and *tensor* nodes, available as a
``networkx.MultiDiGraph`` (`ModelGraph.g`).  An edge tensor→op means "consumed by" and an
edge op→tensor "produced by"; both carry ``slot``, the input or output position.
Constants and weights are tensor nodes without a producer.

The nodes, their slot lists, producers and consumers are stored in plain indexes, and
the helpers rules use (`ops`, `inputs`, `producer`, `consumers`, `slots`, ...) read
those.  Facts derived from the store (each op's precision, float islands) live in
`qlint.analysis`.  The networkx view is a snapshot built on first access of ``.g``
through networkx's own API, because building it costs more than loading and linting a
large model together (docs/benchmarks.md).

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

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain, repeat
from operator import is_not, itemgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

if TYPE_CHECKING:
    import networkx as nx

    from qlint.quant_columns import QuantValues

NodeId = str
T = TypeVar("T")

FLOAT_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16"})
QUANT_DTYPES = frozenset({"int4", "int8", "uint8", "int16"})


class Quant(NamedTuple):
    """Quantization parameters of one tensor, as the file states them (immutable)."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0
    min: tuple[float, ...] | None = None
    max: tuple[float, ...] | None = None
    # Blockwise quantization (TFLite ``BlockwiseQuantization`` details): the values are in
    # other tensors of the graph, one scale (and zero point) per block of ``block_size``
    # elements; ``scale`` and ``zero_point`` are then empty.
    block_size: int = 0
    block_scales: str | None = None  # node id of the scales tensor
    block_zero_points: str | None = None  # node id of the zero points tensor, if any

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    @property
    def has_params(self) -> bool:
        return len(self.scale) > 0

    @property
    def blockwise(self) -> bool:
        """Parameters given per block, in other tensors (see ``block_scales``)."""
        return self.block_scales is not None

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
        if self.block_scales is not None:
            out["blockwise"] = {"block_size": self.block_size, "scales": self.block_scales,
                                "zero_points": self.block_zero_points}
        return out


class SlotPositions(NamedTuple):
    """Every op's slots as numpy arrays, for passes over a whole graph at once.

    Entry ``j`` of ``in_pos`` is the position (in `ModelGraph.tensor_nodes` order) of an
    input tensor of the op at position ``in_op[j]`` (in `ModelGraph.op_nodes` order), op
    by op and slot by slot; an absent optional input has position ``n_tensors``.
    ``out_pos`` and ``out_op`` are the same for outputs.
    """

    in_pos: Any  # numpy int64 arrays (numpy is imported only by the passes that use them)
    in_op: Any
    out_pos: Any
    out_op: Any
    n_tensors: int


@dataclass(frozen=True)
class BulkFacts:
    """Whole-graph arrays a loader already holds when it has added its last node.

    A loader that reads a file in bulk hands them over with `ModelGraph.set_bulk`, so the
    rules need not derive them from the nodes again; each must equal what the graph would
    derive (tests/test_bulk_paths.py compares the two).  ``None`` means "derive it".
    """

    slot_positions: SlotPositions | None = None
    quant_values: QuantValues | None = None


class ModelGraph:
    """One model as a bipartite op/tensor graph with the helpers rules need."""

    def __init__(self, fmt: str, path: str, stage: str, **attrs: Any) -> None:
        self._attrs: dict[str, Any] = {
            "format": fmt, "path": path, "stage": stage, "quant_mode": None, **attrs}
        self._nodes: dict[NodeId, dict[str, Any]] = {}
        self._ops: list[NodeId] = []
        self._tensors: list[NodeId] = []
        # The attribute dicts of `_ops` and `_tensors`, position for position: a pass over
        # every node reads them in order instead of looking each id up.
        self._op_data: list[dict[str, Any]] = []
        self._op_slots: list[tuple[tuple[NodeId | None, ...], tuple[NodeId | None, ...]]] = []
        self._tensor_data: list[dict[str, Any]] = []
        self._inputs: dict[NodeId, tuple[NodeId | None, ...]] = {}
        self._outputs: dict[NodeId, tuple[NodeId | None, ...]] = {}
        # Readers of each tensor, built from the ops linked so far when first asked for
        # (a clean model may never need them); `_unindexed` counts ops not in it yet.
        self._consumers: dict[NodeId, list[NodeId]] = {}
        self._unindexed = 0
        self._producer: dict[NodeId, NodeId] = {}
        self._derived: dict[Callable[[ModelGraph], Any], Any] = {}
        self._ops_by_type: dict[str, list[int]] | None = None
        self.bulk = BulkFacts()
        self._nx: nx.MultiDiGraph | None = None

    @property
    def g(self) -> nx.MultiDiGraph:
        """The graph as a ``networkx.MultiDiGraph``, built on first access.

        A snapshot for reading with networkx's algorithms: its node attribute dicts and
        graph attribute dict are shallow copies of the `ModelGraph`'s (the values, such as
        an op's ``attrs`` or a tensor's `Quant`, are the same objects), and its nodes and
        edges are those of the graph when it was first asked for.  Each edge carries
        ``slot``: tensor -> op for input ``slot``, op -> tensor for output ``slot``.
        """
        if self._nx is None:
            import networkx as nx

            g: nx.MultiDiGraph = nx.MultiDiGraph(**self._attrs)
            g.add_nodes_from(self._nodes.items())
            g.add_edges_from(
                edge for op, (ins, outs) in zip(self._ops, self._op_slots, strict=True)
                for edge in chain(
                    ((t, op, {"slot": slot}) for slot, t in enumerate(ins) if t is not None),
                    ((op, t, {"slot": slot}) for slot, t in enumerate(outs) if t is not None)))
            self._nx = g
        return self._nx

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
        self._add_node(node, dict(
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
        ))
        self._tensors.append(node)
        self._tensor_data.append(self._nodes[node])
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
        ins, outs = tuple(inputs), tuple(outputs)
        self._add_node(node, {
            "kind": "op",
            "op_type": op_type,
            "source_op": source_op,
            "name": name,
            "subgraph": subgraph,
            "index": index,
            "attrs": dict(attrs or {}),
            "location": location or f"subgraph[{subgraph}]/op[{index}]:{op_type}({name})",
            "n_inputs": len(ins),
            "n_outputs": len(outs),
        })
        self._link([node], [ins], [outs])
        self._ops.append(node)
        self._op_data.append(self._nodes[node])
        return node

    def add_tensors(
        self,
        subgraph: int,
        names: Sequence[str],
        dtypes: Sequence[str],
        shapes: Sequence[tuple[int | None, ...] | None],
        quants: Sequence[Quant | None],
        constants: Sequence[bool],
        nbytes: Sequence[int],
        extra: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> list[NodeId]:
        """Add tensors ``0..n-1`` of ``subgraph`` at once (`add_tensor` for each, faster).

        ``extra`` maps a tensor's index to more attributes.  Returns the node ids.
        """
        n = len(names)
        ids = self._new_ids("tensors", "t", subgraph,
                            (names, dtypes, shapes, quants, constants, nbytes))
        records = [
            {"kind": "tensor", "name": name, "dtype": dtype, "shape": shape, "quant": quant,
             "constant": constant, "nbytes": size, "subgraph": subgraph, "index": i,
             "location": f"subgraph[{subgraph}]/tensor[{i}]({name})"}
            for i, name, dtype, shape, quant, constant, size in zip(
                range(n), names, dtypes, shapes, quants, constants, nbytes, strict=True)
        ]
        for i, more in (extra or {}).items():
            records[i].update(more)
        self._nodes.update(zip(ids, records, strict=True))
        self._tensors.extend(ids)
        self._tensor_data.extend(records)
        self._changed()
        return ids

    def add_ops(
        self,
        subgraph: int,
        op_types: Sequence[str],
        source_ops: Sequence[str],
        names: Sequence[str],
        inputs: Sequence[Sequence[NodeId | None]],
        outputs: Sequence[Sequence[NodeId | None]],
        attrs: Sequence[dict[str, Any]],
    ) -> list[NodeId]:
        """Add ops ``0..n-1`` of ``subgraph`` at once (`add_op` for each, faster), with
        their tensors already added.  Locations are ``subgraph[s]/op[k]:SOURCE(name)``.
        Each op keeps its ``attrs`` dict as given (not copied)."""
        n = len(op_types)
        ids = self._new_ids("ops", "o", subgraph,
                            (op_types, source_ops, names, inputs, outputs, attrs))
        records = [
            {"kind": "op", "op_type": op_type, "source_op": source, "name": name,
             "subgraph": subgraph, "index": k, "attrs": attr,
             "location": f"subgraph[{subgraph}]/op[{k}]:{source}({name})",
             "n_inputs": len(ins), "n_outputs": len(outs)}
            for k, op_type, source, name, ins, outs, attr in zip(
                range(n), op_types, source_ops, names, inputs, outputs, attrs, strict=True)
        ]
        self._link(ids, inputs, outputs)
        self._nodes.update(zip(ids, records, strict=True))
        self._ops.extend(ids)
        self._op_data.extend(records)
        self._changed()
        return ids

    def _changed(self) -> None:
        """Forget what was derived from the graph (a loader is still adding nodes)."""
        self.bulk = BulkFacts()
        self._forget_derived()

    def _forget_derived(self) -> None:
        self._derived.clear()
        self._ops_by_type = None
        self._nx = None

    def set_op_types(self, op_types: Mapping[NodeId, str]) -> None:
        """Rename the ``op_type`` of some ops (a source op named after the builtin it is
        predicted to lower to, `qlint.predict.patterns.lower`); locations keep the
        loader's text."""
        nodes = self._nodes
        for op, op_type in op_types.items():
            if nodes[op]["kind"] != "op":
                raise KeyError(op)
            nodes[op]["op_type"] = op_type
        self._forget_derived()

    def set_bulk(self, facts: BulkFacts) -> None:
        """Hand over the `BulkFacts` a loader holds after adding its last node."""
        self.bulk = facts

    def derived(self, compute: Callable[[ModelGraph], T]) -> T:
        """``compute(self)``, computed once per graph and shared by every caller that passes
        the same function (e.g. an index of the quantized tensors several rules read).
        Forgotten when a node is added."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        return self._derived[compute]  # type: ignore[no-any-return]

    def _add_node(self, node: NodeId, data: dict[str, Any]) -> None:
        if node in self._nodes:
            raise ValueError(f"node {node} added twice")
        self._nodes[node] = data
        self._changed()

    def _new_ids(self, what: str, letter: str, subgraph: int,
                 columns: Sequence[Sequence[Any]]) -> list[NodeId]:
        """Ids ``s<subgraph>/<letter><k>`` for a bulk add; the columns must be as long."""
        n = len(columns[0])
        if any(len(column) != n for column in columns):
            raise ValueError(f"add_{what}: columns of different lengths")
        ids = [f"s{subgraph}/{letter}{k}" for k in range(n)]
        if self._nodes and not self._nodes.keys().isdisjoint(ids):
            raise ValueError(f"{what} of subgraph {subgraph} added twice")
        return ids

    def _link(self, ops: Sequence[NodeId], inputs: Sequence[Sequence[NodeId | None]],
              outputs: Sequence[Sequence[NodeId | None]]) -> None:
        """Record the slots, consumers and producers of ``ops`` (tensors already added)."""
        nodes = self._nodes
        named = filter(partial(is_not, None),  # an absent optional slot is None
                       chain(chain.from_iterable(inputs), chain.from_iterable(outputs)))
        if not all(map(nodes.__contains__, named)):
            for op, ins, outs in zip(ops, inputs, outputs, strict=True):
                for t in (*ins, *outs):
                    if t is not None and t not in nodes:
                        raise KeyError(f"op {op} uses unknown tensor {t}")
        ins_t = list(map(tuple, inputs))  # a tuple is kept as it is
        outs_t = list(map(tuple, outputs))
        self._inputs.update(zip(ops, ins_t, strict=True))
        self._outputs.update(zip(ops, outs_t, strict=True))
        self._op_slots.extend(zip(ins_t, outs_t, strict=True))
        self._unindexed += len(ops)
        # The first op to write a tensor is its producer: in `reversed` order the first
        # writer is the last one stored.
        writers = list(chain.from_iterable(map(repeat, ops, map(len, outs_t))))
        written = dict(zip(reversed(list(chain.from_iterable(outs_t))), reversed(writers),
                           strict=True))
        written.pop(None, None)  # an absent output slot
        producer = self._producer
        if producer:
            written = {t: op for t, op in written.items() if t not in producer}
        producer.update(cast("dict[NodeId, NodeId]", written))

    def _readers(self) -> dict[NodeId, list[NodeId]]:
        """Tensor -> the ops reading it, in link order (indexed up to the last op)."""
        if self._unindexed:
            consumers = self._consumers
            start = len(self._op_slots) - self._unindexed
            for op, (ins, _) in zip(self._ops[start:], self._op_slots[start:], strict=True):
                for t in ins:
                    if t is not None:
                        readers = consumers.get(t)
                        if readers is None:
                            consumers[t] = [op]
                        elif readers[-1] != op:  # one op reading a tensor twice
                            readers.append(op)
            self._unindexed = 0
        return self._consumers

    # -- graph-level facts --------------------------------------------------------
    @property
    def format(self) -> str:
        return str(self._attrs["format"])

    @property
    def path(self) -> str:
        return str(self._attrs["path"])

    @property
    def stage(self) -> str:
        return str(self._attrs["stage"])

    @property
    def quant_mode(self) -> str | None:
        return self._attrs.get("quant_mode")

    @property
    def attrs(self) -> dict[str, Any]:
        return self._attrs

    def __getitem__(self, node: NodeId) -> dict[str, Any]:
        return self._nodes[node]

    @property
    def node_data(self) -> Mapping[NodeId, dict[str, Any]]:
        """Node id -> attribute dict for every node (a read-only view; ``graph[node]``
        for one node)."""
        return MappingProxyType(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def __len__(self) -> int:
        return len(self._ops)

    # -- navigation ---------------------------------------------------------------
    def ops(self, subgraph: int | None = None) -> Iterator[NodeId]:
        """Op nodes in file order (subgraph, then execution index)."""
        if subgraph is None:
            yield from self._ops
            return
        for op, data in zip(self._ops, self._op_data, strict=True):
            if data["subgraph"] == subgraph:
                yield op

    def tensor_nodes(self) -> Iterator[tuple[NodeId, dict[str, Any]]]:
        """(id, attributes) of every tensor in file order; faster than `tensors` + `[]`."""
        return zip(self._tensors, self._tensor_data, strict=True)

    def op_nodes(self) -> Iterator[tuple[NodeId, dict[str, Any], tuple[
            tuple[NodeId | None, ...], tuple[NodeId | None, ...]]]]:
        """(id, attributes, (inputs, outputs)) of every op in file order; faster than
        `ops` with `[]` and `slots`."""
        return zip(self._ops, self._op_data, self._op_slots, strict=True)

    def tensor_table(self) -> tuple[list[NodeId], list[dict[str, Any]]]:
        """Every tensor's id and attribute dict, as two lists in file order (copies)."""
        return list(self._tensors), list(self._tensor_data)

    def ops_of_type(self, op_types: Iterable[str]) -> list[NodeId]:
        """The ops whose ``op_type`` is one of ``op_types``, in file order."""
        ops = self._ops
        return [ops[p] for p in self.op_positions(op_types)]

    def op_positions(self, op_types: Iterable[str]) -> list[int]:
        """Positions (in `op_nodes` order) of the ops whose ``op_type`` is one of
        ``op_types``, ascending."""
        index = self._ops_by_type
        if index is None:
            index = {}
            for position, op_type in enumerate(map(itemgetter("op_type"), self._op_data)):
                index.setdefault(op_type, []).append(position)
            self._ops_by_type = index
        lists = [index[t] for t in set(op_types) if t in index]
        if not lists:
            return []
        return list(lists[0]) if len(lists) == 1 else sorted(p for x in lists for p in x)

    def tensors(self, subgraph: int | None = None) -> Iterator[NodeId]:
        if subgraph is None:
            yield from self._tensors
            return
        for t, data in zip(self._tensors, self._tensor_data, strict=True):
            if data["subgraph"] == subgraph:
                yield t

    def inputs(self, op: NodeId) -> list[NodeId | None]:
        """Input tensors of ``op`` by slot; ``None`` where an optional input is absent."""
        return list(self._inputs[op]) if op in self._inputs else self._no_slots(op)

    def outputs(self, op: NodeId) -> list[NodeId | None]:
        """Output tensors of ``op`` by slot."""
        return list(self._outputs[op]) if op in self._outputs else self._no_slots(op)

    def slots(self, op: NodeId) -> tuple[tuple[NodeId | None, ...], tuple[NodeId | None, ...]]:
        """(inputs, outputs) of ``op`` by slot, as the graph's own immutable tuples (no copy:
        `inputs`/`outputs` for a list)."""
        ins = self._inputs.get(op)
        if ins is None:
            self._no_slots(op)
            return (), ()
        return ins, self._outputs[op]

    def _no_slots(self, node: NodeId) -> list[NodeId | None]:
        if node not in self._nodes:
            raise KeyError(node)
        return []

    def _slots(self, table: dict[NodeId, tuple[NodeId | None, ...]],
               op: NodeId) -> tuple[NodeId | None, ...]:
        slots = table.get(op)
        if slots is None:
            self._no_slots(op)
            return ()
        return slots

    def used(self, tensor: NodeId) -> bool:
        """True when an op reads or writes ``tensor``."""
        return tensor in self._producer or tensor in self._readers()

    def tensor_positions(self) -> Mapping[NodeId, int]:
        """Tensor id -> its position in file order (`tensor_nodes`), built once."""
        return self.derived(_tensor_positions)

    def slot_positions(self) -> SlotPositions:
        """Every op's input and output tensors as positions (`SlotPositions`), built once."""
        if self.bulk.slot_positions is not None:
            return self.bulk.slot_positions
        return self.derived(ModelGraph.slot_positions_from_ids)

    def slot_positions_from_ids(self) -> SlotPositions:
        """`SlotPositions` found by looking up each slot's tensor id."""
        import numpy as np

        position = self.tensor_positions()
        n, n_ops = len(self._tensors), len(self._ops)

        def side(which: int) -> tuple[np.ndarray, np.ndarray]:
            lists = list(map(itemgetter(which), self._op_slots))
            ids = list(chain.from_iterable(lists))
            pos = np.fromiter(map(position.get, ids, repeat(n)), dtype=np.int64,
                              count=len(ids))
            counts = np.fromiter(map(len, lists), dtype=np.int64, count=n_ops)
            return pos, np.repeat(np.arange(n_ops, dtype=np.int64), counts)

        in_pos, in_op = side(0)
        out_pos, out_op = side(1)
        return SlotPositions(in_pos, in_op, out_pos, out_op, n)

    def used_tensors(self) -> frozenset[NodeId]:
        """Every tensor an op reads or writes (`used` for all of them at once)."""
        return self.derived(_used_tensors)

    def producer(self, tensor: NodeId) -> NodeId | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: NodeId) -> list[NodeId]:
        return list(self._readers().get(tensor, ()))

    def activations(self, op: NodeId) -> list[NodeId]:
        """Non-constant input and output tensors of ``op`` (what its kernel computes on)."""
        nodes = self._nodes
        ins = [t for t in self._slots(self._inputs, op)
               if t is not None and not nodes[t]["constant"]]
        outs = [t for t in self._slots(self._outputs, op) if t is not None]
        return ins + outs


def _tensor_positions(graph: ModelGraph) -> Mapping[NodeId, int]:
    return MappingProxyType(dict(zip(graph._tensors, range(len(graph._tensors)), strict=True)))


def _used_tensors(graph: ModelGraph) -> frozenset[NodeId]:
    slots = chain.from_iterable(chain.from_iterable(graph._op_slots))
    return frozenset(t for t in slots if t is not None)
