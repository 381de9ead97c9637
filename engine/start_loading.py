"""Loading `starts:`: the customer events that open a case of a workflow by themselves."""

from __future__ import annotations

from typing import Any

from engine.expressions import Expression, Scope
from engine.fields import FieldSpec
from engine.specs import START_CUSTOMER_ATTRIBUTES, START_EVENTS, StartSpec
from engine.yamlsource import Node, NodeList, known_list, suggest

START_KEYS = {"on", "when", "set", "title", "description"}
START_SCOPE: Scope = {"customer": START_CUSTOMER_ATTRIBUTES, "now": frozenset()}


class StartLoader:
    """Mixed into the workflow loader, whose problem/keys/compile it uses."""

    def problem(self, line: int, message: str) -> None: ...
    def keys(self, node: Node, allowed: set[str], what: str) -> None: ...
    def compile(self, source: Any, line: int, scope: Scope, what: str) -> Expression | None: ...

    def starts(self, value: Any, line: int, subject: str | None,
               fields: dict[str, FieldSpec]) -> list[StartSpec]:
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, "'starts' must be a list of {on: EVENT, when: CEL}")
            return []
        if subject != "customer":
            self.problem(line, "'starts' opens cases about a customer; add 'subject: customer'")
            return []
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, Node):
                self.problem(value.line_of(index), "each start must be a mapping such as "
                             "{on: customer.tier_changed, when: 'customer.tier == \"key\"'}")
                continue
            start = self.start(item, fields)
            if start is not None:
                result.append(start)
        return result

    def start(self, node: Node, fields: dict[str, FieldSpec]) -> StartSpec | None:
        self.keys(node, START_KEYS, "a start")
        on = node.get("on")
        if on not in START_EVENTS:
            self.problem(node.line_of("on"), f"a start needs 'on:' naming a customer event, "
                         f"not {on!r}{suggest(str(on), START_EVENTS)} (events: "
                         f"{known_list(START_EVENTS)})")
        when = None
        if "when" in node:
            when = self.compile(node["when"], node.line_of("when"), START_SCOPE, "start: 'when'")
        values: dict[str, Expression] = {}
        given = node.get("set", Node())
        if not isinstance(given, Node):
            self.problem(node.line_of("set"), "start: 'set' must map fields to CEL expressions")
            given = Node()
        for name in given:
            if name not in fields:
                self.problem(given.line_of(name), f"start: 'set' names unknown field '{name}'"
                             f"{suggest(name, fields)} (fields: {known_list(fields)})")
                continue
            expression = self.compile(given[name], given.line_of(name), START_SCOPE,
                                      f"start: 'set' {name}")
            if expression is not None:
                values[name] = expression
        if on not in START_EVENTS or ("when" in node and when is None):
            return None
        return StartSpec(str(on), when, values, node.line)
