from __future__ import annotations

import json
import textwrap
import threading
from datetime import timedelta
from typing import Any

import pytest

from engine.cases.runtime import Actor
from engine.kernel.errors import (
    Conflict,
    DefinitionError,
    ExpressionError,
    InvalidInput,
    NotFound,
    RoleRefused,
    TransitionRefused,
)
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0, add_test_customers

AGENT = Actor("ann", "agent")
SUPERVISOR = Actor("sam", "supervisor")
NEW = {"channel": "email", "summary": "The invoice is wrong"}


def start(casework: Casework, **fields: Any) -> int:
    add_test_customers(casework)
    return casework.runtime.start("complaint", {**NEW, **fields}, AGENT, T0, customer="C7").id


def snapshot(casework: Casework, case_id: int) -> tuple[Any, ...]:
    return casework.store.get_case(case_id), casework.store.case_events(case_id)


def test_start_opens_the_case_in_the_initial_state_with_defaults(casework: Casework) -> None:
    case = casework.store.get_case(start(casework))
    assert (case.workflow, case.version, case.state, case.queue) == \
        ("complaint", 7, "received", "intake")
    # on_start: the customer's tier (none: ordinary) and the SLA targets it and the severity get
    assert case.fields == {**NEW, "severity": "medium", "reopen_count": 0, "tier": "ordinary",
                           "priority": "normal", "first_response_hours": "16",
                           "resolution_hours": "80", "business_time": True,
                           "sla_calendar": "office"}
    assert [e.name for e in casework.store.case_events(case.id)] == [
        "case.created", "rule.decided", "case.mail_skipped", "sla.started", "sla.started"]


def test_fire_moves_the_case_runs_actions_and_records_every_change(casework: Casework) -> None:
    case_id = start(casework)
    case = casework.runtime.fire(case_id, "triage", AGENT, T0,
                                 {"category": "billing", "severity": "high"})
    assert (case.state, case.queue, case.assignee, case.lock_version) == \
        ("in_progress", "billing", "ann", 2)
    assert (case.fields["first_response_hours"], case.fields["resolution_hours"],
            case.fields["business_time"]) == ("8", "40", True)  # ordinary tier, high severity
    stored = casework.store.case_events(case_id)
    # the severity changed at triage: the targets are decided again
    assert [e.name for e in stored] == [
        "case.created", "rule.decided", "case.mail_skipped", "sla.started", "sla.started",
        "case.transitioned", "rule.decided", "rule.decided", *["case.field_changed"] * 4,
        "case.assigned", "sla.retargeted", "sla.retargeted"]
    events = [e for e in stored if not e.name.startswith(("sla.", "case.mail"))]
    assert (events[2].from_state, events[2].to_state, events[2].actor, events[2].role) == \
        ("received", "in_progress", "ann", "agent")
    routing = json.loads(events[3].payload)
    assert {k: routing[k] for k in ("table", "version", "inputs", "outputs", "matched")} == {
        "table": "complaint_routing", "version": 2,
        "inputs": {"category": "billing", "channel": "email", "tier": "ordinary"},
        "outputs": {"queue": "billing"}, "matched": ["billing"]}
    assert routing["content_hash"] == casework.registry.active_table("complaint_routing", T0) \
        .content_hash
    assert json.loads(events[1].payload)["matched"] == ["ordinary-normal"]
    assert json.loads(events[4].payload)["matched"] == ["ordinary-high"]
    resolved = casework.runtime.fire(case_id, "resolve", AGENT, T0 + timedelta(hours=2),
                                     {"resolution": "Credit note sent",
                                      "root_cause": "Invoice run booked twice",
                                      "remedy": "refund"})
    assert resolved.fields["resolved_at"] == "2026-03-02T11:00:00Z"


