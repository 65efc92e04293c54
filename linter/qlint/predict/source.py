"""Predict what strict int8 conversion does to a source graph, from the probed tables.

Shared by the source rules (QL110, QL111).  Every fact comes from the
``tf_ops`` table of the newest ``tflite`` capability file, which records, for a
TF op or a Keras layer pattern, the GraphDef ops the probe observed, the TFLite
ops it lowered to and its strict-int8 outcome.

SavedModel graphs are judged the way the probe observed them, not op by op: an
op that belongs to a multi-op pattern (Keras' exact GELU is ``Mul``, ``Neg``,
``Erfc`` and becomes one int8 GELU kernel) takes the pattern's outcome when the
ops of its name scope cover the pattern's ops and the op reaches them through
ops of the pattern (a ``Cast`` feeding a ``ConcatV2``, not a ``Cast`` feeding a
``MatMul`` whose result is concatenated).  Scopes broader than
`MAX_SCOPE_OPS` ops are not considered a pattern instance.  Ops outside any
pattern take the outcome of their one-op entry.  Keras graphs are judged per
layer (the variant `qlint.predict.patterns.layer_key` matches) plus the ``activation`` it applies.

Ops inside a control-flow body (a ``While`` loop of a Keras RNN, an ``If``
branch) count as adjacent to their control-flow op, so a pattern the probe
observed across a loop (Keras ``LSTM``: ``TensorListReserve``, ``While`` and the
cell's ops in its body) is matched as one instance.

A conversion error is only attributed to an op when the probed message names a
TF op (``'tf.Erf' op is neither a custom op nor a flex op``, ``'tf.TensorListReserve'
op requires element_shape to be static``); a probe failure of another kind (a
crashed converter, a calibration error) says nothing about the op and is not used.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from qlint.conditions import all_hold
from qlint.graph import ModelGraph, NodeId
from qlint.loaders.keras import TF_FUNCTION_LAYERS
from qlint.merges import CONTROL_FLOW, merges
from qlint.op_facts import op_facts
from qlint.predict.carry import carried_predictions
from qlint.predict.patterns import layer_key, match_pattern, source_table, tf_op_lowerings
from qlint.predict.scopes import drop_borrowed, innermost, member_scopes, scopes
from qlint.predict.shape_arithmetic import shape_arithmetic
from qlint.predict.tables import (
    CONVERSION_ERROR,
    FLOAT_FALLBACK,
    INTEGER,
    RUNTIME_ERROR,
    CapabilityTable,
    TfOpCapability,
)
from qlint.predict.variants import conditioned, overrides_pattern, variants_by_op

MAX_SCOPE_OPS = 96
HALF = frozenset({"float16", "bfloat16"})
# An MLIR diagnostic about a TF op: ``'tf.Erf' op is neither ...``.
OP_ERROR = re.compile(r"'tf\.(?P<op>\w+)' op \w")
# The interpreter refusing a builtin, in the converter's calibration run: ``Node number 0
# (CONV_3D) failed to prepare``.
BUILTIN_REFUSED = re.compile(r"\((?P<op>[A-Z][A-Z0-9_]*)\) failed to (?:prepare|invoke)")
BODY_ATTRS = frozenset({"body", "cond", "then_branch", "else_branch", "branches"})


@dataclass
class Prediction:
    """One predicted non-int8 outcome, anchored on an op of the source graph."""

    op: NodeId
    outcome: str
    cap: TfOpCapability
    tflite_ops: tuple[str, ...] = ()
    related: list[NodeId] = field(default_factory=list)
    # op | pattern | layer | activation | carried (``related``: the feeder) | beside
    # (``related``: the float op reading the same tensor)
    via: str = "op"
    # how many of each of ``tflite_ops`` stay float here, when known (else the entry's
    # probed counts, `TfOpCapability.float_count`)
    counts: tuple[int, ...] = ()

    def count(self, builtin: str) -> int:
        """How many instances of ``builtin`` this prediction says stay float."""
        if builtin in self.tflite_ops and self.counts:
            return self.counts[self.tflite_ops.index(builtin)]
        return max(self.cap.float_count(builtin), 1)

    @property
    def failing_tf_op(self) -> str | None:
        """The TF op the probed converter message names, for conversion errors."""
        m = OP_ERROR.search(self.cap.message or "")
        return m.group("op") if m else None

    @property
    def refused_builtin(self) -> str | None:
        """The builtin the probed conversion's calibration run refused to prepare, where
        its message names one (a grouped CONV_3D)."""
        m = BUILTIN_REFUSED.search(self.cap.message or "")
        return m.group("op") if m else None

    def failing_tf_ops(self, graph: ModelGraph) -> list[str]:
        """Every TF op the probed converter message refuses that this prediction's ops
        have (``StatelessRandomGetKeyCounter`` and ``StatelessRandomUniformV2`` of a
        stateless random op) or that the probe's graph did not hold as an op; the first
        one named when none of them is here.  A Keras
        layer's TF ops are the ones its probed conversion refused: all of them."""
        named = list(dict.fromkeys(OP_ERROR.findall(self.cap.message or "")))
        if graph.format == "keras":
            return named
        here = {graph[o]["source_op"] for o in (self.op, *self.related)}
        # ops the probe's graph did not hold as ops are the conversion's own doing (the
        # VarHandleOp / ReadVariableOp of variables a Case branch reads): named too
        probed = set(self.cap.graphdef_ops or ())
        return [op for op in named if op in here or op not in probed] or named[:1]


