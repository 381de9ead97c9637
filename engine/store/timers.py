"""Timers, SLA clocks and the outbox in SQL, as one transaction writes them: mixed into the
runtime's transaction (arming, cancelling, saving clocks inside a fire). The worker's side,
claiming due timers, is engine/store/sweeps.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from engine.kernel.records import (
    ClockRecord,
    ClockStatus,
    Notice,
    SlaStatus,
    TimerKind,
    TimerRecord,
    case_sla,
)
from engine.store.bulk import Driver
from engine.store.schema import cases, customers, outbox, sla_clocks, users

# Statements of every fire of a workflow with deadlines, built once (building costs more than
# running them on SQLite).
_CANCEL = ("UPDATE timers SET state = 'cancelled', done_at = ? "
           "WHERE case_id = ? AND kind = ? AND state = 'pending'")
_FINISH = "UPDATE timers SET outcome = ? WHERE id = ?"

# The driver's own statements for the rows of every fire (engine/store/bulk.py says why).
# A clock is one row per case and name: written whole, new or not.
_CLOCK_COLUMNS = ("case_id", "name", "status", "business", "calendar", "target_seconds",
                  "elapsed_seconds", "since", "due_at", "started_at", "warned_at",
                  "breached_at", "stopped_at", "level", "step")
_SAVE_CLOCKS = (
    f"INSERT INTO sla_clocks ({', '.join(_CLOCK_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _CLOCK_COLUMNS)}) ON CONFLICT (case_id, name) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _CLOCK_COLUMNS[2:]))
# A case has at most one pending timer of a kind and name (the partial unique index of
# migration 0011): arming one that is pending retargets it in place, so a clock whose target
# moves costs one statement and leaves no cancelled row behind. A worker's claim on it ends
# there: the worker, finding its claim gone, does not fire the old deadline
# (engine/store/sweeps.py).
_TIMER_COLUMNS = ("case_id", "kind", "name", "trigger", "step", "due_at", "retry_at", "state",
                  "attempts", "created_at")
_ARM = (f"INSERT INTO timers ({', '.join(_TIMER_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _TIMER_COLUMNS)}) "
        "ON CONFLICT (case_id, kind, name) WHERE state = 'pending' DO UPDATE SET "
        "trigger = excluded.trigger, step = excluded.step, due_at = excluded.due_at, "
        "retry_at = excluded.retry_at, attempts = 0, last_error = NULL, "
        "created_at = excluded.created_at, claimed_by = NULL, lease_until = NULL")
_SET_SLA = "UPDATE cases SET sla_due_at = ?, sla_status = ? WHERE id = ?"
_CLOCKS = f"SELECT {', '.join(_CLOCK_COLUMNS)} FROM sla_clocks WHERE case_id = ?"


def _live(*more: Any) -> Any:
    """Whether the case being updated has a clock that still counts (and `more`)."""
    return sa.exists().where(sla_clocks.c.case_id == cases.c.id,
                             sla_clocks.c.status != ClockStatus.STOPPED, *more)


# The case row's SLA columns from its clocks, as the queue pages read them (engine/store/views.py):
# over the clocks not stopped, the soonest due time; breached if any is, paused if all are,
# warning if any was warned, else running; none without such a clock. Run after the clocks are
# written, in the same transaction, so that the two never disagree.
_KEEP_SLA = sa.update(cases).where(cases.c.id == sa.bindparam("of_case")).values(
    sla_due_at=sa.select(sa.func.min(sla_clocks.c.due_at))
    .where(sla_clocks.c.case_id == cases.c.id, sla_clocks.c.status != ClockStatus.STOPPED)
    .scalar_subquery(),
    sla_status=sa.case(
        (~_live(), SlaStatus.NONE),
        (_live(sla_clocks.c.breached_at.is_not(None)), SlaStatus.BREACHED),
        (~_live(sla_clocks.c.status != ClockStatus.PAUSED), SlaStatus.PAUSED),
        (_live(sla_clocks.c.warned_at.is_not(None)), SlaStatus.WARNING),
        else_=SlaStatus.RUNNING),
)


def clock_record(row: Row[Any]) -> ClockRecord:
    m = dict(row._mapping)
    target = m.pop("target_seconds")
    m["target"] = None if target is None else timedelta(seconds=target)
    m["elapsed"] = timedelta(seconds=m.pop("elapsed_seconds"))
    m["status"] = ClockStatus(m["status"])
    return ClockRecord(**m)


def _read_clock(driver: Driver, row: Sequence[Any]) -> ClockRecord:
    """A clock from its row in _CLOCK_COLUMNS' order."""
    at = driver.read_instant
    started = at(row[9])
    assert started is not None  # NOT NULL
    return ClockRecord(row[0], row[1], ClockStatus(row[2]), bool(row[3]), row[4],
                       None if row[5] is None else timedelta(seconds=row[5]),
                       timedelta(seconds=row[6]), at(row[7]), at(row[8]), started, at(row[10]),
                       at(row[11]), at(row[12]), row[13], row[14])


