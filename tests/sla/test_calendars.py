"""engine.sla.calendars and engine.sla.loading: business time across weekends, holidays, summer
time and midnight, and every load-time check reported as path:line."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernel.errors import DefinitionError, InvalidInput
from engine.sla.calendars import ZERO, Calendar
from engine.sla.loading import load_calendars_file, load_calendars_text
from tests.fixtures import ROOT

SHIPPED = ROOT / "rules" / "calendars.yaml"
BERLIN = ZoneInfo("Europe/Berlin")
SANTIAGO = ZoneInfo("America/Santiago")  # changes its clocks at midnight
HOUR = timedelta(hours=1)
TINY = timedelta(microseconds=1)
WEEKDAYS_08_18 = """\
    hours:
      mon: ["08:00-18:00"]
      tue: ["08:00-18:00"]
      wed: ["08:00-18:00"]
      thu: ["08:00-18:00"]
      fri: ["08:00-18:00"]
"""
ALL_DAY = "{" + ", ".join(f'{day}: ["00:00-24:00"]'
                         for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")) + "}"


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(body: str) -> Calendar:
    """One calendar named 'test' from the YAML of its body."""
    text = "calendars:\n  test:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return load_calendars_text(text, "test.yaml")["test"]


def office(closed: str = "{country: DE}", extra: str = "") -> Calendar:
    """Mon-Fri 08-18 in Berlin, closed on German holidays (by default), with `extra` keys."""
    return calendar(f"timezone: Europe/Berlin\n{textwrap.dedent(WEEKDAYS_08_18)}"
                    f"holidays: {closed}\n{extra}")


# --- the shipped file --------------------------------------------------------------------------

def test_the_shipped_calendars_load() -> None:
    calendars = load_calendars_file(SHIPPED)
    assert set(calendars) >= {"office", "support_24x7", "extended"}
    assert calendars["office"].zone == BERLIN
    assert calendars["office"].country == "DE"
    assert calendars["support_24x7"].between(utc(2026, 3, 2), utc(2026, 3, 9)) == 168 * HOUR
    extended = calendars["extended"]
    assert extended.between(berlin(2026, 3, 7), berlin(2026, 3, 9)) == 15 * HOUR  # Sat, not Sun
    assert extended.country == "DE"


def test_shipped_office_from_friday_evening_to_monday_morning() -> None:
    shipped = load_calendars_file(SHIPPED)["office"]
    assert shipped.add(berlin(2026, 3, 6, 17, 30), 3 * HOUR) == berlin(2026, 3, 9, 10, 30)


# --- concrete cases ----------------------------------------------------------------------------

def test_friday_evening_plus_three_hours_lands_monday_morning() -> None:
    due = office().add(berlin(2026, 3, 6, 17, 30), 3 * HOUR)
    assert due == berlin(2026, 3, 9, 10, 30)
    assert due.tzinfo is UTC


def test_christmas_days_are_closed() -> None:
    assert {date(2026, 12, 25), date(2026, 12, 26)} <= set(
        holidays.country_holidays("DE", years=2026))
    # Thursday 24th: one hour; Friday 25th holiday, weekend; Monday 28th: two more
    assert office().add(berlin(2026, 12, 24, 17), 3 * HOUR) == berlin(2026, 12, 28, 10)


def test_easter_is_closed_from_good_friday_to_easter_monday() -> None:
    german = holidays.country_holidays("DE", years=2026)
    assert date(2026, 4, 3) in german  # Good Friday
    assert date(2026, 4, 6) in german  # Easter Monday
    desk = office()
    assert desk.add(berlin(2026, 4, 2, 17), 3 * HOUR) == berlin(2026, 4, 7, 10)
    assert desk.between(berlin(2026, 4, 2, 8), berlin(2026, 4, 8, 8)) == 20 * HOUR
    assert not desk.is_open(berlin(2026, 4, 6, 10))
    assert desk.next_open(berlin(2026, 4, 2, 18)) == berlin(2026, 4, 7, 8)


def test_between_over_a_weekend_is_zero() -> None:
    desk = office()
    assert desk.between(berlin(2026, 3, 6, 18), berlin(2026, 3, 9, 8)) == ZERO
    assert desk.between(berlin(2026, 3, 9, 8), berlin(2026, 3, 6, 18)) == ZERO  # end first
    assert desk.between(berlin(2026, 3, 6, 17), berlin(2026, 3, 9, 9)) == 2 * HOUR


def test_open_and_next_open() -> None:
    desk = office()
    assert desk.is_open(berlin(2026, 3, 9, 8))
    assert not desk.is_open(berlin(2026, 3, 9, 18))  # intervals do not include their end
    assert desk.next_open(berlin(2026, 3, 6, 18)) == berlin(2026, 3, 9, 8)
    assert desk.next_open(berlin(2026, 3, 9, 9, 15)) == berlin(2026, 3, 9, 9, 15)


def test_zero_at_a_closed_time_gives_the_start_itself() -> None:
    saturday = berlin(2026, 3, 7, 12)
    assert office().add(saturday, ZERO) == saturday


def test_listed_holiday_dates_are_closed() -> None:
    desk = office("{country: DE, dates: [2026-12-23]}")
    assert desk.add(berlin(2026, 12, 22, 17), 2 * HOUR) == berlin(2026, 12, 24, 9)
    assert desk.between(berlin(2026, 12, 23), berlin(2026, 12, 24)) == ZERO


def test_extra_working_days_use_their_usual_or_their_own_hours() -> None:
    desk = office(extra='working_days: [2026-12-25, {date: 2026-12-27, hours: ["10:00-14:00"]}]')
    # Christmas Day (a Friday) is worked with Friday's hours
    assert desk.add(berlin(2026, 12, 24, 17), 3 * HOUR) == berlin(2026, 12, 25, 10)
    # Saturday 26th is a holiday and a weekend day; Sunday 27th is worked 10:00-14:00
    assert desk.add(berlin(2026, 12, 25, 17), 3 * HOUR) == berlin(2026, 12, 27, 12)
    assert desk.between(berlin(2026, 12, 27), berlin(2026, 12, 28)) == 4 * HOUR


def test_an_interval_past_midnight_belongs_to_two_days() -> None:
    night = calendar('timezone: UTC\nhours: {mon: ["22:00-06:00"]}\n')
    assert not night.is_open(utc(2026, 3, 2, 21, 59))
    assert night.is_open(utc(2026, 3, 2, 22))
    assert night.is_open(utc(2026, 3, 3, 5, 59))
    assert not night.is_open(utc(2026, 3, 3, 6))
    assert night.add(utc(2026, 3, 2, 21), 3 * HOUR) == utc(2026, 3, 3, 1)
    assert night.add(utc(2026, 3, 3, 5), 2 * HOUR) == utc(2026, 3, 9, 23)
    assert night.between(utc(2026, 3, 2), utc(2026, 3, 4)) == 8 * HOUR
    # Sunday's night runs into Monday morning, across the end of the week
    sunday = calendar('timezone: UTC\nhours: {sun: ["23:00-01:00"], mon: ["01:00-02:00"]}\n')
    assert sunday.between(utc(2026, 3, 1), utc(2026, 3, 3)) == 3 * HOUR


def test_a_holiday_closes_its_whole_day_even_the_night_before_it_runs_into() -> None:
    body = 'timezone: Europe/Berlin\nhours: {thu: ["22:00-06:00"]}\nholidays: {dates: [%s]}\n'
    friday_closed = calendar(body % "2026-12-25")
    assert friday_closed.between(berlin(2026, 12, 24), berlin(2026, 12, 26)) == 2 * HOUR
    thursday_closed = calendar(body % "2026-12-24")  # the night shift starts on a closed day
    assert thursday_closed.between(berlin(2026, 12, 24), berlin(2026, 12, 26)) == ZERO
    assert thursday_closed.next_open(berlin(2026, 12, 24)) == berlin(2026, 12, 31, 22)


def test_round_the_clock_in_berlin_across_summer_time() -> None:
    always = calendar(f"timezone: Europe/Berlin\nhours: {ALL_DAY}\n")
    assert always.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * HOUR
    assert always.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * HOUR
    assert always.add(berlin(2026, 3, 28, 12), 24 * HOUR) == berlin(2026, 3, 29, 13)
    assert always.add(berlin(2026, 10, 24, 12), 24 * HOUR) == berlin(2026, 10, 25, 11)
    # the repeated hour of the autumn night counts twice
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
    assert always.between(first, second) == HOUR


def test_a_night_interval_has_its_true_length_on_the_nights_the_clocks_change() -> None:
    night = calendar('timezone: Europe/Berlin\nhours: {sun: ["01:00-05:00"]}\n')
    assert night.between(berlin(2026, 3, 22), berlin(2026, 3, 23)) == 4 * HOUR
    assert night.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 3 * HOUR
    assert night.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 5 * HOUR
    assert night.add(berlin(2026, 3, 29), 2 * HOUR) == berlin(2026, 3, 29, 4)
    # 02:00 comes twice that night; two hours after 01:00 is the second 02:00
    # (compared in UTC: Python never equates a time in the repeated hour with another zone's)
    second_two = datetime(2026, 10, 25, 2, fold=1, tzinfo=BERLIN).astimezone(UTC)
    assert night.add(berlin(2026, 10, 25), 2 * HOUR) == second_two == utc(2026, 10, 25, 1)
    shift = calendar('timezone: Europe/Berlin\nhours: {sat: ["22:00-06:00"]}\n')
    assert shift.between(berlin(2026, 3, 28), berlin(2026, 3, 30)) == 7 * HOUR
    assert shift.between(berlin(2026, 10, 24), berlin(2026, 10, 26)) == 9 * HOUR


def test_a_boundary_the_clocks_jump_over_is_the_moment_they_jump() -> None:
    early = calendar('timezone: Europe/Berlin\nhours: {sun: ["02:30-05:00"]}\n')
    assert early.next_open(berlin(2026, 3, 29)) == berlin(2026, 3, 29, 3)
    assert early.between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 2 * HOUR
    # in autumn 02:30 comes twice: the interval starts at the first
    assert early.between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 3 * HOUR + 30 * \
        timedelta(minutes=1)


def test_a_large_amount_is_exact() -> None:
    desk = office()
    start = berlin(2026, 1, 5, 9)
    due = desk.add(start, 2000 * HOUR)
    assert desk.between(start, due) == 2000 * HOUR
    assert due == desk.add(desk.add(start, 1234 * HOUR), 766 * HOUR)
    assert date(2026, 10, 1) < due.date() < date(2026, 11, 1)  # 200 days of 10 hours


def test_naive_times_and_negative_amounts_are_refused() -> None:
    desk = office()
    naive = datetime(2026, 3, 9, 9)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        desk.add(naive, HOUR)
    with pytest.raises(InvalidInput, match="'end'"):
        desk.between(berlin(2026, 3, 9), naive)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        desk.is_open(naive)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        desk.next_open(naive)
    with pytest.raises(InvalidInput, match="must not be negative"):
        desk.add(berlin(2026, 3, 9), -HOUR)


# --- properties --------------------------------------------------------------------------------

SHAPES = load_calendars_text(textwrap.dedent(f"""\
    calendars:
      office:
        timezone: Europe/Berlin
        hours:
          mon: ["08:00-12:00", "13:00-17:00"]
          tue: ["08:00-12:00", "13:00-17:00"]
          wed: ["08:00-12:00"]
          thu: ["08:00-12:00", "13:00-17:00"]
          fri: ["08:00-15:30"]
        holidays: {{country: DE, subdivision: BE, dates: [2026-12-24]}}
        working_days: [{{date: 2026-12-27, hours: ["10:00-14:00"]}}]
      always:
        timezone: Europe/Berlin
        hours: {ALL_DAY}
      night:
        timezone: Europe/Berlin
        hours:
          mon: ["22:00-06:00"]
          wed: ["22:00-06:00"]
          sat: ["21:00-02:15"]
          sun: ["02:30-05:00", "23:30-00:15"]
        holidays: {{dates: [2026-03-30, 2026-10-25]}}
      santiago:
        timezone: America/Santiago
        hours: {{mon: ["09:00-17:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}}
        holidays: {{country: CL}}
      new_york:
        timezone: America/New_York
        hours: {{tue: ["07:00-19:00"], fri: ["01:00-03:00"], sun: ["23:00-03:00"]}}
        holidays: {{country: US}}
    """), "shapes.yaml")

calendars = st.sampled_from(sorted(SHAPES.values(), key=lambda c: c.name))
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.sampled_from([UTC, BERLIN, SANTIAGO]))
amounts = st.one_of(st.timedeltas(min_value=ZERO, max_value=300 * HOUR),
                    st.sampled_from([ZERO, HOUR, 8 * HOUR, 40 * HOUR]))
modest = settings(max_examples=200, deadline=None)


@modest
@given(calendars, moments, amounts)
def test_between_measures_what_add_added(cal: Calendar, start: datetime,
                                         amount: timedelta) -> None:
    assert cal.between(start, cal.add(start, amount)) == amount


@modest
@given(calendars, moments, amounts, amounts)
def test_add_is_monotonic(cal: Calendar, start: datetime, one: timedelta,
                          other: timedelta) -> None:
    small, large = sorted([one, other])
    assert cal.add(start, small) <= cal.add(start, large)


@modest
@given(calendars, moments, amounts, amounts)
def test_adding_in_two_steps_is_adding_once(cal: Calendar, start: datetime, one: timedelta,
                                           other: timedelta) -> None:
    assert cal.add(cal.add(start, one), other) == cal.add(start, one + other)


@modest
@given(calendars, moments, moments, moments)
def test_between_adds_up(cal: Calendar, one: datetime, two: datetime,
                         three: datetime) -> None:
    first, middle, last = sorted([one, two, three])
    assert cal.between(first, middle) + cal.between(middle, last) == cal.between(first, last)


@modest
@given(calendars, moments, amounts.filter(lambda amount: amount > ZERO))
def test_add_ends_in_business_time_or_at_its_end(cal: Calendar, start: datetime,
                                                 amount: timedelta) -> None:
    due = cal.add(start, amount)
    assert due.tzinfo is UTC
    assert cal.is_open(due) or cal.is_open(due - TINY)


@modest
@given(calendars, moments)
def test_next_open_is_open_and_nothing_before_it_is(cal: Calendar, moment: datetime) -> None:
    opens = cal.next_open(moment)
    assert opens >= moment
    assert cal.is_open(opens)
    assert cal.between(moment, opens) == ZERO


# --- loading errors ----------------------------------------------------------------------------

# A valid file. Most cases below change one line of it (the line numbers are those below).
BASE = textwrap.dedent("""\
    calendars:
      office:
        title: Office
        timezone: Europe/Berlin
        hours:
          mon: ["08:00-12:00", "13:00-17:00"]
          tue: ["08:00-17:00"]
          fri: ["22:00-06:00"]
        holidays:
          country: DE
          subdivision: BE
          dates: [2026-12-24, 2026-12-31]
        working_days:
          - 2026-12-28
          - {date: 2026-12-27, hours: ["10:00-14:00"]}
""")


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_calendars_text(text, "cal.yaml")
    return [str(p) for p in caught.value.problems]


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


def test_the_base_file_loads() -> None:
    loaded = load_calendars_text(BASE, "cal.yaml")["office"]
    assert loaded.title == "Office"
    assert loaded.subdivision == "BE"
    assert loaded.closed == {date(2026, 12, 24), date(2026, 12, 31)}
    assert set(loaded.working) == {date(2026, 12, 27), date(2026, 12, 28)}
    assert str(loaded.week[4][0]) == "22:00-06:00"


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("title:", "titel:", 3, "unknown key 'titel' in calendar 'office'; did you mean 'title'?"),
    ("tue:", "tues:", 7, "unknown weekday 'tues'; did you mean 'tue'?"),
    ("mon:", "Monday:", 6, "unknown weekday 'Monday'"),
    ('["08:00-17:00"]', '["8-17"]', 7, "'8-17' is not an interval \"HH:MM-HH:MM\""),
    ('["08:00-17:00"]', '["08:00-25:00"]', 7, "is not a time of day"),
    ('["08:00-17:00"]', '["08:00-08:00"]', 7, "'08:00-08:00' ends when it starts"),
    ('["08:00-17:00"]', '"08:00-17:00"', 7, "hours must be a list"),
    ('"13:00-17:00"', '"11:00-17:00"', 6,
     "'mon 11:00-17:00' overlaps 'mon 08:00-12:00' (line 6)"),
    ('fri: ["22:00-06:00"]', 'fri: ["22:00-06:00"]\n      sat: ["05:00-09:00"]', 9,
     "'sat 05:00-09:00' overlaps 'fri 22:00-06:00' (line 8)"),
    ("Europe/Berlin", "Europe/Berln", 4, "unknown time zone 'Europe/Berln'; did you mean "
     "'Europe/Berlin'?"),
    ("Europe/Berlin", "utc", 4, "unknown time zone 'utc'; did you mean 'UTC'?"),
    ("    timezone: Europe/Berlin\n", "", 3, "needs 'timezone'"),
    ("country: DE", "country: XY", 10, "the holidays package has no country 'XY'"),
    ("country: DE", "country: de", 10, "no country 'de'; did you mean 'DE'?"),
    ("subdivision: BE", "subdivision: BX", 11, "DE has no holiday subdivision 'BX'"),
    ("2026-12-31]", "31.12.2026]", 12, "'31.12.2026' is not a date"),
    ("2026-12-31]", "2026-02-30]", 12, "cannot read this timestamp value"),
    ("- 2026-12-28", "- 2026-12-26", 14, "working day 2026-12-26 is a Saturday, which has "
     "no usual hours"),
    ("2026-12-31]", "2026-12-28]", 14, "2026-12-28 is both a closed holiday date (line 12) "
     "and a working day"),
    ('hours: ["10:00-14:00"]', 'hours: ["10:00-14:00", "12:00-13:00"]', 15, "overlaps"),
    ("dates:", "date:", 12, "unknown key 'date' in calendar 'office' holidays; did you mean "
     "'dates'?"),
    ("  office:", "  Office:", 2, "calendar name 'Office' must be a lower-case identifier"),
])
def test_each_problem_names_its_line(old: str, new: str, line: int, message: str) -> None:
    found = problems(edit(old, new))
    assert len(found) == 1, found
    assert found[0].startswith(f"cal.yaml:{line}: "), found
    assert message in found[0]


def test_a_calendar_without_any_hours_is_refused() -> None:
    text = edit('      mon: ["08:00-12:00", "13:00-17:00"]\n      tue: ["08:00-17:00"]\n'
                '      fri: ["22:00-06:00"]\n', "      sat: []\n      sun:\n")
    text = text.replace("- 2026-12-28", "- {date: 2026-12-28, hours: [\"08:00-09:00\"]}")
    [found] = problems(text)
    assert found.startswith("cal.yaml:6: calendar 'office' has no working hours at all")


def test_a_file_that_is_not_a_calendars_mapping() -> None:
    assert problems("tables: {}\n") == [
        "cal.yaml:1: a calendars file is a mapping 'calendars:' that names each calendar, such "
        "as 'office:' with its timezone and hours"]
    [found] = problems(BASE + "extra: 1\n")
    assert found.startswith("cal.yaml:16: unknown key 'extra'")


def test_every_problem_is_reported_at_once() -> None:
    text = BASE
    for old, new in [("title:", "titel:"), ("Europe/Berlin", "Europe/Berln"),
                     ('"13:00-17:00"', '"13:00-1700"'), ("tue:", "tues:"),
                     ("country: DE", "country: XY"), ("2026-12-31]", "someday]")]:
        text = text.replace(old, new)
    found = problems(text)
    assert [int(p.split(":")[1]) for p in found] == [3, 4, 6, 7, 10, 12], found


def test_problems_of_two_calendars_are_both_reported() -> None:
    text = BASE + textwrap.indent(textwrap.dedent("""\
        second:
          timezone: Mars/Olympus
          hours: {fri: ["09:00-17:00"]}
    """), "  ")
    found = problems(text.replace("country: DE", "country: XY"))
    assert [p.split(": ", 1)[0] for p in found] == ["cal.yaml:10", "cal.yaml:17"]