def usable(cap: TfOpCapability | None) -> bool:
    """True when a probed entry says something about the op itself."""
    if cap is None:
        return False
    if cap.outcome == CONVERSION_ERROR:  # naming the TF op, or the builtin it became
        return bool(OP_ERROR.search(cap.message or "") or BUILTIN_REFUSED.search(
            cap.message or ""))
    # a runtime error is known too: the op converts and the interpreter refuses its
    # kernel (QL501 reports it from the builtin it lowers to)
    return cap.outcome in (INTEGER, FLOAT_FALLBACK, RUNTIME_ERROR)


def joined(tab: CapabilityTable, cap: TfOpCapability | None) -> TfOpCapability | None:
    """An entry without a usable int8 outcome of its own, judged by what it becomes.

    The probe's unquantized conversion recorded the builtins the op or layer lowers
    to (``lowers_to``); the builtin table says what each does under int8.  The join
    holds when every one of them has a probed ``integer`` or ``float_fallback``
    outcome; otherwise the op stays unknown.
    """
    if cap is None or not cap.lowers_to:
        return None
    floats = []
    for b in cap.lowers_to:
        bcap = tab.op(b)
        if bcap is None or bcap.outcome not in (INTEGER, FLOAT_FALLBACK):
            return None
        if bcap.outcome == FLOAT_FALLBACK:
            floats.append(b)
    return dataclasses.replace(
        cap, outcome=FLOAT_FALLBACK if floats else INTEGER, float_ops=tuple(floats),
        message=None, probe=f"{cap.probe or cap.name}, joined with the builtin table")


def _known(tab: CapabilityTable, cap: TfOpCapability | None) -> TfOpCapability | None:
    """``cap`` when it says something about the op, else its join, else ``None``."""
    if usable(cap):
        return cap
    return joined(tab, cap)


def _single(tab: CapabilityTable, tf_op: str) -> TfOpCapability | None:
    cap = tab.tf_op(tf_op)
    if cap is None:
        return None
    if cap.name == tf_op or (cap.graphdef_ops or ()) == (tf_op,):
        return cap
    return None


@dataclass
class Unknown:
    """An op, layer or activation of a source graph with no probed verdict."""

    op: NodeId
    kind: str  # tf_op | layer | activation | tf_function
    name: str  # the TF op, the Keras class or the activation name


@dataclass
class Judgement:
    """What the tables say about a source graph: predictions, and what they cannot judge."""

    predictions: list[Prediction] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    # ops that repeat an earlier one, which the converter merges into it (`qlint.merges`)
    merged: set[NodeId] = field(default_factory=set)


def predict(graph: ModelGraph, tab: CapabilityTable | None = None) -> list[Prediction]:
    """Every predicted float fallback and conversion error in a source graph.

    With the shipped table (``tab`` left out) the prediction is computed once per graph
    and shared by the rules that ask for it.
    """
    return list(judge(graph, tab).predictions)


def unknown_ops(graph: ModelGraph, tab: CapabilityTable | None = None) -> list[Unknown]:
    """The ops, layers and activations of a source graph no probed entry covers."""
    return list(judge(graph, tab).unknown)


def judge(graph: ModelGraph, tab: CapabilityTable | None = None) -> Judgement:
    """Predictions and unknown ops of a source graph (computed once per graph)."""
    if tab is None:
        return graph.derived(_judge_shipped)
    return _judge(graph, tab)


