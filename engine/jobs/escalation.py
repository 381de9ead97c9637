"""A clock reaching a lateness step: warned or breached, and the escalation ladder climbed.

At each step the SLA's table (`on_warn` below the breach, `on_breach` from it) decides a level
from the lateness (and any case fields it reads). Only a level above the one the clock reached
escalates, so every level happens once however often the clock is looked at: the named people
are notified (in the app, and by a notice in the outbox if they chose email for SLA warnings
or breaches: engine/cases/notifying.py), the case's `priority` field moves one value up if the
table says `raise_priority`, and any other output (queue, assignee, a field) is set on the
case. All of it, with its history, is written in the worker's transaction for the timer. The
case's assignee hears of the clock's warning and of its breach too, whatever the table names.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from engine.cases.deciding import run_decision
from engine.cases.notifying import deliver
from engine.cases.runtime import Actor, Runtime, case_values, context_for
from engine.kernel.errors import CaseworkError, Problem
from engine.kernel.history import EventDraft, iso
from engine.kernel.notifications import NewNotification, NotificationKind
from engine.kernel.records import (
    CaseRecord,
    ClockRecord,
    ClockStatus,
    TimerRecord,
    Transaction,
)
from engine.kernel.specs import ClockSpec, DecideAction, SlaSpec, WorkflowSpec
from engine.sla.clocks import Reckoner, look
from engine.workflows.registry import Registry

SYSTEM = Actor("casework", "system")
LADDER_OUTPUTS = frozenset({"level", "notify", "raise_priority"})
PRIORITY = "priority"  # the enum field `raise_priority` moves up, if the workflow has one
NOTICE_TEMPLATE = "sla_escalation.txt"
DEFAULT_NOTICE = """\
{{ workflow }} case {{ case.id }}: {{ clock }} {{ "breached" if lateness >= 1 else "at risk" }} \
(escalation level {{ level }})
Case {{ case.id }} ({{ workflow }}) is in state {{ case.state }}\
{% if case.queue %}, queue {{ case.queue }}{% endif %}\
{% if case.assignee %}, with {{ case.assignee }}{% else %}, with nobody{% endif %}.
Customer: {{ case.customer or "none" }}

