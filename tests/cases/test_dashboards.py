"""The dashboards' read model (engine/cases/dashboards.py): days folded into ISO weeks, the
weeks a chart shows, and the shares its rows work out. The aggregates themselves are checked
through the pages in tests/web/test_dashboards.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.cases.dashboards import KpiFigures, SlaDay, SlaWeek, fold_weeks, week_start, weeks_until


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_days_fold_into_iso_weeks_per_queue() -> None:
    assert week_start(date(2026, 3, 8)) == date(2026, 3, 2)  # a Sunday: the Monday before
    assert week_start(date(2026, 3, 2)) == date(2026, 3, 2)
    days = [SlaDay("billing", date(2026, 3, 1), 2, 1), SlaDay("billing", date(2026, 2, 23), 1, 0),
            SlaDay("billing", date(2026, 3, 2), 4, 1), SlaDay("intake", date(2026, 2, 24), 1, 1)]
    assert fold_weeks(days) == [SlaWeek("billing", date(2026, 2, 23), 3, 1),
                                SlaWeek("intake", date(2026, 2, 23), 1, 1),
                                SlaWeek("billing", date(2026, 3, 2), 4, 1)]
    assert fold_weeks([]) == []
    assert SlaWeek("billing", date(2026, 3, 2), 4, 1).share_met == 0.75
    # 2026-01-01 is a Thursday: its ISO week starts on Monday 29 December 2025
    assert weeks_until(at("2026-01-01T23:30:00"), 3) == [
        date(2025, 12, 15), date(2025, 12, 22), date(2025, 12, 29)]
    assert weeks_until(at("2026-03-02T10:00:00"), 1) == [date(2026, 3, 2)]


def test_a_kpi_share_is_of_the_cycles_compared_and_none_without_them() -> None:
    assert KpiFigures("retention", 4, 0.5, 0.6, 3, 1).share_met == 0.75
    assert KpiFigures("retention", 0, None, None, 0, 2).share_met is None
    assert SlaWeek("billing", date(2026, 3, 2), 4, 1).met == 3
