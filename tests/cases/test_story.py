"""engine.cases.story: a case's history as one entry per step, its decisions, field and clock
changes folded under it, in sentences and the workflow's titles."""

from __future__ import annotations

from datetime import timedelta

from engine.cases.runtime import Actor
from engine.cases.story import Detail, Entry, story
from engine.kernel.personal import refs_in_texts
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

ANN = Actor("ann", "agent")


def triaged(casework: Casework) -> int:
    add_test_customers(casework)
    case = casework.runtime.start("complaint", {"channel": "phone", "summary": "Charged twice"},
                                  ANN, T0, customer="C7")
    casework.runtime.fire(case.id, "triage", ANN, T0 + timedelta(minutes=5),
                          {"category": "billing", "severity": "high"})
    return case.id


def told(casework: Casework, case_id: int) -> list[Entry]:
    case = casework.store.get_case(case_id)
    events = casework.store.case_events(case_id)
    return story(events, casework.registry.get(case.definition_id).spec,
                 casework.personal_data.values(refs_in_texts(e.payload for e in events)))


def test_a_triage_is_one_entry_with_its_events_folded_under_it(casework: Casework) -> None:
    case_id = triaged(casework)
    events = casework.store.case_events(case_id)
    opened, triage = told(casework, case_id)
    assert opened.title == "Opened as Customer complaint v7, Received"
    assert opened.seqs == (1, 2, 3, 4, 5)  # on_start decides the targets as the case opens
    sla_normal = Detail(
        "decision", "complaint_sla v2 chose ordinary-normal: First response target (hours) 16, "
        "Resolution target (hours) 80, Targets count business hours only yes, Whose working "
        "hours the SLA clocks count office",
        "given Severity medium, The customer's tier when the complaint came in ordinary")
    assert [d.text for d in opened.details] == [
        "Channel: phone", "Summary: Charged twice", "Severity: medium", "Reopen count: 0",
        "The customer's tier when the complaint came in: ordinary",
        "First response target (hours): 16", "Resolution target (hours): 80",
        "Targets count business hours only: yes",
        "Whose working hours the SLA clocks count: office",
        "Priority (escalation raises it): normal", sla_normal.text,
        "Not mailed to the customer: acknowledgement; customer 'C7' has no email address",
        "First reply clock started: 16 h of business time",
        "Resolution clock started: 80 h of business time"]
    assert "1 mail" in opened.summary  # the acknowledgement not sent, counted as mail
    assert (triage.actor, triage.role, triage.kind) == ("ann", "agent", "case-transitioned")
    assert triage.title == "Triage: Received → Investigating"
    assert triage.seqs == tuple(e.seq for e in events[5:])  # every event of the fire
    assert len(triage.seqs) == 10
    assert triage.details == (
        Detail("decision", "complaint_routing v2 chose billing: queue billing",
               "given Channel phone, Category billing, The customer's tier when the "
               "complaint came in ordinary"),
        Detail("decision", "complaint_sla v2 chose ordinary-high: First response target "
                           "(hours) 8, Resolution target (hours) 40, Targets count business "
                           "hours only yes, Whose working hours the SLA clocks count office",
               "given Severity high, The customer's tier when the complaint came in ordinary"),
        Detail("field", "Category set to billing"),
        Detail("field", "Severity changed from medium to high"),
        Detail("field", "First response target (hours) changed from 16 to 8"),
        Detail("field", "Resolution target (hours) changed from 80 to 40"),
        Detail("assignment", "Assigned to ann"),
        Detail("clock", "First reply target changed from 16 h to 8 h"),
        Detail("clock", "Resolution target changed from 80 h to 40 h"))
    assert triage.summary == "2 decisions, 4 fields, 1 assignment, 2 SLA clock changes"
    # no raw names or expressions anywhere in what it says
    said = " ".join([triage.title, *(d.text for d in triage.details)])
    assert "in_progress" not in said and "first_response_hours" not in said


def test_clocks_comments_and_claims_in_words(casework: Casework) -> None:
    case_id = triaged(casework)
    later = T0 + timedelta(hours=1)
    casework.runtime.fire(case_id, "ask_customer", ANN, later, {"question": "Which invoice?"})
    casework.desk.comment(case_id, "Called twice, no answer", ANN, later + timedelta(hours=1))
    casework.desk.assign(case_id, None, ANN, later + timedelta(hours=2))
    asked, commented, given_back = told(casework, case_id)[2:]
    assert asked.title == "Ask the customer: Investigating → Waiting for the customer"
    assert [d.text for d in asked.details] == [
        "What we asked the customer set to Which invoice?",
        "First reply met: 1 h of 8 h",  # from intake at 10:00 Berlin: business time
        "Resolution clock paused while waiting for the customer"]
    assert (commented.title, commented.text, commented.details) == (
        "Commented", "Called twice, no answer", ())
    assert (given_back.kind, given_back.title, given_back.details) == (
        "case-assigned", "Given back by ann", ())
    assert not any(entry.operator for entry in told(casework, case_id))
    casework.runtime.fire(case_id, "customer_replied", Actor("operator", "agent", operator=True),
                          later + timedelta(hours=3), {"answer": "The March one"})
    replied = told(casework, case_id)[-1]
    assert (replied.actor, replied.operator) == ("operator", True)
    assert replied.details[-1].text == "Resolution clock running again (1 h counted)"


def test_clock_sentences() -> None:
    from engine.cases.story import Words
    from engine.workflows.loading import load_workflow_file
    from tests.fixtures import ROOT

    words = Words(load_workflow_file(ROOT / "workflows" / "complaint.yaml"))
    assert words.clock("sla.started", {"clock": "resolution", "target": 80.0,
                                       "business": True}) == \
        "Resolution clock started: 80 h of business time"
    assert words.clock("sla.retargeted", {"clock": "resolution", "old": 80.0, "new": 8.0}) == \
        "Resolution target changed from 80 h to 8 h"
    assert words.clock("sla.escalated", {"clock": "first_response", "level": 2,
                                         "notify": ["sam"]}) == \
        "First response escalated to level 2: told sam"
