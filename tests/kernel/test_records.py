"""engine.kernel.records: the vocabularies of clocks and timers, and what a desk sees of a clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from engine.kernel.records import ClockRecord, ClockStatus, SlaStatus, clock_json

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def a_clock(status: ClockStatus, warned: bool = False, breached: bool = False) -> ClockRecord:
    return ClockRecord(1, "resolution", status, True, "office", timedelta(hours=8),
                       timedelta(hours=1), T0 if status is ClockStatus.RUNNING else None, None,
                       T0, warned_at=T0 if warned else None, breached_at=T0 if breached else None)


@pytest.mark.parametrize(("status", "warned", "breached", "shown"), [
    (ClockStatus.RUNNING, False, False, SlaStatus.RUNNING),
    (ClockStatus.RUNNING, True, False, SlaStatus.WARNING),
    (ClockStatus.RUNNING, True, True, SlaStatus.BREACHED),
    (ClockStatus.PAUSED, False, False, SlaStatus.PAUSED),
    (ClockStatus.PAUSED, True, False, SlaStatus.PAUSED),
    (ClockStatus.PAUSED, True, True, SlaStatus.BREACHED),
    (ClockStatus.STOPPED, False, False, SlaStatus.MET),
    (ClockStatus.STOPPED, True, False, SlaStatus.MET),
    (ClockStatus.STOPPED, True, True, SlaStatus.BREACHED),
])
def test_what_a_desk_sees_of_a_clock(status: ClockStatus, warned: bool, breached: bool,
                                     shown: SlaStatus) -> None:
    seen = a_clock(status, warned, breached).shown
    assert (type(seen), seen) == (SlaStatus, shown)


def test_a_clock_never_shows_none() -> None:
    """NONE is a case's status (no clock counts), never one clock's."""
    seen = {a_clock(s, w, b).shown for s in ClockStatus for w in (False, True)
            for b in (False, True)}
    assert SlaStatus.NONE not in seen
    assert seen == set(SlaStatus) - {SlaStatus.NONE}


def test_the_vocabularies_are_the_stored_words() -> None:
    """The columns hold these strings (no migration came with the enums)."""
    assert list(ClockStatus) == ["running", "paused", "stopped"]
    assert list(SlaStatus) == ["met", "breached", "warning", "paused", "running", "none"]


def test_a_clock_as_json_carries_plain_words() -> None:
    text = json.dumps(clock_json(a_clock(ClockStatus.PAUSED, warned=True), timedelta(hours=2)))
    assert (json.loads(text)["status"], json.loads(text)["running"]) == ("paused", False)
