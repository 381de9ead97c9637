"""engine.jobs.opening: the year's annual cycles and the record reviews that fell due, each opened
once, on the shipped CDNOW sample tiered as of mid-1998; and the plans that hand over when a
customer leaves its tier."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from engine.jobs.opening import MANAGED_TIERS
from engine.kernel.errors import DefinitionError, InvalidInput, RuleError
from engine.rules.loading import load_table_text
from engine.wiring import Casework
from tests.fixtures import T0, tier_table
from tests.jobs.test_tiering import NOW, tiered

__all__ = ["tiered"]  # the fixture, shared with test_tiering


def managed(casework: Casework) -> set[str]:
    with casework.database.reading() as connection:
        return set(connection.execute(sa.text(
            "SELECT id FROM customers WHERE tier IN ('strategic', 'key')")).scalars())


def test_a_years_cycles_open_once_for_every_managed_customer(tiered: Casework) -> None:
    opened = tiered.opening.cycles(1998, NOW)
    assert set(opened.started) == managed(tiered) and len(opened.started) == 731
    case = tiered.store.get_case(next(iter(opened.started.values())))
    assert (case.workflow, case.state, case.queue, case.fields["year"]) == (
        "annual_cycle", "setting_goals", "account_management", 1998)
    created = json.loads(tiered.store.case_events(case.id)[0].payload)
    assert created["because"] == {"event": "cycle.year_opened", "year": 1998}
    history = [e.name for e in tiered.customers.history(str(case.customer))]
    assert history[-1] == "customer.case_started"
    again = tiered.opening.cycles(1998, NOW)
    assert again.started == {} and len(again.skipped) == 731
    assert len(tiered.opening.cycles(1999, NOW).started) == 731  # a new year, new cycles
    assert tiered.verify_history()[2] == []


def test_cycles_need_a_year(tiered: Casework) -> None:
    with pytest.raises(RuleError, match="not a year"):
        tiered.opening.cycles(98, NOW)


WITHOUT_KEY = tier_table("[strategic, key_account, ordinary]", key="key_account")
NO_KEY = ("rules/customer_tier.yaml:17: table 'customer_tier' must decide the managed tiers "
          "strategic, key, but its 'tier' values are strategic, key_account, ordinary; add key "
          "(annual cycles are opened for the managed tiers)")


def publish_tiers(casework: Casework, text: str) -> None:
    casework.registry.publish_table(load_table_text(text, "rules/customer_tier.yaml"), text, T0)


def test_a_tier_table_without_the_managed_tiers_is_not_published(casework: Casework) -> None:
    with pytest.raises(DefinitionError) as refused:
        publish_tiers(casework, WITHOUT_KEY)
    assert str(refused.value) == NO_KEY
    assert casework.registry.tiers(T0) == ("strategic", "key", "ordinary")  # v1 stays


def test_a_tier_table_with_more_tiers_is_published(casework: Casework) -> None:
    publish_tiers(casework, tier_table("[strategic, key, growth, ordinary]"))
    assert casework.registry.tiers(T0) == ("strategic", "key", "growth", "ordinary")
    assert casework.opening.cycles(2026, T0, ("growth",)).started == {}  # nobody is, yet


def test_cycles_refuse_a_tier_table_in_force_without_the_managed_tiers(
        casework: Casework) -> None:
    """A version published before the check (or by a registry without it) is caught before
    any cycle opens."""
    casework.registry.table_checks.clear()
    publish_tiers(casework, WITHOUT_KEY)
    with pytest.raises(DefinitionError) as refused:
        casework.opening.cycles(2026, T0)
    assert str(refused.value) == NO_KEY
    assert casework.opening.cycles(2026, T0, ("strategic",)).started == {}


def test_cycles_for_a_tier_the_table_does_not_decide_are_refused(casework: Casework) -> None:
    with pytest.raises(InvalidInput, match=r"field 'tier': customer_tier v1 decides no tier "
                                           r"'gold' \(its tiers: strategic, key, ordinary; "
                                           r"see .*customer_tier.yaml\)"):
        casework.opening.cycles(2026, T0, ("strategic", "gold"))
    assert casework.opening.cycles(2026, T0, MANAGED_TIERS).started == {}


def test_reviews_fall_due_by_tier_and_open_once(tiered: Casework) -> None:
    created = NOW  # the import's time is every record's creation
    assert tiered.opening.reviews(created.date() + timedelta(days=150), NOW).started == {}
    strategic = tiered.opening.reviews(created.date() + timedelta(days=190), NOW)
    with tiered.database.reading() as connection:
        tiers = dict(connection.execute(sa.text("SELECT id, tier FROM customers")).all())
    assert {tiers[c] for c in strategic.started} == {"strategic"}  # 6 months: strategic only
    later = tiered.opening.reviews(created.date() + timedelta(days=370), NOW)
    assert {tiers[c] for c in later.started} == {"key"}
    assert set(later.skipped) == set(strategic.started)  # still open: not a second one
    case = tiered.store.get_case(next(iter(later.started.values())))
    assert (case.workflow, case.state, case.fields["tier"]) == ("record_review", "due", "key")
    because = json.loads(tiered.store.case_events(case.id)[0].payload)["because"]
    assert because == {"event": "record.stale", "months": 12,
                       "since": created.date().isoformat()}


def test_a_plan_hands_over_when_its_customer_leaves_the_tier(tiered: Casework) -> None:
    with tiered.database.reading() as connection:
        plans = dict(connection.execute(sa.text(
            "SELECT customer, id FROM cases WHERE workflow = 'strategic_plan'")).all())
    assert len(plans) == 12
    # by the end of 1999 the sample's strategic customers weigh less: they become key
    done = tiered.tiering.recompute(date(1999, 12, 31), NOW + timedelta(days=1))
    assert done.moved == {"strategic_plan": 12}
    assert done.started["key_plan"] == 12  # and their key plans start, in the same batch
    with tiered.database.reading() as connection:
        handing = dict(connection.execute(sa.text(
            "SELECT customer, id FROM cases WHERE workflow = 'strategic_plan' "
            "AND state = 'handing_over' AND queue = 'plans'")).all())
        tiers = dict(connection.execute(sa.text("SELECT id, tier FROM customers")).all())
    assert handing == plans
    assert {tiers[c] for c in handing} == {"key"}
    customer = sorted(handing)[0]
    names = [e.name for e in tiered.customers.history(customer)]
    moved = names.index("customer.case_moved")
    assert "customer.tier_changed" in names[moved - 2:moved]  # the change, then what it moved
    [payload] = [json.loads(e.payload) for e in tiered.customers.history(customer)
                 if e.name == "customer.case_moved"]
    assert payload == {"workflow": "strategic_plan", "case": plans[customer],
                       "trigger": "hand_over", "on": "customer.tier_changed"}
    fired = [(e.actor, e.role, json.loads(e.payload))
             for e in tiered.store.case_events(plans[customer]) if e.name == "case.transitioned"]
    assert fired == [("casework", "system", {"trigger": "hand_over",
                                             "because": {"event": "customer.tier_changed"}})]
    assert tiered.verify_history()[2] == []
