"""What auditors read (the engine.cases.audit protocol): case and customer history searched
together, newest first in keyset pages, and every matching event in chain order for an export
an auditor can verify offline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from engine.cases.audit import AuditCursor, AuditPage, AuditQuery, AuditRow
from engine.store.db import Database
from engine.store.schema import cases, customer_events, events

EXPORT_BATCH = 2000
# At the same instant, case events are listed before customer events (newest first).
_RANK = {"customer": 0, "case": 1}


class SqlAudit:
    """Read-only history queries for the audit pages (engine.cases.audit.Audit)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def search(self, query: AuditQuery) -> AuditPage:
        """One page of matching events, newest first. Each history gives its own newest
        limit+1 rows; the page is the newest of those together."""
        found: list[AuditRow] = []
        with self.database.reading() as connection:
            for kind in self._kinds(query):
                table = _table(kind)
                select = _filtered(kind, query)
                if query.after is not None:
                    select = select.where(_older(kind, table, query.after))
                select = select.order_by(table.c.at.desc(), table.c.id.desc())
                found += [_row(kind, r) for r in connection.execute(select.limit(query.limit + 1))]
        found.sort(key=lambda r: (r.at, _RANK[r.kind], r.id), reverse=True)
        rows = found[:query.limit]
        more = len(found) > query.limit
        return AuditPage(rows, rows[-1].cursor if more and rows else None)

    def export(self, query: AuditQuery, batch: int = EXPORT_BATCH) -> Iterator[list[AuditRow]]:
        """Every matching event in chain order (case events by case and seq, then customer
        events by customer and seq), in batches, each read in a short transaction of its own
        so that a long download holds no connection between batches."""
        for kind in self._kinds(query):
            table = _table(kind)
            subject = _subject(kind)
            last: tuple[Any, int] | None = None
            while True:
                select = _filtered(kind, query)
                if last is not None:
                    select = select.where(sa.or_(subject > last[0], sa.and_(
                        subject == last[0], table.c.seq > last[1])))
                select = select.order_by(subject, table.c.seq).limit(batch)
                with self.database.reading() as connection:
                    rows = [_row(kind, r) for r in connection.execute(select)]
                if rows:
                    yield rows
                if len(rows) < batch:
                    break
                last = (rows[-1].subject, rows[-1].seq)

    @staticmethod
    def _kinds(query: AuditQuery) -> list[str]:
        return ["case"] if query.case_id is not None else ["case", "customer"]


def _table(kind: str) -> sa.Table:
    return events if kind == "case" else customer_events


def _subject(kind: str) -> sa.Column[Any]:
    return events.c.case_id if kind == "case" else customer_events.c.customer_id


def _filtered(kind: str, query: AuditQuery) -> sa.Select[Any]:
    table = _table(kind)
    if kind == "case":
        select = sa.select(events)
        if query.case_id is not None:
            select = select.where(events.c.case_id == query.case_id)
        if query.customer is not None:
            select = select.join(cases, cases.c.id == events.c.case_id).where(
                cases.c.customer == query.customer)
    else:
        select = sa.select(customer_events)
        if query.customer is not None:
            select = select.where(customer_events.c.customer_id == query.customer)
    if query.actor is not None:
        select = select.where(table.c.actor == query.actor)
    if query.event is not None:
        if query.event.endswith((".", "*")):
            select = select.where(table.c.name.startswith(query.event.rstrip("*"),
                                                          autoescape=True))
        else:
            select = select.where(table.c.name == query.event)
    if query.since is not None:
        select = select.where(table.c.at >= query.since)
    if query.before is not None:
        select = select.where(table.c.at < query.before)
    return select


def _older(kind: str, table: sa.Table, cursor: AuditCursor) -> sa.ColumnElement[bool]:
    """Rows after the cursor in (at, kind, id) descending order, for one kind."""
    at, rank = table.c.at, _RANK[kind]
    if rank < _RANK[cursor.kind]:
        return at <= cursor.at
    if rank > _RANK[cursor.kind]:
        return at < cursor.at
    return sa.or_(at < cursor.at, sa.and_(at == cursor.at, table.c.id < cursor.id))


def _row(kind: str, row: Any) -> AuditRow:
    m = row._mapping
    if kind == "case":
        return AuditRow("case", m["case_id"], m["id"], m["seq"], m["name"], m["actor"],
                        m["role"], m["at"], m["from_state"], m["to_state"], m["payload"],
                        m["prev_hash"], m["hash"])
    return AuditRow("customer", m["customer_id"], m["id"], m["seq"], m["name"], m["actor"],
                    m["role"], m["at"], None, None, m["payload"], m["prev_hash"], m["hash"])
