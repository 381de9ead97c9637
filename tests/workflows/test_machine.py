"""engine.workflows.machine: one shared transitions.Machine per workflow; nothing stays attached."""

from __future__ import annotations

import textwrap

import pytest

from engine.kernel.specs import WorkflowSpec
from engine.workflows.loading import load_workflow_file, load_workflow_text
from engine.workflows.machine import MachineError, WorkflowMachine
from tests.fixtures import ROOT

COMPLAINT = ROOT / "workflows" / "complaint.yaml"


@pytest.fixture(scope="module")
def complaint() -> WorkflowSpec:
    return load_workflow_file(COMPLAINT)


@pytest.fixture
def machine(complaint: WorkflowSpec) -> WorkflowMachine:
    return WorkflowMachine(complaint)


def attached(machine: WorkflowMachine) -> list[object]:
    return list(machine._machine.models)


def test_a_new_machine_holds_no_case(machine: WorkflowMachine) -> None:
    assert attached(machine) == []


@pytest.mark.parametrize(
    ("state", "trigger", "dest"),
    [
        ("received", "triage", "in_progress"),
        ("in_progress", "ask_customer", "waiting_customer"),
        ("waiting_customer", "customer_replied", "in_progress"),
        ("in_progress", "resolve", "resolved"),
        ("resolved", "close", "closed"),
        ("resolved", "not_satisfied", "in_progress"),
        ("in_progress", "respond", "in_progress"),
        ("closed", "reopen", "in_progress"),
    ],
)
def test_move_follows_the_workflow(
    machine: WorkflowMachine, state: str, trigger: str, dest: str
) -> None:
    assert machine.move(state, trigger) == dest
    assert attached(machine) == []


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        ("received", "close"),
        ("received", "reopen"),
        ("in_progress", "triage"),
        ("waiting_customer", "resolve"),
        ("closed", "close"),
    ],
)
def test_move_by_a_trigger_that_does_not_apply_raises_machine_error(
    machine: WorkflowMachine, state: str, trigger: str
) -> None:
    with pytest.raises(MachineError) as caught:
        machine.move(state, trigger)
    assert trigger in str(caught.value)
    assert state in str(caught.value)
    assert attached(machine) == []


def test_move_by_an_unknown_trigger_raises_machine_error(machine: WorkflowMachine) -> None:
    with pytest.raises(MachineError):
        machine.move("received", "bogus")


def test_nothing_stays_attached_after_an_unknown_trigger(machine: WorkflowMachine) -> None:
    with pytest.raises((MachineError, AttributeError)):
        machine.move("received", "bogus")
    assert attached(machine) == []


def test_nothing_stays_attached_after_an_unknown_state(machine: WorkflowMachine) -> None:
    with pytest.raises((MachineError, ValueError)):
        machine.move("nowhere", "triage")
    assert attached(machine) == []


def test_many_moves_leave_nothing_attached(machine: WorkflowMachine) -> None:
    state = "received"
    for trigger in ["triage", "ask_customer", "customer_replied", "resolve", "close", "reopen"]:
        state = machine.move(state, trigger)
    assert state == "in_progress"
    for _ in range(3):
        with pytest.raises(MachineError):
            machine.move("closed", "triage")
    assert attached(machine) == []


def test_moves_do_not_influence_each_other(machine: WorkflowMachine) -> None:
    assert machine.move("received", "triage") == "in_progress"
    # the machine remembers no state: the same move again from the start works
    assert machine.move("received", "triage") == "in_progress"
    assert machine.move("closed", "reopen") == "in_progress"


@pytest.mark.parametrize(
    ("state", "triggers"),
    [
        ("received", ["triage", "mark_duplicate"]),
        ("in_progress", ["respond", "ask_customer", "resolve", "mark_duplicate"]),
        ("waiting_customer", ["customer_replied", "mark_duplicate"]),
        ("resolved", ["close", "not_satisfied", "close_unanswered"]),
        ("closed", ["reopen"]),
    ],
)
def test_triggers_from_each_state_in_definition_order(
    machine: WorkflowMachine, state: str, triggers: list[str]
) -> None:
    assert machine.triggers(state) == triggers


def test_no_automatic_to_state_triggers(machine: WorkflowMachine) -> None:
    every = {t for state in machine.spec.states for t in machine.triggers(state)}
    assert every == machine.spec.triggers
    assert not any(t.startswith("to_") for t in every)


def test_machine_agrees_with_the_spec(complaint: WorkflowSpec, machine: WorkflowMachine) -> None:
    for state in complaint.states:
        assert machine.triggers(state) == [t.trigger for t in complaint.transitions_from(state)]
        for transition in complaint.transitions_from(state):
            assert machine.move(state, transition.trigger) == transition.dest


def test_star_source_and_self_loop() -> None:
    spec = load_workflow_text(textwrap.dedent("""\
        workflow: demo
        version: 1
        states:
          open: {initial: true}
          done: {final: true}
        transitions:
          - trigger: note
            from: open
            to: open
          - trigger: finish
            from: open
            to: done
          - trigger: cancel
            from: '*'
            to: done
    """), "demo.yaml")
    machine = WorkflowMachine(spec)
    assert machine.move("open", "note") == "open"
    assert machine.move("done", "cancel") == "done"
    assert machine.move("open", "cancel") == "done"
    assert machine.triggers("open") == ["note", "finish", "cancel"]
    assert machine.triggers("done") == ["cancel"]
    assert attached(machine) == []
