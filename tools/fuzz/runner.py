"""Run fuzz cases: the format registry, one case in-process, workers and the supervisor,
and the command line (``python -m tools.fuzz``)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.fuzz.common import (
    MUTATORS,
    REPO,
    Case,
    FormatSpec,
)
from tools.fuzz.h5 import h5_available, h5_spec
from tools.fuzz.keras import keras_spec
from tools.fuzz.savedmodel import savedmodel_spec
from tools.fuzz.tflite import tflite_spec

TIME_LIMIT = 5.0
STALL_SECONDS = 60.0  # wall-clock seconds without output before a worker counts as hung
PROBLEMS = ("traceback", "internal", "exit_code", "stderr", "slow", "hang", "written", "leak",
            "escape")  # the last three: tools.fuzz.attacks's detectors

FORMATS: dict[str, FormatSpec] = {
    "tflite": tflite_spec(),
    "savedmodel": savedmodel_spec(),
    "keras": keras_spec(),
}
if h5_available():
    FORMATS["h5"] = h5_spec()


class CaseFactory:
    """Builds case ``k`` of a seeded run; the seeds and their structure are computed once."""

    def __init__(self, fmt: str, seed: int) -> None:
        self.fmt = fmt
        self.seed = seed
        self.spec = FORMATS[fmt]
        self.seeds = self.spec.seeds()
        self.fields = [self.spec.structure(d) if self.spec.structure else []
                       for _, d in self.seeds]
        from tools.fuzz.attacks import attack_mutators

        self.mutators = (*(self.spec.mutators or MUTATORS), *attack_mutators(fmt))
        self.weights = [w for _, _, w in self.mutators]

    def case(self, k: int) -> Case:
        digest = hashlib.sha256(f"{self.fmt}:{self.seed}:{k}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "little"))
        s = rng.randrange(len(self.seeds))
        name, data = self.seeds[s]
        mname, mutate, _ = rng.choices(self.mutators, weights=self.weights)[0]
        others = [d for i, (_, d) in enumerate(self.seeds) if i != s]
        out = mutate(rng, data, self.fields[s], others)
        layout = out[2] if len(out) > 2 else ""
        return Case(k, name, mname, out[1], out[0], layout)


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

def _materialize(spec: FormatSpec, case: Case, directory: str) -> str:
    return spec.materialize(case, directory, f"case{case.index}")


def worker(fmt: str, seed: int, start: int, stop: int, limit: float) -> int:
    """Run cases ``start``..``stop-1``, one JSON line per case on stdout; each is linted
    and judged by `tools.fuzz.attacks.run_case` (sandbox, planted links, every detector)."""
    from tools.fuzz.attacks import run_case

    factory = CaseFactory(fmt, seed)
    spec = factory.spec
    real_stdout = sys.stdout
    with tempfile.TemporaryDirectory(prefix="qlint-fuzz-") as tmp:
        for k in range(start, stop):
            case = factory.case(k)
            code, seconds, problem, detail = run_case(
                functools.partial(_materialize, spec, case), k, tmp, limit)
            row = {"index": k, "exit_code": code, "seconds": round(seconds, 4),
                   "problem": problem, "detail": detail,
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
                f"{c['stderr']} bad error output, {c['slow']} runs over {TIME_LIMIT:.0f} s CPU, "
                f"{c['hang']} hangs, {c['written']} writes outside the output, "
                f"{c['leak']} leaks, {c['escape']} escapes, max CPU time {self.max_seconds:.3f} s")


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

    A worker that prints nothing for ``startup`` seconds (at start) or ``3 * limit`` (at
    least `STALL_SECONDS`) seconds (between cases) is killed; its current case counts as
    a hang.  Time limits inside a worker are CPU time (`tools.fuzz.attacks.run_case`).
    """
    summary = Summary(fmt)
    factory: CaseFactory | None = None
    nxt = 0
    while nxt < iterations:
        proc = _spawn(fmt, seed, nxt, iterations, limit)
        try:
            for line in _lines(proc, startup, max(3 * limit, STALL_SECONDS)):
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


def _remove(path: str) -> None:
    """Delete a written case (a file or a SavedModel directory); missing is fine."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _save(directory: str, fmt: str, seed: int, case: Case, o: Outcome) -> None:
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"{fmt}-s{seed}-{case.index}-{o.problem}")
    _remove(stem + FORMATS[fmt].suffix)
    FORMATS[fmt].materialize(case, directory, os.path.basename(stem))
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
