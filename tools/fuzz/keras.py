"""Fuzz `.keras` archives: hand-written zip archives, hostile JSON configs."""

from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from tools.fuzz.common import (
    REPO,
    Field,
    FormatSpec,
    _flip,
    _splice,
    _structural,
    _truncate,
)
from tools.fuzz.savedmodel import SOURCE_SEEDS

# -- zip archives -----------------------------------------------------------------------

@dataclass
class ZipMember:
    """One member of a hand-written zip archive; sizes and CRC may lie."""

    name: bytes
    data: bytes = b""
    method: int = 8  # 0 stored, 8 deflated
    compressed: bytes | None = None  # already compressed payload (``data`` is then unused)
    file_size: int | None = None  # the uncompressed size the headers claim
    crc: int | None = None
    flags: int = 0


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def write_zip(members: Sequence[ZipMember], comment: bytes = b"") -> bytes:
    """A zip archive of ``members`` (local headers, central directory, end record).

    Unlike `zipfile`, names, sizes, CRCs and duplicates are written as given, so hostile
    archives can be made; the output is deterministic (fixed 1980-01-01 timestamps).
    """
    out = bytearray()
    central = bytearray()
    for m in members:
        payload = m.compressed if m.compressed is not None else (
            _deflate(m.data) if m.method == 8 else m.data)
        crc = m.crc if m.crc is not None else zlib.crc32(m.data)
        size = m.file_size if m.file_size is not None else len(m.data)
        offset = len(out)
        head = struct.pack("<HHHHHIII", 20, m.flags, m.method, 0, 0x21, crc,
                           min(len(payload), 0xFFFFFFFF), size & 0xFFFFFFFF)
        out += b"PK\x03\x04" + head + struct.pack("<HH", len(m.name), 0) + m.name + payload
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + head
                    + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
    n = len(members)
    end = struct.pack("<HHHHIIH", 0, 0, n & 0xFFFF, n & 0xFFFF, len(central), len(out),
                      len(comment))
    return bytes(out + central + b"PK\x05\x06" + end + comment)


def zip_structure(data: bytes) -> list[Field]:
    """The numeric header fields of a zip archive: sizes, offsets, counts, methods, CRCs."""
    out: list[Field] = []
    layout = (("flags", 6, 2, "scalar"), ("method", 8, 2, "scalar"), ("crc", 14, 4, "scalar"),
              ("csize", 18, 4, "vlen"), ("usize", 22, 4, "vlen"), ("name_len", 26, 2, "vlen"),
              ("extra_len", 28, 2, "vlen"))
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0 and len(out) < 5000:
        for name, off, width, kind in layout:
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"local@{pos}.{name}"))
        out.append(Field(pos + 30, 1, "string", f"local@{pos}.name"))
        pos += 4
    pos = 0
    central = (*layout, ("comment_len", 32, 2, "vlen"), ("local_offset", 42, 4, "uoffset"))
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0 and len(out) < 10000:
        for name, off, width, kind in central:
            off += 2 if name not in ("local_offset", "comment_len") else 0
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"central@{pos}.{name}"))
        out.append(Field(pos + 46, 1, "string", f"central@{pos}.name"))
        pos += 4
    pos = data.rfind(b"PK\x05\x06")
    if pos >= 0:
        for name, off, width, kind in (("disk_entries", 8, 2, "index"),
                                       ("entries", 10, 2, "index"), ("cd_size", 12, 4, "vlen"),
                                       ("cd_offset", 16, 4, "uoffset"),
                                       ("comment_len", 20, 2, "vlen")):
            if pos + off + width <= len(data):
                out.append(Field(pos + off, width, kind, f"end.{name}"))
    return out


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def config_and_others(data: bytes) -> tuple[Any, list[ZipMember]]:
    """A seed archive's parsed ``config.json`` (``{}`` if it is not JSON) and its other
    members, for mutators that rewrite the config."""
    members = _zip_members(data)
    try:
        config = json.loads(members.get("config.json", b"{}"))
    except ValueError:
        config = {}
    return config, [ZipMember(n.encode(), d) for n, d in members.items() if n != "config.json"]