def _judge_shipped(graph: ModelGraph) -> Judgement:
    return _judge(graph, source_table())


def _judge(graph: ModelGraph, tab: CapabilityTable) -> Judgement:
    if graph.stage != "source":
        return Judgement()
    j = _predict_keras(graph, tab) if graph.format == "keras" else _predict_graphdef(graph, tab)
    # each op predicted float, with the builtin its prediction named when that is one TF
    # op's one builtin (a Keras layer's builtin need not be the op its output comes from)
    flagged: dict[NodeId, str | None] = {}
    for p in j.predictions:
        if p.outcome == FLOAT_FALLBACK:
            one = p.tflite_ops[0] if len(p.tflite_ops) == 1 and p.via == "op" else None
            flagged[p.op] = flagged.get(p.op) or one
            for o in p.related:
                flagged.setdefault(o, None)
    for op, fed_by, cap, builtin, how in carried_predictions(graph, flagged, tab, j.merged):
        j.predictions.append(Prediction(op, FLOAT_FALLBACK, cap, (builtin,), related=[fed_by],
                                        via="carried" if how == "fed" else "beside",
                                        counts=(1,)))
    return j


#: Keras classes that are no computation of their own.
KERAS_STRUCTURAL = frozenset({"InputLayer"})


def _predict_keras(graph: ModelGraph, tab: CapabilityTable) -> Judgement:
    j = Judgement()
    out = j.predictions
    # a Keras 2 file's layers lower as Keras 2 builds them: their tf_keras.<Class> entries
    keras2 = str((graph.attrs.get("metadata") or {}).get("keras_version", "")).startswith("2.")
    variants = variants_by_op(tab)
    for op in graph.ops():
        attrs = graph[op]["attrs"]
        if attrs.get("opaque"):
            continue
        cls = graph[op]["source_op"]
        if str(cls).startswith("ops.") and _integer_operation(graph, op):
            continue  # an int / bool computation: no float kernel, as the probe classifies
        key = layer_key(graph, op)
        if cls == "Activation":
            key = _activation_key(attrs.get("activation"), match_pattern)
        function = tf_function_key(attrs.get("config")) if cls in TF_FUNCTION_LAYERS else None
        if function is not None:
            key = function if tab.tf_op(function) is not None else _alias(tab, function)
        if keras2 and key and key.startswith("keras.") and tab.tf_op(f"tf_{key}") is not None:
            key = f"tf_{key}"
        cap = _known(tab, (conditioned(graph, op, variants.get(key, ())) or tab.tf_op(key))
                     if key else None)
        if cap is not None:
            if cap.outcome != INTEGER:
                out.append(Prediction(op, cap.outcome, cap, _tflite_ops(cap), via="layer"))
        elif function is not None:
            j.unknown.append(Unknown(op, "tf_function", function))
        elif cls not in KERAS_STRUCTURAL:
            j.unknown.append(Unknown(op, "layer", str(cls)))
        act = attrs.get("activation")
        if isinstance(act, str) and cls != "Activation":
            akey = _activation_key(act, match_pattern)
            acap = _known(tab, tab.tf_op(akey) if akey else None)
            if acap is not None:
                if acap.outcome != INTEGER:
                    out.append(Prediction(op, acap.outcome, acap, _tflite_ops(acap),
                                          via="activation"))
            else:
                j.unknown.append(Unknown(op, "activation", act))
    return j


#: Python operators on tensors, as Keras 2 names them, and the probed entry of each.
_OPERATORS = {"__operators__.add": "tf.math.add", "__operators__.getitem": "StridedSlice"}


def _alias(tab: CapabilityTable, function: str) -> str:
    """The entry ``function`` was probed to behave as, when that entry's probe held TF ops
    (a probe whose graph folded away, ``keras.Dropout``'s, says nothing of the function);
    else ``function`` itself (no entry: unknown)."""
    alias = tab.function_alias(function)
    cap = tab.tf_op(alias) if alias else None
    return alias if alias and cap is not None and cap.graphdef_ops else function


def tf_function_key(config: object) -> str | None:
    """The probed ``tf_ops`` key of a Keras 2 ``TFOpLambda`` / ``SlicingOpLambda``:
    ``tf.<function>`` (``tf.nn.relu6``), ``tf.math.add`` for ``x + y``; None when the
    config names no function."""
    fn = config.get("function") if isinstance(config, Mapping) else None
    if not isinstance(fn, str) or not re.fullmatch(r"[A-Za-z_][\w.]{0,80}", fn):
        return None
    return _OPERATORS.get(fn, f"tf.{fn}")


