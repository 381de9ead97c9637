"""SLA clocks: when they run, pause and stop, how much time they have counted, and when to
look at them next.

A clock counts business time on its calendar (or, when the case says so, time around the clock)
while it runs. It keeps what it counted up to `since`, the start of its current running stretch,
so that nothing needs a tick: the counted time is `elapsed + between(since, now)`. Each change
(start, pause, resume, stop, a new target) rebases it to now and plans one timer, for the next
lateness step (the warning at warn_at, the breach at 1.0, further escalation steps), which the
worker fires (engine/jobs/worker.py). The target is read from the case every time the case changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from engine.kernel.errors import CaseworkError, InvalidInput
from engine.kernel.history import EventDraft, iso
from engine.kernel.records import ClockRecord, ClockStatus, TimerKind, TimerRecord
from engine.kernel.specs import ClockSpec, SlaSpec
from engine.sla.calendars import Calendar

ZERO = timedelta(0)
MAX_TARGET_HOURS = 87_600  # ten years: a due time stays far inside what a datetime holds
HOUR = 3600.0


class Reckoner:
    """Clock arithmetic: business time on a named calendar, or plain time around the clock.
    The calendars may be given as a function that loads them when first needed."""

    def __init__(self, calendars: Mapping[str, Calendar] | Callable[[], Mapping[str, Calendar]]
                 ) -> None:
        self._source = calendars

    @cached_property
    def calendars(self) -> Mapping[str, Calendar]:
        return self._source() if callable(self._source) else self._source

    def calendar(self, name: str) -> Calendar:
        found = self.calendars.get(name)
        if found is None:
            raise CaseworkError(f"calendar '{name}' is not in rules/calendars.yaml (calendars: "
                                f"{', '.join(sorted(self.calendars)) or 'none'})")
        return found

    def between(self, business: bool, calendar: str, start: datetime, end: datetime
                ) -> timedelta:
        if business:
            return self.calendar(calendar).between(start, end)
        return max(end - start, ZERO)

    def add(self, business: bool, calendar: str, start: datetime, amount: timedelta
            ) -> datetime:
        if business:
            return self.calendar(calendar).add(start, amount)
        return start + amount

    def spent(self, clock: ClockRecord, now: datetime) -> timedelta:
        """Time the clock has counted by `now`."""
        if clock.status != ClockStatus.RUNNING or clock.since is None:
            return clock.elapsed
        return clock.elapsed + self.between(clock.business, clock.calendar, clock.since, now)


def as_target(value: Any, clock: str) -> timedelta | None:
    """A target as the case gives it: hours (a number) or a duration; None when not set yet."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        target = value
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        hours = float(value)
        if not 0 < hours <= MAX_TARGET_HOURS:  # checked before timedelta overflows on it
            raise InvalidInput(clock, f"SLA target of clock '{clock}' must be more than zero "
                               f"hours and at most {MAX_TARGET_HOURS:,} (ten years), not {value}")
        target = timedelta(hours=hours)
    else:
        raise InvalidInput(clock, f"SLA target of clock '{clock}' must be hours or a duration, "
                           f"not {value!r}")
    if target <= ZERO:
        raise InvalidInput(clock, f"SLA target of clock '{clock}' must be more than zero "
                           f"hours, not {target.total_seconds() / 3600:g}")
    if target > timedelta(hours=MAX_TARGET_HOURS):
        raise InvalidInput(clock, f"SLA target of clock '{clock}' is "
                           f"{target.total_seconds() / 3600:g} hours; the most is "
                           f"{MAX_TARGET_HOURS:,} (ten years)")
    return target