# -- hostile JSON (Keras configs) -------------------------------------------------------

def _deep_json(levels: int, open_: str = "[", close: str = "]") -> str:
    return open_ * levels + close * levels


_HOSTILE_VALUES: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("null", lambda: None), ("int", lambda: 7), ("negative", lambda: -1),
    ("float", lambda: 1e308), ("bool", lambda: True), ("string", lambda: "x"),
    ("empty list", lambda: []), ("empty dict", lambda: {}),
    ("list of dicts", lambda: [{}, {"class_name": None}]),
    ("list of lists", lambda: [[[]]]), ("long string", lambda: "y" * 100_000),
    ("big list", lambda: [0] * 100_000), ("huge int", lambda: 10**300),
    ("nested list", lambda: json.loads(_deep_json(200))),
    ("dict of lists", lambda: {"config": [], "layers": {}, "class_name": []}),
)


def _json_paths(obj: Any, path: tuple[Any, ...] = (), out: list[tuple[Any, ...]] | None = None,
                depth: int = 0) -> list[tuple[Any, ...]]:
    out = [] if out is None else out
    if len(out) > 20000 or depth > 40:
        return out
    out.append(path)
    if isinstance(obj, dict):
        for k, v in obj.items():
            _json_paths(v, (*path, k), out, depth + 1)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _json_paths(v, (*path, i), out, depth + 1)
    return out


def _json_set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return obj


def _layers(config: Any) -> list[Any]:
    cfg = config.get("config") if isinstance(config, dict) else None
    layers = cfg.get("layers") if isinstance(cfg, dict) else None
    return layers if isinstance(layers, list) else []


