"""Structure-aware attacks for ``tools.fuzz``, and the detectors that judge every case.

(`tools.fuzz.runner` adds ``ATTACKS[format]`` to each format's mutators and judges every
case with `run_case`.)

The generators (``ATTACKS[format]``, mutators in the ``tools.fuzz`` sense) write models an
attacker would: graph cycles, self-referencing and shared subgraphs or functions, and
names carrying terminal escape sequences and GitHub workflow commands, for ``.tflite``,
SavedModel, ``.keras`` and ``.h5``.

`run_case` lints one case the way CI would and applies every detector:

* ``traceback``: a traceback on stdout or stderr (or escaping ``qlint.cli.main``);
* ``slow``: the run took more than the time limit (5 s) of CPU time, qlint's process and
  its children (the HDF5 reader) together: CPU time, unlike the wall clock, does not grow
  with the load other jobs put on a shared machine; a run that stops using the CPU
  (blocked) is caught by the supervisor's wall-clock stall limit instead;
* ``written``: a file or directory appeared, changed or vanished anywhere in the sandbox
  except the requested output (the sandbox is snapshotted before and after: names, types,
  sizes, mtimes and link targets);
* ``leak``: the canary secret, planted outside the model tree and reachable through
  planted symbolic links (a ``.tflite`` name, a ``saved_model.pbtxt``, a link to ``/``),
  appears in stdout, stderr or an output file;
* ``escape``: ESC, BEL, another C0/C1 control or a bidi override in any output, or a line
  starting with ``::`` that is not one of qlint's own GitHub annotations.

Each case is linted in one output format (text, json, sarif, github, model-explorer, by
case number), half of them written with ``-o``, and every fourth case inside a tree with
the planted links.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import signal
import struct
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

DETECTORS = ("written", "leak", "escape")
OUTPUT_FORMATS = ("text", "json", "sarif", "github", "model-explorer")
CANARY = "QLINT-CANARY-7f3a9c2e-do-not-print"

# Hostile name fragments: workflow commands after a newline or CR, terminal escapes
# (clear screen, window title, CSI as a C1 byte), bidi overrides, NUL, separators.
HOSTILE = (
    "\n::error file=.github/workflows/ci.yml,line=1::PWNED",
    "\r\n::add-mask::x\n::set-output name=a::b",
    "\x1b[2J\x1b[H\x1b]0;owned\x07",
    "\x9b31m\x85next",
    "\u202eevil\u202c\u2066x\u2069",
    "%0A::warning::encoded",
    "a\u2028b\u2029c",
    "\x00nul\x7fdel",
    "::error::at start",
)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_GITHUB_LINE = re.compile(r"^::(error|warning|notice)( [^:]*)?::")


def hostile_name(rng: random.Random) -> str:
    return "".join(rng.sample(HOSTILE, rng.choice((1, 2, 3)))) + rng.choice(("", "/op", "x"))


# -- .tflite ------------------------------------------------------------------------------

def _fields(data: bytes) -> list[Any]:
    from tools.fuzz.tflite import tflite_structure

    return tflite_structure(data)


def _append(data: bytes, payload: bytes) -> tuple[bytearray, int]:
    pad = (-len(data)) % 4
    buf = bytearray(data + b"\0" * pad)
    at = len(buf)
    buf += payload
    return buf, at


def _string(text: str) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    return struct.pack("<I", len(raw)) + raw + b"\0"


def tflite_hostile_name(rng: random.Random, data: bytes, fields: list[Any],
                        others: Sequence[bytes]) -> tuple[bytes, str]:
    """Point a name (tensor, subgraph, signature, tensor map, custom op, metadata) at a
    hostile string appended to the file."""
    names = [f for f in fields if f.kind == "uoffset" and f.label.endswith(
        (".name", ".signature_key", ".custom_code", ".description"))]
    if not names:
        return data, "no name field"
    chosen = rng.sample(names, min(len(names), rng.choice((1, 3, 20))))
    buf = bytearray(data)
    for f in chosen:
        buf, at = _append(bytes(buf), _string(hostile_name(rng)))
        struct.pack_into("<I", buf, f.pos, at - f.pos)
    return bytes(buf), f"{len(chosen)} hostile names ({chosen[0].label}, ...)"


def tflite_cycle(rng: random.Random, data: bytes, fields: list[Any],
                 others: Sequence[bytes]) -> tuple[bytes, str]:
    """An op that consumes its own output, or two ops that consume each other's."""
    ins = [f for f in fields if f.kind == "index" and ".operators[" in f.label
           and ".inputs[" in f.label]
    outs = {f.label.rsplit(".outputs[", 1)[0]: f for f in fields if f.kind == "index"
            and ".outputs[0]" in f.label}
    if not ins or not outs:
        return data, "no operator inputs"
    buf = bytearray(data)
    f_in = rng.choice(ins)
    op = f_in.label.rsplit(".inputs[", 1)[0]
    if rng.random() < 0.5 and op in outs:
        struct.pack_into("<I", buf, f_in.pos, struct.unpack_from("<I", data, outs[op].pos)[0])
        return bytes(buf), f"{op} consumes its own output"
    other = rng.choice(list(outs))
    struct.pack_into("<I", buf, f_in.pos, struct.unpack_from("<I", data, outs[other].pos)[0])
    back = [f for f in ins if f.label.startswith(other + ".inputs[")]
    if back and op in outs:
        struct.pack_into("<I", buf, back[0].pos,
                         struct.unpack_from("<I", data, outs[op].pos)[0])
    return bytes(buf), f"{op} and {other} consume each other's outputs"


