"""Load a TensorFlow SavedModel directory into a `ModelGraph` without TensorFlow.

``saved_model.pb`` (or ``saved_model.pbtxt``) is decoded with `protobuf` against
the message subset in `qlint.loaders._tf_protos`.  The loader picks the meta
graph tagged ``serve`` (else the first), and for each signature builds the ops
reachable from its outputs:

* function calls (``StatefulPartitionedCall``, ``PartitionedCall`` and direct calls of
  a library function by name) are inlined, their arguments wired to the caller's
  tensors; recursion is cut when a function calls itself, at a nesting depth of
  `MAX_DEPTH`, at `MAX_OPS` ops and after a number of instantiated nodes proportional to
  the nodes the file declares (a library whose functions each call the next several
  times would expand exponentially), so a hostile or cyclic library cannot hang it;
* control-flow bodies (``While``/``If``/``Case`` branches) are inlined beside
  their op with fresh argument tensors, so the ops inside them are visible (not the
  branch an ``If`` on a constant predicate of known value never takes);
* a call of a function the converter replaces whole (`savedmodel_composites`) is one op;
* ``Identity``-like ops are looked through and ops whose inputs are all
  constant are folded (as the converter does); they are listed with their
  locations in the graph attributes ``elided_ops`` and ``folded_ops`` so that rules can match
  multi-op patterns the probe observed; variables read with
  ``ReadVariableOp`` and ``Const`` values become constant tensors (variables whose values
  the checkpoint shows alike have one ``content``: `savedmodel_variables`);
* dtypes come from the ``T``/``dtype``/``DstT``/``out_type`` attributes,
  shapes from ``_output_shapes`` (or a placeholder's ``shape``).

Signatures whose ops are identical (Keras 3 ``export()`` writes ``serve`` and
``serving_default`` over the same function) are kept once.  Each signature is
one subgraph; so is the initializer (``__saved_model_init_op``) when it fills lookup
tables: the converter converts it as well, and its ops are what the initializer's output
node runs by control edges.  Op nodes carry ``source_op`` = the TF op (``Cumsum``) and
``op_type`` = ``tf.<Op>`` (``tf.Conv2D``), the name the MLIR converter uses in its
messages (`qlint.predict.patterns.lower` later names the TFLite builtin the probed
converter lowered it to, ``CUMSUM``, where it saw exactly one).  ``location`` is the signature
and the TF node path: ``serving_default/functional_1/lambda/Cumsum``.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from qlint.bounded_read import check_model_file_size
from qlint.errors import ModelLoadError
from qlint.graph import ModelGraph
from qlint.loaders.savedmodel_composites import implements_name
from qlint.loaders.savedmodel_consts import content_digest, folded_content, scalar_value
from qlint.loaders.savedmodel_dtypes import (
    RANDOM_PREFIXES,
    arg_dtype,
    output_dtype,
    plain_attrs,
)
from qlint.loaders.savedmodel_variables import variable_contents

MAX_DEPTH = 32
MAX_OPS = 200_000
# Nodes instantiated (calls and pass-throughs included): at most 1,000 plus 4 per node the
# file declares, and never more than 1M.  Real models instantiate fewer nodes than they
# declare; a library whose functions each call the next several times would expand
# exponentially.
MAX_NODE_VISITS = 1_000_000
VISITS_BASE, VISITS_PER_NODE = 1_000, 4
# Largest files read (checked before reading; docs/hardening.md).  Weights live in
# variables/, so a real saved_model.pb is the graph alone: tens of MB even for large models.
MAX_PB_BYTES = 256 * 1024**2
MAX_PBTXT_BYTES = 32 * 1024**2

CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
CONTROL_FLOW_FUNC_ATTRS = ("cond", "body", "then_branch", "else_branch", "branches")
PASS_THROUGH = frozenset({"Identity", "StopGradient", "Snapshot", "PreventGradient",
                          "EnsureShape", "CheckNumerics"})
VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
ASSIGN_OPS = frozenset({"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"})
IF_OPS = frozenset({"If", "StatelessIf"})
# Ops filling a lookup table, in the initializer signature (which the converter converts)
TABLE_INIT_OPS = frozenset({"LookupTableImportV2", "InitializeTableV2",
                            "InitializeTableFromTextFileV2"})
INIT_SIGNATURE = "__saved_model_init_op"
SKIP_OPS = frozenset({"NoOp", "Placeholder", "PlaceholderWithDefault", "_Arg", "_Retval"})
STATEFUL = frozenset({"RandomUniform", "RandomStandardNormal", "TruncatedNormal",
                      "VarHandleOp", *ASSIGN_OPS, "While", "StatelessWhile", "If",
                      "StatelessIf", "Case", "StatelessCase", *TABLE_INIT_OPS})


def savedmodel_dir(path: str) -> str:
    """The SavedModel directory of ``path`` (the directory itself or its saved_model.pb)."""
    if os.path.isdir(path):
        return path
    return os.path.dirname(path) or "."


@dataclass
class _Tensor:
    key: str
    name: str
    dtype: str = "unknown"
    shape: tuple[int | None, ...] | None = None
    constant: bool = False
    value: float | None = None  # a scalar constant's value (prediction conditions)
    content: str | None = None  # a digest of a small constant's value (merged alike)
    output_arg: str | None = None  # the op's output argument (``indices`` of TopKV2)


@dataclass
class _Op:
    source_op: str
    name: str
    location: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    anchor: int | None = None  # control-flow op whose body this op belongs to
    folded: bool = False  # every input is constant: the converter folds it away
    content: str | None = None  # a folded op's: what its results are computed from


@dataclass
class _Signature:
    key: str
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    ops: list[_Op] = field(default_factory=list)
    tensors: dict[str, _Tensor] = field(default_factory=dict)
    elided: list[tuple[str, str]] = field(default_factory=list)  # (location, TF op)
    folded: list[tuple[str, str]] = field(default_factory=list)  # constant-folded ops


def load_savedmodel(path: str) -> ModelGraph:
    """Parse the SavedModel at ``path`` (directory or its ``saved_model.pb``)."""
    from google.protobuf import message as pb_message

    from qlint.loaders import _tf_protos

    root = savedmodel_dir(path)
    pb = os.path.join(root, "saved_model.pb")
    pbtxt = os.path.join(root, "saved_model.pbtxt")
    try:
        if os.path.isfile(pb):
            check_model_file_size(path, pb, MAX_PB_BYTES)
            with open(pb, "rb") as fh:
                data = fh.read(MAX_PB_BYTES + 1)
            check_model_file_size(path, pb, MAX_PB_BYTES, len(data))
            sm = _tf_protos.parse_saved_model(data)
        elif os.path.isfile(pbtxt):
            check_model_file_size(path, pbtxt, MAX_PBTXT_BYTES)
            with open(pbtxt, "rb") as fh:
                raw = fh.read(MAX_PBTXT_BYTES + 1)
            check_model_file_size(path, pbtxt, MAX_PBTXT_BYTES, len(raw))
            sm = _tf_protos.parse_saved_model_text(raw.decode("utf-8"))
        else:
            raise ModelLoadError(path, "not a SavedModel: no saved_model.pb or saved_model.pbtxt")
    except OSError as exc:
        raise ModelLoadError(path, f"cannot read: {exc.strerror or exc}") from None
    except pb_message.DecodeError:
        raise ModelLoadError(path, "saved_model.pb is not a valid SavedModel protobuf"
                             ) from None
    except UnicodeDecodeError as exc:  # where, never what: no byte of the file is quoted
        raise ModelLoadError(path, f"saved_model.pbtxt is not valid UTF-8 (byte {exc.start})"
                             ) from None
    except _text_parse_error() as exc:  # evaluated only on an error
        raise ModelLoadError(path, "saved_model.pbtxt cannot be parsed at line "
                             f"{exc.GetLine()}, column {exc.GetColumn()}") from None
    except RecursionError:  # the text parser recurses once per nested message
        raise ModelLoadError(path, "saved_model.pbtxt is nested too deeply to read") from None
    if not sm.meta_graphs:
        raise ModelLoadError(path, "SavedModel has no meta graph")
    meta = next((m for m in sm.meta_graphs if "serve" in m.meta_info_def.tags), sm.meta_graphs[0])
    try:
        graph = _Builder(path, meta, variable_contents(root, meta)).build()
    except RecursionError:
        raise ModelLoadError(path, "graph nesting too deep to analyse") from None
    # tf_keras (Keras 2) writes keras_metadata.pb beside saved_model.pb; Keras 3 does not.
    graph.attrs["metadata"]["keras_metadata"] = os.path.isfile(
        os.path.join(root, "keras_metadata.pb"))
    return graph


class _Builder:
    def __init__(self, path: str, meta: Any, variables: dict[str, str] | None = None) -> None:
        self.path = path
        self.meta = meta
        # top-level VarHandleOp name -> what its value is (`savedmodel_variables`)
        self.variables = variables or {}
        self.graph_def = meta.graph_def
        self.functions = {f.signature.name: f for f in self.graph_def.library.function}
        self.nodes = {n.name: n for n in self.graph_def.node}
        self._top: dict[str, _Node] = {}  # decoded on first use
        # function body -> its nodes in dependency order (bodies are instantiated once per
        # call site and per signature; the NodeDefs are decoded and sorted once)
        self._bodies: dict[int, tuple[Any, list[_Node]]] = {}
        self.n_ops = 0
        self.n_visits = 0
        declared = len(self.graph_def.node) + sum(
            len(f.node_def) for f in self.graph_def.library.function)
        self.max_visits = min(MAX_NODE_VISITS, VISITS_BASE + VISITS_PER_NODE * declared)
        self.truncated: list[str] = []

    def top_node(self, name: str) -> _Node:
        """Top-level node ``name`` (which must exist), decoded."""
        node = self._top.get(name)
        if node is None:
            node = self._top[name] = _Node(self.nodes[name])
        return node

    def body(self, fdef: Any) -> list[_Node]:
        """The nodes of function ``fdef`` in dependency order."""
        hit = self._bodies.get(id(fdef))
        if hit is None or hit[0] is not fdef:
            hit = (fdef, _topo([_Node(n) for n in fdef.node_def]))
            self._bodies[id(fdef)] = hit
        return hit[1]

    # -- top level -----------------------------------------------------------
    def build(self) -> ModelGraph:
        sigs: list[_Signature] = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        keys = sorted(self.meta.signature_def, key=lambda k: (k != "serving_default", k))
        for key in keys:
            if key.startswith("__"):
                continue
            sig = self._signature(key, self.meta.signature_def[key])
            fp = tuple((op.location.split("/", 1)[-1], op.source_op) for op in sig.ops)
            if fp in seen:
                continue
            seen.add(fp)
            sigs.append(sig)
        if not sigs:  # TF1 graph without signatures: every node
            sigs.append(self._whole_graph())
        init = self.meta.signature_def.get(INIT_SIGNATURE)
        if init is not None and (init_sig := self._init_signature(init)).ops:
            sigs.append(init_sig)
        info = self.meta.meta_info_def
        g = ModelGraph(
            "savedmodel", self.path, "source",
            signatures={},
            subgraphs=[],
            metadata={"tensorflow_version": info.tensorflow_version or None,
                      "tags": list(info.tags), "truncated": self.truncated},
        )
        for s_idx, sig in enumerate(sigs):
            self._emit(g, s_idx, sig)
        return g

    def _emit(self, g: ModelGraph, s_idx: int, sig: _Signature) -> None:
        ids: dict[str, str] = {}
        _input_types_from_casts(sig)

        def tensor(key: str) -> str:
            if key not in ids:
                t = sig.tensors.get(key) or _Tensor(key, key)
                extra: dict[str, Any] = {} if t.value is None else {"value": t.value}
                if t.content is not None:
                    extra["content"] = t.content
                if t.output_arg is not None:
                    extra["output_arg"] = t.output_arg
                ids[key] = g.add_tensor(
                    s_idx, len(ids), name=t.name, dtype=t.dtype, shape=t.shape,
                    constant=t.constant, location=f"{sig.key}/{t.name}", **extra,
                )
            return ids[key]

        for key in sig.inputs.values():
            tensor(key)
        for i, op in enumerate(sig.ops):
            g.add_op(
                s_idx, i, op_type=f"tf.{op.source_op}", source_op=op.source_op,
                name=op.name, inputs=[tensor(k) for k in op.inputs],
                outputs=[tensor(k) for k in op.outputs], attrs=op.attrs, location=op.location,
            )
        g.attrs["subgraphs"].append({
            "name": sig.key,
            "inputs": [ids[k] for k in sig.inputs.values()],
            "outputs": [tensor(k) for k in sig.outputs.values()],
        })
        g.attrs["signatures"][sig.key] = {
            "subgraph": s_idx,
            "inputs": {n: ids[k] for n, k in sig.inputs.items()},
            "outputs": {n: ids[k] for n, k in sig.outputs.items()},
        }
        g.attrs.setdefault("elided_ops", []).extend(sig.elided)
        g.attrs.setdefault("folded_ops", []).extend(sig.folded)

    def _signature(self, key: str, sdef: Any) -> _Signature:
        sig = _Signature(key)
        scope = _Scope(self, sig, prefix="", path=key, depth=0, stack=())
        # Protobuf map order changes from process to process: sort, so that tensor ids
        # and the output are the same on every run.
        inputs = sorted(sdef.inputs.items(), key=lambda item: item[0])
        outputs = sorted(sdef.outputs.items(), key=lambda item: item[0])
        for name, info in inputs:
            sig.inputs[name] = scope.top_ref(info.name)
        wanted = {_top_node(info.name) for _, info in outputs}
        scope.instantiate_top(wanted)
        sig.outputs = {name: scope.top_ref(info.name) for name, info in outputs}
        for name, info in inputs:
            t = sig.tensors.setdefault(sig.inputs[name], _Tensor(sig.inputs[name], name))
            if info.dtype:
                from qlint.loaders._tf_protos import dtype_name

                t.dtype = dtype_name(info.dtype)
            if info.HasField("tensor_shape") and t.shape is None:
                t.shape = _shape(info.tensor_shape)
        _prune(sig)
        return sig

    def _init_signature(self, sdef: Any) -> _Signature:
        """The initializer: what its output node runs by control edges (table imports)."""
        sig = _Signature(INIT_SIGNATURE)
        scope = _Scope(self, sig, prefix="", path=INIT_SIGNATURE, depth=0, stack=())
        roots = {_top_node(r) for info in sdef.outputs.values()
                 if _top_node(info.name) in self.nodes
                 for r in self.nodes[_top_node(info.name)].input}
        scope.instantiate_top(roots)
        _prune(sig)
        return sig

    def _whole_graph(self) -> _Signature:
        sig = _Signature("graph")
        scope = _Scope(self, sig, prefix="", path="graph", depth=0, stack=())
        consumed = {_top_node(i) for n in self.graph_def.node for i in n.input}
        sinks = {n.name for n in self.graph_def.node if n.name not in consumed}
        scope.instantiate_top(sinks)
        for n in self.graph_def.node:
            if n.op in ("Placeholder", "PlaceholderWithDefault"):
                sig.inputs[n.name] = scope.top_ref(n.name)
        sig.outputs = {s: scope.top_ref(s) for s in sorted(sinks) if s in self.nodes
                       and self.nodes[s].op not in SKIP_OPS}
        _prune(sig)
        return sig


def _text_parse_error() -> Any:
    """``google.protobuf.text_format.ParseError``, imported only when an error needs it."""
    from google.protobuf import text_format

    return text_format.ParseError


def _top_node(ref: str) -> str:
    return ref.lstrip("^").split(":", 1)[0]


def _shape(proto: Any) -> tuple[int | None, ...] | None:
    if proto.unknown_rank:
        return None
    return tuple(None if d.size < 0 else int(d.size) for d in proto.dim)


_UNSET: Any = object()


class _Node:
    """A NodeDef with what the builder reads decoded once: ``name``, ``op``, ``input``
    and ``attr`` as on the NodeDef, plus cached output shapes, dtypes, scalar attributes
    and control-flow bodies (a function body is instantiated once per call site and per
    signature, and reading a protobuf field builds a new Python object every time)."""

    __slots__ = ("_attrs", "_callee", "_dtypes", "_flow", "_shapes", "attr", "data_inputs",
                 "input", "name", "op")

    def __init__(self, proto: Any) -> None:
        self.name: str = proto.name
        self.op: str = proto.op
        self.input: list[str] = list(proto.input)
        self.data_inputs = [r for r in self.input if not r.startswith("^")]
        self.attr = proto.attr
        self._shapes: Any = _UNSET
        self._dtypes: dict[int, str] = {}
        self._attrs: dict[str, Any] | None = None
        self._flow: list[tuple[str, list[str]]] | None = None
        self._callee: Any = _UNSET

    def output_shapes(self) -> list[tuple[int | None, ...] | None] | None:
        """The ``_output_shapes`` attribute decoded, ``None`` when the node has none."""
        if self._shapes is _UNSET:
            self._shapes = ([_shape(s) for s in self.attr["_output_shapes"].list.shape]
                            if "_output_shapes" in self.attr else None)
        return self._shapes  # type: ignore[no-any-return]

    def shape(self, idx: int) -> tuple[int | None, ...] | None:
        """Shape of output ``idx`` (-1: unknown output) as far as the node declares it."""
        shapes = self.output_shapes()
        if shapes is not None:
            return shapes[idx] if 0 <= idx < len(shapes) else None
        if self.op in ("Placeholder", "PlaceholderWithDefault") and "shape" in self.attr:
            return _shape(self.attr["shape"].shape)
        return None

    def dtype(self, idx: int) -> str:
        """Dtype of output ``idx`` from the op and its attributes."""
        found = self._dtypes.get(idx)
        if found is None:
            found = self._dtypes[idx] = output_dtype(self, idx)
        return found

    def plain_attrs(self) -> dict[str, Any]:
        """`plain_attrs` of the node, a fresh copy each time (ops do not share lists)."""
        if self._attrs is None:
            self._attrs = plain_attrs(self)
            # an output of no elements (a split's empty last part), used or not
            if any(s is not None and 0 in s for s in self.output_shapes() or ()):
                self._attrs["empty_output"] = True
        return {k: list(v) if isinstance(v, list) else v for k, v in self._attrs.items()}

    def control_flow(self) -> list[tuple[str, list[str]]]:
        """(attribute, function names) of the control-flow bodies the node names."""
        if self._flow is None:
            self._flow = []
            for a in CONTROL_FLOW_FUNC_ATTRS:
                if a not in self.attr:
                    continue
                value = self.attr[a]
                funcs = [f.name for f in value.list.func] or [value.func.name]
                self._flow.append((a, funcs))
        return self._flow


class _Scope:
    """One instantiation of the top-level graph or of a function body."""

    def __init__(self, b: _Builder, sig: _Signature, *, prefix: str, path: str, depth: int,
                 stack: tuple[str, ...], args: dict[str, str] | None = None,
                 anchor: int | None = None) -> None:
        self.b, self.sig, self.prefix, self.path = b, sig, prefix, path
        self.depth, self.stack, self.args = depth, stack, args or {}
        self.anchor = anchor
        self.alias: dict[str, str] = {}  # looked-through output key -> input key
        self.body_ops: dict[str, tuple[int, Any, list[str]]] = {}

    # tensor references ---------------------------------------------------------
    def top_ref(self, ref: str) -> str:
        """Key of a top-level reference ``node`` or ``node:i`` (flat output index)."""
        name, _, idx = ref.partition(":")
        return self.resolve(f"{self.prefix}{name}:{idx or '0'}")

    def func_ref(self, ref: str) -> str:
        """Key of a function-body reference: an argument or ``node:arg:i``.

        Without op definitions the flat output index of ``arg`` is unknown, so a
        body op's outputs are created when they are first referenced, keyed by
        ``node:arg:i``; looked-through and constant outputs are keyed ``node:*:i``.
        """
        if ":" not in ref:
            found = self.args.get(ref)
            return f"{self.prefix}{ref}" if found is None else found
        node, arg, idx = [*ref.split(":"), "0", "0"][:3]
        plain = f"{self.prefix}{node}:*:{idx}"
        wild = self.resolve(plain) if plain in self.alias else plain
        tensors = self.sig.tensors
        if wild in tensors or wild != plain:
            return wild
        key = f"{self.prefix}{node}:{arg}:{idx}"
        if key not in tensors and node in self.body_ops:
            op_index, body_node, seen_args = self.body_ops[node]
            if arg not in seen_args:
                seen_args.append(arg)
            flat = int(idx) if seen_args[0] == arg and idx.isdigit() else -1
            op = self.sig.ops[op_index]
            self._new_tensor(key, body_node, flat, dtype=arg_dtype(body_node, arg),
                             constant=op.folded)
            self.sig.tensors[key].output_arg = arg
            self.sig.tensors[key].content = op.content and f"{op.content}:{arg}:{idx}"
            self.sig.ops[op_index].outputs.append(key)
        return key

    def ref(self, ref: str, top: bool) -> str:
        return self.top_ref(ref) if top else self.func_ref(ref)

    def resolve(self, key: str) -> str:
        seen = 0
        while key in self.alias and seen < 10_000:
            key = self.alias[key]
            seen += 1
        return key

    def data_inputs(self, node: _Node, top: bool) -> list[str]:
        ref = self.top_ref if top else self.func_ref
        return [ref(r) for r in node.data_inputs]

    # instantiation --------------------------------------------------------------
    def instantiate_top(self, wanted: set[str]) -> None:
        """Instantiate the top-level nodes that ``wanted`` depends on."""
        nodes = self.b.nodes
        node = self.b.top_node
        order: list[str] = []
        seen: set[str] = set()
        queue = deque(sorted(n for n in wanted if n in nodes))
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen.add(name)
            order.append(name)
            for r in node(name).data_inputs:
                if _top_node(r) in nodes:
                    queue.append(_top_node(r))
        for n in _topo([node(name) for name in order]):
            self._node(n, True)

    def instantiate_function(self, fdef: Any) -> dict[str, str]:
        """Instantiate a function body; returns output arg name -> tensor key."""
        for i, arg in enumerate(fdef.signature.input_arg):
            aa = fdef.arg_attr.get(i)
            key = self.args.get(arg.name)
            if aa is None or key is None or "_output_shapes" not in aa.attr:
                continue
            shapes = aa.attr["_output_shapes"].list.shape
            t = self.sig.tensors.get(key)
            if shapes and t is not None and t.shape is None:
                t.shape = _shape(shapes[0])
        for node in self.b.body(fdef):
            self._node(node, False)
        return {out: self.func_ref(ref) for out, ref in fdef.ret.items()}

    def _out_key(self, node: _Node, idx: int, top: bool) -> str:
        if top:
            return f"{self.prefix}{node.name}:{idx}"
        return f"{self.prefix}{node.name}:*:{idx}"

    def _new_tensor(self, key: str, node: _Node, idx: int, *, constant: bool = False,
                    dtype: str | None = None) -> str:
        if dtype is None:
            dtype = node.dtype(max(idx, 0))
        name = node.name if idx <= 0 else f"{node.name}:{idx}"
        self.sig.tensors[key] = _Tensor(key, name, dtype, node.shape(idx), constant)
        return key

    def _node(self, node: _Node, top: bool) -> None:
        self.b.n_visits += 1
        op = node.op
        if op.startswith("Placeholder"):
            if top:
                self._new_tensor(self._out_key(node, 0, top), node, 0)
            return
        if op in SKIP_OPS:
            return
        ins = self.data_inputs(node, top)
        if op in PASS_THROUGH and ins:
            self.alias[self._out_key(node, 0, top)] = ins[0]
            if op != "Identity":
                self.sig.elided.append((f"{self.path}/{node.name}", op))
            return
        if op == "IdentityN":
            for i, k in enumerate(ins):
                self.alias[self._out_key(node, i, top)] = k
            return
        if op in VARIABLE_OPS or op in ("ReadVariableOp", "Const"):
            dtype = "resource" if op in VARIABLE_OPS else None
            key = self._new_tensor(self._out_key(node, 0, top), node, 0, constant=True,
                                   dtype=dtype)
            if op == "Const":
                self.sig.tensors[key].value = scalar_value(node)
                self.sig.tensors[key].content = content_digest(node)
            elif op == "ReadVariableOp" and ins:
                self.sig.tensors[key].content = self.b.variables.get(ins[0].rsplit(":", 1)[0])
            return
        func = self._callee(node)
        fdef = self.b.functions.get(func) if func is not None else None
        composite = implements_name(fdef) if fdef is not None else None
        if func is not None and composite is None and self._can_inline(func):
            self._inline(node, func, ins, top)
            return
        self._plain_op(node, ins, top)
        if composite is not None:  # the converter replaces the whole call
            self.sig.ops[-1].source_op = composite

    def _callee(self, node: _Node) -> str | None:
        if node._callee is _UNSET:  # the builder's functions do not change
            callee = None
            if node.op in self.b.functions:
                callee = node.op
            elif node.op in CALL_OPS and "f" in node.attr:
                callee = node.attr["f"].func.name or None
            node._callee = callee
        return node._callee  # type: ignore[no-any-return]

    def _can_inline(self, func: str) -> bool:
        if func not in self.b.functions:
            return False
        why = None
        if func in self.stack:
            why = f"recursive call of {func}"
        elif self.depth >= MAX_DEPTH:
            why = f"call nesting deeper than {MAX_DEPTH} at {func}"
        elif self.b.n_ops >= MAX_OPS:
            why = f"more than {MAX_OPS} ops"
        elif self.b.n_visits >= self.b.max_visits:
            why = f"more than {self.b.max_visits} node instantiations"
        if why and why not in self.b.truncated:
            self.b.truncated.append(why)
        return why is None

    def _inline(self, node: _Node, func: str, ins: list[str], top: bool) -> None:
        fdef = self.b.functions[func]
        args = {a.name: ins[i] for i, a in enumerate(fdef.signature.input_arg) if i < len(ins)}
        generic = node.op in CALL_OPS and node.name.split("/")[-1].startswith(
            ("StatefulPartitionedCall", "PartitionedCall"))
        # a generic call node adds its name scope (a Keras 2 layer's
        # ``dense/StatefulPartitionedCall``: ``dense``), not its own name; two layers'
        # bodies that name their ops alike stay apart
        scope = node.name.rpartition("/")[0] if generic else node.name
        path = f"{self.path}/{scope}" if scope else self.path
        child = _Scope(self.b, self.sig, prefix=f"{self.prefix}{node.name}/", path=path,
                       depth=self.depth + 1, stack=(*self.stack, func), args=args,
                       anchor=self.anchor)
        rets = child.instantiate_function(fdef)
        for i, out in enumerate(fdef.signature.output_arg):
            if out.name in rets:
                self.alias[self._out_key(node, i, top)] = rets[out.name]

    def _plain_op(self, node: _Node, ins: list[str], top: bool) -> None:
        index = len(self.sig.ops)
        tensors = self.sig.tensors
        folded = bool(ins) and node.op not in STATEFUL and not node.op.startswith(
            RANDOM_PREFIXES) and all(
            k in tensors and tensors[k].constant for k in ins)
        outs: list[str] = []
        if top:
            shapes = node.output_shapes()
            n_out = 1 if shapes is None else max(1, len(shapes))
            outs = [self._new_tensor(self._out_key(node, i, top), node, i, constant=folded)
                    for i in range(n_out)]
        else:
            self.body_ops[node.name] = (index, node, [])
        content = folded_content(node.op, node.plain_attrs(),
                                 [tensors[k].content for k in ins]) if folded else None
        for i, key in enumerate(outs):
            tensors[key].content = content and f"{content}:{i}"
        self.sig.ops.append(_Op(node.op, node.name, f"{self.path}/{node.name}", ins, outs,
                                node.plain_attrs(), anchor=self.anchor, folded=folded,
                                content=content))
        self.b.n_ops += 1
        untaken = _untaken_branch(node.op, tensors.get(ins[0]) if ins else None)
        for a, funcs in node.control_flow():
            if a == untaken:  # the converter folds the If and drops the branch
                continue
            # If/Case take the branch selector first; While passes its inputs as is
            skip = 1 if a in ("then_branch", "else_branch", "branches") else 0
            for func in funcs:
                if func and self._can_inline(func):
                    self._body(node, a, func, ins[skip:], index)

    def _body(self, node: _Node, attr: str, func: str, ins: list[str], index: int) -> None:
        fdef = self.b.functions[func]
        prefix = f"{self.prefix}{node.name}/{func}/"
        args = {}
        # a branch of If/Case sees its operands once, as they are: a constant operand is a
        # constant argument (a loop body's arguments change from iteration to iteration)
        branch = attr in ("then_branch", "else_branch", "branches")
        for i, arg in enumerate(fdef.signature.input_arg):
            key = f"{prefix}{arg.name}:arg"
            src = self.sig.tensors.get(ins[i]) if i < len(ins) else None
            self.sig.tensors[key] = _Tensor(key, f"{node.name}/{attr}/{arg.name}",
                                            src.dtype if src else "unknown",
                                            src.shape if src else None,
                                            constant=bool(branch and src and src.constant),
                                            value=src.value if branch and src else None)
            args[arg.name] = key
        child = _Scope(self.b, self.sig, prefix=prefix, path=f"{self.path}/{node.name}/{attr}",
                       depth=self.depth + 1, stack=(*self.stack, func), args=args,
                       anchor=index if self.anchor is None else self.anchor)
        child.instantiate_function(fdef)


def _input_types_from_casts(sig: _Signature) -> None:
    """A Cast names the type of what it reads (``SrcT``): that is the dtype of its input
    tensor, whatever the producer's generic ``T`` attribute suggested (a ``Bucketize``
    of floats returns int32)."""
    for op in sig.ops:
        src = op.attrs.get("SrcT") if op.source_op == "Cast" else None
        t = sig.tensors.get(op.inputs[0]) if src and op.inputs else None
        if t is not None and isinstance(src, str):
            t.dtype = src


def _topo(nodes: list[Any]) -> list[Any]:
    """Nodes in dependency order (inputs first); cycles fall back to file order."""
    by_name = {n.name: n for n in nodes}
    indeg = dict.fromkeys(by_name, 0)
    users: dict[str, list[str]] = {name: [] for name in by_name}
    for n in nodes:
        name = n.name
        for r in n.input:
            src = r.lstrip("^").split(":", 1)[0]  # _top_node
            if src in by_name and src != name:
                indeg[name] += 1
                users[src].append(name)
    queue = deque(n.name for n in nodes if indeg[n.name] == 0)
    out: list[Any] = []
    while queue:
        name = queue.popleft()
        out.append(by_name[name])
        for u in users[name]:
            indeg[u] -= 1
            if indeg[u] == 0:
                queue.append(u)
    if len(out) < len(nodes):  # a cycle (TF1 loops): append the rest in file order
        done = {n.name for n in out}
        out.extend(n for n in nodes if n.name not in done)
    return out


def _untaken_branch(op: str, predicate: _Tensor | None) -> str | None:
    """The branch attribute of an ``If`` whose predicate is a constant of known value (a
    training flag fixed at export) that the branch it names never runs; None otherwise.
    The converter folds such an ``If`` into its taken branch (probed: ``If(constant
    predicate)``, ``If(constant predicate, float op untaken)``)."""
    if op not in IF_OPS or predicate is None or not predicate.constant \
            or predicate.value is None:
        return None
    return "else_branch" if predicate.value else "then_branch"


def _prune(sig: _Signature) -> None:
    """Keep the ops the signature outputs depend on (and the bodies of kept control flow)."""
    producer: dict[str, int] = {}
    for i, op in enumerate(sig.ops):
        for k in op.outputs:
            producer[k] = i
    # a variable the signature assigns (a stateful RNN's state) is state the converted
    # model keeps, and a table the initializer fills is a table it keeps: the assignment
    # or the import is kept as an op, with what it depends on
    keep = {i for i, op in enumerate(sig.ops) if op.source_op in ASSIGN_OPS
            or op.source_op in TABLE_INIT_OPS}
    queue = deque([*sig.outputs.values(), *(k for i in keep for k in sig.ops[i].inputs)])
    while queue:
        k = queue.popleft()
        at = producer.get(k)
        if at is None or at in keep:
            continue
        keep.add(at)
        queue.extend(sig.ops[at].inputs)
    changed = True
    while changed:
        changed = False
        for i, op in enumerate(sig.ops):
            if i not in keep and op.anchor is not None and op.anchor in keep:
                keep.add(i)
                changed = True
    sig.folded.extend((op.location, op.source_op) for i, op in enumerate(sig.ops)
                      if i in keep and op.folded)
    sig.ops = [op for i, op in enumerate(sig.ops) if i in keep and not op.folded]
