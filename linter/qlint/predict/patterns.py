"""Which probed ``tf_ops`` entry a source op or Keras layer is, and the TFLite builtin
it lowers to.

The loaders name source ops as the file does (``tf.Cumsum``, ``keras.Dense``); `lower`
gives each op of a source graph the ``op_type`` the probed converter lowered it to
(``CUMSUM``, ``FULLY_CONNECTED``) where the probe saw exactly one builtin.  Every fact
comes from the ``tf_ops`` section of the newest ``tflite`` int8 table (`source_table`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from qlint.graph import ModelGraph, NodeId
from qlint.predict.tables import CapabilityTable, newest_table

KERAS_KEY = re.compile(r"keras\.((?:ops\.)?\w+)(?:\((.*)\))?")


def source_table() -> CapabilityTable:
    """The strict-int8 table of the newest probed TFLite converter (its ``tf_ops``
    describe TF ops and Keras layers)."""
    return newest_table("tflite", "int8")


@cache
def keras_patterns() -> dict[str, tuple[str | None, tuple[str, ...] | None]]:
    """Probed Keras patterns: table key -> (Keras class, TFLite ops it lowers to)."""
    return {cap.name: (cap.keras, cap.lowers_to) for cap in source_table().tf_ops()
            if cap.keras}


@cache
def tf_op_lowerings(table: CapabilityTable | None = None) -> dict[str, str]:
    """TF op name -> TFLite builtin, from the probed ``tf_ops`` table (one-op lowerings)."""
    out: dict[str, str] = {}
    for cap in (table or source_table()).tf_ops():
        if cap.keras or not cap.lowers_to or len(cap.lowers_to) != 1:
            continue
        names = {cap.name, *(cap.graphdef_ops or ())}
        if cap.graphdef_ops is not None and len(cap.graphdef_ops) > 1:
            names = {cap.name}
        for n in names:
            out.setdefault(n, cap.lowers_to[0])
    return out


def _scalar_strings(config: Any, out: set[str], depth: int = 0) -> set[str]:
    """Every string and ``key=value`` scalar in a layer config (for variant matching)."""
    if depth > 4:
        return out
    if isinstance(config, dict):
        for k, v in config.items():
            if isinstance(v, bool):
                out.add(f"{k}={v}")  # unroll=True
            elif isinstance(v, (str, int, float)):
                out.add(str(v))
                out.add(f"{k}={_num(v)}")
            else:
                _scalar_strings(v, out, depth + 1)
    elif isinstance(config, list):
        for v in config:
            _scalar_strings(v, out, depth + 1)
    elif isinstance(config, str):
        out.add(config)
    return out


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def match_pattern(class_name: str, config: Any, keys: list[str] | None = None,
                  tokens: tuple[str, ...] = ()) -> str | None:
    """The probed ``tf_ops`` key of a Keras layer: ``keras.<Class>`` or a variant.

    A variant key ``keras.Activation(gelu,approximate)`` matches when every
    comma-separated token is a string or ``name=value`` in the layer config or in
    ``tokens`` (``args=3``: a Keras operation called with three arguments); the variant
    with most matching tokens wins, then the plain ``keras.<Class>`` key.
    """
    if keys is None:
        variants = _variants(class_name)
        if len(variants) == 1 and not variants[0][1]:  # only keras.<Class>: no config needed
            return variants[0][0]
    else:
        variants = tuple(v for key in keys if (v := _parse_key(key, class_name)) is not None)
    if not variants:
        return None
    values = _scalar_strings(config, set(tokens))
    best: tuple[int, str] | None = None
    for key, tokens in variants:
        if all(t in values for t in tokens) and (best is None or len(tokens) > best[0]):
            best = (len(tokens), key)
    return best[1] if best else None


@cache
def _variants(class_name: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The probed keys of a Keras class with their variant tokens, parsed once a class (a
    100,000-layer model asks once a layer)."""
    keys = [k for k, (cls, _) in keras_patterns().items() if cls == class_name]
    return tuple(v for key in keys if (v := _parse_key(key, class_name)) is not None)


def _parse_key(key: str, class_name: str) -> tuple[str, tuple[str, ...]] | None:
    m = KERAS_KEY.fullmatch(key)
    if not m or m.group(1) != class_name:
        return None
    return key, tuple(t.strip().strip("'\"") for t in (m.group(2) or "").split(",")
                      if t.strip())


def layer_key(graph: ModelGraph, op: NodeId) -> str | None:
    """The probed ``tf_ops`` key of a Keras layer op (`match_pattern` on its config)."""
    return graph.derived(_layer_keys).get(op)


def _layer_keys(graph: ModelGraph) -> dict[NodeId, str]:
    out: dict[NodeId, str] = {}
    for op, data, _ in graph.op_nodes():
        attrs = data["attrs"]
        n = attrs.get("call_args")
        key = match_pattern(data["source_op"], attrs.get("config"),
                            tokens=(f"args={n}",) if isinstance(n, int) else ())
        if key:
            out[op] = key
    return out


def lower(graph: ModelGraph) -> None:
    """Give each op of a source graph (SavedModel, Keras) the TFLite builtin the probed
    converter lowered it to, when it saw exactly one; other ops keep the loader's name."""
    if graph.stage != "source":
        return
    if graph.format == "keras":
        patterns = keras_patterns()
        keys = _layer_keys(graph)
        lowered = {}
        for op in keys:
            low = patterns.get(keys[op], (None, None))[1]
            if low and len(low) == 1:
                lowered[op] = low[0]
    else:
        table = tf_op_lowerings()
        lowered = {op: table[data["source_op"]] for op, data, _ in graph.op_nodes()
                   if data["source_op"] in table}
    if lowered:
        graph.set_op_types(lowered)
