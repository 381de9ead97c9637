"""Timers, SLA clocks and escalations fired by the worker, on both databases.

The dates are worked out by hand on the shipped office calendar (Europe/Berlin, Monday to
Friday 08:00-18:00; Berlin is UTC+1 in early March): a complaint received on Monday 2 March
2026 at 10:00 Berlin (09:00 UTC) and triaged half an hour later as an ordinary customer's
high-severity complaint gets 40 business hours to be resolved.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.cases.runtime import Actor
from engine.jobs.worker import Sweeper
from engine.kernel.errors import TransitionRefused
from engine.kernel.records import ClockStatus, SlaStatus, TimerKind
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0, add_test_customers, expiring_workflow

ALICE = Actor("alice", "agent")
SAM = Actor("sam", "supervisor")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def desk(casework: Casework) -> Casework:
    casework.store.add_user("alice", ["agent"], T0, email="alice@example.org")
    casework.store.add_user("sam", ["supervisor"], T0, email="sam@example.org")
    casework.store.add_user("mia", ["manager"], T0)
    add_test_customers(casework)
    return casework


def triaged(casework: Casework, severity: str = "high") -> int:
    case = casework.runtime.start("complaint", {"channel": "email", "summary": "late"}, ALICE,
                                  T0, customer="C1")
    casework.runtime.fire(case.id, "triage", ALICE, T0 + timedelta(minutes=30),
                          {"category": "billing", "severity": severity})
    casework.runtime.fire(case.id, "respond", ALICE, T0 + timedelta(minutes=30),
                          {"first_response": "We are on it"})
    return case.id


def clock(casework: Casework, case_id: int, name: str = "resolution") -> Any:
    return next(c for c in casework.timers.clocks(case_id) if c.name == name)


def names(casework: Casework, case_id: int) -> list[str]:
    return [e.name for e in casework.store.case_events(case_id)]


def payloads(casework: Casework, case_id: int, name: str) -> list[dict[str, Any]]:
    import json
    return [json.loads(e.payload) for e in casework.store.case_events(case_id) if e.name == name]


def test_clocks_and_timers_read_back_in_their_vocabularies(desk: Casework) -> None:
    """The store keeps the words as strings and gives them back as the enums."""
    case_id = triaged(desk)
    first, resolution = clock(desk, case_id, "first_reply"), clock(desk, case_id)
    assert [(type(c.status), c.status) for c in (first, resolution)] == [
        (ClockStatus, ClockStatus.STOPPED), (ClockStatus, ClockStatus.RUNNING)]
    assert (type(first.shown), first.shown) == (SlaStatus, SlaStatus.MET)
    now = at("2026-03-06T09:00:00")
    [timer] = desk.timers.claim(now, "w1", now, now + timedelta(minutes=1), 1)
    assert (type(timer.kind), timer.kind, timer.name) == (TimerKind, TimerKind.SLA,
                                                          "resolution")


def test_triage_sets_the_target_and_the_due_time_in_business_hours(desk: Casework) -> None:
    case_id = triaged(desk)
    first, resolution = clock(desk, case_id, "first_reply"), clock(desk, case_id)
    assert (first.shown, first.elapsed) == ("met", timedelta(minutes=30))
    assert (resolution.shown, resolution.target, resolution.calendar) == (
        "running", timedelta(hours=40), "office")
    assert resolution.due_at == at("2026-03-06T09:00:00")  # Friday 10:00 Berlin
    [pending] = desk.timers.listing(case_id, "pending")
    assert (pending.kind, pending.name, pending.step) == ("sla", "resolution", 0.8)
    assert pending.due_at == at("2026-03-05T11:00:00")  # 32 business hours: Thursday noon


def test_the_ladder_climbs_once_per_level_and_notifies_the_right_people(desk: Casework) -> None:
    case_id = triaged(desk)
    worker = desk.worker
    assert worker.fire_due_timers(at("2026-03-05T10:59:00")) == 0
    assert worker.fire_due_timers(at("2026-03-05T11:00:00")) == 1
    assert worker.fire_due_timers(at("2026-03-05T11:00:00")) == 0  # each step once
    assert clock(desk, case_id).shown == "warning"
    assert worker.fire_due_timers(at("2026-03-06T09:00:00")) == 1  # the breach, Friday 10:00
    assert desk.store.get_case(case_id).fields["priority"] == "high"
    assert worker.fire_due_timers(at("2026-03-10T08:59:00")) == 0
    assert worker.fire_due_timers(at("2026-03-10T09:00:00")) == 1  # 150%: Tuesday 10:00
    assert worker.fire_due_timers(at("2026-03-20T09:00:00")) == 0  # no step is left
    escalated = payloads(desk, case_id, "sla.escalated")
    assert [(p["level"], p["notify"], p["lateness"], p["matched"]) for p in escalated] == [
        (1, ["alice"], 0.8, ["warning"]), (2, ["sam"], 1.0, ["breach"]),
        (3, ["mia"], 1.5, ["far-past-target"])]
    assert [p["lateness"] for p in payloads(desk, case_id, "sla.warned")] == [0.8]
    assert [p["lateness"] for p in payloads(desk, case_id, "sla.breached")] == [1.0]
    notices = desk.timers.notices()
    # the assignee (alice) hears of the breach too, though the ladder names only sam for it
    assert [(n.recipient, n.address, n.case_id) for n in notices] == [
        ("alice", "alice@example.org", case_id), ("sam", "sam@example.org", case_id),
        ("alice", "alice@example.org", case_id), ("mia", None, case_id)]
    assert "at risk (escalation level 1)" in notices[0].subject
    assert "breached (escalation level 2)" in notices[1].subject
    assert notices[2].subject == notices[1].subject  # the notice the ladder's people read
    assert "rule far-past-target" not in notices[3].body
    assert "complaint_escalation v1, row far-past-target" in notices[3].body
    assert desk.store.get_case(case_id).fields["priority"] == "urgent"
    assert [t.outcome for t in desk.timers.listing(case_id, "fired")] == [
        "looked at resolution at 0.8; level 1", "looked at resolution at 1; level 2",
        "looked at resolution at 1.5; level 3"]
    assert desk.verify_history()[2] == []


def test_waiting_for_the_customer_pauses_the_resolution_clock(desk: Casework) -> None:
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "late"}, ALICE, T0,
                              customer="C1")
    desk.runtime.fire(case.id, "triage", ALICE, T0, {"category": "billing", "severity": "high"})
    desk.runtime.fire(case.id, "ask_customer", ALICE, T0 + timedelta(hours=2),
                      {"question": "Which invoice?"})
    paused = clock(desk, case.id)
    assert (paused.shown, paused.elapsed, paused.due_at) == ("paused", timedelta(hours=2), None)
    assert desk.timers.listing(case.id, "pending") == []
    assert desk.worker.fire_due_timers(at("2026-03-31T00:00:00")) == 0  # nothing runs
    desk.runtime.fire(case.id, "customer_replied", ALICE, at("2026-03-04T09:00:00"),
                      {"answer": "No. 42"})
    resumed = clock(desk, case.id)
    assert resumed.shown == "running"
    assert resumed.due_at == at("2026-03-09T17:00:00")  # 38 h on from Wednesday 10:00 Berlin
    assert names(desk, case.id)[-3:] == ["case.transitioned", "case.field_changed",
                                         "sla.resumed"]
    assert [p["reason"] for p in payloads(desk, case.id, "sla.paused")] == ["waiting_customer"]


def test_a_follow_up_timer_closes_an_unanswered_complaint_and_leaving_cancels_it(
        desk: Casework) -> None:
    first, second = triaged(desk, "low"), triaged(desk, "low")
    resolved_at = at("2026-03-06T16:00:00")  # Friday 17:00 Berlin
    for case_id in (first, second):
        desk.runtime.fire(case_id, "resolve", ALICE, resolved_at, {"resolution": "refunded",
                                                             "root_cause": "late parcel",
                                                             "remedy": "refund"})
    assert clock(desk, first).shown == "met"
    desk.runtime.fire(second, "not_satisfied", ALICE, resolved_at + timedelta(hours=1),
                      {"csat": 2})
    # five working days on from Friday 17:00 Berlin: the next Friday at 17:00
    due = at("2026-03-13T16:00:00")
    assert [t.due_at for t in desk.timers.listing(first, "pending") if t.kind == "timer"] \
        == [due]
    assert [t.name for t in desk.timers.listing(second, "cancelled")
            if t.kind == "timer"] == ["follow_up"]
    assert desk.worker.fire_due_timers(due - timedelta(minutes=1)) == 0
    assert desk.worker.fire_due_timers(due) == 1
    closed = desk.store.get_case(first)
    assert (closed.state, closed.closed_at) == ("closed", due)
    transitioned = payloads(desk, first, "case.transitioned")[-1]
    assert transitioned == {"trigger": "close_unanswered", "timer": "follow_up"}
    last = desk.store.case_events(first)[-1]
    assert (last.actor, last.role) == ("casework", "system")
    assert desk.store.get_case(second).state == "in_progress"


LEDGER = """
workflow: ledger
version: 1
fields:
  note: {type: text}
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - trigger: book
    from: open
    to: done
    roles: [agent]
    when: 'has(case.note)'
    do:
      - decide: {table: %s}
