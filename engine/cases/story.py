"""A case's history told as a story: one entry per step (a case opened, a step fired by a
person or a timer, a comment, a claim, the worker looking at a late clock), with what the step
decided, changed and did to the SLA clocks folded under it, each in a sentence and in the
workflow's titles (state, transition and field titles), never raw names or expressions.

The events of one step are written together: the same instant, actor and role, in sequence. A
step begins with the event that opens it (`case.created`, `case.transitioned`,
`case.commented`, `timer.skipped`) or where the instant, actor or role changes; the events up
to the next beginning are its details. The raw events stay what the audit pages show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.kernel.history import Event
from engine.kernel.personal import reveal
from engine.kernel.specs import WorkflowSpec

OPENS_A_STEP = frozenset({"case.created", "case.transitioned", "case.commented",
                          "timer.skipped"})


@dataclass(frozen=True)
class Detail:
    """One thing a step did, in a sentence; `kind` groups it (decision, field, clock,
    assignment, mail, other) for the page's styling."""

    kind: str
    text: str
    more: str | None = None  # a decision's inputs: "given Category billing, Channel phone"


@dataclass(frozen=True)
class Entry:
    """One step of the story: who, when, what in one line, and what it did folded under it.
    `text` is a comment's own words (shown as they were written); `seqs` are the events it
    tells, for those who want the raw ones."""

    at: datetime
    actor: str
    role: str | None
    kind: str  # the opening event's name with dots as dashes: case-transitioned, ...
    title: str
    details: tuple[Detail, ...] = ()
    text: str | None = None
    seqs: tuple[int, ...] = ()
    operator: bool = False  # written by the command line on the operator's own authority

    @property
    def summary(self) -> str:
        """What is folded under the entry, counted: "2 decisions, 6 fields, 2 clocks"."""
        counts: dict[str, int] = {}
        for detail in self.details:
            counts[detail.kind] = counts.get(detail.kind, 0) + 1
        return ", ".join(f"{n} {_NOUNS[kind][n != 1]}" for kind, n in counts.items())


_NOUNS = {"decision": ("decision", "decisions"), "field": ("field", "fields"),
          "clock": ("SLA clock change", "SLA clock changes"),
          "assignment": ("assignment", "assignments"), "mail": ("mail", "mails"),
          "other": ("other", "others")}


@dataclass
class _Step:
    head: Event
    payload: dict[str, Any]
    rest: list[tuple[Event, dict[str, Any]]] = field(default_factory=list)


def story(events: Iterable[Event], spec: WorkflowSpec,
          values: Mapping[str, Any] | None = None) -> list[Entry]:
    """The events (oldest first) as entries, oldest first; personal values from `values`
    (ref -> value or Erased, engine.kernel.personal) in place of their markers."""
    steps: list[_Step] = []
    for event in events:
        payload = json.loads(event.payload)
        if values:
            payload = reveal(payload, values)
        last = steps[-1] if steps else None
        if last is None or event.name in OPENS_A_STEP or _who(event) != _who(last.head):
            steps.append(_Step(event, payload))
        else:
            last.rest.append((event, payload))
    words = Words(spec)
    return [_entry(step, words) for step in steps]


def _who(event: Event) -> tuple[datetime, str, str | None]:
    return event.at, event.actor, event.role


def _entry(step: _Step, words: Words) -> Entry:
    head, payload = step.head, step.payload
    told = [(head, payload)] if head.name not in OPENS_A_STEP else []
    details = tuple(words.detail(e, p) for e, p in [*told, *step.rest])
    if head.name == "case.created":  # what the case came in with
        details = (*(Detail("field", f"{words.field(k)}: {words.value(v)}")
                     for k, v in words.in_order(payload.get("fields") or {})), *details)
    title = words.opening(head, payload) if head.name in OPENS_A_STEP else details[0].text
    if head.name not in OPENS_A_STEP:
        details = details[1:]
    return Entry(head.at, head.actor, head.role, head.name.replace(".", "-"), title, details,
                 payload.get("text") if head.name == "case.commented" else None,
                 (head.seq, *(e.seq for e, _ in step.rest)), bool(payload.get("operator")))


