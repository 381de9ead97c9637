"""Decision tables: DMN hit policies over rows of unary-test cells or CEL conditions.

A table is loaded once (engine/rules/loading.py) into an immutable `TableSpec`. `decide` runs it
for one set of inputs and returns a `Decision`: the outputs, and the table, version, content hash
and matched row ids that history keeps. `explain` shows every cell of every row for one input;
`coverage` names the rows a table's own tests never reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from engine.kernel.errors import ExpressionError, RuleError
from engine.kernel.expressions import Expression
from engine.rules.unary import Test


class HitPolicy(StrEnum):
    """How a table combines the rows that match (the DMN hit policies), in the order a table
    author reads them."""

    UNIQUE = "unique"  # at most one row may match
    FIRST = "first"  # the first match in row order
    PRIORITY = "priority"  # the match whose outputs come first in their `values` lists
    ANY = "any"  # any number may match, if they agree
    COLLECT = "collect"  # every match in row order, or their aggregate
    RULE_ORDER = "rule_order"  # every match in row order

    @property
    def single(self) -> bool:
        """Whether a table of this policy decides one result (a mapping), not a list."""
        return self in _SINGLE


_SINGLE = frozenset({HitPolicy.UNIQUE, HitPolicy.FIRST, HitPolicy.PRIORITY, HitPolicy.ANY})


class Aggregate(StrEnum):
    """What a collect table makes of its matches' one number output."""

    SUM = "sum"
    COUNT = "count"  # counts the matches with a value; the output need not be a number
    MIN = "min"
    MAX = "max"

INPUT_TYPES = ("int", "double", "string", "bool", "timestamp", "duration", "list", "map")


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str = "string"  # string | int | double | bool
    values: tuple[Any, ...] = ()  # allowed values; their order is the priority order
    line: int = field(default=0, compare=False)  # of its `values` (else of the output)


@dataclass(frozen=True)
class RowSpec:
    id: str
    cells: tuple[tuple[str, Test], ...]  # (input, test), "-" cells left out
    condition: Expression | None  # a full CEL `if:`
    then: Mapping[str, Any]  # output -> literal value
    computed: Mapping[str, Expression]  # output -> CEL expression ("=..." in YAML)
    line: int = 0


@dataclass(frozen=True)
class TableTest:
    given: Mapping[str, Any]
    expect: Mapping[str, Any] | list[Any] | Any
    rows: tuple[str, ...] | None
    line: int = 0


@dataclass(frozen=True)
class TableSpec:
    name: str
    version: int
    title: str
    hit: HitPolicy
    aggregate: Aggregate | None
    inputs: Mapping[str, str]  # name -> CEL type
    outputs: Mapping[str, OutputSpec]
    rows: tuple[RowSpec, ...]
    tests: tuple[TableTest, ...]
    effective_from: date | None
    effective_until: date | None
    content_hash: str
    path: str
    readers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # input -> row ids
    approval: bool = False  # `approval: required`: a publish waits for a second manager
    plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", _Plan(self))

    def values_of(self, output: str) -> tuple[Any, ...]:
        """What `output` may decide: its declared `values`, else the literal values its rows
        give, in row order (none for an output the table does not have)."""
        spec = self.outputs.get(output)
        if spec is None:
            return ()
        if spec.values:
            return spec.values
        given = (row.then[output] for row in self.rows if output in row.then)
        return tuple(dict.fromkeys(given))


# The one plain Python type of each input type the fast path takes as it is; anything else
# (null, an int for a double, a subclass, timestamps that need a zone check) goes the slow way.
_PLAIN: dict[str, type] = {"int": int, "double": float, "string": str, "bool": bool,
                           "duration": timedelta}


class _Plan:
    """A table compiled for speed: inputs fetched by one itemgetter, rows as (index, predicate)
    pairs, and one shared, immutable Decision per row whose outputs are all literals."""

    def __init__(self, table: TableSpec) -> None:
        names = list(table.inputs)
        self.names = names
        getter = itemgetter(*names)
        self.fetch: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
            getter if len(names) > 1 else lambda inputs: (getter(inputs),))
        plain = [_PLAIN.get(table.inputs[n]) for n in names]
        self.types: tuple[type | None, ...] | None = (
            tuple(plain) if table.hit == HitPolicy.FIRST and None not in plain else None)
        index = {n: i for i, n in enumerate(names)}
        self.rows = [
            (row, tuple((index[n], t.unguarded) for n, t in row.cells),
             None if row.computed else Decision(table.name, table.version, table.content_hash,
                                                MappingProxyType(dict(row.then)), (row.id,)))
            for row in table.rows
        ]
        self.nothing = Decision(table.name, table.version, table.content_hash,
                                MappingProxyType({}), ())


