"""Steps for complaint.feature (the shared ones are in conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from engine.cases.runtime import Actor
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.workflows.loading import load_workflow_file
from features.desk import ROOT, Clock, Desk

# each complaint guard's message (workflows/complaint.yaml): what a refusal by it says
GUARD_MESSAGES = {t.when.source: t.message for t in load_workflow_file(
    ROOT / "workflows" / "complaint.yaml").transitions if t.when is not None}

scenarios("complaint.feature")


@given(parsers.parse('agent "{agent}" and supervisor "{supervisor}" work the service desk'),
       target_fixture="desk")
def desk(desk_database: str, clock: Clock, agent: str, supervisor: str) -> Desk:
    return Desk(desk_database, clock, {agent: "agent", supervisor: "supervisor"})


@when(parsers.parse('customer "{customer}" complains by {channel}: "{summary}"'),
      target_fixture="complaint")
@given(parsers.parse('customer "{customer}" has complained by {channel}: "{summary}"'),
       target_fixture="complaint")
def complains(desk: Desk, customer: str, channel: str, summary: str) -> int:
    casework = desk.open()
    try:
        casework.customers.add(customer, desk.clock.now)  # a new caller becomes a customer
        return casework.runtime.start("complaint", {"channel": channel, "summary": summary},
                                      Actor("ann", "agent"), desk.clock.now, customer=customer).id
    finally:
        casework.close()


@when(parsers.parse('"{who}" closes it with a satisfaction of {csat:d}'))
@given(parsers.parse('"{who}" has closed it with a satisfaction of {csat:d}'))
def closes(desk: Desk, complaint: int, who: str, csat: int) -> None:
    desk.fire(complaint, who, "close", csat=csat)


@given(parsers.parse('auditor "{who}" reads the histories'))
def auditor(desk: Desk, who: str) -> None:
    desk.roles[who] = "auditor"


@given(parsers.parse('customer "{customer}" has complained again by {channel}: "{summary}"'),
       target_fixture="second")
def complains_again(desk: Desk, customer: str, channel: str, summary: str) -> int:
    return complains(desk, customer, channel, summary)


@then(parsers.parse('its first reply clock is "{shown}"'))
def first_reply_clock(desk: Desk, complaint: int, shown: str) -> None:
    casework = desk.open()
    try:
        [clock] = [c for c in casework.timers.clocks(complaint) if c.name == "first_reply"]
    finally:
        casework.close()
    assert clock.shown == shown


@when(parsers.parse('"{who}" follows up and the customer is satisfied, rating {csat:d}: '
                    '"{notes}"'))
def satisfied(desk: Desk, complaint: int, who: str, csat: int, notes: str) -> None:
    desk.fire(complaint, who, "close", csat=csat, follow_up_notes=notes)


@when(parsers.parse('"{who}" follows up and the customer is not satisfied, rating {csat:d}: '
                    '"{notes}"'))
def not_satisfied(desk: Desk, complaint: int, who: str, csat: int, notes: str) -> None:
    desk.fire(complaint, who, "not_satisfied", csat=csat, follow_up_notes=notes)


@when(parsers.parse('"{who}" tries to mark the second complaint a duplicate of itself'),
      target_fixture="refusal")
def duplicate_of_itself(desk: Desk, second: int, who: str) -> TransitionRefused:
    return attempt(desk, second, who, "mark_duplicate", duplicate_of=second)


@when(parsers.parse('"{who}" tries to mark the second complaint a duplicate of complaint '
                    "{other:d}"), target_fixture="invalid")
def duplicate_of_nothing(desk: Desk, second: int, who: str, other: int) -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        desk.fire(second, who, "mark_duplicate", duplicate_of=other)
    return refused.value


@then(parsers.parse('it is refused as invalid: "{message}"'))
def refused_as_invalid(invalid: InvalidInput, message: str) -> None:
    assert invalid.field == "duplicate_of"
    assert message in invalid.detail


@when(parsers.parse('"{who}" marks the second complaint a duplicate of the first'))
def marks_duplicate(desk: Desk, complaint: int, second: int, who: str) -> None:
    desk.fire(second, who, "mark_duplicate", duplicate_of=complaint)


@then("the second complaint is closed as a duplicate of the first")
def closed_as_duplicate(desk: Desk, complaint: int, second: int) -> None:
    case = desk.case(second)
    assert (case.state, case.queue, case.fields["duplicate_of"]) == ("closed", None, complaint)
    assert payloads(desk, second, "case.transitioned")[-1] == {"trigger": "mark_duplicate"}


@then(parsers.parse('the history says the workflow closed it by the timer "{timer}"'))
def closed_by_timer(desk: Desk, complaint: int, timer: str) -> None:
    assert payloads(desk, complaint, "case.transitioned")[-1] == {
        "trigger": "close_unanswered", "timer": timer}
    casework = desk.open()
    try:
        last = [e for e in casework.store.case_events(complaint)
                if e.name == "case.transitioned"][-1]
    finally:
        casework.close()
    assert (last.actor, last.role) == ("casework", "system")


@then(parsers.parse('the auditor reads that the remedy was "{remedy}" and the root cause '
                    '"{cause}"'))
def auditor_reads_resolution(desk: Desk, complaint: int, remedy: str, cause: str) -> None:
    changes = {p["field"]: p["new"] for p in payloads(desk, complaint, "case.field_changed")}
    assert (changes["remedy"], changes["root_cause"]) == (remedy, cause)


def payloads(desk: Desk, case_id: int, name: str) -> list[dict[str, Any]]:
    casework = desk.open()
    try:
        return [json.loads(e.payload) for e in casework.store.case_events(case_id)
                if e.name == name]
    finally:
        casework.close()


@when(parsers.parse('"{who}" reopens it'))
def reopens(desk: Desk, complaint: int, who: str) -> None:
    desk.fire(complaint, who, "reopen")


def attempt(desk: Desk, complaint: int, who: str, trigger: str, **fields: Any) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as refused:
        desk.fire(complaint, who, trigger, **fields)
    return refused.value


@when(parsers.parse('"{who}" tries to triage it as a "{category}" complaint of "{severity}" '
                    "severity"), target_fixture="refusal")
def tries_to_triage(desk: Desk, complaint: int, who: str, category: str,
                    severity: str) -> TransitionRefused:
    return attempt(desk, complaint, who, "triage", category=category, severity=severity)


@when(parsers.parse('"{who}" tries to resolve it with only a resolution: "{text}"'),
      target_fixture="refusal")
def tries_to_resolve(desk: Desk, complaint: int, who: str, text: str) -> TransitionRefused:
    return attempt(desk, complaint, who, "resolve", resolution=text)


@then(parsers.parse('it is refused because role "{role}" is read-only'))
def refused_for_role(refusal: TransitionRefused, role: str) -> None:
    assert (refusal.reason, refusal.detail) == ("role", f"role '{role}' is read-only")


@when(parsers.parse('"{who}" tries to close it with a satisfaction of {csat:d}'),
      target_fixture="refusal")
def tries_to_close(desk: Desk, complaint: int, who: str, csat: int) -> TransitionRefused:
    return attempt(desk, complaint, who, "close", csat=csat)


@when(parsers.parse('"{who}" tries to reopen it'), target_fixture="refusal")
def tries_to_reopen(desk: Desk, complaint: int, who: str) -> TransitionRefused:
    return attempt(desk, complaint, who, "reopen")


@then(parsers.parse("it is refused by the guard {guard}"))
def refused_by_guard(refusal: TransitionRefused, guard: str) -> None:
    assert refusal.reason == "guard"
    assert refusal.condition == guard[1:-1]
    assert refusal.detail == GUARD_MESSAGES[guard[1:-1]] is not None  # in words


@then(parsers.parse('it is refused because it needs the field "{field}"'))
def refused_for_field(refusal: TransitionRefused, field: str) -> None:
    assert refusal.reason == "field"
    assert refusal.detail.startswith(f"needs {field}")


@then(parsers.parse('the complaint is "{state}" and in no queue'))
def in_no_queue(desk: Desk, complaint: int, state: str) -> None:
    case = desk.case(complaint)
    assert (case.state, case.queue) == (state, None)
    assert case.closed_at is not None


@then(parsers.parse('it is assigned to "{who}"'))
def assigned_to(desk: Desk, complaint: int, who: str) -> None:
    assert desk.case(complaint).assignee == who


@then(parsers.parse("its first response is due within {first:d} hours and its resolution "
                    "within {resolution:d} business hours"))
def sla_targets(desk: Desk, complaint: int, first: int, resolution: int) -> None:
    fields = desk.case(complaint).fields
    assert (fields["first_response_hours"], fields["resolution_hours"]) == \
        (str(first), str(resolution))
    assert fields["business_time"] is True


@then(parsers.parse('its field "{name}" is "{value}"'))
def field_is(desk: Desk, complaint: int, name: str, value: str) -> None:
    assert str(desk.case(complaint).fields[name]) == value


@then("the history reads")
def history_reads(desk: Desk, complaint: int, datatable: list[list[str]]) -> None:
    casework = desk.open()
    try:
        events = casework.store.case_events(complaint)
    finally:
        casework.close()
    header, *rows = datatable
    moves = [e for e in events if e.to_state is not None]
    seen = [[e.name, e.actor, e.from_state or "", e.to_state or ""] for e in moves]
    assert header == ["event", "who", "from", "to"]
    assert seen == rows


@when(parsers.parse("someone changes event {seq:d} of the complaint's history in the database"))
def tamper(desk: Desk, complaint: int, seq: int) -> None:
    """What a person with database access could do: switch the guard off and edit a row."""
    casework = desk.open()
    try:
        with casework.database.writing() as connection:
            if casework.database.dialect == "sqlite":
                connection.exec_driver_sql("DROP TRIGGER events_no_update")
            else:
                connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER "
                                           "events_append_only")
            connection.exec_driver_sql(
                "UPDATE events SET to_state = 'closed' WHERE case_id = :case AND seq = :seq"
                .replace(":case", str(complaint)).replace(":seq", str(seq))
            )
    finally:
        casework.close()


@then(parsers.parse("the audit reports event {seq:d} of the complaint as altered"))
def audit_reports(desk: Desk, complaint: int, seq: int) -> None:
    casework = desk.open()
    try:
        _, _, breaks = casework.verify_history()
    finally:
        casework.close()
    assert [(b.subject, b.seq) for b in breaks] == [(complaint, seq)]
    assert "altered" in breaks[0].reason