class Words:
    """The sentences of one workflow's events, in its titles."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec

    # --- names as people read them ----------------------------------------------------------

    def state(self, name: str | None) -> str:
        found = self.spec.states.get(name or "")
        return (found.title if found and found.title else _plain(name or "none"))

    def step(self, trigger: str) -> str:
        found = next((t for t in self.spec.transitions if t.trigger == trigger), None)
        return found.title if found and found.title else _plain(trigger).capitalize()

    def field(self, name: str) -> str:
        found = self.spec.fields.get(name)
        return found.title if found and found.title else _plain(name).capitalize()

    def value(self, value: Any) -> str:
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list):
            return ", ".join(self.value(v) for v in value) or "none"
        return str(value)

    def in_order(self, values: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Values by case field as the workflow declares its fields, any others after."""
        known = [(k, values[k]) for k in self.spec.fields if k in values]
        return known + [(k, v) for k, v in values.items() if k not in self.spec.fields]

    # --- the step's own line ----------------------------------------------------------------

    def opening(self, event: Event, payload: Mapping[str, Any]) -> str:
        if event.name == "case.created":
            return f"Opened as {self.spec.title or self.spec.name} v{payload.get('version')}, " \
                   f"{self.state(event.to_state)}"
        if event.name == "case.commented":
            return "Commented"
        if event.name == "timer.skipped":
            return (f"Timer {_plain(str(payload.get('timer')))} did not "
                    f"{self.step(str(payload.get('trigger'))).lower()}: {payload.get('reason')}")
        line = f"{self.step(str(payload.get('trigger')))}: {self.state(event.from_state)} → " \
               f"{self.state(event.to_state)}"
        if payload.get("timer"):
            line += f" (timer {_plain(str(payload['timer']))})"
        if payload.get("because"):
            line += " (after a change to the customer)"
        return line

    # --- what a step did --------------------------------------------------------------------

    def detail(self, event: Event, payload: Mapping[str, Any]) -> Detail:
        name = event.name
        if name == "rule.decided":
            given = ", ".join(f"{self.field(k) if k in self.spec.fields else _plain(k)} "
                              f"{self.value(v)}"
                              for k, v in self.in_order(payload.get("inputs") or {}))
            return Detail("decision", self.decision(payload), f"given {given or 'nothing'}")
        if name == "case.field_changed":
            return Detail("field", self.change(payload))
        if name == "case.assigned":
            return Detail("assignment", _assigned(payload.get("from"), payload.get("to")))
        if name.startswith("sla."):
            return Detail("clock", self.clock(name, payload))
        if name.startswith("case.mail"):
            return Detail("mail", _mailed(name, payload))
        return Detail("other", f"{_plain(name.partition('.')[2] or name).capitalize()}: "
                      + _pairs({k: v for k, v in payload.items() if k != "operator"}))

    def decision(self, payload: Mapping[str, Any]) -> str:
        """A decision in one sentence: the table, its version, the rows that matched and what
        it gave, by the titles of the fields it sets ("complaint_sla v2 chose ordinary-high:
        First response target (hours) 8, Resolution target (hours) 40, ...")."""
        rows = ", ".join(payload.get("matched") or []) or "no row"
        outputs = payload.get("outputs") or {}
        said = ", ".join(f"{self.field(k) if k in self.spec.fields else _plain(k)} "
                         f"{self.value(v)}" for k, v in self.in_order(outputs))
        return f"{payload.get('table')} v{payload.get('version')} chose {rows}" + \
            (f": {said}" if said else "")

    def change(self, payload: Mapping[str, Any]) -> str:
        title, old, new = self.field(str(payload.get("field"))), payload.get("old"), \
            payload.get("new")
        if new is None:
            return f"{title} cleared (was {self.value(old)})"
        if old is None:
            return f"{title} set to {self.value(new)}"
        return f"{title} changed from {self.value(old)} to {self.value(new)}"

    def clock(self, name: str, payload: Mapping[str, Any]) -> str:
        """An SLA clock's event in a sentence ("Resolution clock started: 80 h of business
        time", "Resolution clock paused while waiting for the customer")."""
        kind = name.partition(".")[2]
        reason = self.state(str(payload.get("reason")))
        facts = {
            "clock": _plain(str(payload.get("clock"))).capitalize(),
            "spent": _hours(payload.get("elapsed")), "target": _hours(payload.get("target")),
            "old": _hours(payload.get("old")), "new": _hours(payload.get("new")),
            "time": "business time" if payload.get("business", True) else "calendar time",
            "reason": reason[:1].lower() + reason[1:], "level": payload.get("level"),
            "people": ", ".join(payload.get("notify") or []) or "nobody"}
        if kind == "started" and payload.get("target") is None:
            return "{clock} clock started, with no target yet".format(**facts)
        if kind == "retargeted" and payload.get("old") is None:
            return "{clock} target set: {new}".format(**facts)
        return _CLOCK_SAYS.get(kind, "{clock}: " + kind).format(**facts)


_CLOCK_SAYS = {
    "started": "{clock} clock started: {target} of {time}",
    "paused": "{clock} clock paused while {reason}",
    "resumed": "{clock} clock running again ({spent} counted)",
    "retargeted": "{clock} target changed from {old} to {new}",
    "met": "{clock} met: {spent} of {target}",
    "stopped": "{clock} clock stopped, late: {spent} of {target}",
    "warned": "{clock} warning: {spent} of {target} counted",
    "breached": "{clock} breached: {spent} of {target} counted",
    "escalated": "{clock} escalated to level {level}: told {people}",
}


def _assigned(before: str | None, after: str | None) -> str:
    if after is None:
        return f"Given back by {before}" if before else "Unassigned"
    return f"Assigned to {after}" + (f" (was {before})" if before else "")


def _hours(value: Any) -> str:
    if value is None:
        return "no target"
    return f"{float(value):g} h"


def _plain(name: str) -> str:
    return name.replace("_", " ")


def _pairs(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{_plain(k)} {v}" for k, v in values.items()) or "nothing more"


def newest_first(entries: Sequence[Entry]) -> list[Entry]:
    """The story as the case page shows it: the newest step on top."""
    return list(reversed(entries))


def _mailed(name: str, payload: Mapping[str, Any]) -> str:
    """A mail to the customer in a sentence, by its template (the text is in the outbox)."""
    template = _plain(str(payload.get("template")))
    if name == "case.mailed":
        return (f"Mailed the customer: {template} ({payload.get('language')}), outbox "
                f"#{payload.get('outbox')}")
    return f"Not mailed to the customer: {template}; {payload.get('reason')}"
