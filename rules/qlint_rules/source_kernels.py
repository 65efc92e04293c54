"""QL110 source-float-fallback and QL111 source-no-builtin: int8 kernel support predicted
from a SavedModel or Keras file, before running the converter."""

from __future__ import annotations

import re
from collections.abc import Iterator

from qlint.conditions import describe
from qlint.finding import Finding, Severity
from qlint.graph import ModelGraph
from qlint.knowledge import all_records
from qlint.predict.source import Prediction, predict
from qlint.predict.tables import CONVERSION_ERROR, FLOAT_FALLBACK, RUNTIME_ERROR
from qlint.registry import Context, Rule

SOURCE_FORMATS = frozenset({"savedmodel", "keras"})


def _what(graph: ModelGraph, p: Prediction) -> str:
    node = graph[p.op]
    if graph.format == "keras":
        if p.via in ("carried", "beside"):
            how = "fed by" if p.via == "carried" else "reading the input of"
            return (f"{node['source_op']} layer '{node['name']}' {how} the float "
                    f"{graph[p.related[0]]['source_op']}")
        kind = "activation" if p.via == "activation" else "layer"
        extra = f" activation={node['attrs'].get('activation')!r}" if p.via == "activation" else ""
        return f"{node['source_op']} {kind} '{node['name']}'{extra}"
    if p.via == "pattern":  # named by its ops: the probe's name may be another API's
        present = {graph[o]["source_op"] for o in (p.op, *p.related)}
        ops = [o for o in dict.fromkeys(p.cap.graphdef_ops or ()) if o in present]
        return f"TF op pattern ({', '.join(ops or sorted(present))})"
    if p.via == "carried":
        return f"TF op {node['source_op']} fed by the float {graph[p.related[0]]['source_op']}"
    if p.via == "beside":
        return (f"TF op {node['source_op']} reading the input of the float "
                f"{graph[p.related[0]]['source_op']}")
    composite = str(node["source_op"]).removeprefix("implements:")
    if composite != node["source_op"]:  # a call the converter replaces whole
        return f"TF function implementing {composite!r} (converted as one op)"
    return f"TF op {node['source_op']}"


class SourceFloatFallback(Rule):
    """Flags ops and layers that strict int8 conversion will leave in float32.

    **What it flags.** In a SavedModel or Keras model, each TF op, op pattern or
    Keras layer whose probed strict-int8 conversion (``TFLITE_BUILTINS_INT8``)
    by the real TensorFlow converter kept a TFLite op in float32: ``Cumsum``
    becomes a float ``CUMSUM``, ``Sin`` a float ``SIN``, ``LayerNormalization`` a
    float ``NEG``.  The finding names the TFLite op(s) that stay float, with how many
    of each when the probe saw one stay float more than once (``NEG x2``).  An op
    fed by a float one is flagged too where a probed chain kept that pair float
    (the CONCATENATION of a float ``Sin`` with the input).

    **Why it matters.** The converter does not fail: it wraps the op in
    DEQUANTIZE/QUANTIZE and the converted model has a float island (QL103).  An
    int8-only accelerator cannot run it, so the graph is split and part of it
    falls back to the CPU, and every fence costs a requantization.

    **How to fix it.** Rewrite the op with ops that have int8 kernels (the probed
    table in docs/ops.md lists them), move it into pre- or post-processing, or
    keep it float deliberately for a CPU-only target and suppress the finding.
    """

    id = "QL110"
    name = "source-float-fallback"
    record = "tensorflow/tflite-int8-silent-float-fallback"
    severity = Severity.ERROR
    summary = "op or layer that strict int8 conversion keeps in float32 (predicted from source)"
    fix = ("Rewrite it with int8-capable ops, move it out of the model, or accept a float "
           "island on CPU-only targets.")
    stages = frozenset({"source"})
    formats = SOURCE_FORMATS

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for p in predict(graph):
            # a probe whose int8 model then failed to run kept its float ops all the same
            failed = p.outcome == RUNTIME_ERROR and bool(p.cap.float_ops)
            if p.outcome != FLOAT_FALLBACK and not failed:
                continue
            counts = [p.count(o) for o in p.tflite_ops]
            ops = ", ".join(o if n == 1 else f"{o} x{n}"
                            for o, n in zip(p.tflite_ops, counts, strict=True))
            when = p.cap.when
            cond = f"; {describe(when)}" if isinstance(when, list) else ""
            runs = p.cap.float_runs
            will = "will run" if runs is None or runs[0] == runs[1] else (
                f"may run (in {runs[0]} of {runs[1]} probed conversions)")
            yield self.finding(
                graph, p.op,
                f"{_what(graph, p)} {will} in float32 after strict int8 conversion: "
                f"{ops or 'its TFLite op'} {'stays' if sum(counts) == 1 else 'stay'} float between "
                f"DEQUANTIZE/QUANTIZE (probed with {p.cap.probe or p.cap.name}{cond})"
                + (f"; the probe's int8 model then failed to run: "
                   f"{(p.cap.message or '').split(' | ')[0]}" if failed else ""),
                related=p.related,
            )


