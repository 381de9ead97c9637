"""Steps for key_plan.feature (the shared ones are in conftest.py; the purchase files, the
recompute and the history tables come from account_desk.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

from pytest_bdd import given, scenarios, then, when

from engine.kernel.errors import TransitionRefused
from features.desk import moment
from features.plans.account_desk import (
    AccountDesk,
    Refusal,
    attempt,
    case_events,
    check_table,
    customer_history,
    customer_record,
    customer_story,
    days_of,
    import_base,
    import_more_base,
    import_purchases,
    listed,
    money,
    open_plans,
    orders_regularly,
    pending_timers,
    recompute,
    started_plans,
    step,
)

scenarios("key_plan.feature")


# --- the account team and the customers ------------------------------------------------------






@when(step("the other customers went on buying until {until}"))
@given(step("the other customers went on buying until {until}"))
def base_buys_on(desk: AccountDesk, until: str) -> None:
    import_more_base(desk, until)




@when(step("{name} ordered for {amount} on {days}"))
@given(step("{name} ordered for {amount} on {days}"))
def orders_on(desk: AccountDesk, name: str, amount: str, days: str) -> None:
    customer = desk.customer(name)
    import_purchases(desk, [(customer, day, money(amount)) for day in days_of(days)])


@given(step('{name}, customer "{customer:Q}", became key in this morning\'s recompute'),
       target_fixture="plan")
def became_key(desk: AccountDesk, name: str, customer: str) -> int:
    import_base(desk, 300, "March 2024", "February 2026")
    orders_regularly(desk, customer, name, "40.00", 3, "1 April 2024", "20 January 2025")
    orders_on(desk, name, "20.00", "2 June 2025, 3 November 2025 and 16 February 2026")
    recompute(desk)
    assert customer_record(desk, customer).record.tier == "key"
    [plan] = started_plans(desk, customer, "key_plan")
    return plan






@then(step('{name} is in the "{tier:Q}" tier, by the rule "{rule:Q}"'))
def tier_is(desk: AccountDesk, name: str, tier: str, rule: str) -> None:
    profile = customer_record(desk, desk.customer(name))
    assert profile.figures is not None
    assert (profile.record.tier, profile.figures.tier_rule) == (tier, rule)


@then(step('a key plan for {name} waits for an account manager in the "{queue:Q}" queue'),
      target_fixture="plan")
def plan_waits(desk: AccountDesk, name: str, queue: str) -> int:
    [plan] = started_plans(desk, desk.customer(name), "key_plan")
    case = desk.case(plan)
    assert (case.state, case.queue, case.assignee) == ("assigning", queue, None)
    return plan


@then(step('a strategic plan for {name} now waits for an account manager in the "{queue:Q}" '
           "queue"))
def strategic_plan_waits(desk: AccountDesk, plan: int, name: str, queue: str) -> None:
    customer = desk.customer(name)
    [strategic] = started_plans(desk, customer, "strategic_plan")
    case = desk.case(strategic)
    assert (case.state, case.queue, case.assignee) == ("assigning", queue, None)
    assert case.fields["tier"] == "strategic"
    assert open_plans(desk, customer, "key_plan") == [plan]  # handing over, still open


@then(step("the plan takes {name}' {amount} of purchases over the last 12 months as its "
           "baseline"))
def baseline(desk: AccountDesk, plan: int, name: str, amount: str) -> None:
    profile = customer_record(desk, desk.customer(name))
    fields = desk.case(plan).fields
    assert profile.figures is not None
    assert fields["tier"] == profile.record.tier == "key"
    assert Decimal(fields["baseline_revenue"]) == Decimal(str(profile.figures.revenue_12m)) == \
        money(amount)
















# --- working the plan ------------------------------------------------------------------------


@when(step('"{who:Q}" assigns "{manager:Q}" as the account manager'))
@given(step('"{who:Q}" has assigned "{manager:Q}" as the account manager'))
def assigns(desk: AccountDesk, plan: int, who: str, manager: str) -> None:
    desk.fire(plan, who, "assign_manager", account_manager=manager)


@when(step('"{who:Q}" tries to assign "{manager:Q}" as the account manager'),
      target_fixture="refusal")
def tries_to_assign(desk: AccountDesk, plan: int, who: str, manager: str) -> Refusal:
    return attempt(desk, plan, who, "assign_manager", account_manager=manager)


@when(step('"{who:Q}" sets a growth target of {target}'))
@given(step('"{who:Q}" has set a growth target of {target}'))
def sets_target(desk: AccountDesk, plan: int, who: str, target: str) -> None:
    desk.fire(plan, who, "set_target", growth_target=target)


@when(step('"{who:Q}" tries to set a growth target of {target}'), target_fixture="refusal")
def tries_target(desk: AccountDesk, plan: int, who: str, target: str) -> Refusal:
    return attempt(desk, plan, who, "set_target", growth_target=target)


@when(step('"{who:Q}" tries to set up the plan without a growth target'),
      target_fixture="refusal")
def tries_without_target(desk: AccountDesk, plan: int, who: str) -> Refusal:
    return attempt(desk, plan, who, "set_target")


@when(step('"{who:Q}" offers the value-added service "{service:Q}"'))
def offers(desk: AccountDesk, plan: int, who: str, service: str) -> None:
    desk.fire(plan, who, "offer_service", service=service)


@when(step('"{who:Q}" tries to offer the value-added service "{service:Q}" again'),
      target_fixture="refusal")
def tries_to_offer(desk: AccountDesk, plan: int, who: str, service: str) -> Refusal:
    return attempt(desk, plan, who, "offer_service", service=service)


@when(step('"{who:Q}" records that the customer took up "{service:Q}"'))
def takes_up(desk: AccountDesk, plan: int, who: str, service: str) -> None:
    desk.fire(plan, who, "service_taken", service=service)


@when(step('"{who:Q}" tries to record that the customer took up "{service:Q}"'),
      target_fixture="refusal")
def tries_take_up(desk: AccountDesk, plan: int, who: str, service: str) -> Refusal:
    return attempt(desk, plan, who, "service_taken", service=service)


@when(step('"{who:Q}" records the visit: "{notes:Q}"'))
def records_visit(desk: AccountDesk, plan: int, who: str, notes: str) -> None:
    desk.fire(plan, who, "record_visit", visit_notes=notes)


@when(step('"{who:Q}" tries to record a visit before it is due: "{notes:Q}"'),
      target_fixture="refusal")
def tries_visit(desk: AccountDesk, plan: int, who: str, notes: str) -> Refusal:
    return attempt(desk, plan, who, "record_visit", visit_notes=notes)


@when(step('"{who:Q}" records each quarterly visit as it falls due, until {text}'))
def records_each_visit(desk: AccountDesk, plan: int, who: str, text: str) -> None:
    """The worker brings each visit up when it falls due; the account manager goes and records
    it an hour later."""
    end = moment(text)
    while (due := pending_timers(desk, plan)["quarterly_visit"]) <= end:
        desk.clock.now = due
        casework = desk.open()
        try:
            assert casework.worker.fire_due_timers(due) == 1
        finally:
            casework.close()
        assert desk.case(plan).state == "visit_due"
        desk.clock.now += timedelta(hours=1)
        records_visit(desk, plan, who, f"Visit of {due:%d %B %Y}")


@when(step('"{who:Q}" records the promotion review "{outcome:Q}": "{notes:Q}"'))
def decides_promotion(desk: AccountDesk, plan: int, who: str, outcome: str, notes: str) -> None:
    desk.fire(plan, who, "decide_promotion", promotion=outcome, promotion_notes=notes)


@when(step('"{who:Q}" tries to record the promotion review "{outcome:Q}": "{notes:Q}"'),
      target_fixture="refusal")
def tries_promotion(desk: AccountDesk, plan: int, who: str, outcome: str,
                    notes: str) -> Refusal:
    return attempt(desk, plan, who, "decide_promotion", promotion=outcome,
                   promotion_notes=notes)


@when(step('"{who:Q}" tries to record the promotion review "{outcome:Q}" without saying why'),
      target_fixture="refusal")
def tries_promotion_without_notes(desk: AccountDesk, plan: int, who: str,
                                  outcome: str) -> Refusal:
    return attempt(desk, plan, who, "decide_promotion", promotion=outcome)




# --- what people see -------------------------------------------------------------------------










@then(step('the plan is "{state:Q}", aiming for {target} more than its baseline of {amount}'))
def plan_target(desk: AccountDesk, plan: int, state: str, target: str, amount: str) -> None:
    case = desk.case(plan)
    assert case.state == state
    assert Decimal(case.fields["growth_target"]) == Decimal(target)
    assert Decimal(case.fields["baseline_revenue"]) == money(amount)


@then(step('the plan is "{state:Q}" after {count:d} visit'))
@then(step('the plan is "{state:Q}" after {count:d} visits'))
def visits_held(desk: AccountDesk, plan: int, state: str, count: int) -> None:
    case = desk.case(plan)
    assert (case.state, case.fields["visits_held"]) == (state, count)


@then(step('"{who:Q}" owns {name} now'))
def owns(desk: AccountDesk, plan: int, who: str, name: str) -> None:
    customer = desk.customer(name)
    assert customer_record(desk, customer).record.owner == who
    [updated] = [json.loads(e.payload) for e in customer_history(desk, customer)
                 if e.name == "customer.updated"]
    assert updated["changes"] == {"owner": {"old": None, "new": who}}
    assert (updated["case"], updated["workflow"], updated["trigger"]) == \
        (plan, "key_plan", "assign_manager")




@then(step("its quarterly visit is due on {visit} and its promotion review on {review}"))
def scheduled(desk: AccountDesk, plan: int, visit: str, review: str) -> None:
    fields = desk.case(plan).fields
    assert (datetime.fromisoformat(fields["next_visit"]),
            datetime.fromisoformat(fields["promotion_due"])) == (moment(visit), moment(review))
    assert pending_timers(desk, plan) == {"quarterly_visit": moment(visit),
                                          "yearly_promotion_review": moment(review)}


@then("no visit and no promotion review is scheduled any more")
def nothing_scheduled(desk: AccountDesk, plan: int) -> None:
    assert pending_timers(desk, plan) == {}


@then(step('the services offered are "{offered:Q}" and those taken up "{taken:Q}"'))
def services(desk: AccountDesk, plan: int, offered: str, taken: str) -> None:
    fields = desk.case(plan).fields
    assert (fields.get("services_offered", []), fields.get("services_taken", [])) == \
        (listed(offered), listed(taken))


# --- refusals --------------------------------------------------------------------------------












@then(step('it is refused because the plan is "{state:Q}", where "{trigger:Q}" does not apply'))
def refused_in_state(desk: AccountDesk, plan: int, refusal: Refusal, state: str,
                     trigger: str) -> None:
    assert isinstance(refusal, TransitionRefused), refusal
    assert refusal.reason == "state"
    assert refusal.detail.startswith(f"case {plan} is in state '{state}', where '{trigger}' "
                                     "does not apply"), refusal.detail


# --- the auditor -----------------------------------------------------------------------------




@then(step('the plan\'s history says the workflow asked for the promotion review by the timer '
           '"{timer:Q}"'))
def promotion_by_timer(desk: AccountDesk, plan: int, timer: str) -> None:
    [asked] = [e for e in case_events(desk, plan) if e.name == "case.transitioned"
               and e.to_state == "promotion_review"]
    assert (asked.actor, asked.role, asked.from_state) == ("casework", "system", "active")
    assert json.loads(asked.payload) == {"trigger": "review_promotion", "timer": timer}




@then(step("the history of {name}, leaving churn warnings aside, reads"))
def customer_history_reads(desk: AccountDesk, name: str, datatable: list[list[str]]) -> None:
    check_table(customer_story(desk, desk.customer(name)), datatable,
                ["event", "who", "role", "what"])
