"""Capability probe: measure what each TFLite op does under int8 with the real toolchain.

Run as ``python -m tools.probe --out rules/qlint_rules/capabilities/`` (see docs/probe.md).  Every
op is probed by building a one-op model, converting it with the real TensorFlow Lite
converter and loading/invoking it with the real interpreter (and, when installed,
TensorFlow Lite Micro).  The results are written as JSON tables that the linter reads
without importing TensorFlow.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

OUTCOMES = ("integer", "float_fallback", "conversion_error", "runtime_error", "unprobed")