def _record_for(message: str | None, default: str) -> str:
    """The knowledge record whose regex matches a probed converter message."""
    records = all_records()
    for rec_id in (default, *sorted(records)):
        rx = (records.get(rec_id) or {}).get("regex")
        if message and rx and re.search(rx, message, re.MULTILINE):
            return rec_id
    return default


class SourceNoBuiltin(Rule):
    """Flags TF ops and layers the converter rejects, which make int8 conversion fail.

    **What it flags.** A TF op (or a Keras layer lowering to one) that the real
    converter could not express with TFLite builtins in the probe: ``tf.math.erf``,
    ``tf.linalg.det``, ``tf.image.extract_patches``, ``tf.math.cumprod``, ...; and
    op patterns it refuses, such as the ``While`` loop of a Keras ``LSTM``,
    ``GRU`` or ``SimpleRNN`` (``'tf.TensorListReserve' op requires element_shape
    to be static``).  The finding quotes the converter's message and names the
    knowledge record that message belongs to.  Ops the converter fuses into a
    builtin are judged as the probe observed the whole pattern: Keras' exact
    GELU is not flagged although it contains an error function.

    **Why it matters.** Conversion stops with ``'tf.Erf' op is neither a custom
    op nor a flex op``: there is no int8 model at all until the op is dealt with.

    **How to fix it.** Rewrite the computation with supported ops (e.g. the
    Keras ``gelu`` activation instead of a raw ``tf.math.erf``; ``unroll=True``
    for a short recurrent layer), or allow Select TF ops
    (``supported_ops=[TFLITE_BUILTINS_INT8, SELECT_TF_OPS]``) if the device can
    ship the Flex delegate, where the op then runs in float.
    """

    id = "QL111"
    name = "source-no-builtin"
    record = "tensorflow/tflite-op-not-builtin"
    severity = Severity.ERROR
    summary = "TF op with no TFLite builtin: strict int8 conversion fails (predicted from source)"
    fix = ("Rewrite it with ops that have TFLite builtins, or convert with SELECT_TF_OPS "
           "and ship the Flex delegate.")
    stages = frozenset({"source"})
    formats = SOURCE_FORMATS

    def check(self, graph: ModelGraph, ctx: Context) -> Iterator[Finding]:
        for p in predict(graph):
            if p.outcome != CONVERSION_ERROR:
                continue
            failing = ", ".join(f"tf.{op}" for op in p.failing_tf_ops(graph)) or \
                p.refused_builtin or f"tf.{p.cap.name}"
            msg = (p.cap.message or "").split(" | ")[0]
            record = _record_for(p.cap.message, self.record)
            what = ("has no TFLite builtin" if record == self.record
                    else "is rejected by the converter")
            fix = None
            if record != self.record:
                steps = (all_records().get(record) or {}).get("workarounds") or []
                fix = steps[0].get("how") if steps and isinstance(steps[0], dict) else None
            when = p.cap.when
            cond = f"; {describe(when)}" if isinstance(when, list) else ""
            yield self.finding(
                graph, p.op,
                f"{_what(graph, p)} {what} (probed with {p.cap.probe or p.cap.name}{cond}): "
                f"strict int8 conversion fails with "
                f"\"{msg.removeprefix('error: ')}\" ({failing})",
                related=p.related, record=record, fix=fix,
            )
