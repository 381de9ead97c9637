"""The dashboards: the numbers under each chart, worked out by hand from the cases, clocks,
customers and measured cycles the tests make; the SVG; the controls; who may look.

The pages' clock is Monday 2 March 2026, 10:00 UTC (ISO week 2026-W10). The complaints are an
ordinary customer's high-severity billing or technical ones: 8 business hours to the first
response and 40 to the resolution, on the office calendar (Europe/Berlin, Monday to Friday
08:00-18:00, UTC+1 in February), so a complaint triaged on a Monday at 08:00 UTC (09:00 Berlin)
has 9 business hours that day and 10 on each later working day."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.cases.runtime import Actor
from engine.rules.loading import load_table_text
from engine.wiring import Casework
from tests.fixtures import T0, tier_table
from tests.web_fixtures import Client

ANN = Actor("ann", "agent")
KIM = Actor("kim", "account_manager")
SVG = "{http://www.w3.org/2000/svg}"
BILLING = {"category": "billing", "severity": "high"}
TECHNICAL = {"category": "technical", "severity": "high"}
RESOLVED = {"resolution": "Refunded the charge", "root_cause": "Double booking",
            "remedy": "refund"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class _Table(HTMLParser):
    """The rows of one <table id=...>: the text of each cell, header row included."""

    def __init__(self, ident: str) -> None:
        super().__init__()
        self.ident, self.inside, self.rows = ident, False, []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.ident) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(page: str, key: str) -> list[tuple[str, ...]]:
    """The data table under chart `key`, without its header row."""
    parser = _Table(f"data-{key}")
    parser.feed(page)
    return [tuple(row) for row in parser.rows[1:]]


def svgs(page: str) -> list[ET.Element]:
    """Every chart's SVG, parsed (a malformed one fails here)."""
    return [ET.fromstring(found) for found in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def complaint(desk: Casework, opened: str, route: dict[str, str] | None = None,
              customer: str = "C1") -> int:
    """A complaint opened at `opened` (UTC), triaged then if `route` is given."""
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "Charged twice"},
                              ANN, at(opened), customer=customer)
    if route is not None:
        desk.runtime.fire(case.id, "triage", ANN, at(opened), route)
    return case.id


def fire(desk: Casework, case_id: int, trigger: str, when: str,
         fields: dict[str, object] | None = None, actor: Actor = ANN) -> None:
    desk.runtime.fire(case_id, trigger, actor, at(when), fields or {})


def sla_cases(desk: Casework) -> None:
    """Complaints whose SLA clocks stop met, breached, late, without a target, or too long
    ago, and open ones of every age."""
    # B, technical support: first response met on 23 Feb (W09); the resolution target (40 h,
    # due Friday 27 Feb 08:00 UTC) is breached by the worker, and it is resolved on 2 Mar (W10)
    b = complaint(desk, "2026-02-23T08:00:00", TECHNICAL)
    fire(desk, b, "respond", "2026-02-23T09:00:00", {"first_response": "Looking into it"})
    while desk.worker.fire_due_timers(at("2026-02-27T12:00:00")):
        pass
    [clock] = [c for c in desk.timers.clocks(b) if c.name == "resolution"]
    assert clock.breached_at == at("2026-02-27T12:00:00")
    fire(desk, b, "resolve", "2026-03-02T08:00:00", RESOLVED)
    # A, billing: both clocks met in W08 (2 h and 10 h); resolved, so still in billing
    a = complaint(desk, "2026-02-16T08:00:00", BILLING)
    fire(desk, a, "respond", "2026-02-16T10:00:00", {"first_response": "Sorry, checking"})
    fire(desk, a, "resolve", "2026-02-17T08:00:00", RESOLVED)
    # C, closed: first response after 10 business hours (breached), resolved after 11 (met),
    # both in W07; closed, so in no queue
    c = complaint(desk, "2026-02-09T08:00:00", BILLING)
    fire(desk, c, "respond", "2026-02-10T08:00:00", {"first_response": "Sorry, checking"})
    fire(desk, c, "resolve", "2026-02-10T09:00:00", RESOLVED)
    fire(desk, c, "close", "2026-02-11T09:00:00", {"csat": 4})
    # D: a duplicate closed an hour after intake, before triage: its clocks took their
    # targets at intake (complaint v5 on), so both are met, in W09, in no queue
    d = complaint(desk, "2026-02-25T09:00:00")
    fire(desk, d, "mark_duplicate", "2026-02-25T10:00:00", {"duplicate_of": a})
    # E, billing: first response met on 3 Nov 2025 (W45), older than 12 weeks; still open
    e = complaint(desk, "2025-11-03T08:00:00", BILLING)
    fire(desk, e, "respond", "2025-11-03T09:00:00", {"first_response": "On it"})
    # open in intake for 1 hour, exactly 2 days and 4 days
    for opened in ("2026-03-02T09:00:00", "2026-02-28T10:00:00", "2026-02-26T10:00:00"):
        complaint(desk, opened)


