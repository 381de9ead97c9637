"""Steps for strategic_plan.feature; the steps it shares with key_plan.feature are in
conftest.py, the helpers both use (the account team, purchases, the recompute, history tables)
in account_desk.py."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest
from pytest_bdd import given, scenarios, then, when

from features.desk import moment
from features.plans.account_desk import (
    AccountDesk,
    Refusal,
    attempt,
    check_table,
    customer_history,
    customer_record,
    customer_story,
    import_base,
    import_more_base,
    listed,
    orders_regularly,
    pending_timers,
    recompute,
    started_plans,
    step,
)

scenarios("strategic_plan.feature")

# --- the account team and the customers ------------------------------------------------------








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




# --- what people see -------------------------------------------------------------------------










@then(step('"{who:Q}" owns {name} now'))
def owns(desk: AccountDesk, plan: int, who: str, name: str) -> None:
    customer = desk.customer(name)
    assert customer_record(desk, customer).record.owner == who
    [updated] = [json.loads(e.payload) for e in customer_history(desk, customer)
                 if e.name == "customer.updated"]
    assert updated["changes"] == {"owner": {"old": None, "new": who}}
    assert (updated["case"], updated["trigger"]) == (plan, "assign_manager")




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












# --- the auditor -----------------------------------------------------------------------------






@then(step("{name}'s history, leaving churn warnings aside, reads"))
def customer_history_reads(desk: AccountDesk, name: str, datatable: list[list[str]]) -> None:
    check_table(customer_story(desk, desk.customer(name)), datatable,
                ["event", "who", "role", "what"])
