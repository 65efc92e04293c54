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

Another format plugs in by adding a `FormatSpec` to `FORMATS`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import selectors
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIME_LIMIT = 5.0
PROBLEMS = ("traceback", "internal", "exit_code", "stderr", "slow", "hang")


# -- flatbuffer structure ---------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A structural position in a seed file: ``width`` bytes at ``pos`` of some ``kind``.

    Kinds: ``root``, ``uoffset`` (table or vector reference), ``soffset`` (table → vtable),
    ``vtable`` (vtable size, object size or a field slot), ``vlen`` (vector or string
    length), ``index`` (a tensor, buffer, opcode, subgraph index), ``shape`` (a dimension),
    ``scalar`` (another number), ``string`` (string bytes), ``extent`` (external buffer
    offset or size).
    """

    pos: int
    width: int
    kind: str
    label: str


# Per table: vtable slot offset -> (field type, what it is).  Only the fields the loader
# reads; anything else is still mutated through byte flips and the vtable entries.
_SCHEMA: dict[str, dict[int, tuple[str, str]]] = {
    "Model": {4: ("u32", "version"), 6: ("tables:OperatorCode", "operator_codes"),
              8: ("tables:SubGraph", "subgraphs"), 10: ("string", "description"),
              12: ("tables:Buffer", "buffers"), 14: ("ints:index", "metadata_buffer"),
              16: ("tables:Metadata", "metadata"), 18: ("tables:SignatureDef", "signature_defs")},
    "SubGraph": {4: ("tables:Tensor", "tensors"), 6: ("ints:index", "inputs"),
                 8: ("ints:index", "outputs"), 10: ("tables:Operator", "operators"),
                 12: ("string", "name")},
    "Tensor": {4: ("ints:shape", "shape"), 6: ("u8", "type"), 8: ("u32:index", "buffer"),
               10: ("string", "name"), 12: ("table:QuantizationParameters", "quantization"),
               14: ("u8", "is_variable"), 16: ("table:Opaque", "sparsity"),
               18: ("ints:shape", "shape_signature"), 20: ("u8", "has_rank")},
    "Operator": {4: ("u32:index", "opcode_index"), 6: ("ints:index", "inputs"),
                 8: ("ints:index", "outputs"), 10: ("u8", "builtin_options_type"),
                 12: ("table:Opaque", "builtin_options"), 14: ("bytes", "custom_options")},
    "OperatorCode": {4: ("u8", "deprecated_builtin_code"), 6: ("string", "custom_code"),
                     8: ("u32", "version"), 10: ("u32", "builtin_code")},
    "Buffer": {4: ("bytes", "data"), 6: ("u64:extent", "offset"), 8: ("u64:extent", "size")},
    "QuantizationParameters": {4: ("floats", "min"), 6: ("floats", "max"),
                               8: ("floats", "scale"), 10: ("longs", "zero_point"),
                               16: ("u32:index", "quantized_dimension")},
    "Metadata": {4: ("string", "name"), 6: ("u32:index", "buffer")},
    "SignatureDef": {4: ("tables:TensorMap", "inputs"), 6: ("tables:TensorMap", "outputs"),
                     8: ("string", "signature_key"), 12: ("u32:index", "subgraph_index")},
    "TensorMap": {4: ("string", "name"), 6: ("u32:index", "tensor_index")},
    "Opaque": {},
}
_WIDTH = {"u8": 1, "u32": 4, "u64": 8}
_ELEM = {"ints": 4, "floats": 4, "longs": 8, "bytes": 1}


def tflite_structure(data: bytes, limit: int = 20000) -> list[Field]:
    """Structural positions of a valid ``.tflite`` file (at most ``limit`` of them)."""
    out: list[Field] = []
    seen: set[int] = set()
    size = len(data)

    def u32(p: int) -> int:
        return int(struct.unpack_from("<I", data, p)[0])

    def table(pos: int, name: str, label: str) -> None:
        if pos in seen or not 0 <= pos <= size - 4 or len(out) > limit:
            return
        seen.add(pos)
        out.append(Field(pos, 4, "soffset", f"{label}:vtable"))
        vt = pos - struct.unpack_from("<i", data, pos)[0]
        if not 0 <= vt <= size - 4:
            return
        vt_len = struct.unpack_from("<H", data, vt)[0]
        out.append(Field(vt, 2, "vtable", f"{label}:vtable_size"))
        out.append(Field(vt + 2, 2, "vtable", f"{label}:object_size"))
        for slot in range(4, min(vt_len, 64), 2):
            if vt + slot + 2 > size:
                break
            fo = struct.unpack_from("<H", data, vt + slot)[0]
            spec = _SCHEMA[name].get(slot)
            out.append(Field(vt + slot, 2, "vtable", f"{label}:slot{slot}"))
            if not fo or spec is None:
                continue
            ftype, fname = spec
            p = pos + fo
            where = f"{label}.{fname}"
            base, _, sub = ftype.partition(":")
            if base in _WIDTH:
                kind = "index" if sub == "index" else "extent" if sub == "extent" else "scalar"
                out.append(Field(p, _WIDTH[base], kind, where))
                continue
            if p + 4 > size:
                continue
            out.append(Field(p, 4, "uoffset", where))
            target = p + u32(p)
            if base == "table":
                table(target, sub, where)
                continue
            if target + 4 > size:
                continue
            n = u32(target)
            out.append(Field(target, 4, "vlen", where))
            if base == "string":
                if n:
                    out.append(Field(target + 4, min(n, 8), "string", where))
            elif base == "tables":
                for k in range(min(n, 2000)):
                    e = target + 4 + 4 * k
                    if e + 4 > size:
                        break
                    out.append(Field(e, 4, "uoffset", f"{where}[{k}]"))
                    table(e + u32(e), sub, f"{where}[{k}]")
            elif base in ("ints", "floats", "longs") and n <= 64:
                elem = _ELEM[base]
                kind = {"index": "index", "shape": "shape"}.get(sub, "scalar")
                for k in range(n):
                    out.append(Field(target + 4 + elem * k, elem, kind, f"{where}[{k}]"))

    if size >= 8:
        out.append(Field(0, 4, "root", "root"))
        with contextlib.suppress(struct.error):
            table(u32(0), "Model", "model")
    return out


# -- mutations --------------------------------------------------------------------------

_INTERESTING = (0, 1, 2, 3, 4, 7, 8, 15, 16, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF,
                0xFFFFFFFFFFFFFFFF)


def _put(buf: bytearray, f: Field, value: int) -> None:
    value &= (1 << (8 * f.width)) - 1
    buf[f.pos:f.pos + f.width] = value.to_bytes(f.width, "little")


def _get(buf: bytes, f: Field) -> int:
    return int.from_bytes(buf[f.pos:f.pos + f.width], "little")


def _value_for(rng: random.Random, f: Field, data: bytes) -> tuple[int, str]:
    """An interesting replacement for field ``f``: boundaries, the file size, self-loops."""
    old = _get(data, f)
    size = len(data)
    choices: list[tuple[int, str]] = [(v, hex(v)) for v in _INTERESTING]
    choices += [(old + d, f"{old:#x}{d:+d}") for d in (-8, -4, -1, 1, 4, 8)]
    choices += [(-old, "negated"), (old * 4096 + 1, "scaled")]
    choices += [(size - f.pos + d, f"past-end{d:+d}") for d in (-8, -4, 0, 4, 4096)]
    if f.kind in ("uoffset", "root"):
        choices += [(0, "self-loop"), (rng.randrange(0, max(1, size)) - f.pos, "random-target")]
    if f.kind == "soffset":
        choices += [(0, "vtable-is-table"), (-(size - f.pos), "vtable-past-end"),
                    (f.pos + 1, "vtable-before-start")]
    if f.kind in ("index", "shape"):
        choices += [(-1, "-1"), (-2, "-2"), (1 << 31, "int-min"), (10**9, "1e9")]
    if f.kind == "vlen":
        choices += [(size // 4, "size/4"), (size, "size"), (size * 8, "size*8")]
    return rng.choice(choices)


def _flip(rng: random.Random, data: bytes, fields: list[Field],
          others: Sequence[bytes]) -> tuple[bytes, str]:
    buf = bytearray(data)
    n = rng.choice((1, 1, 2, 4, 16))
    for _ in range(n):
        p = rng.randrange(len(buf))
        if rng.random() < 0.5:
            buf[p] ^= 1 << rng.randrange(8)
        else:
            buf[p] = rng.randrange(256)
    return bytes(buf), f"flip x{n}"


def _truncate(rng: random.Random, data: bytes, fields: list[Field],
              others: Sequence[bytes]) -> tuple[bytes, str]:
    if fields and rng.random() < 0.5:
        cut = rng.choice(fields).pos + rng.choice((0, 1, 2, 3))
    else:
        cut = rng.choice((0, 1, 4, 7, 8, 12, rng.randrange(len(data)), len(data) - 1))
    cut = max(0, min(cut, len(data) - 1))
    return data[:cut], f"truncate at {cut}"


def _splice(rng: random.Random, data: bytes, fields: list[Field],
            others: Sequence[bytes]) -> tuple[bytes, str]:
    donor = rng.choice(others) if others else data
    n = rng.choice((4, 8, 16, 64, 256))
    src = rng.randrange(max(1, len(donor) - n))
    dst = rng.randrange(max(1, len(data) - n))
    chunk = donor[src:src + n]
    mode = rng.choice(("overwrite", "insert", "delete", "duplicate"))
    if mode == "overwrite":
        out = data[:dst] + chunk + data[dst + len(chunk):]
    elif mode == "insert":
        out = data[:dst] + chunk + data[dst:]
    elif mode == "delete":
        out = data[:dst] + data[dst + n:]
    else:
        out = data + data[dst:dst + n] * rng.choice((1, 16))
    return out, f"splice {mode} {n}B at {dst}"


def _structural(kinds: tuple[str, ...]) -> Callable[..., tuple[bytes, str]]:
    def mutate(rng: random.Random, data: bytes, fields: list[Field],
               others: Sequence[bytes]) -> tuple[bytes, str]:
        pool = [f for f in fields if f.kind in kinds]
        if not pool:
            return _flip(rng, data, fields, others)
        buf = bytearray(data)
        count = 1 if rng.random() < 0.8 else rng.choice((2, 3, 8))
        descs = []
        for _ in range(count):
            f = rng.choice(pool)
            if f.kind == "string":
                bad = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"))
                buf[f.pos:f.pos + min(f.width, len(bad))] = bad[:f.width]
                descs.append(f"{f.label}=invalid-utf8")
                continue
            value, desc = _value_for(rng, f, data)
            _put(buf, f, value)
            descs.append(f"{f.label}={desc}")
        return bytes(buf), "set " + ", ".join(descs)

    return mutate


MUTATORS: tuple[tuple[str, Callable[..., tuple[bytes, str]], int], ...] = (
    ("flip", _flip, 3),
    ("truncate", _truncate, 2),
    ("splice", _splice, 2),
    ("offset", _structural(("root", "uoffset")), 3),
    ("vtable", _structural(("soffset", "vtable")), 2),
    ("length", _structural(("vlen",)), 3),
    ("index", _structural(("index",)), 2),
    ("shape", _structural(("shape",)), 1),
    ("scalar", _structural(("scalar", "string")), 1),
    ("extent", _structural(("extent",)), 1),
)


# -- formats ----------------------------------------------------------------------------

@dataclass
class FormatSpec:
    """How to fuzz one format: its seeds, its structure, and how a case becomes a path."""

    suffix: str
    seeds: Callable[[], list[tuple[str, bytes]]]
    structure: Callable[[bytes], list[Field]] | None = None

    def materialize(self, data: bytes, directory: str, name: str) -> str:
        path = os.path.join(directory, name + self.suffix)
        with open(path, "wb") as fh:
            fh.write(data)
        return path


def tflite_seeds() -> list[tuple[str, bytes]]:
    """The committed fixture models (under 1 MB) and two small synthetic models."""
    seeds = []
    for path in sorted((REPO / "fixtures").glob("*/*.tflite")):
        if path.stat().st_size < 1 << 20:
            seeds.append((str(path.relative_to(REPO)), path.read_bytes()))
    from tools.synth import write_model

    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("inline", "external"):
            out = os.path.join(tmp, f"{layout}.tflite")
            write_model(out, 5, layout=layout)
            seeds.append((f"synth/{layout}", Path(out).read_bytes()))
    return seeds


FORMATS: dict[str, FormatSpec] = {
    "tflite": FormatSpec(".tflite", tflite_seeds, tflite_structure),
}


@dataclass
class Case:
    """One mutated file, reproducible from (format, seed, index)."""

    index: int
    seed_name: str
    mutator: str
    description: str
    data: bytes


class CaseFactory:
    """Builds case ``k`` of a seeded run; the seeds and their structure are computed once."""

    def __init__(self, fmt: str, seed: int) -> None:
        self.fmt = fmt
        self.seed = seed
        self.spec = FORMATS[fmt]
        self.seeds = self.spec.seeds()
        self.fields = [self.spec.structure(d) if self.spec.structure else []
                       for _, d in self.seeds]
        self.weights = [w for _, _, w in MUTATORS]

    def case(self, k: int) -> Case:
        digest = hashlib.sha256(f"{self.fmt}:{self.seed}:{k}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "little"))
        s = rng.randrange(len(self.seeds))
        name, data = self.seeds[s]
        mname, mutate, _ = rng.choices(MUTATORS, weights=self.weights)[0]
        others = [d for i, (_, d) in enumerate(self.seeds) if i != s]
        out, desc = mutate(rng, data, self.fields[s], others)
        return Case(k, name, mname, desc, out)


# -- running one case -------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened when qlint linted one case."""

    index: int
    exit_code: int | None
    seconds: float
    problem: str | None = None
    detail: str = ""
    mutation: str = ""
    seed_name: str = ""


