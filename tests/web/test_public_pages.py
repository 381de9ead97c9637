"""The customers' pages without signing in: a survey link answered once (and refused in words
when forged, expired or used), and the public complaint form."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from engine.cases.runtime import Actor
from engine.kernel.settings import Settings
from engine.store.schema import outbox
from engine.store.surveys import SqlSurveys
from engine.wiring import Casework, open_casework
from tests.fixtures import ROOT
from tests.web_fixtures import NOW, Client, csrf
from web.app import create_app

ANN = Actor("ann", "agent")
LINK = re.compile(r"http://localhost:8000/survey/(\S+)")


def resolved(desk: Casework) -> tuple[int, str]:
    """A complaint resolved an hour ago, and the token of its survey link."""
    desk.customers.add("W1", NOW, email="wang.fang@example.com", name="Wang Fang")
    case_id = desk.runtime.start("complaint", {"channel": "web", "summary": "Broken hinge"},
                                 ANN, NOW - timedelta(hours=3), customer="W1").id
    desk.runtime.fire(case_id, "triage", ANN, NOW - timedelta(hours=2),
                      {"category": "after_sales", "severity": "low"})
    desk.runtime.fire(case_id, "resolve", ANN, NOW - timedelta(hours=1), {
        "resolution": "Sent a new hinge", "root_cause": "Faulty batch",
        "remedy": "replacement"})
    with desk.database.reading() as connection:
        body = connection.execute(sa.select(outbox.c.body).where(  # the last: the survey's
            outbox.c.case_id == case_id).order_by(outbox.c.id.desc()).limit(1)).scalar_one()
    found = LINK.search(body)
    assert found is not None, body
    return case_id, found.group(1)


def test_a_survey_link_opens_without_signing_in_and_is_answered_once(
        web: Client, desk: Casework) -> None:
    case_id, token = resolved(desk)
    form = web.get(f"/survey/{token}")
    assert form.status_code == 200, form.text
    assert "How satisfied are you" in form.text and f"Case {case_id}" in form.text
    assert 'name="score" value="5"' in form.text and 'name="score" value="0"' not in form.text
    assert "Sign out" not in form.text  # nobody is signed in
    answered = web.post(f"/survey/{token}", data={**csrf(web), "score": "5",
                                                  "comment": "Fast and friendly"})
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text
    case = desk.store.get_case(case_id)
    assert (case.state, case.fields["csat"], case.fields["follow_up_notes"]) == (
        "closed", 5, "Fast and friendly")
    again = web.post(f"/survey/{token}", data={**csrf(web), "score": "1"})
    assert again.status_code == 409
    assert "This survey has been answered" in again.text and "answered already" in again.text
    assert desk.store.get_case(case_id).fields["csat"] == 5


def test_a_survey_post_without_the_csrf_token_is_refused(web: Client, desk: Casework) -> None:
    case_id, token = resolved(desk)
    web.get(f"/survey/{token}")
    refused = web.post(f"/survey/{token}", data={"score": "1"})
    assert refused.status_code == 403
    assert desk.store.get_case(case_id).state == "resolved"


def test_a_missing_score_asks_again_and_keeps_the_comment(web: Client, desk: Casework) -> None:
    case_id, token = resolved(desk)
    web.get(f"/survey/{token}")
    again = web.post(f"/survey/{token}", data={**csrf(web), "comment": "Kept words"})
    assert again.status_code == 422
    assert "choose a score" in again.text and "Kept words" in again.text
    assert desk.store.get_case(case_id).state == "resolved"


def test_a_score_off_the_scale_asks_again(web: Client, desk: Casework) -> None:
    case_id, token = resolved(desk)
    web.get(f"/survey/{token}")
    again = web.post(f"/survey/{token}", data={**csrf(web), "score": "9"})
    assert again.status_code == 422 and "is 9; choose from 1 to 5" in again.text
    assert desk.store.get_case(case_id).state == "resolved"


def test_an_unsatisfied_answer_says_we_look_again(web: Client, desk: Casework) -> None:
    case_id, token = resolved(desk)
    web.get(f"/survey/{token}")
    answered = web.post(f"/survey/{token}", data={**csrf(web), "score": "1"})
    assert "we are looking into it again" in answered.text
    assert desk.store.get_case(case_id).state == "in_progress"


def test_forged_and_expired_links_are_refused_in_words(web: Client, desk: Casework,
                                                       database_url: str) -> None:
    case_id, token = resolved(desk)
    forged = web.get(f"/survey/{token[:-3]}xyz")
    assert forged.status_code == 404
    assert "We do not know this survey link" in forged.text and "not one of ours" in forged.text
    later = open_casework(Settings(home=ROOT, database_url=database_url,
                                   now=NOW + timedelta(days=15)))
    try:
        with Client(create_app(later)) as client:
            expired = client.get(f"/survey/{token}")
    finally:
        later.close()
    assert expired.status_code == 410
    assert "This survey link has expired" in expired.text and "expired on" in expired.text
    assert desk.store.get_case(case_id).state == "resolved"
    outcomes = [(r.outcome.value, r.client) for r in
                SqlSurveys(desk.store).public_requests("survey")]
    assert outcomes == [("forged", "testclient"), ("expired", "testclient")]


CONTACT = {"name": "Li Na", "email": "li.na@example.com", "summary": "Invoice charged twice",
           "description": "My March invoice was charged twice.", "category": "billing",
           "website": ""}
# what a browser sends for a file input left empty (and it makes the post multipart)
NO_FILE = {"files": ("", b"", "application/octet-stream")}


def test_the_contact_form_opens_a_complaint_without_signing_in(web: Client,
                                                               desk: Casework) -> None:
    form = web.get("/contact")
    assert form.status_code == 200 and "Tell us about a problem" in form.text
    assert 'class="trap" aria-hidden="true"' in form.text and "Sign out" not in form.text
    sent = web.post("/contact", data={**csrf(web), **CONTACT},
                    files={"files": ("photo.png", b"\x89PNG the photo", "image/png")})
    assert sent.status_code == 200, sent.text
    found = re.search(r"as case (\d+)", sent.text)
    assert found is not None, sent.text
    case = desk.store.get_case(int(found.group(1)))
    assert (case.fields["channel"], case.fields["summary"], case.fields["category"]) == (
        "web", "Invoice charged twice", "billing")
    [entry] = desk.conversation.entries(case.id)
    assert entry.body == "My March invoice was charged twice."
    assert [a.file_name for a in entry.attachments] == ["photo.png"]
    assert "li.na@example.com" not in sent.text  # the thank-you names the case, nothing else


def test_the_contact_form_refuses_a_post_without_the_csrf_token(web: Client,
                                                                desk: Casework) -> None:
    web.get("/contact")
    refused = web.post("/contact", data=CONTACT, files=NO_FILE)
    assert refused.status_code == 403
    assert SqlSurveys(desk.store).public_requests("form") == []


def test_a_bot_filling_the_hidden_field_is_thanked_and_opens_nothing(
        web: Client, desk: Casework) -> None:
    web.get("/contact")
    caught = web.post("/contact", data={**csrf(web), **CONTACT, "website": "http://x.example"},
                      files=NO_FILE)
    assert caught.status_code == 200 and "Thank you" in caught.text
    assert [c for c, *_ in desk.store.chains()] == []
    assert [r.outcome.value for r in SqlSurveys(desk.store).public_requests("form")] == [
        "honeypot"]


def test_a_wrong_field_shows_the_form_again_with_what_was_typed(web: Client) -> None:
    web.get("/contact")
    again = web.post("/contact", data={**csrf(web), **CONTACT, "email": "li.na"},
                     files=NO_FILE)
    assert again.status_code == 422
    assert "email" in again.text and "Invoice charged twice" in again.text


def test_too_many_forms_from_one_address_are_refused(web: Client, desk: Casework) -> None:
    web.get("/contact")
    for _ in range(desk.settings.form_per_hour):
        web.post("/contact", data={**csrf(web), **CONTACT, "website": "bot"},
                 files=NO_FILE)
    limited = web.post("/contact", data={**csrf(web), **CONTACT},
                       files=NO_FILE)
    assert limited.status_code == 429
    assert "Please try again later" in limited.text and "last hour" in limited.text
    assert [c for c, *_ in desk.store.chains()] == []
