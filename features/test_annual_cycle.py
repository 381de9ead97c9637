"""Steps for annual_cycle.feature (the shared ones are in conftest.py).

The customer base is real: every fourth customer of the CDNOW sample, moved into 2024 and 2025,
beside the enterprise customers the scenarios talk about, so that `tiering.recompute` fits its
models and decides the tiers as it does in production. The manager opens the year's cycles and
the auditor reads a history through the real `casework` command line; the rest goes through the
Python API, each step on a freshly opened casework (features.desk).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import GUARD_UNMET, Actor
from engine.cli.main import main
from engine.demodata import CDNOW_SAMPLE
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import Event, iso
from engine.store.schema import cases, timers
from features.desk import ROOT, Clock, Desk, moment

scenarios("annual_cycle.feature")

WORKFLOW = "annual_cycle"
MANAGED = ("strategic", "key")
ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5}
KPIS = ("sales_growth", "satisfaction", "retention", "repeat_purchase_rate")


@dataclass
class Attempt:
    """What a refused or invalid fire raised."""

    error: TransitionRefused | InvalidInput


# --- the accounts and their customers ------------------------------------------------------

@given(parsers.parse('account manager "{manager_of_accounts}", manager "{manager}", agent '
                     '"{agent}" and auditor "{auditor}" work the accounts'),
       target_fixture="desk")
def accounts(desk_database: str, clock: Clock, manager_of_accounts: str, manager: str,
             agent: str, auditor: str) -> Desk:
    roles = {manager_of_accounts: "account_manager", manager: "manager", agent: "agent",
             auditor: "auditor"}
    desk = Desk(desk_database, clock, roles)
    casework = desk.open()
    try:
        for name, role in roles.items():
            casework.store.add_user(name, [role], clock.now)
    finally:
        casework.close()
    return desk


def import_csv(desk: Desk, path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(["customer,date,amount,quantity", *lines]) + "\n")
    casework = desk.open()
    try:
        done = casework.customers.import_file(path, "csv", desk.clock.now)
    finally:
        casework.close()
    assert not done.skipped and done.already is None


@given(parsers.parse("the rest of the customer base is every {nth} customer of the CDNOW "
                     "sample, their purchases moved {years:d} years on to {first:d} and {last:d}"))
def customer_base(desk: Desk, tmp_path: Path, nth: str, years: int, first: int,
                  last: int) -> None:
    """A real customer base for the tier models to fit (a part of it: the whole sample makes
    hundreds of managed customers, each with its cases, and every scenario slow)."""
    every = ORDINALS[nth]
    lines = []
    for line in CDNOW_SAMPLE.read_text().splitlines():
        customer, _, day, quantity, amount = line.split()
        if int(customer) % every:
            continue
        moved = datetime.strptime(day, "%Y%m%d").date()
        moved = moved.replace(year=moved.year + years)
        assert first <= moved.year <= last
        lines.append(f"{customer},{moved.isoformat()},{amount},{quantity}")
    import_csv(desk, tmp_path / "cdnow-moved.csv", lines)


@given(parsers.parse("these enterprise customers bought in {year:d}"),
       target_fixture="customers")
def enterprise_customers(desk: Desk, tmp_path: Path, year: int,
                         datatable: list[list[str]]) -> dict[str, str]:
    header, *rows = datatable
    assert header == ["customer", "name", "bought on", "each"]
    named, lines = {}, []
    casework = desk.open()
    try:
        for customer, name, days, each in rows:
            assert casework.customers.add(customer, desk.clock.now, type="enterprise", name=name)
            named[name] = customer
            for day in filter(None, (d.strip() for d in days.split(","))):
                bought = datetime.strptime(f"{day} {year}", "%d %b %Y").date()
                lines.append(f"{customer},{bought.isoformat()},{each},1")
    finally:
        casework.close()
    import_csv(desk, tmp_path / f"enterprise-{year}.csv", lines)
    return named


@given(parsers.parse("the tiers have been recomputed as of {day}"))
def tiers_recomputed(desk: Desk, day: str) -> None:
    casework = desk.open()
    try:
        casework.tiering.recompute(datetime.strptime(day, "%d %B %Y").date(), desk.clock.now)
    finally:
        casework.close()


@then("the customers' tiers are")
def tiers_are(desk: Desk, customers: dict[str, str], datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["customer", "tier"]
    casework = desk.open()
    try:
        seen = [[name, casework.customers.customer(customers[name]).record.tier]
                for name, _ in rows]
    finally:
        casework.close()
    assert seen == rows


# --- opening the year's cycles -------------------------------------------------------------

def run_cli(desk: Desk, command: str) -> Result:
    """A `casework ...` command line, run as an operator runs it at the desk's time."""
    program, *args = shlex.split(command)
    assert program == "casework"
    env = {"CASEWORK_DATABASE_URL": desk.database_url, "CASEWORK_NOW": iso(desk.clock.now)}
    return CliRunner().invoke(main, [*args, "--home", str(ROOT)], env=env)