def _keras_json(rng: random.Random, config: Any) -> tuple[str, str]:
    """A hostile version of Keras model config ``config`` as JSON text, and what it is."""
    kind = rng.choice(("replace", "replace", "replace", "delete_key", "bad_json", "deep",
                       "big_number", "cyclic_inbound", "nested_models", "lambda_custom",
                       "many_layers", "shared_calls", "self_inbound", "odd_history",
                       "odd_io_refs", "not_an_object"))
    config = json.loads(json.dumps(config))
    if kind == "replace":
        paths = _json_paths(config)
        path = rng.choice(paths)
        vname, make = rng.choice(_HOSTILE_VALUES)
        config = _json_set(config, path, make())
        return json.dumps(config), f"{'/'.join(map(str, path)) or 'root'} = {vname}"
    if kind == "delete_key":
        paths = [p for p in _json_paths(config) if p and isinstance(p[-1], str)]
        if paths:
            path = rng.choice(paths)
            parent = config
            for p in path[:-1]:
                parent = parent[p]
            del parent[path[-1]]
            return json.dumps(config), f"deleted {'/'.join(map(str, path))}"
        return json.dumps(config), "nothing to delete"
    if kind == "bad_json":
        text = json.dumps(config)
        choice = rng.randrange(6)
        bad = (text[: len(text) // 2], text + "}", "\ufeff" + text, text.replace('"', "'", 3),
               '{"class_name": NaN, "config": Infinity}', "")[choice]
        return bad, f"invalid JSON variant {choice}"
    if kind == "deep":
        levels = rng.choice((500, 5000, 200_000))
        opener = rng.choice((("[", "]"), ('{"a":', "}")))
        inner = _deep_json(levels, *opener)
        if rng.random() < 0.5:
            return inner, f"root nested {levels} levels"
        text = json.dumps(config)
        at = text.find("[", 10)
        at = at if at > 0 else 1
        return text[:at] + inner + "," + text[at + 1:], f"{levels}-level nesting inside"
    if kind == "big_number":
        digits = rng.choice((5000, 100_000))
        return ('{"class_name": "Sequential", "config": {"layers": [], "n": '
                + "9" * digits + "}}"), f"integer of {digits} digits"
    layers = _layers(config)
    if kind == "cyclic_inbound":
        named = [layer for layer in layers if isinstance(layer, dict) and layer.get("name")]
        if len(named) >= 2:
            a, b = rng.sample(named, 2)
            a["inbound_nodes"] = [[[b["name"], 0, 0, {}]]]
            b["inbound_nodes"] = [[[a["name"], 0, 0, {}]]]
        return json.dumps(config), "two layers feeding each other"
    if kind == "self_inbound":
        for layer in layers:
            if isinstance(layer, dict) and layer.get("name"):
                layer["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__",
                                                     "config": {"keras_history": [
                                                         layer["name"], 0, 0]}}]}]
        return json.dumps(config), "every layer fed by its own output"
    if kind == "nested_models":
        levels = rng.choice((10, 63, 65, 300, 3000))
        text = json.dumps(config)
        for i in range(levels):
            cls = rng.choice(("Functional", "Sequential", "Model"))
            inner = f"{text}, {text}" if i < 8 and i % 2 == 0 else text
            text = (f'{{"class_name": "{cls}", "name": "m{i}", "config": {{"name": "m{i}", '
                    f'"layers": [{inner}], "input_layers": [["m{i - 1}", 0, 0]], '
                    f'"output_layers": [["m{i - 1}", 0, 0]]}}}}')
        return text, f"model nested {levels} levels (some twice)"
    if kind == "lambda_custom":
        for layer in rng.sample(layers, min(len(layers), 3)):
            if isinstance(layer, dict):
                layer["class_name"] = rng.choice(("Lambda", "Custom>Evil", "TFOpLambda"))
                layer["module"] = rng.choice(("os", None, 7, "__main__", ["x"]))
                layer["registered_name"] = rng.choice(("Evil>X", 3, None))
                cfg = layer.get("config")
                if isinstance(cfg, dict):
                    cfg["function"] = rng.choice((
                        {"class_name": "__lambda__", "config": {"code": "AAAA" * 1000}},
                        "os.system", 5, [1, 2], None))
        return json.dumps(config), "Lambda and custom classes with odd fields"
    if kind == "many_layers":
        n = rng.choice((2000, 20_000))
        cls = next((layer.get("class_name") for layer in layers if isinstance(layer, dict)
                    and layer.get("class_name") != "InputLayer"), "ReLU")
        new = []
        prev = None
        for i in range(n):
            layer = {"class_name": cls, "name": f"l{i}", "config": {"name": f"l{i}"}}
            if prev is not None:
                layer["inbound_nodes"] = [[[prev, 0, 0, {}]]]
            new.append(layer)
            prev = f"l{i}"
        if isinstance(config.get("config"), dict):
            config["config"]["layers"] = layers + new
            config["config"]["output_layers"] = [[prev, 0, 0]]
        return json.dumps(config), f"{n} chained layers"
    if kind == "shared_calls":
        for layer in layers:
            if isinstance(layer, dict) and isinstance(layer.get("inbound_nodes"), list) \
                    and layer["inbound_nodes"]:
                layer["inbound_nodes"] = layer["inbound_nodes"] * rng.choice((2, 1000))
        return json.dumps(config), "every layer called many times"
    if kind == "odd_history":
        for layer in layers:
            if isinstance(layer, dict):
                layer["inbound_nodes"] = rng.choice((
                    [[["missing", 0, 0, {}]]], [[["x", -1, 10**20, None]]], [{"args": 5}],
                    [{"args": [{"class_name": "__keras_tensor__", "config": {
                        "keras_history": ["missing", "a", None], "shape": ["x", None, -1],
                        "dtype": 5}}]}], [[]], [None], "abc", {"a": 1}, [[[None, 0, 0]]]))
        return json.dumps(config), "inbound nodes naming missing or malformed tensors"
    if kind == "odd_io_refs":
        cfg = config.get("config") if isinstance(config, dict) else None
        if isinstance(cfg, dict):
            for key in ("input_layers", "output_layers"):
                cfg[key] = rng.choice(([["missing", 0, 0]], [["x", 10**20, -5]], ["a"],
                                       [[None, None, None]], "abc", 5, [[]], [["a", 0]]))
        return json.dumps(config), "input/output layer references that do not resolve"
    # not_an_object
    return json.dumps(rng.choice(([], 5, "x", None, {"class_name": 5}, {"class_name":
                                  "Functional", "config": {"layers": "abc"}}))), \
        "config that is not a model description"


