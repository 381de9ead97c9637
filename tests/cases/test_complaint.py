"""The shipped complaint, version 7: the customer's tier and the SLA from intake, the priority
queue for strategic customers, the targets decided again at triage only when what they depend on
changed; running version 4 cases stay on version 4."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from engine.cases.runtime import Actor, StartRequest
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import ROOT, T0

ANN = Actor("ann", "agent")
SAM = Actor("sam", "supervisor")
NEW = {"channel": "phone", "summary": "The line is down"}


def decisions(casework: Casework, case_id: int) -> list[tuple[str, list[str]]]:
    return [(p["table"], p["matched"]) for p in
            (json.loads(e.payload) for e in casework.store.case_events(case_id)
             if e.name == "rule.decided")]


def test_a_strategic_customers_complaint_runs_the_strategic_sla_from_intake(
        casework: Casework) -> None:
    casework.customers.add("S1", T0, tier="strategic")
    case = casework.runtime.start("complaint", NEW, ANN, T0, customer="S1")
    assert (case.queue, case.fields["tier"], case.fields["first_response_hours"]) == (
        "intake", "strategic", "4")  # strategic, medium severity: 4 h on the extended hours
    clocks = {c.name: c for c in casework.timers.clocks(case.id)}
    assert sorted(clocks) == ["first_reply", "resolution"]  # next reply waits for a message
    # Monday 10:00 Berlin + 4 extended business hours
    assert clocks["first_reply"].due_at == datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert decisions(casework, case.id) == [("complaint_sla", ["strategic-normal"])]


def test_a_complaint_nobody_triages_breaches_its_first_reply(casework: Casework) -> None:
    casework.customers.add("C1", T0)
    case = casework.runtime.start("complaint", NEW, ANN, T0, customer="C1")
    due = next(c.due_at for c in casework.timers.clocks(case.id) if c.name == "first_reply")
    assert due is not None
    casework.worker.fire_due_timers(due)
    first = next(c for c in casework.timers.clocks(case.id) if c.name == "first_reply")
    assert first.shown == "breached"
    assert casework.store.get_case(case.id).state == "received"


def test_strategic_complaints_go_to_the_priority_queue(casework: Casework) -> None:
    casework.customers.add("S1", T0, tier="strategic")
    case = casework.runtime.start("complaint", NEW, ANN, T0, customer="S1")
    triaged = casework.runtime.fire(case.id, "triage", ANN, T0, {"category": "billing",
                                                                  "severity": "medium"})
    assert triaged.queue == "priority"
    # nothing the targets depend on changed: decided once, at intake
    assert decisions(casework, case.id) == [("complaint_sla", ["strategic-normal"]),
                                            ("complaint_routing", ["strategic"])]


def test_triage_decides_the_targets_again_when_the_customers_tier_changed(
        casework: Casework) -> None:
    casework.customers.add("K1", T0, tier="ordinary")
    case = casework.runtime.start("complaint", NEW, ANN, T0, customer="K1")
    with casework.database.writing() as connection:  # a recompute tiers the customer up
        connection.exec_driver_sql("UPDATE customers SET tier = 'key' WHERE id = 'K1'")
    triaged = casework.runtime.fire(case.id, "triage", ANN, T0 + timedelta(minutes=5),
                                    {"category": "billing", "severity": "medium"})
    assert (triaged.fields["tier"], triaged.fields["first_response_hours"]) == ("key", "8")
    assert decisions(casework, case.id)[-1] == ("complaint_sla", ["key-normal"])


def test_running_version_4_cases_stay_on_version_4(casework: Casework) -> None:
    text = (ROOT / "tests" / "cases" / "complaint_v4.yaml").read_text(encoding="utf-8")
    old = casework.registry.deploy(load_workflow_text(text, "complaint_v4.yaml"), text, T0)
    casework.customers.add("S1", T0, tier="strategic")
    with casework.store.transaction() as tx:
        [case] = casework.runtime.start_many(tx, [StartRequest(old, NEW, "S1")], ANN, T0)
    assert (case.version, case.fields["tier"]) == (4, "ordinary")  # v4 never read the tier
    assert casework.registry.active("complaint").spec.version == 7
    triaged = casework.runtime.fire(case.id, "triage", SAM, T0, {"category": "billing",
                                                                 "severity": "high"})
    assert (triaged.version, triaged.fields["first_response_hours"]) == (4, "8")
    assert sorted(c.name for c in casework.timers.clocks(case.id)) == [
        "first_response", "resolution"]