@when(parsers.parse('"{who}" runs "{command}" again'), target_fixture="opened")
@when(parsers.parse('"{who}" runs "{command}"'), target_fixture="opened")
def runs_cycles(desk: Desk, who: str, command: str) -> dict[str, Any]:
    assert desk.roles[who] == "manager"
    result = run_cli(desk, command)
    assert result.exit_code == 0, result.output
    opened: dict[str, Any] = json.loads(result.stdout)
    assert opened["workflow"] == WORKFLOW
    return opened


@given(parsers.parse("the {year:d} cycles have been opened"), target_fixture="cycles")
def cycles_opened(desk: Desk, customers: dict[str, str], year: int) -> dict[str, int]:
    casework = desk.open()
    try:
        done = casework.opening.cycles(year, desk.clock.now)
    finally:
        casework.close()
    assert set(customers.values()) & set(done.started) == {customers["Northwind"],
                                                            customers["Contoso"]}
    return {name: done.started[customer] for name, customer in customers.items()
            if customer in done.started}


def annual_cycles(desk: Desk) -> list[tuple[str, int, str, str | None, dict[str, Any]]]:
    """(customer, case, state, queue, fields) of every annual cycle."""
    casework = desk.open()
    try:
        with casework.database.reading() as connection:
            rows = connection.execute(
                sa.select(cases.c.customer, cases.c.id, cases.c.state, cases.c.queue,
                          cases.c.fields).where(cases.c.workflow == WORKFLOW)).all()
    finally:
        casework.close()
    return [(str(c), int(i), str(s), q, dict(f)) for c, i, s, q, f in rows]


def managed(desk: Desk) -> set[str]:
    casework = desk.open()
    try:
        return {customer for customer, _, _ in casework.customers.tiered(MANAGED)}
    finally:
        casework.close()


@then(parsers.parse('every strategic and key customer has one {year:d} cycle, waiting for its '
                    'goals in the "{queue}" queue'))
def one_cycle_each(desk: Desk, opened: dict[str, Any], year: int, queue: str) -> None:
    wanted = managed(desk)
    assert wanted  # the base has managed customers, not only the named ones
    assert set(opened["started"]) == wanted
    assert opened["skipped"] == {}
    found = annual_cycles(desk)
    assert sorted(customer for customer, *_ in found) == sorted(wanted)
    assert {opened["started"][customer] for customer in wanted} == {i for _, i, *_ in found}
    for _, _, state, in_queue, fields in found:
        assert (state, in_queue, fields["year"]) == ("setting_goals", queue, year)


@then(parsers.parse('the cycles of {first} and {second} remember the tier each customer had: '
                    '"{first_tier}" and "{second_tier}"'))
def cycles_remember_tiers(desk: Desk, customers: dict[str, str], first: str, second: str,
                          first_tier: str, second_tier: str) -> None:
    tiers = {customer: fields["tier"] for customer, _, _, _, fields in annual_cycles(desk)}
    assert (tiers[customers[first]], tiers[customers[second]]) == (first_tier, second_tier)


