"""What the service desk's pages read: queues with their counts, and one queue's open cases
with filters, sorting and keyset pages (no OFFSET: page 1,000 costs what page 1 costs)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from engine.store.db import Database
from engine.store.schema import cases, customers, sla_clocks

SORTS = {"due": "SLA due first", "created": "oldest first", "-created": "newest first",
         "-updated": "recently changed first"}
SLA_STATES = ("breached", "warning", "paused", "running", "none")
FAR = datetime(9999, 12, 31, tzinfo=UTC)  # where cases without a due time sort
PAGE = 50

# Per open case, over its clocks that still count: the soonest due time, and whether any is
# breached or warned, or all are paused.
_LIVE = sla_clocks.c.status != "stopped"
_CLOCKS = (
    sa.select(sla_clocks.c.case_id,
              sa.func.min(sla_clocks.c.due_at).label("due_at"),
              sa.func.max(sa.case((sla_clocks.c.breached_at.is_not(None), 1), else_=0))
              .label("breached"),
              sa.func.max(sa.case((sla_clocks.c.warned_at.is_not(None), 1), else_=0))
              .label("warned"),
              sa.func.min(sa.case((sla_clocks.c.status == "paused", 1), else_=0))
              .label("paused"))
    .where(_LIVE).group_by(sla_clocks.c.case_id).subquery("clock")
)
_SLA = sa.case(
    (_CLOCKS.c.case_id.is_(None), "none"), (_CLOCKS.c.breached == 1, "breached"),
    (_CLOCKS.c.paused == 1, "paused"), (_CLOCKS.c.warned == 1, "warning"), else_="running",
)
_DUE = sa.func.coalesce(_CLOCKS.c.due_at, sa.literal(FAR, cases.c.created_at.type))
_KEYS: dict[str, tuple[Any, bool]] = {  # sort -> (column, descending)
    "due": (_DUE, False), "created": (cases.c.created_at, False),
    "-created": (cases.c.created_at, True), "-updated": (cases.c.updated_at, True),
}


@dataclass(frozen=True)
class QueueQuery:
    """One page of a queue's open cases: filters, sort, and the cursor of the page before."""

    queue: str
    state: str | None = None
    severity: str | None = None
    tier: str | None = None
    assignee: str | None = None  # a user, or "none" for unassigned
    sla: str | None = None  # one of SLA_STATES
    search: str | None = None  # case number, customer id, or words of the summary
    sort: str = "due"
    after: tuple[datetime, int] | None = None
    limit: int = PAGE

    def evolve(self, **changes: Any) -> QueueQuery:
        return replace(self, **changes)


@dataclass(frozen=True)
class QueueRow:
    id: int
    workflow: str
    state: str
    assignee: str | None
    customer: str | None
    tier: str | None
    summary: str | None
    severity: str | None
    priority: str | None
    created_at: datetime
    updated_at: datetime
    lock_version: int
    due_at: datetime | None
    sla: str


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: tuple[datetime, int] | None  # the cursor of the next page, None on the last
    states: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QueueCount:
    queue: str
    open: int
    unassigned: int
    breached: int
    warning: int


class SqlViews:
    """Read-only queries for the pages."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def queue_counts(self) -> list[QueueCount]:
        sla = _SLA.label("sla")
        inner = (sa.select(cases.c.queue, cases.c.assignee, sla)
                 .select_from(cases.outerjoin(_CLOCKS, _CLOCKS.c.case_id == cases.c.id))
                 .where(cases.c.closed_at.is_(None), cases.c.queue.is_not(None)).subquery())
        query = (sa.select(inner.c.queue, sa.func.count(),
                           sa.func.sum(sa.case((inner.c.assignee.is_(None), 1), else_=0)),
                           sa.func.sum(sa.case((inner.c.sla == "breached", 1), else_=0)),
                           sa.func.sum(sa.case((inner.c.sla == "warning", 1), else_=0)))
                 .group_by(inner.c.queue).order_by(inner.c.queue))
        with self.database.reading() as connection:
            return [QueueCount(q, n, int(u or 0), int(b or 0), int(w or 0))
                    for q, n, u, b, w in connection.execute(query)]

    def queue(self, query: QueueQuery) -> QueuePage:
        column, descending = _KEYS[query.sort]
        key = column.label("sort_key")
        severity = cases.c.fields["severity"].as_string()
        select = (
            sa.select(cases.c.id, cases.c.workflow, cases.c.state, cases.c.assignee,
                      cases.c.customer, customers.c.tier, cases.c.fields["summary"].as_string(),
                      severity, cases.c.fields["priority"].as_string(), cases.c.created_at,
                      cases.c.updated_at, cases.c.lock_version, _CLOCKS.c.due_at,
                      _SLA.label("sla"), key)
            .select_from(cases.outerjoin(_CLOCKS, _CLOCKS.c.case_id == cases.c.id)
                         .outerjoin(customers, customers.c.id == cases.c.customer))
            .where(cases.c.queue == query.queue, cases.c.closed_at.is_(None))
        )
        select = _filtered(select, query, severity)
        if query.after is not None:
            value, last_id = query.after
            after = sa.tuple_(column, cases.c.id)
            select = select.where(after < sa.tuple_(sa.literal(value, cases.c.created_at.type),
                                                    sa.literal(last_id))
                                  if descending else
                                  after > sa.tuple_(sa.literal(value, cases.c.created_at.type),
                                                    sa.literal(last_id)))
        order = [column.desc(), cases.c.id.desc()] if descending else [column, cases.c.id]
        select = select.order_by(*order).limit(query.limit + 1)
        with self.database.reading() as connection:
            found = list(connection.execute(select))
            states = list(connection.execute(
                sa.select(cases.c.state).distinct()
                .where(cases.c.queue == query.queue, cases.c.closed_at.is_(None))
                .order_by(cases.c.state)).scalars())
        rows = [QueueRow(*r[:-1]) for r in found[:query.limit]]
        last = found[query.limit - 1] if len(found) > query.limit else None
        cursor = None if last is None else (_aware(last.sort_key), last.id)
        return QueuePage(rows, cursor, states)


def _filtered(select: Any, query: QueueQuery, severity: Any) -> Any:
    if query.state:
        select = select.where(cases.c.state == query.state)
    if query.severity:
        select = select.where(severity == query.severity)
    if query.tier:
        select = select.where(customers.c.tier == query.tier)
    if query.assignee == "none":
        select = select.where(cases.c.assignee.is_(None))
    elif query.assignee:
        select = select.where(cases.c.assignee == query.assignee)
    if query.sla:
        select = select.where(query.sla == _SLA)
    text = (query.search or "").strip()
    if text:
        number = text.removeprefix("#")
        matches = [cases.c.customer == text,
                   cases.c.fields["summary"].as_string().ilike(f"%{_escaped(text)}%",
                                                                escape="\\")]
        if number.isdigit():
            matches.append(cases.c.id == int(number))
        select = select.where(sa.or_(*matches))
    return select


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _aware(moment: Any) -> datetime:
    """SQLite hands a computed sort key back as text or a naive datetime: make it an instant."""
    found: datetime = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)
