"""Firing due timers: `fire_due_timers(now) -> int`, and the loop `casework worker` runs.

A worker claims a batch of due timers under a lease (CASEWORK_TIMER_LEASE), then fires each in
a transaction of its own: the trigger's transition (or the clock's escalation), its history and
the timer marked fired commit together or not at all, and only while the worker's claim holds
(engine/store/sweeps.py). So a timer fires exactly once even when a worker dies halfway (its
transaction rolls back; the timer is due again, taken over by another worker once the lease has
run out) and with any number of workers (a claim skips the rows others hold: PostgreSQL's
`FOR UPDATE SKIP LOCKED`). A worker that stops (rather than dies) without firing what it
claimed hands it back.

A worker that *vanished* halfway through a fire (stopped, its connection still open) would keep
its PostgreSQL row locks until TCP keepalive noticed, hours later: a worker's sessions ask the
server to end a transaction left idle for the lease (engine/store/db.py), which rolls it back.

Lock order: a worker locks the timer row, then the case row. A fire by a person writes the case's
timers and clocks before the case row (engine.cases.scheduling runs before the case is written), so
both take the locks in the same order and cannot deadlock: the later one waits, then finds the
case changed (a conflict for the person, a retry for the worker).

Between sweeps it also sends the outbox, every CASEWORK_MAIL_INTERVAL seconds, when an SMTP
server is set (engine.jobs.outbox).

One broken timer must not block the others: an error rolls its transaction back, and the failure
is recorded in a transaction of its own with the time of the next attempt (backing off from 30 s
to an hour). It stays pending, is shown as failing, and is never lost. A busy database (a lock not
granted within CASEWORK_LOCK_TIMEOUT) is no failure of the timer: the sweep ends, and the next
one tries again.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from engine.cases.runtime import Runtime
from engine.cases.submissions import KEPT
from engine.jobs.escalation import SYSTEM, Escalator
from engine.jobs.metrics import TIMERS
from engine.jobs.outbox import MailUnreachable, OutboxRun, Sending
from engine.kernel.errors import Busy, TransitionRefused
from engine.kernel.history import EventDraft
from engine.kernel.records import TimerKind, TimerRecord, TimerStore, Transaction

log = logging.getLogger("casework.worker")
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
LEASE = timedelta(seconds=60)  # engine.kernel.settings' CASEWORK_TIMER_LEASE
# Timers claimed at once under one lease: a claim is a transaction of its own, and 20 fires
# take well under a second, far inside any lease.
CLAIM = 20


def worker_name() -> str:
    """This worker's name in the claims it makes: the machine, the process, and a random part
    (a pid is reused after a restart, and two Workers may share a process)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def real_time() -> datetime:
    return datetime.now(UTC)


