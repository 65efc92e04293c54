"""Stable identities for findings: the same problem on the same node keeps its id.

A fingerprint hashes the rule, the model's repository-relative path and the
node's *name* (for ops, the name of their first output tensor and the op
type), never its index, so inserting or removing an op elsewhere in the model
does not change it.  Used by baselines and by SARIF ``partialFingerprints``.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from qlint.finding import Finding


@lru_cache(maxsize=256)
def git_root(start: str) -> str | None:
    """The nearest directory above ``start`` holding ``.git``, if any."""
    path = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        if os.path.exists(os.path.join(path, ".git")):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def project_root(start: str) -> str:
    """The nearest directory above ``start`` holding ``.git``, else the working directory."""
    return git_root(start) or os.getcwd()


def relative_path(path: str, root: str | None = None) -> str:
    """``path`` relative to ``root`` (default: its project root), with forward slashes;
    absolute when it lies outside that root (for SARIF and baselines)."""
    root = root or project_root(path)
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel.startswith(".."):
        rel = os.path.abspath(path)
    return rel.replace(os.sep, "/")


def node_identity(finding: Finding) -> str:
    node = finding.node
    if node["kind"] == "op":
        return f"op:{node['subgraph']}:{node['op_type']}:{node['name']}"
    return f"tensor:{node['subgraph']}:{node['name']}"


def fingerprint(finding: Finding, root: str | None = None) -> str:
    """A 32-hex-digit identity of ``finding`` that survives unrelated edits to the model;
    the model path is taken relative to ``root`` (default: its project root)."""
    key = "|".join((finding.rule, relative_path(finding.model, root), node_identity(finding)))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