GOALS = {"S1": ("0.1", "4", "0.5", "0.6"), "S2": ("0.1", "4.5", "0.5", "0.2"),
         "K1": ("0.05", "4", "1", "0.5")}


def cycle(desk: Casework, customer: str, year: int, goals: tuple[str, ...],
          evaluate: bool = True) -> int:
    """A customer's annual cycle of `year` taken to its evaluation (measured) after the year."""
    case = desk.runtime.start("annual_cycle", {"year": year}, KIM, at(f"{year}-01-13T09:00:00"),
                              customer=customer)
    fire(desk, case.id, "set_goals", f"{year}-01-14T09:00:00", dict(zip(
        ("goal_sales_growth", "goal_satisfaction", "goal_retention",
         "goal_repeat_purchase_rate"), goals, strict=True)), actor=KIM)
    fire(desk, case.id, "analyze", f"{year}-01-15T09:00:00", {"needs": "Fewer stockouts"}, KIM)
    fire(desk, case.id, "strategize", f"{year}-01-16T09:00:00", {"strategy": "Local stock"},
         KIM)
    if evaluate:
        fire(desk, case.id, "evaluate", f"{year + 1}-01-12T09:00:00", actor=KIM)
    return case.id


def customers_and_cycles(desk: Casework, tmp_path: Path) -> None:
    """Seven customers (2 strategic, 2 key, 1 ordinary, C1 and C7 untiered); the 2025 cycles
    of S1, S2 and K1 measured, K2's not yet; S1's 2024 cycle measured and closed.

    2025 as measured: S1 sold 120 against 100 (growth 0.2), in 2 quarters (0.5), on 2 days
    (repeat 0.5), rated 4; S2 sold 100 against 200 (-0.5), 1 quarter (0.25), 1 day (0.0), no
    rating; K1 sold in every quarter (1.0) on 4 days (0.75), nothing in 2024 (no growth), no
    rating."""
    for customer, tier in (("S1", "strategic"), ("S2", "strategic"), ("K1", "key"),
                           ("K2", "key"), ("O1", "ordinary")):
        desk.customers.add(customer, T0, type="enterprise", tier=tier)
    purchases = tmp_path / "purchases.csv"
    purchases.write_text("customer,date,amount,quantity\n"
                         "S1,2024-03-01,100.00,1\nS1,2025-02-01,60.00,1\nS1,2025-05-01,60.00,1\n"
                         "S2,2024-01-10,200.00,1\nS2,2025-01-10,100.00,1\n"
                         "K1,2025-01-05,50.00,1\nK1,2025-04-05,50.00,1\n"
                         "K1,2025-07-05,50.00,1\nK1,2025-10-05,50.00,1\n")
    desk.customers.import_file(purchases, "csv", T0)
    rated = complaint(desk, "2025-06-02T08:00:00", BILLING, customer="S1")
    fire(desk, rated, "respond", "2025-06-02T09:00:00", {"first_response": "On it"})
    fire(desk, rated, "resolve", "2025-06-02T10:00:00", RESOLVED)
    fire(desk, rated, "close", "2025-06-03T09:00:00", {"csat": 4})
    earlier = cycle(desk, "S1", 2024, ("0.1", "4", "0.5", "0.5"))
    fire(desk, earlier, "close", "2025-01-13T09:00:00", {"evaluation": "Slow year"}, KIM)
    for customer, goals in GOALS.items():
        cycle(desk, customer, 2025, goals)
    cycle(desk, "K2", 2025, ("0.1", "4", "0.5", "0.5"), evaluate=False)


@pytest.fixture
def filled(desk: Casework, tmp_path: Path) -> Casework:
    sla_cases(desk)
    customers_and_cycles(desk, tmp_path)
    return desk


