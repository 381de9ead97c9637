"""The worker's side of the timers table: claim one due timer inside a write transaction (on
PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that any number of workers on any number of machines
share the work and none waits for another), or record a failed attempt and when to retry. Also
what the command line shows of timers, clocks and the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.kernel.records import ClockRecord, OutboxRow, TimerRecord, TimerRow
from engine.store.db import Database
from engine.store.repository import SqlTransaction
from engine.store.schema import outbox, sla_clocks, timers
from engine.store.timers import clock_record, timer_record

# Claiming marks the timer fired in the same statement: whatever firing it arms (the next step
# of a clock, of the same name) is then a timer of its own, never the one in hand; a failure
# rolls the mark back with everything else, and the timer is pending again.
_NEXT = (sa.select(timers.c.id).where(timers.c.state == "pending",
                                      timers.c.retry_at <= sa.bindparam("now"))
         .order_by(timers.c.retry_at, timers.c.id).limit(1))
_CLAIMS = {
    dialect: sa.update(timers)
    .where(timers.c.id == next_due.scalar_subquery())
    .values(state="fired", done_at=sa.bindparam("now"))
    .returning(*timers.c)
    for dialect, next_due in (("sqlite", _NEXT),
                              ("postgresql", _NEXT.with_for_update(skip_locked=True)))
}


class SqlTimers:
    """The worker's side of the timers table, and the listings (engine.kernel.records.Timers)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def claimed(self, now: datetime) -> Iterator[tuple[SqlTransaction, TimerRecord | None]]:
        """A write transaction holding the next due timer (None when none is due). On
        PostgreSQL the row stays locked until the transaction ends and other workers skip it;
        on SQLite the transaction holds the database's one write lock."""
        with self.database.writing() as connection, SqlTransaction.on(connection) as tx:
            row = connection.execute(_CLAIMS[self.database.dialect], {"now": now}).first()
            yield tx, (None if row is None else timer_record(row))

    def failed(self, timer: TimerRecord, error: str, retry_at: datetime) -> None:
        """Record a failed attempt in a transaction of its own; the timer stays pending."""
        with self.database.writing() as connection:
            connection.execute(sa.update(timers).where(timers.c.id == timer.id,
                                                       timers.c.state == "pending")
                               .values(attempts=timers.c.attempts + 1, last_error=error,
                                       retry_at=retry_at))

    def listing(self, case_id: int | None = None, state: str | None = None,
                failing: bool = False) -> list[TimerRow]:
        query = sa.select(timers).order_by(timers.c.due_at, timers.c.id)
        if case_id is not None:
            query = query.where(timers.c.case_id == case_id)
        if state is not None:
            query = query.where(timers.c.state == state)
        if failing:
            query = query.where(timers.c.attempts > 0, timers.c.state == "pending")
        with self.database.reading() as connection:
            return [TimerRow(**row._mapping) for row in connection.execute(query)]

    def clocks(self, case_id: int) -> list[ClockRecord]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(sla_clocks).where(sla_clocks.c.case_id == case_id)
                                      .order_by(sla_clocks.c.started_at, sla_clocks.c.name))
            return [clock_record(row) for row in rows]

    def notices(self, unsent_only: bool = False) -> list[OutboxRow]:
        query = sa.select(outbox).order_by(outbox.c.id)
        if unsent_only:
            query = query.where(outbox.c.sent_at.is_(None))
        with self.database.reading() as connection:
            return [OutboxRow(**row._mapping) for row in connection.execute(query)]

    def mark_sent(self, notice_id: int, at: datetime, error: str | None = None) -> None:
        with self.database.writing() as connection:
            values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
            if error is None:
                values["sent_at"] = at
            connection.execute(sa.update(outbox).where(outbox.c.id == notice_id).values(values))
