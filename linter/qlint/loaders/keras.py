"""Load a Keras model file (``.keras`` or legacy ``.h5``) into a `ModelGraph` as data.

Nothing in the file is deserialized as code and Keras is never imported:

* ``.keras`` is a zip archive; only ``config.json`` and ``metadata.json`` are
  read, each through a bounded read from the archive (nothing is extracted);
* ``.h5`` (the legacy format, also written by Keras 3's ``model.save("x.h5")``)
  is opened with ``h5py`` (an optional dependency, the ``h5`` extra) and only
  its ``model_config`` attribute is read.

The model config is walked as JSON: ``Functional``/``Model`` graphs (Keras 3
``inbound_nodes`` with ``args``/``kwargs`` and the tf.keras 2 nested-list form),
``Sequential`` stacks, and nested models, inlined with their layer names as a
path prefix.  Each layer call is one op node with ``source_op`` = the Keras
class, ``location`` = the layer name (``block1/conv``; ``conv@1`` for a second
call of a shared layer), ``attrs`` = the layer config, its dtype ``policy`` and
``compute_dtype``, and ``op_type`` = ``keras.<Class>`` (`qlint.predict.patterns.lower`
later names the TFLite builtin the probed converter lowered the layer to).

``Lambda`` layers and classes that are not Keras built-ins get
``attrs["opaque"] = True``: qlint records that it cannot see inside them, and
never decodes their ``function`` (marshalled Python bytecode for a lambda).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import stat
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from qlint.errors import ModelLoadError, one_line
from qlint.graph import ModelGraph
from qlint.loaders.keras_classes import builtin_classes, unwrap_qat

MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_JSON_ITEMS = 2_000_000
MAX_NESTING = 64
MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
FLOAT_POLICIES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def load_keras(path: str) -> ModelGraph:
    """Parse a ``.keras`` archive or a legacy ``.h5`` Keras model."""
    ext = os.path.splitext(path)[1].lower()
    if ext in (".h5", ".hdf5"):
        config, meta = _read_h5(path)
        fmt_detail = "h5"
    else:
        config, meta = _read_zip(path)
        fmt_detail = "keras"
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelLoadError(path, "model config is not a Keras model description "
                             "(no class_name)")
    b = _Builder(path)
    b.model(config, "", [], depth=0)
    return b.emit(meta, fmt_detail)


def _require_regular_file(path: str) -> None:
    """Refuse FIFOs, devices and directories named like a model (a FIFO would block)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelLoadError(path, "no such file") from None
    except OSError as exc:
        raise ModelLoadError(path, f"cannot open: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ModelLoadError(path, "not a regular file")


def _read_zip(path: str) -> tuple[Any, dict[str, Any]]:
    _require_regular_file(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ModelLoadError(path, "no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ModelLoadError(path, f"not a .keras archive (bad zip: {one_line(exc)})"
                             ) from None
    with zf:
        try:
            config = _bounded_json(zf, "config.json", path)
            if config is None:
                raise ModelLoadError(path, "not a .keras archive: no config.json inside")
            meta = _bounded_json(zf, "metadata.json", path) or {}
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError,
                zlib.error, ValueError) as exc:
            raise ModelLoadError(path, f"corrupt .keras archive: {one_line(exc)}") from None
    return config, meta if isinstance(meta, dict) else {}


def _bounded_json(zf: zipfile.ZipFile, name: str, path: str) -> Any:
    try:
        info = zf.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_CONFIG_BYTES:
        raise ModelLoadError(path, f"{name} is {info.file_size} bytes, more than "
                             f"{MAX_CONFIG_BYTES}")
    with zf.open(info) as fh:
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ModelLoadError(path, f"{name} is larger than {MAX_CONFIG_BYTES} bytes")
    return parse_json(data, name, path)


def parse_json(data: bytes | str, name: str, path: str) -> Any:
    """Decode a model config; anything that is not plain, bounded JSON is a load error.

    Besides syntax errors this refuses invalid UTF-8, integers beyond Python's digit
    limit, nesting deeper than the interpreter's recursion limit, and documents with more
    than `MAX_JSON_ITEMS` items (commas, objects and arrays: an upper bound of the values
    it holds), since 64 MiB of ``[{},{},...]`` or ``["a","a",...]`` would otherwise take
    gigabytes once parsed.  A real model's config has tens of items per layer.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ModelLoadError(path, f"{name} is not valid UTF-8 (byte {exc.start})") from None
    items = text.count(",") + text.count("{") + text.count("[")
    if items > MAX_JSON_ITEMS:
        raise ModelLoadError(path, f"{name} has {items} JSON items (commas, objects and "
                             f"arrays; limit {MAX_JSON_ITEMS})")
    try:
        return json.loads(text)
    except RecursionError:
        raise ModelLoadError(path, f"{name} is nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, and integers of too many digits
        raise ModelLoadError(path, f"{name} is not valid JSON: {one_line(exc)}") from None


# The HDF5 reader's limits.  Its verdict must not depend on the machine's load, so what
# the file holds is judged first, inside the reader, by size and item count (the same
# limits as a .keras config); the reader then gets `H5_CPU_SECONDS` of CPU time, which
# load does not shorten, and the wall clock only stops a reader that is blocked.
H5_CPU_SECONDS = 2
H5_TIMEOUT = 30.0  # wall-clock backstop, seconds
H5_MEMORY = 1 << 31  # address-space limit of the HDF5 reader, bytes

# The HDF5 reader, run as ``python -I -c``: it prints one JSON line, either
# {"config": text or null, "meta": {...}} or {"error": kind, "message": text}.
_H5_READER = r"""
import json, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
    cpu = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
except (ImportError, ValueError, OSError):
    pass
import h5py
MAX_BYTES, MAX_ITEMS = int(sys.argv[4]), int(sys.argv[5])

def text(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)

def losses(raw):
    # the compiled losses: names as strings, a serialized loss object as "object"
    try:
        loss = json.loads(raw).get("loss")
    except (ValueError, AttributeError, RecursionError):
        return []
    if isinstance(loss, dict) and "class_name" in loss:
        loss = [loss]
    elif isinstance(loss, dict):
        loss = list(loss.values())
    elif not isinstance(loss, list):
        loss = [loss]
    return ["object" if isinstance(v, dict) else v[:100] for v in loss[:50]
            if isinstance(v, (str, dict))]

try:
    with h5py.File(sys.argv[1], "r") as f:
        if "model_config" in f.attrs and \
                f.attrs.get_id("model_config").get_storage_size() > MAX_BYTES:
            raise OverflowError("size")
        raw = f.attrs.get("model_config")
        meta = {k: text(f.attrs[k]) for k in ("keras_version", "backend") if k in f.attrs}
        config = None if raw is None else text(raw)
        if config is not None and len(config) > MAX_BYTES:
            raise OverflowError("size")
        items = 0 if config is None else \
            config.count(",") + config.count("{") + config.count("[")
        if items > MAX_ITEMS:
            raise OverflowError(f"{items} items")
        tc = f.attrs.get("training_config")
        if tc is not None and \
                f.attrs.get_id("training_config").get_storage_size() <= MAX_BYTES:
            meta["training_losses"] = losses(text(tc))
        out = {"config": config, "meta": meta}
except OverflowError as exc:
    out = {"error": "limit", "message": str(exc)}
except FileNotFoundError:
    out = {"error": "missing", "message": ""}
except OSError as exc:
    out = {"error": "not-hdf5", "message": str(exc)}
except (KeyError, RuntimeError, ValueError, TypeError, MemoryError) as exc:
    out = {"error": "corrupt", "message": f"{type(exc).__name__}: {exc}"}
sys.stdout.write(json.dumps(out))
"""


def _losses(meta: dict[str, Any], detail: str) -> list[str]:
    """The compiled losses the ``.h5`` reader found (names; ``object`` for a loss object)."""
    found = meta.get("training_losses") if detail == "h5" else None
    return [v for v in found if isinstance(v, str)][:50] if isinstance(found, list) else []


def _read_h5(path: str) -> tuple[Any, dict[str, Any]]:
    """Read a legacy ``.h5`` model's ``model_config`` attribute.

    libhdf5 can loop forever or crash inside C code on a corrupt file, where no Python
    signal reaches it, so the attributes are read by a child process (isolated mode,
    nothing imported from the model's directory) under a time and memory limit.
    """
    if importlib.util.find_spec("h5py") is None:
        raise ModelLoadError(path, "reading legacy .h5 Keras models needs h5py: "
                             "pip install 'qlint[h5]'")
    _require_regular_file(path)
    try:
        res = subprocess.run([sys.executable, "-I", "-c", _H5_READER, os.path.abspath(path),
                              str(H5_MEMORY), str(H5_CPU_SECONDS), str(MAX_CONFIG_BYTES),
                              str(MAX_JSON_ITEMS)],
                             capture_output=True, timeout=H5_TIMEOUT, cwd=os.sep,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ModelLoadError(path, f"the HDF5 library did not finish reading the file in "
                             f"{H5_TIMEOUT:.0f} s (corrupt file?)") from None
    except OSError as exc:
        raise ModelLoadError(path, f"cannot start the HDF5 reader: {one_line(exc)}") from None
    try:
        out = json.loads(res.stdout) if res.returncode == 0 else None
    except ValueError:
        out = None
    if not isinstance(out, dict):
        why = (f"used more than {H5_CPU_SECONDS} s of CPU time"
               if res.returncode == -signal.SIGXCPU
               else f"was killed by signal {-res.returncode}" if res.returncode < 0
               else f"failed (exit code {res.returncode})")
        raise ModelLoadError(path, f"the HDF5 library {why} reading the file (corrupt file?)")
    if out.get("error") == "missing":
        raise ModelLoadError(path, "no such file")
    if out.get("error") == "limit":
        msg = str(out.get("message", ""))
        if msg == "size":
            raise ModelLoadError(path, f"model_config is larger than {MAX_CONFIG_BYTES} bytes")
        raise ModelLoadError(path, f"model_config has {one_line(msg)} (commas, objects and "
                             f"arrays; limit {MAX_JSON_ITEMS})")
    if out.get("error") == "not-hdf5":
        raise ModelLoadError(path, f"not an HDF5 file: {one_line(out.get('message', ''))}")
    if out.get("error"):
        raise ModelLoadError(path, f"corrupt HDF5 file: {one_line(out.get('message', ''))}")
    text, meta = out.get("config"), out.get("meta")
    if text is None:
        raise ModelLoadError(path, "HDF5 file has no model_config attribute "
                             "(weights only? save the whole model with model.save)")
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelLoadError(path, "model_config is too large")
    return parse_json(text, "model_config", path), meta if isinstance(meta, dict) else {}


def policy_of(config: Any) -> str | None:
    """The dtype policy name of a layer config (``float32``, ``mixed_float16``, ...)."""
    d = config.get("dtype") if isinstance(config, dict) else None
    if isinstance(d, str):
        return d
    if isinstance(d, dict):
        inner = d.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
    return None


def compute_dtype(policy: str | None) -> str:
    if policy is None:
        return "float32"
    return FLOAT_POLICIES.get(policy, policy)


@dataclass
class _Op:
    class_name: str
    name: str
    location: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]


@dataclass
class _Tensor:
    name: str
    dtype: str = "unknown"
    shape: tuple[int | None, ...] | None = None


@dataclass
class _Builder:
    path: str
    ops: list[_Op] = field(default_factory=list)
    tensors: dict[str, _Tensor] = field(default_factory=dict)
    alias: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    policies: dict[str, int] = field(default_factory=dict)
    # Sequential layers (not InputLayer) whose config carries batch_input_shape, by where
    # they are: "first" (the first entry of the top model, no InputLayer before it: the
    # older Keras 2 layout) or "nested" (inside a Sequential nested in a top Sequential);
    # QL122 names them.
    input_shape_layers: dict[str, list[str]] = field(default_factory=dict)
    top_class: str | None = None

    def resolve(self, key: str) -> str:
        n = 0
        while key in self.alias and n < 100_000:
            key, n = self.alias[key], n + 1
        return key

    def tensor(self, key: str, name: str | None = None) -> _Tensor:
        if key not in self.tensors:
            self.tensors[key] = _Tensor(name or key)
        return self.tensors[key]

    # models -----------------------------------------------------------------
    def model(self, config: dict[str, Any], prefix: str, inputs: list[str], depth: int
              ) -> list[str]:
        """Instantiate a model config under ``prefix`` fed by ``inputs``; its output keys."""
        if depth > MAX_NESTING:
            raise ModelLoadError(self.path, f"models nested deeper than {MAX_NESTING}")
        cls = config.get("class_name")
        cfg = config.get("config") or {}
        if not isinstance(cfg, dict):
            raise ModelLoadError(self.path, f"model config of {cls} is not an object")
        layers = cfg.get("layers")
        top = depth == 0
        if not isinstance(layers, list) and top and _opaque_reason(config) is not None:
            return self._subclassed(config, cfg, prefix)
        if not isinstance(layers, list):
            raise ModelLoadError(self.path, f"{cls} config has no layer list")
        if top:
            self.top_class = str(cls)
        if cls == "Sequential":
            return self._sequential(layers, prefix, inputs, depth, top)
        return self._functional(cfg, layers, prefix, inputs, depth, top)

    def _subclassed(self, config: dict[str, Any], cfg: dict[str, Any], prefix: str
                    ) -> list[str]:
        """A subclassed model of a class outside Keras: its config holds the arguments
        of its constructor, not its layers, which its code builds.  One opaque op of
        that class, fed by an input of its build shape (QL112 says so)."""
        cls = str(config.get("class_name"))
        self.top_class = cls
        name = str(cfg.get("name") or config.get("name") or cls)
        key = f"{prefix}{name}:in"
        self._input_tensor(key, "input", None, {"build_config": _obj(config.get("build_config"))})
        self.inputs.append(key)
        out = f"{prefix}{name}:0:0"
        self.tensor(out, name)
        reason = f"subclassed model: the code of its {_opaque_reason(config)} builds its layers"
        self.ops.append(_Op(cls, name, f"{prefix}{name}", [key], [out],
                            {"opaque": True, "opaque_reason": reason,
                             "subclassed_model": True}))
        self.outputs.append(out)
        return [out]

    def _sequential(self, layers: list[Any], prefix: str, inputs: list[str], depth: int,
                    top: bool) -> list[str]:
        cur = inputs[:1]
        for i, layer in enumerate(layers):
            if not isinstance(layer, dict):
                raise ModelLoadError(self.path, f"layer {i} of a Sequential is not an object")
            cfg = _obj(layer.get("config"))
            name = str(layer.get("name") or cfg.get("name") or f"layer_{i}")
            if layer.get("class_name") != "InputLayer" and "batch_input_shape" in cfg and (
                    i == 0 if top else self.top_class == "Sequential"):
                where = "nested" if not top else "first"
                self.input_shape_layers.setdefault(where, []).append(name)
            if layer.get("class_name") == "InputLayer" or not cur:
                key = f"{prefix}{name}:in"
                self._input_tensor(key, name, layer if layer.get("class_name") == "InputLayer"
                                   else None, cfg)
                if top:
                    self.inputs.append(key)
                cur = [key]
                if layer.get("class_name") == "InputLayer":
                    continue
            cur = self._call(layer, prefix, name, 0, cur, depth)
        if top:
            self.outputs.extend(cur)
        return cur

    def _input_tensor(self, key: str, name: str, input_layer: dict[str, Any] | None,
                      cfg: dict[str, Any]) -> None:
        t = self.tensor(key, name)
        shape = (cfg.get("batch_shape") or cfg.get("batch_input_shape")
                 or _obj(cfg.get("build_config")).get("input_shape"))
        if isinstance(shape, list):
            t.shape = tuple(d if isinstance(d, int) else None for d in shape)
        dt = cfg.get("dtype") if input_layer is not None else None
        t.dtype = dt if isinstance(dt, str) else compute_dtype(policy_of(cfg))

    def _functional(self, cfg: dict[str, Any], layers: list[Any], prefix: str,
                    inputs: list[str], depth: int, top: bool) -> list[str]:
        in_refs = _refs(cfg.get("input_layers"))
        fed: dict[str, str] = {}
        for i, (lname, _, _) in enumerate(in_refs):
            if i < len(inputs):
                fed[lname] = inputs[i]
        for layer in layers:
            if not isinstance(layer, dict):
                raise ModelLoadError(self.path, "a layer entry is not an object")
            lcfg = _obj(layer.get("config"))
            name = str(layer.get("name") or lcfg.get("name") or "layer")
            if layer.get("class_name") == "InputLayer":
                key = f"{prefix}{name}:0:0"
                if name in fed:
                    self.alias[key] = fed[name]
                else:
                    self._input_tensor(key, name, layer, lcfg)
                    if top:
                        self.inputs.append(key)
                continue
            nodes = layer.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise ModelLoadError(self.path, f"layer {name}: inbound_nodes is not a list")
            for n_idx, node in enumerate(nodes):
                ins = [self._history(prefix, h) for h in _node_history(node)]
                outs = self._call(layer, prefix, name, n_idx, ins, depth, _call_args(node),
                                  _arg_shapes(node))
                for t_idx, k in enumerate(outs):
                    want = f"{prefix}{name}:{n_idx}:{t_idx}"
                    if k != want:
                        self.alias[want] = k
        outs = [f"{prefix}{ln}:{ni}:{ti}" for ln, ni, ti in _refs(cfg.get("output_layers"))]
        if top:
            self.outputs.extend(outs)
        return outs

    def _history(self, prefix: str, h: tuple[str, int, int, Any]) -> str:
        lname, ni, ti, tcfg = h
        key = f"{prefix}{lname}:{ni}:{ti}"
        if isinstance(tcfg, dict):
            t = self.tensor(self.resolve(key))
            if isinstance(tcfg.get("shape"), list):
                t.shape = tuple(d if isinstance(d, int) else None for d in tcfg["shape"])
            if isinstance(tcfg.get("dtype"), str):
                t.dtype = tcfg["dtype"]
        return key

    def _call(self, layer: dict[str, Any], prefix: str, name: str, n_idx: int,
              ins: list[str], depth: int, call_args: int | None = None,
              arg_shapes: list[tuple[str, tuple[int | None, ...]] | None] | None = None,
              ) -> list[str]:
        layer, qat = unwrap_qat(layer)
        cls = str(layer.get("class_name"))
        cfg = _obj(layer.get("config"))
        location = f"{prefix}{name}" if n_idx == 0 else f"{prefix}{name}@{n_idx}"
        if cls in MODEL_CLASSES or (isinstance(cfg, dict) and isinstance(cfg.get("layers"), list)):
            return self.model(layer, f"{location}/", ins, depth + 1)
        policy = policy_of(cfg)
        self.policies[policy or "float32"] = self.policies.get(policy or "float32", 0) + 1
        attrs: dict[str, Any] = {
            "class_name": cls,
            "module": layer.get("module"),
            "registered_name": layer.get("registered_name"),
            "config": cfg,
            "policy": policy,
            "compute_dtype": compute_dtype(policy),
        }
        if qat:
            attrs["qat"] = qat
        opaque = None if qat.get("role") == "quantize" else _opaque_reason(layer)
        if opaque:
            attrs["opaque"] = True
            attrs["opaque_reason"] = opaque
        if isinstance(cfg, dict):
            act = cfg.get("activation")
            if isinstance(act, str) and act not in ("linear", None):
                attrs["activation"] = act
        out = f"{prefix}{name}:{n_idx}:0"
        t = self.tensor(out, location)
        t.name = location
        if t.dtype == "unknown":
            t.dtype = attrs["compute_dtype"]
        # a Keras 3 operation called in a functional model (``keras.ops.not_equal``) is a
        # class of ``keras.src.ops.*``; its name may be a layer's too (``Add``, ``Dot``)
        module = layer.get("module")
        kind = f"ops.{cls}" if isinstance(module, str) and module.startswith(
            "keras.src.ops.") else cls
        if kind.startswith("ops.") and call_args is not None:
            attrs["call_args"] = call_args  # where(c) and where(c, x, y) are unlike ops
        if kind.startswith("ops.") and arg_shapes:
            attrs["arg_shapes"] = arg_shapes  # the operands' shapes, constants' included
        self.ops.append(_Op(kind, name, location, [self.resolve(k) for k in ins], [out], attrs))
        return [out]

    # emit -------------------------------------------------------------------
    def emit(self, meta: dict[str, Any], detail: str) -> ModelGraph:
        policies = sorted(self.policies)
        g = ModelGraph("keras", self.path, "source", signatures={}, subgraphs=[],
                       metadata={"keras_version": _str_or_none(meta.get("keras_version")),
                                 "file_kind": detail, "dtype_policies": policies,
                                 "input_shape_layers": self.input_shape_layers,
                                 "training_losses": _losses(meta, detail)})
        ids: dict[str, str] = {}

        def tid(key: str) -> str:
            key = self.resolve(key)
            if key not in ids:
                t = self.tensors.get(key) or _Tensor(key)
                ids[key] = g.add_tensor(0, len(ids), name=t.name, dtype=t.dtype, shape=t.shape,
                                        location=t.name)
            return ids[key]

        ins = [tid(k) for k in self.inputs]
        for i, op in enumerate(self.ops):
            g.add_op(0, i, op_type=f"keras.{op.class_name}", source_op=op.class_name, name=op.name,
                     inputs=[tid(k) for k in op.inputs], outputs=[tid(k) for k in op.outputs],
                     attrs=op.attrs, location=op.location)
        outs = [tid(k) for k in self.outputs]
        g.attrs["subgraphs"].append({"name": "model", "inputs": ins, "outputs": outs})
        return g


#: Keras 2 layers that call one TF API function their config names (``nn.relu6``,
#: ``__operators__.add``): what they compute is known without their code.
TF_FUNCTION_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})


def _opaque_reason(layer: dict[str, Any]) -> str | None:
    cls = str(layer.get("class_name"))
    if cls in TF_FUNCTION_LAYERS:
        return None
    raw = layer.get("config")
    cfg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if cls == "Lambda":
        fn = cfg.get("function")
        kind = fn.get("class_name") if isinstance(fn, dict) else type(fn).__name__
        if kind == "__lambda__":
            return "Lambda layer with a serialized Python lambda (__lambda__ bytecode)"
        return "Lambda layer wrapping a Python function"
    module = layer.get("module")
    if isinstance(module, str) and not _keras_own(module):
        return f"custom class {cls} from module {module}"
    reg = layer.get("registered_name")
    if isinstance(reg, str) and reg and reg != cls and not _keras_own(reg):
        return f"custom class registered as {reg}"
    # Without a module (legacy .h5) or with module None (an unregistered class in .keras),
    # only the class name tells: a class neither Keras 3 nor tf_keras exports is custom.
    # Keras 3 op classes (GetItem, ...) always carry their keras.src.ops module.
    if not isinstance(module, str) and cls not in builtin_classes():
        return f"custom class {cls}"
    return None


def _keras_own(name: str) -> bool:
    """True for a module or registered name of Keras itself (``keras.layers``,
    ``keras.src.ops.numpy``), not of a package whose name merely starts with "keras"
    (``keras_hub.src.models...``, ``keras_hub>BertBackbone``)."""
    return name == "keras" or name.startswith(("keras.", "keras>"))


def _refs(spec: Any) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: one ``[name, node, tensor]`` or a list of them."""
    if not isinstance(spec, list) or not spec:
        return []
    if isinstance(spec[0], str):
        spec = [spec]
    out = []
    for s in spec:
        if isinstance(s, list) and len(s) >= 3 and isinstance(s[0], str):
            out.append((s[0], _int(s[1]), _int(s[2])))
    return out


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _obj(v: Any) -> dict[str, Any]:
    """``v`` when it is a JSON object, else an empty one (a config of the wrong type)."""
    return v if isinstance(v, dict) else {}


def _int(v: Any) -> int:
    return v if isinstance(v, int) else 0


def _node_history(node: Any) -> list[tuple[str, int, int, Any]]:
    """Input tensors of one inbound node, in order, as (layer, node, tensor, tensor config)."""
    out: list[tuple[str, int, int, Any]] = []
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        _collect(node.get("args"), out, 0)
        _collect(node.get("kwargs"), out, 0)
    elif isinstance(node, list):  # tf.keras 2: [[name, node, tensor, kwargs], ...]
        for item in node:
            if (isinstance(item, list) and len(item) >= 3 and isinstance(item[0], str)):
                out.append((item[0], _int(item[1]), _int(item[2]), None))
    return out


def _call_args(node: Any) -> int | None:
    """How many positional arguments a Keras 3 call passed (tensors and constants)."""
    args = node.get("args") if isinstance(node, dict) else None
    return len(args) if isinstance(args, list) else None


def _arg_shapes(node: Any) -> list[tuple[str, tuple[int | None, ...]] | None] | None:
    """``(kind, shape)`` of each positional argument of a Keras 3 call: a ``tensor``'s
    shape from its config, a ``constant``'s (``__numpy__``, a Python number) from its
    value; None where unknown."""
    args = node.get("args") if isinstance(node, dict) else None
    if not isinstance(args, list) or len(args) > 8:
        return None
    return [_arg_shape(a) for a in args]


def _arg_shape(arg: Any) -> tuple[str, tuple[int | None, ...]] | None:
    if isinstance(arg, bool):
        return None
    if isinstance(arg, (int, float)):
        return ("constant", ())
    if not isinstance(arg, dict):
        return None
    cfg = _obj(arg.get("config"))
    if arg.get("class_name") == "__keras_tensor__":
        shape = cfg.get("shape")
        if isinstance(shape, list) and len(shape) <= 8:
            return ("tensor", tuple(d if isinstance(d, int) and not isinstance(d, bool)
                                    else None for d in shape))
        return None
    if arg.get("class_name") == "__numpy__":  # nested lists: the first element's chain
        value = cfg.get("value")
        dims: list[int] = []
        while isinstance(value, list) and len(dims) < 8:
            dims.append(len(value))
            value = value[0] if value else None
        return ("constant", tuple(dims)) if not isinstance(value, list) else None
    return None


def _collect(obj: Any, out: list[tuple[str, int, int, Any]], depth: int) -> None:
    if depth > 16:
        return
    if isinstance(obj, dict):
        if obj.get("class_name") == "__keras_tensor__":
            cfg = _obj(obj.get("config"))
            hist = cfg.get("keras_history")
            if isinstance(hist, list) and len(hist) >= 3 and isinstance(hist[0], str):
                out.append((hist[0], _int(hist[1]), _int(hist[2]), cfg))
            return
        for v in obj.values():
            _collect(v, out, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            _collect(v, out, depth + 1)