def retry_after(attempts: int) -> timedelta:
    """How long to wait after the attempts-th failure (1, 2, ...): doubling, capped."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


class Worker:
    def __init__(self, timers: TimerStore, runtime: Runtime, escalator: Escalator,
                 mail: OutboxRun | None = None, lease: timedelta = LEASE,
                 wall: Callable[[], datetime] = real_time) -> None:
        self.timers = timers
        self.runtime = runtime
        self.escalator = escalator
        self.mail = mail  # None: no SMTP server set, the outbox is only read
        self.lease = lease
        self.wall = wall  # the real time, for leases (`now` may be a scenario's)
        self.name = worker_name()

    def send_mail(self, now: datetime, clock: Callable[[], datetime]) -> Sending | None:
        """Send the outbox if its interval has passed (engine.jobs.outbox); None if it was not
        due. An unreachable server is logged: its mail waits for the next run."""
        if self.mail is None or not self.mail.due(now):
            return None
        try:
            return self.mail.run(now, clock)
        except MailUnreachable as exc:
            log.warning("the outbox was not sent: %s", exc)
            return None

    def fire_due_timers(self, now: datetime, stop: Callable[[], bool] = lambda: False) -> int:
        """Fire every timer due by `now`, each in its own transaction; return how many fired.
        A failing timer is recorded and retried later; `stop` ends the sweep between timers;
        a busy database ends it too (the next sweep tries again)."""
        fired = 0
        while not stop():
            wall = self.wall()
            claimed = self.timers.claim(now, self.name, wall, wall + self.lease, CLAIM)
            if not claimed:
                break
            done, finished = self._fire_claimed(claimed, now, stop)
            fired += done
            if not finished:
                break
        return fired

    def _fire_claimed(self, claimed: Sequence[TimerRecord], now: datetime,
                      stop: Callable[[], bool]) -> tuple[int, bool]:
        """Fire the claimed timers in order: how many fired, and whether all were tried."""
        fired = 0
        for index, timer in enumerate(claimed):
            try:
                if stop():
                    self._hand_back(claimed[index:])
                    return fired, False
                fired += self._fire_one(timer, now)
            except Busy as busy:  # not the timer's failure: it is tried again later
                log.warning("timer %s (case %s) waits for the next sweep: %s", timer.id,
                            timer.case_id, busy)
                self._hand_back(claimed[index:])
                return fired, False
        return fired, True

    def _fire_one(self, timer: TimerRecord, now: datetime) -> int:
        """Fire one claimed timer: 1 if it fired, 0 if it failed (recorded) or the claim was
        lost meanwhile (another worker took it over after the lease, or it was retargeted)."""
        try:
            with self.timers.firing(timer, self.name, now) as tx:
                if tx is None:
                    log.info("timer %s (case %s) is no longer this worker's to fire", timer.id,
                             timer.case_id)
                    TIMERS.labels(timer.kind, "lost").inc()
                    return 0
                outcome = self._fire(tx, timer, now)
                tx.finish_timer(timer, outcome)
            TIMERS.labels(timer.kind, "skipped" if outcome.startswith("skipped") else
                          "fired").inc()
            return 1
        except Busy:
            raise
        except Exception as exc:  # isolate it, record it, go on with the others
            error = f"{type(exc).__name__}: {exc}"
            log.warning("timer %s (case %s) failed: %s", timer.id, timer.case_id, error)
            self.timers.failed(timer, self.name, error[:2000],
                               now + retry_after(timer.attempts + 1))
            TIMERS.labels(timer.kind, "failed").inc()
            return 0

    def _hand_back(self, claimed: Sequence[TimerRecord]) -> None:
        """Release claims not fired, so that other workers need not wait for the lease; on a
        busy database they stay this worker's, and its next sweep takes them up."""
        with suppress(Busy):
            self.timers.release(claimed, self.name)

    def forget_submissions(self, now: datetime) -> int:
        """Forget the form and API submission keys older than a day (engine.cases.submissions);
        how many."""
        return self.timers.forget_submissions(now - KEPT)

    def _fire(self, tx: Transaction, timer: TimerRecord, now: datetime) -> str:
        if timer.kind == TimerKind.SLA:
            return self.escalator.look(tx, timer, now)
        assert timer.trigger is not None  # a workflow timer always names its trigger
        try:
            self.runtime.fire_in(tx, timer.case_id, timer.trigger, SYSTEM, now,
                                 timer=timer.name)
        except TransitionRefused as refused:  # refused before anything was written: skip it
            case = tx.get_case(timer.case_id)
            self.runtime.amend(tx, case, case, None, [EventDraft("timer.skipped", {
                "timer": timer.name, "trigger": timer.trigger, "reason": str(refused)})],
                SYSTEM, now)
            return f"skipped: {refused}"
        return f"fired {timer.trigger}"


class Sweeper:
    """Sweeps every `interval` seconds, on a thread of its own, until stopped: the worker that
    `casework worker` runs, and that a web process can run beside its requests. It holds no
    deadline itself (they are all in the database); a sweep that fails, e.g. while the database
    is away, is logged and the next one tries again."""

    def __init__(self, worker: Worker, clock: Callable[[], datetime], interval: float,
                 on_sweep: Callable[[datetime, int], None] = lambda at, fired: None) -> None:
        self.worker = worker
        self.clock = clock
        self.interval = interval
        self.on_sweep = on_sweep
        self.sweeps = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="casework-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask it to stop after the timer in hand, and wait for it."""
        self._stopping.set()
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = self.clock()
            try:
                fired = self.worker.fire_due_timers(now, stop=self._stopping.is_set)
                self.worker.forget_submissions(now)
                self.worker.send_mail(now, self.clock)
            except Busy as busy:  # another writer holds the database: no failure, try later
                log.warning("a sweep was cut short: %s", busy)
            except Exception:  # the database may be back next time: keep sweeping
                log.exception("a sweep failed; trying again in %s s", self.interval)
            else:
                self.sweeps += 1
                self.on_sweep(now, fired)
            self._stopping.wait(self.interval)
