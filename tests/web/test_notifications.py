"""Notifications in the pages and the API: the header's unread count, the list, marking read,
the email choices, and nobody reaching another's notifications."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from engine.cases.runtime import Actor
from engine.kernel.notifications import EMAIL_BY_DEFAULT, NotificationKind
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import NOW, Auth, Client, csrf

ANN = Actor("ann", "agent")
SAM = Actor("sam", "supervisor")


@pytest.fixture
def given(desk: Casework) -> list[int]:
    """Two cases sam gave to ann, and one to bob."""
    made = [desk.runtime.start("complaint", {"channel": "phone", "summary": summary}, ANN, T0,
                               customer="C1").id for summary in ("Late", "Broken", "Lost")]
    for case_id, to in zip(made, ("ann", "ann", "bob"), strict=True):
        desk.desk.assign(case_id, to, SAM, NOW)
    return made


def count_in_header(html: str) -> int:
    found = re.search(r'<a id="bell"[^>]*>Notifications(?: <span class="count"[^>]*>(\d+)'
                      r'</span>)?</a>', html)
    assert found is not None, "no notifications link in the header"
    return int(found.group(1) or 0)


def test_every_signed_in_page_counts_my_unread_notifications(
        client_as: Callable[[str], Client], given: list[int]) -> None:
    ann = client_as("ann")
    assert count_in_header(ann.get("/queues").text) == 2
    assert count_in_header(ann.get("/my-cases").text) == 2
    assert count_in_header(client_as("bob").get("/queues").text) == 1
    assert count_in_header(client_as("kim").get("/search").text) == 0
    badge = ann.get("/notifications/badge", headers={"HX-Request": "true"})
    assert count_in_header(badge.text) == 2
    assert "every 60s" in badge.text


def test_the_list_is_newest_first_links_to_cases_and_marks_read(
        client_as: Callable[[str], Client], given: list[int]) -> None:
    ann = client_as("ann")
    page = ann.get("/notifications")
    assert page.status_code == 200
    links = re.findall(r'<a href="/cases/(\d+)">', page.text)
    assert [int(x) for x in links] == [given[1], given[0]]  # newest first
    assert f"complaint case {given[1]} is now yours" in page.text
    assert f"/cases/{given[2]}" not in page.text  # bob's
    first = re.findall(r'action="/notifications/(\d+)/read"', page.text)
    marked = ann.post(f"/notifications/{first[-1]}/read", data=csrf(ann),
                      headers={"HX-Request": "true"})
    assert marked.status_code == 200
    assert marked.headers["HX-Trigger"] == "notifications-read"
    assert marked.text.lstrip().startswith('<div id="items">')
    assert len(re.findall(r'action="/notifications/\d+/read"', marked.text)) == 1
    assert count_in_header(ann.get("/queues").text) == 1
    unread = ann.get("/notifications?unread=1").text
    assert [int(x) for x in re.findall(r'<a href="/cases/(\d+)">', unread)] == [given[1]]
    done = ann.post("/notifications/read", data=csrf(ann), follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/notifications")
    assert count_in_header(ann.get("/notifications").text) == 0


def test_nobody_marks_anothers_notification_read(client_as: Callable[[str], Client],
                                                 desk: Casework, given: list[int]) -> None:
    [bobs] = desk.notifications.listing("bob")
    ann = client_as("ann")
    refused = ann.post(f"/notifications/{bobs.id}/read", data=csrf(ann))
    assert refused.status_code == 404
    assert desk.notifications.unread("bob") == 1


def test_the_email_choices_page_keeps_what_i_tick(client_as: Callable[[str], Client],
                                                  desk: Casework) -> None:
    ann = client_as("ann")
    page = ann.get("/me/notifications")
    assert page.status_code == 200
    assert "ann@example.com" in page.text
    assert 'name="assigned" checked' in page.text and 'name="mentioned">' in page.text
    saved = ann.post("/me/notifications", data={**csrf(ann), "mentioned": "on",
                                                "sla_breach": "on"}, follow_redirects=False)
    assert (saved.status_code, saved.headers["location"]) == (303, "/me/notifications?saved=1")
    assert desk.notifications.email_choices("ann") == {
        NotificationKind.ASSIGNED: False, NotificationKind.MENTIONED: True,
        NotificationKind.SLA_WARNING: False, NotificationKind.SLA_BREACH: True}
    assert desk.notifications.email_choices("bob") == EMAIL_BY_DEFAULT
    assert "Saved." in ann.get("/me/notifications?saved=1").text


def test_a_mention_in_the_conversation_box_notifies_the_colleague(
        client_as: Callable[[str], Client], desk: Casework) -> None:
    case_id = desk.runtime.start("complaint", {"channel": "phone", "summary": "Late"}, ANN, T0,
                                 customer="C1").id
    ann = client_as("ann")
    ann.get(f"/cases/{case_id}")
    posted = ann.post(f"/cases/{case_id}/entries", data={
        **csrf(ann), "kind": "note", "body": "@bob can you call the courier?"})
    assert posted.status_code < 400, posted.text
    assert count_in_header(client_as("bob").get("/queues").text) == 1
    [told] = desk.notifications.listing("bob")
    assert (told.kind, told.case_id, told.title) == (NotificationKind.MENTIONED, case_id,
                                                     f"ann mentioned you on case {case_id}")


def test_the_api_lists_counts_and_marks_only_the_tokens_users_notifications(
        api: Client, auth: Auth, desk: Casework, given: list[int]) -> None:
    ann, bob = auth("ann"), auth("bob")
    listed = api.get("/api/notifications", headers=ann).json()
    assert [(n["kind"], n["case_id"], n["read_at"]) for n in listed] == [
        ("assigned", given[1], None), ("assigned", given[0], None)]
    assert api.get("/api/notifications/unread", headers=ann).json() == {"unread": 2}
    [bobs] = api.get("/api/notifications", headers=bob).json()
    refused = api.post(f"/api/notifications/{bobs['id']}/read", headers=ann)
    assert refused.status_code == 404
    assert "ann has no notification" in refused.json()["error"]
    assert api.get("/api/notifications/unread", headers=bob).json() == {"unread": 1}
    marked = api.post(f"/api/notifications/{listed[0]['id']}/read", headers=ann)
    assert (marked.status_code, marked.json()) == (200, {"marked": 1})
    assert api.post(f"/api/notifications/{listed[0]['id']}/read", headers=ann).json() == {
        "marked": 0}
    assert [n["case_id"] for n in api.get("/api/notifications?unread=true",
                                          headers=ann).json()] == [given[0]]
    assert api.post("/api/notifications/read", headers=ann).json() == {"marked": 1}
    assert api.get("/api/notifications/unread", headers=ann).json() == {"unread": 0}
    assert api.get("/api/notifications").status_code == 401
