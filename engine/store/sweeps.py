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

from engine.kernel.records import ClockRecord, OutboxRow, TimerKind, TimerRecord, TimerRow
from engine.store.db import Database
from engine.store.repository import SqlTransaction
from engine.store.schema import form_submissions, outbox, sla_clocks, timers
from engine.store.timers import clock_record

# Claiming marks the timer fired in the same statement: whatever firing it arms (the next step
# of a clock, of the same name) is then a timer of its own, never the one in hand; a failure
# rolls the mark back with everything else, and the timer is pending again.
# (The driver's own statement, as the fire's: engine/store/bulk.py says why.)
_NEXT = ("SELECT id FROM timers WHERE state = 'pending' AND retry_at <= ? "
         "ORDER BY retry_at, id LIMIT 1")
_CLAIMED = ("case_id", "kind", "name", "due_at", "trigger", "step", "id", "attempts",
            "last_error")  # TimerRecord's fields, in order
_CLAIMS = {dialect: f"UPDATE timers SET state = 'fired', done_at = ? WHERE id = ({_NEXT}{lock}) "
                    f"RETURNING {', '.join(_CLAIMED)}"
           for dialect, lock in (("sqlite", ""), ("postgresql", " FOR UPDATE SKIP LOCKED"))}


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
            driver = tx.driver
            at = driver.instant(now)
            row = driver.execute(_CLAIMS[self.database.dialect], (at, at)).fetchone()
            timer = None
            if row is not None:
                due = driver.read_instant(row[3])
                assert due is not None  # NOT NULL
                timer = TimerRecord(row[0], TimerKind(row[1]), row[2], due, *row[4:])
            yield tx, timer

    def failed(self, timer: TimerRecord, error: str, retry_at: datetime) -> None:
        """Record a failed attempt in a transaction of its own; the timer stays pending."""
        with self.database.writing() as connection:
            connection.execute(sa.update(timers).where(timers.c.id == timer.id,
                                                       timers.c.state == "pending")
                               .values(attempts=timers.c.attempts + 1, last_error=error,
                                       retry_at=retry_at))

    def forget_submissions(self, before: datetime) -> int:
        """Drop the submission keys stored before `before` (a form is not sent again a day
        later; a key kept for ever would only grow the table)."""
        with self.database.writing() as connection:
            return int(connection.execute(sa.delete(form_submissions)
                                          .where(form_submissions.c.at < before)).rowcount)

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

    def due_mail(self, now: datetime) -> list[OutboxRow]:
        """Unsent mail not given up whose next attempt is due by `now`, oldest first."""
        query = (sa.select(outbox).where(
            outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None),
            sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id))
        with self.database.reading() as connection:
            return [OutboxRow(**row._mapping) for row in connection.execute(query)]

    def mark_failed(self, notice_id: int, at: datetime, error: str,
                    retry_at: datetime | None) -> None:
        with self.database.writing() as connection:
            connection.execute(sa.update(outbox).where(outbox.c.id == notice_id).values(
                attempts=outbox.c.attempts + 1, last_error=error[:2000],
                next_attempt_at=retry_at, failed_at=at if retry_at is None else None))

    def mark_sent(self, notice_id: int, at: datetime, error: str | None = None) -> None:
        with self.database.writing() as connection:
            values: dict[str, Any] = {"attempts": outbox.c.attempts + 1, "last_error": error}
            if error is None:
                values["sent_at"] = at
            connection.execute(sa.update(outbox).where(outbox.c.id == notice_id).values(values))