timers:
  - name: nightly
    in: open
    after: 2h
    fire: book
"""


def test_a_failing_timer_is_recorded_retried_later_and_does_not_stop_the_others(
        desk: Casework) -> None:
    spec = load_workflow_text(LEDGER % "complaint_routing", "ledger.yaml")
    desk.registry.deploy(spec, LEDGER % "complaint_routing", T0)
    broken = load_workflow_text((LEDGER % "not_published").replace("ledger", "broken"),
                                "broken.yaml")
    desk.registry.deploy(broken, "broken", T0)
    bad = desk.runtime.start("broken", {"note": "x"}, ALICE, T0).id
    refused = desk.runtime.start("ledger", {}, ALICE, T0).id
    due = T0 + timedelta(hours=2)
    assert desk.worker.fire_due_timers(due) == 1  # the skipped one is done; the bad one is not
    [failing] = desk.timers.listing(bad, failing=True)
    assert (failing.attempts, failing.state) == (1, "pending")
    assert failing.retry_at == due + timedelta(seconds=30)
    assert failing.last_error is not None and "not_published" in failing.last_error
    assert desk.store.get_case(bad).state == "open"  # rolled back: nothing half-done
    [done] = desk.timers.listing(refused, "fired")
    assert done.outcome == "skipped: 'book' refused (guard): This step's condition is not met"
    assert names(desk, refused)[-1] == "timer.skipped"
    assert desk.worker.fire_due_timers(due + timedelta(seconds=29)) == 0
    assert desk.worker.fire_due_timers(due + timedelta(seconds=30)) == 0  # fails again
    [again] = desk.timers.listing(bad, failing=True)
    assert (again.attempts, again.retry_at) == (2, due + timedelta(seconds=90))


def test_a_timer_fires_even_a_transition_no_role_of_the_caller_could(desk: Casework) -> None:
    text = (LEDGER % "x").replace("roles: [agent]", "roles: [manager]").replace(
        "    do:\n      - decide: {table: x}\n", "")
    desk.registry.deploy(load_workflow_text(text, "ledger.yaml"), text, T0)
    case_id = desk.runtime.start("ledger", {"note": "n"}, ALICE, T0).id
    with pytest.raises(TransitionRefused, match="role 'agent' may not"):
        desk.runtime.fire(case_id, "book", ALICE, T0)
    assert desk.worker.fire_due_timers(T0 + timedelta(hours=2)) == 1
    assert desk.store.get_case(case_id).state == "done"


def test_a_sweeper_fires_due_timers_on_its_own_thread_until_stopped(desk: Casework) -> None:
    case_id = triaged(desk)
    now = [at("2026-03-05T10:00:00")]
    seen: list[tuple[datetime, int]] = []
    sweeper = Sweeper(desk.worker, lambda: now[0], 0.05, lambda when, n: seen.append((when, n)))
    sweeper.start()
    try:
        deadline = time.monotonic() + 30
        while sweeper.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        now[0] = at("2026-03-05T11:00:00")  # the warning is due
        while clock(desk, case_id).shown != "warning" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sweeper.stop(timeout=30)
    assert not sweeper.running
    assert clock(desk, case_id).shown == "warning"
    assert (at("2026-03-05T11:00:00"), 1) in seen
    assert sum(n for _, n in seen) == 1


def test_a_timer_that_fires_leaves_its_state_and_cancels_the_others_of_that_state(
        desk: Casework) -> None:
    """The worker marks the timer in hand fired as it claims it, so the fire cancels only the
    state's other timers (and, when there are none, issues no cancel at all)."""
    text = expiring_workflow("twice").replace("fire: expire\n", "fire: expire\n"
                                              "  - name: reminder\n    in: open\n"
                                              "    after: 3h\n    fire: expire\n")
    desk.registry.deploy(load_workflow_text(text, "twice.yaml"), text, T0)
    case_id = desk.runtime.start("twice", {}, ALICE, T0).id
    assert desk.worker.fire_due_timers(T0 + timedelta(hours=1)) == 1
    states = {t.name: (t.state, t.outcome) for t in desk.timers.listing(case_id)}
    assert states == {"expiry": ("fired", "fired expire"), "reminder": ("cancelled", None)}
    assert desk.store.get_case(case_id).state == "done"


