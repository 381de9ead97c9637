"""My cases, the search page, saved views (each user's own) and the queue's live refresh."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.cases.runtime import Actor
from engine.wiring import Casework
from tests.fixtures import T0
from tests.web_fixtures import NOW, Client, csrf

ANN = Actor("ann", "agent")


@pytest.fixture
def cases(desk: Casework) -> list[int]:
    made = [desk.runtime.start("complaint", {"channel": "phone", "summary": summary}, ANN, T0,
                               customer=customer).id
            for customer, summary in (("C1", "客户投诉 发票错误"), ("C7", "Parcel arrived damaged"),
                                      ("C1", "Refund not received"))]
    desk.runtime.fire(made[1], "triage", ANN, NOW, {"category": "billing", "severity": "high"})
    return made


def test_my_cases_lists_my_open_cases_across_queues(client_as: Callable[[str], Client],
                                                    cases: list[int]) -> None:
    mine = client_as("ann").get("/my-cases")
    assert mine.status_code == 200
    assert f'href="/cases/{cases[1]}"' in mine.text and 'href="/queues/billing"' in mine.text
    assert f'href="/cases/{cases[0]}"' not in mine.text  # unassigned
    assert "No open cases are assigned to you" in client_as("bob").get("/my-cases").text
    fragment = client_as("ann").get("/my-cases", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<table class="grid" id="rows"')
    assert "every 30s" in fragment.text


def test_the_search_page_finds_chinese_numbers_and_customers(
        client_as: Callable[[str], Client], cases: list[int]) -> None:
    ann = client_as("ann")
    for query, wanted in (("投诉", cases[0]), ("发票错误", cases[0]), ("damaged", cases[1]),
                          (f"#{cases[2]}", cases[2])):
        page = ann.get("/search", params={"q": query})
        assert page.status_code == 200 and f'href="/cases/{wanted}"' in page.text, query
    assert "newest 20,000 cases" in ann.get("/search", params={"q": "投诉"}).text
    fragment = ann.get("/search", params={"q": "C1"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert f'href="/cases/{cases[0]}"' in fragment.text
    assert f'href="/cases/{cases[2]}"' in fragment.text


@pytest.mark.parametrize("query", ['"', "NEAR(", "*", "%00", "x" * 10_000, "'; --", "\\"])
def test_a_hostile_search_is_a_page_not_an_error(client_as: Callable[[str], Client],
                                                 cases: list[int], query: str) -> None:
    page = client_as("ada").get("/search", params={"q": query})
    assert page.status_code == 200, page.text


def test_saved_views_belong_to_their_user(client_as: Callable[[str], Client],
                                          desk: Casework) -> None:
    ann, bob = client_as("ann"), client_as("bob")
    saved = ann.post("/views", follow_redirects=False, data={
        **csrf(ann), "name": "Breached billing",
        "link": "/queues/billing?sla=breached&severity=high&after=x&junk=1"})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/queues/billing?sla=breached&severity=high"
    ann.post("/views", data={**csrf(ann), "name": "投诉", "link": "/search?q=投诉"})
    menu = ann.get("/views/menu").text
    assert "Breached billing" in menu and "/search?q=%E6%8A%95%E8%AF%89" in menu
    assert "Breached billing" not in bob.get("/views/menu").text
    assert "Breached billing" not in bob.get("/views").text
    view = desk.saved_views.views("ann")[0]
    assert bob.post(f"/views/{view.id}/delete", data=csrf(bob)).status_code == 404
    assert [v.name for v in desk.saved_views.views("ann")] == ["Breached billing", "投诉"]
    gone = ann.post(f"/views/{view.id}/delete", data=csrf(ann), follow_redirects=False)
    assert gone.status_code == 303
    assert [v.name for v in desk.saved_views.views("ann")] == ["投诉"]


@pytest.mark.parametrize(("name", "link", "says"), [
    ("", "/search?q=x", "name"), ("x" * 101, "/search?q=x", "the most is 100"),
    ("Elsewhere", "//evil.example", "not a page a view can keep"),
    ("Admin", "/rules", "not a page a view can keep")])
def test_a_view_that_cannot_be_kept_says_why(client_as: Callable[[str], Client], name: str,
                                             link: str, says: str) -> None:
    ann = client_as("ann")
    refused = ann.post("/views", data={**csrf(ann), "name": name, "link": link})
    assert refused.status_code == 422 and says in refused.text


def test_the_queue_rows_refresh_themselves_with_their_counts(
        client_as: Callable[[str], Client], cases: list[int]) -> None:
    rows = client_as("ann").get("/queues/intake", params={"severity": "medium"},
                                headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert 'hx-get="/queues/intake?severity=medium"' in rows.text
    # (the condition is casework.js's: hx-trigger's [filters] are eval, which the CSP refuses)
    assert 'hx-trigger="every 20s" data-only-when="visible unticked"' in rows.text
    assert "2 open · 2 unassigned" in rows.text
    counts = client_as("ann").get("/queues").text
    assert 'hx-trigger="every 20s" data-only-when="visible"' in counts


def test_every_page_offers_the_search_and_the_shortcuts(
        client_as: Callable[[str], Client]) -> None:
    page = client_as("ann").get("/queues").text
    assert 'action="/search"' in page and 'id="shortcuts"' in page
    assert 'hx-get="/views/menu"' in page
