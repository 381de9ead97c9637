"""Satisfaction surveys on both databases: resolving a complaint sends a signed link, the
answer closes the complaint or sends it back to investigation, and a forged, expired or
reused link changes nothing and is recorded."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeSerializer

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.channels.public import Outcome
from engine.channels.surveys import (
    SurveyAnswered,
    SurveyExpired,
    SurveyUnknown,
    digest_of,
)
from engine.kernel.errors import InvalidInput
from engine.store.schema import outbox
from engine.store.surveys import SqlSurveys
from engine.wiring import Casework
from tests.fixtures import T0

ANN = Actor("ann", "agent")
SAM = Actor("sam", "supervisor")
RESOLVED = T0 + timedelta(hours=3)
LINK = re.compile(r"http://localhost:8000/survey/(\S+)")


def resolved(casework: Casework, customer: str = "C1", email: str | None = "c1@example.org"
             ) -> int:
    casework.customers.add(customer, T0, email=email, name="Chen Li")
    case_id = casework.runtime.start("complaint", {"channel": "phone", "summary": "Double "
                                     "charge on the March invoice"}, ANN, T0,
                                     customer=customer).id
    casework.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing",
                                                        "severity": "medium"})
    casework.runtime.fire(case_id, "resolve", ANN, RESOLVED, {
        "resolution": "Refunded", "root_cause": "Billing run twice", "remedy": "refund"})
    return case_id


def events(casework: Casework, case_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, json.loads(e.payload)) for e in casework.store.case_events(case_id)]


def mails(casework: Casework) -> list[Any]:
    """The survey mails in the outbox (the acknowledgement of intake is there too)."""
    with casework.database.reading() as connection:
        return [row for row in connection.execute(sa.select(outbox).order_by(outbox.c.id))
                if "/survey/" in row.body]


def token_of(casework: Casework, case_id: int) -> str:
    [mail] = [m for m in mails(casework) if m.case_id == case_id]
    found = LINK.search(mail.body)
    assert found is not None, mail.body
    return found.group(1)


def recorded(casework: Casework) -> list[tuple[str, int | None]]:
    return [(r.outcome.value, r.case_id)
            for r in SqlSurveys(casework.store).public_requests("survey")]


def test_resolving_mails_a_signed_link_and_keeps_only_its_digest(casework: Casework) -> None:
    case_id = resolved(casework)
    [mail] = mails(casework)
    assert (mail.address, mail.case_id) == ("c1@example.org", case_id)
    assert mail.subject == f"How did we do with your complaint? [#{case_id}]"
    assert "Dear Chen Li," in mail.body and "Double charge on the March invoice" in mail.body
    token = token_of(casework, case_id)
    [survey] = SqlSurveys(casework.store).surveys_of(case_id)
    assert (survey.kind, survey.customer_id, survey.answered_at) == ("csat", "C1", None)
    assert survey.expires_at == RESOLVED + timedelta(days=14)
    assert SqlSurveys(casework.store).survey(digest_of(token)) == survey
    sent = dict(events(casework, case_id))["survey.sent"]
    assert sent == {"survey": survey.id, "kind": "csat", "mail": mail.id,
                    "expires_at": survey.expires_at.isoformat()}
    assert all(token not in e.payload for e in casework.store.case_events(case_id))
    assert casework.store.get_case(case_id).state == "resolved"


def test_a_customer_without_email_gets_no_survey_and_the_step_goes_on(
        casework: Casework) -> None:
    case_id = resolved(casework, "C2", email=None)
    assert casework.store.get_case(case_id).state == "resolved"
    assert mails(casework) == []
    assert SqlSurveys(casework.store).surveys_of(case_id) == []
    assert dict(events(casework, case_id))["survey.not_sent"] == {
        "kind": "csat", "reason": "the customer has no email address"}


def test_a_satisfied_answer_closes_the_complaint(casework: Casework) -> None:
    case_id = resolved(casework)
    token = token_of(casework, case_id)
    later = RESOLVED + timedelta(days=1)
    shown = casework.surveys.open(token, later)
    assert (shown.case_id, shown.scale) == (case_id, (1, 5))
    answered = casework.surveys.answer(token, 4, "  Quick refund, thanks  ", later, "10.0.0.9")
    assert (answered.score, answered.comment, answered.answered_at) == (
        4, "Quick refund, thanks", later)
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["csat"], case.fields["follow_up_notes"]) == (
        "closed", 4, "Quick refund, thanks")
    [entry] = casework.conversation.entries(case_id)
    assert (entry.kind, entry.author, entry.body) == (
        EntryKind.FROM_CUSTOMER, "C1", "Quick refund, thanks")
    named = events(casework, case_id)
    fired = [p for n, p in named if n == "case.transitioned"][-1]
    assert fired == {"trigger": "close", "because": {"signal": "survey_answered",
                                                     "survey": answered.id}}
    assert dict(named)["survey.answered"] == {"survey": answered.id, "kind": "csat",
                                              "score": 4, "comment_length": 20}
    assert {e.actor for e in casework.store.case_events(case_id)
            if e.name in ("survey.answered", "case.transitioned")
            and e.at == later} == {"C1"}
    assert casework.verify_history()[2] == []


def test_an_unsatisfied_answer_sends_it_back_to_investigation(casework: Casework) -> None:
    case_id = resolved(casework)
    casework.surveys.answer(token_of(casework, case_id), 2, "", RESOLVED + timedelta(hours=2))
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["csat"], case.fields["reopen_count"]) == (
        "in_progress", 2, 1)
    assert "follow_up_notes" not in case.fields
    assert casework.conversation.entries(case_id) == []  # no comment, no entry


def test_a_reused_link_is_refused_recorded_and_changes_nothing(casework: Casework) -> None:
    case_id = resolved(casework)
    token = token_of(casework, case_id)
    casework.surveys.answer(token, 5, "", RESOLVED + timedelta(hours=1))
    before = casework.store.get_case(case_id)
    with pytest.raises(SurveyAnswered, match="answered already"):
        casework.surveys.answer(token, 1, "Changed my mind", RESOLVED + timedelta(hours=2))
    with pytest.raises(SurveyAnswered):
        casework.surveys.open(token, RESOLVED + timedelta(hours=2))
    assert casework.store.get_case(case_id) == before
    assert recorded(casework) == [("reused", case_id), ("reused", case_id)]


def test_an_expired_link_is_refused_recorded_and_changes_nothing(casework: Casework) -> None:
    case_id = resolved(casework)
    token = token_of(casework, case_id)
    before = casework.store.get_case(case_id)
    late = RESOLVED + timedelta(days=14)
    with pytest.raises(SurveyExpired, match="expired on 2026-03-16"):
        casework.surveys.answer(token, 5, "", late)
    assert casework.store.get_case(case_id) == before
    assert SqlSurveys(casework.store).surveys_of(case_id)[0].answered_at is None
    assert recorded(casework) == [("expired", case_id)]


@pytest.mark.parametrize("forge", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # tampered
    lambda token: URLSafeSerializer("another secret", salt="casework.survey").dumps("x"),
    lambda token: "not-a-token",
])
def test_a_forged_link_is_refused_recorded_and_changes_nothing(
        casework: Casework, forge: Any) -> None:
    case_id = resolved(casework)
    before = casework.store.get_case(case_id)
    with pytest.raises(SurveyUnknown, match="not one of ours"):
        casework.surveys.answer(forge(token_of(casework, case_id)), 5, "", RESOLVED,
                                "192.0.2.7")
    assert casework.store.get_case(case_id) == before
    [request] = SqlSurveys(casework.store).public_requests("survey")
    assert (request.outcome, request.client, request.case_id) == (
        Outcome.FORGED, "192.0.2.7", None)


def test_a_signed_token_we_never_issued_is_unknown(casework: Casework) -> None:
    resolved(casework)
    ours = casework.surveys.signer.serializer.dumps("never issued")
    with pytest.raises(SurveyUnknown):
        casework.surveys.open(ours, RESOLVED)
    assert recorded(casework) == [("forged", None)]


@pytest.mark.parametrize("score", [0, 6, -1])
def test_a_score_off_the_scale_is_refused(casework: Casework, score: int) -> None:
    case_id = resolved(casework)
    with pytest.raises(InvalidInput, match="choose from 1 to 5"):
        casework.surveys.answer(token_of(casework, case_id), score, "", RESOLVED)
    assert casework.store.get_case(case_id).state == "resolved"
    assert SqlSurveys(casework.store).surveys_of(case_id)[0].answered_at is None


def test_an_answer_after_the_case_moved_on_is_kept_on_it(casework: Casework) -> None:
    case_id = resolved(casework)
    casework.runtime.fire(case_id, "close_unanswered", SAM, RESOLVED + timedelta(hours=1))
    casework.surveys.answer(token_of(casework, case_id), 3, "Fine", RESOLVED + timedelta(hours=2))
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["csat"], case.fields["follow_up_notes"]) == (
        "closed", 3, "Fine")
    skipped = dict(events(casework, case_id))["case.signal_skipped"]
    assert skipped["signal"] == "survey_answered"
    assert "no step leaves 'closed' on survey_answered" in skipped["reason"]