# How many references the shared subgraph gets (the loader refuses a shared SubGraph
# table at once; before it did, 5,000 references took longer than the time limit).
SHARED_SUBGRAPH_COUNTS = (2, 16, 300, 5000)


class _Tables:
    """Appends flatbuffer tables and vectors to a file; children always after parents, as
    uoffsets only point forward."""

    def __init__(self, data: bytes) -> None:
        self.buf = bytearray(data)

    def _align(self) -> None:
        self.buf += b"\0" * ((-len(self.buf)) % 4)

    def table(self, n_fields: int, values: dict[int, int] | None = None) -> list[int]:
        """A table of ``n_fields`` 4-byte fields; the position of each field."""
        self._align()
        vt = len(self.buf)
        self.buf += struct.pack("<HH", 4 + 2 * n_fields, 4 + 4 * n_fields)
        self.buf += b"".join(struct.pack("<H", 4 + 4 * i) for i in range(n_fields))
        self._align()
        at = len(self.buf)
        self.buf += struct.pack("<i", at - vt)
        fields = []
        for i in range(n_fields):
            fields.append(len(self.buf))
            self.buf += struct.pack("<I", (values or {}).get(i, 0))
        return fields

    def ints(self, values: Sequence[int]) -> int:
        self._align()
        at = len(self.buf)
        self.buf += struct.pack(f"<I{len(values)}i", len(values), *values)
        return at

    def refs(self, n: int) -> tuple[int, int]:
        """A vector of ``n`` offsets (to fill with `point`); its position and first entry."""
        self._align()
        at = len(self.buf)
        self.buf += struct.pack("<I", n) + bytes(4 * n)
        return at, at + 4

    def string(self, text: str) -> int:
        self._align()
        at = len(self.buf)
        self.buf += _string(text)
        return at

    def point(self, field: int, target: int) -> None:
        struct.pack_into("<I", self.buf, field, target - field)


