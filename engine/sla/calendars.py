"""Business calendars: when work happens, so that deadlines count working time, not wall time.

A `Calendar` is loaded once (engine/sla/loading.py) and never changes. Its weekly hours are
local wall times in its time zone; country holidays (the `holidays` package, built per year on
first use), listed closed dates and extra working days adjust single local days.

How wall times become instants: each boundary is the first instant at which the local clock
shows that time or later. So on the night clocks jump forward (Europe/Berlin 02:00 -> 03:00) an
interval 01:00-05:00 lasts 3 real hours and one starting 02:30 starts at 03:00; on the night
they fall back, 01:00-05:00 lasts 5 real hours. A holiday closes its whole local day, including
the part of the previous day's interval that runs past midnight into it.

All arithmetic is on UTC instants (exact to the microsecond); each local day is computed once
and cached, so adding a year of business time walks about 365 cached days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import holidays as holiday_data

from engine.kernel.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)
_CACHED_DAYS = 20_000  # per calendar; about 55 years of days, cleared when full


class Span(NamedTuple):
    """Working time of one local day, in minutes after its midnight: 0 <= start < 1440 and
    start < end <= start + 1440 (end beyond 1440 runs past midnight into the next day)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end % MINUTES_PER_DAY or self.end)}"


class _Day(NamedTuple):
    """One local day as UTC instants: [start, end) and its working intervals within it."""

    start: datetime
    end: datetime
    spans: tuple[tuple[datetime, datetime], ...]
    total: timedelta


