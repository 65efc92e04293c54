"""Generate `qlint.loaders.tflite_schema` from the TFLite schema shipped in the wheels.

Usage::

    python -m tools.gen_tflite_schema            # rewrite linter/qlint/loaders/tflite_schema.py
    python -m tools.gen_tflite_schema --check    # exit 1 when the file is out of date

The sources are the Python modules that ``flatc`` generated from the real schema files and
that the wheels ship: ``ai_edge_litert/schema_py_generated.py`` (LiteRT's ``schema.fbs``)
and ``tensorflow/lite/python/conversion_metadata_schema_py_generated.py``
(``conversion_metadata.fbs``).  They are parsed as text with `ast`, never imported.  From
them come every enum the loader names (tensor types, builtin operators, builtin options,
quantization details, optimization modes) and the field numbers and types of the tables the
loader and the fuzzer walk (from the builder functions ``<Table>Add<Field>``, whose slot
numbers are the schema's field ids, and the reader methods, which tell a string, a table,
a union and a vector apart).  The output records each source's package, version and
SHA-256, so a change of wheel shows up as a diff.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from tools.generated import write_or_check

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "linter" / "qlint" / "loaders" / "tflite_schema.py"

# (distribution, module file inside the package), per schema.
SCHEMA = ("ai-edge-litert", "ai_edge_litert", "schema_py_generated.py")
CONVERSION = ("tensorflow", "tensorflow", "lite/python/conversion_metadata_schema_py_generated.py")

ENUMS = ("TensorType", "BuiltinOperator", "BuiltinOptions", "BuiltinOptions2",
         "QuantizationDetails")
CONVERSION_ENUMS = ("ModelOptimizationMode",)
# The tables whose fields the loader reads or the fuzzer mutates.
TABLES = ("Model", "SubGraph", "Tensor", "Operator", "OperatorCode", "Buffer",
          "QuantizationParameters", "BlockwiseQuantization", "Metadata", "SignatureDef",
          "TensorMap")
CONVERSION_TABLES = ("ConversionMetadata", "Environment", "ConversionOptions")

# flatbuffers scalar flag names -> schema.fbs type names.
_SCALARS = {"Bool": "bool", "Int8": "byte", "Uint8": "ubyte", "Int16": "short",
            "Uint16": "ushort", "Int32": "int", "Uint32": "uint", "Int64": "long",
            "Uint64": "ulong", "Float32": "float", "Float64": "double"}


def source_file(dist: str, package: str, relative: str) -> tuple[Path, str]:
    """The generated module inside an installed package, and ``dist version``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{dist} is not installed (needed to generate the schema)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path, f"{dist} {importlib.metadata.version(dist)}"


