"""The NPS survey of managed customers on both databases: it opens for strategic and key
customers only, its timer mails the survey every quarter, and the answers are the annual
cycle's nps KPI."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from engine.cases.runtime import Actor
from engine.customers.kpis import measure, net_promoter_score
from engine.jobs.tier_starts import Starts
from engine.kernel.records import YearActivity
from engine.store.schema import outbox
from engine.store.surveys import SqlSurveys
from engine.wiring import Casework
from tests.fixtures import T0

SYSTEM = Actor("casework", "system")
QUARTER = timedelta(hours=2160)
LINK = re.compile(r"http://localhost:8000/survey/(\S+)")


def test_the_survey_opens_for_strategic_and_key_customers_only(casework: Casework) -> None:
    starts = Starts(casework.registry.starts())
    names = {i: deployed.spec.name for i, (deployed, _) in enumerate(starts.starts)}
    extra = {"id": "C1", "previous_tier": None, "churn_risk": "low",
             "previous_churn_risk": None}
    due = {tier: {names[i] for i in starts.due(frozenset({"customer.tier_changed"}),
                                               {"tier": tier}, extra, T0)}
           for tier in ("strategic", "key", "ordinary")}
    assert "nps_survey" in due["strategic"] and "nps_survey" in due["key"]
    assert "nps_survey" not in due["ordinary"]


def test_the_timer_mails_the_survey_each_quarter_and_the_answer_is_kept(
        casework: Casework) -> None:
    casework.customers.add("K1", T0, email="buyer@k1.example", name="K1 Trading", tier="key")
    case_id = casework.runtime.start("nps_survey", {"tier": "key"}, SYSTEM, T0,
                                     customer="K1").id
    casework.worker.fire_due_timers(T0 + QUARTER - timedelta(hours=1))
    assert casework.store.get_case(case_id).state == "waiting"  # not yet
    casework.worker.fire_due_timers(T0 + QUARTER)
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["surveys_sent"]) == ("asked", 1)
    with casework.database.reading() as connection:
        [mail] = connection.execute(sa.select(outbox)).all()
    assert mail.subject == f"Would you recommend us? [#{case_id}]"
    assert mail.address == "buyer@k1.example" and "from 0 to 10" in mail.body
    found = LINK.search(mail.body)
    assert found is not None
    token = found.group(1)
    answered_at = T0 + QUARTER + timedelta(days=2)
    assert casework.surveys.open(token, answered_at).scale == (0, 10)
    casework.surveys.answer(token, 9, "Good partner", answered_at)
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["nps"], case.fields["nps_comment"], case.fields["answers"]) \
        == ("waiting", 9, "Good partner", 1)
    [survey] = SqlSurveys(casework.store).surveys_of(case_id)
    assert (survey.kind, survey.score) == ("nps", 9)
    # the answer is the year's nps KPI (the store's year, as the annual cycle measures it)
    with casework.store.transaction() as tx:
        year = tx.year_activity("K1", answered_at.year)
        other = tx.year_activity("K1", answered_at.year - 1)
    assert year.nps == [9] and other.nps == []
    assert measure(year)["nps"] == Decimal("100.0000")
    assert measure(other)["nps"] is None


def test_an_unanswered_survey_waits_for_the_next_quarter(casework: Casework) -> None:
    casework.customers.add("S1", T0, tier="strategic")  # no email address: nothing is mailed
    case_id = casework.runtime.start("nps_survey", {"tier": "strategic"}, SYSTEM, T0,
                                     customer="S1").id
    casework.worker.fire_due_timers(T0 + QUARTER)
    assert casework.store.get_case(case_id).state == "asked"
    assert [e.name for e in casework.store.case_events(case_id)].count("survey.not_sent") == 1
    casework.worker.fire_due_timers(T0 + QUARTER + timedelta(hours=720))
    assert casework.store.get_case(case_id).state == "waiting"


def test_the_net_promoter_score() -> None:
    assert net_promoter_score([]) is None
    assert net_promoter_score([10, 9, 8, 7, 6, 0]) == Decimal("0.0000")  # 2 - 2 of 6
    assert net_promoter_score([10, 9, 9, 3]) == Decimal("50.0000")
    assert net_promoter_score([1, 2, 7]) == Decimal("-66.6667")
    assert measure(YearActivity(2026, nps=[10]))["nps"] == Decimal("100.0000")
