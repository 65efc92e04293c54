"""Command line: ``qlint [check] [PATH ...]``, ``qlint rules``, ``qlint targets``,
``qlint explain``.

Every user error is caught here, once, and printed as one line with exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from qlint import __version__
from qlint.errors import QlintError, UsageError
from qlint.escape import error_line, visible

if TYPE_CHECKING:
    import argparse

SEVERITIES = ("error", "warning", "info")  # qlint.finding.Severity, without importing it



def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


# ``qlint NAME ...`` runs a subcommand; any other first argument is a path to lint, so
# ``qlint models/`` keeps working.  ``qlint check PATH`` always lints, even a path named
# like a subcommand (``qlint check rules``).
SUBCOMMANDS = ("check", "rules", "targets", "explain")


def _lint_parser(prog: str = "qlint") -> argparse.ArgumentParser:
    import argparse

    from qlint.reporters import FORMATS

    p = argparse.ArgumentParser(
        prog=prog, allow_abbrev=False,
        description="Lint TensorFlow / TFLite models for integer-quantization problems.",
        epilog="Other commands: 'qlint check PATH' lints (the same as 'qlint PATH', and the "
        "way to lint a path named like a command), 'qlint rules' lists the rules, "
        "'qlint targets' the targets, 'qlint explain ID' a rule's knowledge record. "
        "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="model files or directories to lint (default: the current directory)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the report to FILE (model-explorer: a directory that gets one "
                   "overlay per model; a single model may go to a .json file)")
    p.add_argument("--target", default=None,
                   help="what the model must run on (default: tflite-int8; see 'qlint targets')")
    p.add_argument("--select", type=_csv, default=None, metavar="RULES",
                   help="only these rules: ids, id prefixes or names, comma-separated")
    p.add_argument("--extend-select", type=_csv, default=[], metavar="RULES",
                   help="add these rules to the selection")
    p.add_argument("--ignore", type=_csv, default=None, metavar="RULES",
                   help="skip these rules: ids, id prefixes or names, comma-separated")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                   help="lowest severity that makes the exit code 1 (default: error)")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when there are findings (2 still means a usage or "
                   "input error)")
    p.add_argument("--config", metavar="FILE",
                   help="use this qlint.toml / pyproject.toml instead of searching for one")
    p.add_argument("--isolated", action="store_true", help="ignore configuration files")
    p.add_argument("--exclude", type=_csv, default=None, metavar="GLOBS",
                   help="skip models found in directories whose path or any path component "
                   "matches one of these globs, comma-separated (paths named on the command "
                   "line are always linted); replaces the configuration's exclude")
    p.add_argument("--extend-exclude", type=_csv, default=[], metavar="GLOBS",
                   help="more globs to exclude, added to --exclude and to the configuration's "
                   "exclude")
    p.add_argument("--files-from", metavar="FILE",
                   help="also lint the paths listed in FILE, one a line ('-': standard input)")
    p.add_argument("--shard", type=parse_shard, default=None, metavar="K/N",
                   help="lint only the K-th of N parts of the sorted model list (every N-th "
                   "model), so N CI jobs split the work")
    p.add_argument("--baseline", metavar="FILE",
                   help="report only findings not recorded in this baseline file")
    p.add_argument("--write-baseline", metavar="FILE",
                   help="record the current findings in FILE and exit 0")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print the findings and errors only: no summary line, no notes")
    p.add_argument("--statistics", action="store_true",
                   help="text output: one line per rule with its number of findings, instead "
                   "of the findings")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour text output (auto: on a terminal, unless NO_COLOR is set or "
                   "TERM=dumb; FORCE_COLOR forces it)")
    p.add_argument("--explain", action="store_true",
                   help="text output: show each finding's knowledge record under it (root "
                   "cause, fix steps, dead ends, doc link)")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="lint models in N processes (default: every core; 1 disables)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr (it is shown only on a terminal)")
    p.add_argument("--version", action="version", version=f"qlint {__version__}")
    return p


def parse_shard(text: str) -> tuple[int, int]:
    from qlint.batch import parse_shard as parse

    return parse(text)


def check_output_path(path: str, option: str = "--output") -> None:
    """A report file path must name a file in an existing directory: one line otherwise."""
    shown = visible(path)
    if path.endswith(("/", os.sep)) or (os.path.isdir(path) and not os.path.islink(path)):
        raise UsageError(f"{option} {shown}: is a directory; name a file")
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise UsageError(f"{option} {shown}: directory {visible(parent)} does not exist")


def _progress_bar(stream: TextIO) -> Callable[[int, int, str], None] | None:
    """A one-line progress bar for multi-model runs, only when ``stream`` is a terminal
    that understands cursor control (not ``TERM=dumb``)."""
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()) or os.environ.get("TERM") == "dumb":
        return None

    def show(done: int, total: int, path: str) -> None:
        if total < 2:
            return
        if done >= total:
            stream.write("\r\033[K")
        else:
            width = 24
            filled = width * done // total
            shown = visible(path)
            name = shown if len(shown) <= 50 else "..." + shown[-47:]
            stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{total} {name}")
        stream.flush()

    return show


def cmd_lint(argv: Sequence[str], prog: str = "qlint") -> int:
    args = _lint_parser(prog).parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    from qlint.reporters import REPORTERS, RenderOptions

    reporter = REPORTERS[args.format]
    if args.statistics and "statistics" not in reporter.options:
        raise UsageError("--statistics prints text: use it without --format "
                         f"{args.format}")
    if args.output and reporter.writes is None:
        check_output_path(args.output)
    if args.write_baseline:
        check_output_path(args.write_baseline, "--write-baseline")
    from qlint.api import lint
    from qlint.config import resolve_config
    from qlint.targets import get_target

    paths = list(args.paths)
    if args.files_from:
        from qlint.batch import read_files_from

        paths += read_files_from(args.files_from)
    elif not paths:
        paths = ["."]
    config = resolve_config(paths or ["."], explicit=args.config, isolated=args.isolated)
    target = get_target(args.target or config.target)  # an unknown target: one line, exit 2
    if not paths:  # an empty --files-from list: nothing to lint
        from qlint.report import Report

        report = Report(models=[], target=target.name)
    else:
        report = lint(paths, target=args.target, select=args.select, ignore=args.ignore,
                      extend_select=args.extend_select, fail_on=args.fail_on, config=config,
                      baseline=None if args.write_baseline else args.baseline,
                      progress=None if args.no_progress else _progress_bar(sys.stderr),
                      jobs=args.jobs,
                      exclude=[*(config.exclude if args.exclude is None else args.exclude),
                               *config.extend_exclude, *args.extend_exclude],
                      shard=args.shard)
    for line in report.notes:
        print(f"qlint: note: {visible(line)}", file=sys.stderr)
    for line in report.errors:
        print(error_line(line), file=sys.stderr)
    for model in report.unreadable:
        print(error_line(f"{model.path}: {model.error}"), file=sys.stderr)
    code = report.exit_code()
    # What must never be overwritten: every linted model and every path named.
    inputs = [(m.path, m.format) for m in report.models] + [(p, None) for p in paths]
    if args.write_baseline:
        if report.errors or report.unreadable:
            raise UsageError(f"not writing the baseline {visible(args.write_baseline)}: fix "
                             "the paths that could not be linted first")
        from qlint.baseline import write_baseline

        n = write_baseline(report.findings, args.write_baseline, config.path, inputs)
        if not args.quiet:
            print(f"Wrote {n} finding{'s' if n != 1 else ''} to the baseline "
                  f"{visible(args.write_baseline)}.")
        return 0
    if reporter.writes is not None:  # the reporter writes its own file(s)
        if args.output and args.output.endswith(".json"):
            check_output_path(args.output)
        written = reporter.write(report, args.output, inputs)
        if not args.quiet:
            for path in written:
                print(f"wrote {visible(path)}", file=sys.stderr)
        return _final(code, args.exit_zero)
    colour = {"always": True, "never": False}.get(args.color)
    options = RenderOptions(colour=colour if args.output is None else False,
                            explain=args.explain, quiet=args.quiet, statistics=args.statistics)
    if args.output is None:
        reporter.render(report, sys.stdout, options)
    else:
        from qlint.safe_output import write_text

        def write(out: TextIO) -> None:
            reporter.render(report, out, options)

        write_text(args.output, write, inputs)
    return _final(code, args.exit_zero)


def _final(code: int, exit_zero: bool) -> int:
    """``--exit-zero`` turns "findings" (1) into success; usage and input errors stay 2."""
    return 0 if exit_zero and code == 1 else code


def cmd_rules(argv: Sequence[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="qlint rules", description="List the installed rules.",
                                allow_abbrev=False)
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    from qlint.registry import discover_rules

    rules = discover_rules()
    if args.format == "json":
        import json

        json.dump([{"id": r.id, "name": r.name, "severity": r.severity.value,
                    "record": r.record, "summary": r.summary, "module": r.__module__}
                   for r in rules], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    rows = [(r.id, r.name, r.severity.value, r.record, r.summary) for r in rules]
    widths = [max([len(h)] + [len(row[i]) for row in rows])
              for i, h in enumerate(("ID", "NAME", "SEVERITY", "RECORD"))]
    header = ("ID", "NAME", "SEVERITY", "RECORD", "SUMMARY")
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return 0


def cmd_targets(argv: Sequence[str]) -> int:
    import argparse

    argparse.ArgumentParser(prog="qlint targets", allow_abbrev=False,
                            description="List the targets and where their data comes from."
                            ).parse_args(argv)
    from qlint.targets import list_targets

    for t in list_targets():
        print(f"{t.name}: {t.description}")
        print(f"    data: {t.source}; {t.provenance}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one qlint command; the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # what argparse's version action prints, without building a parser
        sys.stdout.write(f"qlint {__version__}\n")
        sys.exit(0)
    try:
        if argv and argv[0] == "check":
            return cmd_lint(argv[1:], prog="qlint check")
        if argv and argv[0] == "rules":
            return cmd_rules(argv[1:])
        if argv and argv[0] == "targets":
            return cmd_targets(argv[1:])
        if argv and argv[0] == "explain":
            from qlint.explain import main as explain_main

            return explain_main(argv[1:])
        return cmd_lint(argv)
    except QlintError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except OSError as exc:  # standard output failed: a full disk, a closed terminal
        print(error_line(f"cannot write the output: {exc.strerror or exc}"), file=sys.stderr)
        return 2


def run() -> None:
    """The ``qlint`` command: `main`, then the output flushed and the process ended at
    once with `os._exit`, without the interpreter's teardown of the modules it imported
    (numpy, the flatbuffer bindings): there is nothing left to write, and the teardown
    costs about 40 ms, a sixth of the run of a small model."""
    # A SystemExit (--version, argparse) ends the process the usual way.
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError as exc:  # e.g. `qlint ... > /dev/full`
        if isinstance(exc, BrokenPipeError):  # the reader went away (`qlint ... | head`)
            code = code or 1
        else:
            with contextlib.suppress(OSError):
                sys.stderr.write(error_line(f"cannot write the output: "
                                            f"{exc.strerror or exc}") + "\n")
                sys.stderr.flush()
            code = 2
    os._exit(code)


if __name__ == "__main__":
    run()