def tflite_shared_subgraph(rng: random.Random, data: bytes, fields: list[Any],
                           others: Sequence[bytes]) -> tuple[bytes, str]:
    """The subgraph vector replaced by ``n`` references to one new subgraph whose single op
    consumes its own output (a shared table holding a cycle), its names hostile."""
    vec = next((f for f in fields if f.label == "model.subgraphs" and f.kind == "uoffset"),
               None)
    if vec is None:
        return data, "no subgraphs"
    n = rng.choice(SHARED_SUBGRAPH_COUNTS)
    t = _Tables(data)
    vector, first = t.refs(n)
    t.point(vec.pos, vector)
    sub = t.table(5)  # tensors, inputs, outputs, operators, name
    for i in range(n):
        t.point(first + 4 * i, sub[0] - 4)  # the table starts at its soffset
    tensors, tensor0 = t.refs(1)
    t.point(sub[0], tensors)
    t.point(sub[1], t.ints([0]))
    t.point(sub[2], t.ints([0]))
    ops, op0 = t.refs(1)
    t.point(sub[3], ops)
    t.point(sub[4], t.string("shared" + hostile_name(rng)))
    tensor = t.table(4, {1: 9, 2: 0})  # shape, type int8, buffer 0, name
    t.point(tensor0, tensor[0] - 4)
    t.point(tensor[0], t.ints([1, 4]))
    t.point(tensor[3], t.string("t" + hostile_name(rng)))
    op = t.table(3, {0: 0})  # opcode 0, inputs, outputs
    t.point(op0, op[0] - 4)
    t.point(op[1], t.ints([0]))
    t.point(op[2], t.ints([0]))
    return bytes(t.buf), f"{n} references to one subgraph whose op feeds itself"


def tflite_self_reference(rng: random.Random, data: bytes, fields: list[Any],
                          others: Sequence[bytes]) -> tuple[bytes, str]:
    """A subgraph's tensors or operators vector pointing at the subgraph vector itself, or
    a subgraph table pointing at its own start: a table reachable from itself."""
    vec = next((f for f in fields if f.label == "model.subgraphs" and f.kind == "uoffset"),
               None)
    inner = [f for f in fields if f.kind == "uoffset" and re.fullmatch(
        r"model\.subgraphs\[\d+\]\.(tensors|operators)", f.label)]
    if vec is None or not inner:
        return data, "no subgraph vectors"
    f = rng.choice(inner)
    target = vec.pos + struct.unpack_from("<I", data, vec.pos)[0]
    if rng.random() < 0.5:
        sub = f.label.rsplit(".", 1)[0]
        entry = next(g for g in fields if g.label == sub and g.kind == "uoffset")
        target = entry.pos + struct.unpack_from("<I", data, entry.pos)[0]
    buf = bytearray(data)
    if target <= f.pos:  # uoffsets only point forward: wrap the reference through 2^32
        struct.pack_into("<I", buf, f.pos, (target - f.pos) & 0xFFFFFFFF)
    else:
        struct.pack_into("<I", buf, f.pos, target - f.pos)
    return bytes(buf), f"{f.label} points back at a table that contains it"


# -- SavedModel ---------------------------------------------------------------------------

def _parse_sm(data: bytes) -> Any:
    from tools.fuzz.savedmodel import _msgs

    sm = _msgs()["SavedModel"]()
    try:
        sm.ParseFromString(data)
    except Exception:  # a seed that does not parse: an empty model
        sm = _msgs()["SavedModel"]()
    return sm


def savedmodel_hostile_names(rng: random.Random, data: bytes, fields: list[Any],
                             others: Sequence[bytes]) -> tuple[bytes, str, str]:
    """Node, function and signature names carrying escapes and workflow commands; every
    reference renamed with them, so the graph still links up."""
    from tools.fuzz.savedmodel import _sm_parts

    sm = _parse_sm(data)
    meta, g, _ = _sm_parts(sm)
    rename: dict[str, str] = {}
    for n in g.node:
        if rng.random() < 0.5:
            rename[n.name] = n.name + hostile_name(rng)
            n.name = rename[n.name]
    for n in g.node:
        for i, ref in enumerate(n.input):
            base, sep, rest = ref.lstrip("^").partition(":")
            if base in rename:
                n.input[i] = ("^" if ref.startswith("^") else "") + rename[base] + sep + rest
    for f in g.library.function:
        for n in f.node_def:
            if rng.random() < 0.5:
                n.name = n.name + hostile_name(rng)
    for key in list(meta.signature_def):
        sig = meta.signature_def[key]
        for tensors in (sig.inputs, sig.outputs):
            for t in tensors.values():
                base, sep, rest = t.name.partition(":")
                if base in rename:
                    t.name = rename[base] + sep + rest
        if rng.random() < 0.5:
            meta.signature_def[key + hostile_name(rng)].CopyFrom(sig)
            del meta.signature_def[key]
    layout = rng.choice(("pb", "pbtxt"))
    if layout == "pbtxt":
        from google.protobuf import text_format

        return text_format.MessageToString(sm).encode(), "hostile names (text form)", "pbtxt"
    return sm.SerializeToString(deterministic=True), "hostile names", "pb"


