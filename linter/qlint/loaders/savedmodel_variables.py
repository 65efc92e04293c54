"""Which of a SavedModel's variables hold the same value, read from its checkpoint.

The converter freezes variables into constants and merges ops alike on constants alike
(common-subexpression elimination): two projections whose kernels hold the same bytes
(weights tied, or drawn alike from one seeded initializer) become one.  The loader
gives each variable read (``ReadVariableOp``) a ``content`` that is equal exactly where
the values are, as it does for small ``Const`` nodes (`qlint.loaders.savedmodel_consts`).

How a top-level ``VarHandleOp`` finds its value:

* a signature's call node passes the function's captured inputs last; the saved object
  graph lists, per concrete function, the object each captured input is
  (``bound_inputs``, node ids);
* the checkpoint's own object graph (the string tensor ``_CHECKPOINTABLE_OBJECT_GRAPH``)
  names, per node id, the checkpoint key of its ``VARIABLE_VALUE``;
* the index (`qlint.loaders.tensor_bundle`) gives that key's dtype, shape, size and
  CRC32C.  Only variables whose dtype, shape, size and CRC32C match another's are read,
  and compared by a digest of their bytes; every other variable's content is its own
  checkpoint key (two reads of one variable are alike).

A checkpoint that is missing or cannot be read leaves every variable without content.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from typing import Any

from google.protobuf import message as pb_message

from qlint.loaders import _tf_protos
from qlint.loaders.tensor_bundle import (
    STRING_DTYPE,
    BundleError,
    Entry,
    read_bytes,
    read_index,
    scalar_string,
)

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
#: Largest variable read to compare with its look-alikes, and the most read in all.
MAX_COMPARED_BYTES = 16 * 1024**2
MAX_TOTAL_BYTES = 256 * 1024**2
MAX_OBJECT_GRAPH_BYTES = 64 * 1024**2


def variable_contents(root: str, meta: Any) -> dict[str, str]:
    """Top-level ``VarHandleOp`` node name -> a content key of the variable's value."""
    directory = os.path.join(root, "variables")
    handles = _handles(meta)
    if not handles:
        return {}
    try:
        shards, index = read_index(os.path.join(directory, "variables.index"))
        keys = _checkpoint_keys(directory, shards, index)
        wanted = {keys[i]: index[keys[i]] for i in handles.values()
                  if i in keys and keys[i] in index}
        contents = _contents(directory, shards, wanted)
    except BundleError:
        return {}
    return {name: contents[keys[i]] for name, i in handles.items()
            if i in keys and keys[i] in contents}


def _handles(meta: Any) -> dict[str, int]:
    """Top-level ``VarHandleOp`` node name -> the object graph node it is bound to."""
    functions = meta.object_graph_def.concrete_functions
    variables = {n.name for n in meta.graph_def.node if n.op == "VarHandleOp"}
    out: dict[str, int] = {}
    for node in meta.graph_def.node:
        if "f" not in node.attr or node.attr["f"].func.name not in functions:
            continue
        bound = list(functions[node.attr["f"].func.name].bound_inputs)
        data = [i for i in node.input if not i.startswith("^")]
        if not bound or len(bound) > len(data):
            continue
        for ref, node_id in zip(data[-len(bound):], bound, strict=True):
            name = ref.split(":", 1)[0]
            if name in variables:
                out.setdefault(name, node_id)
    return out


def _checkpoint_keys(directory: str, shards: int, index: dict[str, Entry]) -> dict[int, str]:
    """Object graph node id -> the checkpoint key of its variable's value."""
    entry = index.get(OBJECT_GRAPH_KEY)
    if entry is None or entry.dtype != STRING_DTYPE:
        raise BundleError("no object graph")
    raw = scalar_string(read_bytes(directory, shards, entry, MAX_OBJECT_GRAPH_BYTES))
    try:
        graph: Any = _tf_protos.messages()["TrackableObjectGraph"].FromString(raw)
    except (pb_message.DecodeError, RecursionError) as exc:  # nested past the limit
        raise BundleError("bad object graph") from exc
    return {i: a.checkpoint_key for i, node in enumerate(graph.nodes)
            for a in node.attributes if a.name == "VARIABLE_VALUE"}


def _contents(directory: str, shards: int, entries: dict[str, Entry]) -> dict[str, str]:
    """Checkpoint key -> content key, for the variables the graph reads: a digest of the
    bytes where another of them has the same dtype, shape, size and CRC32C, else the
    key itself."""
    out = {key: f"variable:{key}" for key in entries}
    alike: dict[tuple[object, ...], list[str]] = defaultdict(list)
    for key, e in entries.items():
        if e.dtype != STRING_DTYPE:
            alike[(e.dtype, e.shape, e.size, e.crc32c)].append(key)
    budget = MAX_TOTAL_BYTES
    for group in alike.values():
        if len(group) < 2:
            continue
        for key in group:
            e = entries[key]
            if e.size > min(MAX_COMPARED_BYTES, budget):
                continue
            budget -= e.size
            data = read_bytes(directory, shards, e, MAX_COMPARED_BYTES)
            digest = hashlib.blake2b(data, digest_size=12)
            digest.update(repr((e.dtype, e.shape)).encode())
            out[key] = f"value:{digest.hexdigest()}"
    return out