SLA_12_WEEKS = [
    ("2026-W07 (from 2026-02-09)", "complaint (closed)", "1", "1", "50.0%"),
    ("2026-W08 (from 2026-02-16)", "billing", "2", "0", "100.0%"),
    ("2026-W09 (from 2026-02-23)", "complaint (closed)", "2", "0", "100.0%"),
    ("2026-W09 (from 2026-02-23)", "technical_support", "1", "0", "100.0%"),
    ("2026-W10 (from 2026-03-02)", "technical_support", "0", "1", "0.0%"),
]


def test_the_dashboards_show_each_chart_with_the_numbers_it_was_drawn_from(
        filled: Casework, client_as: Callable[[str], Client]) -> None:
    response = client_as("max").get("/dashboards")
    assert response.status_code == 200
    page = response.text
    assert table(page, "tiers") == [
        ("strategic", "2", "28.6%"), ("key", "2", "28.6%"), ("ordinary", "1", "14.3%"),
        ("none yet", "2", "28.6%"), ("all", "7", "100.0%")]
    assert table(page, "sla") == SLA_12_WEEKS
    assert table(page, "ages") == [
        # queue, < 1 day, 1-3 days, 3-7 days, 1-4 weeks, > 4 weeks, open
        ("account_management", "0", "0", "0", "0", "4", "4"),  # the 2025 cycles
        ("billing", "0", "0", "0", "1", "1", "2"),
        ("intake", "1", "1", "1", "0", "0", "3"),
        ("technical_support", "0", "0", "0", "1", "0", "1"),
        ("all", "1", "1", "1", "2", "5", "10")]
    # kpi, with a goal, mean goal, mean actual, met, share met, not measurable
    assert table(page, "kpis") == [
        ("Sales growth", "3", "0.1000", "-0.1500", "1 of 2", "50.0%", "1"),
        ("Satisfaction (CSAT 1-5)", "3", "4.0000", "4.0000", "1 of 1", "100.0%", "2"),
        ("Retention", "3", "0.6667", "0.5833", "2 of 3", "66.7%", "0"),
        ("Repeat purchases", "3", "0.4333", "0.4167", "1 of 3", "33.3%", "0"),
        ("NPS (-100 to 100)", "0", "", "", "", "", "0")]  # nobody set an NPS goal
    assert "The 3 annual cycles of 2025 that have been measured" in page
    assert re.findall(r'<option selected>(\d+)</option>', page) == ["12", "2025"]
    charts = svgs(page)
    assert len(charts) == 4
    for chart in charts:
        assert chart.tag == f"{SVG}svg"
        assert chart.get("role") == "img"
        assert list(chart.iter(f"{SVG}script")) == []  # no chart JS
        ident = chart.get("id")
        assert chart.get("aria-labelledby") == f"{ident}-title {ident}-desc"
    titles = [c.findtext(f"{SVG}title") for c in charts]
    assert titles == ["Customers per tier", "Share of SLA clocks met, per week and queue",
                      "Open cases per queue by age",
                      "Annual KPIs of 2025: mean goal, mean actual, share met"]
    descs = [c.findtext(f"{SVG}desc") for c in charts]
    assert descs[0] == "strategic: 2, key: 2, ordinary: 1, none yet: 2"
    assert descs[1] == ("billing: week of 16 Feb 100.0%; complaint (closed): week of 9 Feb "
                        "50.0%, week of 23 Feb 100.0%; technical_support: week of 23 Feb "
                        "100.0%, week of 2 Mar 0.0%")


def test_the_sla_chart_alone_over_more_weeks_is_one_section_for_htmx(
        filled: Casework, client_as: Callable[[str], Client]) -> None:
    sam = client_as("sam")
    block = sam.get("/dashboards/sla?weeks=26", headers={"HX-Request": "true"})
    assert block.status_code == 200
    assert block.text.lstrip().startswith('<section class="chart" id="chart-sla"')
    assert "<html" not in block.text and "chart-tiers" not in block.text
    # 26 weeks reach back to Monday 8 September 2025: E's first response counts now
    assert table(block.text, "sla") == [
        ("2025-W45 (from 2025-11-03)", "billing", "1", "0", "100.0%"), *SLA_12_WEEKS]
    assert len(svgs(block.text)) == 1
    whole = sam.get("/dashboards/sla?weeks=3")  # without HTMX: a page with that chart only
    assert "<html" in whole.text and 'id="chart-kpis"' not in whole.text
    assert table(whole.text, "sla") == SLA_12_WEEKS[1:]  # W08 to W10