def strategic_critical(casework: Casework) -> int:
    """A strategic customer's critical complaint, triaged by a supervisor and answered: its
    resolution clock has 8 business hours on the extended calendar."""
    casework.customers.add("S1", T0, tier="strategic")
    case = casework.runtime.start("complaint", {"channel": "phone", "summary": "down",
                                                "tier": "strategic"}, SAM, T0, customer="S1")
    casework.runtime.fire(case.id, "triage", SAM, T0, {"category": "technical",
                                                       "severity": "critical"})
    casework.runtime.fire(case.id, "respond", SAM, T0, {"first_response": "On it"})
    return case.id


def test_a_step_past_the_highest_level_writes_no_event_and_is_no_error(desk: Casework) -> None:
    """A strategic breach escalates to level 3 at once, so the 150% step finds nothing to add:
    the timer is done, nothing fails, and the clock has no step left."""
    case_id = strategic_critical(desk)
    steps = [t.due_at for t in desk.timers.listing(case_id, "pending")]
    assert len(steps) == 1
    for _ in range(3):  # the warning, the breach, 150%
        [pending] = desk.timers.listing(case_id, "pending")
        assert desk.worker.fire_due_timers(pending.due_at) == 1
    assert desk.timers.listing(case_id, failing=True) == []
    assert desk.timers.listing(case_id, "pending") == []
    [last] = desk.timers.listing(case_id, "fired")[-1:]
    assert last.outcome == "looked at resolution at 1.5; level 3"
    assert [p["level"] for p in payloads(desk, case_id, "sla.escalated")] == [1, 3]
    assert clock(desk, case_id).step == 1.5
    assert desk.verify_history()[2] == []