@pytest.mark.parametrize(("actor", "trigger", "inputs", "reason", "says"), [
    (AGENT, "triage", {"category": "billing", "severity": "critical"}, "guard",
     "Only a supervisor triages a critical complaint"),  # the guard's message: in words
    (Actor("zoe", "auditor"), "triage", {"category": "billing"}, "role", "role 'auditor'"),
    (AGENT, "triage", {}, "field", "needs category"),
    (AGENT, "resolve", {"resolution": "x"}, "state", "state 'received'"),
    (AGENT, "triag", {}, "trigger", "did you mean 'triage'?"),
    (AGENT, "triage", {"category": "billing", "csat": 5}, "field", "does not take field 'csat'"),
])
def test_a_refused_fire_says_why_and_changes_nothing(
    casework: Casework, actor: Actor, trigger: str, inputs: dict[str, Any], reason: str,
    says: str,
) -> None:
    case_id = start(casework)
    before = snapshot(casework, case_id)
    with pytest.raises(TransitionRefused) as refused:
        casework.runtime.fire(case_id, trigger, actor, T0, inputs)
    assert refused.value.reason == reason
    assert isinstance(refused.value, RoleRefused) == (reason == "role")
    assert says in str(refused.value)
    assert snapshot(casework, case_id) == before


def test_the_supervisor_may_triage_a_critical_complaint(casework: Casework) -> None:
    case_id = start(casework)
    case = casework.runtime.fire(case_id, "triage", SUPERVISOR, T0,
                                 {"category": "technical", "severity": "critical"})
    assert (case.state, case.assignee) == ("in_progress", "sam")


def test_a_value_of_the_wrong_type_is_refused_and_changes_nothing(casework: Casework) -> None:
    case_id = start(casework)
    before = snapshot(casework, case_id)
    with pytest.raises(InvalidInput, match="field 'severity': 'urgent' is not one of"):
        casework.runtime.fire(case_id, "triage", AGENT, T0,
                              {"category": "billing", "severity": "urgent"})
    assert snapshot(casework, case_id) == before


def test_start_refuses_bad_input(casework: Casework) -> None:
    add_test_customers(casework)
    with pytest.raises(InvalidInput, match="has no such field; did you mean 'summary'"):
        casework.runtime.start("complaint", {**NEW, "sumary": "x"}, AGENT, T0, customer="C1")
    with pytest.raises(InvalidInput, match="field 'summary': is required"):
        casework.runtime.start("complaint", {"channel": "web"}, AGENT, T0, customer="C1")
    with pytest.raises(InvalidInput, match="about a customer"):
        casework.runtime.start("complaint", NEW, AGENT, T0)
    with pytest.raises(NotFound, match="workflow 'complain' is not loaded"):
        casework.runtime.start("complain", NEW, AGENT, T0, customer="C1")
    with casework.database.reading() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM cases").scalar() == 0


def test_a_stale_version_is_a_conflict(casework: Casework) -> None:
    case_id = start(casework)
    casework.runtime.fire(case_id, "triage", AGENT, T0, {"category": "billing"})
    before = snapshot(casework, case_id)
    with pytest.raises(Conflict, match="expected version 1, now at version 2"):
        casework.runtime.fire(case_id, "ask_customer", AGENT, T0, {"question": "?"},
                              expected_version=1)
    assert snapshot(casework, case_id) == before


@pytest.mark.postgres
def test_two_writers_at_once_one_wins_and_one_gets_a_conflict(
    postgres_casework: Casework,
) -> None:
    # SQLite writers queue behind BEGIN IMMEDIATE; on PostgreSQL they really race.
    casework = postgres_casework
    case_id = start(casework)
    store = casework.store
    # Writer A reads the case and holds its transaction open while writer B fires and commits.
    with store.transaction() as tx_a:
        case_a = tx_a.get_case(case_id)
        done = threading.Event()

        def writer_b() -> None:
            casework.runtime.fire(case_id, "triage", AGENT, T0, {"category": "billing"})
            done.set()

        thread = threading.Thread(target=writer_b)
        thread.start()
        thread.join(timeout=30)
        assert done.is_set()
        with pytest.raises(Conflict, match="now at version 2"):
            tx_a.update_case(case_a.evolve(state="closed"), case_a.lock_version)
    assert store.get_case(case_id).state == "in_progress"


