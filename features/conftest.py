"""Steps and fixtures the features share: the database, the clock, the complaint's common
moves and the auditor's check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from engine.kernel.settings import Settings
from engine.wiring import open_casework
from features.desk import ROOT, Clock, Desk, moment
from tests.fixtures import publish_shipped


@pytest.fixture(autouse=True)
def desk_database(database_url: str) -> Iterator[str]:
    """Every scenario runs once on SQLite and once on PostgreSQL (autouse: collected params)."""
    casework = open_casework(Settings(home=ROOT, database_url=database_url))
    publish_shipped(casework, datetime(2026, 1, 1, tzinfo=UTC))
    casework.close()
    yield database_url


@given(parsers.parse("it is {text}"), target_fixture="clock")
def clock(text: str) -> Clock:
    return Clock(moment(text))


@when(parsers.parse('"{who}" triages it as a "{category}" complaint of "{severity}" severity'))
@given(parsers.parse('"{who}" has triaged it as a "{category}" complaint of "{severity}" '
                     "severity"))
def triages(desk: Desk, complaint: int, who: str, category: str, severity: str) -> None:
    desk.fire(complaint, who, "triage", category=category, severity=severity)


@when(parsers.parse('"{who}" asks the customer: "{question}"'))
def asks(desk: Desk, complaint: int, who: str, question: str) -> None:
    desk.fire(complaint, who, "ask_customer", question=question)


@when(parsers.parse('"{who}" records the customer\'s answer: "{answer}"'))
def answer(desk: Desk, complaint: int, who: str, answer: str) -> None:
    desk.fire(complaint, who, "customer_replied", answer=answer)


@when(parsers.parse('"{who}" resolves it with {remedy}: "{resolution}", the root cause being '
                    '"{cause}"'))
@given(parsers.parse('"{who}" has resolved it with {remedy}: "{resolution}", the root cause '
                     'being "{cause}"'))
def resolves(desk: Desk, complaint: int, who: str, remedy: str, resolution: str,
             cause: str) -> None:
    desk.fire(complaint, who, "resolve", resolution=resolution, root_cause=cause,
              remedy=remedy.removeprefix("a ").removeprefix("an "))


@when(parsers.parse("{amount:d} {unit} pass"))
def time_passes(clock: Clock, amount: int, unit: str) -> None:
    clock.now += timedelta(**{unit: amount})


@when(parsers.parse('"{who}" sends the first response: "{text}"'))
@given(parsers.parse('"{who}" has sent the first response: "{text}"'))
def responds(desk: Desk, complaint: int, who: str, text: str) -> None:
    desk.fire(complaint, who, "respond", first_response=text)


def sweep(desk: Desk, at: Any) -> int:
    casework = desk.open()
    try:
        return casework.worker.fire_due_timers(at)
    finally:
        casework.close()


@when(parsers.parse("the worker runs on {text}"))
def worker_runs_on(desk: Desk, text: str) -> None:
    desk.clock.now = moment(text)
    sweep(desk, desk.clock.now)


@when("the worker runs")
def worker_runs(desk: Desk) -> None:
    sweep(desk, desk.clock.now)


@when(parsers.parse("the worker runs every hour until {text}"))
def worker_runs_hourly(desk: Desk, text: str) -> None:
    end = moment(text)
    while desk.clock.now < end:
        desk.clock.now += timedelta(hours=1)
        sweep(desk, desk.clock.now)


@then(parsers.parse('the complaint is "{state}" in the "{queue}" queue'))
def in_queue(desk: Desk, complaint: int, state: str, queue: str) -> None:
    case = desk.case(complaint)
    assert (case.state, case.queue) == (state, queue)


@then("an auditor finds every history intact")
def history_intact(desk: Desk) -> None:
    casework = desk.open()
    try:
        checked, _, breaks = casework.verify_history()
    finally:
        casework.close()
    assert checked >= 1
    assert breaks == []
