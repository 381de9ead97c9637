"""What the dashboards read (the engine.cases.dashboards protocol): customers per tier, SLA
clocks met per day and queue, open cases by age and queue, and the annual KPIs against their
goals. Every query aggregates in the database (GROUP BY), so a page costs the same few queries
on 1,000,000 cases as on ten; only the aggregated rows reach Python, where days are folded into
ISO weeks (engine.cases.dashboards.fold_weeks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from engine.cases.dashboards import AGES, AgeCount, KpiFigures, SlaDay
from engine.kernel.specs import KPIS
from engine.store.db import Database
from engine.store.schema import UTCDateTime, cases, customers, events, sla_clocks

CYCLE = "annual_cycle"
MEASURED = "case.kpis_measured"


def _label(queue: str | None, workflow: str | None, closed: int) -> str:
    if queue is not None:
        return queue
    return f"{workflow} ({'closed' if closed else 'no queue'})"


class SqlDashboards:
    """Read-only aggregate queries for the dashboards (engine.cases.dashboards.Dashboards)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def tiers(self, known: Sequence[str]) -> list[tuple[str | None, int]]:
        """Customers per tier (None: no tier yet): the `known` tiers first, in their order
        (the customer_tier table's), then none, then any other tier a customer still has."""
        query = sa.select(customers.c.tier, sa.func.count()).group_by(customers.c.tier)
        with self.database.reading() as connection:
            found = {tier: n for tier, n in connection.execute(query)}
        order = [*known, None, *sorted(t for t in found if t is not None and t not in known)]
        return [(tier, found.get(tier, 0)) for tier in order]

    def sla_days(self, since: datetime, until: datetime) -> list[SlaDay]:
        """SLA clocks that stopped in [since, until], per UTC day and queue: how many, and how
        many breached. A clock that never had a target measures nothing and is left out.

        The queue is the case's queue now. A closed case is in no queue, and which queue it was
        in when its clock stopped is not stored (a team's queue comes from a routing decision,
        not from the state), so its clocks are shown under "<workflow> (closed)": the chart
        then tells the teams' open work apart from what has been closed."""
        stopped = sla_clocks.c.stopped_at
        day = (sa.func.date(stopped) if self.database.dialect == "sqlite"
               else sa.cast(sa.func.timezone(sa.literal_column("'UTC'"), stopped), sa.Date))
        no_queue = cases.c.queue.is_(None)
        workflow = sa.case((no_queue, cases.c.workflow), else_=None).label("workflow")
        closed = sa.case((no_queue & cases.c.closed_at.is_not(None), 1), else_=0).label("closed")
        query = (
            sa.select(cases.c.queue, workflow, closed, day.label("day"), sa.func.count(),
                      sa.func.sum(sa.case((sla_clocks.c.breached_at.is_not(None), 1), else_=0)))
            .select_from(sla_clocks.join(cases, cases.c.id == sla_clocks.c.case_id))
            # only a stopped clock has stopped_at (a new round clears it): the range alone
            # picks stopped clocks, from the index on stopped_at
            .where(sla_clocks.c.target_seconds.is_not(None),
                   stopped >= sa.literal(since, UTCDateTime()),
                   stopped <= sa.literal(until, UTCDateTime()))
            .group_by(cases.c.queue, workflow, closed, day)
        )
        with self.database.reading() as connection:
            return [SlaDay(_label(queue, flow, shut), _date(found), int(n), int(late or 0))
                    for queue, flow, shut, found, n, late in connection.execute(query)]

    def open_ages(self, now: datetime) -> list[AgeCount]:
        """Open cases per queue and age bucket (AGES), by queue then bucket. These are the
        cases in a queue, as the queues page counts them: an open case is in its state's queue
        or the one it was routed to, a final state takes it out of every queue, and asking for
        a queue lets the database read the open cases from the queue index instead of reading
        every case ever opened."""
        created = cases.c.created_at
        bucket = sa.case(*[(created <= sa.literal(now - bound, UTCDateTime()), index)
                           for index, (_, bound) in reversed(list(enumerate(AGES))) if index],
                         else_=0).label("bucket")
        query = (sa.select(cases.c.queue, bucket, sa.func.count())
                 .where(cases.c.queue.is_not(None), cases.c.closed_at.is_(None))
                 .group_by(cases.c.queue, bucket).order_by(cases.c.queue, bucket))
        with self.database.reading() as connection:
            return [AgeCount(queue, int(index), int(n))
                    for queue, index, n in connection.execute(query)]

    def kpi_years(self) -> list[int]:
        """The years with measured annual cycles, newest first."""
        year = cases.c.fields["year"].as_integer()
        query = (sa.select(year).distinct().where(*_measured_cycles())
                 .order_by(year.desc()))
        with self.database.reading() as connection:
            return [int(y) for y in connection.execute(query).scalars() if y is not None]

    def kpis(self, year: int) -> tuple[int, list[KpiFigures]]:
        """How many cycles of `year` were measured, and each KPI's figures over them."""
        columns: list[Any] = [sa.func.count()]
        for kpi in KPIS:
            goal = sa.cast(cases.c.fields[f"goal_{kpi}"].as_string(), sa.Float)
            actual = sa.cast(cases.c.fields[f"actual_{kpi}"].as_string(), sa.Float)
            both = goal.is_not(None) & actual.is_not(None)
            columns += [
                sa.func.sum(sa.case((both, 1), else_=0)),
                sa.func.avg(sa.case((both, goal), else_=None)),
                sa.func.avg(sa.case((both, actual), else_=None)),
                sa.func.sum(sa.case((both & (actual >= goal), 1), else_=0)),
                sa.func.sum(sa.case((goal.is_not(None) & actual.is_(None), 1), else_=0)),
            ]
        query = sa.select(*columns).where(*_measured_cycles(),
                                          cases.c.fields["year"].as_integer() == year)
        with self.database.reading() as connection:
            row = connection.execute(query).one()
        figures = []
        for index, kpi in enumerate(KPIS):
            compared, goal, actual, met, missing = row[1 + 5 * index: 6 + 5 * index]
            figures.append(KpiFigures(kpi, int(compared or 0), _float(goal), _float(actual),
                                      int(met or 0), int(missing or 0)))
        return int(row[0]), figures


def _measured_cycles() -> list[Any]:
    """The annual cycles that have been measured (evaluating the year records the event)."""
    measured = sa.select(events.c.case_id).where(events.c.name == MEASURED)
    return [cases.c.workflow == CYCLE, cases.c.id.in_(measured)]


def _date(value: Any) -> date:
    """SQLite's date() gives text; PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
