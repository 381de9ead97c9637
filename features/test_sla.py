"""Steps for sla.feature (the shared ones are in conftest.py). The worker runs as an operator
runs it, `fire_due_timers(now)` at the instants the scenario names."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import Actor
from engine.kernel.records import ClockRecord, OutboxRow
from features.desk import Clock, Desk, moment

scenarios("sla.feature")


@given(parsers.parse('the service desk: agent "{agent}", supervisor "{supervisor}", account '
                     'manager "{manager_of_accounts}", manager "{manager}"'),
       target_fixture="desk")
def service_desk(desk_database: str, agent: str, supervisor: str, manager_of_accounts: str,
                 manager: str) -> Desk:
    roles = {agent: "agent", supervisor: "supervisor", manager_of_accounts: "account_manager",
             manager: "manager"}
    desk = Desk(desk_database, Clock(moment("Monday 2 March 2026, 09:00 UTC")), roles)
    casework = desk.open()
    try:
        for name, role in roles.items():
            casework.store.add_user(name, [role], desk.clock.now, email=f"{name}@example.org")
    finally:
        casework.close()
    return desk


@given(parsers.parse("it is {text}"))
def it_is(desk: Desk, text: str) -> None:
    desk.clock.now = moment(text)


@given(parsers.parse('{tier} customer "{customer}" has complained by {channel}: "{summary}"'),
       target_fixture="complaint")
def complains(desk: Desk, tier: str, customer: str, channel: str, summary: str) -> int:
    casework = desk.open()
    try:
        # the customer's record holds its tier; the complaint takes it at intake
        casework.customers.add(customer, desk.clock.now, tier=tier)
        return casework.runtime.start("complaint", {"channel": channel, "summary": summary},
            Actor("ann", "agent"), desk.clock.now, customer=customer).id
    finally:
        casework.close()


@when(parsers.parse("{amount:d} {unit} pass"))
def time_passes(desk: Desk, amount: int, unit: str) -> None:
    desk.clock.now += timedelta(**{unit: amount})


def resolution(desk: Desk, complaint: int) -> tuple[ClockRecord, timedelta]:
    casework = desk.open()
    try:
        [clock] = [c for c in casework.timers.clocks(complaint) if c.name == "resolution"]
        return clock, casework.runtime.scheduler.reckoner.spent(clock, desk.clock.now)
    finally:
        casework.close()


@then(parsers.parse("its resolution clock is due on {text}"))
def due_on(desk: Desk, complaint: int, text: str) -> None:
    assert resolution(desk, complaint)[0].due_at == moment(text)


@then(parsers.parse('its resolution clock is "{shown}"'))
def clock_shows(desk: Desk, complaint: int, shown: str) -> None:
    assert resolution(desk, complaint)[0].shown == shown


@then(parsers.parse('its resolution clock is "{shown}" after {hours:d} business hours'))
def clock_counted(desk: Desk, complaint: int, shown: str, hours: int) -> None:
    clock, spent = resolution(desk, complaint)
    assert (clock.shown, spent) == (shown, timedelta(hours=hours))


def events(desk: Desk, complaint: int, name: str) -> list[Any]:
    casework = desk.open()
    try:
        return [e for e in casework.store.case_events(complaint) if e.name == name]
    finally:
        casework.close()


@then(parsers.parse("the history records the breach at {text}"))
def breach_recorded(desk: Desk, complaint: int, text: str) -> None:
    [breach] = events(desk, complaint, "sla.breached")
    assert (breach.at, json.loads(breach.payload)["clock"]) == (moment(text), "resolution")


def notices(desk: Desk) -> list[OutboxRow]:
    casework = desk.open()
    try:
        return casework.timers.notices()
    finally:
        casework.close()


@then("no notice has been sent")
def no_notice(desk: Desk) -> None:
    assert notices(desk) == []


@then("the outbox holds exactly")
def outbox_holds(desk: Desk, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["to", "about"]
    found = notices(desk)
    assert [n.recipient for n in found] == [to for to, _ in rows]
    for notice, (to, about) in zip(found, rows, strict=True):
        assert about in notice.subject, notice.subject
        assert notice.address == f"{to}@example.org"


@then(parsers.parse("the history shows escalation levels 1, 2 and 3 at"))
def escalations_at(desk: Desk, complaint: int, datatable: list[list[str]]) -> None:
    _, *rows = datatable
    seen = [(str(json.loads(e.payload)["level"]), e.at)
            for e in events(desk, complaint, "sla.escalated")]
    assert seen == [(level, moment(when)) for level, when in rows]


@then(parsers.parse('the complaint\'s priority is "{priority}"'))
def priority_is(desk: Desk, complaint: int, priority: str) -> None:
    assert desk.case(complaint).fields["priority"] == priority
