"""The queue read model (engine/cases/queues.py): where a row stands in each sort, which makes
the keyset cursor of the page after it. The reads themselves are in tests/store/test_views.py."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.cases.queues import FAR, SORTS, QueueQuery, QueueRow

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UPDATED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def row(due_at: datetime | None) -> QueueRow:
    return QueueRow(7, "complaint", "triage", None, "C1", "key", "Parcel late", "high", None,
                    CREATED, UPDATED, 1, due_at, "running")


def test_a_row_sorts_by_the_column_of_each_sort() -> None:
    assert {sort: row(DUE).sort_key(sort) for sort in SORTS} == {
        "due": DUE, "created": CREATED, "-created": CREATED, "-updated": UPDATED}


def test_a_row_without_a_due_time_sorts_last_by_due() -> None:
    assert row(None).sort_key("due") == FAR
    assert row(None).sort_key("due") > row(DUE).sort_key("due")


def test_a_query_evolves_into_the_next_page() -> None:
    first = QueueQuery(queue="billing", sla="breached")
    after = first.evolve(after=(DUE, 7))
    assert (after.queue, after.sla, after.after, first.after) == ("billing", "breached", (DUE, 7),
                                                                  None)
