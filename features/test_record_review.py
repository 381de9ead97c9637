"""Steps for record_review.feature (the shared ones are in conftest.py). Reviews are opened as
the scheduled job opens them, `opening.reviews(as_of, now)` with as_of the day of the run, and
once through the real `casework reviews start` command line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import GUARD_UNMET
from engine.cli.main import main
from engine.jobs.opening import Opened
from engine.kernel.errors import TransitionRefused
from engine.kernel.history import CustomerEvent, Event
from engine.kernel.personal import refs_in_texts, reveal
from engine.kernel.records import CustomerRecord
from engine.store.schema import cases
from features.desk import ROOT, Clock, Desk, moment

scenarios("record_review.feature")
WORKFLOW = "record_review"


@given(parsers.parse('agent "{agent}" and account manager "{account_manager}" keep the customer '
                     "records"), target_fixture="desk")
def desk(desk_database: str, clock: Clock, agent: str, account_manager: str) -> Desk:
    roles = {agent: "agent", account_manager: "account_manager"}
    desk = Desk(desk_database, clock, roles)
    casework = desk.open()
    try:
        for name, role in roles.items():
            casework.store.add_user(name, [role], clock.now)
    finally:
        casework.close()
    return desk


# --- the records -------------------------------------------------------------------------------


def on_file(desk: Desk, customer: str, tier: str | None, created: date,
            reviewed: date | None = None, **attributes: str) -> None:
    """A record created (and perhaps last reviewed) on these days, at nine in the morning."""
    def at(day: date) -> datetime:
        return datetime.combine(day, time(9), tzinfo=UTC)

    casework = desk.open()
    try:
        assert casework.customers.add(
            customer, at(created), type="enterprise", name=f"Customer {customer}", tier=tier,
            reviewed_at=at(reviewed) if reviewed else None, **attributes)
    finally:
        casework.close()


@given("these customer records")
def these_records(desk: Desk, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["customer", "tier", "created", "reviewed"]
    for customer, tier, created, reviewed in rows:
        on_file(desk, customer, tier or None, date.fromisoformat(created),
                date.fromisoformat(reviewed) if reviewed else None)


@given(parsers.re(r'(?P<tier>\w+) customer "(?P<customer>[^"]+)" has been on file since '
                  r"(?P<created>\d{4}-\d{2}-\d{2})"))
def customer_on_file(desk: Desk, tier: str, customer: str, created: str) -> None:
    on_file(desk, customer, tier, date.fromisoformat(created))


@given(parsers.parse('{tier} customer "{customer}" has been on file since {created} with e-mail '
                     '"{email}" and phone "{phone}"'))
def customer_with_contact(desk: Desk, tier: str, customer: str, created: str, email: str,
                          phone: str) -> None:
    on_file(desk, customer, tier, date.fromisoformat(created), email=email, phone=phone)


def record(desk: Desk, customer: str) -> CustomerRecord:
    casework = desk.open()
    try:
        return casework.customers.customer(customer).record
    finally:
        casework.close()


# --- opening reviews ---------------------------------------------------------------------------


@when(parsers.parse("the reviews are started on {text}"), target_fixture="opened")
@given(parsers.parse("the reviews have been started on {text}"), target_fixture="opened")
def reviews_started(desk: Desk, text: str) -> Opened:
    desk.clock.now = moment(text)
    casework = desk.open()
    try:
        return casework.opening.reviews(desk.clock.now.date(), desk.clock.now)
    finally:
        casework.close()


@when(parsers.parse('the operator runs "{command}" on {text}'), target_fixture="output")
def operator_runs(desk: Desk, command: str, text: str) -> dict[str, Any]:
    desk.clock.now = moment(text)
    program, *args = command.split()
    assert program == "casework"
    env = {"CASEWORK_DATABASE_URL": desk.database_url,
           "CASEWORK_NOW": desk.clock.now.isoformat()}
    result = CliRunner().invoke(main, [*args, "--home", str(ROOT)], env=env)
    assert result.exit_code == 0, result.output
    output: dict[str, Any] = json.loads(result.output)
    return output


@then(parsers.parse('the command opens no review and passes over "{customer}" because it '
                    '"{reason}"'))
def command_passes_over(output: dict[str, Any], customer: str, reason: str) -> None:
    assert output == {"workflow": WORKFLOW, "started": {}, "skipped": {customer: reason}}


@then(parsers.parse("reviews are opened for {names} only"))
def opened_for(desk: Desk, opened: Opened, names: str) -> None:
    expected = sorted(name.strip().strip('"') for name in
                      names.replace(" and ", ", ").split(","))
    assert sorted(opened.started) == expected
    assert opened.skipped == {}
    for customer, case_id in opened.started.items():
        case = desk.case(case_id)
        assert (case.workflow, case.customer) == (WORKFLOW, customer)


@then("no review is opened")
def none_opened(opened: Opened) -> None:
    assert (opened.started, opened.skipped) == ({}, {})


@then(parsers.parse('the review of "{customer}" is "{state}" in the "{queue}" queue, for a '
                    '"{tier}" record last reviewed on {day}'))
def review_of(desk: Desk, opened: Opened, customer: str, state: str, queue: str, tier: str,
              day: str) -> None:
    case = desk.case(opened.started[customer])
    assert (case.state, case.queue, case.assignee) == (state, queue, None)
    assert case.fields == {"tier": tier, "last_reviewed": day}
    [created] = [e for e in events(desk, case.id) if e.name == "case.created"]
    assert (created.actor, created.role, created.at) == ("casework", "system", desk.clock.now)


@then(parsers.parse('customer "{customer}"\'s history says a review was started because the '
                    "record was {months:d} months old"))
def history_says_started(desk: Desk, opened: Opened, customer: str, months: int) -> None:
    [started] = [e for e in history(desk, customer) if e.name == "customer.case_started"]
    assert json.loads(started.payload) == {"workflow": WORKFLOW, "case": opened.started[customer],
                                           "on": "record.stale"}
    [created] = [e for e in events(desk, opened.started[customer]) if e.name == "case.created"]
    because = json.loads(created.payload)["because"]
    assert (because["event"], because["months"]) == ("record.stale", months)


def reviews_of(desk: Desk, customer: str) -> list[tuple[int, datetime | None]]:
    """(case id, closed at) of the customer's reviews, oldest first."""
    casework = desk.open()
    try:
        with casework.database.reading() as connection:
            return [(int(i), closed) for i, closed in connection.execute(
                sa.select(cases.c.id, cases.c.closed_at)
                .where(cases.c.workflow == WORKFLOW, cases.c.customer == customer)
                .order_by(cases.c.id))]
    finally:
        casework.close()


