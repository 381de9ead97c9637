"""DMN unary tests: the cells of a decision table (`">= 0.2"`, `"[1..5]"`, `"gold, silver"`).

Each cell compiles to a `Test`: a predicate over one input value, plus the same condition as CEL
text (what `explain` shows, and the reference its semantics are tested against). The predicate
is plain Python built from the parsed cell, never from eval, and evaluating it costs a fraction
of a CEL call, which is what lets a table run over a million customers in seconds.

Grammar (DMN 1.3 simple unary tests, in the spelling managers write in YAML):
  -                      any value (also: the cell left out)
  null                   no value
  5   0.2   true         equal to a literal (YAML numbers and booleans are literals)
  < 5  <= 5  > 5  >= 5   comparisons (numbers, or ISO dates/timestamps for timestamp inputs)
  = 5   != 5             equal, not equal
  [1..5]  (0..10]  [1..5)  ranges: [ ] include the end, ( ) exclude it
  gold   "gold"          a string (quotes optional for identifier-like words)
  gold, silver   1, 2, 3 any of a list (of strings, or of numbers)
  not(gold, silver)      none of a list (or not(<test>) of any test above)
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

NUMERIC = frozenset({"int", "double"})
_RANGE = re.compile(r"^([\[(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])\[])$")
_COMPARISON = re.compile(r"^(<=|>=|!=|<|>|=)\s*(.+)$")
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
# predicate(value) for `value OP literal`; operator.X(literal, value) reverses the operands
_FLIPPED = {"<": operator.gt, "<=": operator.ge, ">": operator.lt, ">=": operator.le,
            "=": operator.eq, "!=": operator.ne}


class CellError(Exception):
    """A cell that cannot be read, or that does not fit its input's type."""


@dataclass(frozen=True)
class Test:
    """One compiled cell: `check(value)` says whether the value passes; `cel` says the same."""

    source: str
    check: Callable[[Any], bool]
    cel: str
    any: bool = False  # the cell is "-": it passes every value and needs not be evaluated
    fast: Callable[[Any], bool] | None = None  # `check` for a value known not to be null

    @property
    def unguarded(self) -> Callable[[Any], bool]:
        return self.fast or self.check


def compile_cell(cell: Any, name: str, kind: str) -> Test:
    """Compile one cell for input `name` of CEL type `kind`; raise CellError naming the cell."""
    if cell is None:  # `x:` or `x: ~` in YAML: ambiguous, so say what to write
        raise CellError("the cell is empty; write '-' for any value or 'null' for no value")
    if isinstance(cell, str) and cell.strip() == "-":
        return Test("-", lambda _: True, "true", any=True)
    if isinstance(cell, date) and kind == "timestamp":  # an unquoted YAML date
        cell = cell.isoformat()
    if isinstance(cell, bool | int | float):
        literal = _literal_of(cell, kind, cell)
        return _equal(json.dumps(cell), name, literal)
    if not isinstance(cell, str):
        raise CellError(f"cell {cell!r} must be a test such as '>= 5' or 'gold, silver'")
    text = cell.strip()
    if text.startswith("not(") and text.endswith(")"):
        inner = compile_cell(text[4:-1], name, kind)
        check = inner.check
        return Test(text, lambda v: not check(v), f"!({inner.cel})")
    return _positive(text, name, kind)


def _positive(text: str, name: str, kind: str) -> Test:
    if text == "null":
        return Test(text, lambda v: v is None, f"{name} == null")
    if (match := _RANGE.match(text)) is not None:
        return _range(text, name, kind, match)
    if (match := _COMPARISON.match(text)) is not None:
        op, raw = match.groups()
        if op not in ("=", "!=") and kind not in NUMERIC | {"timestamp", "string"}:
            raise CellError(f"'{text}' compares, but input '{name}' is {kind}")
        literal = _parse_literal(raw, kind, text)
        compare = partial(_FLIPPED[op], literal)
        return Test(text, _guarded(compare), f"{name} {'==' if op == '=' else op} "
                    f"{_cel_literal(literal)}", fast=compare)
    items = _split(text)
    if len(items) > 1:
        literals = [_parse_literal(item, kind, text) for item in items]
        members = frozenset(literals)
        return Test(text, members.__contains__,
                    f"{name} in [{', '.join(_cel_literal(v) for v in literals)}]")
    return _equal(text, name, _parse_literal(text, kind, text))


