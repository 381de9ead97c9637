"""The dashboards' read model: customers per tier, stopped SLA clocks per day and queue (folded
here into ISO weeks), open cases per queue and age, and the annual KPIs against their goals. The
dashboards ask through the `Dashboards` protocol; engine/store/dashboard_views.py answers it with
aggregates the database computes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# Open cases by age: (label, lower bound); a case falls in the last bucket whose bound it has
# reached (ages as now - created_at).
AGES = (("< 1 day", timedelta(0)), ("1-3 days", timedelta(days=1)),
        ("3-7 days", timedelta(days=3)), ("1-4 weeks", timedelta(days=7)),
        ("> 4 weeks", timedelta(days=28)))


@dataclass(frozen=True)
class SlaDay:
    """Stopped SLA clocks of one queue on one day (UTC): how many, and how many breached."""

    queue: str
    day: date
    stopped: int
    breached: int


@dataclass(frozen=True)
class SlaWeek:
    """Stopped SLA clocks of one queue in one ISO week."""

    queue: str
    week: date  # the Monday the ISO week starts on
    stopped: int
    breached: int

    @property
    def met(self) -> int:
        return self.stopped - self.breached

    @property
    def share_met(self) -> float:
        return self.met / self.stopped


@dataclass(frozen=True)
class AgeCount:
    """Open cases of one queue in one age bucket."""

    queue: str
    bucket: int  # the index into AGES
    count: int


@dataclass(frozen=True)
class KpiFigures:
    """One KPI over a year's measured cycles. The means and the share compare like with like:
    they are taken over the cycles that have both a goal and an actual (`compared`); a cycle
    whose year gave no actual (no rating, no purchase the year before) is counted apart."""

    kpi: str
    compared: int
    mean_goal: float | None
    mean_actual: float | None
    met: int  # actual >= goal (a goal of 0 sales growth is met by no shrinking)
    no_actual: int  # a goal but nothing measured

    @property
    def share_met(self) -> float | None:
        return self.met / self.compared if self.compared else None


def week_start(day: date) -> date:
    """The Monday of the ISO week `day` falls in."""
    return day - timedelta(days=day.weekday())


def fold_weeks(days: list[SlaDay]) -> list[SlaWeek]:
    """Days added up into ISO weeks per queue, by week, then queue."""
    totals: dict[tuple[date, str], tuple[int, int]] = {}
    for row in days:
        key = (week_start(row.day), row.queue)
        stopped, breached = totals.get(key, (0, 0))
        totals[key] = (stopped + row.stopped, breached + row.breached)
    return [SlaWeek(queue, week, stopped, breached)
            for (week, queue), (stopped, breached) in sorted(totals.items())]


def weeks_until(now: datetime, count: int) -> list[date]:
    """The Mondays of the `count` ISO weeks that end with the one `now` falls in (UTC)."""
    last = week_start(now.astimezone(UTC).date())
    return [last - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


class Dashboards(Protocol):
    """The aggregates the dashboards draw."""

    def tiers(self, known: Sequence[str]) -> list[tuple[str | None, int]]:
        """Customers per tier (None: no tier yet), the `known` tiers first in their order."""

    def sla_days(self, since: datetime, until: datetime) -> list[SlaDay]:
        """SLA clocks with a target that stopped in [since, until], per UTC day and queue."""

    def open_ages(self, now: datetime) -> list[AgeCount]:
        """Open cases per queue and age bucket (AGES), by queue then bucket."""

    def kpi_years(self) -> list[int]:
        """The years with measured annual cycles, newest first."""

    def kpis(self, year: int) -> tuple[int, list[KpiFigures]]:
        """How many cycles of `year` were measured, and each KPI's figures over them."""
