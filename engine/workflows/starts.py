"""Loading `starts:` and `reacts:`: the customer events that open a case of a workflow by
themselves, and those that move the customer's open case (a plan hands over)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from engine.kernel.expressions import Expression, Scope
from engine.kernel.fields import FieldSpec
from engine.kernel.specs import START_CUSTOMER_ATTRIBUTES, START_EVENTS, ReactSpec, StartSpec
from engine.kernel.yaml_source import Node, NodeList, known_list, suggest

T = TypeVar("T")
START_KEYS = {"on", "when", "set", "title", "description"}
REACT_KEYS = {"on", "when", "fire", "title", "description"}
START_SCOPE: Scope = {"customer": START_CUSTOMER_ATTRIBUTES, "now": frozenset()}


class StartLoader:
    """Mixed into the workflow loader, whose problem/keys/compile it uses."""

    def problem(self, line: int, message: str) -> None: ...
    def keys(self, node: Node, allowed: set[str], what: str) -> None: ...
    def compile(self, source: Any, line: int, scope: Scope, what: str) -> Expression | None: ...

    def starts(self, value: Any, line: int, subject: str | None,
               fields: dict[str, FieldSpec]) -> list[StartSpec]:
        return self._each(value, line, subject, "starts", "{on: EVENT, when: CEL}",
                          "'starts' opens cases about a customer",
                          "each start must be a mapping such as {on: customer.tier_changed, "
                          "when: 'customer.tier == \"key\"'}",
                          lambda item: self.start(item, fields))

    def reacts(self, value: Any, line: int, subject: str | None,
               triggers: set[str]) -> list[ReactSpec]:
        return self._each(value, line, subject, "reacts", "{on: EVENT, when: CEL, fire: TRIGGER}",
                          "'reacts' moves cases about a customer",
                          "each reaction must be a mapping such as {on: customer.tier_changed, "
                          "when: 'customer.tier != \"key\"', fire: hand_over}",
                          lambda item: self.react(item, triggers))

    def _each(self, value: Any, line: int, subject: str | None, key: str, shape: str,
              needs_customer: str, each: str, read: Callable[[Node], T | None]) -> list[T]:
        """The items of a list of mappings under `key`, each read by `read`."""
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, f"'{key}' must be a list of {shape}")
            return []
        if subject != "customer":
            self.problem(line, f"{needs_customer}; add 'subject: customer'")
            return []
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, Node):
                self.problem(value.line_of(index), each)
                continue
            found = read(item)
            if found is not None:
                result.append(found)
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

    def react(self, node: Node, triggers: set[str]) -> ReactSpec | None:
        self.keys(node, REACT_KEYS, "a reaction")
        on, fire = node.get("on"), node.get("fire")
        if on not in START_EVENTS:
            self.problem(node.line_of("on"), f"a reaction needs 'on:' naming a customer event, "
                         f"not {on!r}{suggest(str(on), START_EVENTS)} (events: "
                         f"{known_list(START_EVENTS)})")
        if not isinstance(fire, str) or fire not in triggers:
            self.problem(node.line_of("fire") if "fire" in node else node.line,
                         f"a reaction needs 'fire:' naming a trigger of this workflow, not "
                         f"{fire!r}{suggest(str(fire), triggers)} (triggers: "
                         f"{known_list(triggers)})")
        when = None
        if "when" in node:
            when = self.compile(node["when"], node.line_of("when"), START_SCOPE,
                                "reaction: 'when'")
        if on not in START_EVENTS or not isinstance(fire, str) or fire not in triggers \
                or ("when" in node and when is None):
            return None
        return ReactSpec(str(on), fire, when, node.line)