WORKFLOW = textwrap.dedent("""\
    workflow: ledger
    version: {version}
    fields:
      amount: {{type: decimal}}
      parts:  {{type: int, default: 0}}
      owner:  {{type: user}}
    states:
      open: {{initial: true, queue: books}}
      split: {{}}
      done: {{final: true}}
    transitions:
      - trigger: split
        from: open
        to: split
        accepts: [amount, parts]
        do:
          - set: {{amount: 'case.amount / double(case.parts)'}}
          - assign: {assign}
      - trigger: finish
        from: split
        to: done
""")


def deploy(casework: Casework, version: int = 1, assign: str = "least_loaded") -> None:
    text = WORKFLOW.format(version=version, assign=assign)
    casework.registry.deploy(load_workflow_text(text, "ledger.yaml"), text, T0)


def test_a_failing_action_rolls_the_whole_fire_back(casework: Casework) -> None:
    deploy(casework)
    case_id = casework.runtime.start("ledger", {"amount": "10.00"}, AGENT, T0).id
    before = snapshot(casework, case_id)
    with pytest.raises(InvalidInput, match=r"set by 'case.amount / double\(case.parts\)' "
                       r"\(line 17\): 'inf' is not a decimal number"):
        casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 0})
    assert snapshot(casework, case_id) == before
    no_amount = casework.runtime.start("ledger", {}, AGENT, T0).id
    with pytest.raises(ExpressionError, match="case.amount / double"):
        casework.runtime.fire(no_amount, "split", AGENT, T0, {"parts": 1})
    assert snapshot(casework, case_id) == before
    split = casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 4})
    assert split.fields["amount"] == "2.5"


@pytest.mark.parametrize(("strategy", "expected"), [
    ("least_loaded", ["bea", "cid", "cid"]),  # a finished case no longer counts as load
    ("round_robin", ["bea", "cid", "bea"]),
    ("nobody", [None, None, None]),
])
def test_assignment_strategies(casework: Casework, strategy: str, expected: list[str]) -> None:
    deploy(casework, assign=strategy)
    casework.store.add_user("bea", ["agent"], T0)
    casework.store.add_user("cid", ["agent", "supervisor"], T0)
    casework.store.add_user("dan", ["auditor"], T0)
    assigned = []
    for _ in expected:
        case_id = casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id
        assigned.append(casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 1}).assignee)
        if strategy == "least_loaded" and len(assigned) == 2:  # cid's case is finished
            casework.runtime.fire(case_id, "finish", AGENT, T0)
    assert assigned == expected


def test_a_stored_version_never_changes_and_running_cases_stay_on_theirs(
    casework: Casework,
) -> None:
    deploy(casework, version=1)
    old_case = casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id
    with pytest.raises(DefinitionError, match="ledger.yaml:2: .*set 'version: 2'"):
        deploy(casework, version=1, assign="nobody")
    deploy(casework, version=2, assign="nobody")
    new_case = casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id
    assert casework.store.get_case(new_case).version == 2
    casework.store.add_user("bea", ["agent"], T0)
    # the old case still runs version 1, whose split assigns the least loaded agent
    assert casework.runtime.fire(old_case, "split", AGENT, T0, {"parts": 1}).assignee == "bea"
    assert casework.runtime.fire(new_case, "split", AGENT, T0, {"parts": 1}).assignee is None