class _Timeout(BaseException):
    """Raised by the per-case alarm; a BaseException so qlint's handlers do not swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def lint_in_process(path: str, limit: float = TIME_LIMIT) -> Outcome:
    """Run ``qlint.cli.main([path])`` with captured output and judge the result."""
    from qlint.cli import main

    out, err = io.StringIO(), io.StringIO()
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 2 * limit)
    start = time.perf_counter()
    code: int | None = None
    problem: str | None = None
    detail = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([path, "--color", "never"])
    except _Timeout:
        problem, detail = "hang", f"interrupted after {2 * limit:.0f} s"
    except BaseException:  # a traceback escaping the CLI is exactly what we look for
        problem, detail = "traceback", traceback.format_exc(limit=-6)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    seconds = time.perf_counter() - start
    if problem is None:
        problem, detail = judge(path, code, out.getvalue(), err.getvalue())
    if problem is None and seconds > limit:
        problem, detail = "slow", f"{seconds:.2f} s"
    return Outcome(-1, code, seconds, problem, detail)


def judge(path: str, code: int | None, stdout: str, stderr: str) -> tuple[str | None, str]:
    """The problem with one CLI run on one bad file, or ``(None, "")``."""
    if "Traceback (most recent call last)" in stderr + stdout:
        return "traceback", stderr[-2000:]
    if "internal error" in stderr:
        return "internal", stderr.strip()[-2000:]
    if code not in (0, 1, 2):
        return "exit_code", f"exit code {code}"
    lines = stderr.splitlines()
    if code == 2:
        if len(lines) != 1 or not lines[0].startswith(f"qlint: error: {path}: "):
            return "stderr", stderr[-2000:]
    elif lines:
        return "stderr", stderr[-2000:]
    return None, ""


# -- worker and supervisor --------------------------------------------------------------

def worker(fmt: str, seed: int, start: int, stop: int, limit: float) -> int:
    """Run cases ``start``..``stop-1``, one JSON line per case on stdout."""
    factory = CaseFactory(fmt, seed)
    spec = factory.spec
    real_stdout = sys.stdout
    with tempfile.TemporaryDirectory(prefix="qlint-fuzz-") as tmp:
        for k in range(start, stop):
            case = factory.case(k)
            path = spec.materialize(case.data, tmp, f"case{k}")
            res = lint_in_process(path, limit)
            with contextlib.suppress(OSError):
                os.unlink(path)
            row = {"index": k, "exit_code": res.exit_code, "seconds": round(res.seconds, 4),
                   "problem": res.problem, "detail": res.detail,
                   "mutation": f"{case.mutator}: {case.description}", "seed": case.seed_name}
            real_stdout.write(json.dumps(row) + "\n")
            real_stdout.flush()
    return 0


@dataclass
class Summary:
    """Counts for one format."""

    fmt: str
    tried: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROBLEMS, 0))
    max_seconds: float = 0.0
    total_seconds: float = 0.0
    problems: list[Outcome] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.tried += 1
        self.max_seconds = max(self.max_seconds, o.seconds)
        self.total_seconds += o.seconds
        if o.problem:
            self.counts[o.problem] += 1
            self.problems.append(o)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        c = self.counts
        return (f"{self.fmt}: {self.tried} files tried, {c['traceback']} tracebacks, "
                f"{c['internal']} internal errors, {c['exit_code']} bad exit codes, "
                f"{c['stderr']} bad error output, {c['slow']} runs over {TIME_LIMIT:.0f} s, "
                f"{c['hang']} hangs, max time {self.max_seconds:.3f} s")


def _spawn(fmt: str, seed: int, start: int, stop: int, limit: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tools.fuzz", "--worker", "--format", fmt, "--seed", str(seed),
           "--start", str(start), "--iterations", str(stop), "--limit", str(limit)]
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("QLINT_DEBUG", None)
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _lines(proc: subprocess.Popen[str], first: float, timeout: float) -> Iterator[str | None]:
    """Lines of ``proc``'s stdout; ``None`` when none arrives in time.

    The first line may take ``first`` seconds (the worker's start-up), later ones ``timeout``.
    """
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    wait = first
    try:
        while True:
            if not sel.select(wait):
                yield None
                return
            line = proc.stdout.readline()
            if not line:
                return
            wait = timeout
            yield line
    finally:
        sel.close()


def fuzz(fmt: str = "tflite", iterations: int = 300, seed: int = 0, *,
         limit: float = TIME_LIMIT, save: str | None = None,
         startup: float = 60.0) -> Summary:
    """Run ``iterations`` cases of ``fmt`` in worker processes and count the problems.

    A worker that prints nothing for ``startup`` seconds (at start) or ``3 * limit``
    seconds (between cases) is killed; its current case counts as a hang.
    """
    summary = Summary(fmt)
    factory: CaseFactory | None = None
    nxt = 0
    while nxt < iterations:
        proc = _spawn(fmt, seed, nxt, iterations, limit)
        try:
            for line in _lines(proc, startup, 3 * limit):
                if line is None:
                    break
                row = json.loads(line)
                o = Outcome(row["index"], row["exit_code"], row["seconds"], row["problem"],
                            row["detail"], row["mutation"], row["seed"])
                summary.add(o)
                nxt = o.index + 1
                if o.problem and save:
                    factory = factory or CaseFactory(fmt, seed)
                    _save(save, fmt, seed, factory.case(o.index), o)
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
        if nxt < iterations:  # the worker hung or died on case nxt
            factory = factory or CaseFactory(fmt, seed)
            case = factory.case(nxt)
            died = proc.returncode not in (None, 0, -signal.SIGKILL)
            o = Outcome(nxt, None, 3 * limit, "traceback" if died else "hang",
                        (err or "")[-2000:], f"{case.mutator}: {case.description}",
                        case.seed_name)
            summary.add(o)
            if save:
                _save(save, fmt, seed, case, o)
            nxt += 1
    return summary


def _save(directory: str, fmt: str, seed: int, case: Case, o: Outcome) -> None:
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"{fmt}-s{seed}-{case.index}-{o.problem}")
    with open(stem + FORMATS[fmt].suffix, "wb") as fh:
        fh.write(case.data)
    with open(stem + ".txt", "w", encoding="utf-8") as fh:
        fh.write(f"seed model: {case.seed_name}\nmutation: {o.mutation}\n"
                 f"problem: {o.problem}\n{o.detail}\n")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.fuzz",
                                description="Fuzz qlint's loaders with mutated model files.")
    p.add_argument("--iterations", type=int, default=1000, help="cases per format")
    p.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    p.add_argument("--format", action="append", choices=sorted(FORMATS),
                   help="format to fuzz (repeatable; default: all)")
    p.add_argument("--limit", type=float, default=TIME_LIMIT,
                   help=f"seconds a run may take (default {TIME_LIMIT:.0f})")
    p.add_argument("--save", metavar="DIR", help="keep each problem file in DIR")
    p.add_argument("--verbose", "-v", action="store_true", help="print every problem")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    formats = args.format or sorted(FORMATS)
    if args.worker:
        return worker(formats[0], args.seed, args.start, args.iterations, args.limit)
    ok = True
    for fmt in formats:
        started = time.perf_counter()
        s = fuzz(fmt, args.iterations, args.seed, limit=args.limit, save=args.save)
        print(s.line() + f" ({time.perf_counter() - started:.1f} s wall)")
        for o in s.problems if args.verbose else s.problems[:10]:
            first = o.detail.strip().splitlines()[-1] if o.detail.strip() else ""
            print(f"  case {o.index} [{o.problem}] {o.seed_name} {o.mutation}: {first}")
        ok = ok and s.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
