"""Rule keys named by the user (ids, id prefixes, names) must name an installed rule.

A mistyped key (``--select QL1O3``, ``ignore = ["nonsense"]`` in the config, an
unknown key in a severity table or a suppression) would otherwise switch rules off
without a word; it is an error naming the value, where it came from, and the
nearest valid keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from qlint.errors import ConfigError, UsageError
from qlint.registry import Rule, rule_matches

if TYPE_CHECKING:
    from qlint.config import Config


def nearest(key: str, rules: Sequence[type[Rule]], n: int = 3) -> list[str]:
    """The valid rule ids and names closest to ``key`` (difflib similarity)."""
    import difflib  # only when a key is wrong

    ids = [r.id for r in rules]
    names = [r.name for r in rules]
    close = difflib.get_close_matches(key.upper(), ids, n=n, cutoff=0.7)
    close += difflib.get_close_matches(key.lower(), names, n=n, cutoff=0.7)
    seen: dict[str, None] = dict.fromkeys(close)
    return list(seen)[:n]


def unknown_key_message(key: str, where: str, rules: Sequence[type[Rule]]) -> str:
    """``<where>: unknown rule 'X' (did you mean A, B?)`` with a listing hint otherwise."""
    close = nearest(key, rules)
    hint = (f"did you mean {', '.join(close)}?" if close
            else "'qlint rules' lists the rule ids and names")
    return f"{where}: unknown rule {key!r} ({hint})"


def check_keys(keys: Iterable[str], rules: Sequence[type[Rule]], where: str,
               error: type[UsageError] | type[ConfigError] = UsageError) -> None:
    """Raise ``error`` for the first key that names no rule of ``rules``."""
    for key in keys:
        if not key.strip() or not any(rule_matches(r.id, r.name, [key]) for r in rules):
            raise error(unknown_key_message(key, where, rules))


def check_config(cfg: Config, rules: Sequence[type[Rule]]) -> None:
    """Every rule key in a configuration file: select, ignore, extend-select, the
    severity table, per-path overrides and suppressions."""
    if cfg.path is None:
        return
    where = cfg.path

    def check(keys: Iterable[str], key: str) -> None:
        check_keys(keys, rules, f"{where}: {key}", ConfigError)

    check(cfg.select, "'select'")
    check(cfg.ignore, "'ignore'")
    check(cfg.extend_select, "'extend-select'")
    check(cfg.severity, "'severity'")
    for ov in cfg.overrides:
        scope = f"per-path-overrides '{ov.pattern}'"
        check(ov.select or [], f"{scope} select")
        check(ov.ignore, f"{scope} ignore")
        check(ov.extend_select, f"{scope} extend-select")
        check(ov.severity, f"{scope} severity")
    for i, s in enumerate(cfg.suppress):
        check([s.rule], f"suppress[{i}].rule")


def check_selection(cfg: Config, rules: Sequence[type[Rule]], *,
                    select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
                    extend_select: Iterable[str] = ()) -> None:
    """The configuration's keys, then the ``--select``/``--ignore``/``--extend-select`` ones."""
    check_config(cfg, rules)
    check_keys(select or (), rules, "--select")
    check_keys(ignore or (), rules, "--ignore")
    check_keys(extend_select, rules, "--extend-select")