@then(parsers.parse("{first}, {second} and every other ordinary customer have no cycle"))
def ordinary_have_none(desk: Desk, customers: dict[str, str], first: str, second: str) -> None:
    casework = desk.open()
    try:
        ordinary = {customer for customer, _, _ in casework.customers.tiered(["ordinary"])}
    finally:
        casework.close()
    assert {customers[first], customers[second]} <= ordinary
    assert not ordinary & {customer for customer, *_ in annual_cycles(desk)}


@then(parsers.parse("{name}'s own history says its {year:d} cycle was started because the "
                    "year opened"))
def customer_history_says(desk: Desk, customers: dict[str, str], opened: dict[str, Any],
                          name: str, year: int) -> None:
    customer = customers[name]
    casework = desk.open()
    try:
        history = casework.customers.history(customer)
        created = casework.store.case_events(opened["started"][customer])[0]
    finally:
        casework.close()
    started = [json.loads(e.payload) for e in history if e.name == "customer.case_started"
               and json.loads(e.payload)["workflow"] == WORKFLOW]
    assert started == [{"workflow": WORKFLOW, "case": opened["started"][customer],
                        "on": "cycle.year_opened"}]
    assert (created.name, created.actor, created.role) == ("case.created", "casework", "system")
    assert json.loads(created.payload)["because"] == {"event": "cycle.year_opened", "year": year}


@then(parsers.parse('nothing is opened, and every strategic and key customer is passed over: '
                    '"{reason}"'))
def nothing_opened(desk: Desk, opened: dict[str, Any], reason: str) -> None:
    assert opened["started"] == {}
    assert opened["skipped"] == dict.fromkeys(managed(desk), reason)


@then(parsers.parse("every strategic and key customer still has exactly one {year:d} cycle"))
def still_one_each(desk: Desk, year: int) -> None:
    found = [(customer, fields["year"]) for customer, _, _, _, fields in annual_cycles(desk)]
    assert sorted(found) == sorted((customer, year) for customer in managed(desk))


# --- working a cycle -----------------------------------------------------------------------

def goals(growth: str, satisfaction: str, retention: str, repeat: str) -> dict[str, str]:
    return {"goal_sales_growth": growth, "goal_satisfaction": satisfaction,
            "goal_retention": retention, "goal_repeat_purchase_rate": repeat}


def attempt(desk: Desk, case_id: int, who: str, trigger: str, **fields: Any) -> Attempt:
    try:
        desk.fire(case_id, who, trigger, **fields)
    except (TransitionRefused, InvalidInput) as refused:
        return Attempt(refused)
    pytest.fail(f"{who} fired {trigger} on case {case_id}: it should have been refused")


@when(parsers.parse('"{who}" sets {name}\'s goals: sales growth {growth}, satisfaction '
                    '{satisfaction}, retention {retention}, repeat purchases {repeat}'))
@given(parsers.parse('"{who}" has set {name}\'s goals: sales growth {growth}, satisfaction '
                     '{satisfaction}, retention {retention}, repeat purchases {repeat}'))
def sets_goals(desk: Desk, cycles: dict[str, int], who: str, name: str, growth: str,
               satisfaction: str, retention: str, repeat: str) -> None:
    desk.fire(cycles[name], who, "set_goals", **goals(growth, satisfaction, retention, repeat))


@when(parsers.parse('"{who}" tries to set {name}\'s goals: sales growth {growth}, satisfaction '
                    '{satisfaction}, retention {retention}, repeat purchases {repeat}'),
      target_fixture="attempted")
def tries_to_set_goals(desk: Desk, cycles: dict[str, int], who: str, name: str, growth: str,
                       satisfaction: str, retention: str, repeat: str) -> Attempt:
    return attempt(desk, cycles[name], who, "set_goals",
                   **goals(growth, satisfaction, retention, repeat))


@when(parsers.parse('"{who}" tries to set {name}\'s goals with a {goal} of "{value}"'),
      target_fixture="attempted")
def tries_a_bad_goal(desk: Desk, cycles: dict[str, int], who: str, name: str, goal: str,
                     value: str) -> Attempt:
    fields = {**goals("0.10", "4.0", "1", "0.80"), f"goal_{goal.replace(' ', '_')}": value}
    return attempt(desk, cycles[name], who, "set_goals", **fields)


