"""What entering a state does to a case's deadlines: its state timers and its SLA clocks.

The runtime calls `Scheduler.entered` inside the transaction of every start and fire, before it
writes the case row (the lock order engine/jobs/worker.py relies on): timers of the state left are
cancelled, those of the state entered are armed, and the clocks start, pause, resume, stop or
take a new target. The history drafts it returns go into the same chain as the fire's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from engine.kernel.errors import ExpressionError, InvalidInput
from engine.kernel.expressions import Expression
from engine.kernel.history import EventDraft
from engine.kernel.records import TimerKind, TimerRecord, Transaction
from engine.kernel.specs import SIGNALS, ClockSpec, TimerSpec, WorkflowSpec
from engine.sla.clocks import ClockSettings, Reckoner, as_target, move_clocks

Evaluate = Callable[[Expression], Any]  # CEL over the case as it is after the fire


class Scheduler:
    """Arms and disarms a case's deadlines as it moves."""

    def __init__(self, reckoner: Reckoner) -> None:
        self.reckoner = reckoner

    def entered(self, tx: Transaction, spec: WorkflowSpec, case_id: int, trigger: str | None,
                left: str | None, dest: str, evaluate: Evaluate, now: datetime,
                fired_timer: str | None = None) -> list[EventDraft]:
        """Deadlines after `trigger` moved the case from `left` to `dest` (trigger and left
        None: the case was just created; `fired_timer`: the timer of `left` that fired, which
        the worker has marked fired already)."""
        evaluate = _remembered(evaluate)
        if left != dest:
            if left is not None and any(timer.state == left and timer.name != fired_timer
                                        for timer in spec.timers):
                tx.cancel_timers(case_id, TimerKind.TIMER, None, now)
            armed = [self.arm(timer, case_id, evaluate, now)
                     for timer in spec.timers if timer.state == dest]
            tx.arm_timers(armed, now)
        if spec.sla is None:
            return []
        clocks = tx.clocks(case_id) if left is not None else {}
        signal = trigger in SIGNALS and left == dest  # a message: the case stays where it is
        work = move_clocks(spec.sla, clocks, case_id, trigger, dest,
                           lambda clock: _settings(clock, evaluate, self.reckoner),
                           self.reckoner, now, spec.states[dest].final,
                           entering=not signal)
        rearmed = {timer.name for timer in work.timers}
        dropped = [name for name in work.reset if name not in rearmed]
        if dropped and left is not None:  # the others are retargeted in place
            tx.cancel_timers(case_id, TimerKind.SLA, dropped, now)
        tx.save_clocks(work.saved)
        tx.arm_timers(work.timers, now)
        return work.drafts

    def arm(self, timer: TimerSpec, case_id: int, evaluate: Evaluate,
            now: datetime) -> TimerRecord:
        """The timer of a state just entered, with its due time."""
        return TimerRecord(case_id, TimerKind.TIMER, timer.name, self.due(timer, evaluate, now),
                           trigger=timer.fire)

    def due(self, timer: TimerSpec, evaluate: Evaluate, now: datetime) -> datetime:
        if timer.at is not None:
            moment = _value(timer, timer.at, evaluate)
            if not isinstance(moment, datetime):
                raise InvalidInput(timer.name, f"timer '{timer.name}': 'at' gave {moment!r}, "
                                   "not a timestamp")
            return moment
        if timer.after_expression is not None:
            amount = _value(timer, timer.after_expression, evaluate)
            if not isinstance(amount, timedelta) or amount < timedelta(0):
                raise InvalidInput(timer.name, f"timer '{timer.name}': 'after' gave "
                                   f"{amount!r}, not a duration of 0 or more")
            return now + amount
        delay = timer.after
        assert delay is not None  # the loader gives every timer after, after_expression or at
        if delay.days:
            return self.reckoner.calendar(timer.calendar or "").add_days(now, delay.days)
        return self.reckoner.add(delay.business, timer.calendar or "", now, delay.amount)


def _remembered(evaluate: Evaluate) -> Evaluate:
    """`evaluate` working each expression's text out once: the clocks of an SLA mostly share
    their targets' and calendars' expressions, and the case does not change while its deadlines
    are set. (A failure is not remembered: it is raised again.)"""
    known: dict[str, Any] = {}

    def once(expression: Expression) -> Any:
        if expression.source not in known:
            known[expression.source] = evaluate(expression)
        return known[expression.source]

    return once


def _value(timer: TimerSpec, expression: Expression, evaluate: Evaluate) -> Any:
    try:
        return evaluate(expression)
    except ExpressionError as exc:
        raise InvalidInput(timer.name, f"timer '{timer.name}': {exc}") from None


def _settings(clock: ClockSpec, evaluate: Evaluate, reckoner: Reckoner) -> ClockSettings:
    """A clock's target, whether it counts business time and on which calendar, as the case
    says now. A target the case does not give yet (a field not set) leaves the clock without
    one for now; a calendar expression must name a calendar that exists."""
    try:
        target = as_target(evaluate(clock.target), clock.name)
    except ExpressionError:
        target = None
    business = True
    if clock.business is not None:
        try:
            business = evaluate(clock.business) is not False
        except ExpressionError:
            business = True
    calendar = clock.calendar or ""
    if clock.calendar_expression is not None:
        try:
            chosen = evaluate(clock.calendar_expression)
        except ExpressionError as exc:
            raise InvalidInput(clock.name, f"clock '{clock.name}': 'calendar' {exc}") from None
        if not isinstance(chosen, str) or chosen not in reckoner.calendars:
            raise InvalidInput(clock.name, f"clock '{clock.name}': 'calendar' gave {chosen!r}, "
                               f"not one of the calendars ({', '.join(reckoner.calendars)})")
        calendar = chosen
    return ClockSettings(target, business, calendar)
