"""Benchmarks: qlint's speed and memory against what users would otherwise run.

``python -m benchmarks.run [--runs N] [--quick] [--out docs/benchmarks.md]``

Every figure is a whole-process measurement (``/usr/bin/time``-style: wall
time and peak RSS of the child from ``os.wait4``), the median over several
runs, and each ratio compares two commands measured side by side in the same
run.  Needs the test extra (TensorFlow) for the baselines and to build the
benchmark models, which are cached under ``benchmarks/.cache/`` (not committed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "benchmarks" / ".cache"
PY = sys.executable
# What users run: the installed `qlint` command (`python -m qlint` also pays for runpy).
_SCRIPT = Path(PY).parent / "qlint"
COMMAND = [str(_SCRIPT)] if _SCRIPT.is_file() else [PY, "-m", "qlint"]
QLINT = [*COMMAND, "--no-progress", "--isolated"]


@dataclass
class Sample:
    """Median wall time (s) and median peak RSS (MB) of a command over ``runs`` runs."""

    seconds: float
    rss_mb: float
    runs: int
    exit_codes: list[int]


def child_env() -> dict[str, str]:
    """The environment of measured commands: bytecode caching on, as in an installed
    package (an inherited PYTHONDONTWRITEBYTECODE would recompile every module each run)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_bytecode() -> None:
    """Write the .pyc files a pip install writes, so runs do not pay for compiling."""
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "linter"), str(REPO / "rules")],
                   check=False, capture_output=True, env=child_env())