@when(parsers.parse('"{who}" records {name}\'s needs: "{needs}"'))
def records_needs(desk: Desk, cycles: dict[str, int], who: str, name: str, needs: str) -> None:
    desk.fire(cycles[name], who, "analyze", needs=needs)


@when(parsers.parse('"{who}" records {name}\'s strategy: "{strategy}"'))
def records_strategy(desk: Desk, cycles: dict[str, int], who: str, name: str,
                     strategy: str) -> None:
    desk.fire(cycles[name], who, "strategize", strategy=strategy)


@given(parsers.parse('"{who}" has recorded {name}\'s needs and strategy'))
def has_recorded_plan(desk: Desk, cycles: dict[str, int], who: str, name: str) -> None:
    desk.fire(cycles[name], who, "analyze", needs=f"What {name} needs this year")
    desk.fire(cycles[name], who, "strategize", strategy=f"How we serve {name} this year")


@given(parsers.parse('on {text} "{who}" has recorded {name}\'s needs and strategy'))
def has_recorded_plan_on(desk: Desk, cycles: dict[str, int], text: str, who: str,
                         name: str) -> None:
    desk.clock.now = moment(text)
    has_recorded_plan(desk, cycles, who, name)


@when(parsers.parse('"{who}" records the check-in with {name}: "{notes}"'))
@given(parsers.parse('"{who}" has recorded the check-in with {name}: "{notes}"'))
def records_checkin(desk: Desk, cycles: dict[str, int], who: str, name: str, notes: str) -> None:
    desk.fire(cycles[name], who, "record_checkin", checkin_notes=notes)


@given(parsers.parse("the worker has run on {text}"))
def worker_has_run(desk: Desk, text: str) -> None:
    desk.clock.now = moment(text)
    casework = desk.open()
    try:
        casework.worker.fire_due_timers(desk.clock.now)
    finally:
        casework.close()


@when(parsers.parse('"{who}" evaluates {name}\'s year on {text}'))
@given(parsers.parse('on {text} "{who}" has evaluated {name}\'s year'))
def evaluates(desk: Desk, cycles: dict[str, int], who: str, name: str, text: str) -> None:
    desk.clock.now = moment(text)
    desk.fire(cycles[name], who, "evaluate")


@when(parsers.parse('"{who}" tries to evaluate {name}\'s year on {text}'),
      target_fixture="attempted")
def tries_to_evaluate(desk: Desk, cycles: dict[str, int], who: str, name: str,
                      text: str) -> Attempt:
    desk.clock.now = moment(text)
    return attempt(desk, cycles[name], who, "evaluate")


@when(parsers.parse('"{who}" closes {name}\'s year: "{evaluation}"'))
@given(parsers.parse('"{who}" has closed {name}\'s year: "{evaluation}"'))
def closes_year(desk: Desk, cycles: dict[str, int], who: str, name: str,
                evaluation: str) -> None:
    desk.fire(cycles[name], who, "close", evaluation=evaluation)


# --- what the year brought: complaints and purchases -----------------------------------------

@given(parsers.parse("{name}'s complaints went like this"))
def complaints(desk: Desk, customers: dict[str, str], name: str,
               datatable: list[list[str]]) -> None:
    """Each complaint is made, triaged and answered when it came in, and resolved and rated
    when it was closed (an empty `closed on`: still open); all in the order of time."""
    header, *rows = datatable
    assert header == ["complained on", "closed on", "csat"]
    ann = next(who for who, role in desk.roles.items() if role == "agent")
    steps: list[tuple[datetime, int, str]] = []
    for number, (came, closed, _) in enumerate(rows):
        steps.append((moment(came), number, "open"))
        if closed:
            steps.append((moment(closed), number, "close"))
    opened: dict[int, int] = {}
    for at, number, step in sorted(steps):
        desk.clock.now = at
        if step == "open":
            opened[number] = complain(desk, customers[name], ann)
            continue
        case_id = opened[number]
        desk.fire(case_id, ann, "resolve", resolution="Credited the difference",
                  root_cause="a pricing error", remedy="refund")
        desk.fire(case_id, ann, "close", csat=int(rows[number][2]))
    for number, (_, closed, _) in enumerate(rows):
        case = desk.case(opened[number])
        assert (case.closed_at is None) == (not closed)
        if closed:
            assert case.closed_at == moment(closed)