def savedmodel_shared_function(rng: random.Random, data: bytes, fields: list[Any],
                               others: Sequence[bytes]) -> tuple[bytes, str, str]:
    """One function called from ``n`` places, itself among them (shared and self-
    referencing), with a cycle of plain nodes beside the calls."""
    from tools.fuzz.savedmodel import _hook, _new_function, _node, _sm_parts

    sm = _parse_sm(data)
    _, g, calls = _sm_parts(sm)
    shared = _new_function(g, "shared" + rng.choice(("", hostile_name(rng))))
    name = shared.signature.name
    _node(shared.node_def, "relu", "Relu", ["a0"], T=1)
    if rng.random() < 0.5:
        _node(shared.node_def, "self", "PartitionedCall", ["relu:features:0"], f=name)
    shared.ret["out"] = "relu:activations:0"
    n = rng.choice((2, 50, 2000))
    hub = _new_function(g, "hub")
    prev = "a0"
    for i in range(n):
        _node(hub.node_def, f"c{i}", "StatefulPartitionedCall", [prev], f=name)
        prev = f"c{i}:output:0" if rng.random() < 0.5 else "a0"
    _node(hub.node_def, "ring_a", "AddV2", [prev, "ring_b:z:0"], T=1)
    _node(hub.node_def, "ring_b", "AddV2", ["ring_a:z:0", prev], T=1)
    hub.ret["out"] = "ring_b:z:0"
    _hook(g, calls, rng, "hub")
    return sm.SerializeToString(deterministic=True), f"{n} calls of one function", "pb"


# -- .keras and .h5 -----------------------------------------------------------------------

def _hostile_config(rng: random.Random, config: Any) -> tuple[Any, str]:
    """A Keras model config with hostile layer and model names, a shared layer applied many
    times and, sometimes, layers whose inbound nodes form a cycle."""
    config = json.loads(json.dumps(config)) if isinstance(config, dict) else {}
    cfg = config.setdefault("config", {}) if isinstance(config, dict) else {}
    if not isinstance(cfg, dict):
        return config, "config is not an object"
    found = cfg.get("layers")
    layers: list[Any] = found if isinstance(found, list) else []
    rename: dict[str, str] = {}
    for layer in layers:
        if isinstance(layer, dict) and isinstance(layer.get("config"), dict) \
                and rng.random() < 0.6:
            old = str(layer["config"].get("name", layer.get("name", "l")))
            new = old + hostile_name(rng)
            rename[old] = new
            layer["config"]["name"] = new
            if "name" in layer:
                layer["name"] = new
    text = json.dumps(config)
    for old, new in rename.items():  # inbound references and input/output layers follow
        text = text.replace(json.dumps(old), json.dumps(new))
    config = json.loads(text)
    cfg = config["config"]
    cfg["name"] = str(cfg.get("name", "model")) + hostile_name(rng)
    what = f"{len(rename)} hostile layer names"
    found = cfg.get("layers")
    layers = found if isinstance(found, list) else []
    named = [lay for lay in layers if isinstance(lay, dict) and "inbound_nodes" in lay]
    if named and rng.random() < 0.4:
        a, b = rng.choice(named), rng.choice(named)
        a_name, b_name = a.get("name"), b.get("name")
        a["inbound_nodes"] = [[[b_name, 0, 0, {}]]]
        b["inbound_nodes"] = [[[a_name, 0, 0, {}]]]
        what += ", an inbound cycle"
    if named and rng.random() < 0.4:
        shared = rng.choice(named)
        n = rng.choice((3, 200))
        shared["inbound_nodes"] = [[[shared.get("name"), i, 0, {}]] for i in range(n)]
        what += f", a layer applied {n} times to itself"
    return config, what


