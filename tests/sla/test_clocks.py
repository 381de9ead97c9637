"""engine.sla.clocks: SLA clocks counting business time through starts, pauses, stops and steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernel.errors import InvalidInput
from engine.kernel.expressions import compile_expression
from engine.kernel.records import ClockRecord
from engine.kernel.specs import ClockSpec, SlaSpec
from engine.sla.calendars import Calendar
from engine.sla.clocks import ClockSettings, Reckoner, as_target, look, move_clocks
from engine.workflows.registry import load_calendars
from tests.fixtures import ROOT

CALENDARS = load_calendars(ROOT)
OFFICE: Calendar = CALENDARS["office"]
RECKONER = Reckoner(CALENDARS)
TARGET = compile_expression("case.hours", {"case": frozenset({"hours"})})
CLOCK = ClockSpec("resolution", TARGET, stop_in=("done",), pause_in=("waiting",),
                  calendar="office")
SLA = SlaSpec((CLOCK,), "office", 0.8, (1.5,))
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def settings_of(hours: float | None, business: bool = True) -> ClockSettings:
    return ClockSettings(None if hours is None else timedelta(hours=hours), business, "office")


def moved(clocks: dict[str, ClockRecord], trigger: str | None, dest: str, at: datetime,
          hours: float | None = 10, business: bool = True) -> tuple[ClockRecord, list[str]]:
    work = move_clocks(SLA, clocks, 1, trigger, dest, lambda _: settings_of(hours, business),
                       RECKONER, at)
    [clock] = work.saved or list(clocks.values())
    return clock, [d.name for d in work.drafts]


def test_a_clock_starts_with_the_case_and_plans_its_warning() -> None:
    work = move_clocks(SLA, {}, 7, None, "open", lambda _: settings_of(10), RECKONER, MONDAY)
    [clock] = work.saved
    assert (clock.status, clock.since, clock.target) == ("running", MONDAY, timedelta(hours=10))
    assert clock.due_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # Mon 8 h + Tue 08-10 Berlin
    [timer] = work.timers
    assert (timer.case_id, timer.kind, timer.step) == (7, "sla", 0.8)
    assert timer.due_at == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 8 h in: Monday's close
    assert [d.name for d in work.drafts] == ["sla.started"]


def test_without_a_target_a_clock_counts_but_plans_nothing() -> None:
    work = move_clocks(SLA, {}, 1, None, "open", lambda _: settings_of(None), RECKONER, MONDAY)
    assert (work.saved[0].due_at, work.timers) == (None, [])


def test_around_the_clock_time_counts_nights_and_weekends() -> None:
    work = move_clocks(SLA, {}, 1, None, "open", lambda _: settings_of(10, business=False),
                       RECKONER, MONDAY)
    assert work.saved[0].due_at == MONDAY + timedelta(hours=10)


def test_pausing_keeps_what_was_counted_and_resuming_plans_from_there() -> None:
    clock, _ = moved({}, None, "open", MONDAY)
    paused, drafts = moved({"resolution": clock}, "wait", "waiting", MONDAY + timedelta(hours=3))
    assert (paused.status, paused.elapsed, paused.due_at) == ("paused", timedelta(hours=3), None)
    assert drafts == ["sla.paused"]
    # paused over the night: nothing counts; resumed Tuesday 10:00 Berlin with 7 h to go
    resumed, drafts = moved({"resolution": paused}, "answer", "open",
                            datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    assert drafts == ["sla.resumed"]
    assert resumed.due_at == datetime(2026, 3, 3, 16, 0, tzinfo=UTC)


def test_stopping_in_time_is_met_and_late_is_breached() -> None:
    clock, _ = moved({}, None, "open", MONDAY)
    met, drafts = moved({"resolution": clock}, "finish", "done", MONDAY + timedelta(hours=2))
    assert (met.shown, drafts) == ("met", ["sla.met"])
    late, drafts = moved({"resolution": clock}, "finish", "done",
                         datetime(2026, 3, 4, 9, 0, tzinfo=UTC))
    assert (late.shown, late.breached_at, drafts) == (
        "breached", datetime(2026, 3, 4, 9, 0, tzinfo=UTC), ["sla.breached", "sla.stopped"])


def test_a_new_target_counts_from_the_start_of_the_clock() -> None:
    clock, _ = moved({}, None, "open", MONDAY, hours=None)
    later = MONDAY + timedelta(hours=4)
    retargeted, drafts = moved({"resolution": clock}, "triage", "open", later, hours=5)
    assert drafts == ["sla.retargeted"]
    assert (retargeted.elapsed, retargeted.since) == (timedelta(hours=4), later)
    assert retargeted.due_at == later + timedelta(hours=1)


def test_looking_at_steps_warns_and_breaches_once_each_and_plans_the_next() -> None:
    clock, _ = moved({}, None, "open", MONDAY)
    warned, work, lateness = look(SLA, CLOCK, clock, 0.8, RECKONER,
                                  datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert (lateness, [d.name for d in work.drafts]) == (0.8, ["sla.warned"])
    assert [t.step for t in work.timers] == [1.0]
    breached, work, _ = look(SLA, CLOCK, warned, 1.0, RECKONER,
                             datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
    assert [d.name for d in work.drafts] == ["sla.breached"]
    assert [t.step for t in work.timers] == [1.5]
    last, work, _ = look(SLA, CLOCK, breached, 1.5, RECKONER,
                         datetime(2026, 3, 3, 15, 0, tzinfo=UTC))
    assert (work.drafts, work.timers, last.step) == ([], [], 1.5)


moments = st.lists(st.integers(min_value=1, max_value=60 * 24 * 9), min_size=1, max_size=8,
                   unique=True).map(sorted)


@settings(max_examples=60, deadline=None)
@given(minutes=moments)
def test_counted_time_is_the_business_time_of_the_running_stretches(minutes: list[int]) -> None:
    """Pause and resume at any instants: what the clock counted is exactly the business time
    of the stretches it ran, however the rebasing split them."""
    clock, _ = moved({}, None, "open", MONDAY)
    running, counted, since = True, timedelta(0), MONDAY
    for minute in minutes:
        at = MONDAY + timedelta(minutes=minute)
        dest = "waiting" if running else "open"
        clock, _ = moved({"resolution": clock}, "x", dest, at)
        if running:
            counted += OFFICE.between(since, at)
        running, since = not running, at
    end = MONDAY + timedelta(days=10)
    if running:
        counted += OFFICE.between(since, end)
    assert RECKONER.spent(clock, end) == counted


def test_working_days_on_skip_weekends_and_holidays() -> None:
    friday_evening = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # 17:00 Berlin
    assert OFFICE.add_days(friday_evening, 1) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # closed: from Monday's opening
    assert OFFICE.add_days(saturday, 1) == datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    maundy_thursday = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # 10:00 Berlin (summer time)
    # Good Friday and Easter Monday are German holidays: the next working day is Tuesday
    assert OFFICE.add_days(maundy_thursday, 1) == datetime(2026, 4, 7, 8, 0, tzinfo=UTC)
    assert OFFICE.add_days(maundy_thursday, 0) == maundy_thursday


def test_a_final_state_stops_a_clock_that_names_no_stop() -> None:
    clock, _ = moved({}, None, "open", MONDAY)
    work = move_clocks(SLA, {"resolution": clock}, 1, "cancel", "closed",
                       lambda _: settings_of(10), RECKONER, MONDAY + timedelta(hours=1),
                       final=True)
    assert ([c.shown for c in work.saved], work.timers) == (["met"], [])
    assert work.reset == ["resolution"]


@pytest.mark.parametrize("hours", [0, -1, 87_601, 1e308, Decimal("1e999999"), float("nan")])
def test_a_target_must_be_positive_and_at_most_ten_years(hours: Any) -> None:
    with pytest.raises(InvalidInput, match="must be more than zero hours and at most 87,600"):
        as_target(hours, "resolution")
    with pytest.raises(InvalidInput, match="the most is 87,600"):
        as_target(timedelta(days=3651), "resolution")
    assert as_target(87_600, "resolution") == timedelta(days=3650)


def test_a_periodic_clock_ends_its_round_and_starts_the_next_on_each_restart() -> None:
    update = ClockSpec("periodic_update", TARGET, start_on=("message_out",),
                       restart_on=("message_out",), stop_in=("done",), calendar="office")
    sla = SlaSpec((update,), "office", 0.8, ())
    hours = lambda _: settings_of(2, business=False)  # noqa: E731

    def step(clocks: dict[str, ClockRecord], at: datetime) -> tuple[ClockRecord, list[str]]:
        work = move_clocks(sla, clocks, 1, "message_out", "open", hours, RECKONER, at,
                           entering=False)
        [clock] = work.saved
        return clock, [d.name for d in work.drafts]

    first, drafts = step({}, MONDAY)
    assert (first.status, first.since, drafts) == ("running", MONDAY, ["sla.started"])
    second, drafts = step({"periodic_update": first}, MONDAY + timedelta(hours=1))
    assert drafts == ["sla.met", "sla.started"]  # in time: the next round from now
    assert (second.since, second.elapsed, second.breached_at) == (
        MONDAY + timedelta(hours=1), timedelta(0), None)
    third, drafts = step({"periodic_update": second}, MONDAY + timedelta(hours=4))
    assert drafts == ["sla.breached", "sla.stopped", "sla.started"]  # 3 h of 2: late
    assert (third.status, third.breached_at, third.elapsed) == ("running", None, timedelta(0))
    work = move_clocks(sla, {"periodic_update": third}, 1, "finish", "done", hours, RECKONER,
                       MONDAY + timedelta(hours=5))
    assert [d.name for d in work.drafts] == ["sla.met"] and work.saved[0].status == "stopped"
