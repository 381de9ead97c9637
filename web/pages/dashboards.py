"""The dashboards: tier distribution, SLA attainment by week and queue, open cases by age, and
the annual KPIs against their goals. Each chart is also served alone at /dashboards/<chart>
(the whole page around it, or just its section for HTMX), so a control refreshes one chart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from engine.cases.dashboards import fold_weeks, weeks_until
from engine.kernel.accounts import User
from engine.kernel.roles import Permission
from engine.wiring import Casework
from web.areas import area, get
from web.charts import Chart, ages_chart, kpi_chart, sla_chart, tier_chart
from web.common import casework_of, now_of
from web.rendering import page

WEEKS = 12
WEEK_CHOICES = (4, 8, 12, 26, 52)
MOST_WEEKS = 104


@dataclass(frozen=True)
class Choice:
    """What the reader chose: how many weeks of SLA, which year's KPIs (None: the latest)."""

    weeks: int = WEEKS
    year: int | None = None


def parse_choice(weeks: str | None, year: str | None) -> Choice:
    if weeks and not (weeks.strip().isdigit() and 1 <= int(weeks) <= MOST_WEEKS):
        raise ValidationException(f"weeks {weeks!r} is not a whole number of weeks from 1 to "
                                  f"{MOST_WEEKS}")
    if year and not (year.strip().isdigit() and 1900 <= int(year) <= 2999):
        raise ValidationException(f"year {year!r} is not a year from 1900 to 2999")
    return Choice(int(weeks) if weeks else WEEKS, int(year) if year else None)


def _tiers(casework: Casework, now: datetime, choice: Choice) -> Chart:
    return tier_chart(casework.dashboards.tiers(casework.registry.tiers(now)))


def _sla(casework: Casework, now: datetime, choice: Choice) -> Chart:
    weeks = weeks_until(now, choice.weeks)
    since = datetime.combine(weeks[0], time(), tzinfo=UTC)
    return sla_chart(weeks, fold_weeks(casework.dashboards.sla_days(since, now)))


def _ages(casework: Casework, now: datetime, choice: Choice) -> Chart:
    return ages_chart(casework.dashboards.open_ages(now))


def _kpis(casework: Casework, now: datetime, choice: Choice) -> Chart:
    years = casework.dashboards.kpi_years()
    year = choice.year if choice.year is not None else (years[0] if years else None)
    measured, figures = casework.dashboards.kpis(year) if year is not None else (0, [])
    return kpi_chart(year, measured, figures)


CHARTS: dict[str, Callable[[Casework, datetime, Choice], Chart]] = {
    "tiers": _tiers, "sla": _sla, "ages": _ages, "kpis": _kpis}


def _dashboards(request: Request[User, Any, Any], keys: list[str], choice: Choice) -> Template:
    casework, now = casework_of(request), now_of(request)
    charts = [CHARTS[key](casework, now, choice) for key in keys]
    years = casework.dashboards.kpi_years() if "kpis" in keys else []
    shown_year = choice.year if choice.year is not None else (years[0] if years else None)
    if shown_year is not None and shown_year not in years:
        years = sorted([*years, shown_year], reverse=True)
    return page(request, "dashboards.html", "charts", user=request.user, charts=charts,
                now=now, weeks=choice.weeks, week_choices=sorted({*WEEK_CHOICES, choice.weeks}),
                year=shown_year, years=years, alone=len(keys) == 1)


@get("/")
def dashboards(request: Request[User, Any, Any], weeks: FromQuery[str | None] = None,
               year: FromQuery[str | None] = None) -> Template:
    return _dashboards(request, list(CHARTS), parse_choice(weeks, year))


@get("/{chart:str}")
def dashboard_chart(request: Request[User, Any, Any], chart: FromPath[str],
                    weeks: FromQuery[str | None] = None,
                    year: FromQuery[str | None] = None) -> Template:
    if chart not in CHARTS:
        raise NotFoundException(f"there is no chart {chart!r}; the dashboards have "
                                f"{', '.join(CHARTS)}")
    return _dashboards(request, [chart], parse_choice(weeks, year))


ROUTER = area("/dashboards", Permission.VIEW_DASHBOARDS, [dashboards, dashboard_chart])