def _activation_key(act: object, match: Callable[..., str | None]) -> str | None:
    """The probed entry of a Keras activation: ``keras.Activation(<name>)``.

    The plain ``keras.Activation`` entry was probed with the default, linear activation:
    it speaks only for ``linear``, never for an activation without its own entry.
    """
    if act in (None, "linear"):
        return "keras.Activation"
    key = match("Activation", {"activation": act})
    return None if key == "keras.Activation" else key


def _integer_operation(graph: ModelGraph, op: NodeId) -> bool:
    """A Keras operation node reading only integer or bool tensors and not casting to a
    float type (``keras.ops.not_equal(token_ids, 0)``).  Its entry was probed on float
    inputs; the loader gives an operation's output the layer's compute dtype, so only the
    inputs tell."""
    ins = [t for t in graph.inputs(op) if t is not None]
    target = (graph[op]["attrs"].get("config") or {}).get("dtype")
    return bool(ins) and all(graph[t]["dtype"] in INTEGER_DTYPES for t in ins) and not (
        isinstance(target, str) and target.startswith(("float", "bfloat")))


def _own_variant(graph: ModelGraph, cap: TfOpCapability, inst: list[NodeId],
                 variants: Mapping[str, Sequence[TfOpCapability]],
                 source_ops: Mapping[NodeId, str]) -> TfOpCapability | None:
    """A variant of the pattern's own op whose conditions its op in ``inst`` meets: the
    pattern probed under another condition (``non_max_suppression_padded`` on boxes of a
    batch, which the converter does not replace)."""
    own = next((o for o in inst if source_ops[o] == cap.name), None)
    if own is None or not variants.get(cap.name):
        return None
    return conditioned(graph, own, variants[cap.name])


def _tflite_ops(cap: TfOpCapability) -> tuple[str, ...]:
    if cap.outcome == FLOAT_FALLBACK:
        return cap.float_ops or cap.lowers_to or ()
    if cap.outcome == RUNTIME_ERROR and cap.float_ops:  # float, then refused at run time
        return cap.float_ops
    return cap.lowers_to or ()