def complain(desk: Desk, customer: str, agent: str) -> int:
    casework = desk.open()
    try:
        case_id = casework.runtime.start(
            "complaint", {"channel": "email", "summary": "The invoice is wrong"},
            Actor(agent, "agent"), desk.clock.now, customer=customer).id
    finally:
        casework.close()
    desk.fire(case_id, agent, "triage", category="billing", severity="low")
    desk.fire(case_id, agent, "respond", first_response="We are looking into it")
    return case_id


@given(parsers.parse("{name}'s {year:d} purchases have been imported"))
def purchases_imported(desk: Desk, tmp_path: Path, customers: dict[str, str], name: str,
                       year: int, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["date", "amount"]
    assert all(date.fromisoformat(day).year == year for day, _ in rows)
    import_csv(desk, tmp_path / f"{customers[name]}-{year}.csv",
               [f"{customers[name]},{day},{amount},1" for day, amount in rows])


# --- what the cycle shows ------------------------------------------------------------------

@then(parsers.parse('{name}\'s cycle is "{state}"'))
def cycle_is(desk: Desk, cycles: dict[str, int], name: str, state: str) -> None:
    assert desk.case(cycles[name]).state == state


@then(parsers.parse('{name}\'s cycle is assigned to "{who}"'))
def assigned_to(desk: Desk, cycles: dict[str, int], name: str, who: str) -> None:
    assert desk.case(cycles[name]).assignee == who


def pending_timers(desk: Desk, case_id: int) -> dict[str, datetime]:
    casework = desk.open()
    try:
        with casework.database.reading() as connection:
            rows = connection.execute(
                sa.select(timers.c.name, timers.c.due_at).where(
                    timers.c.case_id == case_id, timers.c.state == "pending")).all()
    finally:
        casework.close()
    return {str(n): due.astimezone(UTC) for n, due in rows}


@then(parsers.parse("{name}'s cycle waits for a check-in on {checkin} and for the year's end "
                    "on {year_end}"))
def waits_for(desk: Desk, cycles: dict[str, int], name: str, checkin: str,
              year_end: str) -> None:
    case = desk.case(cycles[name])
    assert datetime.fromisoformat(case.fields["next_checkin"]) == moment(checkin)
    assert pending_timers(desk, case.id) == {"quarterly_checkin": moment(checkin),
                                             "year_end": moment(year_end)}


@then(parsers.parse("{name} has held {count:d} check-in"))
def checkins_held(desk: Desk, cycles: dict[str, int], name: str, count: int) -> None:
    assert desk.case(cycles[name]).fields["checkins_held"] == count


@then(parsers.parse("{name}'s cycle is closed, in no queue, with no timer left"))
def closed_cycle(desk: Desk, cycles: dict[str, int], name: str) -> None:
    case = desk.case(cycles[name])
    assert (case.state, case.queue, case.closed_at) == ("closed", None, desk.clock.now)
    assert pending_timers(desk, case.id) == {}


@then(parsers.parse('{name}\'s cycle is still "{state}", with no goal and nothing in its '
                    "history but its opening"))
def unchanged(desk: Desk, cycles: dict[str, int], name: str, state: str) -> None:
    case = desk.case(cycles[name])
    assert case.state == state
    assert not [field for field in case.fields if field.startswith("goal_")]
    assert [e.name for e in events(desk, case.id)] == ["case.created"]


def events(desk: Desk, case_id: int) -> list[Event]:
    casework = desk.open()
    try:
        return casework.store.case_events(case_id)
    finally:
        casework.close()


def measured_table(kpis: dict[str, dict[str, str | None]]) -> list[list[str]]:
    return [[kpi, *(kpis[kpi][part] or "" for part in ("goal", "actual", "attainment"))]
            for kpi in KPIS]


@then(parsers.parse("{name}'s {year:d} evaluation reads"))
def evaluation_reads(desk: Desk, cycles: dict[str, int], name: str, year: int,
                     datatable: list[list[str]]) -> None:
    """The goal, actual and attainment of every KPI, as the case's fields hold them and as the
    history recorded them (an empty cell: none)."""
    header, *rows = datatable
    assert header == ["kpi", "goal", "actual", "attainment"]
    case = desk.case(cycles[name])
    fields = [[kpi, *(str(case.fields.get(f"{part}_{kpi}") or "")
                      for part in ("goal", "actual", "attainment"))] for kpi in KPIS]
    assert fields == rows
    [measured] = [json.loads(e.payload) for e in events(desk, case.id)
                  if e.name == "case.kpis_measured"]
    assert measured["year"] == year
    assert measured_table(measured["kpis"]) == rows


@then(parsers.parse('the history says the workflow evaluated {name}\'s year by the timer '
                    '"{timer}"'))
def evaluated_by_timer(desk: Desk, cycles: dict[str, int], name: str, timer: str) -> None:
    history = events(desk, cycles[name])
    [moved] = [e for e in history if e.to_state == "evaluating"]
    assert json.loads(moved.payload) == {"trigger": "evaluate", "timer": timer}
    assert (moved.actor, moved.role, moved.at) == ("casework", "system", desk.clock.now)
    [measured] = [e for e in history if e.name == "case.kpis_measured"]
    assert (measured.actor, measured.role, measured.seq) == ("casework", "system", moved.seq + 1)


# --- refusals ------------------------------------------------------------------------------

@then(parsers.parse("it is refused as invalid: {field} {problem}"))
def refused_as_invalid(attempted: Attempt, field: str, problem: str) -> None:
    assert isinstance(attempted.error, InvalidInput)
    assert attempted.error.field == field
    assert problem in attempted.error.detail


@then(parsers.parse('it is refused for the role: "{detail}"'))
def refused_for_role(attempted: Attempt, detail: str) -> None:
    assert isinstance(attempted.error, TransitionRefused)
    assert (attempted.error.reason, attempted.error.detail) == ("role", detail)


@then(parsers.parse("it is refused by the guard {guard}"))
def refused_by_guard(attempted: Attempt, guard: str) -> None:
    assert isinstance(attempted.error, TransitionRefused)
    assert (attempted.error.reason, attempted.error.condition) == ("guard", guard[1:-1])
    assert attempted.error.detail == GUARD_UNMET  # no message: a plain sentence


# --- the auditor ---------------------------------------------------------------------------

@when(parsers.parse('"{who}" reads the history of {name}\'s {year:d} cycle with "{command}"'),
      target_fixture="read")
def reads_history(desk: Desk, cycles: dict[str, int], who: str, name: str, year: int,
                  command: str) -> list[dict[str, Any]]:
    assert desk.roles[who] == "auditor"
    case_id = cycles[name]
    assert desk.case(case_id).fields["year"] == year
    program, *args = shlex.split(command)
    result = run_cli(desk, shlex.join([program, *args[:2], str(case_id), *args[2:]]))
    assert result.exit_code == 0, result.output
    history: list[dict[str, Any]] = json.loads(result.stdout)
    return history


@then("she reads")
def she_reads(read: list[dict[str, Any]], datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["event", "who", "role", "from", "to"]
    shown = [[e["name"], e["actor"], e["role"], e["from_state"] or "", e["to_state"] or ""]
             for e in read if e["to_state"] is not None or e["name"] == "case.kpis_measured"]
    assert shown == rows


@then(parsers.parse("she reads that the {year:d} measurement found"))
def she_reads_measurement(read: list[dict[str, Any]], year: int,
                          datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["kpi", "goal", "actual", "attainment"]
    [measured] = [e["payload"] for e in read if e["name"] == "case.kpis_measured"]
    assert measured["year"] == year
    assert measured_table(measured["kpis"]) == rows
