"""Workflow YAML -> WorkflowSpec, checked completely at load time.

Every problem found is reported with file:line and, where a name is misspelt, the closest known
name. Loading never stops at the first problem: a manager fixes a file in one pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.kernel.errors import DefinitionError, InvalidInput, Problem
from engine.kernel.expressions import Scope
from engine.kernel.fields import TYPES, FieldSpec, coerce
from engine.kernel.roles import READ_ONLY_ROLES, ROLES
from engine.kernel.specs import (
    ACTOR_ATTRIBUTES,
    CASE_ATTRIBUTES,
    CUSTOMER_ATTRIBUTES,
    SIGNALS,
    SIGNALS_BY_GUARD,
    StateSpec,
    TransitionSpec,
    WorkflowSpec,
)
from engine.kernel.yaml_source import (
    IDENTIFIER,
    Node,
    NodeList,
    content_hash,
    known_list,
    parse,
    read_source,
    suggest,
)
from engine.rules.tables import TableSpec
from engine.workflows.actions import ActionLoader
from engine.workflows.starts import StartLoader
from engine.workflows.timers import TimerLoader

WORKFLOW_KEYS = {"workflow", "version", "title", "description", "subject", "fields", "states",
                 "transitions", "starts", "reacts", "timers", "sla", "one_open_per_customer",
                 "on_start", "approval"}
FIELD_KEYS = {"type", "required", "default", "values", "min", "max", "max_length", "of", "title",
              "description", "personal"}
STATE_KEYS = {"initial", "final", "queue", "title", "description"}
TRANSITION_KEYS = {"trigger", "from", "to", "roles", "needs", "asks", "accepts", "when",
                   "message", "do", "title", "description", "on"}
MAX_MESSAGE = 300  # characters: a sentence or two, shown where a step is refused
# Names the `transitions` library puts on a case model; a trigger may not shadow them.
RESERVED_TRIGGERS = {"trigger", "state", "machine"}
RESERVED_TRIGGER_PREFIXES = ("to_", "may_", "is_")




# a workflow's mail template names, by the workflow's name
MailNames = Callable[[str], Collection[str]]


def load_workflow_file(path: Path, tables: Mapping[str, TableSpec | None] | None = None,
                       calendars: Collection[str] | None = None,
                       mail: MailNames | None = None) -> WorkflowSpec:
    return load_workflow_text(read_source(path), str(path), tables, calendars,
                              mail)


def load_workflow_text(text: str, path: str,
                       tables: Mapping[str, TableSpec | None] | None = None,
                       calendars: Collection[str] | None = None,
                       mail: MailNames | None = None) -> WorkflowSpec:
    """Parse and check a workflow; raise DefinitionError listing every problem found.

    `tables` are the decision tables `decide` actions and the SLA ladder may name, `calendars`
    the calendar names timers and clocks may name, `mail` gives the mail templates `mail`
    actions may name; None skips those checks (for a stored version, which was checked when
    it was first loaded).
    """
    document, problems = parse(text, path)
    loader = _WorkflowLoader(path, problems, tables, calendars, mail)
    spec = loader.load(document)
    if loader.problems or spec is None:
        raise DefinitionError(loader.problems)
    return spec


class _WorkflowLoader(ActionLoader, StartLoader, TimerLoader):
    def __init__(self, path: str, problems: list[Problem],
                 tables: Mapping[str, TableSpec | None] | None,
                 calendars: Collection[str] | None, mail: MailNames | None = None) -> None:
        self.path = path
        self.problems = problems
        self.tables = tables
        self.calendars = calendars
        self.mail = mail


    def load(self, document: Any) -> WorkflowSpec | None:
        if not isinstance(document, Node):
            self.problem(getattr(document, "line", 1), "a workflow file must be a mapping with "
                         "'workflow', 'version', 'fields', 'states' and 'transitions'")
            return None
        self.keys(document, WORKFLOW_KEYS, "workflow")
        name = self.identifier(document, "workflow", "the workflow name")
        version = document.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.problem(document.line_of("version"),
                         f"'version' must be a whole number >= 1, not {version!r}")
        subject = document.get("subject")
        if subject not in (None, "customer"):
            self.problem(document.line_of("subject"),
                         f"'subject' must be 'customer' or left out, not {subject!r}")
        if self.mail is not None and name is not None:
            self.mail_names = self.mail(name)
        fields = self.fields(document.get("fields", Node()), document.line_of("fields"))
        states = self.states(document.get("states"), document.line_of("states"))
        scope: Scope = {
            "case": frozenset(fields) | CASE_ATTRIBUTES,
            "actor": ACTOR_ATTRIBUTES,
            "now": frozenset(),
            **({"customer": CUSTOMER_ATTRIBUTES} if subject else {}),
        }
        # a transition's guard and actions may compare the case with the case `before` it
        transitions = self.transitions(document.get("transitions"),
                                       document.line_of("transitions"), states, fields,
                                       {**scope, "before": frozenset(fields)})
        on_start = self.actions(document.get("on_start"), document.line_of("on_start"), fields,
                                scope, "'on_start'")
        self.graph(states, transitions)
        starts = self.starts(document.get("starts"), document.line_of("starts"), subject, fields)
        reacts = self.reacts(document.get("reacts"), document.line_of("reacts"), subject,
                             {t.trigger for t in transitions})
        one_open = self.flag(document, "one_open_per_customer")
        if one_open and subject != "customer":
            self.problem(document.line_of("one_open_per_customer"), "'one_open_per_customer' "
                         "is for cases about a customer; add 'subject: customer'")
        sla = self.sla(document.get("sla"), document.line_of("sla"), states, transitions, scope)
        sla_node = document.get("sla")
        calendar = sla_node.get("calendar") if isinstance(sla_node, Node) else None
        timers = self.timers(document.get("timers"), document.line_of("timers"), states,
                             transitions, scope, calendar if isinstance(calendar, str) else None)
        approval = self.approval(document)
        if self.problems or name is None or not isinstance(version, int):
            return None
        return WorkflowSpec(
            name=name, version=version, title=str(document.get("title") or name),
            subject=subject, fields=fields, states=states, transitions=tuple(transitions),
            content_hash=content_hash(document), path=self.path, starts=tuple(starts),
            timers=tuple(timers), sla=sla, reacts=tuple(reacts), one_open_per_customer=one_open,
            on_start=tuple(on_start), approval=approval,
        )

    def identifier(self, node: Node, key: str, what: str) -> str | None:
        value = node.get(key)
        if not isinstance(value, str) or not IDENTIFIER.match(value):
            self.problem(node.line_of(key), f"{what} ('{key}') must be a lower-case identifier "
                         f"such as 'complaint', not {value!r}")
            return None
        return value

    def mapping(self, value: Any, line: int, what: str) -> Node | None:
        if not isinstance(value, Node):
            self.problem(getattr(value, "line", line), f"{what} must be a mapping")
            return None
        return value

    # --- fields ---------------------------------------------------------------------------

    def fields(self, value: Any, line: int) -> dict[str, FieldSpec]:
        node = self.mapping(value, line, "'fields'")
        result: dict[str, FieldSpec] = {}
        for name, body in (node or {}).items():
            assert node is not None
            where = node.line_of(name)
            if not IDENTIFIER.match(name):
                self.problem(where, f"field name '{name}' must be a lower-case identifier")
            elif name in CASE_ATTRIBUTES:
                self.problem(where, f"field name '{name}' is taken by the case itself "
                             f"({known_list(CASE_ATTRIBUTES)}); choose another")
            spec = self.field(name, body, where)
            if spec is not None:
                result[name] = spec
        return result

    def field(self, name: str, body: Any, line: int) -> FieldSpec | None:
        node = self.mapping(body, line, f"field '{name}'")
        if node is None:
            return None
        self.keys(node, FIELD_KEYS, f"field '{name}'")
        ftype = node.get("type")
        if ftype not in TYPES:
            self.problem(node.line_of("type"), f"field '{name}' has unknown type {ftype!r}"
                         f"{suggest(str(ftype), TYPES)} (types: {known_list(TYPES)})")
            return None
        values = self.enum_values(name, node) if ftype == "enum" else ()
        if ftype != "enum" and "values" in node:
            self.problem(node.line_of("values"), f"field '{name}': 'values' is only for enum")
        item = None
        if ftype == "list":
            item = self.field(f"{name}[]", node.get("of"), node.line_of("of")) \
                if isinstance(node.get("of"), Node) else self.list_item(name, node)
            if item is None:
                return None
        low, high = self.bound(name, node, "min", ftype), self.bound(name, node, "max", ftype)
        if low is not None and high is not None and low > high:
            self.problem(node.line_of("min"), f"field '{name}': min {low} is above max {high}")
        spec = FieldSpec(
            name=name, type=ftype, required=self.flag(node, "required"), values=values,
            min=low, max=high,
            max_length=self.max_length(name, node, ftype), of=item, line=line,
            title=node.get("title") if isinstance(node.get("title"), str) else None,
            personal=self.flag(node, "personal"),
        )
        if "default" in node:
            try:
                spec = FieldSpec(**{**spec.__dict__, "default": coerce(spec, node["default"])})
            except InvalidInput as exc:
                self.problem(node.line_of("default"), f"default of {exc}")
        return spec

    def list_item(self, name: str, node: Node) -> FieldSpec | None:
        of = node.get("of")
        if of not in TYPES - {"list", "enum"}:
            self.problem(node.line_of("of"), f"list field '{name}' needs 'of:' naming its item "
                         f"type, e.g. 'of: text', not {of!r}")
            return None
        return FieldSpec(name=f"{name}[]", type=of)

    def enum_values(self, name: str, node: Node) -> tuple[str, ...]:
        values = node.get("values")
        if not isinstance(values, list) or not values or \
                not all(isinstance(v, str) for v in values):
            self.problem(node.line_of("values") if "values" in node else node.line,
                         f"enum field '{name}' needs 'values:', a list of names")
            return ()
        if len(set(values)) != len(values):
            self.problem(node.line_of("values"), f"enum field '{name}' lists a value twice")
        return tuple(values)

    def flag(self, node: Node, key: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.problem(node.line_of(key), f"'{key}' must be true or false, not {value!r}")
            return False
        return value

    def bound(self, name: str, node: Node, key: str, ftype: str) -> Decimal | None:
        if key not in node:
            return None
        value = node[key]
        if ftype not in ("int", "decimal"):
            self.problem(node.line_of(key), f"field '{name}': '{key}' is only for int and decimal")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(str(value))
        else:
            self.problem(node.line_of(key), f"field '{name}': '{key}' must be a number")
        return None

    def max_length(self, name: str, node: Node, ftype: str) -> int | None:
        value = node.get("max_length")
        if value is None:
            return None
        if ftype != "text" or not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.problem(node.line_of("max_length"),
                         f"field '{name}': 'max_length' is a whole number >= 1, only for text")
            return None
        return value

    # --- states ---------------------------------------------------------------------------

    def states(self, value: Any, line: int) -> dict[str, StateSpec]:
        node = self.mapping(value, line, "'states'")
        if node is None or not node:
            if node is not None:
                self.problem(line, "'states' is empty; a workflow needs at least one state")
            return {}
        result = {}
        for name, body in node.items():
            where = node.line_of(name)
            if not IDENTIFIER.match(name):
                self.problem(where, f"state name '{name}' must be a lower-case identifier")
            state = Node() if body is None else body
            if not isinstance(state, Node):
                self.problem(where, f"state '{name}' must be a mapping (or {{}})")
                continue
            if body is None:
                state.line, state.key_lines = where, {}
            self.keys(state, STATE_KEYS, f"state '{name}'")
            queue = state.get("queue")
            if queue is not None and not (isinstance(queue, str) and IDENTIFIER.match(queue)):
                self.problem(state.line_of("queue"), f"state '{name}': queue must be an identifier")
            result[name] = StateSpec(name, self.flag(state, "initial"), self.flag(state, "final"),
                                     queue, state.get("title"), where)
        initial = [s for s in result.values() if s.initial]
        if len(initial) != 1:
            found = ", ".join(s.name for s in initial) or "none"
            self.problem(node.line, f"exactly one state must be 'initial: true' (found: {found})")
        return result

    # --- transitions ----------------------------------------------------------------------

    def transitions(self, value: Any, line: int, states: dict[str, StateSpec],
                    fields: dict[str, FieldSpec], scope: Scope) -> list[TransitionSpec]:
        if not isinstance(value, NodeList):
            self.problem(getattr(value, "line", line), "'transitions' must be a list")
            return []
        result: list[TransitionSpec] = []
        seen: dict[tuple[str, str], TransitionSpec] = {}
        signalled: dict[tuple[str, str], TransitionSpec] = {}
        for index, body in enumerate(value):
            where = value.line_of(index)
            if not isinstance(body, Node):
                self.problem(where, "each transition must be a mapping with trigger, from and to")
                continue
            spec = self.transition(body, states, fields, scope)
            if spec is None:
                continue
            clashes = [s for s in spec.sources if (spec.trigger, s) in seen]
            for source in clashes:
                self.problem(spec.line, f"trigger '{spec.trigger}' is defined twice from "
                             f"state '{source}' (first at line "
                             f"{seen[(spec.trigger, source)].line}); merge them")
            seen.update({(spec.trigger, s): spec for s in spec.sources})
            for source in spec.sources:
                # an answer's transitions are chosen by their guards: the first that passes
                guarded = spec.on in SIGNALS_BY_GUARD
                first = signalled.setdefault((spec.on, source), spec) \
                    if spec.on and not guarded else spec
                if first is not spec:
                    self.problem(spec.line, f"two transitions from state '{source}' are 'on: "
                                 f"{spec.on}' ('{first.trigger}' at line {first.line} and "
                                 f"'{spec.trigger}'); a signal moves a case one way only")
            result.append(spec)  # kept for the graph checks; a clash already fails the load
        return result

    def transition(self, node: Node, states: dict[str, StateSpec],
                   fields: dict[str, FieldSpec], scope: Scope) -> TransitionSpec | None:
        self.keys(node, TRANSITION_KEYS, "a transition")
        trigger = self.identifier(node, "trigger", "the trigger name")
        if trigger and (trigger in RESERVED_TRIGGERS
                        or trigger.startswith(RESERVED_TRIGGER_PREFIXES)):
            self.problem(node.line_of("trigger"), f"trigger '{trigger}' is a reserved name; "
                         "choose another (names may not be 'trigger', 'state', 'machine' or "
                         "start with to_, may_, is_)")
            trigger = None
        what = f"transition '{trigger or '?'}'"
        sources = self.state_refs(node, "from", states, what, allow_any=True)
        dest = self.state_refs(node, "to", states, what, allow_any=False)
        roles = self.names(node, "roles", ROLES, what, "role")
        for role in set(roles) & READ_ONLY_ROLES:
            self.problem(node.line_of("roles"), f"{what} names role '{role}', which is "
                         "read-only and may not fire transitions")
        needs = self.names(node, "needs", set(fields), what, "field")
        accepts = self.names(node, "accepts", set(fields), what, "field")
        asks = self.names(node, "asks", set(fields), what, "field")
        when = self.expression(node, "when", scope, what)
        message = self.guard_message(node, what)
        actions = self.actions(node.get("do"), node.line_of("do"), fields, scope, what)
        signal = node.get("on")
        if signal is not None and signal not in SIGNALS:
            self.problem(node.line_of("on"), f"{what}: 'on' names unknown signal {signal!r}"
                         f"{suggest(str(signal), SIGNALS)} (signals: {', '.join(SIGNALS)})")
        if trigger is None or not sources or len(dest) != 1:
            return None
        return TransitionSpec(trigger, tuple(sources), dest[0], frozenset(roles), tuple(needs),
                              tuple(accepts), when, tuple(actions), node.get("title"), node.line,
                              tuple(asks), message, signal if signal in SIGNALS else None)

    def guard_message(self, node: Node, what: str) -> str | None:
        """`message:`, what a refusal by the transition's `when:` says to the person refused."""
        if "message" not in node:
            return None
        value, line = node["message"], node.line_of("message")
        if "when" not in node:
            self.problem(line, f"{what}: 'message' says why 'when' refuses, and there is no "
                         "'when'; add the condition or remove the message")
        elif not isinstance(value, str) or not value.strip():
            self.problem(line, f"{what}: 'message' must be a sentence in quotes, not {value!r}")
        elif len(value) > MAX_MESSAGE:
            self.problem(line, f"{what}: 'message' is {len(value)} characters long; say it in "
                         f"at most {MAX_MESSAGE}")
        else:
            return value.strip()
        return None

    def state_refs(self, node: Node, key: str, states: dict[str, StateSpec], what: str,
                   allow_any: bool) -> list[str]:
        value = node.get(key)
        if allow_any and value == "*":
            return list(states)
        raw: list[Any] = value if isinstance(value, list) and allow_any else [value]
        names = [n for n in raw if isinstance(n, str)]
        if value is None or not names or len(names) != len(raw):
            form = "a state name, a list of them, or '*'" if allow_any else "one state name"
            self.problem(node.line_of(key), f"{what}: '{key}' must be {form}, not {value!r}")
            return []
        bad = [n for n in names if n not in states]
        for name in bad:
            self.problem(node.line_of(key), f"{what} {'starts from' if allow_any else 'targets'} "
                         f"unknown state '{name}'{suggest(name, states)}")
        return [] if bad else list(names)


    # --- the graph as a whole ---------------------------------------------------------------

    def graph(self, states: dict[str, StateSpec], transitions: list[TransitionSpec]) -> None:
        initial = [s.name for s in states.values() if s.initial]
        if len(initial) != 1 or (not transitions and len(states) > 1):
            if len(initial) == 1:
                self.problem(next(iter(states.values())).line,
                             "the workflow has states but no transitions between them")
            return
        outgoing: dict[str, set[str]] = {name: set() for name in states}
        for t in transitions:
            for source in t.sources:
                outgoing[source].add(t.dest)
        reached = {initial[0]}
        queue = deque(reached)
        while queue:
            for dest in outgoing[queue.popleft()] - reached:
                reached.add(dest)
                queue.append(dest)
        for state in states.values():
            if state.name not in reached:
                self.problem(state.line, f"state '{state.name}' cannot be reached from the "
                             f"initial state '{initial[0]}'; add a transition into it or remove it")
            elif not state.final and not (outgoing[state.name] - {state.name}):
                self.problem(state.line, f"state '{state.name}' has no way out; add a transition "
                             "from it or mark it 'final: true'")
