"""Business-calendar YAML -> Calendar by name, with every problem reported as path:line.

    calendars:
      office:
        title: Office hours, Germany          # optional; the name by default
        timezone: Europe/Berlin               # IANA time zone
        hours:                                # a weekday left out (or []) is closed
          mon: ["08:00-12:00", "13:00-17:00"]
          fri: ["22:00-06:00"]                # past midnight: Friday 22:00 to Saturday 06:00
        holidays:                             # each closes its whole local day
          country: DE                         # the `holidays` package's country holidays
          subdivision: BE                     # optional: a state or province of the country
          dates: [2026-12-24, 2026-12-31]     # further closed days
        working_days:                         # days worked although a weekend or holiday
          - 2026-12-28                        # that weekday's usual hours
          - {date: 2026-12-27, hours: ["10:00-14:00"]}
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holiday_data

from engine.kernel.errors import DefinitionError, Problem
from engine.kernel.yaml_source import (
    IDENTIFIER,
    Checker,
    Node,
    NodeList,
    known_list,
    parse,
    read_source,
    suggest,
)
from engine.sla.calendars import MINUTES_PER_DAY, WEEKDAYS, Calendar, Span

FILE_KEYS = {"calendars"}
CALENDAR_KEYS = {"title", "timezone", "hours", "holidays", "working_days"}
HOLIDAY_KEYS = {"country", "subdivision", "dates"}
WORKING_DAY_KEYS = {"date", "hours"}
INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*$")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK = len(WEEKDAYS) * MINUTES_PER_DAY

# (start, end, label, line): a span placed on a timeline, for the overlap check
_Placed = tuple[int, int, str, int]


def load_calendars_file(path: Path) -> dict[str, Calendar]:
    return load_calendars_text(read_source(path), str(path))


def load_calendars_text(text: str, path: str) -> dict[str, Calendar]:
    """Parse and check a calendars file; raise DefinitionError listing every problem."""
    document, problems = parse(text, path)
    loader = _CalendarLoader(path, problems)
    calendars = loader.load(document)
    if loader.problems:
        raise DefinitionError(loader.problems)
    return calendars


class _CalendarLoader(Checker):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems

    def load(self, doc: Any) -> dict[str, Calendar]:
        if not isinstance(doc, Node) or not isinstance(doc.get("calendars"), Node) \
                or not doc["calendars"]:
            where = doc.line_of("calendars") if isinstance(doc, Node) else \
                getattr(doc, "line", 1)
            self.problem(where, "a calendars file is a mapping 'calendars:' that names each "
                         "calendar, such as 'office:' with its timezone and hours")
            return {}
        self.keys(doc, FILE_KEYS, "a calendars file")
        calendars = doc["calendars"]
        result = {}
        for name, body in calendars.items():
            line = calendars.line_of(name)
            if not IDENTIFIER.match(name):
                self.problem(line, f"calendar name '{name}' must be a lower-case identifier "
                             "such as 'office' or 'support_24x7'")
            if not isinstance(body, Node):
                self.problem(line, f"calendar '{name}' must be a mapping with 'timezone' and "
                             "'hours'")
                continue
            calendar = self.calendar(name, body)
            if calendar is not None:
                result[name] = calendar
        return result

    def calendar(self, name: str, body: Node) -> Calendar | None:
        before = len(self.problems)
        what = f"calendar '{name}'"
        self.keys(body, CALENDAR_KEYS, what)
        title = body.get("title", name)
        if not isinstance(title, str):
            self.problem(body.line_of("title"), f"{what}: 'title' must be text, not {title!r}")
        zone = self.zone(body, what)
        week = self.week(body, what)
        country, subdivision, closed = self.holidays(body.get("holidays"),
                                                     body.line_of("holidays"), what)
        working = self.working_days(body.get("working_days"), body.line_of("working_days"),
                                    what, week, closed)
        if len(self.problems) > before or zone is None or week is None:
            return None
        return Calendar(name, str(title), zone, week, country, subdivision,
                        frozenset(closed), working)

    def zone(self, body: Node, what: str) -> ZoneInfo | None:
        key = body.get("timezone")
        line = body.line_of("timezone")
        if not isinstance(key, str):
            self.problem(line, f"{what} needs 'timezone', an IANA time zone such as "
                         f"Europe/Berlin or UTC, not {key!r}")
            return None
        try:
            return ZoneInfo(key)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(line, f"{what}: unknown time zone '{key}'"
                         f"{_suggest(key, available_timezones())} (IANA names such as "
                         "Europe/Berlin, America/New_York or UTC)")
            return None

    # --- hours ------------------------------------------------------------------------------

    def week(self, body: Node, what: str) -> tuple[tuple[Span, ...], ...] | None:
        hours = body.get("hours")
        if not isinstance(hours, Node):
            self.problem(body.line_of("hours"), f"{what} needs 'hours', a mapping of weekdays "
                         f"({', '.join(WEEKDAYS)}) to intervals, such as "
                         'mon: ["08:00-12:00", "13:00-17:00"]')
            return None
        before = len(self.problems)
        week: list[list[Span]] = [[] for _ in WEEKDAYS]
        placed: list[_Placed] = []
        for day, value in hours.items():
            line = hours.line_of(day)
            if day not in WEEKDAYS:
                self.problem(line, f"{what}: unknown weekday '{day}'{_suggest(day, WEEKDAYS)} "
                             f"(weekdays: {', '.join(WEEKDAYS)})")
                continue
            offset = WEEKDAYS.index(day) * MINUTES_PER_DAY
            for span, where in self.spans(value, line, f"{what}, {day}"):
                week[WEEKDAYS.index(day)].append(span)
                placed.extend(_wrapped(offset + span.start, offset + span.end,
                                       f"{day} {span}", where))
        self.overlaps(placed, what)
        if len(self.problems) > before:
            return None
        if not any(week):
            self.problem(hours.line, f"{what} has no working hours at all; give at least one "
                         'weekday its hours, such as mon: ["08:00-17:00"]')
            return None
        return tuple(tuple(sorted(day)) for day in week)

    def spans(self, value: Any, line: int, what: str) -> list[tuple[Span, int]]:
        """The spans of one day, each with its line; None (an empty entry) is a closed day."""
        if value is None:
            return []
        if not isinstance(value, NodeList):
            self.problem(line, f'{what}: hours must be a list of "HH:MM-HH:MM" intervals, '
                         f'such as ["08:00-12:00", "13:00-17:00"], not {value!r}')
            return []
        spans = []
        for index, text in enumerate(value):
            where = value.line_of(index)
            span = self.span(text, where, what)
            if span is not None:
                spans.append((span, where))
        return spans

    def span(self, text: Any, line: int, what: str) -> Span | None:
        match = INTERVAL.match(text) if isinstance(text, str) else None
        if match is None:
            self.problem(line, f'{what}: {text!r} is not an interval "HH:MM-HH:MM" such as '
                         '"08:00-17:00" (quote it in YAML)')
            return None
        hour, minute, end_hour, end_minute = map(int, match.groups())
        if hour > 23 or minute > 59 or end_minute > 59 or end_hour > 24 or \
                (end_hour == 24 and end_minute):
            self.problem(line, f"{what}: {text!r} is not a time of day; hours run 00-23 "
                         "(24:00 only as an end) and minutes 00-59")
            return None
        start, end = hour * 60 + minute, end_hour * 60 + end_minute
        if end == start:
            self.problem(line, f"{what}: {text!r} ends when it starts; for a whole day write "
                         '"00:00-24:00"')
            return None
        return Span(start, end if end > start else end + MINUTES_PER_DAY)

    def overlaps(self, placed: list[_Placed], what: str) -> None:
        latest: _Placed | None = None
        for piece in sorted(placed):
            if latest is not None and piece[0] < latest[1]:
                self.problem(piece[3], f"{what}: '{piece[2]}' overlaps '{latest[2]}' (line "
                             f"{latest[3]}); merge them into one interval or shorten one")
            if latest is None or piece[1] > latest[1]:
                latest = piece

    # --- holidays and working days --------------------------------------------------------------

    def holidays(self, value: Any, line: int,
                 what: str) -> tuple[str | None, str | None, dict[date, int]]:
        if value is None:
            return None, None, {}
        if not isinstance(value, Node):
            self.problem(line, f"{what}: 'holidays' is a mapping with 'country', 'subdivision' "
                         "and 'dates'")
            return None, None, {}
        self.keys(value, HOLIDAY_KEYS, f"{what} holidays")
        country, subdivision = value.get("country"), value.get("subdivision")
        if country is not None and not self.country(country, value.line_of("country"), what):
            country = subdivision = None
        elif subdivision is not None and not self.subdivision(
                country, subdivision, value.line_of("subdivision"), what):
            subdivision = None
        return country, subdivision, self.closed_dates(value.get("dates"),
                                                       value.line_of("dates"), what)

    def closed_dates(self, dates: Any, line: int, what: str) -> dict[date, int]:
        """The listed closed days, each with its line."""
        if dates is None:
            return {}
        if not isinstance(dates, NodeList):
            self.problem(line, f"{what}: holiday 'dates' must be a list of dates such as "
                         "[2026-12-24, 2026-12-31]")
            return {}
        closed: dict[date, int] = {}
        for index, item in enumerate(dates):
            day = self.date(item, dates.line_of(index), what)
            if day is not None:
                closed.setdefault(day, dates.line_of(index))
        return closed

    def country(self, country: Any, line: int, what: str) -> bool:
        try:
            if not isinstance(country, str):
                raise NotImplementedError
            holiday_data.country_holidays(country)
        except NotImplementedError:
            codes = holiday_data.list_supported_countries()
            self.problem(line, f"{what}: the holidays package has no country {country!r}"
                         f"{_suggest(str(country), codes)} (ISO 3166 codes such as DE, AT, "
                         "FR, GB, US)")
            return False
        return True

    def subdivision(self, country: Any, subdivision: Any, line: int, what: str) -> bool:
        if country is None:
            self.problem(line, f"{what}: a holiday 'subdivision' needs a 'country' too")
            return False
        known = holiday_data.list_supported_countries().get(country) or \
            holiday_data.country_holidays(country).subdivisions
        try:
            if not isinstance(subdivision, str):
                raise NotImplementedError
            holiday_data.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            self.problem(line, f"{what}: {country} has no holiday subdivision {subdivision!r}"
                         f"{_suggest(str(subdivision), known)} (subdivisions: "
                         f"{known_list(known)}; quote codes that look like numbers)")
            return False
        return True

    def working_days(self, value: Any, line: int, what: str,
                     week: tuple[tuple[Span, ...], ...] | None,
                     closed: dict[date, int]) -> dict[date, tuple[Span, ...]]:
        if value is None:
            return {}
        if not isinstance(value, NodeList):
            self.problem(line, f"{what}: 'working_days' must be a list of dates, each either "
                         'a date or {date: 2026-12-27, hours: ["10:00-14:00"]}')
            return {}
        working: dict[date, tuple[Span, ...]] = {}
        lines: dict[date, int] = {}
        for index, item in enumerate(value):
            where = value.line_of(index)
            day, hours = self.working_day(item, where, what, week)
            if day is None or hours is None:
                continue
            if day in closed:
                self.problem(where, f"{what}: {day} is both a closed holiday date (line "
                             f"{closed[day]}) and a working day; remove one of them")
            elif day in lines:
                self.problem(where, f"{what}: working day {day} is listed twice (first at line "
                             f"{lines[day]}); remove one")
            else:
                working[day], lines[day] = hours, where
        return working

    def working_day(self, item: Any, line: int, what: str,
                    week: tuple[tuple[Span, ...], ...] | None,
                    ) -> tuple[date | None, tuple[Span, ...] | None]:
        """The day and its hours; None hours when they cannot be told (a problem, or the weekly
        hours did not load)."""
        if not isinstance(item, Node):
            day = self.date(item, line, what)
            return day, self.usual_hours(day, line, what, week)
        self.keys(item, WORKING_DAY_KEYS, f"{what} working day")
        day = self.date(item.get("date"), item.line_of("date"), what)
        if "hours" not in item:
            return day, self.usual_hours(day, line, what, week)
        before = len(self.problems)
        spans = self.spans(item["hours"], item.line_of("hours"), f"{what}, {day}")
        self.overlaps([(s.start, s.end, str(s), where) for s, where in spans], what)
        if not spans and len(self.problems) == before:
            self.problem(item.line_of("hours"), f"{what}: working day {day} needs at least one "
                         "interval in 'hours'; to close a day, list it under holidays 'dates'")
        if len(self.problems) > before:
            return day, None
        return day, tuple(sorted(span for span, _ in spans))

    def usual_hours(self, day: date | None, line: int, what: str,
                    week: tuple[tuple[Span, ...], ...] | None) -> tuple[Span, ...] | None:
        if day is None or week is None:
            return None
        if not week[day.weekday()]:
            self.problem(line, f"{what}: working day {day} is a {_DAY_NAMES[day.weekday()]}, "
                         f"which has no usual hours; give them: {{date: {day}, hours: "
                         '["10:00-14:00"]}')
            return None
        return week[day.weekday()]

    def date(self, value: Any, line: int, what: str) -> date | None:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value.strip())
        if not isinstance(value, date) or isinstance(value, datetime):
            self.problem(line, f"{what}: {value!r} is not a date; write dates as YYYY-MM-DD, "
                         "such as 2026-12-24")
            return None
        return value


def _wrapped(start: int, end: int, label: str, line: int) -> list[_Placed]:
    """A span on the weekly timeline; Sunday's part past midnight wraps to Monday."""
    if end <= _WEEK:
        return [(start, end, label, line)]
    return [(start, _WEEK, label, line), (0, end - _WEEK, label, line)]


def _suggest(name: str, known: Iterable[str]) -> str:
    """suggest(), first trying a match that differs only in case ('utc' -> 'UTC')."""
    names = list(known)
    same = [k for k in names if k.lower() == name.lower()]
    return f"; did you mean '{same[0]}'?" if same else suggest(name, names)