def test_a_late_look_names_the_due_time_of_the_breach_event(desk: Casework) -> None:
    """The worker may look at a breach after it was due: the notice and the clock keep the
    moment the target ran out, as the `sla.breached` event records it."""
    case_id = triaged(desk)
    due = clock(desk, case_id).due_at
    assert due == at("2026-03-06T09:00:00")
    desk.worker.fire_due_timers(at("2026-03-05T11:00:00"))  # the warning
    desk.worker.fire_due_timers(due + timedelta(minutes=5))  # the breach, five minutes late
    [breached] = payloads(desk, case_id, "sla.breached")
    assert breached["due_at"] == "2026-03-06T09:00:00Z"
    assert clock(desk, case_id).due_at == due
    notice = desk.timers.notices()[-1]
    assert "it is due 2026-03-06T09:00:00Z" in notice.body


LADDER = """\
table: five_levels
version: 1
hit: first
inputs: {lateness: double}
outputs: {level: int, notify: {values: [supervisor, manager, nobody]}}
rules:
  - {id: l5, when: {lateness: ">= 3"}, then: {level: 5, notify: manager}}
  - {id: l4, when: {lateness: ">= 2"}, then: {level: 4, notify: manager}}
  - {id: l3, when: {lateness: ">= 1.5"}, then: {level: 3, notify: manager}}
  - {id: l2, when: {lateness: ">= 1"}, then: {level: 2, notify: supervisor}}
  - {id: l1, when: {lateness: ">= 0.8"}, then: {level: 1, notify: supervisor}}
  - {id: l0, then: {level: 0, notify: nobody}}
"""
LADDERED = """\
workflow: laddered
version: 1
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: finish, from: open, to: done}
sla:
  calendar: support_24x7
  escalate_at: [1.5, 2, 3]
  on_warn: five_levels
  on_breach: five_levels
  clocks:
    answer: {target: 10, stop_in: [done]}
"""