@then(parsers.parse('customer "{customer}" has one review'))
def one_review(desk: Desk, opened: Opened, customer: str) -> None:
    [(case_id, closed)] = reviews_of(desk, customer)
    assert (case_id, closed) == (opened.started[customer], None)


@then(parsers.parse('customer "{customer}" has two reviews, the first one done'))
def two_reviews(desk: Desk, review: int, opened: Opened, customer: str) -> None:
    [(first, closed), (second, still_open)] = reviews_of(desk, customer)
    assert (first, second) == (review, opened.started[customer])
    assert closed is not None and still_open is None
    assert desk.case(first).state == "done"


# --- working a review --------------------------------------------------------------------------


@when(parsers.parse('"{who}" starts the review of "{customer}"'), target_fixture="review")
@given(parsers.parse('"{who}" has started the review of "{customer}"'), target_fixture="review")
def starts_review(desk: Desk, opened: Opened, who: str, customer: str) -> int:
    review = opened.started[customer]
    desk.fire(review, who, "start_review")
    return review


@when(parsers.parse('"{who}" marks it reviewed, contact and classification verified, with only '
                    'the {what} corrected to "{value}"'))
@given(parsers.parse('"{who}" has marked it reviewed, contact and classification verified, with '
                     'the {what} corrected to "{value}"'))
def marks_reviewed(desk: Desk, review: int, who: str, what: str, value: str) -> None:
    desk.fire(review, who, "mark_reviewed", contact_verified=True,
              classification_verified=True, **{what: value})


def attempt(desk: Desk, case_id: int, who: str, trigger: str,
            **fields: Any) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as refused:
        desk.fire(case_id, who, trigger, **fields)
    return refused.value


@when(parsers.parse('"{who}" tries to mark it reviewed with the contact verified but the '
                    "classification not"), target_fixture="refusal")
def tries_unclassified(desk: Desk, review: int, who: str) -> TransitionRefused:
    return attempt(desk, review, who, "mark_reviewed", contact_verified=True,
                   classification_verified=False)


