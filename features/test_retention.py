"""Steps for retention.feature (the shared ones are in conftest.py). Churn warnings come from
the real tier recompute over the shipped CDNOW sample; the other cases are opened by hand, as
an account manager may."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import Actor
from engine.customers.records import CustomerProfile
from engine.demodata import CDNOW_SAMPLE
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.kernel.history import CustomerEvent, Event
from engine.store.schema import cases, customer_figures, customers
from features.desk import Clock, Desk, moment

scenarios("retention.feature")
WORKFLOW = "retention"


# --- the desk and its cases ----------------------------------------------------------------


@given(parsers.parse('account manager "{account_manager}", managers "{manager}" and "{other}" '
                     'and agent "{agent}" work on retention'), target_fixture="desk")
def desk(desk_database: str, clock: Clock, account_manager: str, manager: str, other: str,
         agent: str) -> Desk:
    roles = {account_manager: "account_manager", manager: "manager", other: "manager",
             agent: "agent"}
    desk = Desk(desk_database, clock, roles)
    casework = desk.open()
    try:
        for name, role in roles.items():
            casework.store.add_user(name, [role], clock.now)
    finally:
        casework.close()
    return desk


def account_manager(desk: Desk) -> Actor:
    name = next(name for name, role in desk.roles.items() if role == "account_manager")
    return Actor(name, "account_manager")


def open_retention(desk: Desk, customer: str, tier: str, status: str = "active") -> int:
    """A customer on file, and a retention case its account manager opens by hand."""
    casework = desk.open()
    try:
        casework.customers.add(customer, desk.clock.now, type="enterprise",
                               name=f"Customer {customer}", status=status, tier=tier)
        return casework.runtime.start(WORKFLOW, {"tier": tier}, account_manager(desk),
                                      desk.clock.now, customer=customer).id
    finally:
        casework.close()


@given(parsers.parse('{status} {tier} customer "{customer}" has a retention case'),
       target_fixture="retention")
def has_retention_case(desk: Desk, status: str, tier: str, customer: str) -> int:
    return open_retention(desk, customer, tier, status)


@given(parsers.parse('{tier} customer "{customer}" has had a retention case since {text}'),
       target_fixture="retention")
def retention_case_since(desk: Desk, tier: str, customer: str, text: str) -> int:
    desk.clock.now = moment(text)
    return open_retention(desk, customer, tier)


@given(parsers.parse('"{who}" has taken on the retention case of {tier} customer "{customer}"'))
def taken_on(desk: Desk, who: str, tier: str, customer: str) -> None:
    other = open_retention(desk, customer, tier)
    desk.fire(other, who, "contact", contact_notes="Called; a meeting is set")


@when(parsers.parse('"{who}" tries to open another retention case for customer "{customer}"'),
      target_fixture="invalid")
def opens_twice(desk: Desk, who: str, customer: str) -> InvalidInput:
    casework = desk.open()
    try:
        with pytest.raises(InvalidInput) as refused:
            casework.runtime.start(WORKFLOW, {"tier": "key"}, Actor(who, desk.roles[who]),
                                   desk.clock.now, customer=customer)
    finally:
        casework.close()
    return refused.value


# --- working the case ------------------------------------------------------------------------


@when(parsers.parse('"{who}" records the contact: "{notes}"'))
@given(parsers.parse('"{who}" has recorded the contact: "{notes}"'))
def contacts(desk: Desk, retention: int, who: str, notes: str) -> None:
    desk.fire(retention, who, "contact", contact_notes=notes)


@when(parsers.parse('"{who}" offers a {kind}: "{offer}"'))
@given(parsers.parse('"{who}" has offered a {kind}: "{offer}"'))
def offers(desk: Desk, retention: int, who: str, kind: str, offer: str) -> None:
    desk.fire(retention, who, "make_offer", offer=offer, offer_kind=kind)


@when(parsers.parse('"{who}" records that the customer stays'))
def retained(desk: Desk, retention: int, who: str) -> None:
    desk.fire(retention, who, "retained")


@when(parsers.parse('"{who}" records the customer lost: "{reason}"'))
def lost(desk: Desk, retention: int, who: str, reason: str) -> None:
    desk.fire(retention, who, "lost", lost_reason=reason)


def attempt(desk: Desk, case_id: int, who: str, trigger: str,
            **fields: Any) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as refused:
        desk.fire(case_id, who, trigger, **fields)
    return refused.value


@when(parsers.parse('"{who}" tries to record the contact: "{notes}"'), target_fixture="refusal")
def tries_to_contact(desk: Desk, retention: int, who: str, notes: str) -> TransitionRefused:
    return attempt(desk, retention, who, "contact", contact_notes=notes)


@when(parsers.parse('"{who}" tries to record the customer lost without a reason'),
      target_fixture="refusal")
def tries_lost(desk: Desk, retention: int, who: str) -> TransitionRefused:
    return attempt(desk, retention, who, "lost")


@when(parsers.parse('"{who}" tries to record that the customer stays before anyone has called'),
      target_fixture="refusal")
def tries_retained(desk: Desk, retention: int, who: str) -> TransitionRefused:
    return attempt(desk, retention, who, "retained")


@then(parsers.parse('it is refused because it needs the field "{field}"'))
def refused_for_field(refusal: TransitionRefused, field: str) -> None:
    assert refusal.reason == "field"
    assert refusal.detail.startswith(f"needs {field}")


@then(parsers.parse('it is refused because role "{role}" may not fire it, only "{allowed}"'))
def refused_for_role(refusal: TransitionRefused, role: str, allowed: str) -> None:
    assert (refusal.reason, refusal.detail) == (
        "role", f"role '{role}' may not fire it (allowed: {allowed})")


@then(parsers.parse('it is refused because the case is still "{state}"'))
def refused_for_state(refusal: TransitionRefused, retention: int, state: str) -> None:
    assert refusal.reason == "state"
    assert refusal.detail.startswith(f"case {retention} is in state '{state}'")


@then(parsers.parse('it is refused as invalid: "{message}"'))
def refused_as_invalid(invalid: InvalidInput, message: str) -> None:
    assert invalid.field == "customer"
    assert message in invalid.detail


# --- what the case and the customer show -------------------------------------------------------


@then(parsers.parse('the retention case is "{state}" in the "{queue}" queue and assigned to '
                    "{assignee}"))
def retention_is(desk: Desk, retention: int, state: str, queue: str, assignee: str) -> None:
    case = desk.case(retention)
    expected = None if assignee == "nobody" else assignee.strip('"')
    assert (case.state, case.queue, case.assignee) == (state, queue, expected)
    assert case.closed_at is None


@then(parsers.parse('the retention case is closed with the outcome "{outcome}"'))
def closed_with(desk: Desk, retention: int, outcome: str) -> None:
    case = desk.case(retention)
    assert (case.state, case.queue, case.fields["outcome"]) == ("closed", None, outcome)
    assert case.closed_at == desk.clock.now


@then(parsers.parse('customer "{customer}" is "{status}"'))
def customer_status(desk: Desk, customer: str, status: str) -> None:
    assert record(desk, customer).record.status == status


@then(parsers.parse('its field "{name}" is "{value}"'))
def field_is(desk: Desk, retention: int, name: str, value: str) -> None:
    assert str(desk.case(retention).fields[name]) == value


@then(parsers.parse('the history says the workflow escalated it by the timer "{timer}"'))
def escalated_by_timer(desk: Desk, retention: int, timer: str) -> None:
    moves = [e for e in case_events(desk, retention) if e.name == "case.transitioned"]
    assert len(moves) == 1
    [move] = moves
    assert json.loads(move.payload) == {"trigger": "escalate", "timer": timer}
    assert (move.actor, move.role, move.from_state, move.to_state) == \
        ("casework", "system", "at_risk", "at_risk")
    assert move.at == desk.clock.now


# --- the churn warning -----------------------------------------------------------------------


@given("the CDNOW sample has been imported")
def sample_imported(desk: Desk) -> None:
    casework = desk.open()
    try:
        assert casework.customers.import_file(CDNOW_SAMPLE, "cdnow", desk.clock.now).customers \
            == 2357
    finally:
        casework.close()


def day(text: str) -> date:
    return datetime.strptime(text, "%d %B %Y").date()


@when(parsers.parse("the tiers are recomputed as of {text}"))
def recomputed(desk: Desk, text: str) -> None:
    casework = desk.open()
    try:
        casework.tiering.recompute(day(text), desk.clock.now)
    finally:
        casework.close()


@when(parsers.parse('customer "{customer}" buys again on {text}'))
def buys_again(desk: Desk, tmp_path: Path, customer: str, text: str) -> None:
    path = tmp_path / f"purchases-{customer}.csv"
    path.write_text(f"customer,date,amount,quantity\n{customer},{day(text).isoformat()},60.00,3\n")
    casework = desk.open()
    try:
        assert casework.customers.import_file(path, "csv", desk.clock.now).purchases == 1
    finally:
        casework.close()


def retention_cases(desk: Desk) -> list[tuple[int, str]]:
    """(case id, customer) of every retention case, open or closed."""
    casework = desk.open()
    try:
        with casework.database.reading() as connection:
            return [(int(i), str(c)) for i, c in connection.execute(
                sa.select(cases.c.id, cases.c.customer).where(cases.c.workflow == WORKFLOW)
                .order_by(cases.c.id))]
    finally:
        casework.close()


@then(parsers.parse("the {count:d} strategic and key customers at high churn risk have one "
                    "retention case each"))
def one_case_each(desk: Desk, count: int) -> None:
    casework = desk.open()
    try:
        with casework.database.reading() as connection:
            at_risk = set(connection.execute(
                sa.select(customers.c.id).join(customer_figures)
                .where(customer_figures.c.churn_risk == "high",
                       customers.c.tier.in_(("strategic", "key")))).scalars())
    finally:
        casework.close()
    per_customer = Counter(customer for _, customer in retention_cases(desk))
    assert len(at_risk) == count
    assert set(per_customer) == at_risk
    assert set(per_customer.values()) == {1}


@then(parsers.parse('customer "{customer}" has one retention case, "{state}" in the "{queue}" '
                    'queue, for a "{tier}" customer silent for {days:d} days'),
      target_fixture="retention")
def the_retention_case(desk: Desk, customer: str, state: str, queue: str, tier: str,
                       days: int) -> int:
    [case_id] = [i for i, c in retention_cases(desk) if c == customer]
    case = desk.case(case_id)
    assert (case.state, case.queue, case.assignee) == (state, queue, None)
    assert (case.fields["tier"], case.fields["recency_days"]) == (tier, days)
    assert 0 <= float(case.fields["p_alive"]) <= 1
    [created] = [e for e in case_events(desk, case_id) if e.name == "case.created"]
    assert (created.actor, created.role) == ("casework", "system")
    assert json.loads(created.payload)["because"] == {"event": "customer.churn_risk_changed"}
    return case_id


@then(parsers.parse('customer "{customer}"\'s history says its churn risk turned "{risk}" by '
                    'row "{row}", which started that case'))
def warning_started_case(desk: Desk, customer: str, risk: str, row: str, retention: int) -> None:
    history = customer_history(desk, customer)
    names = [e.name for e in history]
    warning = names.index("customer.churn_risk_changed")
    change = json.loads(history[warning].payload)
    assert (change["table"], change["new"], change["matched"]) == ("churn_risk", risk, [row])
    started = [json.loads(e.payload) for e in history[warning:]
               if e.name == "customer.case_started"]
    assert {"workflow": WORKFLOW, "case": retention,
            "on": "customer.churn_risk_changed"} in started


@then(parsers.parse('customer "{customer}"\'s churn risk is "{risk}"'))
def churn_risk_is(desk: Desk, customer: str, risk: str) -> None:
    figures = record(desk, customer).figures
    assert figures is not None and figures.churn_risk == risk
    last = [e for e in customer_history(desk, customer)
            if e.name == "customer.churn_risk_changed"][-1]
    assert json.loads(last.payload)["new"] == risk


@then(parsers.parse('customer "{customer}" still has that one retention case'))
def still_one(desk: Desk, customer: str, retention: int) -> None:
    assert [i for i, c in retention_cases(desk) if c == customer] == [retention]
    started = [json.loads(e.payload)["case"] for e in customer_history(desk, customer)
               if e.name == "customer.case_started"
               and json.loads(e.payload)["workflow"] == WORKFLOW]
    assert started == [retention]


@then("no customer has more than one retention case")
def never_two(desk: Desk) -> None:
    per_customer = Counter(customer for _, customer in retention_cases(desk))
    assert per_customer and max(per_customer.values()) == 1


# --- the auditor -------------------------------------------------------------------------------


@then("the retention case's moves read")
def moves_read(desk: Desk, retention: int, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["event", "who", "role", "from", "to"]
    seen = [[e.name, e.actor, e.role or "", e.from_state or "", e.to_state or ""]
            for e in case_events(desk, retention) if e.to_state is not None]
    assert seen == rows


@then(parsers.parse('the auditor reads that the offer was a "{kind}" and the customer left '
                    'because "{reason}"'))
def auditor_reads_outcome(desk: Desk, retention: int, kind: str, reason: str) -> None:
    changes = {json.loads(e.payload)["field"]: json.loads(e.payload)["new"]
               for e in case_events(desk, retention) if e.name == "case.field_changed"}
    assert (changes["offer_kind"], changes["lost_reason"], changes["outcome"]) == \
        (kind, reason, "lost")


@then(parsers.parse('customer "{customer}"\'s history shows "{who}" as {role} setting its '
                    '{attribute} from "{old}" to "{new}" by "{trigger}" on the retention case'),
      target_fixture="customer_change")
def customer_history_shows(desk: Desk, retention: int, customer: str, who: str, role: str,
                           attribute: str, old: str, new: str, trigger: str) -> CustomerEvent:
    [updated] = [e for e in customer_history(desk, customer) if e.name == "customer.updated"]
    assert (updated.actor, updated.role, updated.at) == (who, role, desk.clock.now)
    assert json.loads(updated.payload) == {
        "customer": customer, "changes": {attribute: {"old": old, "new": new}},
        "case": retention, "workflow": WORKFLOW, "trigger": trigger}
    return updated


@then("the retention case records the same change of the customer")
def case_records_change(desk: Desk, retention: int, customer_change: CustomerEvent) -> None:
    [updated] = [e for e in case_events(desk, retention) if e.name == "case.customer_updated"]
    change = json.loads(customer_change.payload)
    assert json.loads(updated.payload) == {"customer": change["customer"],
                                           "changes": change["changes"]}
    assert (updated.actor, updated.role, updated.at) == \
        (customer_change.actor, customer_change.role, customer_change.at)


# --- reading -----------------------------------------------------------------------------------


def record(desk: Desk, customer: str) -> CustomerProfile:
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
