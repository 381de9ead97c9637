"""engine.cases.offers: the steps a person may take on a case now, their guards judged before
the form where they can be, and the role each is fired in."""

from __future__ import annotations

from datetime import timedelta

from engine.cases.offers import Offer, offers, reads_form, role_for
from engine.cases.runtime import Actor
from engine.kernel.records import CaseRecord
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers

ANN = Actor("ann", "agent")
RESOLVED = {"resolution": "Refunded", "root_cause": "Double booking", "remedy": "refund"}


def closed(casework: Casework) -> CaseRecord:
    add_test_customers(casework)
    case = casework.runtime.start("complaint", {"channel": "email", "summary": "Charged twice"},
                                  ANN, T0, customer="C7")
    casework.runtime.fire(case.id, "triage", ANN, T0, {"category": "billing"})
    casework.runtime.fire(case.id, "resolve", ANN, T0, RESOLVED)
    return casework.runtime.fire(case.id, "close", ANN, T0, {"csat": 4})


def triggers(found: list[Offer]) -> list[str]:
    return [o.transition.trigger for o in found]


def test_a_guard_on_stored_values_is_judged_before_the_form(casework: Casework) -> None:
    case = closed(casework)
    within = offers(casework.runtime, case, "ann", ["agent"], T0 + timedelta(days=29))
    assert [(o.transition.trigger, o.role, o.hint) for o in within] == [
        ("reopen", "agent", None)]
    # reopening is for 30 days after closing: past them the step is not offered at all
    assert offers(casework.runtime, case, "ann", ["agent"], T0 + timedelta(days=31)) == []


def test_a_guard_on_the_forms_fields_is_offered_with_its_message(casework: Casework) -> None:
    add_test_customers(casework)
    case = casework.runtime.start("complaint", {"channel": "email", "summary": "s"}, ANN, T0,
                                  customer="C7")
    found = offers(casework.runtime, case, "ann", ["agent"], T0)
    assert [(o.transition.trigger, o.hint) for o in found] == [
        ("triage", "Only a supervisor triages a critical complaint"),
        ("mark_duplicate", "A complaint cannot be a duplicate of itself")]
    assert all(reads_form(o.transition) for o in found)


def test_only_the_roles_that_may_fire_a_step_see_it(casework: Casework) -> None:
    add_test_customers(casework)
    other = casework.runtime.start("complaint", {"channel": "phone", "summary": "s"}, ANN, T0,
                                   customer="C1")
    casework.runtime.fire(other.id, "triage", ANN, T0, {"category": "billing"})
    done = casework.runtime.fire(other.id, "resolve", ANN, T0, RESOLVED)
    assert triggers(offers(casework.runtime, done, "ann", ["agent"], T0)) == [
        "close", "not_satisfied"]
    both = offers(casework.runtime, done, "sam", ["agent", "supervisor"], T0)
    assert [(o.transition.trigger, o.role) for o in both] == [
        ("close", "agent"), ("not_satisfied", "agent"), ("close_unanswered", "supervisor")]
    assert offers(casework.runtime, done, "ada", ["auditor"], T0) == []


def test_the_role_a_step_is_fired_in() -> None:
    assert role_for(["agent", "supervisor"], {"supervisor"}) == "supervisor"
    assert role_for(["agent", "supervisor"], ()) == "agent"
    assert role_for(["auditor", "agent"], ()) == "agent"  # read-only roles fire nothing
    assert role_for(["auditor"], ()) == "auditor"