def test_an_sla_escalates_through_as_many_levels_as_its_ladder_has(desk: Casework) -> None:
    from engine.rules.loading import load_table_text

    desk.registry.publish_table(load_table_text(LADDER, "five_levels.yaml"), LADDER, T0)
    desk.registry.deploy(load_workflow_text(LADDERED, "laddered.yaml"), LADDERED, T0)
    case_id = desk.runtime.start("laddered", {}, ALICE, T0).id
    for hours in (8, 10, 15, 20, 30, 100):  # the steps 0.8, 1, 1.5, 2 and 3 of 10 hours
        desk.worker.fire_due_timers(T0 + timedelta(hours=hours))
    escalated = payloads(desk, case_id, "sla.escalated")
    assert [(p["level"], p["lateness"]) for p in escalated] == [
        (1, 0.8), (2, 1.0), (3, 1.5), (4, 2.0), (5, 3.0)]
    assert [n.recipient for n in desk.timers.notices()] == ["sam", "sam", "mia", "mia", "mia"]
    assert clock(desk, case_id, "answer").level == 5
    assert desk.timers.listing(case_id, "pending") == []


def test_warning_and_breach_notify_in_the_app_and_by_email_as_each_chose(
        desk: Casework) -> None:
    """The ladder's people and the assignee (alice, who triaged) are told in the app; by email
    only those who chose it: sam turned breach mail off."""
    from engine.kernel.notifications import NotificationKind

    desk.notifications.choose_email("sam", {NotificationKind.SLA_BREACH: False})
    case_id = triaged(desk)
    desk.worker.fire_due_timers(at("2026-03-05T11:00:00"))  # the warning: the ladder names alice
    desk.worker.fire_due_timers(at("2026-03-06T09:00:00"))  # the breach: the ladder names sam
    kinds = {name: [(n.kind, n.case_id) for n in desk.notifications.listing(name)]
             for name in ("alice", "sam", "mia")}
    assert kinds == {"alice": [(NotificationKind.SLA_BREACH, case_id),
                               (NotificationKind.SLA_WARNING, case_id)],
                     "sam": [(NotificationKind.SLA_BREACH, case_id)], "mia": []}
    [breach] = desk.notifications.listing("sam")
    assert "breached (escalation level 2)" in breach.title
    assert [n.recipient for n in desk.timers.notices()] == ["alice", "alice"]


UNLADDERED = """\
workflow: unladdered
version: 1
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: finish, from: open, to: done}
sla:
  calendar: support_24x7
  clocks:
    answer: {target: 10, stop_in: [done]}
"""


def test_the_assignee_hears_of_a_warning_and_a_breach_without_a_ladder(desk: Casework) -> None:
    """An SLA without escalation tables notifies nobody else; the case's assignee still hears
    of the warning and of the breach, once each."""
    from engine.kernel.notifications import NotificationKind

    desk.registry.deploy(load_workflow_text(UNLADDERED, "unladdered.yaml"), UNLADDERED, T0)
    case_id = desk.runtime.start("unladdered", {}, ALICE, T0).id
    desk.desk.assign(case_id, "alice", ALICE, T0)  # her own claim: not a notification
    for hours in (8, 9, 10, 12):
        desk.worker.fire_due_timers(T0 + timedelta(hours=hours))
    told = desk.notifications.listing("alice")
    assert [n.kind for n in told] == [NotificationKind.SLA_BREACH, NotificationKind.SLA_WARNING]
    assert told[0].title == f"unladdered case {case_id}: answer has breached its target"
    assert told[1].text == (f"The answer clock of unladdered case {case_id}, assigned to you, "
                            "is at risk.")
    assert [n.recipient for n in desk.timers.notices()] == ["alice", "alice"]
    assert desk.notifications.listing("sam") == []
