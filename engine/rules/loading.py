"""Decision-table YAML -> TableSpec, with every problem reported as path:line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from engine.kernel.errors import DefinitionError, InvalidInput, Problem
from engine.kernel.expressions import Expression, ExpressionProblem, compile_expression
from engine.kernel.fields import FieldSpec, coerce
from engine.kernel.yaml_source import (
    IDENTIFIER,
    Checker,
    Node,
    NodeList,
    content_hash,
    known_list,
    parse,
    read_source,
    suggest,
)
from engine.rules.tables import (
    INPUT_TYPES,
    Aggregate,
    HitPolicy,
    OutputSpec,
    RowSpec,
    TableSpec,
    TableTest,
    fits,
)
from engine.rules.unary import CellError, Test, compile_cell

TABLE_KEYS = {"table", "version", "title", "description", "effective", "hit", "aggregate",
              "default", "inputs", "outputs", "rules", "tests", "approval"}
ROW_KEYS = {"id", "when", "if", "then", "description"}
TEST_KEYS = {"given", "expect", "rows", "description"}
OUTPUT_KEYS = {"type", "values", "description"}
OUTPUT_TYPES = ("string", "int", "double", "bool")
ROW_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


def load_table_file(path: Path) -> TableSpec:
    return load_table_text(read_source(path), str(path))


def load_table_text(text: str, path: str) -> TableSpec:
    """Parse and check a decision table; raise DefinitionError listing every problem."""
    document, problems = parse(text, path)
    loader = _TableLoader(path, problems)
    spec = loader.load(document)
    if loader.problems or spec is None:
        raise DefinitionError(loader.problems)
    return spec


class _TableLoader(Checker):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        self.broken_rows: set[int] = set()  # lines of rows with a cell that did not load
        self.row_nodes: dict[int, Node] = {}

    def load(self, doc: Any) -> TableSpec | None:
        if not isinstance(doc, Node):
            self.problem(getattr(doc, "line", 1), "a table file must be a mapping with 'table', "
                         "'version', 'hit', 'inputs', 'outputs' and 'rules'")
            return None
        self.keys(doc, TABLE_KEYS, "table")
        name = doc.get("table")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            self.problem(doc.line_of("table"), f"'table' must be a lower-case identifier such as "
                         f"'customer_tier', not {name!r}")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(doc.line_of("version"), f"'version' must be a whole number >= 1, "
                         f"not {version!r}")
        hit = self.hit(doc)
        inputs = self.inputs(doc.get("inputs"), doc.line_of("inputs"))
        outputs = self.outputs(doc.get("outputs"), doc.line_of("outputs"))
        aggregate = self.aggregate(doc, hit, outputs)
        rows = self.rows(doc.get("rules"), doc.line_of("rules"), inputs, outputs)
        self.default_row(doc, hit, rows)
        many = not hit.single and doc.get("aggregate") is None  # a list of every match
        tests = self.tests(doc.get("tests"), doc.line_of("tests"), inputs, outputs, rows, many)
        start, until = self.effective(doc)
        approval = self.approval(doc)
        if self.problems or not isinstance(name, str) or not isinstance(version, int):
            return None
        readers = {i: tuple(r.id for r in rows if _reads(r, i)) for i in inputs}
        return TableSpec(name, version, str(doc.get("title") or name), hit, aggregate, inputs,
                         outputs, tuple(rows), tuple(tests), start, until, content_hash(doc),
                         self.path, readers, approval)

    def hit(self, doc: Node) -> HitPolicy:
        hit = doc.get("hit", HitPolicy.UNIQUE)
        if hit not in tuple(HitPolicy):  # a tuple: the YAML may give a list, or a number
            self.problem(doc.line_of("hit"), f"unknown hit policy {hit!r}"
                         f"{suggest(str(hit), HitPolicy)} (hit policies: "
                         f"{', '.join(HitPolicy)})")
            return HitPolicy.UNIQUE
        return HitPolicy(hit)

    def aggregate(self, doc: Node, hit: HitPolicy,
                  outputs: dict[str, OutputSpec]) -> Aggregate | None:
        """The aggregate of a collect table (None also when it is wrong: a problem says so)."""
        aggregate = doc.get("aggregate")
        if aggregate is None:
            return None
        line = doc.line_of("aggregate")
        if hit != HitPolicy.COLLECT:
            self.problem(line, "'aggregate' goes only with 'hit: collect'")
        elif aggregate not in tuple(Aggregate):
            self.problem(line, f"unknown aggregate {aggregate!r}"
                         f"{suggest(str(aggregate), Aggregate)} (aggregates: "
                         f"{', '.join(Aggregate)})")
        elif len(outputs) != 1:
            self.problem(line, f"'aggregate: {aggregate}' needs exactly one output, not "
                         f"{len(outputs)}")
        elif aggregate != Aggregate.COUNT and \
                next(iter(outputs.values())).type not in ("int", "double"):
            self.problem(line, f"'aggregate: {aggregate}' needs a number output (int or double)")
        else:
            return Aggregate(aggregate)
        return None

    def inputs(self, value: Any, line: int) -> dict[str, str]:
        if not isinstance(value, Node) or not value:
            self.problem(getattr(value, "line", line), "'inputs' must map each input name to "
                         f"its type ({', '.join(INPUT_TYPES)})")
            return {}
        result = {}
        for name, kind in value.items():
            if not IDENTIFIER.match(name):
                self.problem(value.line_of(name), f"input name '{name}' must be a lower-case "
                             "identifier")
            elif kind not in INPUT_TYPES:
                self.problem(value.line_of(name), f"input '{name}' has unknown type {kind!r}"
                             f"{suggest(str(kind), INPUT_TYPES)} (types: {', '.join(INPUT_TYPES)})")
            else:
                result[name] = str(kind)
        return result

    def outputs(self, value: Any, line: int) -> dict[str, OutputSpec]:
        if not isinstance(value, Node) or not value:
            self.problem(getattr(value, "line", line), "'outputs' must map each output name to "
                         "{values: [...]} or a type (string, int, double, bool)")
            return {}
        result = {}
        for name, body in value.items():
            where = value.line_of(name)
            if not IDENTIFIER.match(name):
                self.problem(where, f"output name '{name}' must be a lower-case identifier")
                continue
            spec = self.output(name, body, where)
            if spec is not None:
                result[name] = spec
        return result

    def output(self, name: str, body: Any, line: int) -> OutputSpec | None:
        if isinstance(body, str):
            body = Node({"type": body})
            body.line, body.key_lines = line, {}
        if not isinstance(body, Node):
            self.problem(line, f"output '{name}' must be a type name or {{values: [...]}}")
            return None
        self.keys(body, OUTPUT_KEYS, f"output '{name}'")
        kind = body.get("type", "string")
        if kind not in OUTPUT_TYPES:
            self.problem(body.line_of("type"), f"output '{name}' has unknown type {kind!r}"
                         f"{suggest(str(kind), OUTPUT_TYPES)} (types: {', '.join(OUTPUT_TYPES)})")
            return None
        values = body.get("values", [])
        if not isinstance(values, list) or len(set(map(repr, values))) != len(values) or \
                any(not fits(v, kind) for v in values):
            self.problem(body.line_of("values"), f"output '{name}': 'values' must be a list of "
                         f"distinct {kind} values")
            values = []
        return OutputSpec(name, str(kind), tuple(values), body.line_of("values"))

    def effective(self, doc: Node) -> tuple[date | None, date | None]:
        value = doc.get("effective")
        if value is None:
            return None, None
        if not isinstance(value, Node) or set(value) - {"from", "until"}:
            self.problem(doc.line_of("effective"), "'effective' takes {from: DATE, until: DATE}")
            return None, None
        dates = []
        for key in ("from", "until"):
            day = value.get(key)
            if day is not None and (not isinstance(day, date) or isinstance(day, datetime)):
                self.problem(value.line_of(key), f"effective '{key}' must be a date "
                             f"(YYYY-MM-DD), not {day!r}")
                day = None
            dates.append(day)
        if dates[0] and dates[1] and dates[0] >= dates[1]:
            self.problem(value.line_of("until"), "effective 'until' must come after 'from'")
        return dates[0], dates[1]

    # --- rows -----------------------------------------------------------------------------

    def rows(self, value: Any, line: int, inputs: dict[str, str],
             outputs: dict[str, OutputSpec]) -> list[RowSpec]:
        if not isinstance(value, NodeList) or not value:
            self.problem(getattr(value, "line", line), "'rules' must be a non-empty list of rows")
            return []
        rows: list[RowSpec] = []
        seen: dict[str, int] = {}
        for index, body in enumerate(value):
            where = value.line_of(index)
            if not isinstance(body, Node):
                self.problem(where, "each rule is a mapping with id, when (or if) and then")
                continue
            self.row_nodes[body.line] = body
            row = self.row(body, inputs, outputs)
            if row is None:
                continue
            if row.id in seen:
                self.problem(row.line, f"row id '{row.id}' is used twice (first at line "
                             f"{seen[row.id]}); give each row its own id")
            seen.setdefault(row.id, row.line)
            rows.append(row)
        return rows

    def row(self, node: Node, inputs: dict[str, str],
            outputs: dict[str, OutputSpec]) -> RowSpec | None:
        self.keys(node, ROW_KEYS, "a rule")
        row_id = node.get("id")
        if not isinstance(row_id, str) or not ROW_ID.match(row_id):
            self.problem(node.line_of("id"), f"every rule needs an 'id' of lower-case letters, "
                         f"digits, - and _, not {row_id!r}")
            row_id = None
        what = f"row '{row_id or '?'}'"
        cells = self.cells(node, inputs, what)
        condition = None
        if "if" in node:
            condition = self.compile(node["if"], node.line_of("if"), inputs, f"{what}: 'if'")
        then, computed = self.then(node, inputs, outputs, what)
        if row_id is None:
            return None
        return RowSpec(row_id, tuple(cells), condition, then, computed, node.line)

    def cells(self, node: Node, inputs: dict[str, str], what: str) -> list[tuple[str, Test]]:
        when = node.get("when", Node())
        if not isinstance(when, Node):
            self.problem(node.line_of("when"), f"{what}: 'when' maps inputs to tests, "
                         "e.g. {revenue_share: '>= 0.2'}")
            return []
        cells = []
        for name, cell in when.items():
            if name not in inputs:
                self.problem(when.line_of(name), f"{what} tests undeclared input '{name}'"
                             f"{suggest(name, inputs)} (inputs: {known_list(inputs)})")
                self.broken_rows.add(node.line)
                continue
            try:
                test = compile_cell(cell, name, inputs[name])
            except CellError as exc:
                self.problem(when.line_of(name), f"{what} cell {name}: {exc}")
                self.broken_rows.add(node.line)
                continue
            if not test.any:
                cells.append((name, test))
        return cells

    def then(self, node: Node, inputs: dict[str, str], outputs: dict[str, OutputSpec],
             what: str) -> tuple[dict[str, Any], dict[str, Expression]]:
        then = node.get("then")
        if not isinstance(then, Node):
            self.problem(node.line_of("then") if "then" in node else node.line,
                         f"{what} needs 'then:', a mapping of outputs to values")
            return {}, {}
        literal, computed = {}, {}
        for name, value in then.items():
            where = then.line_of(name)
            if name not in outputs:
                self.problem(where, f"{what} sets undeclared output '{name}'"
                             f"{suggest(name, outputs)} (outputs: {known_list(outputs)})")
            elif isinstance(value, str) and value.startswith("="):
                expression = self.compile(value[1:], where, inputs, f"{what} output {name}")
                if expression is not None:
                    computed[name] = expression
            elif not fits(value, outputs[name].type) or \
                    (outputs[name].values and value not in outputs[name].values):
                allowed = list(outputs[name].values) or outputs[name].type
                self.problem(where, f"{what} gives output '{name}' the value {value!r}"
                             f"{suggest(str(value), map(str, outputs[name].values))}; "
                             f"allowed: {allowed}")
            else:
                literal[name] = value
        for name in outputs:
            if name not in then:
                self.problem(then.line, f"{what} does not set output '{name}'")
        return literal, computed

    def compile(self, source: Any, line: int, inputs: dict[str, str],
                what: str) -> Expression | None:
        scope: dict[str, frozenset[str] | None] = {
            name: None if kind == "map" else frozenset() for name, kind in inputs.items()
        }
        try:
            return compile_expression(source, scope)
        except ExpressionProblem as exc:
            self.problem(line, f"{what} {exc}")
            return None

    def default_row(self, doc: Node, hit: HitPolicy, rows: list[RowSpec]) -> None:
        defaults = [i for i, r in enumerate(rows) if not r.cells and r.condition is None
                    and "if" not in self.row_nodes.get(r.line, {})
                    and r.line not in self.broken_rows]
        declared = doc.get("default")
        if declared not in (None, "none"):
            self.problem(doc.line_of("default"), "'default' can only be 'none' (say that a first "
                         "table may match no row); a default row is a last rule with no when/if")
        if hit == HitPolicy.FIRST and defaults and defaults[0] != len(rows) - 1:
            shadowed = ", ".join(r.id for r in rows[defaults[0] + 1:])
            self.problem(rows[defaults[0]].line, f"row '{rows[defaults[0]].id}' matches "
                         f"everything, so the rows after it never match ({shadowed})")
        if hit == HitPolicy.FIRST and rows and not defaults and declared != "none":
            self.problem(doc.line_of("rules"), "a 'first' table needs a last row that matches "
                         "everything (no when/if), or 'default: none' to say no row may match")

    # --- tests ----------------------------------------------------------------------------

    def tests(self, value: Any, line: int, inputs: dict[str, str],
              outputs: dict[str, OutputSpec], rows: list[RowSpec], many: bool,
              ) -> list[TableTest]:
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, "'tests' must be a list of {given, expect, rows}")
            return []
        ids = {r.id for r in rows}
        result = []
        for index, body in enumerate(value):
            where = value.line_of(index)
            if not isinstance(body, Node) or "given" not in body or "expect" not in body:
                self.problem(where, "each test needs 'given' (inputs) and 'expect' (outputs)")
                continue
            self.keys(body, TEST_KEYS, "a test")
            given = self.given(body, inputs)
            expect = self.expect(body, outputs, many)
            expected_rows = self.test_rows(body, ids)
            if given is not None:
                result.append(TableTest(given, expect, expected_rows, where))
        return result

    def test_rows(self, body: Node, ids: set[str]) -> tuple[str, ...] | None:
        value = body.get("rows")
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
            self.problem(body.line_of("rows"), f"test 'rows' must be a list of row ids, such as "
                         f"[{next(iter(sorted(ids)), 'row-id')}], not {value!r}")
            return None
        unknown = [r for r in value if r not in ids]
        if unknown:
            self.problem(body.line_of("rows"), f"test 'rows' names unknown rows {unknown} "
                         f"(rows: {known_list(ids)})")
            return None
        return tuple(value)

    def given(self, body: Node, inputs: dict[str, str]) -> dict[str, Any] | None:
        given = body["given"]
        if not isinstance(given, Node):
            self.problem(body.line_of("given"), "test 'given' must map inputs to values")
            return None
        values = {}
        for name, value in given.items():
            if name not in inputs:
                self.problem(given.line_of(name), f"test gives undeclared input '{name}'"
                             f"{suggest(name, inputs)}")
                continue
            try:
                values[name] = given_value(inputs[name], value, name)
            except InvalidInput as exc:
                self.problem(given.line_of(name), f"test input '{name}': {exc.detail}")
        return values

    def expect(self, body: Node, outputs: dict[str, OutputSpec], many: bool) -> Any:
        expect = body["expect"]
        if many and not isinstance(expect, list):
            self.problem(body.line_of("expect"), "test 'expect' must be a list of output "
                         "mappings: this table gives every matching row")
            return expect
        entries = expect if many else [expect]
        for entry in entries:
            if not isinstance(entry, Node):
                form = "a list of output mappings" if many else "a mapping of outputs"
                self.problem(body.line_of("expect"), f"test 'expect' must be {form}")
                return expect
            for name in entry:
                if name not in outputs:
                    self.problem(entry.line_of(name), f"test expects undeclared output "
                                 f"'{name}'{suggest(name, outputs)}")
        return [dict(e) for e in expect] if many and isinstance(expect, list) else \
            dict(expect) if isinstance(expect, Node) else expect


def given_value(kind: str, value: Any, name: str = "input") -> Any:
    """Inputs as the evaluator expects them (YAML dates become UTC timestamps, durations and
    timestamps may be given as text)."""
    if kind == "timestamp" and isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if kind == "timestamp" and value is not None:
        return coerce(FieldSpec(name, "datetime"), value)
    if kind == "duration" and value is not None:
        return coerce(FieldSpec(name, "duration"), value)
    return value


def _reads(row: RowSpec, name: str) -> bool:
    return any(n == name for n, _ in row.cells) or (
        row.condition is not None and name in row.condition.members) or any(
        name in e.members for e in row.computed.values())
