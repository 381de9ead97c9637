"""What the service desk reads of its queues: each queue's counts, and one queue's open cases a
page at a time with filters, a sort and a keyset cursor. The pages and the API ask through the
`Queues` protocol; engine/store/views.py answers it from indexes of open cases."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from engine.kernel.records import SlaStatus

SORTS = {"due": "SLA due first", "created": "oldest first", "-created": "newest first",
         "-updated": "recently changed first"}
SLA_STATES = (SlaStatus.BREACHED, SlaStatus.WARNING, SlaStatus.PAUSED, SlaStatus.RUNNING,
              SlaStatus.NONE)  # a case's SLA statuses (met is a clock's only)
FAR = datetime(9999, 12, 31, tzinfo=UTC)  # the cursor of cases without a due time (sorted last)
PAGE = 50


@dataclass(frozen=True)
class QueueQuery:
    """One page of a queue's open cases: filters, sort, and the cursor of the page before."""

    queue: str
    state: str | None = None
    severity: str | None = None
    tier: str | None = None
    assignee: str | None = None  # a user, or "none" for unassigned
    sla: str | None = None  # one of SLA_STATES
    search: str | None = None  # case number, customer id, or words of the summary
    sort: str = "due"
    after: tuple[datetime, int] | None = None
    limit: int = PAGE

    def evolve(self, **changes: Any) -> QueueQuery:
        return replace(self, **changes)


@dataclass(frozen=True)
class QueueRow:
    """One open case as a queue lists it."""

    id: int
    workflow: str
    state: str
    assignee: str | None
    customer: str | None
    tier: str | None
    summary: str | None
    severity: str | None
    priority: str | None
    created_at: datetime
    updated_at: datetime
    lock_version: int
    due_at: datetime | None
    sla: str

    def sort_key(self, sort: str) -> datetime:
        """The value this row has in the order `sort`: a cursor's first half."""
        if sort == "due":
            return self.due_at or FAR
        return self.created_at if sort in ("created", "-created") else self.updated_at


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_after: tuple[datetime, int] | None  # the cursor of the next page, None on the last
    states: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QueueCount:
    """A queue's open cases: how many, how many unassigned, breached and warned."""

    queue: str
    open: int
    unassigned: int
    breached: int
    warning: int


class Queues(Protocol):
    """What the desk pages and the API read of the queues."""

    def queue_counts(self) -> list[QueueCount]:
        """Every queue with open cases, by name."""

    def queue(self, query: QueueQuery) -> QueuePage:
        """One page of a queue's open cases, as `query` asks."""
