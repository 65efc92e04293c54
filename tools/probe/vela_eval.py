"""Score qlint's predicted Ethos-U placements against the real Vela on held-out models.

``python -m tools.probe.vela_eval`` converts a few ``keras.applications`` architectures
(``weights=None``, small inputs, full-integer int8 with a random representative
dataset) and a small segmentation model, none of them used by the probe, adds the int8
fixtures of the repository and any ``--models``, compiles each with the real ``vela``
for every config, and compares op by op with `qlint.placement`:

* precision and recall of "placed on the CPU" per config (an op of unknown placement
  that Vela put on the CPU counts as a miss);
* models Vela refused, and whether qlint predicted the refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tools.probe.vela_run import CONFIGS, VelaResult, run_vela
from tools.probe.vela_set3 import apps_third

REPO = Path(__file__).resolve().parents[2]


def _apps() -> dict[str, Callable[[Any], Any]]:
    """Held-out architectures: name -> builder taking the ``keras`` module."""
    def app(cls: str, shape: tuple[int, int, int], **kw: Any) -> Callable[[Any], Any]:
        return lambda keras: getattr(keras.applications, cls)(
            input_shape=shape, weights=None, classes=10, **kw)

    return {
        "mobilenet_v1_025": app("MobileNet", (96, 96, 3), alpha=0.25),
        "mobilenet_v2_035": app("MobileNetV2", (96, 96, 3), alpha=0.35),
        "mobilenet_v3_small": app("MobileNetV3Small", (96, 96, 3), minimalistic=False),
        "efficientnet_b0": app("EfficientNetB0", (64, 64, 3)),
        "resnet50": app("ResNet50", (64, 64, 3)),
        "densenet121": app("DenseNet121", (64, 64, 3)),
        "tiny_unet": _tiny_unet,
    }


def _apps_second() -> dict[str, Callable[[Any], Any]]:
    """A second held-out set, scored once after the table was last changed (``--set 2``)."""
    def app(cls: str, shape: tuple[int, int, int], **kw: Any) -> Callable[[Any], Any]:
        return lambda keras: getattr(keras.applications, cls)(
            input_shape=shape, weights=None, classes=10, **kw)

    return {
        "mobilenet_v3_large": app("MobileNetV3Large", (96, 96, 3)),
        "efficientnet_v2_b0": app("EfficientNetV2B0", (64, 64, 3)),
        "resnet50_v2": app("ResNet50V2", (64, 64, 3)),
        "inception_v3": app("InceptionV3", (75, 75, 3)),
        "xception": app("Xception", (71, 71, 3)),
        "convnext_tiny": app("ConvNeXtTiny", (64, 64, 3)),
        "nasnet_mobile": app("NASNetMobile", (64, 64, 3)),
        "small_detector": _small_detector,
    }


def _small_detector(keras: Any) -> Any:
    """A small detector-style model: pools of several sizes, nearest x2, heads, reshape."""
    layers = keras.layers
    inp = keras.Input((48, 48, 3))
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inp)
    a = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    m = layers.MaxPooling2D(5, strides=1, padding="same")(x)
    x = layers.Concatenate()([x, a, m])
    x = layers.SeparableConv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    u = layers.UpSampling2D(2, interpolation="nearest")(x)
    y = layers.Conv2D(16, 1, activation="sigmoid")(u)
    box = layers.Reshape((-1, 4))(layers.Conv2D(8, 1)(y))
    cls = layers.Softmax()(layers.Reshape((-1, 2))(layers.Conv2D(4, 1)(y)))
    return keras.Model(inp, [box, cls])


def _tiny_unet(keras: Any) -> Any:
    """A small encoder-decoder: strided convs, max pool, bilinear x2, transpose conv, concat."""
    layers = keras.layers
    inp = keras.Input((64, 64, 3))
    e1 = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    e2 = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(e1)
    p = layers.MaxPooling2D(2)(e2)
    b = layers.DepthwiseConv2D(5, padding="same", activation="relu6")(p)
    u1 = layers.UpSampling2D(2, interpolation="bilinear")(b)
    c = layers.Concatenate()([u1, e2])
    u2 = layers.Conv2DTranspose(8, 3, strides=2, padding="same")(c)
    m = layers.Add()([u2, e1])
    g = layers.GlobalAveragePooling2D()(m)
    out = layers.Dense(4, activation="softmax")(g)
    return keras.Model(inp, out)


def convert_app(name: str, make: Callable[[Any], Any], path: Path) -> None:
    """Full-integer int8 conversion of a Keras model (random calibration data)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = make(keras)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(0)

    def rep() -> Any:
        for _ in range(8):
            yield [rng.uniform(-1, 1, (1, *shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())


def fixture_models() -> list[Path]:
    """Integer ``.tflite`` fixtures of the repository (any quantized model)."""
    from qlint.loaders import loader_for

    out = []
    for p in sorted((REPO / "fixtures").rglob("*.tflite")):
        try:
            g = loader_for("tflite")(str(p))
        except Exception:
            continue
        if g.quant_mode in ("full-int8", "mixed"):
            out.append(p)
    return out


def vela_result(path: Path, config: str, vela: str = "vela",
                cache: Path | None = None) -> VelaResult:
    """The real Vela's result for one model and config (kept as JSON in ``cache``)."""
    import hashlib

    if cache is None:
        return run_vela(str(path), config, vela=vela)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    spot = cache / f"{path.stem}-{digest}-{config}.json"
    if spot.exists():
        raw = json.loads(spot.read_text())
        return VelaResult(config, raw["returncode"], raw["cpu"], set(raw["npu"]),
                          raw["logs"], raw["message"], raw["refused_op"], raw["refused_ofm"])
    res = run_vela(str(path), config, vela=vela)
    spot.write_text(json.dumps({"returncode": res.returncode, "cpu": res.cpu,
                                "npu": sorted(res.npu), "logs": res.logs,
                                "message": res.message, "refused_op": res.refused_op,
                                "refused_ofm": res.refused_ofm}))
    return res


def compare(path: Path, config: str, vela: str = "vela",
            cache: Path | None = None) -> dict[str, Any]:
    """Per-op agreement of qlint's prediction with one real Vela run."""
    from qlint.loaders import loader_for
    from qlint.placement import CPU, REFUSED, UNKNOWN, placements

    graph = loader_for("tflite")(str(path))
    pred = placements(graph, config)
    real = vela_result(path, config, vela, cache)
    predicted_refused = any(p.placement == REFUSED for p in pred.values())
    out: dict[str, Any] = {"model": path.name, "config": config, "refused": real.refused,
                           "predicted_refused": predicted_refused, "tp": 0, "fp": 0, "fn": 0,
                           "tn": 0, "unknown": 0, "misses": []}
    if real.refused:
        out["message"] = real.message
        return out
    for op, p in pred.items():
        outs = [t for t in graph.outputs(op) if t is not None]
        if not outs:
            continue
        name = graph[outs[0]]["name"]
        is_cpu = name in real.cpu
        said_cpu = p.placement == CPU
        if p.placement == UNKNOWN:
            out["unknown"] += 1
        key = ("tp" if said_cpu else "fn") if is_cpu else ("fp" if said_cpu else "tn")
        out[key] += 1
        if key in ("fp", "fn"):
            out["misses"].append({"op": graph[op]["op_type"], "kind": key,
                                  "predicted": p.placement, "vela_reason": real.cpu.get(name),
                                  "why": p.why_unknown or p.conditions})
    return out


def score(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Precision and recall of "placed on the CPU" per config, and refusals caught."""
    out = {}
    for config in CONFIGS:
        rs = [r for r in rows if r["config"] == config]
        tp, fp, fn = (sum(r[k] for r in rs) for k in ("tp", "fp", "fn"))
        refused = [r for r in rs if r["refused"]]
        out[config] = {
            "models": len(rs), "ops": sum(r["tp"] + r["fp"] + r["fn"] + r["tn"] for r in rs),
            "cpu_ops": tp + fn, "tp": tp, "fp": fp, "fn": fn,
            "unknown": sum(r["unknown"] for r in rs),
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "refused": len(refused),
            "refused_caught": sum(1 for r in refused if r["predicted_refused"]),
            "false_refusals": sum(1 for r in rs if r["predicted_refused"] and not r["refused"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.probe.vela_eval", description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "QLINT_PROBE_CACHE", str(Path.home() / ".cache" / "qlint-probe"))) / "heldout")
    ap.add_argument("--models", nargs="*", type=Path, default=[], help="more int8 .tflite files")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--compile-only", action="store_true",
                    help="build and compile with Vela (results cached), score nothing")
    ap.add_argument("--set", type=int, default=1, choices=(1, 2, 3),
                    help="1: the first held-out architectures and the fixtures; 2: the second "
                         "held-out architectures only; 3: the third (tools.probe.vela_set3)")
    ap.add_argument("--vela", default="vela")
    ap.add_argument("--out", type=Path, help="write the rows and scores as JSON here")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    paths = []
    apps = {1: _apps, 2: _apps_second, 3: apps_third}[args.set]()
    for name, make in apps.items():
        path = args.cache / f"{name}.tflite"
        if not path.exists():
            print(f"converting {name}", file=sys.stderr)
            try:
                convert_app(name, make, path)
            except Exception as exc:
                print(f"  {name}: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
                continue
        paths.append(path)
    if args.build_only:
        return 0
    paths += (fixture_models() if args.set == 1 else []) + list(args.models)
    vela_cache = args.cache / "vela-results"
    vela_cache.mkdir(exist_ok=True)
    if args.compile_only:
        for path in paths:
            for config in CONFIGS:
                res = vela_result(path, config, args.vela, vela_cache)
                print(f"{path.name} {config}: compiled, exit {res.returncode}", file=sys.stderr)
        return 0
    rows = []
    for path in paths:
        for config in CONFIGS:
            row = compare(path, config, args.vela, vela_cache)
            rows.append(row)
            print(f"{path.name} {config}: tp={row['tp']} fp={row['fp']} fn={row['fn']} "
                  f"tn={row['tn']} unknown={row['unknown']} refused={row['refused']}"
                  f"/{row['predicted_refused']}", file=sys.stderr)
    scores = score(rows)
    print(json.dumps(scores, indent=1))
    if args.out:
        args.out.write_text(json.dumps({"scores": scores, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
