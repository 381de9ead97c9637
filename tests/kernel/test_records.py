"""The rows the command line lists (engine/kernel/records.py): timers and outbox notices as
JSON, one key per stored column, instants as ISO text."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.kernel.records import OutboxRow, TimerRow

AT = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)


def test_a_timer_as_json_keeps_every_column_and_writes_instants_as_text() -> None:
    timer = TimerRow(3, 1, "sla", "resolution", None, 0.8, AT, AT, "pending", 1, "boom", None,
                     AT, None)
    assert timer.to_json() == {
        "id": 3, "case_id": 1, "kind": "sla", "name": "resolution", "trigger": None,
        "step": 0.8, "due_at": "2026-03-05T11:00:00Z", "retry_at": "2026-03-05T11:00:00Z",
        "state": "pending", "attempts": 1, "last_error": "boom", "outcome": None,
        "created_at": "2026-03-05T11:00:00Z", "done_at": None}


def test_a_notice_as_json_keeps_every_column_and_writes_instants_as_text() -> None:
    notice = OutboxRow(1, 7, "sam", None, "Late", "Case 7 is late", AT, None, 0, None)
    assert notice.to_json() == {
        "id": 1, "case_id": 7, "recipient": "sam", "address": None, "subject": "Late",
        "body": "Case 7 is late", "created_at": "2026-03-05T11:00:00Z", "sent_at": None,
        "attempts": 0, "last_error": None}
