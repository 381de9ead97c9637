"""The steps strategic_plan.feature and key_plan.feature both speak (helpers: account_desk.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_bdd import given, then, when

from engine.jobs.tiering import Recomputed
from engine.kernel.errors import InvalidInput
from features.desk import Clock, moment
from features.plans.account_desk import (
    AccountDesk,
    Refusal,
    account_team,
    add_customer,
    case_events,
    check_guard,
    check_invalid,
    check_needs,
    check_read_only,
    check_refused_for_role,
    check_table,
    customer_history,
    customer_record,
    import_base,
    open_by_hand,
    open_plans,
    orders_regularly,
    plan_history,
    recompute,
    step,
)

# --- steps both plans speak ---------------------------------------------------------------------


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
def orders_regularly_step(desk: AccountDesk, customer: str, name: str, amount: str, weeks: int,
                          first: str, last: str) -> None:
    orders_regularly(desk, customer, name, amount, weeks, first, last)


@when("the tiers are recomputed", target_fixture="recomputed")
def tiers_recomputed(desk: AccountDesk) -> Recomputed:
    return recompute(desk)


@when(step("the tiers are recomputed on {text}"), target_fixture="recomputed")
def tiers_recomputed_on(desk: AccountDesk, text: str) -> Recomputed:
    desk.clock.now = moment(text)
    return recompute(desk)


@then("no plan is opened and none is moved")
def nothing_opened(recomputed: Recomputed) -> None:
    assert (recomputed.tier_changes, sum(recomputed.started.values()),
            sum(recomputed.moved.values())) == (0, 0, 0)


@when(step('"{who:Q}" finishes the hand-over: "{notes:Q}"'))
def finishes_hand_over(desk: AccountDesk, plan: int, who: str, notes: str) -> None:
    desk.fire(plan, who, "finish_hand_over", handover_notes=notes)


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


@then(step("nobody owns {name}"))
def nobody_owns(desk: AccountDesk, name: str) -> None:
    customer = desk.customer(name)
    assert customer_record(desk, customer).record.owner is None
    assert not [e for e in customer_history(desk, customer) if e.name == "customer.updated"]


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


@then(step("{name}'s history says that becoming {tier} opened the plan"))
def history_says_opened(desk: AccountDesk, plan: int, name: str, tier: str) -> None:
    history = customer_history(desk, desk.customer(name))
    changed = [i for i, e in enumerate(history) if e.name == "customer.tier_changed"
               and json.loads(e.payload)["new"] == tier]
    started = [i for i, e in enumerate(history) if e.name == "customer.case_started"
               and json.loads(e.payload) == {"workflow": f"{tier}_plan", "case": plan,
                                             "on": "customer.tier_changed"}]
    assert len(changed) == len(started) == 1 and changed[0] < started[0]
    assert all((e.actor, e.role) == ("casework", "system") for e in history)
    created = case_events(desk, plan)[0]
    assert (created.name, created.actor, created.role) == ("case.created", "casework", "system")
    assert json.loads(created.payload)["because"] == {"event": "customer.tier_changed"}


@then(step("{name} has {count:d} open {tier} plan"))
def open_plan_count(desk: AccountDesk, name: str, count: int, tier: str) -> None:
    assert len(open_plans(desk, desk.customer(name), f"{tier}_plan")) == count


@given(step('"{who:Q}" has opened a {tier} plan for customer "{customer:Q}", {name}'),
       target_fixture="plan")
def opened_by_hand(desk: AccountDesk, who: str, customer: str, name: str, tier: str) -> int:
    add_customer(desk, customer, name)
    return open_by_hand(desk, f"{tier}_plan", customer, who)


@when(step('"{who:Q}" tries to open another {tier} plan for customer "{customer:Q}"'),
      target_fixture="refusal")
def tries_another(desk: AccountDesk, who: str, customer: str, tier: str) -> Refusal:
    with pytest.raises(InvalidInput) as refused:
        open_by_hand(desk, f"{tier}_plan", customer, who)
    return refused.value


@when(step('"{who:Q}" tries to open a {tier} plan for customer "{customer:Q}", whom nobody '
           "has recorded"), target_fixture="refusal")
def tries_unknown(desk: AccountDesk, who: str, customer: str, tier: str) -> Refusal:
    return tries_another(desk, who, customer, tier)


@then(step("it is refused because {name} already has an open {tier} plan, the one opened before"))
def refused_second(desk: AccountDesk, refusal: Refusal, plan: int, name: str, tier: str) -> None:
    customer = desk.customer(name)
    check_invalid(refusal, "customer", f"customer '{customer}' already has an open "
                  f"{tier}_plan case (#{plan}); work that one, or close it first")
    assert open_plans(desk, customer, f"{tier}_plan") == [plan]
