"""The service desk's queues (the engine.cases.queues protocol): queues with their counts
(engine/store/queue_counts.py), and one queue's open cases with filters, sorting and keyset
pages (no OFFSET: page 1,000 costs what page 1 costs).

Every read here is of open cases only, through indexes that hold only open cases (migration
0009: `WHERE closed_at IS NULL`), each in an order a queue page is read in: a page walks its
index from the cursor and stops after a page of rows, however many cases were ever closed. The
SLA status and soonest due time of each case are columns of the case row (`sla_status`,
`sla_due_at`), kept by the transaction that writes its clocks (engine/store/timers.py), so that
neither sorting nor filtering by SLA reads the clocks. On SQLite those indexes also hold every
column and field the filters and the search compare (migration 0010), written here as the
indexes write them (`field_text`): a filtered page reads the table only for the rows it shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Select

from engine.cases.queues import FAR, QueueCount, QueuePage, QueueQuery, QueueRow
from engine.store.db import Database
from engine.store.queue_counts import QueueCounts
from engine.store.repository import MAX_ID
from engine.store.schema import UTCDateTime, cases, customers, field_text

_OPEN = cases.c.closed_at.is_(None)
_severity = field_text(cases.c.fields, "severity")
_summary = field_text(cases.c.fields, "summary")
_ROW = (cases.c.id, cases.c.workflow, cases.c.state, cases.c.assignee, cases.c.customer,
        customers.c.tier, _summary, _severity, field_text(cases.c.fields, "priority"),
        cases.c.created_at, cases.c.updated_at, cases.c.lock_version, cases.c.sla_due_at,
        cases.c.sla_status)
_KEYS: dict[str, tuple[Any, bool]] = {  # sort -> (column, descending), each an index's order
    "due": (cases.c.sla_due_at, False), "created": (cases.c.created_at, False),
    "-created": (cases.c.created_at, True), "-updated": (cases.c.updated_at, True),
}


class SqlViews:
    """The queues as the desk pages read them (engine.cases.queues.Queues)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.counts = QueueCounts(database)

    def queue_counts(self) -> list[QueueCount]:
        return self.counts.read()

    def queue(self, query: QueueQuery) -> QueuePage:
        found: list[Any] = []
        with self.database.reading() as connection:
            for select in queue_selects(query):  # in order, until a page and one more
                found += connection.execute(select.limit(query.limit + 1 - len(found)))
                if len(found) > query.limit:
                    break
            states = list(connection.execute(_states(query.queue)).scalars())
        rows = [QueueRow(*r) for r in found[:query.limit]]
        cursor = None
        if len(found) > query.limit:
            last = rows[-1]
            cursor = (last.sort_key(query.sort), last.id)
        return QueuePage(rows, cursor, states)


def queue_select(query: QueueQuery) -> Select[Any]:
    """The first statement a page of `query` runs (bench/web.py shows its plan)."""
    return queue_selects(query)[0]


def queue_selects(query: QueueQuery) -> list[Select[Any]]:
    """The statements that read a page, each in one index's order, to run in turn until a
    page is full. Sorted by due time, the cases with one come first, then those without
    (by number): two index ranges, since an index cannot sort NULLs last on both databases."""
    base = _filtered(sa.select(*_ROW).select_from(
        cases.outerjoin(customers, customers.c.id == cases.c.customer))
        .where(cases.c.queue == query.queue, _OPEN), query)
    after = None if query.after is None else (_aware(query.after[0]), query.after[1])
    column, descending = _KEYS[query.sort]
    if query.sort != "due":
        return [_from(base, column, descending, after)]
    # (sla_due_at, id) rather than id alone: PostgreSQL then reads the undated part in the
    # index's order too (IS NULL is no equality to its planner's orderings)
    undated = base.where(cases.c.sla_due_at.is_(None)).order_by(cases.c.sla_due_at, cases.c.id)
    if after is not None and after[0] >= FAR:
        return [undated.where(cases.c.id > after[1])]
    return [_from(base.where(cases.c.sla_due_at.is_not(None)), column, False, after), undated]


def _states(queue: str) -> Select[Any]:
    """The states the queue's open cases are in (the state filter's choices): from the open
    cases' index, one step per state (the next state after the last one found) rather than
    a walk over every case of the queue, as DISTINCT would take."""
    found = (sa.select(sa.func.min(cases.c.state).label("state"))
             .where(cases.c.queue == queue, _OPEN).cte("states", recursive=True))
    after = (sa.select(sa.func.min(cases.c.state))
             .where(cases.c.queue == queue, _OPEN, cases.c.state > found.c.state)
             .scalar_subquery())
    found = found.union_all(sa.select(after).where(found.c.state.is_not(None)))
    return sa.select(found.c.state).where(found.c.state.is_not(None)).order_by(found.c.state)


def _from(select: Select[Any], column: Any, descending: bool,
          after: tuple[datetime, int] | None) -> Select[Any]:
    """`select` in the order (column, id), starting after the cursor."""
    if after is not None:
        key = sa.tuple_(column, cases.c.id)
        mark = sa.tuple_(sa.literal(after[0], UTCDateTime()), sa.literal(after[1]))
        select = select.where(key < mark if descending else key > mark)
    order = [column.desc(), cases.c.id.desc()] if descending else [column, cases.c.id]
    return select.order_by(*order)


def _filtered(select: Select[Any], query: QueueQuery) -> Select[Any]:
    if query.state:
        select = select.where(cases.c.state == query.state)
    if query.severity:
        select = select.where(_severity == query.severity)
    if query.tier:
        select = select.where(customers.c.tier == query.tier)
    if query.assignee == "none":
        select = select.where(cases.c.assignee.is_(None))
    elif query.assignee:
        select = select.where(cases.c.assignee == query.assignee)
    if query.sla:
        select = select.where(cases.c.sla_status == query.sla)
    text = (query.search or "").strip()
    if text:
        number = text.removeprefix("#")
        matches = [cases.c.customer == text,
                   _summary.ilike(f"%{_escaped(text)}%", escape="\\")]
        if number.isdigit() and int(number) <= MAX_ID:
            matches.append(cases.c.id == int(number))
        select = select.where(sa.or_(*matches))
    return select


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _aware(moment: datetime) -> datetime:
    """A cursor's instant; one without a zone (made by hand) is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