def enums(tree: ast.Module, names: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """Value -> name of each enum class in ``names`` (classes of integer constants)."""
    out: dict[str, dict[int, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in names:
            values: dict[int, str] = {}
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                        and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, int)):
                    values.setdefault(stmt.value.value, stmt.targets[0].id)
            out[node.name] = values
    missing = set(names) - set(out)
    if missing:
        raise SystemExit(f"enums not found in the schema: {sorted(missing)}")
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _reader_kind(method: ast.FunctionDef | None) -> str:
    """What an offset field holds, from its reader method."""
    if method is None:
        return "offset"
    text = ast.unparse(method)
    obj = re.search(r"obj = (\w+)\(\)", text)
    if "self._tab.String(" in text:
        return "[string]" if "self._tab.Vector(" in text else "string"
    if "Table(bytearray(), 0)" in text:
        return "union"
    if obj:
        return f"[{obj.group(1)}]" if "self._tab.Vector(" in text else obj.group(1)
    flag = re.search(r"number_types\.(\w+)Flags, a \+", text)
    if flag:
        return f"[{_SCALARS[flag.group(1)]}]"
    return "offset"


def tables(tree: ast.Module, names: tuple[str, ...]) -> dict[str, list[tuple[int, str, str]]]:
    """Per table, its fields as (field number, snake_case name, schema type)."""
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    out: dict[str, list[tuple[int, str, str]]] = {}
    for table in names:
        if table not in classes or f"{table}Start" not in funcs:
            raise SystemExit(f"table {table} not found in the schema")
        methods = {m.name: m for m in classes[table].body if isinstance(m, ast.FunctionDef)}
        unions = _union_enums(classes.get(f"{table}T"))
        fields = []
        for fname, fn in funcs.items():
            if not fname.startswith(f"{table}Add") or fname == f"{table}Add":
                continue
            call = fn.body[0].value  # type: ignore[attr-defined]
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            kind = re.fullmatch(r"Prepend(\w+)Slot", call.func.attr)
            if kind is None:
                continue
            field = fname[len(table) + 3:]
            number = call.args[0].value  # type: ignore[attr-defined]
            if kind.group(1) == "UOffsetTRelative":
                ftype = _reader_kind(methods.get(field))
                if ftype == "union":
                    ftype = f"union {unions.get(field, '?')}"
            else:
                ftype = _SCALARS[kind.group(1)]
            fields.append((number, _snake(field), ftype))
        out[table] = sorted(fields)
    return out


def _union_enums(obj_class: ast.ClassDef | None) -> dict[str, str]:
    """Union field -> its enum, from the object API's ``<Enum>Creator(...)`` calls."""
    if obj_class is None:
        return {}
    text = ast.unparse(obj_class)
    return {field[0].upper() + field[1:]: enum
            for field, enum in re.findall(r"self\.(\w+) = (\w+)Creator\(", text)}


def _q(text: str) -> str:
    """A double-quoted Python string literal of ``text``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dict(name: str, annotation: str, items: dict[int, str]) -> list[str]:
    """A dict literal, its entries packed into lines of at most 96 characters."""
    lines, line = [f"{name}: {annotation} = {{"], "   "
    for k, v in sorted(items.items()):
        entry = f" {k}: {_q(v)},"
        if len(line) + len(entry) > 96 and line.strip():
            lines.append(line)
            line = "   "
        line += entry
    return [*lines, line, "}"] if line.strip() else [*lines, "}"]


def render() -> str:
    """The text of the schema module."""
    schema_path, schema_version = source_file(*SCHEMA)
    conv_path, conv_version = source_file(*CONVERSION)
    schema_text, conv_text = schema_path.read_text("utf-8"), conv_path.read_text("utf-8")
    tree, conv_tree = ast.parse(schema_text), ast.parse(conv_text)
    e = enums(tree, ENUMS)
    ce = enums(conv_tree, CONVERSION_ENUMS)
    all_tables = {**tables(tree, TABLES), **tables(conv_tree, CONVERSION_TABLES)}
    digest = hashlib.sha256(schema_text.encode()).hexdigest()
    conv_digest = hashlib.sha256(conv_text.encode()).hexdigest()
    out = [
        '"""TFLite schema data: enums, field numbers and field types.',
        "",
        "GENERATED by ``python -m tools.gen_tflite_schema``; do not edit.",
        "",
        f"Source: {schema_version}, {SCHEMA[1]}/{SCHEMA[2]}",
        f"(flatc output of LiteRT's schema.fbs), sha256 {digest[:16]}...;",
        f"{conv_version}, {CONVERSION[1]}/{CONVERSION[2]}",
        f"(flatc output of conversion_metadata.fbs), sha256 {conv_digest[:16]}....",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"SOURCE = {_q(schema_version)}",
        f"SOURCE_SHA256 = {_q(digest)}",
        f"CONVERSION_SOURCE = {_q(conv_version)}",
        f"CONVERSION_SOURCE_SHA256 = {_q(conv_digest)}",
        "",
        "# Tensor element types, named as numpy names them (TensorType, lower case).",
    ]
    out += _dict("TENSOR_TYPES", "dict[int, str]",
                 {k: v.lower() for k, v in e["TensorType"].items()})
    out += ["", "# Builtin operator codes (BuiltinOperator)."]
    out += _dict("BUILTIN_OPERATORS", "dict[int, str]", e["BuiltinOperator"])
    out += ["", "# Operator.builtin_options union: type id -> options table (BuiltinOptions)."]
    out += _dict("BUILTIN_OPTIONS", "dict[int, str]", e["BuiltinOptions"])
    out += ["", "# Operator.builtin_options_2 union: type id -> options table."]
    out += _dict("BUILTIN_OPTIONS_2", "dict[int, str]", e["BuiltinOptions2"])
    out += ["", "# QuantizationParameters.details union: type id -> details table."]
    out += _dict("QUANTIZATION_DETAILS", "dict[int, str]", e["QuantizationDetails"])
    out += ["", "# ConversionOptions.model_optimization_modes values (conversion metadata)."]
    out += _dict("MODEL_OPTIMIZATION_MODES", "dict[int, str]", ce["ModelOptimizationMode"])
    out += ["", "# Per table: field number (vtable slot 4 + 2 * number) -> (name, schema type).",
            "# A type in brackets is a vector; a capitalised type a table; ``union E`` a union",
            "# of enum E (its type id is the field before it).",
            "TABLES: dict[str, dict[int, tuple[str, str]]] = {"]
    for table, fields in all_tables.items():
        out.append(f"    {_q(table)}: {{")
        out += [f"        {n}: ({_q(name)}, {_q(ftype)})," for n, name, ftype in fields]
        out.append("    },")
    out += ["}", "", "", "# Field numbers as constants: <TABLE>_<FIELD>."]
    for table, fields in all_tables.items():
        prefix = _snake(table).upper()
        out += [f"{prefix}_{name.upper()} = {n}" for n, name, _ in fields]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.gen_tflite_schema", description=__doc__
                                .splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    args = p.parse_args(argv)
    return write_or_check(OUTPUT, render(), "python -m tools.gen_tflite_schema", args.check)


if __name__ == "__main__":
    sys.exit(main())