def _equal(text: str, name: str, literal: Any) -> Test:
    return Test(text, partial(operator.eq, literal), f"{name} == {_cel_literal(literal)}")


def _range(text: str, name: str, kind: str, match: re.Match[str]) -> Test:
    if kind not in NUMERIC | {"timestamp"}:
        raise CellError(f"'{text}' is a range, but input '{name}' is {kind}")
    opening, low_raw, high_raw, closing = match.groups()
    low, high = _parse_literal(low_raw, kind, text), _parse_literal(high_raw, kind, text)
    if low > high:
        raise CellError(f"range '{text}' is empty: {low_raw} is above {high_raw}")
    if low == high and (opening != "[" or closing != "]"):
        raise CellError(f"range '{text}' is empty: it excludes {low_raw}, its only value")
    if kind == "int" and (low + (opening != "[")) > (high - (closing != "]")):
        raise CellError(f"range '{text}' is empty: no whole number lies in it")
    low_op = ">=" if opening == "[" else ">"
    high_op = "<=" if closing == "]" else "<"
    within = _WITHIN[(opening == "[", closing == "]")](low, high)
    return Test(text, _guarded(within), f"{name} {low_op} {_cel_literal(low)} && {name} "
                f"{high_op} {_cel_literal(high)}", fast=within)


# One comparison chain per kind of range: a single call per cell on the hot path.
_WITHIN: dict[tuple[bool, bool], Callable[[Any, Any], Callable[[Any], bool]]] = {
    (True, True): lambda lo, hi: lambda v: lo <= v <= hi,
    (True, False): lambda lo, hi: lambda v: lo <= v < hi,
    (False, True): lambda lo, hi: lambda v: lo < v <= hi,
    (False, False): lambda lo, hi: lambda v: lo < v < hi,
}


def _guarded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A comparison with no value is false (DMN: null compares to nothing)."""
    return lambda v: v is not None and check(v)


def _split(text: str) -> list[str]:
    """Split `a, "b, c", 3` on the commas outside quotes."""
    items, current, quote = [], "", ""
    for char in text:
        if quote:
            current += char
            quote = "" if char == quote else quote
        elif char in "\"'":
            current, quote = current + char, char
        elif char == ",":
            items.append(current.strip())
            current = ""
        else:
            current += char
    if quote:
        raise CellError(f"'{text}' has an unclosed quote")
    items.append(current.strip())
    if any(not item for item in items):
        raise CellError(f"'{text}' has an empty item in its list")
    return items


def _parse_literal(raw: str, kind: str, cell: str) -> Any:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        if kind != "string":
            raise CellError(f"'{cell}': {raw} is a string, but the input is {kind}")
        return raw[1:-1]
    if kind == "string":
        if not _WORD.match(raw):
            raise CellError(f"'{cell}': put {raw} in quotes to compare it as text")
        return raw
    return _literal_of(raw, kind, cell)


def _literal_of(raw: Any, kind: str, cell: Any) -> Any:
    try:
        if kind == "int" and not isinstance(raw, bool):
            value = int(raw) if not isinstance(raw, float) or raw.is_integer() else None
            if value is not None:
                return value
        elif kind == "double" and not isinstance(raw, bool):
            number = float(raw)
            if math.isfinite(number):
                return number
        elif kind == "bool" and str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        elif kind == "timestamp":
            moment = datetime.fromisoformat(str(raw))
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        elif kind == "string" and isinstance(raw, str):
            return raw
    except (ValueError, OverflowError):
        pass
    raise CellError(f"cell {cell!r}: {raw!r} is not a {kind}")


def _cel_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f'timestamp("{value.isoformat().replace("+00:00", "Z")}")'
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return str(value)