def _predict_graphdef(graph: ModelGraph, tab: CapabilityTable) -> Judgement:
    ops = list(graph.ops())
    locations = {op: graph[op]["location"] for op in ops}
    source_ops = {op: graph[op]["source_op"] for op in ops}
    # name scope -> TF ops under it (kept ops and the ones folded or looked through)
    members: dict[str, list[NodeId]] = defaultdict(list)
    kinds: dict[str, set[str]] = defaultdict(set)
    sizes: dict[str, int] = defaultdict(int)
    for op in ops:
        tf_op = source_ops[op]
        for sc in member_scopes(locations[op]):
            members[sc].append(op)
            kinds[sc].add(tf_op)
            sizes[sc] += 1
    # Ops looked through (StopGradient) and constant-folded ops stand in for a pattern's
    # ops, except that a folded op never stands in for an op the pattern leaves in float:
    # folded away, it is no op at run time (a Cast of a constant is not the int -> float
    # Cast of data that keeps Cast+ConcatV2 float).
    elided: dict[str, set[str]] = defaultdict(set)
    folded: dict[str, set[str]] = defaultdict(set)
    for key, into in (("elided_ops", elided), ("folded_ops", folded)):
        for loc, tf_op in graph.attrs.get(key, []):
            for sc in member_scopes(loc):
                kinds[sc].add(tf_op)
                into[sc].add(tf_op)
                sizes[sc] += 1
    links = _control_flow_links(graph, ops)
    variants = variants_by_op(tab)
    # Keras operation entries (keras.ops.*) judge a .keras file's operation nodes, and
    # tf_keras.* entries (probed on a batch of one) a Keras 2 .h5 file's layers; in a
    # SavedModel the TF ops they become are judged by their own entries
    patterns = [c for c in tab.tf_ops()
                if c.graphdef_ops and len(set(c.graphdef_ops)) > 1 and usable(c)
                and not c.when and not c.carry_only and not (c.keras or "").startswith("ops.")
                and not c.name.startswith("tf_keras.")]
    chains = [c for c in patterns if c.ordered]
    patterns = [c for c in patterns if not c.ordered]
    needs = [frozenset(c.graphdef_ops or ()) for c in patterns]
    # A pattern instance is a scope covering the pattern's ops with no smaller scope
    # inside it that covers them too (the layer, not the model around it).
    small = [(sc, k) for sc, k in kinds.items() if sizes[sc] <= MAX_SCOPE_OPS]
    instances: dict[str, set[str]] = {}
    for cap, need in zip(patterns, needs, strict=True):
        instances[cap.name] = innermost({sc for sc, k in small if need <= k})
    drop_borrowed(instances, patterns, needs, members, locations, source_ops,
                   {sc: elided[sc] | folded[sc] for sc in kinds})
    # the patterns an op of each TF op may belong to, in table order
    candidates: dict[str, list[tuple[TfOpCapability, frozenset[str]]]] = defaultdict(list)
    for cap, need in zip(patterns, needs, strict=True):
        for tf_op in need:
            candidates[tf_op].append((cap, need))
    j = Judgement()
    out = j.predictions
    done: set[tuple[str, str]] = set()
    claimed: set[NodeId] = set()  # ops of a pattern instance already predicted
    floated: set[NodeId] = set()  # the claimed ops whose builtin was predicted float
    lowered = tf_op_lowerings(tab)
    for cap, inst in _chain_instances(graph, ops, source_ops, chains):
        claimed.update(inst)
        if cap.outcome == INTEGER:
            continue  # its ops are int8 together (Sub+Square: one SQUARED_DIFFERENCE)
        # the op it ends with, where another chain ending there predicted it float already,
        # is not predicted twice
        taken = {lowered.get(source_ops[o]) for o in inst if o in floated} - {
            lowered.get(source_ops[o]) for o in inst if o not in floated}
        tfl = tuple(b for b in _tflite_ops(cap) if b not in taken)
        floated.update(o for o in inst if lowered.get(source_ops[o]) in tfl)
        out.append(Prediction(inst[0], cap.outcome, cap, tfl, related=inst[1:],
                              via="pattern",
                              counts=_present_counts(cap, tfl, inst, source_ops, lowered)))
    from_shapes = shape_arithmetic(graph, ops)
    merged = j.merged = set(merges(graph).ops)
    for op in ops:
        if op in claimed or op in merged:
            continue
        tf_op = source_ops[op]
        if any(graph[t]["dtype"] in HALF for t in graph.activations(op)):
            continue  # float16 compute fails conversion as a whole (QL211)
        if op in from_shapes:
            continue  # arithmetic on a tensor's shape: folded where static, no data kernel
        best: tuple[int, str, TfOpCapability] | None = None
        mine = candidates.get(tf_op, ())
        if mine:
            for sc in member_scopes(locations[op]):
                for cap, need in mine:
                    if sc not in instances[cap.name]:
                        continue
                    if best is not None and (len(need), bool(cap.pattern_when)) <= (
                            best[0], bool(best[2].pattern_when)):
                        continue  # a pattern with conditions on its ops is the more specific
                    allowed = {o for o in members[sc] if source_ops[o] in need}
                    if not _pattern_holds(graph, cap, allowed, source_ops):
                        continue
                    near = _nearby(graph, op, allowed, len(need) + 1, links)
                    if need <= near | elided[sc] | _stand_ins(tab, cap, folded[sc]) and \
                            not _reversed(graph, op, cap, allowed, source_ops):
                        best = (len(need), sc, cap)
                if best is not None:
                    break
        if best is not None:
            _, sc, cap = best
            if cap.outcome == INTEGER:
                # an integer pattern holds only where its ops' context is the probe's: a
                # probed condition under which this op is refused (a Conv2D reading frames
                # whose shape the converter cannot infer) or stays float (an einsum
                # reading a slice whose sibling is concatenated) is the stronger fact; a
                # condition on the op's constant operand is not (the pattern's probe fixed
                # those: GELU's ``x ** 3``)
                met = conditioned(graph, op, [v for v in variants.get(tf_op, ())
                                               if v.outcome == CONVERSION_ERROR
                                               or overrides_pattern(v)])
                if met is not None:
                    out.append(Prediction(op, met.outcome, met, _tflite_ops(met)))
                continue
            if (sc, cap.name) in done:
                continue
            done.add((sc, cap.name))
            need = frozenset(cap.graphdef_ops or ())
            group = [o for o in members[sc] if source_ops[o] in need]
            for inst in _instances(group, source_ops) if group else [[op]]:
                # a builtin whose TF ops here another pattern instance has already
                # predicted float is not predicted twice (a rotary embedding's Neg is both
                # Neg+Reshape's and Neg+Pack's); one that instance kept int8 is still this
                # one's to predict (a UNETR concatenation of a biased transposed
                # convolution and of one without a bias)
                taken = {lowered.get(source_ops[o]) for o in inst if o in floated} - {
                    lowered.get(source_ops[o]) for o in inst if o not in claimed}
                fresh = [o for o in inst if o not in claimed]
                claimed.update(inst)
                icap = _own_variant(graph, cap, inst, variants, source_ops) or cap
                tfl = tuple(b for b in _tflite_ops(icap) if b not in taken)
                if icap.outcome == FLOAT_FALLBACK:
                    floated.update(o for o in inst if lowered.get(source_ops[o]) in tfl)
                if icap.outcome != FLOAT_FALLBACK or tfl:
                    out.append(Prediction(inst[0], icap.outcome, icap, tfl, related=inst[1:],
                                          via="pattern",
                                          counts=_present_counts(icap, tfl, inst, source_ops,
                                                                 lowered)))
                # an op of a float pattern meeting a probed context of its own that the
                # pattern's probe did not have (a SquaredDifference of rank 5 in a layer
                # normalization probed on rank 3) keeps that variant's float op too
                if icap.outcome == FLOAT_FALLBACK:
                    out.extend(_context_variants(graph, fresh, variants, source_ops, set(tfl)))
            continue
        ins = graph.inputs(op)
        # a predicate computed from static shapes alone is as constant as a literal one
        shaped = {"first_input_constant": True} if ins and ins[0] is not None and \
            graph.producer(ins[0]) in from_shapes else {}
        known = _known(tab, conditioned(graph, op, variants.get(tf_op, ()), shaped)
                       or _single(tab, tf_op))
        if known is None:
            j.unknown.append(Unknown(op, "tf_op", tf_op))
        elif known.outcome == FLOAT_FALLBACK and _integer_only(graph, op):
            continue  # int32 / bool shape arithmetic: no float kernel, as the probe classifies
        elif known.outcome != INTEGER:
            out.append(Prediction(op, known.outcome, known, _tflite_ops(known)))
            claimed.add(op)  # a pattern instance found later does not predict it again
            floated.add(op)
    return j


INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "bool"})


def _integer_only(graph: ModelGraph, op: NodeId) -> bool:
    """True when every activation of ``op`` has a known integer or bool dtype."""
    acts = graph.activations(op)
    return bool(acts) and all(graph[t]["dtype"] in INTEGER_DTYPES for t in acts)


def _context_variants(graph: ModelGraph, inst: list[NodeId],
                      variants: Mapping[str, list[TfOpCapability]],
                      source_ops: Mapping[NodeId, str],
                      predicted: set[str]) -> list[Prediction]:
    """Predictions for the ops of a float pattern instance that meet a float variant of
    their own (not one on a constant operand) whose float ops the pattern does not name,
    or a variant the converter refuses them under (a float64 Mul beside a Cast)."""
    out: list[Prediction] = []
    for o in inst:
        met = conditioned(graph, o, [v for v in variants.get(source_ops[o], ())
                                      if overrides_pattern(v) or v.outcome == CONVERSION_ERROR])
        if met is not None and (met.outcome == CONVERSION_ERROR
                                or not set(met.float_ops) <= predicted):
            tfl = tuple(b for b in _tflite_ops(met) if b not in predicted)
            out.append(Prediction(o, met.outcome, met, tfl))
            predicted |= set(tfl)
    return out


def _stand_ins(tab: CapabilityTable, cap: TfOpCapability, folded: set[str]) -> set[str]:
    """The folded TF ops that may fill a pattern: those whose own probed lowering is not
    among the ops the pattern leaves in float."""
    if not folded:
        return folded
    keep = set(cap.float_ops)
    out = set()
    for tf_op in folded:
        own = tab.tf_op(tf_op)
        if not (own is not None and own.lowers_to and keep & set(own.lowers_to)):
            out.add(tf_op)
    return out


