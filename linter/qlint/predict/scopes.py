"""Name scopes of a SavedModel's ops, and the scopes a probed pattern of several TF ops
holds in (`qlint.predict.source` matches patterns by scope)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from qlint.graph import NodeId
from qlint.predict.tables import TfOpCapability


def member_scopes(location: str) -> list[str]:
    """The name scopes an op at ``location`` belongs to, innermost first: its own name
    and the scopes enclosing it.

    TF names the op that returns a name scope's result after the scope itself
    (``tf.math.log_sigmoid`` opens ``LogSigmoid/`` and returns its last ``Neg`` as
    ``LogSigmoid``), so that op is a member of the scope of its own name."""
    return [location, *scopes(location)]


def scopes(location: str) -> list[str]:
    """The name scopes enclosing ``location``, innermost first (``a/b/c``: ``a/b``, ``a``)."""
    out = []
    i = location.rfind("/")
    while i >= 0:
        out.append(location[:i])
        i = location.rfind("/", 0, i)
    return out


def innermost(found: set[str]) -> set[str]:
    """The scopes of ``found`` with no other scope of ``found`` inside them."""
    enclosing = {o[:i] for o in found for i, ch in enumerate(o) if ch == "/"}
    return found - enclosing


def drop_borrowed(instances: dict[str, set[str]], patterns: list[TfOpCapability],
                   needs: list[frozenset[str]], members: Mapping[str, list[NodeId]],
                   locations: Mapping[NodeId, str], source_ops: Mapping[NodeId, str],
                   through: Mapping[str, set[str]]) -> None:
    """Drop the pattern instances that need an op only an instance of another pattern in a
    smaller scope holds, unless this pattern holds all of that one (``invert_permutation``
    of an ``argsort``): the op belongs to the smaller one (an exact GELU's ``Neg`` in a
    layer's scope does not make the layer's normalization a ``LayerNormalization`` whose
    ``Neg`` stays float)."""
    need_of = {cap.name: need for cap, need in zip(patterns, needs, strict=True)}
    owner: dict[str, set[str]] = defaultdict(set)  # scope -> patterns with an instance there
    for name, found in instances.items():
        for sc in found:
            owner[sc].add(name)
    for cap, need in zip(patterns, needs, strict=True):
        keep: set[str] = set()
        for sc in instances[cap.name]:
            own = set(through.get(sc, ()))
            for o in members[sc]:
                scopes_of = member_scopes(locations[o])
                inner = scopes_of[:scopes_of.index(sc)]  # the scopes inside sc holding o
                if not any(not need_of[other] <= need for s in inner
                           for other in owner.get(s, ()) if other != cap.name):
                    own.add(source_ops[o])
            if need <= own:
                keep.add(sc)
        instances[cap.name] = keep
