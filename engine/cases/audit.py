"""What auditors read: case and customer history searched together, newest first in keyset
pages, and every matching event in chain order for an export they can verify offline. The audit
pages ask through the `Audit` protocol; engine/store/audit_views.py answers it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

KINDS = ("case", "customer")
PAGE = 50


@dataclass(frozen=True)
class AuditCursor:
    """Where a page ended: the last row's instant, kind and row id."""

    at: datetime
    kind: str
    id: int


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a history search; each one left None does not filter."""

    case_id: int | None = None  # only this case's events
    customer: str | None = None  # the customer's own events and those of its cases
    actor: str | None = None
    event: str | None = None  # an event name, or a prefix when it ends with "." or "*"
    since: datetime | None = None  # at or after
    before: datetime | None = None  # strictly before
    after: AuditCursor | None = None  # the page before ended here
    limit: int = PAGE


@dataclass(frozen=True)
class AuditRow:
    """One stored event of either history, as stored (payload is the hashed text)."""

    kind: str  # "case" or "customer"
    subject: int | str  # the case id or the customer id
    id: int  # the row's id in its table
    seq: int
    name: str
    actor: str
    role: str | None
    at: datetime
    from_state: str | None
    to_state: str | None
    payload: str
    prev_hash: str
    hash: str

    @property
    def cursor(self) -> AuditCursor:
        return AuditCursor(self.at, self.kind, self.id)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_after: AuditCursor | None  # None on the last page


class Audit(Protocol):
    """The history searches of the audit pages."""

    def search(self, query: AuditQuery) -> AuditPage:
        """One page of matching events, newest first (same instant: case events first)."""

    def export(self, query: AuditQuery, batch: int = ...) -> Iterator[list[AuditRow]]:
        """Every matching event in chain order (case events by case and seq, then customer
        events by customer and seq), in batches of up to `batch`."""
