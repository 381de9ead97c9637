"""The worker's side of the timers table: claim due timers under a lease, fire each claimed one in
a write transaction of its own, or record a failed attempt and when to retry. Also what the
command line shows of timers, clocks and the outbox.

A claim is short and committed: up to `limit` due timers get the worker's name (`claimed_by`)
and the end of its lease (`lease_until`), on PostgreSQL skipping rows another transaction holds
(`FOR UPDATE SKIP LOCKED`), so that any number of workers on any number of machines share the
work and none waits for another. A timer whose lease ran out is free again: a worker that
vanished after claiming loses its timers to the others. Firing one starts by marking it fired
*if the claim still holds* (pending, and still this worker's): when another worker has taken it
over, or a person's fire retargeted or cancelled it meanwhile, nothing is done, so a timer
fires exactly once whoever claimed it when.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.kernel.records import ClockRecord, OutboxRow, TimerKind, TimerRecord, TimerRow
from engine.store.bulk import Driver
from engine.store.db import Database
from engine.store.repository import SqlTransaction
from engine.store.schema import form_submissions, outbox, sla_clocks, timers
from engine.store.timers import clock_record

# (The driver's own statements, as the fire's: engine/store/bulk.py says why.)
# Due, pending, and claimed by nobody, by this worker, or under a lease that has run out.
_NEXT = ("SELECT id FROM timers WHERE state = 'pending' AND retry_at <= ? "
         "AND (claimed_by IS NULL OR claimed_by = ? OR lease_until <= ?) "
         "ORDER BY retry_at, id LIMIT ?")
_CLAIMED = ("case_id", "kind", "name", "due_at", "trigger", "step", "id", "attempts",
            "last_error", "retry_at")  # TimerRecord's fields, in order, and the claim's order
_CLAIMS = {dialect: f"UPDATE timers SET claimed_by = ?, lease_until = ? WHERE id IN "
                    f"({_NEXT}{lock}) RETURNING {', '.join(_CLAIMED)}"
           for dialect, lock in (("sqlite", ""), ("postgresql", " FOR UPDATE SKIP LOCKED"))}
# The firing transaction's first statement: whatever firing arms (the next step of a clock, of
# the same name) is then a timer of its own, never the one in hand; on PostgreSQL it locks the
# timer's row before the case's (engine/jobs/worker.py on lock order). A failure rolls the
# mark back with everything else, and the timer is pending again.
_FIRE = ("UPDATE timers SET state = 'fired', done_at = ? "
         "WHERE id = ? AND state = 'pending' AND claimed_by = ?")


class SqlTimers:
    """The worker's side of the timers table, and the listings (engine.kernel.records.Timers)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def claim(self, now: datetime, worker: str, wall: datetime, lease_until: datetime,
              limit: int) -> list[TimerRecord]:
        """Claim up to `limit` timers due by `now` for `worker` until `lease_until` (committed):
        those claimed by nobody, by `worker` itself, or whose lease ended before `wall` (the
        real time, as `lease_until`; `now` may be a scenario's). Soonest due first."""
        with self.database.writing() as connection:
            driver = Driver(connection)
            at = driver.instant
            rows = driver.execute(_CLAIMS[self.database.dialect], (
                worker, at(lease_until), at(now), worker, at(wall), limit)).fetchall()
        claimed = []
        for row in sorted(rows, key=lambda r: (driver.read_instant(r[9]), r[6])):
            due = driver.read_instant(row[3])
            assert due is not None  # NOT NULL
            claimed.append(TimerRecord(row[0], TimerKind(row[1]), row[2], due, *row[4:9]))
        return claimed

    @contextmanager
    def firing(self, timer: TimerRecord, worker: str,
               now: datetime) -> Iterator[SqlTransaction | None]:
        """A write transaction in which `worker` fires the claimed `timer`, marked fired at
        `now` in it; None (and nothing to do) when the claim no longer holds. On PostgreSQL
        the timer's row stays locked until the transaction ends; on SQLite the transaction
        holds the database's one write lock."""
        with self.database.writing() as connection, SqlTransaction.on(connection) as tx:
            driver = tx.driver
            held = driver.execute(_FIRE, (driver.instant(now), timer.id, worker)).rowcount
            yield tx if held == 1 else None

    def failed(self, timer: TimerRecord, worker: str, error: str, retry_at: datetime) -> None:
        """Record a failed attempt in a transaction of its own; the timer stays pending, its
        claim given up (any worker may try it again from `retry_at`)."""
        with self.database.writing() as connection:
            connection.execute(sa.update(timers).where(
                timers.c.id == timer.id, timers.c.state == "pending",
                timers.c.claimed_by == worker).values(
                attempts=timers.c.attempts + 1, last_error=error, retry_at=retry_at,
                claimed_by=None, lease_until=None))

    def release(self, claimed: Sequence[TimerRecord], worker: str) -> None:
        """Give up `worker`'s claims on timers it will not fire now (it is stopping): other
        workers take them at once instead of after the lease."""
        if claimed:
            with self.database.writing() as connection:
                connection.execute(sa.update(timers).where(
                    timers.c.id.in_([t.id for t in claimed]), timers.c.state == "pending",
                    timers.c.claimed_by == worker).values(claimed_by=None, lease_until=None))

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
