"""Steps for strategic_plan.feature (the shared ones are in conftest.py).

Tiers come from purchases, as in production: a scenario imports a customer base and the named
customer's orders as CSV files, and the tier recompute (engine.jobs.tiering) decides on the shipped
rules/customer_tier.yaml. The helpers at the top are shared with test_key_plan.py.
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

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import Actor
from engine.customers.records import CustomerProfile
from engine.jobs.tiering import Recomputed
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import CustomerEvent, Event
from features.desk import Clock, Desk, moment

scenarios("strategic_plan.feature")

# --- shared with test_key_plan.py ------------------------------------------------------------


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
    assert (refusal.reason, refusal.detail) == ("guard", f"condition not met: {guard}")


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
    assert seen == datatable[1:]


# --- the account team and the customers ------------------------------------------------------


@given(step('the account team: manager "{manager:Q}", account managers "{first:Q}" and '
            '"{second:Q}", agent "{agent:Q}", auditor "{auditor:Q}"'), target_fixture="desk")
def team(desk_database: str, clock: Clock, tmp_path: Path, manager: str, first: str,
         second: str, agent: str, auditor: str) -> AccountDesk:
    return account_team(desk_database, clock, tmp_path, {
        manager: "manager", first: "account_manager", second: "account_manager",
        agent: "agent", auditor: "auditor"})


@given(step("the shop's {count:d} other customers bought as usual from {since} to {until}"))
def customer_base(desk: AccountDesk, count: int, since: str, until: str) -> None:
    import_base(desk, count, since, until)


@given(step('customer "{customer:Q}", {name}, ordered for {amount} every {weeks:d} weeks from '
            "{first} to {last}"))
def orders_regularly(desk: AccountDesk, customer: str, name: str, amount: str, weeks: int,
                     first: str, last: str) -> None:
    add_customer(desk, customer, name)
    import_purchases(desk, [(customer, day, money(amount))
                            for day in every(day_of(first), day_of(last), 7 * weeks)])


@given(step('{name}, customer "{customer:Q}", became strategic in this morning\'s recompute'),
       target_fixture="plan")
def became_strategic(desk: AccountDesk, name: str, customer: str) -> int:
    import_base(desk, 300, "March 2024", "February 2026")
    orders_regularly(desk, customer, name, "250.00", 2, "4 August 2025", "2 February 2026")
    recompute(desk)
    assert customer_record(desk, customer).record.tier == "strategic"
    [plan] = started_plans(desk, customer, "strategic_plan")
    return plan


@when(step("{name} ordered nothing more, while the other customers went on buying until "
           "{until}"))
@given(step("{name} ordered nothing more, while the other customers went on buying until "
            "{until}"))
def base_buys_on(desk: AccountDesk, name: str, until: str) -> None:
    assert name in desk.names
    import_more_base(desk, until)


@when("the tiers are recomputed", target_fixture="recomputed")
def tiers_recomputed(desk: AccountDesk) -> Recomputed:
    return recompute(desk)


@when(step("the tiers are recomputed on {text}"), target_fixture="recomputed")
def tiers_recomputed_on(desk: AccountDesk, text: str) -> Recomputed:
    desk.clock.now = moment(text)
    return recompute(desk)


@then(step('{name}\'s tier is "{tier:Q}", by the rule "{rule:Q}"'))
def tier_is(desk: AccountDesk, name: str, tier: str, rule: str) -> None:
    profile = customer_record(desk, desk.customer(name))
    assert profile.figures is not None
    assert (profile.record.tier, profile.figures.tier_rule) == (tier, rule)


@then(step('a strategic plan for {name} waits for an account manager in the "{queue:Q}" queue'),
      target_fixture="plan")
def plan_waits(desk: AccountDesk, name: str, queue: str) -> int:
    [plan] = started_plans(desk, desk.customer(name), "strategic_plan")
    case = desk.case(plan)
    assert (case.state, case.queue, case.assignee) == ("assigning", queue, None)
    return plan


@then(step("the plan notes the tier and the share of the revenue {name} had when it opened"))
def plan_notes_tier(desk: AccountDesk, plan: int, name: str) -> None:
    profile = customer_record(desk, desk.customer(name))
    fields = desk.case(plan).fields
    assert profile.figures is not None
    assert fields["tier"] == profile.record.tier == "strategic"
    assert Decimal(fields["revenue_share"]) == \
        pytest.approx(Decimal(str(profile.figures.revenue_share)))
    assert Decimal(fields["revenue_share"]) >= Decimal("0.01")


@then(step("{name}'s history says that becoming strategic opened the plan"))
def history_says_opened(desk: AccountDesk, plan: int, name: str) -> None:
    history = customer_history(desk, desk.customer(name))
    changed = [i for i, e in enumerate(history) if e.name == "customer.tier_changed"
               and json.loads(e.payload)["new"] == "strategic"]
    started = [i for i, e in enumerate(history) if e.name == "customer.case_started"
               and json.loads(e.payload) == {"workflow": "strategic_plan", "case": plan,
                                             "on": "customer.tier_changed"}]
    assert len(changed) == len(started) == 1 and changed[0] < started[0]
    assert all((e.actor, e.role) == ("casework", "system") for e in history)
    created = case_events(desk, plan)[0]
    assert (created.name, created.actor, created.role) == ("case.created", "casework", "system")
    assert json.loads(created.payload)["because"] == {"event": "customer.tier_changed"}


@then("no plan is opened and none is moved")
def nothing_opened(recomputed: Recomputed) -> None:
    assert (recomputed.tier_changes, sum(recomputed.started.values()),
            sum(recomputed.moved.values())) == (0, 0, 0)


@then(step("{name} has {count:d} open strategic plan"))
def open_plan_count(desk: AccountDesk, name: str, count: int) -> None:
    assert len(open_plans(desk, desk.customer(name), "strategic_plan")) == count


@given(step('"{who:Q}" has opened a strategic plan for customer "{customer:Q}", {name}'),
       target_fixture="plan")
def opened_by_hand(desk: AccountDesk, who: str, customer: str, name: str) -> int:
    add_customer(desk, customer, name)
    return open_by_hand(desk, "strategic_plan", customer, who)


@when(step('"{who:Q}" tries to open another strategic plan for customer "{customer:Q}"'),
      target_fixture="refusal")
def tries_another(desk: AccountDesk, who: str, customer: str) -> Refusal:
    with pytest.raises(InvalidInput) as refused:
        open_by_hand(desk, "strategic_plan", customer, who)
    return refused.value


@when(step('"{who:Q}" tries to open a strategic plan for customer "{customer:Q}", whom nobody '
           "has recorded"), target_fixture="refusal")
def tries_unknown(desk: AccountDesk, who: str, customer: str) -> Refusal:
    return tries_another(desk, who, customer)


@then(step("it is refused because {name} already has an open strategic plan, the one opened "
           "before"))
def refused_second(desk: AccountDesk, refusal: Refusal, plan: int, name: str) -> None:
    customer = desk.customer(name)
    check_invalid(refusal, "customer", f"customer '{customer}' already has an open "
                  f"strategic_plan case (#{plan}); work that one, or close it first")
    assert open_plans(desk, customer, "strategic_plan") == [plan]


# --- working the plan ------------------------------------------------------------------------


@when(step('"{who:Q}" assigns "{manager:Q}" as the dedicated account manager'))
@given(step('"{who:Q}" has assigned "{manager:Q}" as the dedicated account manager'))
def assigns(desk: AccountDesk, plan: int, who: str, manager: str) -> None:
    desk.fire(plan, who, "assign_manager", account_manager=manager)


@when(step('"{who:Q}" tries to assign "{manager:Q}" as the dedicated account manager'),
      target_fixture="refusal")
def tries_to_assign(desk: AccountDesk, plan: int, who: str, manager: str) -> Refusal:
    return attempt(desk, plan, who, "assign_manager", account_manager=manager)


@when(step('"{who:Q}" records the plan agreed with the customer: "{goals:Q}"'))
@given(step('"{who:Q}" has recorded the plan agreed with the customer: "{goals:Q}"'))
def agrees(desk: AccountDesk, plan: int, who: str, goals: str) -> None:
    desk.fire(plan, who, "agree_plan", goals=goals)


@when(step('"{who:Q}" tracks the custom solution "{solution:Q}"'))
def tracks(desk: AccountDesk, plan: int, who: str, solution: str) -> None:
    desk.fire(plan, who, "add_solution", solution=solution)


@when(step('"{who:Q}" delivers the custom solution "{solution:Q}"'))
def delivers(desk: AccountDesk, plan: int, who: str, solution: str) -> None:
    desk.fire(plan, who, "deliver_solution", solution=solution)


@when(step('"{who:Q}" tries to deliver the custom solution "{solution:Q}"'),
      target_fixture="refusal")
def tries_to_deliver(desk: AccountDesk, plan: int, who: str, solution: str) -> Refusal:
    return attempt(desk, plan, who, "deliver_solution", solution=solution)


@when(step('"{who:Q}" calls the monthly review early'))
def calls_review(desk: AccountDesk, plan: int, who: str) -> None:
    desk.fire(plan, who, "review_due")


@when(step('"{who:Q}" tries to call the monthly review early'), target_fixture="refusal")
def tries_to_call_review(desk: AccountDesk, plan: int, who: str) -> Refusal:
    return attempt(desk, plan, who, "review_due")


@when(step('"{who:Q}" holds the monthly review, finding the plan "{health:Q}": "{notes:Q}"'))
def holds_review(desk: AccountDesk, plan: int, who: str, health: str, notes: str) -> None:
    desk.fire(plan, who, "hold_review", health=health, review_notes=notes)


@when(step('"{who:Q}" tries to hold the monthly review without notes'), target_fixture="refusal")
def tries_review_without_notes(desk: AccountDesk, plan: int, who: str) -> Refusal:
    return attempt(desk, plan, who, "hold_review", health="on_track")


@when(step('"{who:Q}" finishes the hand-over: "{notes:Q}"'))
def finishes_hand_over(desk: AccountDesk, plan: int, who: str, notes: str) -> None:
    desk.fire(plan, who, "finish_hand_over", handover_notes=notes)


# --- what people see -------------------------------------------------------------------------


@then(step('the plan is "{state:Q}"'))
def plan_state(desk: AccountDesk, plan: int, state: str) -> None:
    assert desk.case(plan).state == state


@then(step('the plan is "{state:Q}" in the "{queue:Q}" queue'))
def plan_in_queue(desk: AccountDesk, plan: int, state: str, queue: str) -> None:
    case = desk.case(plan)
    assert (case.state, case.queue) == (state, queue)


@then(step('the plan is "{state:Q}" and in no queue'))
def plan_closed(desk: AccountDesk, plan: int, state: str) -> None:
    case = desk.case(plan)
    assert (case.state, case.queue) == (state, None)
    assert case.closed_at == desk.clock.now


@then(step('the plan is "{state:Q}" and assigned to "{who:Q}"'))
def plan_assigned(desk: AccountDesk, plan: int, state: str, who: str) -> None:
    case = desk.case(plan)
    assert (case.state, case.assignee, case.fields["account_manager"]) == (state, who, who)


@then(step('"{who:Q}" owns {name} now'))
def owns(desk: AccountDesk, plan: int, who: str, name: str) -> None:
    customer = desk.customer(name)
    assert customer_record(desk, customer).record.owner == who
    [updated] = [json.loads(e.payload) for e in customer_history(desk, customer)
                 if e.name == "customer.updated"]
    assert updated["changes"] == {"owner": {"old": None, "new": who}}
    assert (updated["case"], updated["trigger"]) == (plan, "assign_manager")


@then(step("nobody owns {name}"))
def nobody_owns(desk: AccountDesk, name: str) -> None:
    customer = desk.customer(name)
    assert customer_record(desk, customer).record.owner is None
    assert not [e for e in customer_history(desk, customer) if e.name == "customer.updated"]


@then(step('the plan is "{state:Q}" and its monthly review is due on {text}'))
def review_due_on(desk: AccountDesk, plan: int, state: str, text: str) -> None:
    case = desk.case(plan)
    assert case.state == state
    assert datetime.fromisoformat(case.fields["next_review"]) == moment(text)
    assert pending_timers(desk, plan) == {"monthly_review": moment(text)}


@then("no monthly review is scheduled any more")
def no_review_scheduled(desk: AccountDesk, plan: int) -> None:
    assert pending_timers(desk, plan) == {}


@then(step('{count:d} review has been held, the last one finding the plan "{health:Q}"'))
def reviews_held(desk: AccountDesk, plan: int, count: int, health: str) -> None:
    fields = desk.case(plan).fields
    assert (fields["reviews_held"], fields["health"]) == (count, health)


@then(step("{count:d} reviews have been held"))
def no_reviews_held(desk: AccountDesk, plan: int, count: int) -> None:
    assert desk.case(plan).fields["reviews_held"] == count


def listed(text: str) -> list[str]:
    return [] if text == "none" else text.split(", ")


@then(step('the custom solutions in progress are "{progress:Q}" and none is delivered'))
def solutions_in_progress(desk: AccountDesk, plan: int, progress: str) -> None:
    fields = desk.case(plan).fields
    assert (fields.get("solutions", []), fields.get("delivered", [])) == (listed(progress), [])


@then(step('the custom solutions in progress are "{progress:Q}" and those delivered '
           '"{delivered:Q}"'))
def solutions_delivered(desk: AccountDesk, plan: int, progress: str, delivered: str) -> None:
    fields = desk.case(plan).fields
    assert (fields.get("solutions", []), fields.get("delivered", [])) == \
        (listed(progress), listed(delivered))


# --- refusals --------------------------------------------------------------------------------


@then(step('it is refused because role "{role:Q}" may not fire it'))
def refused_for_role(refusal: Refusal, role: str) -> None:
    check_refused_for_role(refusal, role)


@then(step('it is refused because role "{role:Q}" is read-only'))
def refused_read_only(refusal: Refusal, role: str) -> None:
    check_read_only(refusal, role)


@then(step('it is refused by the guard "{guard}"'))
def refused_by_guard(refusal: Refusal, guard: str) -> None:
    check_guard(refusal, guard)


@then(step('it is refused because it needs the field "{name:Q}"'))
def refused_for_field(refusal: Refusal, name: str) -> None:
    check_needs(refusal, name)


@then(step('it is refused because the {name} is wrong: "{message}"'))
def refused_as_invalid(refusal: Refusal, name: str, message: str) -> None:
    check_invalid(refusal, name, message)


# --- the auditor -----------------------------------------------------------------------------


@then("the plan's history says the workflow handed it over because the customer's tier changed")
def handed_over_by_workflow(desk: AccountDesk, plan: int) -> None:
    last = [e for e in case_events(desk, plan) if e.name == "case.transitioned"][-1]
    assert (last.actor, last.role, last.from_state, last.to_state) == \
        ("casework", "system", "active", "handing_over")
    assert json.loads(last.payload) == {"trigger": "hand_over",
                                        "because": {"event": "customer.tier_changed"}}


@then("the plan's history reads")
def plan_history_reads(desk: AccountDesk, plan: int, datatable: list[list[str]]) -> None:
    check_table(plan_history(desk, plan), datatable,
                ["event", "who", "role", "from", "to", "why"])


@then(step("{name}'s history, leaving churn warnings aside, reads"))
def customer_history_reads(desk: AccountDesk, name: str, datatable: list[list[str]]) -> None:
    check_table(customer_story(desk, desk.customer(name)), datatable,
                ["event", "who", "role", "what"])