def test_auditors_may_fire_nothing_not_even_a_transition_open_to_every_role(
    casework: Casework,
) -> None:
    deploy(casework)
    case_id = casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id
    casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 1})
    with pytest.raises(RoleRefused, match="role 'auditor' is read-only"):
        casework.runtime.fire(case_id, "finish", Actor("zoe", "auditor"), T0)
    assert casework.runtime.fire(case_id, "finish", Actor("max", "manager"), T0).state == "done"


def test_money_set_by_an_expression_has_no_float_artefacts(casework: Casework) -> None:
    deploy(casework)
    case_id = casework.runtime.start("ledger", {"amount": "3.3"}, AGENT, T0).id
    assert casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 3}).fields["amount"] \
        == "1.1"


def test_a_guard_can_ask_whether_a_field_is_set(casework: Casework) -> None:
    text = WORKFLOW.format(version=1, assign="nobody").replace(
        "    to: done\n", "    to: done\n    when: 'has(case.owner)'\n")
    assert "has(case.owner)" in text
    casework.registry.deploy(load_workflow_text(text, "ledger.yaml"), text, T0)
    case_id = casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id
    casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 1})
    with pytest.raises(TransitionRefused, match="This step's condition is not met") as refused:
        casework.runtime.fire(case_id, "finish", AGENT, T0)
    assert refused.value.condition == "has(case.owner)"  # kept for readers of the workflow
    assert "has(" not in str(refused.value)  # the words say nothing of the expression


def test_a_missing_needed_field_is_named_before_the_guard_runs(casework: Casework) -> None:
    case_id = start(casework)
    casework.runtime.fire(case_id, "triage", AGENT, T0, {"category": "billing"})
    casework.runtime.fire(case_id, "resolve", AGENT, T0, {"resolution": "done",
                                                          "root_cause": "typo",
                                                          "remedy": "apology"})
    with pytest.raises(TransitionRefused, match="needs csat"):
        casework.runtime.fire(case_id, "close", AGENT, T0)


def test_buttons_show_what_this_role_may_fire_now(casework: Casework) -> None:
    case = casework.store.get_case(start(casework))
    assert [t.trigger for t in casework.runtime.triggers_for(case, ["agent"])] == [
        "triage", "mark_duplicate"]
    assert casework.runtime.triggers_for(case, ["auditor"]) == []


def test_buttons_show_what_any_of_a_users_roles_may_fire_now(casework: Casework) -> None:
    case_id = start(casework)
    casework.runtime.fire(case_id, "triage", AGENT, T0, {"category": "billing"})
    case = casework.runtime.fire(case_id, "resolve", AGENT, T0, {
        "resolution": "done", "root_cause": "typo", "remedy": "apology"})

    def buttons(*roles: str) -> list[str]:
        return [t.trigger for t in casework.runtime.triggers_for(case, roles)]

    assert buttons("agent") == ["close", "not_satisfied"]
    assert buttons("auditor", "agent") == ["close", "not_satisfied"]  # read-only adds nothing
    assert buttons("agent", "supervisor") == ["close", "not_satisfied", "close_unanswered"]
    assert buttons("manager") == buttons("auditor") == buttons() == []


@pytest.mark.postgres
def test_round_robin_hands_out_turns_exactly_once_under_concurrent_fires(
    postgres_casework: Casework,
) -> None:
    casework = postgres_casework
    deploy(casework, assign="round_robin")
    for name in ("bea", "cid", "dee", "eli"):
        casework.store.add_user(name, ["agent"], T0)
    cases = [casework.runtime.start("ledger", {"amount": "1"}, AGENT, T0).id for _ in range(8)]
    barrier = threading.Barrier(8)
    assigned: list[str | None] = []

    def split(case_id: int) -> None:
        barrier.wait()
        assigned.append(casework.runtime.fire(case_id, "split", AGENT, T0, {"parts": 1}).assignee)

    threads = [threading.Thread(target=split, args=(case_id,)) for case_id in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(str(a) for a in assigned) == ["bea", "bea", "cid", "cid", "dee", "dee",
                                                "eli", "eli"]
