"""engine.kernel.records: the vocabularies of clocks and timers, what a desk sees of a clock,
and the rows the command line lists (timers and outbox notices as JSON, one key per stored
column, instants as ISO text)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from engine.kernel.records import (
    ClockRecord,
    ClockStatus,
    OutboxRow,
    SlaStatus,
    TimerRow,
    clock_json,
)

AT = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
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


def test_a_timer_as_json_keeps_every_column_and_writes_instants_as_text() -> None:
    timer = TimerRow(3, 1, "sla", "resolution", None, 0.8, AT, AT, "pending", 1, "boom", None,
                     AT, None)
    assert timer.to_json() == {
        "id": 3, "case_id": 1, "kind": "sla", "name": "resolution", "trigger": None,
        "step": 0.8, "due_at": "2026-03-05T11:00:00Z", "retry_at": "2026-03-05T11:00:00Z",
        "state": "pending", "attempts": 1, "last_error": "boom", "outcome": None,
        "created_at": "2026-03-05T11:00:00Z", "done_at": None, "claimed_by": None,
        "lease_until": None}


def test_a_notice_as_json_keeps_every_column_and_writes_instants_as_text() -> None:
    notice = OutboxRow(1, 7, "sam", None, "Late", "Case 7 is late", AT, None, 0, None)
    assert notice.to_json() == {
        "id": 1, "case_id": 7, "recipient": "sam", "address": None, "subject": "Late",
        "body": "Case 7 is late", "created_at": "2026-03-05T11:00:00Z", "sent_at": None,
        "attempts": 0, "last_error": None, "message_id": None, "audience": "person",
        "in_reply_to": None, "thread_refs": None, "automatic": False, "next_attempt_at": None,
        "failed_at": None}
