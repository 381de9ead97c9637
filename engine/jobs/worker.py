"""Firing due timers: `fire_due_timers(now) -> int`, and the loop `casework worker` runs.

Each timer is claimed and fired in one transaction: the trigger's transition (or the clock's
escalation), its history and the timer marked fired commit together or not at all, so a timer
fires exactly once even when a worker dies halfway (its transaction rolls back and the timer is
due again) and with any number of workers (PostgreSQL hands each due row to one of them:
`FOR UPDATE SKIP LOCKED`).

Lock order: a worker locks the timer row, then the case row. A fire by a person writes the case's
timers and clocks before the case row (engine.cases.scheduling runs before the case is written), so
both take the locks in the same order and cannot deadlock: the later one waits, then finds the
case changed (a conflict for the person, a retry for the worker).

Between sweeps it also sends the outbox, every CASEWORK_MAIL_INTERVAL seconds, when an SMTP
server is set (engine.jobs.outbox).

One broken timer must not block the others: an error rolls its transaction back, and the failure
is recorded in a transaction of its own with the time of the next attempt (backing off from 30 s
to an hour). It stays pending, is shown as failing, and is never lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.cases.runtime import Runtime
from engine.cases.submissions import KEPT
from engine.jobs.escalation import SYSTEM, Escalator
from engine.jobs.outbox import MailUnreachable, OutboxRun, Sending
from engine.kernel.errors import TransitionRefused
from engine.kernel.history import EventDraft
from engine.kernel.records import TimerKind, TimerRecord, TimerStore, Transaction

log = logging.getLogger("casework.worker")
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def retry_after(attempts: int) -> timedelta:
    """How long to wait after the attempts-th failure (1, 2, ...): doubling, capped."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


class Worker:
    def __init__(self, timers: TimerStore, runtime: Runtime, escalator: Escalator,
                 mail: OutboxRun | None = None) -> None:
        self.timers = timers
        self.runtime = runtime
        self.escalator = escalator
        self.mail = mail  # None: no SMTP server set, the outbox is only read

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
        A failing timer is recorded and retried later; `stop` ends the sweep between timers."""
        fired = 0
        while not stop():
            claimed: TimerRecord | None = None
            try:
                with self.timers.claimed(now) as (tx, timer):
                    if timer is None:
                        break
                    claimed = timer
                    outcome = self._fire(tx, timer, now)
                    tx.finish_timer(timer, outcome)
                fired += 1
            except Exception as exc:  # isolate it, record it, go on with the others
                if claimed is None:
                    raise  # no timer in hand: the database itself failed
                error = f"{type(exc).__name__}: {exc}"
                log.warning("timer %s (case %s) failed: %s", claimed.id, claimed.case_id, error)
                self.timers.failed(claimed, error[:2000],
                                   now + retry_after(claimed.attempts + 1))
        return fired

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
            except Exception:  # the database may be back next time: keep sweeping
                log.exception("a sweep failed; trying again in %s s", self.interval)
            else:
                self.sweeps += 1
                self.on_sweep(now, fired)
            self._stopping.wait(self.interval)
