"""engine.cases.submissions: a step submitted twice with one key applies once, on both
databases; a refused one stores no key; other requests may not reuse it; old keys are swept."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.cases.runtime import Actor
from engine.cases.submissions import Applied, checked_key, fire_once
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

ANN = Actor("ann", "agent")
TRIAGE = {"category": "billing", "severity": "high"}


def started(casework: Casework) -> int:
    add_test_customers(casework)
    return casework.runtime.start("complaint", {"channel": "email", "summary": "s"}, ANN, T0,
                                  customer="C7").id


def submitted(casework: Casework) -> int:
    with casework.database.reading() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM form_submissions")
                   .scalar_one())


def test_the_same_key_applies_once_and_says_so(casework: Casework) -> None:
    case_id = started(casework)
    first = fire_once(casework.runtime, "k-1", case_id, "triage", ANN, T0, TRIAGE, 1)
    events = casework.store.case_events(case_id)
    again = fire_once(casework.runtime, "k-1", case_id, "triage", ANN, T0, TRIAGE, 1)
    assert (first.again, again.again) == (False, True)
    assert again.case == casework.store.get_case(case_id) == first.case  # no Conflict either
    assert casework.store.case_events(case_id) == events  # nothing written the second time
    assert submitted(casework) == 1


def test_without_a_key_a_fire_is_a_plain_fire(casework: Casework) -> None:
    case_id = started(casework)
    assert fire_once(casework.runtime, None, case_id, "triage", ANN, T0, TRIAGE).again is False
    assert fire_once(casework.runtime, " ", case_id, "respond", ANN, T0,
                     {"first_response": "On it"}) == Applied(casework.store.get_case(case_id))
    assert submitted(casework) == 0


def test_a_refused_submission_stores_no_key_and_may_be_sent_again(casework: Casework) -> None:
    case_id = started(casework)
    with pytest.raises(TransitionRefused):
        fire_once(casework.runtime, "k-2", case_id, "triage", ANN, T0,
                  {"category": "billing", "severity": "critical"})
    assert submitted(casework) == 0
    assert fire_once(casework.runtime, "k-2", case_id, "triage", ANN, T0, TRIAGE).again is False


@pytest.mark.parametrize(("who", "trigger"), [(Actor("bob", "agent"), "triage"),
                                              (ANN, "mark_duplicate")])
def test_a_key_another_request_used_is_refused(casework: Casework, who: Actor,
                                               trigger: str) -> None:
    case_id = started(casework)
    fire_once(casework.runtime, "k-3", case_id, "triage", ANN, T0, TRIAGE)
    with pytest.raises(InvalidInput, match="was used by another request .ann, case "):
        fire_once(casework.runtime, "k-3", case_id, trigger, who, T0, {})


def test_a_key_must_be_short_printable_text() -> None:
    assert checked_key(" 6f1c ") == "6f1c"
    for bad in ("x" * 101, "a\nb", "schlüssel"):
        with pytest.raises(InvalidInput, match="idempotency key"):
            checked_key(bad)


def test_the_worker_forgets_keys_after_a_day(casework: Casework) -> None:
    case_id = started(casework)
    fire_once(casework.runtime, "old", case_id, "triage", ANN, T0, TRIAGE)
    fire_once(casework.runtime, "new", case_id, "respond", ANN, T0 + timedelta(hours=20),
              {"first_response": "On it"})
    assert casework.worker.forget_submissions(T0 + timedelta(hours=25)) == 1
    assert submitted(casework) == 1


@pytest.mark.postgres
def test_two_simultaneous_submissions_apply_once(postgres_casework: Casework) -> None:
    casework = postgres_casework
    case_id = started(casework)
    barrier = threading.Barrier(2)
    answers: list[Applied | Exception] = []

    def submit() -> None:
        barrier.wait()
        try:
            answers.append(fire_once(casework.runtime, "k-4", case_id, "triage", ANN, T0,
                                     TRIAGE, 1))
        except Exception as exc:  # kept, to be shown by the assertion below
            answers.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.again for a in answers if isinstance(a, Applied)) == [False, True], answers
    assert [e.name for e in casework.store.case_events(case_id)].count("case.transitioned") == 1