def keras_hostile(rng: random.Random, data: bytes, fields: list[Any],
                  others: Sequence[bytes]) -> tuple[bytes, str]:
    from tools.fuzz.keras import ZipMember, config_and_others, write_zip

    config, out = config_and_others(data)
    config, what = _hostile_config(rng, config)
    out.append(ZipMember(b"config.json", json.dumps(config).encode()))
    return write_zip(out), what


def h5_hostile(rng: random.Random, data: bytes, fields: list[Any],
               others: Sequence[bytes]) -> tuple[bytes, str]:
    import h5py

    from tools.fuzz.h5 import write_h5

    with h5py.File(io.BytesIO(data), "r") as f:
        raw = f.attrs.get("model_config", "{}")
    try:
        config = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
    except ValueError:
        config = {}
    config, what = _hostile_config(rng, config)
    # HDF5 variable-length strings cannot hold NUL
    attrs = {"model_config": json.dumps(config).replace("\\u0000", ""),
             "keras_version": ("3.15.1" + hostile_name(rng)).replace("\0", ""),
             "backend": "tensorflow"}
    return write_h5(attrs), what + ", hostile keras_version"


Mutator = Callable[..., Any]
ATTACKS: dict[str, tuple[tuple[str, Mutator, int], ...]] = {
    "tflite": (("attack-name", tflite_hostile_name, 4), ("attack-cycle", tflite_cycle, 2),
               ("attack-shared-subgraph", tflite_shared_subgraph, 2),
               ("attack-self-reference", tflite_self_reference, 2)),
    "savedmodel": (("attack-name", savedmodel_hostile_names, 6),
                   ("attack-shared-function", savedmodel_shared_function, 3)),
    "keras": (("attack-name", keras_hostile, 6),),
    "h5": (("attack-name", h5_hostile, 6),),
}


def attack_mutators(fmt: str) -> tuple[tuple[str, Mutator, int], ...]:
    return ATTACKS.get(fmt, ())


# -- running and judging one case --------------------------------------------------------

def _snapshot(root: str) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            link = os.readlink(p) if os.path.islink(p) else ""
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, link)
    return out


def _plant(tree: str, outside: str) -> None:
    """Symbolic links an attacker leaves in a model tree, leading to the canary and to /."""
    secret = os.path.join(outside, "secret.txt")
    os.symlink(secret, os.path.join(tree, "zz_secret.tflite"))
    os.symlink(secret, os.path.join(tree, "zz_secret.keras"))
    os.symlink("/", os.path.join(tree, "zz_root"))
    os.symlink(outside, os.path.join(tree, "zz_outside"))
    sm = os.path.join(tree, "zz_sm")
    os.mkdir(sm)
    os.symlink(secret, os.path.join(sm, "saved_model.pbtxt"))


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout()


