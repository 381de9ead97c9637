"""Loading `timers:` and `sla:`: deadlines on states, and the SLA clocks of a workflow.

    timers:
      - name: follow_up
        in: resolved
        after: 3 business days       # 90m, 4h, 2 days, 1 week, 8 business hours, or CEL
        fire: close_unanswered
    sla:
      calendar: office
      warn_at: 0.8
      escalate_at: [1.5]
      on_warn: complaint_escalation
      on_breach: complaint_escalation
      clocks:
        resolution: {stop_in: [resolved, closed], pause_in: [waiting_customer],
                     target: case.resolution_hours, business: case.business_time}

Every name a timer or clock uses (states, triggers, calendars, tables) is checked here, so that a
misspelling fails at load time with its line, never when the deadline comes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from engine.kernel.errors import ExpressionError, InvalidInput
from engine.kernel.expressions import Expression, Scope
from engine.kernel.specs import (
    SIGNALS,
    ClockSpec,
    Delay,
    SlaSpec,
    StateSpec,
    TimerSpec,
    TransitionSpec,
)
from engine.kernel.yaml_source import Node, NodeList, known_list, suggest
from engine.rules.tables import TableSpec
from engine.sla.clocks import as_target

TIMER_KEYS = {"name", "in", "after", "at", "fire", "calendar", "title", "description"}
SLA_KEYS = {"calendar", "clocks", "warn_at", "escalate_at", "on_warn", "on_breach",
            "description"}
CLOCK_KEYS = {"target", "start_on", "start_in", "stop_on", "stop_in", "pause_in", "restart_on",
              "business", "calendar", "warn_at", "title", "description"}
_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hour": 3600,
          "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
          "weeks": 604800}
DELAY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(business\s+)?([a-z]+)\s*$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_delay(text: str) -> Delay | None:
    """`90m`, `4h`, `2 days`, `8 business hours`, `3 business days`; None if not one."""
    match = DELAY.match(text)
    if not match or match.group(3) not in _UNITS:
        return None
    number, business, unit = float(match.group(1)), bool(match.group(2)), match.group(3)
    seconds = _UNITS[unit]
    if business and seconds >= 604800:
        return None  # business weeks: say 5 business days
    if business and seconds == 86400:
        return Delay(timedelta(0), True, int(number)) if number.is_integer() else None
    return Delay(timedelta(seconds=number * seconds), business)


class TimerLoader:
    """Mixed into the workflow loader, whose problem/keys/compile/names it uses."""

    tables: Mapping[str, TableSpec | None] | None
    calendars: Collection[str] | None

    def problem(self, line: int, message: str) -> None: ...
    def keys(self, node: Node, allowed: set[str], what: str) -> None: ...
    def compile(self, source: Any, line: int, scope: Scope, what: str) -> Expression | None: ...
    def names(self, node: Node, key: str, known: set[str] | frozenset[str], what: str,
              kind: str) -> list[str]:
        raise NotImplementedError  # the workflow loader's (ActionLoader's)

    # --- timers -----------------------------------------------------------------------------

    def timers(self, value: Any, line: int, states: dict[str, StateSpec],
               transitions: list[TransitionSpec], scope: Scope,
               default_calendar: str | None) -> list[TimerSpec]:
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, "'timers' must be a list of {name, in, after, fire}")
            return []
        result: list[TimerSpec] = []
        for index, item in enumerate(value):
            if not isinstance(item, Node):
                self.problem(value.line_of(index), "each timer must be a mapping such as "
                             "{name: follow_up, in: resolved, after: 3 business days, "
                             "fire: close_unanswered}")
                continue
            timer = self.timer(item, states, transitions, scope, default_calendar)
            if timer is None:
                continue
            twin = next((t for t in result if t.name == timer.name), None)
            if twin is not None:
                self.problem(item.line, f"timer '{timer.name}' is defined twice (first at line "
                             f"{twin.line}); give each timer its own name")
            result.append(timer)
        return result

    def timer(self, node: Node, states: dict[str, StateSpec],
              transitions: list[TransitionSpec], scope: Scope,
              default_calendar: str | None) -> TimerSpec | None:
        self.keys(node, TIMER_KEYS, "a timer")
        name = node.get("name")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            self.problem(node.line_of("name"), f"a timer needs 'name:', a lower-case identifier "
                         f"such as 'follow_up', not {name!r}")
            name = None
        what = f"timer '{name or '?'}'"
        state = node.get("in")
        if not isinstance(state, str) or state not in states:
            hint = suggest(state, states) if isinstance(state, str) else \
                " (one state: a timer waits in one state; give each state its own timer)"
            self.problem(node.line_of("in"), f"{what}: 'in' must name the state it waits in, "
                         f"not {state!r}{hint} (states: {known_list(states)})")
            state = None
        elif states[state].final:
            self.problem(node.line_of("in"), f"{what} waits in final state '{state}', from "
                         "which nothing can fire; choose another state")
        fire = node.get("fire")
        if state is not None and not any(t.trigger == fire and state in t.sources
                                          for t in transitions):
            here = sorted({t.trigger for t in transitions if state in t.sources})
            self.problem(node.line_of("fire"), f"{what}: 'fire' must name a trigger that "
                         f"leaves '{state}', not {fire!r}{suggest(str(fire), here)} (from "
                         f"'{state}': {', '.join(here) or 'nothing'})")
            fire = None
        calendar = self.calendar_ref(node, what) or default_calendar
        after, after_expression, at = self.when_due(node, what, scope)
        if after is not None and after.business and calendar is None:
            self.problem(node.line_of("after"), f"{what} counts business time but names no "
                         "calendar: add 'calendar:' to it or to 'sla:'")
        if None in (name, state, fire) or (after, after_expression, at) == (None, None, None):
            return None
        return TimerSpec(str(name), str(state), str(fire), after, after_expression, at,
                         calendar, node.line)

    def when_due(self, node: Node, what: str, scope: Scope
                 ) -> tuple[Delay | None, Expression | None, Expression | None]:
        if ("after" in node) == ("at" in node):
            self.problem(node.line, f"{what} needs exactly one of 'after:' (how long in the "
                         "state) and 'at:' (a CEL timestamp)")
            return None, None, None
        if "at" in node:
            return None, None, self.compile(node["at"], node.line_of("at"), scope,
                                            f"{what}: 'at'")
        raw = node["after"]
        delay = parse_delay(raw) if isinstance(raw, str) else None
        if delay is not None:
            if delay.amount <= timedelta(0) and not delay.days:
                self.problem(node.line_of("after"), f"{what}: 'after' must be longer than 0")
            return delay, None, None
        if isinstance(raw, str) and re.search(r"[()\.]", raw):  # CEL reads case or now
            return None, self.compile(raw, node.line_of("after"), scope, f"{what}: 'after'"), None
        self.problem(node.line_of("after"), f"{what}: 'after' must be a time such as 90m, 4h, "
                     f"2 days, 8 business hours or 3 business days (or CEL giving a duration), "
                     f"not {raw!r}")
        return None, None, None

    def calendar_ref(self, node: Node, what: str) -> str | None:
        if "calendar" not in node:
            return None
        name = node["calendar"]
        if not isinstance(name, str):
            self.problem(node.line_of("calendar"), f"{what}: 'calendar' must be a calendar name")
            return None
        if self.calendars is not None and name not in self.calendars:
            self.problem(node.line_of("calendar"), f"{what} names unknown calendar '{name}'"
                         f"{suggest(name, self.calendars)} (calendars in rules/calendars.yaml: "
                         f"{known_list(self.calendars)})")
        return name

    # --- sla --------------------------------------------------------------------------------

    def sla(self, value: Any, line: int, states: dict[str, StateSpec],
            transitions: list[TransitionSpec], scope: Scope) -> SlaSpec | None:
        if value is None:
            return None
        if not isinstance(value, Node):
            self.problem(line, "'sla' must be a mapping with 'clocks' (and 'calendar', "
                         "'warn_at', 'on_warn', 'on_breach')")
            return None
        self.keys(value, SLA_KEYS, "'sla'")
        calendar = self.calendar_ref(value, "'sla'")
        warn_at = self.fraction(value, "warn_at", "'sla'", upper=1.0)
        steps = value.get("escalate_at", [])
        if not isinstance(steps, list) or not all(
                isinstance(s, int | float) and not isinstance(s, bool) and s > 1 for s in steps):
            self.problem(value.line_of("escalate_at"), "'sla': 'escalate_at' must be a list of "
                         f"lateness steps past the breach (numbers above 1, e.g. [1.5, 2]), "
                         f"not {steps!r}")
            steps = []
        ladder = [self.ladder(value, key, scope.get("case") or frozenset())
                  for key in ("on_warn", "on_breach")]
        clocks_node = value.get("clocks")
        if not isinstance(clocks_node, Node) or not clocks_node:
            self.problem(value.line_of("clocks"), "'sla' needs 'clocks:', a mapping of clock "
                         "names to {target, stop_on/stop_in, pause_in}")
            return None
        triggers = {t.trigger for t in transitions} | set(SIGNALS)  # a clock may run on both
        clocks = []
        for name in clocks_node:
            clock = self.clock(name, clocks_node[name], clocks_node.line_of(name), states,
                               triggers, scope, calendar)
            if clock is not None:
                clocks.append(clock)
        if len(clocks) != len(clocks_node):
            return None
        return SlaSpec(tuple(clocks), calendar, 0.8 if warn_at is None else warn_at,
                       tuple(float(s) for s in steps), ladder[0], ladder[1], value.line)

    def clock(self, name: str, body: Any, line: int, states: dict[str, StateSpec],
              triggers: set[str], scope: Scope, default_calendar: str | None
              ) -> ClockSpec | None:
        what = f"clock '{name}'"
        if not IDENTIFIER.match(name):
            self.problem(line, f"clock name '{name}' must be a lower-case identifier")
        if not isinstance(body, Node):
            self.problem(line, f"{what} must be a mapping with 'target' and when it stops")
            return None
        self.keys(body, CLOCK_KEYS, what)
        if "target" not in body:
            self.problem(line, f"{what} needs 'target:', CEL giving hours or a duration "
                         "(e.g. case.resolution_hours)")
        raw = body.get("target")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)  # `target: 8` is eight hours
        target = self.compile(raw, body.line_of("target"), scope,
                              f"{what}: 'target'") if "target" in body else None
        if target is not None and not target.members:  # a constant: check it now
            try:
                as_target(target.evaluate({}), name)
            except InvalidInput as exc:
                self.problem(body.line_of("target"), exc.detail)
                target = None
            except ExpressionError as exc:
                self.problem(body.line_of("target"), f"{what}: 'target' {exc}")
                target = None
        business = self.compile(body["business"], body.line_of("business"), scope,
                                f"{what}: 'business'") if "business" in body else None
        refs = {key: self.names(body, key, set(states), what, "state")
                for key in ("start_in", "stop_in", "pause_in")}
        refs.update(self.clock_triggers(body, triggers, what))
        if not refs["stop_in"] and not refs["stop_on"] and not any(
                s.final for s in states.values()):  # a final state stops every clock
            self.problem(line, f"{what} never stops: give 'stop_in' or 'stop_on'")
        chosen, calendar = None, None
        if isinstance(body.get("calendar"), str) and not IDENTIFIER.match(body["calendar"]):
            chosen = self.compile(body["calendar"], body.line_of("calendar"), scope,
                                  f"{what}: 'calendar'")
            calendar = default_calendar or ""  # the expression decides; this is for the check
        else:
            calendar = self.calendar_ref(body, what) or default_calendar
        if calendar is None:
            self.problem(line, f"{what} has no calendar: add 'calendar:' to it or to 'sla:' "
                         "(a 24/7 calendar counts every hour; CEL may choose one by the case)")
        warn_at = self.fraction(body, "warn_at", what, upper=1.0)
        if target is None or calendar is None or ("business" in body and business is None):
            return None
        return ClockSpec(name, target, tuple(refs["start_on"]), tuple(refs["start_in"]),
                         tuple(refs["stop_on"]), tuple(refs["stop_in"]),
                         tuple(refs["pause_in"]), business, calendar or None, chosen, warn_at,
                         line, tuple(refs["restart_on"]))

    def clock_triggers(self, body: Node, triggers: set[str], what: str) -> dict[str, list[str]]:
        """A clock's start_on, stop_on and restart_on (triggers or signals)."""
        refs = {key: self.names(body, key, triggers, what, "trigger")
                for key in ("start_on", "stop_on", "restart_on")}
        both = set(refs["restart_on"]) & set(refs["stop_on"])
        if both:
            self.problem(body.line_of("restart_on"), f"{what} both stops and restarts on "
                         f"{', '.join(sorted(both))}: name each in one of them")
        return refs

    def fraction(self, node: Node, key: str, what: str, upper: float) -> float | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not \
                0 < value < upper:
            self.problem(node.line_of(key), f"{what}: '{key}' must be a fraction of the target "
                         f"between 0 and {upper:g} (e.g. 0.8), not {value!r}")
            return None
        return float(value)

    def ladder(self, node: Node, key: str, case: frozenset[str]) -> str | None:
        name = node.get(key)
        if name is None:
            return None
        if not isinstance(name, str):
            self.problem(node.line_of(key), f"'sla': '{key}' must name a decision table")
            return None
        if self.tables is None:
            return name
        table = self.tables.get(name, None) if name in self.tables else None
        if name not in self.tables:
            self.problem(node.line_of(key), f"'sla': '{key}' names unknown table '{name}'"
                         f"{suggest(name, self.tables)} (tables: {known_list(self.tables)})")
        elif table is not None and ("level" not in table.outputs
                                    or "lateness" not in table.inputs):
            self.problem(node.line_of(key), f"'sla': '{key}' table '{name}' must read input "
                         "'lateness' and give output 'level' (and may give 'notify', "
                         "'raise_priority' and case fields)")
        elif table is not None:
            for missing in sorted(set(table.inputs) - case - {"lateness", "clock"}):
                self.problem(node.line_of(key), f"'sla': '{key}' table '{name}' reads "
                             f"'{missing}', which is neither a case field nor 'lateness' or "
                             "'clock'")
        return name
