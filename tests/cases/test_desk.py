"""Comments and assignments (engine/cases/desk.py): audited, versioned, refused plainly."""

from __future__ import annotations

import json

import pytest

from engine.cases.runtime import Actor
from engine.kernel.errors import Conflict, InvalidInput, RoleRefused, TransitionRefused
from engine.kernel.history import verify
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

ANN, BOB, SAM = Actor("ann", "agent"), Actor("bob", "agent"), Actor("sam", "supervisor")


@pytest.fixture
def case_id(casework: Casework) -> int:
    add_test_customers(casework)
    for name, role in [("ann", "agent"), ("bob", "agent"), ("sam", "supervisor")]:
        casework.store.add_user(name, [role], T0)
    return casework.runtime.start("complaint", {"channel": "web", "summary": "Late parcel"},
                                  ANN, T0, customer="C1").id


def test_a_comment_is_a_history_event_and_moves_the_version(casework: Casework,
                                                            case_id: int) -> None:
    case = casework.desk.comment(case_id, "  Called the courier.  ", ANN, T0,
                                 expected_version=1)
    assert case.lock_version == 2
    last = casework.store.case_events(case_id)[-1]
    assert (last.name, last.actor, last.role) == ("case.commented", "ann", "agent")
    # the text is personal: the history holds a marker, the vault the text
    marker = json.loads(last.payload)["text"]
    assert casework.personal_data.values([marker["$personal"]]) == {
        marker["$personal"]: "Called the courier."}
    stored = casework.store.get_case(case_id)
    assert verify(case_id, casework.store.case_events(case_id), stored.history_seq,
                  stored.history_head) is None


def test_empty_long_stale_and_read_only_comments_are_refused(casework: Casework,
                                                             case_id: int) -> None:
    with pytest.raises(InvalidInput, match="is empty"):
        casework.desk.comment(case_id, " \n ", ANN, T0)
    with pytest.raises(InvalidInput, match="10,001 characters long; the most is 10,000"):
        casework.desk.comment(case_id, "x" * 10_001, ANN, T0)
    with pytest.raises(RoleRefused, match="role 'auditor' is read-only"):
        casework.desk.comment(case_id, "hello", Actor("ada", "auditor"), T0)
    casework.desk.comment(case_id, "first", ANN, T0)
    with pytest.raises(Conflict):
        casework.desk.comment(case_id, "second", BOB, T0, expected_version=1)
    assert [e.name for e in casework.store.case_events(case_id)].count("case.commented") == 1


def test_claiming_giving_back_and_reassigning(casework: Casework, case_id: int) -> None:
    assert casework.desk.assign(case_id, "ann", ANN, T0).assignee == "ann"
    with pytest.raises(RoleRefused, match="this case is assigned to ann"):
        casework.desk.assign(case_id, "bob", BOB, T0)
    assert casework.desk.assign(case_id, None, ANN, T0).assignee is None
    assert casework.desk.assign(case_id, "bob", SAM, T0).assignee == "bob"
    moves = [e.payload for e in casework.store.case_events(case_id) if e.name == "case.assigned"]
    assert moves == ['{"from":null,"to":"ann"}', '{"from":"ann","to":null}',
                     '{"from":null,"to":"bob"}']


def test_assigning_to_the_same_person_writes_nothing(casework: Casework, case_id: int) -> None:
    casework.desk.assign(case_id, "ann", ANN, T0)
    before = casework.store.get_case(case_id)
    assert casework.desk.assign(case_id, "ann", SAM, T0) == before
    assert casework.store.get_case(case_id).lock_version == before.lock_version


def test_an_unknown_assignee_or_a_closed_case_is_refused(casework: Casework,
                                                         case_id: int) -> None:
    with pytest.raises(InvalidInput, match="there is no active user 'nobody'"):
        casework.desk.assign(case_id, "nobody", SAM, T0)
    other = casework.runtime.start("complaint", {"channel": "web", "summary": "Same"}, ANN, T0,
                                   customer="C1")
    casework.runtime.fire(other.id, "mark_duplicate", SAM, T0, {"duplicate_of": case_id})
    with pytest.raises(TransitionRefused, match=f"case {other.id} is closed"):
        casework.desk.assign(other.id, "ann", SAM, T0)
