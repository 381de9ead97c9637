"""The queue page's lines: the SLA badge each case shows, and the rows as queue.html prints them
(autoescape is off for the rows: every value from the case must still come out escaped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jinja2_fragments import render_block

from engine.cases.queues import QueueRow
from web.queue_lines import SlaBadge, queue_lines, sla_badge
from web.rendering import template_config, when

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)


def row(**changes: object) -> QueueRow:
    values: dict[str, object] = {
        "id": 42, "workflow": "complaint", "state": "in_progress", "assignee": "ann",
        "customer": "C1", "tier": "key", "summary": "Parcel arrived damaged",
        "severity": "high", "priority": None, "created_at": NOW - timedelta(days=1),
        "updated_at": NOW, "lock_version": 3, "due_at": NOW + timedelta(hours=2), "sla": "running"}
    return QueueRow(**{**values, **changes})  # type: ignore[arg-type]


def test_a_badge_without_a_due_time_is_grey_and_counts_nothing_down() -> None:
    assert sla_badge("none", NOW, NOW) == SlaBadge("grey", "no SLA")
    assert sla_badge("paused", NOW + timedelta(hours=1), NOW) == SlaBadge("grey", "paused")
    assert sla_badge("running", None, NOW) == SlaBadge("grey", "no target yet")


def test_a_badge_counts_down_to_the_due_time_in_its_colour() -> None:
    due = datetime(2026, 3, 4, 13, 20, 5, 250000, tzinfo=UTC)
    title = f"due {when(due)}"
    assert sla_badge("running", due, NOW) == SlaBadge("green", "2h 20m left", due.isoformat(),
                                                     title)
    assert sla_badge("warning", due, NOW) == SlaBadge("amber", "2h 20m left", due.isoformat(),
                                                     title)
    assert title == "due 2026-03-04 13:20 UTC"


def test_a_badge_is_red_once_due_even_before_the_worker_marks_the_breach() -> None:
    due = NOW - timedelta(days=1, hours=3)
    late = SlaBadge("red", "1d 3h late", due.isoformat(), f"due {when(due)}")
    assert sla_badge("breached", due, NOW) == late
    assert sla_badge("running", due, NOW) == late
    assert sla_badge("warning", NOW, NOW).tone == "red"


def test_a_badge_due_time_given_in_another_zone_is_shown_in_utc() -> None:
    due = datetime(2026, 3, 4, 20, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    badge = sla_badge("running", due, NOW)
    assert (badge.due, badge.title) == ("2026-03-04T14:30:00+00:00", "due 2026-03-04 14:30 UTC")


def test_a_line_holds_what_its_row_prints() -> None:
    [line] = queue_lines([row(summary=None, severity=None, tier=None, customer="C 1/é")], NOW)
    assert (line.id, line.pick, line.summary, line.severity, line.tier) == \
        (42, "42@3", "complaint", "", "")
    assert line.customer_path == "C%201/%C3%A9"  # as Jinja's urlencode quotes it
    assert (line.tone, line.badge) == ("green", "2h 0m left")
    assert queue_lines([row(customer=None)], NOW)[0].customer_path == ""


def test_the_rows_escape_every_value_that_comes_from_the_case() -> None:
    hostile = row(summary="<b>s</b>", state="<i>st</i>", severity="<sev>", customer='C"<1>',
                  tier="<t&t>", assignee="<a href=x>")
    rows = render_block(template_config().to_engine().engine, "queue.html", "rows",
                        queue="<q>", lines=queue_lines([hostile], NOW), chosen={}, notes=[],
                        people=[], may_assign=True, may_claim=True, first=True,
                        next_link=None, csrf_input="")
    for text in ("<b>", "<i>", "<sev>", '"<1>', "<t&t>", "<a href=x>", "<q>"):
        assert text not in rows
    for text in ("&lt;b&gt;s&lt;/b&gt;", "&lt;i&gt;st&lt;/i&gt;", "&lt;sev&gt;",
                 "C&#34;&lt;1&gt;", "&lt;t&amp;t&gt;", "&lt;a href=x&gt;", "&lt;q&gt;"):
        assert text in rows
    assert 'href="/customers/C%22%3C1%3E"' in rows
    assert '<input type="checkbox" name="case" value="42@3" aria-label="pick case 42">' in rows
    assert '<span class="badge green" data-due="2026-03-04T13:00:00+00:00" ' \
        'title="due 2026-03-04 13:00 UTC">2h 0m left</span>' in rows
