"""Workflow actions (`do:`) and the helpers shared by the workflow loader: set, assign, decide,
update_customer, measure, mail.

A `decide` action is checked against the decision tables it names when they are known (from the
home's rules/ at load time): every table input must come from a case field of a fitting type or
from `with:`, and every output must land in a case field (or the case's queue) that can hold it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from engine.kernel.expressions import Expression, ExpressionProblem, Scope, compile_expression
from engine.kernel.fields import FieldSpec
from engine.kernel.roles import ROLES
from engine.kernel.specs import (
    ASSIGN_STRATEGIES,
    CASE_ATTRIBUTES,
    CUSTOMER_WRITABLE,
    DECIDABLE_ATTRIBUTES,
    KPIS,
    SURVEY_KINDS,
    Action,
    AssignAction,
    CustomerAction,
    DecideAction,
    MailAction,
    MeasureAction,
    SetAction,
    SurveyAction,
)
from engine.kernel.yaml_source import Checker, Node, NodeList, known_list, suggest
from engine.rules.tables import TableSpec

ACTIONS = ("set", "assign", "decide", "update_customer", "measure", "mail", "survey")
ASSIGN_KEYS = {"strategy", "among"}
DECIDE_KEYS = {"table", "with", "when"}
# Which case field types may feed a table input of each type, and which table output types a
# case field of each type may take.
FEEDS = {"string": {"text", "enum", "user", "customer"}, "int": {"int", "case"},
         "double": {"int", "decimal"}, "bool": {"bool"}, "timestamp": {"datetime", "date"},
         "duration": {"duration"}, "list": {"list"}, "map": set()}
TAKES = {"text": {"string"}, "enum": {"string"}, "user": {"string"}, "customer": {"string"},
         "int": {"int"}, "case": {"int"}, "decimal": {"int", "double"}, "bool": {"bool"}}


class ActionLoader(Checker):
    """Reads `do:` lists; subclasses give `tables` (None: references are not checked)."""

    tables: Mapping[str, TableSpec | None] | None = None  # None: a table that failed to load
    # the mail templates of the workflow being read (None: not checked, as for tables)
    mail_names: Collection[str] | None = None

    def names(self, node: Node, key: str, known: set[str] | frozenset[str], what: str,
              kind: str) -> list[str]:
        value = node.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(node.line_of(key), f"{what}: '{key}' must be a list of {kind} names")
            return []
        for name in value:
            if name not in known:
                self.problem(node.line_of(key), f"{what} names unknown {kind} '{name}'"
                             f"{suggest(name, known)} ({kind}s: {known_list(known)})")
        return [v for v in value if v in known]

    def expression(self, node: Node, key: str, scope: Scope, what: str) -> Expression | None:
        if key not in node:
            return None
        return self.compile(node[key], node.line_of(key), scope, f"{what}: '{key}'")

    def compile(self, source: Any, line: int, scope: Scope, what: str) -> Expression | None:
        try:
            return compile_expression(source, scope)
        except ExpressionProblem as exc:
            self.problem(line, f"{what} {exc}")
            return None

    def actions(self, value: Any, line: int, fields: dict[str, FieldSpec], scope: Scope,
                what: str) -> list[Action]:
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, f"{what}: 'do' must be a list of actions")
            return []
        result: list[Action] = []
        for index, item in enumerate(value):
            where = value.line_of(index)
            if not isinstance(item, Node) or len(item) != 1:
                self.problem(where, f"{what}: each action is a mapping with one key: "
                             f"{', '.join(ACTIONS)}")
                continue
            kind, body = next(iter(item.items()))
            result.extend(self.action(kind, body, where, fields, scope, what))
        return result

    def action(self, kind: str, body: Any, where: int, fields: dict[str, FieldSpec],
               scope: Scope, what: str) -> list[Action]:
        """One action of a `do:` list (none if it has problems, which are reported)."""
        read: Action | None
        if kind == "set":
            return list(self.set_action(body, where, fields, scope, what))
        if kind == "decide":
            read = self.decide_action(body, where, fields, scope, what)
        elif kind == "assign":
            read = self.assign_action(body, where, scope, what)
        elif kind == "update_customer":
            read = self.customer_action(body, where, scope, what)
        elif kind == "measure":
            read = self.measure_action(body, where, fields, scope, what)
        elif kind == "mail":
            read = self.mail_action(body, where, scope, what)
        elif kind == "survey":
            read = self.survey_action(body, where, scope, what)
        else:
            self.problem(where, f"{what}: unknown action '{kind}'"
                         f"{suggest(kind, ACTIONS)} (actions: {', '.join(ACTIONS)})")
            read = None
        return [] if read is None else [read]

    def set_action(self, body: Any, line: int, fields: dict[str, FieldSpec], scope: Scope,
                   what: str) -> list[SetAction]:
        if not isinstance(body, Node) or not body:
            self.problem(line, f"{what}: 'set' takes a mapping of field: CEL expression")
            return []
        result = []
        for name in body:
            if name not in fields:
                self.problem(body.line_of(name), f"{what} sets unknown field '{name}'"
                             f"{suggest(name, fields)}")
                continue
            expression = self.compile(body[name], body.line_of(name), scope,
                                      f"{what}: set {name}:")
            if expression is not None:
                result.append(SetAction(name, expression, body.line_of(name)))
        return result

    def customer_action(self, body: Any, line: int, scope: Scope,
                        what: str) -> CustomerAction | None:
        if "customer" not in scope:
            self.problem(line, f"{what}: 'update_customer' needs a case about a customer; add "
                         "'subject: customer'")
            return None
        if not isinstance(body, Node) or not body:
            self.problem(line, f"{what}: 'update_customer' takes a mapping of customer "
                         f"attribute: CEL expression ({known_list(CUSTOMER_WRITABLE)})")
            return None
        values = {}
        for name in body:
            if name not in CUSTOMER_WRITABLE:
                self.problem(body.line_of(name), f"{what}: 'update_customer' cannot write "
                             f"'{name}'{suggest(name, CUSTOMER_WRITABLE)} (it writes: "
                             f"{known_list(CUSTOMER_WRITABLE)})")
                continue
            expression = self.compile(body[name], body.line_of(name), scope,
                                      f"{what}: update_customer {name}:")
            if expression is not None:
                values[name] = expression
        return CustomerAction(values, line) if values else None

    def measure_action(self, body: Any, line: int, fields: dict[str, FieldSpec], scope: Scope,
                       what: str) -> MeasureAction | None:
        if "customer" not in scope:
            self.problem(line, f"{what}: 'measure' needs a case about a customer; add "
                         "'subject: customer'")
            return None
        year = self.compile(body, line, scope, f"{what}: 'measure' (a CEL year, e.g. case.year)")
        measured = [k for k in KPIS if f"actual_{k}" in fields]
        if not measured:
            self.problem(line, f"{what}: 'measure' sets actual_<kpi> and attainment_<kpi> "
                         f"fields, and this workflow has none (kpis: {', '.join(KPIS)})")
        for kpi in measured:
            for prefix in ("goal", "actual", "attainment"):
                field = fields.get(f"{prefix}_{kpi}")
                if field is None or field.type != "decimal":
                    self.problem(line, f"{what}: 'measure' needs a decimal field "
                                 f"'{prefix}_{kpi}' beside 'actual_{kpi}'")
        return None if year is None else MeasureAction(year, line)

    def mail_action(self, body: Any, line: int, scope: Scope, what: str) -> MailAction | None:
        if "customer" not in scope:
            self.problem(line, f"{what}: 'mail' writes to the case's customer; add "
                         "'subject: customer'")
            return None
        if not isinstance(body, str) or not body.strip():
            self.problem(line, f"{what}: 'mail' takes a template name, e.g. 'mail: "
                         "acknowledgement' for workflows/mail/<workflow>/acknowledgement.en.txt")
            return None
        known = self.mail_names
        if known is not None and body not in known:
            self.problem(line, f"{what} mails unknown template '{body}'{suggest(body, known)}; "
                         f"add workflows/mail/<workflow>/{body}.en.txt (templates: "
                         f"{known_list(known)})")
            return None
        return MailAction(body, line)

    def survey_action(self, body: Any, line: int, scope: Scope, what: str) -> SurveyAction | None:
        if "customer" not in scope:
            self.problem(line, f"{what}: 'survey' asks the case's customer; add "
                         "'subject: customer'")
            return None
        if body not in SURVEY_KINDS:
            self.problem(line, f"{what}: unknown survey {body!r}{suggest(str(body), SURVEY_KINDS)}"
                         f" (surveys: {', '.join(SURVEY_KINDS)})")
            return None
        return SurveyAction(str(body), line)

    def assign_action(self, body: Any, line: int, scope: Scope, what: str) -> AssignAction | None:
        if isinstance(body, str) and body in ASSIGN_STRATEGIES:
            return AssignAction(body, line=line)
        if isinstance(body, str):
            expression = self.compile(body, line, scope, f"{what}: 'assign'")
            return None if expression is None else AssignAction("expression", expression, line=line)
        if not isinstance(body, Node):
            self.problem(line, f"{what}: 'assign' takes a strategy "
                         f"({known_list(ASSIGN_STRATEGIES)}), a CEL expression naming a user, or "
                         "{strategy: least_loaded, among: [roles]}")
            return None
        self.keys(body, ASSIGN_KEYS, "assign")
        strategy = body.get("strategy")
        if not isinstance(strategy, str) or strategy not in ASSIGN_STRATEGIES:
            self.problem(body.line_of("strategy"), f"{what}: unknown assign strategy "
                         f"{strategy!r}{suggest(str(strategy), ASSIGN_STRATEGIES)}")
            return None
        among = self.names(body, "among", ROLES, what, "role") or ["agent"]
        return AssignAction(str(strategy), among=tuple(among), line=line)


    def decide_action(self, body: Any, line: int, fields: dict[str, FieldSpec], scope: Scope,
                      what: str) -> DecideAction | None:
        if isinstance(body, str):
            body = Node({"table": body})
            body.line, body.key_lines = line, {}
        if not isinstance(body, Node) or not isinstance(body.get("table"), str):
            self.problem(line, f"{what}: 'decide' takes a table name, or {{table: NAME, with: "
                         "{input: CEL expression}}")
            return None
        self.keys(body, DECIDE_KEYS, "decide")
        name = body["table"]
        given = body.get("with", Node())
        if not isinstance(given, Node):
            self.problem(body.line_of("with"), f"{what}: decide 'with' maps table inputs to CEL")
            return None
        bindings = {}
        for key in given:
            expression = self.compile(given[key], given.line_of(key), scope,
                                      f"{what}: decide {name} with {key}:")
            if expression is not None:
                bindings[key] = expression
        when = self.expression(body, "when", scope, f"{what}: decide {name}")
        if self.tables is not None:
            self.check_decide(name, bindings, fields, line, what)
        return DecideAction(name, bindings, line, when)

    def check_decide(self, name: str, bindings: dict[str, Expression],
                     fields: dict[str, FieldSpec], line: int, what: str) -> None:
        assert self.tables is not None
        if name in self.tables and self.tables[name] is None:
            return  # the table itself does not load; its own problems say why
        table = self.tables.get(name)
        if table is None:
            self.problem(line, f"{what} decides with unknown table '{name}'"
                         f"{suggest(name, self.tables)} (tables: {known_list(self.tables)})")
            return
        if not table.hit.single:
            self.problem(line, f"{what}: table '{name}' is '{table.hit}', which gives a list; "
                         "a decide action needs one result (unique, first, priority or any)")
        for extra in sorted(set(bindings) - set(table.inputs)):
            self.problem(line, f"{what}: decide {name} 'with' gives '{extra}', which is not an "
                         f"input of the table{suggest(extra, table.inputs)} (inputs: "
                         f"{known_list(table.inputs)})")
        for input_name, kind in table.inputs.items():
            if input_name in bindings:
                continue
            field = fields.get(input_name)
            if field is None and input_name not in CASE_ATTRIBUTES:
                self.problem(line, f"{what}: table '{name}' needs input '{input_name}', which is "
                             f"not a case field; give it with `with: {{{input_name}: ...}}`")
            elif field is not None and field.type not in FEEDS[kind]:
                self.problem(line, f"{what}: table '{name}' input '{input_name}' is {kind}, but "
                             f"field '{input_name}' is {field.type}")
        for output in table.outputs.values():
            self.check_output(name, output.name, output.type, output.values, fields, line, what)

    def check_output(self, table: str, name: str, kind: str, values: tuple[Any, ...],
                     fields: dict[str, FieldSpec], line: int, what: str) -> None:
        if name in DECIDABLE_ATTRIBUTES:
            if kind != "string":
                self.problem(line, f"{what}: table '{table}' output '{name}' must be a string "
                             "to set the case's " + name)
            return
        field = fields.get(name)
        if field is None:
            self.problem(line, f"{what}: table '{table}' decides '{name}', which is not a case "
                         f"field{suggest(name, fields)}; add the field to 'fields'")
        elif kind not in TAKES.get(field.type, set()):
            self.problem(line, f"{what}: table '{table}' output '{name}' is {kind}, but field "
                         f"'{name}' is {field.type}")
        elif field.type == "enum" and (not values or set(values) - set(field.values)):
            extra = sorted(map(str, set(values) - set(field.values))) if values else ["any"]
            self.problem(line, f"{what}: table '{table}' output '{name}' may be {extra}, which "
                         f"enum field '{name}' does not allow")
