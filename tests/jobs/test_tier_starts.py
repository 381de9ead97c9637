"""engine.jobs.tier_starts: the starts due, remembered by what their conditions read; new cases
drafted apart from the database and written, as drafted, in a transaction that reserves the
ids they were drafted with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.cases.runtime import StartRequest
from engine.jobs.tier_starts import Starts, _Drafting, draft
from engine.wiring import Casework
from tests.fixtures import add_test_customers

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIER = frozenset({"customer.tier_changed"})


def test_the_starts_due_follow_the_new_tier(casework: Casework) -> None:
    starts = Starts(casework.registry.starts())
    names = {index: deployed.spec.name for index, (deployed, _) in enumerate(starts.starts)}
    extra = {"id": "C1", "previous_tier": None, "churn_risk": "low",
             "previous_churn_risk": None}
    for tier, expected in (("key", {"key_plan", "nps_survey"}),
                           ("strategic", {"strategic_plan", "nps_survey"}),
                           ("ordinary", set()), ("key", {"key_plan", "nps_survey"})):
        due = starts.due(TIER, {"tier": tier}, extra, NOW)
        assert {names[i] for i in due} == expected
    assert starts.due(frozenset({"customer.updated"}), {"tier": "key"}, extra, NOW) == []
    risky = {**extra, "churn_risk": "high"}
    both = frozenset({"customer.tier_changed", "customer.churn_risk_changed"})
    assert {names[i] for i in starts.due(both, {"tier": "key"}, risky, NOW)} == \
        {"key_plan", "nps_survey", "retention"}


def test_drafted_cases_written_as_drafted_are_the_cases_started(casework: Casework) -> None:
    add_test_customers(casework)
    deployed = casework.registry.active("retention")
    requests = [StartRequest(deployed, {"tier": "key", "p_alive": 0.2, "recency_days": 200},
                             customer, because={"event": "customer.churn_risk_changed"})
                for customer in ("C1", "C7")]
    with casework.customers.transaction() as tx:
        reserved = tx.reserve_case_ids(2)
        drafted = draft(casework.runtime, requests, reserved[0], NOW)
        assert drafted.ids == reserved == [reserved[0], reserved[0] + 1]
        drafted.replay(tx)
    if casework.database.dialect == "sqlite":  # what the helper drafts against there
        assert casework.customers.next_case_id() == reserved[-1] + 1
    for case in drafted.cases:
        stored = casework.store.get_case(case.id)
        assert (stored.workflow, stored.customer, stored.state, stored.history_head) == (
            "retention", case.customer, case.state, case.history_head)
    assert casework.verify_history()[2] == []


def test_drafting_keeps_writes_and_answers_no_reads() -> None:
    drafting = _Drafting(40)
    assert drafting.reserve_case_ids(2) == [40, 41]
    drafting.insert_cases(["a case"])  # type: ignore[attr-defined]
    assert drafting.writes == [("insert_cases", (["a case"],))]
    with pytest.raises(AttributeError, match="cannot answer 'get_case'"):
        drafting.get_case(40)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="cannot answer 'clocks'"):
        drafting.clocks(40)  # type: ignore[attr-defined]
