"""Fuzz qlint's model loaders with mutated model files.

Usage::

    python -m tools.fuzz --iterations N [--seed S] [--format tflite] [--save DIR]

Every case is a valid seed model (the committed fixtures, plus small models written by
`tools.synth` in both weight layouts) with one mutation applied: random byte flips,
truncation, splices of other bytes, and corruption of the flatbuffer's own structure
(root and table offsets, vtables, vector lengths, tensor/buffer/opcode indices, shapes,
strings, external-buffer offsets and sizes), found by walking the seed with the TFLite
schema.  Case ``k`` of seed ``S`` is the same on every machine, so a problem is reproduced
by its number.

Each case is linted in-process with ``qlint.cli.main`` (stdout and stderr captured) inside
a worker process.  A case counts as a problem when a traceback escapes, the exit code is not
0/1/2, an exit-2 run does not print exactly one ``qlint: error: <file>: ...`` line, qlint
reports an internal error (a defect in qlint that it caught), or the run takes longer than
the time limit.  A per-case alarm interrupts slow Python code; a worker that stops
answering is killed and the case is reported as a hang, and the next worker carries on.

The command prints, per format: files tried, tracebacks, internal errors, bad exit codes,
bad error output, runs over the limit, hangs, and the slowest run.  It exits 1 when any
problem was found.  ``--save DIR`` keeps every problem file for a regression fixture.

The package has one module per format (`tools.fuzz.tflite`, `.savedmodel`, `.keras`,
`.h5`), what they share (`tools.fuzz.common`: structural positions, generic mutations, the
case and format types) and the runner (`tools.fuzz.runner`: the format registry, workers,
supervisor and command line).  The ``.tflite`` structure comes from the loader's generated
schema (`qlint.loaders.tflite_schema`).  Another format plugs in by adding a `FormatSpec` to
`FORMATS`.
"""

from tools.fuzz.common import MUTATORS, REPO, Case, Field, FormatSpec, Mutator
from tools.fuzz.h5 import h5_available, write_h5
from tools.fuzz.keras import (
    ZipMember,
    _synth_keras_config,
    _zip_members,
    keras_seeds,
    write_zip,
    zip_bomb,
    zip_structure,
)
from tools.fuzz.runner import (
    FORMATS,
    PROBLEMS,
    TIME_LIMIT,
    CaseFactory,
    Outcome,
    Summary,
    _remove,
    fuzz,
    judge,
    lint_in_process,
    main,
    worker,
)
from tools.fuzz.savedmodel import (
    SOURCE_SEEDS,
    Pb,
    _new_function,
    _node,
    _synth_calls,
    _synth_tf1,
    _varint,
    pb_parse,
    pb_structure,
    pb_write,
    savedmodel_seeds,
)
from tools.fuzz.tflite import many_subgraphs, tflite_seeds, tflite_structure

__all__ = [
    "FORMATS", "MUTATORS", "PROBLEMS", "REPO", "SOURCE_SEEDS", "TIME_LIMIT", "Case",
    "CaseFactory", "Field", "FormatSpec", "Mutator", "Outcome", "Pb", "Summary", "ZipMember",
    "_new_function", "_node", "_remove", "_synth_calls", "_synth_keras_config", "_synth_tf1",
    "_varint", "_zip_members", "fuzz", "h5_available", "judge", "keras_seeds",
    "lint_in_process", "main", "many_subgraphs", "pb_parse", "pb_structure", "pb_write",
    "savedmodel_seeds", "tflite_seeds", "tflite_structure", "worker", "write_h5", "write_zip",
    "zip_bomb", "zip_structure",
]