def measure(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` ``runs`` times; wall clock and the child's peak RSS from wait4."""
    return summarise(measure_samples(cmd, runs, env))


def measure_samples(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None
                    ) -> tuple[list[float], list[float], list[int]]:
    """Every run's (wall time, peak RSS in MB, exit code), as three lists."""
    return measure_interleaved([cmd], runs, env)[0]


def summarise(samples: tuple[list[float], list[float], list[int]]) -> Sample:
    times, rss, codes = samples
    return Sample(statistics.median(times), statistics.median(rss), len(times), codes)


def measure_interleaved(cmds: Sequence[Sequence[str]], runs: int,
                        env: dict[str, str] | None = None
                        ) -> list[tuple[list[float], list[float], list[int]]]:
    """`measure_samples` for several commands, run in turn (a, b, a, b, ...), so that a
    drift in the machine's speed affects all of them alike."""
    out: list[tuple[list[float], list[float], list[int]]] = [([], [], []) for _ in cmds]
    for _ in range(runs):
        for (times, rss, codes), cmd in zip(out, cmds, strict=True):
            start = dt.datetime.now().timestamp()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env={**child_env(), **(env or {})})
            _, status, usage = os.wait4(proc.pid, 0)
            times.append(dt.datetime.now().timestamp() - start)
            rss.append(usage.ru_maxrss / 1024)
            codes.append(os.waitstatus_to_exitcode(status))
    return out


# -- benchmark models -------------------------------------------------------------------

def fixture_models() -> list[Path]:
    return sorted((REPO / "fixtures").glob("*/*.tflite"))


APPS = {
    "mobilenet_v2_035_96": ("MobileNetV2", {"alpha": 0.35, "input_shape": (96, 96, 3)}),
    "mobilenet_v3_small_96": ("MobileNetV3Small", {"input_shape": (96, 96, 3)}),
    "efficientnet_b0_96": ("EfficientNetB0", {"input_shape": (96, 96, 3)}),
    "resnet50_64": ("ResNet50", {"input_shape": (64, 64, 3)}),
}


def application_models() -> dict[str, Path]:
    """keras.applications architectures (weights=None), full-int8, converted once and cached."""
    out = {}
    missing = [n for n in APPS if not (CACHE / "apps" / f"{n}.tflite").exists()]
    if missing:
        script = textwrap.dedent(f"""
            import numpy as np, tensorflow as tf, keras
            apps = {json.dumps({n: [APPS[n][0], APPS[n][1]] for n in missing})}
            for name, (cls, kw) in apps.items():
                kw["input_shape"] = tuple(kw["input_shape"])
                keras.utils.set_random_seed(0)
                model = getattr(keras.applications, cls)(weights=None, **kw)
                rng = np.random.default_rng(0)
                def rep():
                    for _ in range(4):
                        yield [rng.uniform(-1, 1, (1, *kw["input_shape"])).astype("float32")]
                c = tf.lite.TFLiteConverter.from_keras_model(model)
                c.optimizations = [tf.lite.Optimize.DEFAULT]
                c.representative_dataset = rep
                c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                c.inference_input_type = tf.int8
                c.inference_output_type = tf.int8
                open("{CACHE / 'apps'}/" + name + ".tflite", "wb").write(c.convert())
        """)
        (CACHE / "apps").mkdir(parents=True, exist_ok=True)
        subprocess.run([PY, "-c", script], check=True, capture_output=True)
    for name in APPS:
        out[name] = CACHE / "apps" / f"{name}.tflite"
    return out


def synthetic_model(ops: int, weights_mb: int, twin: bool = False) -> Path | None:
    """A synthetic full-int8 model from tools.synth, cached; None if the tool is missing.

    ``twin``: the same graph with every filter of a kind sharing one buffer (tiny weights).
    """
    path = CACHE / "synth" / f"ops{ops}_w{weights_mb}mb{'_twin' if twin else ''}.tflite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run([PY, "-m", "tools.synth", "--ops", str(ops), "--weights-mb",
                              str(weights_mb), "--out", str(path),
                              *(["--shared-weights"] if twin else [])], cwd=REPO,
                             capture_output=True, text=True)
        if res.returncode != 0:
            print(f"tools.synth failed: {res.stderr.strip()[-300:]}", file=sys.stderr)
            return None
    return path


def analyzer_cmd(paths: Sequence[Path]) -> list[str]:
    code = ("import sys, tensorflow as tf\n"
            "for p in sys.argv[1:]:\n"
            "    tf.lite.experimental.Analyzer.analyze(model_path=p)\n")
    return [PY, "-c", code, *map(str, paths)]


# -- the benchmark sections -------------------------------------------------------------

def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("qlint", "tensorflow-cpu", "tflite", "flatbuffers", "networkx", "numpy",
                 "protobuf"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.platform()}"


def row(name: str, a: Sample, b: Sample | None = None, target: str = "") -> str:
    if b is None:
        return f"| {name} | {a.seconds:.3f} s | {a.rss_mb:.0f} MB | | | {target} |"
    ratio = a.seconds / b.seconds if b.seconds else float("nan")
    return (f"| {name} | {a.seconds:.3f} s | {a.rss_mb:.0f} MB | {b.seconds:.3f} s "
            f"| 1/{1 / ratio:.1f} | {target} |")


def run(runs: int, quick: bool) -> str:
    lines: list[str] = []
    emit = lines.append
    emit("# Benchmarks\n")
    emit(f"Generated by `python -m benchmarks.run` on {dt.date.today().isoformat()}. "
         "Whole-process wall time and peak RSS, medians over "
         f"{runs} runs (TensorFlow baselines: {max(1, runs // 2)} runs); each ratio compares "
         "two commands measured one after the other in the same run. qlint is run as "
         f"`{' '.join(Path(c).name for c in COMMAND)}`.\n")
    emit(f"- Machine: {machine()}")
    emit("- Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + "\n")
    base_runs = max(1, runs // 2)
    compile_bytecode()

    emit("## qlint vs TFLite Model Analyzer\n")
    emit("`tf.lite.experimental.Analyzer.analyze(model_path=...)` in one Python process for "
         "all models of a set, against `qlint` over the same files.\n")
    emit("| model set | qlint | qlint peak RSS | Analyzer | qlint / Analyzer | target |")
    emit("|---|---|---|---|---|---|")
    fixtures = fixture_models()
    q = measure([*QLINT, *map(str, fixtures)], runs)
    a = measure(analyzer_cmd(fixtures), base_runs)
    emit(row(f"{len(fixtures)} fixture models", q, a, "<= 1/10"))
    one = REPO / "fixtures" / "int8_cnn" / "int8_cnn.tflite"
    q1 = measure([*QLINT, str(one)], runs)
    a1 = measure(analyzer_cmd([one]), base_runs)
    emit(row("one small model (int8_cnn)", q1, a1, "<= 1/5"))
    apps = application_models()
    qa = measure([*QLINT, *map(str, apps.values())], runs)
    aa = measure(analyzer_cmd(list(apps.values())), base_runs)
    emit(row(f"{len(apps)} keras.applications (full int8)", qa, aa, "<= 1/10"))
    for name, path in apps.items():
        qs, as_ = measure([*QLINT, str(path)], runs), measure(analyzer_cmd([path]), base_runs)
        emit(row(f"{name} ({path.stat().st_size / 2**20:.1f} MB)", qs, as_))
    emit("")

    emit("## Scaling with graph size (synthetic full-int8 models, tools/synth.py)\n")
    emit("Time per op is the time beyond a 10-op model of the same kind (start-up, imports "
         "and reporting: the fixed cost), divided by the op count. Each model is run in turn "
         "with the 10-op model, the smaller ones more often (their difference from it is a "
         "few tens of milliseconds: 1,000 ops 4x, 10,000 ops 2x the runs), and the time beyond "
         "is the median of the differences between the two runs of each pair.\n")
    emit("| ops | qlint | peak RSS | time per op |")
    emit("|---|---|---|---|")
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    per_op: dict[int, float] = {}
    largest: tuple[int, float] | None = None
    base_model = synthetic_model(10, 0)
    base = measure([*QLINT, str(base_model)], runs) if base_model is not None else None
    if base is not None:
        emit(f"| 10 (fixed cost) | {base.seconds:.3f} s | {base.rss_mb:.0f} MB | |")
    for n in sizes:
        path = synthetic_model(n, 0)
        if path is None or base is None:
            emit(f"| {n} | not measured: tools.synth unavailable | | |")
            continue
        repeat = {1_000: 4, 10_000: 2}.get(n, 1)
        fixed, model = measure_interleaved([[*QLINT, str(base_model)], [*QLINT, str(path)]],
                                           runs * repeat)
        s = summarise(model)
        largest = (n, s.seconds)
        # The median of the run-by-run differences: each pair ran back to back.
        diff = statistics.median(b - a for a, b in zip(fixed[0], model[0], strict=True))
        per_op[n] = max(diff, 0.0) / (n - 10)
        emit(f"| {n:,} | {s.seconds:.3f} s | {s.rss_mb:.0f} MB | {per_op[n] * 1e6:.1f} µs |")
    if len(per_op) >= 2:
        lo, hi = min(per_op.values()), max(per_op.values())
        mid = statistics.median(per_op.values())
        emit(f"\nPer-op cost from {min(per_op):,} to {max(per_op):,} ops: {lo * 1e6:.1f} to "
             f"{hi * 1e6:.1f} µs, {100 * (lo - mid) / mid:+.0f}% / {100 * (hi - mid) / mid:+.0f}% "
             "around the median (target: within ±50%).")
    if largest is not None:
        emit(f"\n{largest[0]:,}-op model: {largest[1]:.2f} s (target <= 3 s for 100,000 ops).\n")

    emit("## Weights are never read\n")
    emit("The twin is the same graph (ops, tensors, shapes, per-channel quantization) with every "
         "filter of a kind reading one shared buffer (`tools.synth --shared-weights`).\n")
    emit("| model | qlint | peak RSS | file size |")
    emit("|---|---|---|---|")
    big_mb = 256 if quick else 1024
    tiny, big = synthetic_model(1_000, big_mb, twin=True), synthetic_model(1_000, big_mb)
    if tiny is not None and big is not None:
        st, sb = map(summarise, measure_interleaved([[*QLINT, str(tiny)], [*QLINT, str(big)]],
                                                    runs))
        emit(f"| 1,000 ops, twin (shared weights) | {st.seconds:.3f} s | {st.rss_mb:.0f} MB | "
             f"{tiny.stat().st_size / 2**20:.1f} MB |")
        emit(f"| 1,000 ops, {big_mb} MB of weights | {sb.seconds:.3f} s | {sb.rss_mb:.0f} MB | "
             f"{big.stat().st_size / 2**20:.0f} MB |")
        emit(f"\nTime ratio big/twin: {sb.seconds / st.seconds:.2f}x (target <= 1.2x); peak RSS "
             f"{sb.rss_mb:.0f} MB (target <= 150 MB).\n")
    else:
        emit("| not measured: tools.synth unavailable | | | |\n")

    emit("## SavedModel lint vs the real strict int8 conversion\n")
    emit(savedmodel_section(runs, base_runs))

    emit("## Start-up\n")
    emit("| command | time | peak RSS |")
    emit("|---|---|---|")
    sv = measure([*COMMAND, "--version"], runs)
    emit(f"| `qlint --version` | {sv.seconds:.3f} s | {sv.rss_mb:.0f} MB |")
    emit(f"| `qlint fixtures/int8_cnn/int8_cnn.tflite` | {q1.seconds:.3f} s | "
         f"{q1.rss_mb:.0f} MB |")
    emit("\nImport breakdown of `python -X importtime -m qlint int8_cnn.tflite`:\n")
    emit("```")
    emit(import_breakdown(one))
    emit("```")
    return "\n".join(lines) + "\n"


SAVEDMODELS = {
    "mobilenet_v2_035_96": ("MobileNetV2 0.35 96x96", "MobileNetV2",
                            {"alpha": 0.35, "input_shape": (96, 96, 3)}),
    "resnet50_96": ("ResNet50 96x96", "ResNet50", {"input_shape": (96, 96, 3)}),
}


def savedmodel_section(runs: int, base_runs: int) -> str:
    """qlint on a SavedModel vs TFLiteConverter strict int8 conversion of the same model."""
    probe = subprocess.run([PY, "-c", "import qlint.loaders.savedmodel"], capture_output=True)
    if probe.returncode != 0:
        return "Not measured: this qlint has no SavedModel loader.\n"
    rows = []
    for key, (label, cls, kw) in SAVEDMODELS.items():
        sm = CACHE / "savedmodel" / key
        shape = tuple(kw["input_shape"])
        if not sm.exists():
            script = textwrap.dedent(f"""
                import keras
                keras.utils.set_random_seed(0)
                kw = {kw!r}
                m = keras.applications.{cls}(weights=None, **kw)
                m.export("{sm}")
            """)
            sm.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([PY, "-c", script], check=True, capture_output=True)
        convert = textwrap.dedent(f"""
            import numpy as np, tensorflow as tf
            rng = np.random.default_rng(0)
            def rep():
                for _ in range(4):
                    yield [rng.uniform(-1, 1, (1, *{shape!r})).astype("float32")]
            c = tf.lite.TFLiteConverter.from_saved_model("{sm}")
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.representative_dataset = rep
            c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            c.inference_input_type = tf.int8
            c.inference_output_type = tf.int8
            c.convert()
        """)
        # qlint runs before and after the conversions, so that both see the machine alike.
        before = measure_samples([*QLINT, str(sm)], runs)
        c = measure([PY, "-c", convert], base_runs)
        after = measure_samples([*QLINT, str(sm)], runs)
        q = summarise([x + y for x, y in zip(before, after, strict=True)])
        rows.append(row(f"{label} SavedModel", q, c, "<= 1/50"))
    return ("qlint runs twice as often as stated above, half before and half after the "
            "conversions.\n\n"
            "| model | qlint | qlint peak RSS | strict int8 conversion | ratio | target |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def import_breakdown(model: Path) -> str:
    res = subprocess.run([PY, "-X", "importtime", "-m", "qlint", "--isolated", str(model)],
                         capture_output=True, text=True, env=child_env())
    by_package: dict[str, int] = {}
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = line.split(":", 1)[1].split("|")
        if own.strip().isdigit():
            root = name.strip().split(".")[0]
            by_package[root] = by_package.get(root, 0) + int(own)
    total = sum(by_package.values())
    top = sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    return ("\n".join(f"{c:>9} µs  {n}" for n, c in top)
            + f"\n{total:>9} µs  all imports (self time summed per top-level package)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--runs", type=int, default=5, help="runs per qlint measurement")
    p.add_argument("--quick", action="store_true", help="smaller synthetic models")
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    text = run(args.runs, args.quick)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
