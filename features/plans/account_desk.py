"""What the strategic and key plan features work with: the account team, customers whose tiers
come from purchases, the plan's refusals and history (their shared steps are in conftest.py).

Tiers come from purchases, as in production: a scenario imports a customer base and the named
customer's orders as CSV files, and the tier recompute (engine.jobs.tiering) decides on the shipped
rules/customer_tier.yaml.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_bdd import parsers

from engine.cases.runtime import GUARD_UNMET, Actor
from engine.customers.records import CustomerProfile
from engine.jobs.tiering import Recomputed
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import CustomerEvent, Event
from features.desk import Clock, Desk


class _Quoted:
    """A parse type for text between double quotes: it never runs past a closing quote, so
    'the plan is "{state:Q}"' cannot swallow the rest of a longer step."""

    pattern = r'[^"]*'

    def __call__(self, text: str) -> str:
        return text


TYPES = {"Q": _Quoted()}


def step(text: str) -> parsers.parse:
    return parsers.parse(text, extra_types=TYPES)


@dataclass
class AccountDesk(Desk):
    """The desk, plus where the scenario writes its purchase files and which customer is who."""

    files: Path
    names: dict[str, str] = field(default_factory=dict)  # customer name -> customer id
    base: tuple[int, date] | None = None  # the customer base: how many, bought since when
    base_until: date | None = None  # the base's purchases are imported up to this day
    _files: itertools.count[int] = field(default_factory=itertools.count)

    def customer(self, name: str) -> str:
        return self.names[name]


def account_team(desk_database: str, clock: Clock, tmp_path: Path,
                 roles: dict[str, str]) -> AccountDesk:
    desk = AccountDesk(desk_database, clock, roles, files=tmp_path)
    casework = desk.open()
    try:
        for name, role in roles.items():
            casework.store.add_user(name, [role], clock.now, email=f"{name}@example.org")
    finally:
        casework.close()
    return desk


BASE_SEED = 20240301


def base_purchases(count: int, start: date) -> list[tuple[str, date, Decimal]]:
    """Three years of an ordinary customer base, the same every run: each customer buys at a
    rate of its own, may stop after any purchase (as the BG/NBD model assumes, so that the
    recompute's fits converge), and spends around an amount of its own."""
    rnd = random.Random(BASE_SEED)
    end = date(start.year + 3, start.month, 1) - timedelta(days=1)
    span = (end - start).days
    rows = []
    for number in range(1, count + 1):
        rate = rnd.gammavariate(0.8, 0.025)  # purchases a day
        stop = rnd.betavariate(1.0, 3.0)  # chance of never coming back after a purchase
        spend = rnd.gammavariate(4.0, 7.5)
        day = start + timedelta(days=rnd.randint(0, span - 1))
        while day <= end:
            amount = Decimal(str(round(spend * rnd.gammavariate(6.0, 1 / 6), 2)))
            rows.append((f"B{number:04d}", day, max(amount, Decimal("0.01"))))
            if rnd.random() < stop:
                break
            day += timedelta(days=min(2000, max(1, int(rnd.expovariate(rate)))))
    return rows


def import_purchases(desk: AccountDesk, rows: list[tuple[str, date, Decimal]]) -> None:
    """Write the purchases as a CSV file and import it, as an operator does."""
    path = desk.files / f"purchases-{next(desk._files)}.csv"
    path.write_text("customer,date,amount,quantity\n" + "".join(
        f"{customer},{day.isoformat()},{amount},1\n" for customer, day, amount in rows))
    casework = desk.open()
    try:
        imported = casework.customers.import_file(path, "csv", desk.clock.now)
    finally:
        casework.close()
    assert imported.purchases == len(rows), imported


def month_end(text: str) -> date:
    """'February 2026' -> 28 February 2026."""
    first = datetime.strptime(text, "%B %Y").date()
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def day_of(text: str) -> date:
    return datetime.strptime(text.strip(), "%d %B %Y").date()


def days_of(text: str) -> list[date]:
    """'2 June 2025, 3 November 2025 and 16 February 2026'."""
    return [day_of(part) for part in text.replace(" and ", ", ").split(", ")]


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def import_base(desk: AccountDesk, count: int, since: str, until: str) -> None:
    start = datetime.strptime(since, "%B %Y").date()
    desk.base, desk.base_until = (count, start), month_end(until)
    import_purchases(desk, [r for r in base_purchases(count, start) if r[1] <= desk.base_until])


def import_more_base(desk: AccountDesk, until: str) -> None:
    assert desk.base is not None and desk.base_until is not None
    last, desk.base_until = desk.base_until, month_end(until)
    import_purchases(desk, [r for r in base_purchases(*desk.base)
                            if last < r[1] <= desk.base_until])


def add_customer(desk: AccountDesk, customer: str, name: str) -> None:
    desk.names[name] = customer
    casework = desk.open()
    try:
        casework.customers.add(customer, desk.clock.now, type="enterprise", name=name)
    finally:
        casework.close()


def every(first: date, last: date, step_days: int) -> list[date]:
    days = []
    while first <= last:
        days.append(first)
        first += timedelta(days=step_days)
    return days


def recompute(desk: Desk) -> Recomputed:
    casework = desk.open()
    try:
        return casework.tiering.recompute(desk.clock.now.date(), desk.clock.now)
    finally:
        casework.close()


def customer_record(desk: Desk, customer: str) -> CustomerProfile:
    casework = desk.open()
    try:
        return casework.customers.customer(customer)
    finally:
        casework.close()


def customer_history(desk: Desk, customer: str) -> list[CustomerEvent]:
    casework = desk.open()
    try:
        return casework.customers.history(customer)
    finally:
        casework.close()


def case_events(desk: Desk, case_id: int) -> list[Event]:
    casework = desk.open()
    try:
        return casework.store.case_events(case_id)
    finally:
        casework.close()


def pending_timers(desk: Desk, case_id: int) -> dict[str, datetime]:
    casework = desk.open()
    try:
        return {t.name: t.due_at for t in casework.timers.listing(case_id, "pending")}
    finally:
        casework.close()


def started_plans(desk: Desk, customer: str, workflow: str) -> list[int]:
    """The plans of `workflow` the customer's history says were opened for it."""
    return [payload["case"] for e in customer_history(desk, customer)
            if e.name == "customer.case_started"
            and (payload := json.loads(e.payload))["workflow"] == workflow]


def open_plans(desk: Desk, customer: str, workflow: str) -> list[int]:
    casework = desk.open()
    try:
        return [case_id for case_id in casework.store.open_case_ids_of(workflow)
                if casework.store.get_case(case_id).customer == customer]
    finally:
        casework.close()


def open_by_hand(desk: Desk, workflow: str, customer: str, who: str) -> int:
    casework = desk.open()
    try:
        return casework.runtime.start(workflow, {}, Actor(who, desk.roles[who]),
                                      desk.clock.now, customer=customer).id
    finally:
        casework.close()


Refusal = TransitionRefused | InvalidInput


def attempt(desk: Desk, plan: int, who: str, trigger: str, **fields: Any) -> Refusal:
    try:
        desk.fire(plan, who, trigger, **fields)
    except (TransitionRefused, InvalidInput) as refused:
        return refused
    raise AssertionError(f"{who} could {trigger} plan {plan}, which should have been refused")


def why(event: Event) -> str:
    """What started or moved a plan, as the history table in a feature writes it."""
    payload = json.loads(event.payload)
    because = payload.get("because", {}).get("event")
    if event.name == "case.created":
        return f"opened on {because}" if because else "opened by hand"
    reason = payload["trigger"]
    if "timer" in payload:
        return f"{reason} by timer {payload['timer']}"
    return f"{reason} on {because}" if because else reason


def plan_history(desk: Desk, plan: int) -> list[list[str]]:
    return [[e.name, e.actor, e.role or "", e.from_state or "", e.to_state or "", why(e)]
            for e in case_events(desk, plan) if e.to_state is not None]


def what(event: CustomerEvent) -> str:
    """What a customer event says, as the history table in a feature writes it."""
    payload = json.loads(event.payload)
    if event.name == "customer.tier_changed":
        return f"{payload['old'] or 'none'} -> {payload['new']}"
    if event.name == "customer.case_started":
        return f"{payload['workflow']} on {payload['on'].removeprefix('customer.')}"
    if event.name == "customer.case_moved":
        return f"{payload['workflow']}: {payload['trigger']}"
    if event.name == "customer.case_not_started":
        return f"{payload['workflow']}: {payload['reason']}"
    if event.name == "customer.updated":
        return ", ".join(f"{name}: {change['old'] or 'none'} -> {change['new'] or 'none'}"
                         for name, change in payload["changes"].items())
    return event.payload


def customer_story(desk: Desk, customer: str) -> list[list[str]]:
    """The customer's history without its churn warnings (the retention workflow's concern)."""
    return [[e.name, e.actor, e.role or "", what(e)] for e in customer_history(desk, customer)
            if e.name != "customer.churn_risk_changed"]


def check_refused_for_role(refusal: Refusal, role: str) -> None:
    assert isinstance(refusal, TransitionRefused), refusal
    assert refusal.reason == "role"
    assert refusal.detail.startswith(f"role '{role}' may not fire it"), refusal.detail


def check_read_only(refusal: Refusal, role: str) -> None:
    assert isinstance(refusal, TransitionRefused), refusal
    assert (refusal.reason, refusal.detail) == ("role", f"role '{role}' is read-only")


def check_guard(refusal: Refusal, guard: str) -> None:
    assert isinstance(refusal, TransitionRefused), refusal
    assert (refusal.reason, refusal.condition) == ("guard", guard)
    assert refusal.detail == GUARD_UNMET  # the guard has no message: a plain sentence


def check_needs(refusal: Refusal, name: str) -> None:
    assert isinstance(refusal, TransitionRefused), refusal
    assert refusal.reason == "field"
    assert refusal.detail.startswith(f"needs {name}:"), refusal.detail


def check_invalid(refusal: Refusal, name: str, message: str) -> None:
    assert isinstance(refusal, InvalidInput), refusal
    assert refusal.field == name.replace(" ", "_")
    assert message in refusal.detail, refusal.detail


def check_table(seen: list[list[str]], datatable: list[list[str]], header: list[str]) -> None:
    assert datatable[0] == header
    assert seen == datatable[1:], seen


def orders_regularly(desk: AccountDesk, customer: str, name: str, amount: str, weeks: int,
                     first: str, last: str) -> None:
    """Customer CUSTOMER (NAME) ordered AMOUNT every WEEKS weeks from FIRST to LAST."""
    add_customer(desk, customer, name)
    import_purchases(desk, [(customer, day, money(amount))
                            for day in every(day_of(first), day_of(last), 7 * weeks)])


def listed(text: str) -> list[str]:
    return [] if text == "none" else text.split(", ")
