"""What a tier recompute reads and writes of customers: the store's customer interface.

engine/store implements it with SQLAlchemy; the recompute (engine/jobs/tiering.py) and the
openings (engine/jobs/opening.py) work through it and never see SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from engine.kernel.history import CustomerEvent
from engine.kernel.records import CustomerHead, Transaction

if TYPE_CHECKING:  # numpy stays out of the import of this module
    from engine.customers.figures import Totals

TIER_TABLE = "customer_tier"  # the decision table whose `tier` output tiers every customer


class CustomerTransaction(Transaction, Protocol):
    """A transaction that writes customers as well as cases (a recompute batch)."""

    def heads(self, first: str, last: str) -> dict[str, CustomerHead]: ...
    def save_figures(self, as_of: date, at: datetime,
                     rows: Sequence[tuple[Any, ...]]) -> None:
        """Keep each customer's figures: rows of (customer_id, *STORED_FIGURES, churn_risk,
        tier_rule, tier_table_version)."""
    def set_heads(self, changes: Sequence[tuple[CustomerHead, datetime]]) -> None: ...
    def append_customer_events(self, events: Sequence[CustomerEvent]) -> None: ...
    def open_cases(self, workflows: Sequence[str], first: str,
                   last: str) -> set[tuple[str, str]]: ...


class CustomerStore(Protocol):
    def totals(self, as_of: date) -> Totals: ...
    def transaction(self) -> AbstractContextManager[CustomerTransaction]: ...