def _clock_row(at: Callable[[datetime | None], Any], clock: ClockRecord) -> tuple[Any, ...]:
    """A clock as the driver stores it, in _CLOCK_COLUMNS' order."""
    return (clock.case_id, clock.name, clock.status.value, clock.business, clock.calendar,
            None if clock.target is None else clock.target.total_seconds(),
            clock.elapsed.total_seconds(), at(clock.since), at(clock.due_at),
            at(clock.started_at), at(clock.warned_at), at(clock.breached_at),
            at(clock.stopped_at), clock.level, clock.step)


class TimerWrites:
    """Timer, clock and notice writes of one transaction (mixed into SqlTransaction).

    The case row's SLA columns follow its clocks. The transaction remembers every clock of the
    cases whose clocks it has read (and of the cases it created, which have none), so that
    after saving clocks it works the columns out in Python (engine.kernel.records.case_sla)
    and writes them with the case row's own update, one UPDATE per fire; `write_sla` writes
    what no case update took before the transaction commits. A clock saved on a case whose
    clocks were not read falls back to working the columns out in SQL."""

    connection: Connection
    driver: Driver
    known_clocks: dict[int, dict[str, ClockRecord]]  # case id -> all its clocks, as now
    sla_due: dict[int, tuple[datetime | None, SlaStatus]]  # SLA columns not written yet

    def clocks(self, case_id: int) -> dict[str, ClockRecord]:
        driver = self.driver
        found = {row[1]: _read_clock(driver, row)
                 for row in driver.execute(_CLOCKS, (case_id,)).fetchall()}
        self.known_clocks[case_id] = dict(found)
        return found

    def save_clocks(self, clocks: Sequence[ClockRecord]) -> None:
        if not clocks:
            return
        stamp = self.driver.instant
        self.driver.executemany(_SAVE_CLOCKS, [_clock_row(stamp, c) for c in clocks])
        for case_id in sorted({clock.case_id for clock in clocks}):
            known = self.known_clocks.get(case_id)
            if known is None:  # the case row after its clocks: the worker's lock order
                self.connection.execute(_KEEP_SLA, {"of_case": case_id})
                continue
            known.update((c.name, c) for c in clocks if c.case_id == case_id)
            self.sla_due[case_id] = case_sla(known.values())

    def write_sla(self) -> None:
        """Write the SLA columns no case update has taken (before the transaction commits)."""
        if self.sla_due:
            stamp = self.driver.instant
            self.driver.executemany(_SET_SLA, [
                (stamp(due), status.value, case_id)
                for case_id, (due, status) in sorted(self.sla_due.items())])
            self.sla_due.clear()

    def arm_timers(self, new: Sequence[TimerRecord], at: datetime) -> None:
        """Arm timers; a pending one of the same case, kind and name is retargeted in place."""
        if new:
            stamp = self.driver.instant
            created = stamp(at)
            self.driver.executemany(_ARM, [
                (t.case_id, t.kind.value, t.name, t.trigger, t.step, stamp(t.due_at),
                 stamp(t.due_at), "pending", 0, created) for t in new])

    def cancel_timers(self, case_id: int, kind: TimerKind, names: Sequence[str] | None,
                      at: datetime) -> None:
        """Disarm the pending timers of a case of one kind (all of them, or those named)."""
        driver, which = self.driver, (self.driver.instant(at), case_id, kind.value)
        if names is None:
            driver.execute(_CANCEL, which)
        elif names:
            named = f"{_CANCEL} AND name IN ({', '.join('?' for _ in names)})"
            driver.execute(named, (*which, *names))

    def finish_timer(self, timer: TimerRecord, outcome: str) -> None:
        """Record what firing a claimed timer did (its firing transaction marked it fired)."""
        self.driver.execute(_FINISH, (outcome[:500], timer.id))

    def add_notices(self, notices: Sequence[Notice], at: datetime) -> None:
        if notices:
            self.connection.execute(sa.insert(outbox), [
                {"case_id": n.case_id, "recipient": n.recipient, "address": n.address,
                 "subject": n.subject, "body": n.body, "created_at": at, "attempts": 0}
                for n in notices])

    def recipients(self, role: str) -> list[tuple[str, str | None]]:
        """Active users holding `role`, with their email addresses, by name."""
        rows = self.connection.execute(sa.select(users.c.name, users.c.roles, users.c.email)
                                       .where(users.c.active.is_(True)).order_by(users.c.name))
        return [(row.name, row.email) for row in rows if role in row.roles]

    def user_email(self, name: str) -> str | None:
        email: str | None = self.connection.execute(
            sa.select(users.c.email).where(users.c.name == name)).scalar()
        return email

    def customer_owner(self, customer_id: str) -> str | None:
        owner: str | None = self.connection.execute(
            sa.select(customers.c.owner).where(customers.c.id == customer_id)).scalar()
        return owner