# -- Keras (.keras) ---------------------------------------------------------------------

def keras_seeds() -> list[tuple[str, bytes]]:
    """The committed ``.keras`` fixtures and a synthetic nested, shared-layer model."""
    seeds = []
    for name in SOURCE_SEEDS:
        path = REPO / "fixtures" / "source" / name / "model.keras"
        if path.is_file():
            seeds.append((str(path.relative_to(REPO)), path.read_bytes()))
    seeds.append(("synth/nested-shared", write_zip([
        ZipMember(b"metadata.json", json.dumps({"keras_version": "3.15.1"}).encode()),
        ZipMember(b"config.json", json.dumps(_synth_keras_config()).encode()),
        ZipMember(b"model.weights.h5", bytes(64), method=0),
    ])))
    return seeds


def _synth_keras_config() -> dict[str, Any]:
    """A Functional model (tf.keras 2 form) calling a nested Sequential twice."""
    def layer(cls: str, name: str, inbound: list[Any], **cfg: Any) -> dict[str, Any]:
        return {"class_name": cls, "name": name, "module": "keras.layers",
                "config": {"name": name, **cfg}, "inbound_nodes": inbound}

    inner = {"class_name": "Sequential", "name": "inner", "module": "keras",
             "config": {"name": "inner", "layers": [
                 {"class_name": "InputLayer", "config": {"batch_shape": [None, 8],
                                                         "name": "inner_in"}},
                 {"class_name": "Dense", "config": {"name": "d", "units": 8,
                                                    "activation": "relu"}}]},
             "inbound_nodes": [[["x", 0, 0, {}]], [["relu", 0, 0, {}]]]}
    return {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "name": "x",
         "config": {"batch_input_shape": [None, 8], "dtype": "float32", "name": "x"},
         "inbound_nodes": []},
        inner,
        layer("ReLU", "relu", [[["inner", 0, 0, {}]]]),
        layer("Concatenate", "cat", [[["inner", 0, 0, {}], ["inner", 1, 0, {}]]], axis=-1),
    ], "input_layers": [["x", 0, 0]], "output_layers": [["cat", 0, 0]]}}


@cache
def _bomb_block() -> tuple[bytes, bytes]:
    """A 1 MiB run of spaces deflated to a position-independent block, and a stream end."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b" " * (1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    return block, c.flush(zlib.Z_FINISH)


def zip_bomb(mib: int, prefix: bytes = b"[", claim: int | None = None) -> bytes:
    """Deflate data for ``prefix`` + ``mib`` MiB of spaces (a JSON bomb), made in O(output)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block, _ = _bomb_block()
    return head + block * mib + c.flush(zlib.Z_FINISH)