def test_the_kpis_of_a_chosen_year(filled: Casework,
                                   client_as: Callable[[str], Client]) -> None:
    kim = client_as("kim")
    page = kim.get("/dashboards/kpis?year=2024").text
    assert table(page, "kpis") == [
        ("Sales growth", "1", "", "", "", "", "1"),
        ("Satisfaction (CSAT 1-5)", "1", "", "", "", "", "1"),
        ("Retention", "1", "0.5000", "0.2500", "0 of 1", "0.0%", "0"),
        ("Repeat purchases", "1", "0.5000", "0.0000", "0 of 1", "0.0%", "0"),
        ("NPS (-100 to 100)", "0", "", "", "", "", "0")]
    assert re.findall(r"<option( selected)?>(\d{4})</option>", page) == [
        ("", "2025"), (" selected", "2024")]
    nothing = kim.get("/dashboards/kpis?year=2019").text
    assert "No annual cycle has been measured for 2019." in nothing
    assert "The 0 annual cycles" not in nothing
    assert "Once annual cycles are measured, this chart shows per KPI" in nothing
    assert table(nothing, "kpis") == []
    assert len(svgs(nothing)) == 1


def test_an_empty_database_draws_empty_charts_that_say_so(
        client_as: Callable[[str], Client]) -> None:
    page = client_as("ada").get("/dashboards").text
    assert table(page, "tiers")[-2:] == [("none yet", "2", "100.0%"), ("all", "2", "100.0%")]
    assert "No SLA clock stopped in the last 12 weeks." in page
    assert "There are no open cases." in page
    assert "No annual cycle has been measured yet." in page
    # nothing measured: no count of nothing, no year of None
    assert "The 0 annual cycles" not in page and "None" not in page
    assert "Once annual cycles are measured, this chart shows per KPI" in page
    assert len(svgs(page)) == 4


def test_a_tier_that_looks_like_markup_is_shown_as_text(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    desk.customers.add("X1", T0, tier="<script>alert(1)</script>")
    page = client_as("max").get("/dashboards/tiers").text
    assert "<script>alert(1)</script>" not in page
    assert table(page, "tiers")[4] == ("<script>alert(1)</script>", "1", "33.3%")
    [chart] = svgs(page)
    assert "<script>alert(1)</script>" in [t.text for t in chart.iter(f"{SVG}text")]


def test_the_tier_chart_lists_the_tiers_of_the_table_in_force(
        desk: Casework, client_as: Callable[[str], Client]) -> None:
    text = tier_table("[strategic, key, growth, ordinary]")
    desk.registry.publish_table(load_table_text(text, "rules/customer_tier.yaml"), text, T0)
    desk.customers.add("G1", T0, tier="growth")
    rows = table(client_as("max").get("/dashboards/tiers").text, "tiers")
    assert [row[0] for row in rows] == ["strategic", "key", "growth", "ordinary", "none yet",
                                        "all"]
    assert rows[2] == ("growth", "1", "33.3%")


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/dashboards?weeks=abc", 400, "weeks 'abc' is not a whole number of weeks from 1 to 104"),
    ("/dashboards/sla?weeks=0", 400, "weeks '0' is not a whole number of weeks from 1 to 104"),
    ("/dashboards/kpis?year=20x5", 400, "year '20x5' is not a year from 1900 to 2999"),
    ("/dashboards/pie", 404, "there is no chart 'pie'; the dashboards have tiers, sla, ages, "
                             "kpis"),
])
def test_bad_choices_are_refused_with_a_clear_message(
        client_as: Callable[[str], Client], path: str, status: int, message: str) -> None:
    response = client_as("max").get(path)
    assert response.status_code == status
    assert message in response.text.replace("&#39;", "'")


def test_who_may_look_at_the_dashboards(client_as: Callable[[str], Client]) -> None:
    for name, allowed in (("ann", False), ("sam", True), ("kim", True), ("max", True),
                          ("ada", True), ("root", True)):
        client = client_as(name)
        for path in ("/dashboards", "/dashboards/tiers"):
            assert client.get(path).status_code == (200 if allowed else 403), (name, path)
        menu = client.get("/queues").text
        assert ('href="/dashboards"' in menu) == allowed, name