@dataclass(frozen=True)
class Calendar:
    """A named business calendar: weekly hours in a time zone, minus holidays, plus extra
    working days. Every method takes and returns timezone-aware instants (results in UTC)."""

    name: str
    title: str
    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...]  # Monday first, seven days
    country: str | None = None  # holidays of this country (ISO code) close their local day
    subdivision: str | None = None
    closed: frozenset[date] = frozenset()  # listed closed days
    working: dict[date, tuple[Span, ...]] = field(default_factory=dict, hash=False)
    _days: dict[date, _Day] = field(default_factory=dict, init=False, repr=False,
                                    compare=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.week) != len(WEEKDAYS) or not any(self.week):
            raise InvalidInput("week", f"calendar '{self.name}' needs seven days of hours "
                               "(Monday first) with working time on at least one of them")

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of business time has passed since `start`.

        A zero amount gives `start` itself, even at a closed time: nothing has to pass. When the
        amount runs out exactly at the end of an interval, that end is the answer (not the next
        opening), so `add(add(s, a), b) == add(s, a + b)`.
        """
        moment = _instant(start, "start")
        if amount < ZERO:
            raise InvalidInput("amount", f"business time to add must not be negative, not "
                               f"{amount}")
        left = amount
        if left == ZERO:
            return moment
        day = self._day_of(moment)
        while True:
            current = self._day(day)
            if current.start >= moment and current.total < left:
                left -= current.total  # a whole day that does not finish it
            else:
                for opens, closes in current.spans:
                    begins = max(opens, moment)
                    if closes <= begins:
                        continue
                    if left <= closes - begins:
                        return begins + left
                    left -= closes - begins
            day = _next(day)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); zero when end is not after start."""
        first, last = _instant(start, "start"), _instant(end, "end")
        total = ZERO
        if last <= first:
            return total
        day = self._day_of(first)
        while (current := self._day(day)).start < last:
            if current.start >= first and current.end <= last:
                total += current.total
            else:
                for opens, closes in current.spans:
                    overlap = min(closes, last) - max(opens, first)
                    if overlap > ZERO:
                        total += overlap
            day = _next(day)
        return total

    def add_days(self, start: datetime, days: int) -> datetime:
        """`days` working days on: from the first open moment at or after `start`, the same
        local time that many working days later, or the next open moment after it."""
        if days < 0:
            raise InvalidInput("days", f"working days to add must not be negative, not {days}")
        begin = self.next_open(start).astimezone(self.zone)
        day, left = begin.date(), days
        while left:
            day = _next(day)
            left -= bool(self.hours_of(day))
        return self.next_open(datetime.combine(day, begin.time(), tzinfo=self.zone))

    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` is business time (intervals include their start, not their end)."""
        instant = _instant(moment, "moment")
        spans = self._day(self._day_of(instant)).spans
        return any(opens <= instant < closes for opens, closes in spans)

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself when open, otherwise the next instant business time begins."""
        instant = _instant(moment, "moment")
        day = self._day_of(instant)
        while True:
            for opens, closes in self._day(day).spans:
                if closes > instant:
                    return max(opens, instant)
            day = _next(day)

    def is_closed_day(self, day: date) -> bool:
        """Whether the local day is closed all day by a holiday or a listed date."""
        if day in self.working:
            return False
        return day in self.closed or (
            self.country is not None and day in _holidays(self.country, self.subdivision,
                                                          day.year))

    def hours_of(self, day: date) -> tuple[Span, ...]:
        """The working spans that start on a local day (none on a closed day)."""
        if self.is_closed_day(day):
            return ()
        return self.working.get(day, self.week[day.weekday()])

    # --- local days as UTC instants ----------------------------------------------------------

    def _day(self, day: date) -> _Day:
        found = self._days.get(day)
        if found is None:
            if len(self._days) >= _CACHED_DAYS:
                self._days.clear()
            try:
                found = self._days[day] = self._build(day)
            except OverflowError:
                raise _beyond() from None
        return found

    def _build(self, day: date) -> _Day:
        start, end = self._wall(day, 0), self._wall(day, MINUTES_PER_DAY)
        if self.is_closed_day(day):
            return _Day(start, end, (), ZERO)
        pieces = []
        for anchor in (day - _ONE_DAY, day):  # yesterday's spans may run past midnight
            for span in self.hours_of(anchor):
                opens = max(self._wall(anchor, span.start), start)
                closes = min(self._wall(anchor, span.end), end)
                if opens < closes:
                    pieces.append((opens, closes))
        merged: list[tuple[datetime, datetime]] = []
        for opens, closes in sorted(pieces):
            if merged and opens <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
            else:
                merged.append((opens, closes))
        return _Day(start, end, tuple(merged), sum((b - a for a, b in merged), ZERO))

    def _day_of(self, instant: datetime) -> date:
        """The local day whose [start, end) holds the instant."""
        try:
            day = instant.astimezone(self.zone).date()
            while instant < self._day(day).start:  # only around a transition at midnight
                day -= _ONE_DAY
        except OverflowError:
            raise _beyond() from None
        while instant >= self._day(day).end:
            day = _next(day)
        return day

    def _wall(self, day: date, minute: int) -> datetime:
        """The first instant at which the local clock shows `minute` past the day's midnight
        (minute may be up to two days) or later."""
        days, minute = divmod(minute, MINUTES_PER_DAY)
        wall = datetime.combine(day + timedelta(days=days), time(minute // 60, minute % 60))
        early = wall.replace(tzinfo=self.zone).astimezone(UTC)  # the first, when it repeats
        if early.astimezone(self.zone).replace(tzinfo=None) == wall:
            return early
        # The clocks jump over this wall time: the answer is the instant they jump, found by
        # halving between the two readings of the offset (transitions fall on whole seconds).
        before, after = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC), early
        while after - before > _ONE_SECOND:
            middle = before + timedelta(seconds=(after - before) // _ONE_SECOND // 2)
            if middle.astimezone(self.zone).replace(tzinfo=None) >= wall:
                after = middle
            else:
                before = middle
        return after


@lru_cache(maxsize=512)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year))


def _instant(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(name, f"needs a timezone-aware datetime (such as "
                           f"2026-03-02T09:00:00+01:00), not {value!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _beyond() from None


def _next(day: date) -> date:
    try:
        return day + _ONE_DAY
    except OverflowError:
        raise _beyond() from None


def _beyond() -> InvalidInput:
    return InvalidInput("moment", "business time is only counted between the years 1 and 9999")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