@when(parsers.parse('"{who}" tries to mark it reviewed with only the contact verified'),
      target_fixture="refusal")
def tries_contact_only(desk: Desk, review: int, who: str) -> TransitionRefused:
    return attempt(desk, review, who, "mark_reviewed", contact_verified=True)


@then(parsers.parse('it is refused by the guard "{guard}"'))
def refused_by_guard(refusal: TransitionRefused, guard: str) -> None:
    assert (refusal.reason, refusal.condition) == ("guard", guard)
    assert refusal.detail == GUARD_UNMET  # the guard has no message: a plain sentence


@then(parsers.parse('it is refused because it needs the field "{field}"'))
def refused_for_field(refusal: TransitionRefused, field: str) -> None:
    assert refusal.reason == "field"
    assert refusal.detail.startswith(f"needs {field}")


@then(parsers.parse('the review is "{state}" in the "{queue}" queue and assigned to "{who}"'))
def review_is(desk: Desk, review: int, state: str, queue: str, who: str) -> None:
    case = desk.case(review)
    assert (case.state, case.queue, case.assignee, case.closed_at) == (state, queue, who, None)


@then(parsers.parse('the review is "{state}" and in no queue'))
def review_done(desk: Desk, review: int, state: str) -> None:
    case = desk.case(review)
    assert (case.state, case.queue, case.closed_at) == (state, None, desk.clock.now)


# --- the record afterwards ---------------------------------------------------------------------


@then(parsers.parse('customer "{customer}" has the phone "{phone}" and the e-mail "{email}"'))
def contact_data(desk: Desk, customer: str, phone: str, email: str) -> None:
    found = record(desk, customer)
    assert (found.phone, found.email) == (phone, email)


@then(parsers.parse('customer "{customer}" was last reviewed on {text}'))
def last_reviewed(desk: Desk, customer: str, text: str) -> None:
    assert record(desk, customer).reviewed_at == moment(text)


@then(parsers.parse('customer "{customer}" has never been reviewed'))
def never_reviewed(desk: Desk, customer: str) -> None:
    assert record(desk, customer).reviewed_at is None
    assert not [e for e in history(desk, customer) if e.name == "customer.updated"]


@then(parsers.parse('customer "{customer}"\'s history shows what "{who}", {role}, changed by '
                    '"{trigger}" on the review'), target_fixture="customer_change")
def history_shows(desk: Desk, review: int, customer: str, who: str, role: str, trigger: str,
                  datatable: list[list[str]]) -> CustomerEvent:
    header, *rows = datatable
    assert header == ["attribute", "old", "new"]
    [updated] = [e for e in history(desk, customer) if e.name == "customer.updated"]
    role = role.removeprefix("a ").removeprefix("an ")
    assert (updated.actor, updated.role, updated.at) == (who, role, desk.clock.now)
    # the phone is personal: the history holds a marker, shown with its value from the vault
    assert "+49" not in updated.payload
    assert shown(desk, updated.payload) == {
        "customer": customer, "case": review, "workflow": WORKFLOW, "trigger": trigger,
        "changes": {name: {"old": old or None, "new": new or None} for name, old, new in rows}}
    return updated


@then("the review records the same change of the customer")
def review_records_change(desk: Desk, review: int, customer_change: CustomerEvent) -> None:
    [updated] = [e for e in events(desk, review) if e.name == "case.customer_updated"]
    change = json.loads(customer_change.payload)
    assert json.loads(updated.payload) == {"customer": change["customer"],
                                           "changes": change["changes"]}
    assert (updated.actor, updated.role, updated.at) == \
        (customer_change.actor, customer_change.role, customer_change.at)


def shown(desk: Desk, payload: str) -> Any:
    """A stored payload with its personal values in place of their markers."""
    casework = desk.open()
    try:
        return reveal(json.loads(payload), casework.personal_data.values(
            refs_in_texts([payload])))
    finally:
        casework.close()


def history(desk: Desk, customer: str) -> list[CustomerEvent]:
    casework = desk.open()
    try:
        return casework.customers.history(customer)
    finally:
        casework.close()


def events(desk: Desk, case_id: int) -> list[Event]:
    casework = desk.open()
    try:
        return casework.store.case_events(case_id)
    finally:
        casework.close()
