"""Run the real Vela compiler on one model and read where it placed each op.

``vela --accelerator-config CONFIG --show-cpu-operations`` prints, for every op it
cannot place on the NPU, a block::

    Warning (supported operators) operator: AVERAGE_POOL_2D, ofm: 'name'
    Reason: ...
    <detail line>

and in its summary one line per op (``CPU: Passthrough = name (outputs [...])`` /
``NPU: ...``).  Ops are identified by their output tensor name (Vela's ``ofm``).  A
model Vela refuses exits non-zero; its message is kept.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field

CONFIGS = ("ethos-u55-128", "ethos-u55-256", "ethos-u65-256", "ethos-u85-256")
VELA_TIMEOUT = 300
_WARNING = re.compile(r"^Warning \(supported operators\) operator: (\S+), ofm: '(.*)'$")
_SUMMARY = re.compile(r"^\s+(CPU|NPU): \S+ = (.*) \(outputs \[[^\]]*\]\)$")
_REFUSED_OP = re.compile(r"Error: ([A-Z0-9_]+) '([^']*)'")
_NOISE = re.compile(r"^Warning: No (configuration file|system configuration|memory mode)")


@dataclass
class VelaResult:
    """What one Vela run did: exit code, CPU-placed ops with reasons, NPU-placed ops."""

    config: str
    returncode: int
    cpu: dict[str, str | None] = field(default_factory=dict)  # ofm name -> reason
    npu: set[str] = field(default_factory=set)
    logs: dict[str, str] = field(default_factory=dict)  # ofm name -> Vela's warning block
    message: str | None = None  # refusal text when returncode != 0
    refused_op: str | None = None  # the op type and output Vela names in a refusal
    refused_ofm: str | None = None

    @property
    def refused(self) -> bool:
        return self.returncode != 0

    def placement(self, ofm: str) -> str:
        """``refused``, ``cpu`` or ``npu`` for the op writing tensor ``ofm``."""
        if self.refused:
            return "refused"
        return "cpu" if ofm in self.cpu else "npu"


def vela_command(config: str, output_dir: str, model: str) -> list[str]:
    """The command line run for one model and config (default system config)."""
    return ["vela", "--accelerator-config", config, "--show-cpu-operations",
            "--output-dir", output_dir, model]


def run_vela(model: str, config: str, vela: str = "vela", nice: int = 10) -> VelaResult:
    """Compile ``model`` for ``config`` with the real Vela and parse its output."""
    with tempfile.TemporaryDirectory(prefix="qlint-vela-") as out:
        cmd = vela_command(config, out, model)
        cmd[0] = vela
        if nice:
            cmd = ["nice", "-n", str(nice), *cmd]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=VELA_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            return VelaResult(config, -1, message=f"vela timed out after {VELA_TIMEOUT} s")
    return parse_output(config, proc.returncode, proc.stdout + "\n" + proc.stderr)


def parse_output(config: str, returncode: int, text: str) -> VelaResult:
    """A `VelaResult` from Vela's printed output."""
    res = VelaResult(config, returncode)
    lines = text.splitlines()
    reasons: dict[str, str] = {}
    i = 0
    while i < len(lines):
        m = _WARNING.match(lines[i])
        if m:
            block = []
            i += 1
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip())
                i += 1
            res.logs[m.group(2)] = "\n".join([lines[i - len(block) - 1], *block])
            reason = " ".join(block)
            reasons[m.group(2)] = reason[len("Reason: "):] if reason.startswith("Reason: ") \
                else reason
            continue
        s = _SUMMARY.match(lines[i])
        if s:
            (res.cpu.__setitem__(s.group(2), None) if s.group(1) == "CPU"
             else res.npu.add(s.group(2)))
        i += 1
    for name in res.cpu:
        # an op with a fused activation is named after its activation's tensor (``_act``)
        res.cpu[name] = reasons.get(name) or reasons.get(f"{name}_act")
        if name not in res.logs and f"{name}_act" in res.logs:
            res.logs[name] = res.logs[f"{name}_act"]
    if returncode != 0:
        res.message = refusal_message(lines) or f"vela exited {returncode}"
        m = _REFUSED_OP.search(res.message)
        if m:
            res.refused_op, res.refused_ofm = m.group(1), m.group(2)
    return res


def refusal_message(lines: list[str]) -> str:
    """Vela's refusal: the ``Compilation failed`` line and its indented detail lines."""
    for i, line in enumerate(lines):
        if "Compilation failed:" in line:
            block = [line.split("Compilation failed:", 1)[1].strip()]
            block += [ln.strip() for ln in lines[i + 1:i + 4]
                      if ln.startswith((" ", "\t")) and ln.strip()]
            return " ".join(block)[:600]
    kept = [ln.strip() for ln in lines if ln.strip() and not _NOISE.match(ln)]
    err = [ln for ln in kept if "Error" in ln or "error" in ln]
    return " ".join((err or kept)[-3:])[:600]