def _present_counts(cap: TfOpCapability, tflite_ops: tuple[str, ...], inst: list[NodeId],
                    source_ops: Mapping[NodeId, str],
                    lowered: Mapping[str, str]) -> tuple[int, ...]:
    """The probed count of each float builtin, but no more than the instance has TF ops
    that lower to it (a Keras ``CategoryEncoding`` whose int -> float Cast sits outside
    its scope keeps one CAST there, not the probe's two).  A builtin no TF op of the
    instance is known to lower to keeps the probed count.  The entry's own TF op (the op
    it is named after: ``Cast``) is what the probe judged: each of its ops in the instance
    counts (a scope holding two float -> int Casts keeps both CASTs float)."""
    own = cap.variant_of or cap.name
    out = []
    for b in tflite_ops:
        n = max(cap.float_count(b), 1)
        present = sum(1 for o in inst if lowered.get(source_ops[o]) == b)
        mine = sum(1 for o in inst if source_ops[o] == own) if lowered.get(own) == b else 0
        out.append(max(mine, min(n, present)) if present else n)
    return tuple(out)


def _chain_instances(graph: ModelGraph, ops: list[NodeId], source_ops: Mapping[NodeId, str],
                     chains: list[TfOpCapability]) -> list[tuple[TfOpCapability, list[NodeId]]]:
    """The instances of the ordered chains (``cap.ordered``) in the graph, longest chain
    first: ops of the chain's TF ops in its order, each reading the one before it directly,
    wherever they are (a chain is its data edges, not a name scope: basic-pitch's CQT layer
    holds nine squeeze -> transpose -> negative -> stack chains among 180 ops).  An op
    belongs to one instance at most, but for a chain's last op, which may end several (a
    concatenation joining two chains' results); an unusable entry makes none."""
    out: list[tuple[TfOpCapability, list[NodeId]]] = []
    taken: set[NodeId] = set()
    ends: set[NodeId] = set()
    firsts = {next(iter(c.graphdef_ops or ()), None) for c in chains}
    by_kind: dict[str, list[NodeId]] = defaultdict(list)
    for op in ops:
        if source_ops[op] in firsts:
            by_kind[source_ops[op]].append(op)
    for cap in sorted(chains, key=lambda c: -len(set(c.graphdef_ops or ()))):
        kinds = list(dict.fromkeys(cap.graphdef_ops or ()))
        for op in by_kind.get(kinds[0], ()):
            if op in taken or op in ends:
                continue
            inst = [op]
            for k, kind in enumerate(kinds[1:], 2):
                nxt = next((c for t in graph.outputs(inst[-1]) if t is not None
                            for c in graph.consumers(t)
                            if source_ops.get(c) == kind and c not in taken
                            and (k == len(kinds) or c not in ends)), None)
                if nxt is None:
                    break
                inst.append(nxt)
            if len(inst) == len(kinds) and _pattern_holds(graph, cap, set(inst), source_ops):
                out.append((cap, inst))
                taken.update(inst[:-1])
                ends.add(inst[-1])
    return out


def _instances(group: list[NodeId], source_ops: Mapping[NodeId, str]) -> list[list[NodeId]]:
    """The pattern instances in one scope's ``group`` of ops, in model order.

    A scope may hold one pattern more than once (Keras' ``Dot(normalize=True)``
    normalizes both inputs in the layer's scope, without a scope of their own): as many
    instances as the TF op of the pattern found least often there has ops; the i-th op of
    each TF op is the i-th instance's, and any more are the last instance's."""
    by_type: dict[str, list[NodeId]] = defaultdict(list)
    for o in group:
        by_type[source_ops[o]].append(o)
    k = min(len(v) for v in by_type.values())
    insts: list[list[NodeId]] = [[] for _ in range(k)]
    for ops in by_type.values():
        for i, o in enumerate(ops):
            insts[min(i, k - 1)].append(o)
    order = {o: i for i, o in enumerate(group)}
    return [sorted(inst, key=order.__getitem__) for inst in insts]


def _control_flow_links(graph: ModelGraph, ops: list[NodeId]) -> dict[NodeId, list[NodeId]]:
    """Each op of a control-flow body linked to its control-flow op, both ways.

    The SavedModel loader inlines a body beside its op at ``<op location>/<attr>/...``
    (``.../lstm/while/body/...``) with fresh argument tensors, so no data edge joins them.
    """
    by_location = {graph[op]["location"]: op for op in ops
                   if graph[op]["source_op"] in CONTROL_FLOW}
    links: dict[NodeId, list[NodeId]] = defaultdict(list)
    if not by_location:
        return links
    for op in ops:
        for sc in scopes(graph[op]["location"]):
            head, _, attr = sc.rpartition("/")
            parent = by_location.get(head) if attr in BODY_ATTRS else None
            if parent is not None and parent != op:
                links[op].append(parent)
                links[parent].append(op)
                break
    return links