@dataclass
class ClockWork:
    """What a fire or a look does to a case's clocks, for the caller to write in its
    transaction: clocks to save, history drafts, clocks whose pending timers are replaced."""

    saved: list[ClockRecord] = field(default_factory=list)
    drafts: list[EventDraft] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)
    timers: list[TimerRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ClockSettings:
    """What the case says of a clock now: its target, business time or not, which calendar."""

    target: timedelta | None
    business: bool
    calendar: str


Settings = Callable[[ClockSpec], ClockSettings]


def move_clocks(sla: SlaSpec, clocks: Mapping[str, ClockRecord], case_id: int,
                trigger: str | None, dest: str, settings: Settings, reckoner: Reckoner,
                now: datetime, final: bool = False, entering: bool = True) -> ClockWork:
    """Start, pause, resume and stop clocks for a case that fired `trigger` into `dest`
    (trigger None: the case was just created in `dest`; `entering` False: a conversation
    signal as the trigger, the case staying where it is, so `start_in` starts nothing). A
    `final` state stops every clock: a closed case is never escalated. A `restart_on` trigger
    ends the running round (met or breached) and starts the next at once."""
    work = ClockWork()
    for spec in sla.clocks:
        old = clocks.get(spec.name)
        now_set = settings(spec)
        target, business = now_set.target, now_set.business
        stopping = final or trigger in spec.stop_on or (entering and dest in spec.stop_in)
        restarting = not stopping and trigger in spec.restart_on
        starting = (restarting or trigger in spec.start_on or (entering and dest in spec.start_in)
                    or (trigger is None and not spec.start_on and not spec.start_in))
        if restarting and old is not None and old.status != ClockStatus.STOPPED:
            old = _moved(spec, old, True, dest, now_set, reckoner, now, work)  # met or late
        if old is None or old.status == ClockStatus.STOPPED:
            if not starting or stopping:
                continue
            clock = ClockRecord(case_id, spec.name, ClockStatus.RUNNING, business,
                                now_set.calendar, target, ZERO, now, None, now)
            if dest in spec.pause_in:
                clock = clock.evolve(status=ClockStatus.PAUSED, since=None)
            work.drafts.append(_draft("sla.started", clock, target=_hours(target),
                                      business=business, calendar=clock.calendar))
        else:
            clock = _moved(spec, old, stopping, dest, now_set, reckoner, now, work)
            if clock == old:
                continue
        work.saved.append(clock)
        work.reset.append(clock.name)
        _plan(sla, spec, clock, reckoner, now, work)
    return work


def _moved(spec: ClockSpec, old: ClockRecord, stopping: bool, dest: str,
           now_set: ClockSettings, reckoner: Reckoner, now: datetime,
           work: ClockWork) -> ClockRecord:
    """A started clock after the fire: stopped, paused, resumed or re-targeted (rebased to now
    when anything changed, so the time before counts the way it was counted then)."""
    spent = reckoner.spent(old, now)
    target, business, calendar = now_set.target, now_set.business, now_set.calendar
    if stopping:
        target = target or old.target
        late = target is not None and spent > target
        clock = old.evolve(status=ClockStatus.STOPPED, elapsed=spent, since=None, due_at=None,
                           stopped_at=now, target=target,
                           breached_at=old.breached_at or (now if late else None))
        if target is not None and late and old.breached_at is None:
            work.drafts.append(_draft("sla.breached", clock, lateness=_share(spent, target),
                                      elapsed=_hours(spent), target=_hours(target)))
        work.drafts.append(_draft("sla.met" if not clock.breached_at else "sla.stopped", clock,
                                  elapsed=_hours(spent), target=_hours(target)))
        return clock
    status = old.status
    if dest in spec.pause_in and status == ClockStatus.RUNNING:
        status = ClockStatus.PAUSED
        work.drafts.append(_draft("sla.paused", old, reason=dest, elapsed=_hours(spent)))
    elif dest not in spec.pause_in and status == ClockStatus.PAUSED:
        status = ClockStatus.RUNNING
        work.drafts.append(_draft("sla.resumed", old, elapsed=_hours(spent)))
    if (status, target, business, calendar) == (old.status, old.target, old.business,
                                                old.calendar):
        return old
    if target != old.target:
        work.drafts.append(_draft("sla.retargeted", old, old=_hours(old.target),
                                  new=_hours(target)))
    return old.evolve(status=status, target=target, business=business, calendar=calendar,
                      elapsed=spent, since=now if status == ClockStatus.RUNNING else None)


def look(sla: SlaSpec, spec: ClockSpec, clock: ClockRecord, step: float, reckoner: Reckoner,
         now: datetime) -> tuple[ClockRecord, ClockWork, float]:
    """The clock reaching lateness `step`: warned or breached (each once), and the next step
    planned. Returns the clock, the work, and the step's lateness for the escalation ladder."""
    work = ClockWork()
    spent = reckoner.spent(clock, now)
    target = clock.target
    if target is None:  # a target taken back after the timer was planned: nothing to look at
        return clock, work, 0.0
    if step < 1.0 and clock.warned_at is None:
        clock = clock.evolve(warned_at=now)
        work.drafts.append(_draft("sla.warned", clock, lateness=step, elapsed=_hours(spent),
                                  target=_hours(target), due_at=_iso(clock.due_at)))
    if step >= 1.0 and clock.breached_at is None:
        clock = clock.evolve(breached_at=now)
        work.drafts.append(_draft("sla.breached", clock, lateness=step, elapsed=_hours(spent),
                                  target=_hours(target), due_at=_iso(clock.due_at)))
    work.saved.append(clock.evolve(step=step))
    _plan(sla, spec, work.saved[-1], reckoner, now, work)
    return work.saved[-1], work, step


def _plan(sla: SlaSpec, spec: ClockSpec, clock: ClockRecord, reckoner: Reckoner, now: datetime,
          work: ClockWork) -> None:
    """Due time and the timer for the next lateness step of a running clock with a target
    (the clock's own row in work.saved is updated with its due time)."""
    due: datetime | None = None
    if clock.status == ClockStatus.RUNNING and clock.target is not None:
        spent = reckoner.spent(clock, now)
        due = reckoner.add(clock.business, clock.calendar, now, max(clock.target - spent, ZERO))
        if spent >= clock.target and clock.due_at is not None and clock.due_at <= now:
            # already late: it stays due when its target ran out, not when someone looked
            due = clock.due_at
        later = [s for s in sla.steps(spec) if s > clock.step]
        if later:
            step = later[0]
            at = reckoner.add(clock.business, clock.calendar, now,
                              max(clock.target * step - spent, ZERO))
            work.timers.append(TimerRecord(clock.case_id, TimerKind.SLA, clock.name, at, step=step))
    updated = clock.evolve(due_at=due)
    work.saved = [updated if c.name == clock.name else c for c in work.saved]


def _draft(name: str, clock: ClockRecord, **payload: Any) -> EventDraft:
    return EventDraft(name, {"clock": clock.name, **payload})


def _hours(amount: timedelta | None) -> float | None:
    return None if amount is None else round(amount.total_seconds() / HOUR, 4)


def _share(spent: timedelta, target: timedelta) -> float:
    return round(spent / target, 4)


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None
