"""What the customer pages and the API read beyond one record: customers found by id, name or
email, a customer's purchases newest first, and the cases and plans about a customer. They ask
through the `CustomerSearch` protocol; engine/store/customer_search.py answers it in keyset
pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from engine.kernel.records import CustomerRecord

# The workflows that are a customer's service plans: shown whether open or not.
PLANS = ("strategic_plan", "key_plan")


@dataclass(frozen=True)
class StoredPurchase:
    """One purchase as imported."""

    id: int
    day: date
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class CustomerCase:
    """A case about a customer, as the customer's page lists it."""

    id: int
    workflow: str
    state: str
    queue: str | None
    assignee: str | None
    summary: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def is_plan(self) -> bool:
        return self.workflow in PLANS


class CustomerSearch(Protocol):
    """Read-only customer queries for the pages and the API."""

    def search(self, text: str, limit: int, tier: str | None = None,
               after: str | None = None) -> list[CustomerRecord]:
        """Up to `limit` customers by id whose id starts with `text` or whose name, email or
        phone contains it (case-insensitive; a phone number also by its digits alone; empty
        text: every customer), in `tier` if given, with ids after `after` (the last id of the
        page before)."""

    def purchases(self, customer_id: str, limit: int,
                  after: tuple[date, int] | None = None) -> list[StoredPurchase]:
        """Up to `limit` of the customer's purchases, newest first (by day, then id), older
        than `after` (day and id of the last one shown)."""

    def cases(self, customer_id: str, limit: int = 200) -> list[CustomerCase]:
        """The customer's open cases and every plan (open or closed), newest first."""