@dataclass(frozen=True)
class Decision:
    """What a table decided: outputs (a mapping, or a list for collect/rule_order) and why."""

    table: str
    version: int
    content_hash: str
    outputs: Any
    matched: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        outputs = dict(self.outputs) if isinstance(self.outputs, Mapping) else \
            [dict(o) for o in self.outputs]
        return {"table": self.table, "version": self.version,
                "content_hash": self.content_hash, "outputs": outputs,
                "matched": list(self.matched)}


def decide(table: TableSpec, inputs: Mapping[str, Any]) -> Decision:
    """Evaluate `table` for `inputs`; raise RuleError naming what is wrong and where."""
    plan = table.plan
    try:
        raw = plan.fetch(inputs)
    except KeyError:
        check_inputs(table, inputs)  # names the missing input
        raise
    # The fast path: a first table, and every input of exactly its plain type (no null, no int
    # for a double, no subclass), checked in one C-level comparison.
    if plan.types is None or tuple(map(type, raw)) != plan.types:
        return _decide_slowly(table, inputs)
    for row, cells, shared in plan.rows:
        for i, check in cells:
            if not check(raw[i]):
                break
        else:
            if row.condition is not None or shared is None:
                return _decide_slowly(table, inputs)
            return shared
    return plan.nothing


def _decide_slowly(table: TableSpec, inputs: Mapping[str, Any]) -> Decision:
    """Every hit policy, null inputs, CEL conditions and computed outputs."""
    values = check_inputs(table, inputs)
    if table.hit == HitPolicy.FIRST:
        for row in table.rows:
            if _matches(table, row, values):
                return _decision(table, MappingProxyType(_outputs(table, row, values)),
                                 (row.id,))
        return table.plan.nothing
    matched = [row for row in table.rows if _matches(table, row, values)]
    outputs = _combine(table, matched, values)
    if table.hit == HitPolicy.PRIORITY and matched:  # the row whose outputs won decided
        matched = [next(r for r in matched if _outputs(table, r, values) == outputs)]
    return _decision(table, outputs, tuple(r.id for r in matched))


def in_force(table: TableSpec, day: date) -> bool:
    """Whether the table's effective dates (from inclusive, until exclusive) contain `day`."""
    return (table.effective_from is None or table.effective_from <= day) and \
        (table.effective_until is None or day < table.effective_until)