def _pattern_holds(graph: ModelGraph, cap: TfOpCapability, members: set[NodeId],
                   source_ops: Mapping[NodeId, str]) -> bool:
    """True when every op of the instance that a pattern's ``pattern_when`` names meets
    its conditions (an unknown fact: no), and every op the probe saw with a constant
    second operand that decides its outcome (``graphdef_consts``: GELU's ``x ** 3``) has
    one of the probe's constants here (a ``x ** 2`` near a Tanh is no GELU); a pattern
    without either always holds."""
    for tf_op, values in (cap.graphdef_consts or {}).items():
        ops = [o for o in members if source_ops[o] == tf_op]
        if not all(op_facts(graph, o, options=False).get("input1_value") in values
                   for o in ops):
            return False
    if not cap.pattern_when:
        return True
    for tf_op, conds in cap.pattern_when.items():
        ops = [o for o in members if source_ops[o] == tf_op]
        if not ops or not all(all_hold(list(conds), op_facts(graph, o)) is True for o in ops):
            return False
    return True


def _reversed(graph: ModelGraph, op: NodeId, cap: TfOpCapability, allowed: set[NodeId],
              source_ops: Mapping[NodeId, str]) -> bool:
    """True when a two-op pattern's ops flow the other way in the model than in the probe.

    A probe's ``graphdef_ops`` are in its graph's order, producer first: ``Sub+Square``
    is ``square(a - b)``, which the converter fuses into an int8 SQUARED_DIFFERENCE.  A
    ``Square`` whose result is later subtracted (a factorization machine's
    ``sum(v)^2 - sum(v^2)``) is no such pattern.  Reversed means: the op reaches the other
    op of the pattern only against the probed direction.
    """
    kinds = list(dict.fromkeys(cap.graphdef_ops or ()))
    if len(kinds) != 2 or kinds[0] == kinds[1]:
        return False
    depth = 3
    other = {o for o in allowed if source_ops[o] != source_ops[op]}
    if source_ops[op] == kinds[0]:
        forward, backward = _reach(graph, op, other, depth, down=True), \
            _reach(graph, op, other, depth, down=False)
    else:
        forward, backward = _reach(graph, op, other, depth, down=False), \
            _reach(graph, op, other, depth, down=True)
    return backward and not forward


def _reach(graph: ModelGraph, start: NodeId, targets: set[NodeId], depth: int,
           down: bool) -> bool:
    """Whether a ``targets`` op is within ``depth`` data edges of ``start``, following
    edges towards consumers (``down``) or towards producers."""
    frontier = [start]
    seen = {start}
    for _ in range(depth):
        nxt: list[NodeId] = []
        for o in frontier:
            if down:
                neigh = [c for t in graph.outputs(o) if t is not None
                         for c in graph.consumers(t)]
            else:
                neigh = [p for t in graph.inputs(o) if t is not None
                         if (p := graph.producer(t)) is not None]
            for n in neigh:
                if n in targets:
                    return True
                if n not in seen:
                    seen.add(n)
                    nxt.append(n)
        frontier = nxt
    return False


def _nearby(graph: ModelGraph, start: NodeId, allowed: set[NodeId], depth: int,
            links: dict[NodeId, list[NodeId]] | None = None) -> set[str]:
    """TF ops of the ops within ``depth`` hops of ``start`` (inside ``allowed``).

    A hop follows a data edge, or ``links`` (a control-flow op and its body's ops).
    """
    seen = {start}
    frontier = [start]
    for _ in range(depth):
        nxt: list[NodeId] = []
        for op in frontier:
            neigh: list[NodeId] = []
            for t in graph.inputs(op):
                p = graph.producer(t) if t is not None else None
                if p is not None:
                    neigh.append(p)
            for t in graph.outputs(op):
                if t is not None:
                    neigh.extend(graph.consumers(t))
            if links:
                neigh.extend(links.get(op, ()))
            for n in neigh:
                if n in allowed and n not in seen:
                    seen.add(n)
                    nxt.append(n)
        frontier = nxt
    return {graph[o]["source_op"] for o in seen}
