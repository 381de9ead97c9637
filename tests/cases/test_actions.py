"""Cases that reach past themselves: the customer and the cases they name must exist, a plan is
one per customer, `update_customer` writes the record and both histories, `measure` reads the
stored year. On both databases, with the shipped workflows."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from engine.cases.runtime import Actor
from engine.kernel.errors import InvalidInput, TransitionRefused
from engine.wiring import Casework
from tests.fixtures import T0

KIM = Actor("kim", "account_manager")
ANN = Actor("ann", "agent")
COMPLAINT = {"channel": "email", "summary": "Late delivery"}


def counts(casework: Casework) -> tuple[int, int]:
    with casework.database.reading() as connection:
        return (connection.exec_driver_sql("SELECT count(*) FROM cases").scalar_one(),
                connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one())


def test_a_case_for_an_unknown_customer_is_refused_and_nothing_written(
        casework: Casework) -> None:
    with pytest.raises(InvalidInput, match="there is no customer 'NOPE'"):
        casework.runtime.start("complaint", COMPLAINT, ANN, T0, customer="NOPE")
    assert counts(casework) == (0, 0)


def test_a_second_open_plan_for_a_customer_is_refused(casework: Casework) -> None:
    casework.customers.add("K1", T0, type="enterprise")
    first = casework.runtime.start("retention", {"tier": "key"}, KIM, T0, customer="K1")
    before = counts(casework)
    with pytest.raises(InvalidInput, match=rf"already has an open retention case \(#{first.id}\)"):
        casework.runtime.start("retention", {"tier": "key"}, KIM, T0, customer="K1")
    assert counts(casework) == before
    # complaints are not limited: a customer may complain twice
    casework.runtime.start("complaint", COMPLAINT, ANN, T0, customer="K1")
    casework.runtime.start("complaint", COMPLAINT, ANN, T0, customer="K1")


def test_a_field_naming_a_case_or_user_must_name_one_that_exists(casework: Casework) -> None:
    casework.customers.add("C1", T0)
    case = casework.runtime.start("complaint", COMPLAINT, ANN, T0, customer="C1")
    with pytest.raises(InvalidInput, match="duplicate_of.*there is no case 4711"):
        casework.runtime.fire(case.id, "mark_duplicate", ANN, T0, {"duplicate_of": 4711})
    with pytest.raises(InvalidInput, match="account_manager.*no active user 'ghost'"):
        plan = casework.runtime.start("strategic_plan", {}, KIM, T0, customer="C1")
        casework.runtime.fire(plan.id, "assign_manager", Actor("max", "manager"), T0,
                              {"account_manager": "ghost"})
    assert casework.store.get_case(case.id).state == "received"


def test_a_lost_customer_is_marked_lost_in_the_record_and_both_histories(
        casework: Casework) -> None:
    casework.customers.add("K2", T0, type="enterprise")
    case = casework.runtime.start("retention", {"tier": "key"}, KIM, T0, customer="K2")
    casework.runtime.fire(case.id, "contact", KIM, T0, {"contact_notes": "Moving to a rival"})
    casework.runtime.fire(case.id, "lost", KIM, T0 + timedelta(days=1),
                          {"lost_reason": "A rival undercut our price"})
    assert casework.customers.customer("K2").record.status == "lost"
    [updated] = [json.loads(e.payload) for e in casework.customers.history("K2")
                 if e.name == "customer.updated"]
    assert updated == {"customer": "K2", "case": case.id, "workflow": "retention",
                       "trigger": "lost", "changes": {"status": {"old": "active",
                                                                 "new": "lost"}}}
    [recorded] = [json.loads(e.payload) for e in casework.store.case_events(case.id)
                  if e.name == "case.customer_updated"]
    assert recorded == {"customer": "K2", "changes": {"status": {"old": "active", "new": "lost"}}}
    assert casework.verify_history()[2] == []


def test_a_review_keeps_what_it_was_not_told_to_correct(casework: Casework) -> None:
    casework.customers.add("P1", T0, email="p1@example.org", phone="+49 30 1")
    case = casework.runtime.start("record_review", {}, ANN, T0, customer="P1")
    casework.runtime.fire(case.id, "start_review", ANN, T0)
    with pytest.raises(InvalidInput, match="customer_type"):
        casework.runtime.fire(case.id, "mark_reviewed", ANN, T0, {
            "contact_verified": True, "classification_verified": True,
            "customer_type": "company"})
    casework.runtime.fire(case.id, "mark_reviewed", ANN, T0 + timedelta(hours=1), {
        "contact_verified": True, "classification_verified": True, "phone": "+49 30 2",
        "email": ""})  # a correction left empty in the form
    record = casework.customers.customer("P1").record
    assert (record.email, record.phone, record.reviewed_at) == (
        "p1@example.org", "+49 30 2", T0 + timedelta(hours=1))


def test_measure_reads_the_stored_year(casework: Casework, tmp_path: Path) -> None:
    purchases = tmp_path / "purchases.csv"
    purchases.write_text("customer,date,amount,quantity\n"
                         "S1,2026-06-01,200.00,1\n"
                         "S1,2027-02-01,150.00,1\n"
                         "S1,2027-11-15,150.00,2\n")
    casework.customers.import_file(purchases, "csv", T0)
    cycle = casework.runtime.start("annual_cycle", {"year": 2027}, KIM, T0, customer="S1")
    casework.runtime.fire(cycle.id, "set_goals", KIM, T0, {
        "goal_sales_growth": "0.2", "goal_satisfaction": "4", "goal_retention": "0.5",
        "goal_repeat_purchase_rate": "0.5"})
    casework.runtime.fire(cycle.id, "analyze", KIM, T0, {"needs": "Faster delivery"})
    casework.runtime.fire(cycle.id, "strategize", KIM, T0, {"strategy": "Regional stock"})
    evaluated = casework.runtime.fire(cycle.id, "evaluate", Actor("max", "manager"),
                                      T0 + timedelta(days=700))
    fields = evaluated.fields
    assert (fields["actual_sales_growth"], fields["attainment_sales_growth"]) == (
        "0.5000", "2.5000")  # 300 against 200
    assert (fields["actual_retention"], fields["actual_repeat_purchase_rate"]) == (
        "0.5000", "0.5000")
    assert "actual_satisfaction" not in fields  # no complaint closed that year
    [measured] = [json.loads(e.payload) for e in casework.store.case_events(cycle.id)
                  if e.name == "case.kpis_measured"]
    assert measured["year"] == 2027
    assert measured["kpis"]["sales_growth"] == {"goal": "0.2", "actual": "0.5000",
                                               "attainment": "2.5000"}
    assert measured["kpis"]["satisfaction"] == {"goal": "4", "actual": None,
                                               "attainment": None}
    # the NPS survey's answers are measured too (none answered that year; no goal set)
    assert measured["kpis"]["nps"] == {"goal": None, "actual": None, "attainment": None}
    assert Decimal(fields["goal_retention"]) == Decimal("0.5")


def test_a_change_that_changes_nothing_records_nothing(casework: Casework) -> None:
    casework.customers.add("K3", T0, type="enterprise")  # active already
    case = casework.runtime.start("retention", {"tier": "key"}, KIM, T0, customer="K3")
    casework.runtime.fire(case.id, "contact", KIM, T0, {"contact_notes": "All is well"})
    casework.runtime.fire(case.id, "retained", KIM, T0)
    assert [e.name for e in casework.customers.history("K3")] == []
    assert "case.customer_updated" not in [e.name for e in casework.store.case_events(case.id)]


def test_asks_wants_a_fresh_value_at_every_fire(casework: Casework) -> None:
    casework.customers.add("S9", T0, type="enterprise")
    casework.store.add_user("kim", ["account_manager"], T0)
    max_ = Actor("max", "manager")
    plan = casework.runtime.start("strategic_plan", {}, max_, T0, customer="S9")
    casework.runtime.fire(plan.id, "assign_manager", max_, T0, {"account_manager": "kim"})
    casework.runtime.fire(plan.id, "agree_plan", KIM, T0, {"goals": "Grow 10%"})
    casework.runtime.fire(plan.id, "review_due", max_, T0)
    casework.runtime.fire(plan.id, "hold_review", KIM, T0, {"review_notes": "On track",
                                                            "health": "on_track"})
    casework.runtime.fire(plan.id, "review_due", max_, T0)
    with pytest.raises(TransitionRefused, match="needs review_notes, health: give .* earlier "
                                                "value does not count"):
        casework.runtime.fire(plan.id, "hold_review", KIM, T0)  # last month's notes held
    assert casework.store.get_case(plan.id).fields["reviews_held"] == 1


def test_satisfaction_counts_every_rating_given_in_the_year(casework: Casework,
                                                            tmp_path: Path) -> None:
    purchases = tmp_path / "purchases.csv"
    purchases.write_text("customer,date,amount,quantity\nS2,2026-01-05,10.00,1\n")
    casework.customers.import_file(purchases, "csv", T0)
    complaint = casework.runtime.start("complaint", COMPLAINT, ANN, T0, customer="S2").id
    casework.runtime.fire(complaint, "triage", ANN, T0, {"category": "billing"})
    fix = {"resolution": "Refunded", "root_cause": "typo", "remedy": "refund"}
    casework.runtime.fire(complaint, "resolve", ANN, T0, fix)
    casework.runtime.fire(complaint, "not_satisfied", ANN, T0, {"csat": 2})
    casework.runtime.fire(complaint, "resolve", ANN, T0, fix)
    casework.runtime.fire(complaint, "close", ANN, T0, {"csat": 5})
    with casework.store.transaction() as tx:
        activity = tx.year_activity("S2", 2026)
    assert activity.csat == [2, 5]  # the unhappy rating counts, though 5 replaced it
