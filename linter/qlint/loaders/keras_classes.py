"""Which Keras layer classes are Keras's own, and TFMOT's quantization-aware-training layers.

`builtin_classes` are the layer and model classes Keras 3 and tf_keras export, read from
``keras_classes.json`` (written by ``python -m tools.gen_keras_classes`` from the installed
packages).  `unwrap_qat` turns a TFMOT ``QuantizeWrapperV2`` into the layer it quantizes.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any


def _obj(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


@cache
def builtin_classes() -> frozenset[str]:
    """Layer and model classes Keras 3 and tf_keras export (tools/gen_keras_classes.py)."""
    path = os.path.join(os.path.dirname(__file__), "keras_classes.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return frozenset(data["keras3"]) | frozenset(data["tf_keras"])


QAT_WRAPPERS = frozenset({"QuantizeWrapperV2", "QuantizeWrapper"})
QAT_QUANTIZE = frozenset({"QuantizeLayer"})


def unwrap_qat(layer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A TFMOT quantization-aware-training layer as QAT structure.

    ``QuantizeWrapperV2`` (and the older ``QuantizeWrapper``) holds the layer it quantizes
    under ``config.layer``: that layer is returned in its place, with its name and inbound
    nodes, its ``QuantizeAwareActivation`` replaced by the activation it wraps.
    ``QuantizeLayer`` (the input quantizer) is returned as it is.  The second value says
    what the layer was: ``{"role": "wrapper", "wrapper": ..., "quantize_config": ...}``,
    ``{"role": "quantize", "quantizer": ...}``, or empty for any other layer.
    """
    cls = layer.get("class_name")
    if not isinstance(cls, str):  # a hostile config: the loader reports the layer as it is
        return layer, {}
    cfg = _obj(layer.get("config"))
    if cls in QAT_QUANTIZE:
        return layer, {"role": "quantize", "quantizer": _class_of(cfg.get("quantizer"))}
    inner = cfg.get("layer")
    if cls not in QAT_WRAPPERS or not isinstance(inner, dict):
        return layer, {}
    inner_cfg = dict(_obj(inner.get("config")))
    act = inner_cfg.get("activation")
    if isinstance(act, dict) and act.get("class_name") == "QuantizeAwareActivation":
        inner_cfg["activation"] = _obj(act.get("config")).get("activation")
    inner_cfg["name"] = cfg.get("name", inner_cfg.get("name"))
    unwrapped = {**inner, "config": inner_cfg, "name": layer.get("name") or cfg.get("name"),
                 "inbound_nodes": layer.get("inbound_nodes")}
    return unwrapped, {"role": "wrapper", "wrapper": cls,
                       "quantize_config": _class_of(cfg.get("quantize_config"))}


def _class_of(v: Any) -> str | None:
    return v.get("class_name") if isinstance(v, dict) and isinstance(v.get("class_name"),
                                                                        str) else None