def run_case(materialize: Callable[[str], str], k: int, workdir: str,
             limit: float) -> tuple[int | None, float, str | None, str]:
    """Lint one case in a fresh sandbox under ``workdir``; (exit code, CPU seconds,
    problem, detail).  ``materialize(directory)`` writes the case there and returns its path."""
    from qlint.cli import main

    sandbox = os.path.join(workdir, f"sandbox{k}")
    tree, outside, out_dir = (os.path.join(sandbox, d) for d in ("models", "outside", "out"))
    for d in (tree, outside, out_dir):
        os.makedirs(d)
    with open(os.path.join(outside, "secret.txt"), "w") as fh:
        fh.write(f"machine ci login x password {CANARY}\n")
    path = materialize(tree)
    planted = k % 4 == 3
    if planted:
        _plant(tree, outside)
    fmt = OUTPUT_FORMATS[k % len(OUTPUT_FORMATS)]
    argv = [tree if planted else path, "--format", fmt, "--color", "never", "--isolated"]
    if fmt == "model-explorer" and k % 2:
        argv += ["-o", out_dir]
    elif k % 2:
        argv += ["-o", os.path.join(out_dir, "report")]
    before = _snapshot(sandbox)
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    problem: str | None = None
    detail = ""
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, 2 * limit)  # CPU time of this process
    cwd = os.getcwd()
    start, cpu = time.perf_counter(), _cpu()
    try:
        os.chdir(sandbox)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Timeout:
        problem, detail = "hang", f"interrupted after {2 * limit:.0f} s of CPU time"
    except BaseException:  # a traceback escaping the CLI is a finding
        problem, detail = "traceback", traceback.format_exc(limit=-6)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
        os.chdir(cwd)
    wall, seconds = time.perf_counter() - start, _cpu() - cpu
    after = _snapshot(sandbox)
    stdout, stderr = out.getvalue(), err.getvalue()
    outputs = _read_outputs(out_dir)
    if problem is None:
        problem, detail = judge(fmt, code, stdout, stderr, outputs, before, after)
    if problem is None:
        problem, detail = _judge_stderr(code, stderr, planted)
    if problem is None and seconds > limit:
        problem, detail = "slow", f"{seconds:.2f} s of CPU time ({wall:.2f} s wall)"
    shutil.rmtree(sandbox, ignore_errors=True)
    return code, seconds, problem, detail


def _judge_stderr(code: int | None, stderr: str, planted: bool) -> tuple[str | None, str]:
    """stderr holds only qlint's own lines; an exit-2 run on one file says why in one."""
    lines = stderr.splitlines()
    if any(not line.startswith(("qlint: error: ", "qlint: note: ", "wrote ")) for line in lines):
        return "stderr", stderr[-2000:]
    errors = [line for line in lines if line.startswith("qlint: error: ")]
    if not planted and (len(errors) != 1 if code == 2 else bool(errors)):
        return "stderr", stderr[-2000:]
    return None, ""


def _cpu() -> float:
    """CPU seconds used by this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _read_outputs(out_dir: str) -> dict[str, str]:
    texts = {}
    for name in os.listdir(out_dir):
        p = os.path.join(out_dir, name)
        if os.path.isfile(p) and not os.path.islink(p):
            with open(p, encoding="utf-8", errors="surrogateescape") as fh:
                texts[name] = fh.read()
    return texts


def judge(fmt: str, code: int | None, stdout: str, stderr: str, outputs: dict[str, str],
          before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]]
          ) -> tuple[str | None, str]:
    """The first detector that fires, with a detail line, or ``(None, "")``."""
    everything = {"stdout": stdout, "stderr": stderr, **outputs}
    if any("Traceback (most recent call last)" in t for t in everything.values()):
        return "traceback", (stderr + stdout)[-2000:]
    if "internal error" in stderr:
        return "internal", stderr.strip()[-2000:]
    if code not in (0, 1, 2):
        return "exit_code", f"exit code {code}"
    changed = sorted(k for k in before.keys() | after.keys()
                     if before.get(k) != after.get(k) and not k.startswith("out" + os.sep)
                     and k != "out")
    if changed:
        return "written", f"changed outside the output: {changed[:5]}"
    for where, text in everything.items():
        if CANARY in text:
            return "leak", f"the canary secret appears in {where}"
    for where, text in everything.items():
        m = _UNSAFE.search(text)
        if m:
            return "escape", f"{where} holds {m.group()!r} at {m.start()}"
        github = fmt == "github" and where in ("stdout", "report")
        for line in text.splitlines():
            if line.startswith("::") and not (github and _GITHUB_LINE.match(line)):
                return "escape", f"{where} has a line starting with '::': {line[:80]!r}"
    return None, ""
