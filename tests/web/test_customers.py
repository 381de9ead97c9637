"""The customer pages: search with paging, and a customer's page with its tier, the rule row
that set it, figures, tier history, purchases, cases and plans."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from engine.demodata import CDNOW_SAMPLE
from engine.rules.loading import load_table_text
from engine.wiring import Casework
from tests.fixtures import T0, tier_table
from tests.web_fixtures import NOW, Client

# In the CDNOW sample, 01760 is strategic as of 30 June 1998 and key as of 30 September, with
# 47 purchase lines; its strategic plan hands over and a key plan and a retention case open.
MOVER = "01760"


def recomputed(desk: Casework) -> Casework:
    """The CDNOW sample's customers, tiered twice by the real recompute."""
    desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    desk.tiering.recompute(date(1998, 6, 30), NOW)
    desk.tiering.recompute(date(1998, 9, 30), NOW + timedelta(hours=1))
    return desk


def found_ids(text: str) -> list[str]:
    return re.findall(r'<td><a href="/customers/([^"]+)">', text)


def piece(text: str, pattern: str) -> str:
    """The unescaped text of the first match's group, whitespace squeezed."""
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_search_by_id_prefix_name_or_email_in_any_case(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("ACME-1", T0, name="Acme Widgets", email="orders@acme.example",
                       type="enterprise")
    desk.customers.add("B-22", T0, name="Bolt & Nut", email="buyer@bolts.example")
    desk.customers.add("XACME", T0, name="Other")
    ann = client_as("ann")
    assert found_ids(ann.get("/customers").text) == ["ACME-1", "B-22", "C1", "C7", "XACME"]
    assert found_ids(ann.get("/customers", params={"q": "acme"}).text) == ["ACME-1"]
    assert found_ids(ann.get("/customers", params={"q": "c"}).text) == ["ACME-1", "C1", "C7"]
    assert found_ids(ann.get("/customers", params={"q": "WIDGET"}).text) == ["ACME-1"]
    assert found_ids(ann.get("/customers", params={"q": "bolts.EXAMPLE"}).text) == ["B-22"]
    assert found_ids(ann.get("/customers", params={"q": "%"}).text) == []  # taken literally
    nothing = ann.get("/customers", params={"q": "zzz"})
    assert found_ids(nothing.text) == [] and "No customer matches." in nothing.text


def test_live_search_swaps_only_the_results(desk: Casework,
                                            client_as: Callable[[str], Client]) -> None:
    results = client_as("sam").get("/customers", params={"q": "C7"},
                                   headers={"HX-Request": "true"})
    assert results.status_code == 200
    assert results.text.lstrip().startswith('<div id="results"')
    assert "<html" not in results.text and found_ids(results.text) == ["C7"]


def test_the_tier_filter_and_a_bad_tier(desk: Casework,
                                        client_as: Callable[[str], Client]) -> None:
    recomputed(desk)
    kim = client_as("kim")
    strategic = found_ids(kim.get("/customers", params={"tier": "strategic"}).text)
    tiers = {desk.customers.customer(c).record.tier for c in strategic}
    assert strategic and tiers == {"strategic"}
    assert MOVER not in strategic  # key since the second recompute
    assert MOVER in found_ids(kim.get("/customers", params={"tier": "key", "q": "0176"}).text)
    bad = kim.get("/customers", params={"tier": "gold"})
    assert bad.status_code == 400
    assert "tier &#39;gold&#39; is not one of strategic, key, ordinary" in bad.text


def test_the_tier_filter_offers_the_tiers_of_the_table_in_force(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    text = tier_table("[strategic, key, growth, ordinary]")
    desk.registry.publish_table(load_table_text(text, "rules/customer_tier.yaml"), text, T0)
    desk.customers.add("G1", T0, tier="growth")
    kim = client_as("kim")
    page = kim.get("/customers", params={"tier": "growth"}).text
    assert found_ids(page) == ["G1"]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", page) == [
        "any", "strategic", "key", "growth", "ordinary"]
    bad = kim.get("/customers", params={"tier": "gold"})
    assert "tier &#39;gold&#39; is not one of strategic, key, growth, ordinary" in bad.text


def test_search_pages_by_id_to_the_end(desk: Casework,
                                       client_as: Callable[[str], Client]) -> None:
    for number in range(120):
        desk.customers.add(f"P{number:03d}", T0, name=f"Customer {number}")
    ann = client_as("ann")
    seen: list[str] = []
    url: str | None = "/customers?q=p"
    pages = 0
    while url and pages < 5:
        page = ann.get(html.unescape(url))
        seen += found_ids(page.text)
        more = re.search(r'<a class="more" href="([^"]+)"', page.text)
        url, pages = (more.group(1) if more else None), pages + 1
    assert pages == 3 and seen == [f"P{n:03d}" for n in range(120)]
    past = ann.get("/customers", params={"q": "p", "after": "P999"})
    assert found_ids(past.text) == [] and "this was the last page" in past.text


def test_an_unknown_customer_is_a_404_page(client_as: Callable[[str], Client]) -> None:
    missing = client_as("ann").get("/customers/NOBODY")
    assert missing.status_code == 404
    assert piece(missing.text, r"<h1>(.*?)</h1>") == "Not found"
    assert "customer &#39;NOBODY&#39; does not exist" in missing.text


def test_the_page_shows_the_rule_row_that_set_the_tier_and_its_history(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    recomputed(desk)
    page = client_as("kim").get(f"/customers/{MOVER}")
    assert page.status_code == 200
    text = page.text
    assert piece(text, r'<dd id="tier-rule">(.*?)</dd>') == \
        "customer_tier v1, row rfm-champion (recompute as of 1998-09-30)"
    assert piece(text, r'<dd id="tier-change">(.*?)</dd>') == (
        "2026-03-02 11:00 UTC: strategic → key by customer_tier v1, row rfm-champion "
        "(figures as of 1998-09-30)")
    history = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
               for row in re.findall(r'<tr class="tier-change">(.*?)</tr>', text, re.S)]
    assert history == [
        "2026-03-02 11:00 UTC strategic → key customer_tier v1, row rfm-champion 1998-09-30",
        "2026-03-02 10:00 UTC none → strategic customer_tier v1, row high-value-loyal "
        "1998-06-30"]
    figures = desk.customers.customer(MOVER).figures
    assert figures is not None
    assert piece(text, r'<tr id="figure-frequency">.*?<td class="num">(.*?)</td>') == \
        str(figures.frequency)
    assert piece(text, r'<tr id="figure-recency_days">.*?<td class="num">(.*?)</td>') == \
        f"{figures.recency_days} days"
    assert piece(text, r'<tr id="figure-p_alive">(.*?)</tr>').startswith(
        f"Still buying (P(alive)) {figures.p_alive:.0%} The chance that the customer still")
    assert piece(text, r'<tr id="figure-clv">.*?<td class="num">(.*?)</td>') == \
        f"{figures.clv:,.2f}"
    assert piece(text, r'<tr id="figure-churn_risk">.*?<td class="num">(.*?)</td>') == "high"


def test_plans_and_open_cases_link_to_their_cases(desk: Casework,
                                                  client_as: Callable[[str], Client]) -> None:
    recomputed(desk)
    related = {c.workflow: c.id for c in desk.search.cases(MOVER)}
    assert set(related) == {"strategic_plan", "key_plan", "nps_survey", "retention"}
    text = client_as("ann").get(f"/customers/{MOVER}").text
    plans = re.search(r'<h2 id="plans">(.*?)<h2 id="open-cases">', text, re.S)
    cases = re.search(r'<h2 id="open-cases">(.*?)</aside>', text, re.S)
    assert plans is not None and cases is not None
    assert re.findall(r'href="/cases/(\d+)"', plans.group(1)) == \
        [str(related["key_plan"]), str(related["strategic_plan"])]
    assert sorted(re.findall(r'href="/cases/(\d+)"', cases.group(1))) == sorted(
        [str(related["retention"]), str(related["nps_survey"])])


def test_purchases_newest_first_in_pages(desk: Casework,
                                         client_as: Callable[[str], Client]) -> None:
    recomputed(desk)
    stored = desk.search.purchases(MOVER, 100)
    assert len(stored) == 47
    expected = [p.day.isoformat() for p in stored]
    assert expected == sorted(expected, reverse=True)
    ann = client_as("ann")
    first = ann.get(f"/customers/{MOVER}").text
    days = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", first)
    assert days == expected[:20]
    seen = list(days)
    more = re.search(r'<a class="more" href="([^"#]+)', first)
    while more is not None and len(seen) < 60:
        block = ann.get(html.unescape(more.group(1)), headers={"HX-Request": "true"}).text
        assert block.lstrip().startswith('<div id="purchases">') and "<html" not in block
        seen += re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", block)
        more = re.search(r'<a class="more" href="([^"#]+)', block)
    assert seen == expected
    bad = ann.get(f"/customers/{MOVER}", params={"purchases_after": "last week"})
    assert bad.status_code == 400 and "is not one this site made" in bad.text


def test_a_customer_without_figures_says_where_they_come_from(
        client_as: Callable[[str], Client]) -> None:
    text = client_as("ada").get("/customers/C1").text
    assert "No figures yet" in text and "No tier yet" in text
    assert "No purchases." in text and "The tier has never changed." in text


def test_customer_names_with_html_render_as_text(desk: Casework,
                                                 client_as: Callable[[str], Client]) -> None:
    desk.customers.add("EVIL", T0, name="<script>alert(1)</script>",
                       email='"><img src=x onerror=alert(2)>@example.com')
    ann = client_as("ann")
    for text in (ann.get("/customers", params={"q": "evil"}).text,
                 ann.get("/customers/EVIL").text):
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<img src=x" not in text


@pytest.mark.parametrize("name", ["ann", "sam", "kim", "max", "ada", "root"])
def test_every_role_may_read_customers(desk: Casework, client_as: Callable[[str], Client],
                                       name: str) -> None:
    client = client_as(name)
    assert client.get("/customers").status_code == 200
    page = client.get("/customers/C7")
    assert page.status_code == 200
    audit_link = 'href="/audit?customer=C7"' in page.text
    assert audit_link == (name in ("max", "ada", "root"))


def test_a_stranger_is_sent_to_sign_in(web: Client) -> None:
    response = web.get("/customers/C1", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=/customers/C1"