def check_inputs(table: TableSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The declared inputs, type-checked (ints accepted as doubles); unknown ones ignored."""
    values = {}
    for name, kind in table.inputs.items():
        if name not in inputs:
            rows = ", ".join(table.readers.get(name, ())) or "none"
            raise RuleError(f"{table.name} v{table.version}: input '{name}' is missing "
                            f"(read by rows: {rows})")
        values[name] = _typed(table, name, kind, inputs[name])
    return values


def _typed(table: TableSpec, name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "timestamp": isinstance(value, datetime) and value.tzinfo is not None,
        "duration": isinstance(value, timedelta),
        "list": isinstance(value, list | tuple),
        "map": isinstance(value, Mapping),
    }[kind]
    if not ok:
        rows = ", ".join(table.readers.get(name, ())) or "none"
        raise RuleError(f"{table.name} v{table.version}: input '{name}' must be {kind}, not "
                        f"{type(value).__name__} {value!r} (read by rows: {rows})")
    if kind != "double":
        return value
    try:
        return float(value)
    except OverflowError:
        raise RuleError(f"{table.name} v{table.version}: input '{name}' is {value!r}, too large "
                        "for a double") from None


def fits(value: Any, kind: str) -> bool:
    """Whether a value is of an output type (string, int, double, bool)."""
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, str)


def _matches(table: TableSpec, row: RowSpec, values: dict[str, Any]) -> bool:
    for name, test in row.cells:
        if not test.check(values[name]):
            return False
    if row.condition is None:
        return True
    try:
        result = row.condition.evaluate({k: values[k] for k in row.condition.members})
    except ExpressionError as exc:
        raise RuleError(f"{table.name} v{table.version} row '{row.id}': {exc}") from None
    return result is True


def _outputs(table: TableSpec, row: RowSpec, values: dict[str, Any]) -> dict[str, Any]:
    result = dict(row.then)
    for name, expression in row.computed.items():
        try:
            result[name] = expression.evaluate({k: values[k] for k in expression.members})
        except ExpressionError as exc:
            raise RuleError(f"{table.name} v{table.version} row '{row.id}' output "
                            f"'{name}': {exc}") from None
        allowed = table.outputs[name].values
        if not fits(result[name], table.outputs[name].type):
            raise RuleError(f"{table.name} v{table.version} row '{row.id}' output '{name}' "
                            f"computed {result[name]!r}, not a {table.outputs[name].type}")
        if allowed and result[name] not in allowed:
            raise RuleError(f"{table.name} v{table.version} row '{row.id}' output '{name}' "
                            f"computed {result[name]!r}, not one of {list(allowed)}")
    return result


def _combine(table: TableSpec, matched: Sequence[RowSpec], values: dict[str, Any]) -> Any:
    outputs = [_outputs(table, row, values) for row in matched]
    ids = [row.id for row in matched]
    if table.hit == HitPolicy.UNIQUE:
        if len(matched) > 1:
            raise RuleError(f"{table.name} v{table.version} is 'unique' but rows "
                            f"{', '.join(ids)} all match")
        return outputs[0] if outputs else {}
    if table.hit == HitPolicy.ANY:
        if any(o != outputs[0] for o in outputs[1:]):
            raise RuleError(f"{table.name} v{table.version} is 'any' but matching rows "
                            f"{', '.join(ids)} disagree")
        return outputs[0] if outputs else {}
    if table.hit == HitPolicy.PRIORITY:
        return min(outputs, key=lambda o: _rank(table, o)) if outputs else {}
    if table.hit == HitPolicy.COLLECT and table.aggregate is not None:
        return _aggregate(table, outputs)
    return outputs  # collect without aggregate, rule_order: every match, in row order


def _rank(table: TableSpec, output: Mapping[str, Any]) -> tuple[int, ...]:
    """Earlier in an output's `values` list is higher priority."""
    return tuple(spec.values.index(output[name]) if name in output else len(spec.values)
                 for name, spec in table.outputs.items() if spec.values)


def _aggregate(table: TableSpec, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    name = next(iter(table.outputs))
    numbers = [o[name] for o in outputs if o.get(name) is not None]
    if table.aggregate == Aggregate.COUNT:
        return {name: len(numbers)}
    if not numbers:
        return {name: None}
    if table.aggregate == Aggregate.SUM:
        return {name: sum(numbers)}
    return {name: min(numbers) if table.aggregate == Aggregate.MIN else max(numbers)}


def _decision(table: TableSpec, outputs: Any, matched: tuple[str, ...]) -> Decision:
    return Decision(table.name, table.version, table.content_hash, outputs, matched)


# --- explain, tests, coverage -------------------------------------------------------------


@dataclass(frozen=True)
class CellTrace:
    input: str
    test: str
    cel: str
    value: Any
    result: bool | None  # None: not evaluated (an earlier cell of the row already failed)


@dataclass(frozen=True)
class RowTrace:
    id: str
    cells: tuple[CellTrace, ...]
    matched: bool


def explain(table: TableSpec, inputs: Mapping[str, Any]) -> tuple[list[RowTrace], Decision]:
    """Every row with each of its cells true, false or not evaluated, and the decision."""
    values = check_inputs(table, inputs)
    traces = []
    for row in table.rows:
        cells, failed = [], False
        for name, test in row.cells:
            result = None if failed else test.check(values[name])
            failed = failed or result is False
            cells.append(CellTrace(name, test.source, test.cel, values[name], result))
        if row.condition is not None:
            result = None if failed else _matches(table, row, values)
            failed = failed or result is False
            cells.append(CellTrace("if", row.condition.source, row.condition.source, None, result))
        traces.append(RowTrace(row.id, tuple(cells), not failed))
    return traces, decide(table, inputs)


@dataclass(frozen=True)
class TestResult:
    test: TableTest
    decision: Decision | None
    failure: str | None  # None: passed


def run_tests(table: TableSpec) -> list[TestResult]:
    """Run the table's embedded tests; each failure says expected against actual."""
    results = []
    for test in table.tests:
        try:
            decision = decide(table, test.given)
        except RuleError as exc:
            results.append(TestResult(test, None, str(exc)))
            continue
        results.append(TestResult(test, decision, _compare(test, decision)))
    return results


def _compare(test: TableTest, decision: Decision) -> str | None:
    actual = decision.outputs
    if isinstance(test.expect, Mapping) and isinstance(actual, Mapping):
        actual = {k: actual.get(k) for k in test.expect}
    if actual != test.expect:
        return (f"given {dict(test.given)} expected {test.expect!r}, "
                f"got {actual!r} (rows {', '.join(decision.matched) or 'none'})")
    if test.rows is not None and tuple(test.rows) != decision.matched:
        matched = ", ".join(decision.matched) or "none"
        return (f"given {dict(test.given)} expected rows "
                f"{', '.join(test.rows) or 'none'}, matched {matched}")
    return None


def coverage(table: TableSpec) -> list[str]:
    """Ids of the rows that none of the table's tests matches."""
    reached: set[str] = set()
    for result in run_tests(table):
        if result.decision is not None:
            reached.update(result.decision.matched)
    return [row.id for row in table.rows if row.id not in reached]