def _keras_archive_mutator(rng: random.Random, data: bytes, fields: list[Field],
                           others: Sequence[bytes]) -> tuple[bytes, str]:
    """The seed re-zipped with hostile members: bombs, traversal names, duplicates, ..."""
    members = _zip_members(data)
    config = members.get("config.json", b"{}")
    meta = members.get("metadata.json", b"{}")
    base = [ZipMember(b"metadata.json", meta), ZipMember(b"config.json", config)]
    kind = rng.choice(("bomb", "bomb_lying_size", "huge_claim", "huge_member", "traversal",
                       "duplicate", "missing_config", "missing_metadata", "config_dir",
                       "stored_bad_crc", "unsupported_method", "encrypted", "many_members",
                       "bad_metadata", "invalid_utf8", "weights_bomb"))
    if kind in ("bomb", "bomb_lying_size", "weights_bomb"):
        mib = rng.choice((70, 1024, 4000))
        payload = zip_bomb(mib)
        real = 1 + mib * (1 << 20)
        claim = real if kind != "bomb_lying_size" else rng.choice((1000, 60 << 20, 0))
        name = b"model.weights.h5" if kind == "weights_bomb" else b"config.json"
        bomb = ZipMember(name, compressed=payload, file_size=min(claim, 0xFFFFFFFF), crc=0)
        members_out = [base[0], bomb] if name == b"config.json" else [*base, bomb]
        return write_zip(members_out), f"{kind}: {name.decode()} inflates to {mib} MiB, " \
                                       f"claims {claim} bytes"
    if kind == "huge_claim":
        return write_zip([base[0], ZipMember(b"config.json", config,
                                             file_size=rng.choice((0xFFFFFFFF, 1 << 30)))]), \
            f"{kind}: config.json claims GBs"
    if kind == "huge_member":
        big = ZipMember(b"model.weights.h5", bytes(rng.choice((1, 8)) << 20), method=0)
        return write_zip([*base, big]), f"{kind}: a large stored weights member"
    if kind == "traversal":
        names = [b"../../x", b"/etc/x", b"..\\..\\x", b"a/../../../x", b"C:\\x", b"\x00x",
                 b"config.json/../config.json", b"./config.json", b"//x"]
        picked = rng.sample(names, 3)
        return write_zip([*base, *(ZipMember(n, b"pwned") for n in picked)]), \
            f"{kind}: members {picked!r}"
    if kind == "duplicate":
        other = json.dumps({"class_name": "Sequential", "config": {"layers": "x"}}).encode()
        dup = [ZipMember(b"config.json", other), *base, ZipMember(b"config.json", other)]
        return write_zip(rng.sample(dup, len(dup))), f"{kind}: config.json three times"
    if kind == "missing_config":
        return write_zip([base[0]]), kind
    if kind == "missing_metadata":
        return write_zip([base[1]]), kind
    if kind == "config_dir":
        return write_zip([base[0], ZipMember(b"config.json/", b""),
                          ZipMember(b"config.json/x", config)]), kind
    if kind == "stored_bad_crc":
        return write_zip([base[0], ZipMember(b"config.json", config, method=0,
                                             crc=zlib.crc32(config) ^ 1)]), kind
    if kind == "unsupported_method":
        method = rng.choice((1, 6, 9, 12, 14, 95, 99, 0xFFFF))
        return write_zip([base[0], ZipMember(b"config.json", config, method=method,
                                             compressed=config)]), f"{kind}: method {method}"
    if kind == "encrypted":
        return write_zip([base[0], ZipMember(b"config.json", config, flags=1)]), kind
    if kind == "many_members":
        n = rng.choice((1000, 60_000))
        extra = [ZipMember(f"assets/{i}".encode(), b"", method=0) for i in range(n)]
        return write_zip([*base, *extra]), f"{kind}: {n} members"
    if kind == "bad_metadata":
        bad = rng.choice((b"[]", b"5", b"{", b"\xff", json.dumps({"keras_version": [1]}).encode(),
                          _deep_json(100_000).encode()))
        return write_zip([ZipMember(b"metadata.json", bad), base[1]]), f"{kind}: {bad[:20]!r}"
    # invalid_utf8
    return write_zip([base[0], ZipMember(b"config.json", config[:50] + b"\xff\xfe"
                                         + config[50:])]), kind


def _keras_config_mutator(rng: random.Random, data: bytes, fields: list[Field],
                          others: Sequence[bytes]) -> tuple[bytes, str]:
    """The seed with a hostile ``config.json`` (types, nesting, cycles, custom classes)."""
    config, out = config_and_others(data)
    text, desc = _keras_json(rng, config)
    out.insert(rng.randrange(len(out) + 1), ZipMember(b"config.json",
                                                      text.encode("utf-8", "surrogatepass")))
    return write_zip(out), desc


def keras_spec() -> FormatSpec:
    """``.keras`` zip archives: bytes, zip headers, hostile members and hostile configs."""
    return FormatSpec(".keras", keras_seeds, zip_structure, (
        ("flip", _flip, 2),
        ("truncate", _truncate, 2),
        ("splice", _splice, 1),
        ("zip-offset", _structural(("uoffset", "index")), 2),
        ("zip-length", _structural(("vlen",)), 2),
        ("zip-field", _structural(("scalar", "string")), 2),
        ("archive", _keras_archive_mutator, 5),
        ("config", _keras_config_mutator, 10),
    ))
