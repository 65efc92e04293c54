"""Run probe jobs in a guarded child process with a timeout per job.

One worker process at a time (TensorFlow is heavy and the machine is shared).  A
job that exceeds its timeout or kills its process is recorded with the phase it
was in, and a fresh worker is started for the next job.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

from tools.probe import worker

# What a timeout or crash means for the phase the job was in.
_PHASE_OUTCOME = {
    "reference": "unprobed",
    "build": "unprobed",
    "convert": "conversion_error",
    "invoke": "runtime_error",
}


def _describe_exit(code: int | None) -> str:
    """``killed by SIGSEGV`` for negative exit codes, else ``exit code N``."""
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


class GuardedWorker:
    """A restartable worker process serving jobs over a pipe."""

    def __init__(self, timeout: float, log_path: str | None = None) -> None:
        self.timeout = timeout
        self.log_path = log_path
        self._ctx = mp.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=worker.serve, args=(child, self.log_path), daemon=True
        )
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
        if self._proc is not None:
            self._proc.join(10)
        if self._conn is not None:
            self._conn.close()
        self._proc = None
        self._conn = None

    def close(self) -> None:
        """Stop the worker process."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(10)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def __enter__(self) -> GuardedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Run ``job``; on timeout or crash return ``{"failed": outcome, "message": ...}``."""
        if self._conn is None:
            self._start()
        assert self._conn is not None
        limit = timeout or self.timeout
        deadline = time.monotonic() + limit
        phase = "build"
        partial: dict[str, Any] = {}
        self._conn.send(job)
        while True:
            left = deadline - time.monotonic()
            try:
                ready = left > 0 and self._conn.poll(left)
                if not ready:
                    self._kill()
                    self.restarts += 1
                    return {
                        "failed": _PHASE_OUTCOME.get(phase, "unprobed"),
                        "message": f"timed out after {limit:.0f} s in phase {phase!r}",
                        "partial": partial,
                    }
                msg = self._conn.recv()
            except (EOFError, OSError):
                code = None
                if self._proc is not None:
                    self._proc.join(10)
                    code = self._proc.exitcode
                self._kill()
                self.restarts += 1
                return {
                    "failed": _PHASE_OUTCOME.get(phase, "unprobed"),
                    "message": f"process died ({_describe_exit(code)}) in phase {phase!r}",
                    "partial": partial,
                }
            if "phase" in msg:
                phase = msg["phase"]
                partial = msg.get("partial") or {}
                continue
            result: dict[str, Any] = msg["result"]
            return result
