"""Timers, SLA clocks and the outbox in SQL, as one transaction writes them: mixed into the
runtime's transaction (arming, cancelling, saving clocks inside a fire). The worker's side,
claiming due timers, is engine/store/sweeps.py.
"""

from __future__ import annotations

from collections.abc import Sequence
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
)
from engine.store.schema import cases, customers, outbox, sla_clocks, timers, users

_CLOCK_KEYS = ("case_id", "name")
# Statements of every fire of a workflow with deadlines, built once (building costs more than
# running them on SQLite).
_PENDING = [timers.c.case_id == sa.bindparam("of_case"),
            timers.c.kind == sa.bindparam("of_kind"), timers.c.state == "pending"]
_CANCEL_ALL = sa.update(timers).where(*_PENDING).values(state="cancelled",
                                                        done_at=sa.bindparam("when"))
_CANCEL_NAMED = (sa.update(timers)
                 .where(*_PENDING, timers.c.name.in_(sa.bindparam("names", expanding=True)))
                 .values(state="cancelled", done_at=sa.bindparam("when")))
_FINISH = (sa.update(timers).where(timers.c.id == sa.bindparam("timer_id"))
           .values(state="fired", outcome=sa.bindparam("what"), done_at=sa.bindparam("when")))
_ADD = sa.insert(timers)
_CLOCKS = sa.select(sla_clocks).where(sla_clocks.c.case_id == sa.bindparam("of_case"))


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


def _clock_row(clock: ClockRecord) -> dict[str, Any]:
    return {
        "case_id": clock.case_id, "name": clock.name, "status": clock.status,
        "business": clock.business, "calendar": clock.calendar,
        "target_seconds": None if clock.target is None else clock.target.total_seconds(),
        "elapsed_seconds": clock.elapsed.total_seconds(), "since": clock.since,
        "due_at": clock.due_at, "started_at": clock.started_at, "warned_at": clock.warned_at,
        "breached_at": clock.breached_at, "stopped_at": clock.stopped_at,
        "level": clock.level, "step": clock.step,
    }


def timer_record(row: Row[Any]) -> TimerRecord:
    m = row._mapping
    return TimerRecord(m["case_id"], TimerKind(m["kind"]), m["name"], m["due_at"], m["trigger"],
                       m["step"], m["id"], m["attempts"], m["last_error"])


class TimerWrites:
    """Timer, clock and notice writes of one transaction (mixed into SqlTransaction)."""

    connection: Connection

    def clocks(self, case_id: int) -> dict[str, ClockRecord]:
        rows = self.connection.execute(_CLOCKS, {"of_case": case_id})
        return {row.name: clock_record(row) for row in rows}

    def save_clocks(self, clocks: Sequence[ClockRecord]) -> None:
        for clock in clocks:
            row = _clock_row(clock)
            done = self.connection.execute(
                sa.update(sla_clocks).where(sla_clocks.c.case_id == clock.case_id,
                                            sla_clocks.c.name == clock.name)
                .values({k: v for k, v in row.items() if k not in _CLOCK_KEYS}))
            if done.rowcount == 0:
                self.connection.execute(sa.insert(sla_clocks).values(row))
        # the case row after its clocks: the lock order engine/jobs/worker.py relies on
        for case_id in sorted({clock.case_id for clock in clocks}):
            self.connection.execute(_KEEP_SLA, {"of_case": case_id})

    def add_timers(self, new: Sequence[TimerRecord], at: datetime) -> None:
        if new:
            self.connection.execute(_ADD, [
                {"case_id": t.case_id, "kind": t.kind, "name": t.name, "trigger": t.trigger,
                 "step": t.step, "due_at": t.due_at, "retry_at": t.due_at, "state": "pending",
                 "attempts": 0, "created_at": at} for t in new])

    def cancel_timers(self, case_id: int, kind: TimerKind, names: Sequence[str] | None,
                      at: datetime) -> None:
        """Disarm the pending timers of a case of one kind (all of them, or those named)."""
        which = {"of_case": case_id, "of_kind": kind, "when": at}
        if names is None:
            self.connection.execute(_CANCEL_ALL, which)
        else:
            self.connection.execute(_CANCEL_NAMED, {**which, "names": list(names)})

    def finish_timer(self, timer: TimerRecord, outcome: str, at: datetime) -> None:
        self.connection.execute(_FINISH, {"timer_id": timer.id, "what": outcome[:500],
                                          "when": at})

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
