"""Functions the TFLite converter replaces whole: composites.

A ``tf.function`` declared with ``experimental_implements`` carries the attribute
``_implements`` (``tf.image.non_max_suppression_padded``'s body: the converter's
composite-function pass turns the call into one NON_MAX_SUPPRESSION_V4), and a Keras 2
(``tf_keras``) LSTM or GRU layer's function carries ``api_implements`` (``lstm_<uuid>``,
which the converter may fuse into UNIDIRECTIONAL_SEQUENCE_LSTM).  The SavedModel loader
keeps such a call as one op, ``implements:<name>``, instead of inlining its body, and
the probe names the call in a probe's graph the same way, so that the op is judged by
the probed outcome of the whole function.
"""

from __future__ import annotations

import re
from typing import Any

IMPLEMENTS_ATTRS = ("_implements", "api_implements")
# the per-layer suffix tf_keras appends: lstm_3c278d16-79cd-44e8-9e2c-9496ef8e31cd
_UUID = re.compile(r"_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PREFIX = "implements:"


def implements_name(fdef: Any) -> str | None:
    """``implements:<name>`` for a FunctionDef the converter replaces whole, else None."""
    for key in IMPLEMENTS_ATTRS:
        if key in fdef.attr:
            raw = fdef.attr[key].s
            name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            name = _UUID.sub("", name.strip())
            if name and re.fullmatch(r"[\w.:-]{1,80}", name):
                return PREFIX + name
    return None
