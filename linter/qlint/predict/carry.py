"""Float that spreads: ops the converter keeps in float32 because a float op feeds them.

The probe converts short chains (``Cast+ConcatV2``: an int32 -> float32 CAST feeding a
CONCATENATION; ``Sin+ConcatV2``: a positional encoding) and records every TFLite op the
chain left in float and which float op read which, on what dtype (``float_edges``): a
(producer, consumer, dtype) the converter was seen to keep float together
(`carried_pairs`), under the chain's conditions on the consumer where it has some
(``carry_when``, `carry_holds`: a RESHAPE of a float NEG stays float when its result is
stacked with others, not when it is the model's output).
`carried_predictions` extends the predictions of a source graph along those pairs: an op
whose input comes, as a float tensor, from an op predicted float, and whose builtin pair
with it is a carried one, is predicted float too, and so on down the graph.  A Keras
layer or operation whose probe lowered it to several builtins is matched by each of them
(the float ZEROS_LIKE read by ``keras.ops.where`` keeps its SELECT_V2 float).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Container, Mapping
from functools import cache

from qlint.conditions import all_hold
from qlint.graph import ModelGraph, NodeId
from qlint.op_facts import op_facts
from qlint.predict.patterns import layer_key, tf_op_lowerings
from qlint.predict.tables import FLOAT_FALLBACK, RUNTIME_ERROR, CapabilityTable, TfOpCapability
from qlint.unknowable_facts import may_hold

#: Tensor dtypes on which a probed pattern carries float from op to op.
CARRIED_DTYPES = frozenset({"float32", "complex64"})
# (op, the float op it is carried from, the probed entry, the op's builtin, how: "fed"
# by that op's result or "beside" it, reading the same tensor)
Carried = tuple[NodeId, NodeId, TfOpCapability, str, str]


@cache  # per table: read-only, shared by every graph linted against it
def carried_pairs(table: CapabilityTable) -> dict[tuple[str, str, str], tuple[TfOpCapability, ...]]:
    """(producer, consumer, dtype) the probe saw stay float together in one pattern: the
    float edges a probe recorded (a float op read by a float op, on a tensor of that
    dtype; also where the converted model then failed to run), or, for an entry probed
    before edges were recorded and no Keras layer, its consecutive float ops (dtype
    ``"*"``: any of `CARRIED_DTYPES`); each with every probed entry that saw it, in table
    order (each may hold under conditions of its own)."""
    out: dict[tuple[str, str, str], tuple[TfOpCapability, ...]] = {}
    for cap in table.tf_ops():
        if len(cap.float_ops) < 2 or cap.no_carry:
            continue
        # a model that converts and then fails to run still kept those ops float together
        # (recorded edges only: batched non_max_suppression_padded's IF -> CONCATENATION)
        if cap.outcome != FLOAT_FALLBACK and not (
                cap.outcome == RUNTIME_ERROR and cap.float_edges):
            continue
        if cap.float_edges is not None:
            edges = list(cap.float_edges)
        elif cap.keras:
            continue
        else:
            edges = [(a, b, "*") for a, b in zip(cap.float_ops, cap.float_ops[1:], strict=False)]
        for edge in dict.fromkeys(edges):
            out[edge] = (*out.get(edge, ()), cap)
    return out


@cache
def sibling_pairs(table: CapabilityTable
                  ) -> dict[tuple[str, str, str], tuple[TfOpCapability, ...]]:
    """(float op, reader, dtype) the probe saw both stay float reading one tensor of that
    dtype (``float_siblings``): the reader gets the dequantized tensor the float op reads
    (a SHAPE beside a transposed 3-d convolution; not beside a CUMSUM)."""
    out: dict[tuple[str, str, str], tuple[TfOpCapability, ...]] = {}
    for cap in table.tf_ops():
        if cap.outcome == FLOAT_FALLBACK:
            for pair in dict.fromkeys(cap.float_siblings):
                out[pair] = (*out.get(pair, ()), cap)
    return out


def beside_float(graph: ModelGraph, op: NodeId, builtin: str, floating: Container[NodeId],
                 builtin_of: Callable[[NodeId], str],
                 siblings: Mapping[tuple[str, str, str], tuple[TfOpCapability, ...]]
                 ) -> tuple[NodeId, TfOpCapability] | None:
    """(the float op, the probed entry) where ``op`` (a ``builtin``) reads a tensor a
    float op reads too, and a probe saw that pair of builtins stay float so."""
    for t in graph.inputs(op):
        if t is None or graph[t]["dtype"] not in CARRIED_DTYPES:
            continue
        for c in graph.consumers(t):
            if c == op or c not in floating:
                continue
            key = (builtin_of(c), builtin, graph[t]["dtype"])
            cap = carrier(graph, op, siblings.get(key, ()), builtin)
            if cap is not None:
                return c, cap
    return None


def carrying(pairs: Mapping[tuple[str, str, str], tuple[TfOpCapability, ...]], producer: str,
             consumer: str, dtype: str) -> tuple[TfOpCapability, ...]:
    """The probed entries that saw ``producer`` keep ``consumer`` float through a tensor
    of ``dtype`` (an RFFT2D's complex RESHAPE says nothing of a float32 one)."""
    if dtype not in CARRIED_DTYPES:
        return ()
    return pairs.get((producer, consumer, dtype), ()) + pairs.get((producer, consumer, "*"), ())


def carrier(graph: ModelGraph, op: NodeId, caps: tuple[TfOpCapability, ...],
            builtin: str, *, may: bool = False) -> TfOpCapability | None:
    """The probed entry of ``caps`` that carries float to ``op`` (a ``builtin``).  Entries
    that name conditions on the builtin decide where there are any: the first of them
    whose conditions the op meets (`carry_holds`), else none (a chain probed on one
    context, not swept, says nothing of the condition: Argsort's NEG carries to its
    TOPK_V2 only where the values are unused, as InvertPermutation's probe found).
    Otherwise the first entry.  With ``may``, failing one the op meets, the first whose
    conditions the op may meet (on a fact a ``.tflite`` file cannot show,
    `qlint.unknowable_facts`)."""
    def conditions(cap: TfOpCapability) -> object:
        by_builtin = cap.carry_when
        if graph.format == "tflite" and cap.carry_when_builtin is not None:
            by_builtin = cap.carry_when_builtin
        return (by_builtin or {}).get(builtin)

    swept = [cap for cap in caps if conditions(cap)]
    if not swept:
        return caps[0] if caps else None
    met = next((cap for cap in swept if carry_holds(graph, op, cap, builtin)), None)
    if met is None and may:
        met = next((cap for cap in swept if carry_holds(graph, op, cap, builtin, may=True)),
                   None)
    return met


def carry_holds(graph: ModelGraph, op: NodeId, cap: TfOpCapability, builtin: str, *,
                may: bool = False) -> bool:
    """Whether the probed chain ``cap`` carries float to ``op`` (a ``builtin``): true
    unless the chain has conditions on that builtin (``carry_when``) that the op does
    not meet (an unknown fact: no; with ``may``, one a ``.tflite`` file cannot show:
    yes, `qlint.unknowable_facts`).  On a .tflite file, the conditions as they read on
    its builtins where the probe recorded them (``carry_when_builtin``)."""
    by_builtin = cap.carry_when
    if graph.format == "tflite" and cap.carry_when_builtin is not None:
        by_builtin = cap.carry_when_builtin
    conds = (by_builtin or {}).get(builtin)
    if not conds:
        return True
    facts = op_facts(graph, op, options=False)
    return all_hold(list(conds), facts) is True or (may and may_hold(conds, facts))


def carried_predictions(graph: ModelGraph, flagged: Mapping[NodeId, str | None],
                        table: CapabilityTable,
                        merged: Collection[NodeId] = ()) -> list[Carried]:
    """(op, the float op feeding it, the probed chain, the op's builtin) for each op of
    ``graph`` that a carried pair keeps float, given the ops ``flagged`` float already
    (each with the one builtin its prediction named, if it named one: a ``ZerosLike``
    whose probe needed a harness op has no one-op lowering, yet was predicted to stay a
    float ZEROS_LIKE); in model order, so a carried op carries on.  The ``merged`` ops,
    which repeat an earlier op the converter merges them into, carry nothing."""
    pairs = carried_pairs(table)
    siblings = sibling_pairs(table)
    floating = set(flagged)
    out: list[Carried] = []
    if not (pairs or siblings) or not floating:
        return out
    lowered = tf_op_lowerings(table)

    def builtin(op: NodeId) -> str:  # the op's TFLite builtin, predicted, lowered or not yet
        node = graph[op]
        return flagged.get(op) or str(lowered.get(node["source_op"], node["op_type"]))

    def kinds(op: NodeId) -> list[str]:
        """The op's builtin; for a Keras layer or operation that lowers to several, each
        of them (``keras.ops.where(c, x, y)``'s probe: GREATER, MUL, SELECT_V2)."""
        node = graph[op]
        if graph.format == "keras" and op not in flagged and str(node["op_type"]) == \
                f"keras.{node['source_op']}":
            key = layer_key(graph, op)
            entry = table.tf_op(key) if key else None
            if entry is not None and entry.lowers_to:
                return list(entry.lowers_to)
        return [builtin(op)]

    for op in graph.ops():
        if op in floating or op in merged:
            continue
        for t in graph.inputs(op):
            if t is None or graph[t]["dtype"] not in CARRIED_DTYPES:
                continue
            p = graph.producer(t)
            if p is None or p not in floating:
                continue
            found = None
            for kind in kinds(op):
                cap = carrier(graph, op, carrying(pairs, builtin(p), kind, graph[t]["dtype"]),
                              kind)
                if cap is not None:
                    found = (op, p, cap, kind, "fed")
                    break
            if found is not None:
                out.append(found)
                floating.add(op)
                break
        else:
            for kind in kinds(op):
                beside = beside_float(graph, op, kind, floating, builtin, siblings)
                if beside is not None:
                    out.append((op, beside[0], beside[1], kind, "beside"))
                    floating.add(op)
                    break
    return out