The {{ clock }} clock has used {{ "%.0f" % (lateness * 100) }}% of its {{ target_hours }} h \
target{% if due_at %}; it is due {{ due_at }}{% endif %}.
Escalation level {{ level }} was decided by {{ table }} v{{ version }}, row {{ row }}.
"""


class Notices:
    """Renders notices from a Jinja2 template: rules/notices/sla_escalation.txt in the home if
    there is one (first line the subject, the rest the body), else the built-in one."""

    def __init__(self, home: Path | None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if home is not None:
            loaders.append(jinja2.FileSystemLoader(home / "rules" / "notices"))
        loaders.append(jinja2.DictLoader({NOTICE_TEMPLATE: DEFAULT_NOTICE}))
        self.environment = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                                              undefined=jinja2.StrictUndefined,
                                              keep_trailing_newline=True, autoescape=False)

    def problems(self) -> list[Problem]:
        """A home template that Jinja2 cannot read, at its line (for `casework check`)."""
        try:
            self.environment.get_template(NOTICE_TEMPLATE)
        except jinja2.TemplateSyntaxError as exc:
            return [Problem(str(exc.filename or NOTICE_TEMPLATE), exc.lineno, exc.message or
                            "not a Jinja2 template")]
        return []

    def render(self, values: Mapping[str, Any]) -> tuple[str, str]:
        text = self.environment.get_template(NOTICE_TEMPLATE).render(values)
        subject, _, body = text.partition("\n")
        return subject.strip()[:300], body.strip() + "\n"


class Escalator:
    def __init__(self, runtime: Runtime, registry: Registry, reckoner: Reckoner,
                 notices: Notices) -> None:
        self.runtime = runtime
        self.registry = registry
        self.reckoner = reckoner
        self.notices = notices

    def look(self, tx: Transaction, timer: TimerRecord, now: datetime) -> str:
        """Handle an SLA timer: what happened, for the timer's outcome."""
        case = tx.get_case(timer.case_id)
        spec = self.registry.get(case.definition_id).spec
        sla, clock_spec = _clock_spec(spec, timer.name)
        clock = tx.clocks(case.id).get(timer.name)
        step = timer.step or 0.0
        if clock is None or clock.status != ClockStatus.RUNNING or step <= clock.step:
            return "nothing to do: the clock moved on"  # stale: its plan was replaced
        clock, work, lateness = look(sla, clock_spec, clock, step, self.reckoner, now)
        values = case_values(spec, case.fields)
        moved, drafts = case, list(work.drafts)
        told: list[NewNotification] = []
        table = sla.on_warn if step < 1.0 else sla.on_breach
        if table is not None:
            moved, clock, decided, told = self._climb(tx, spec, case, values, clock, table,
                                                      lateness, now)
            drafts += decided
        told += _assignee_told(spec, case, clock.name, work.drafts, told)
        tx.save_clocks([clock])
        tx.arm_timers(work.timers, now)
        deliver(tx, told, now)
        self.runtime.amend(tx, case, moved, values, drafts, SYSTEM, now)
        return f"looked at {timer.name} at {step:g}; level {clock.level}"

    def _climb(self, tx: Transaction, spec: WorkflowSpec, case: CaseRecord,
               values: dict[str, Any], clock: ClockRecord, table_name: str, lateness: float,
               now: datetime) -> tuple[CaseRecord, ClockRecord, list[EventDraft],
                                       list[NewNotification]]:
        table = self.registry.active_table(table_name, now)
        action = DecideAction(table_name)
        moved, decided, decision = run_decision(
            table, action, spec, case, values,
            lambda e: context_for(e, spec, case, values, SYSTEM, now),
            given={"lateness": lateness, "clock": clock.name}, own=LADDER_OUTPUTS)
        outputs = decision.outputs
        assert isinstance(outputs, Mapping)  # run_decision refuses a list
        level = int(outputs.get("level") or 0)
        if level <= clock.level:
            return case, clock, [], []  # this level (or a higher one) happened already
        if outputs.get("raise_priority"):
            _raise_priority(spec, values)
        people = self._recipients(tx, case, outputs.get("notify"))
        clock = clock.evolve(level=level)
        row = decision.matched[0] if decision.matched else None
        subject_body = self.notices.render({
            "workflow": spec.name, "case": case, "clock": clock.name, "lateness": lateness,
            "level": level, "target_hours": _hours(clock), "table": table.name,
            "version": table.version, "row": row,
            "due_at": iso(clock.due_at) if clock.due_at else None})
        kind = NotificationKind.SLA_BREACH if lateness >= 1 else NotificationKind.SLA_WARNING
        told = [NewNotification(name, kind, case.id, *subject_body) for name in people]
        escalated = EventDraft("sla.escalated", {
            "clock": clock.name, "level": level, "lateness": lateness,
            "notify": people, "table": table.name,
            "version": table.version, "matched": list(decision.matched),
            "raise_priority": bool(outputs.get("raise_priority"))})
        return moved, clock, [decided, escalated], told

    @staticmethod
    def _recipients(tx: Transaction, case: CaseRecord, notify: Any) -> list[str]:
        """Who a ladder's `notify` names: the assignee (else the supervisors), the customer's
        account manager (else every account manager), or everyone holding a role."""
        names = [notify] if isinstance(notify, str) else list(notify or [])
        found: set[str] = set()
        for who in names:
            if who == "nobody":
                continue
            person, role = None, who
            if who == "assignee":
                person, role = case.assignee, "supervisor"
            elif who == "account_manager" and case.customer:
                person = tx.customer_owner(case.customer)
            if person:
                found.add(person)
            else:
                found.update(name for name, _ in tx.recipients(role))
        return sorted(found)


def _assignee_told(spec: WorkflowSpec, case: CaseRecord, clock: str,
                   drafts: list[EventDraft], told: list[NewNotification]) -> list[NewNotification]:
    """The assignee hears that a clock of their case warned or breached (once each, when it
    does), unless the escalation named them already."""
    warned = {d.name for d in drafts} & {"sla.warned", "sla.breached"}
    if case.assignee is None or not warned or any(t.user == case.assignee for t in told):
        return []
    breached = "sla.breached" in warned
    kind = NotificationKind.SLA_BREACH if breached else NotificationKind.SLA_WARNING
    if told:  # the ladder climbed: the assignee reads the notice its people read
        return [NewNotification(case.assignee, kind, case.id, told[0].title, told[0].text)]
    what = "has breached its target" if breached else "is at risk"
    return [NewNotification(case.assignee, kind, case.id,
                            f"{spec.name} case {case.id}: {clock} {what}",
                            f"The {clock} clock of {spec.name} case {case.id}, assigned to you, "
                            f"{what}.")]


def _clock_spec(spec: WorkflowSpec, name: str) -> tuple[SlaSpec, ClockSpec]:
    clock = next((c for c in spec.sla.clocks if c.name == name), None) if spec.sla else None
    if spec.sla is None or clock is None:
        raise CaseworkError(f"workflow '{spec.name}' v{spec.version} has no SLA clock '{name}'")
    return spec.sla, clock


def _raise_priority(spec: WorkflowSpec, values: dict[str, Any]) -> None:
    """Move the `priority` enum field one value on (values are listed lowest first)."""
    field = spec.fields.get(PRIORITY)
    if field is None or not field.values:
        return
    order = list(field.values)
    current = values.get(PRIORITY)
    at = order.index(current) if current in order else -1
    values[PRIORITY] = order[min(at + 1, len(order) - 1)]


def _hours(clock: ClockRecord) -> str:
    hours = clock.target.total_seconds() / 3600 if clock.target else 0.0
    return f"{hours:g}"
