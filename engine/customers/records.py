"""What a tier recompute reads and writes of customers: the store's customer interface, and a
customer's record with its latest figures as the customer pages, the API and the command line
read it.

engine/store implements it with SQLAlchemy; the recompute (engine/jobs/tiering.py) and the
openings (engine/jobs/opening.py) work through it and never see SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from engine.kernel.history import CustomerEvent, iso
from engine.kernel.records import CustomerHead, CustomerRecord, Transaction

if TYPE_CHECKING:  # numpy stays out of the import of this module
    from engine.customers.figures import Totals

TIER_TABLE = "customer_tier"  # the decision table whose `tier` output tiers every customer


@dataclass(frozen=True)
class StoredFigures:
    """A customer's figures as its latest recompute kept them (engine.customers.figures)."""

    as_of: date  # the day the figures count up to
    computed_at: datetime
    recency_days: int | None  # None: no purchase yet
    frequency: int  # purchase occasions (days)
    monetary: Decimal  # total spend
    revenue_12m: Decimal
    revenue_share: float
    years_active: float
    r_score: int  # 1..5, 0: no purchase yet
    f_score: int
    m_score: int
    p_alive: float
    expected_purchases: float
    expected_spend: float
    clv: float
    churn_risk: str | None
    tier_rule: str | None  # the customer_tier row that decided the tier
    tier_table_version: int | None


FIGURE_NAMES = tuple(f.name for f in fields(StoredFigures))


@dataclass(frozen=True)
class CustomerProfile:
    """A customer record with the figures of its latest recompute (None before the first)."""

    record: CustomerRecord
    figures: StoredFigures | None

    def to_json(self) -> dict[str, Any]:
        """The record's columns, then the figures' (null before the first recompute): instants
        and days as ISO text, money as its exact text."""
        figures = asdict(self.figures) if self.figures else dict.fromkeys(FIGURE_NAMES)
        return {name: _plain(value) for name, value in
                {**asdict(self.record), **figures}.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)  # Decimal money, exactly as stored


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
                   last: str) -> dict[tuple[str, str], list[int]]:
        """(workflow, customer) -> ids of the open cases of these workflows, in id order, for
        the customers first..last."""


class CustomerStore(Protocol):
    def totals(self, as_of: date) -> Totals: ...
    def transaction(self) -> AbstractContextManager[CustomerTransaction]: ...
    def heads(self, first: str, last: str) -> dict[str, CustomerHead]:
        """CustomerTransaction.heads as committed now, outside any transaction."""
    def open_cases(self, workflows: Sequence[str], first: str,
                   last: str) -> dict[tuple[str, str], list[int]]:
        """CustomerTransaction.open_cases as committed now, outside any transaction."""
    def next_case_id(self) -> int | None:
        """The id the next case started gets if no other is started first (None: unknown)."""
    def figures_as_of(self) -> date | None:
        """The day the newest stored figures count up to (None before the first recompute)."""
    def forked(self) -> None:
        """Called in a forked child process before it reads: connections of its own."""
