"""What the runtime reads and writes, and the small interface a store offers it.

The runtime never sees SQL: it asks a `Store` for a transaction and works through these
methods. engine/store implements them with SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from engine.history import CustomerEvent, Event

if TYPE_CHECKING:  # numpy stays out of the import of this module
    from engine.figures import Totals


@dataclass(frozen=True)
class CaseRecord:
    """One case as stored: fields in their JSON form, plus the head of its history chain."""

    id: int
    definition_id: int
    workflow: str
    version: int
    state: str
    queue: str | None
    assignee: str | None
    customer: str | None
    fields: dict[str, Any]
    lock_version: int
    history_seq: int
    history_head: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None

    def evolve(self, **changes: Any) -> CaseRecord:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        from engine.history import iso

        return {
            "id": self.id, "workflow": self.workflow, "version": self.version,
            "state": self.state, "queue": self.queue, "assignee": self.assignee,
            "customer": self.customer, "fields": self.fields, "lock_version": self.lock_version,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "closed_at": iso(self.closed_at) if self.closed_at else None,
        }


@dataclass(frozen=True)
class DefinitionRecord:
    """One stored version of a workflow or table, with the exact source it was loaded from."""

    id: int
    kind: str
    name: str
    version: int
    content_hash: str
    source: str
    source_path: str
    loaded_at: datetime


@dataclass(frozen=True)
class CustomerHead:
    """What a recompute compares and moves on: a customer's tier, churn risk, history head."""

    id: str
    tier: str | None
    churn_risk: str | None
    seq: int
    head: str


class Transaction(Protocol):
    def get_case(self, case_id: int) -> CaseRecord: ...
    def insert_case(self, record: CaseRecord) -> int: ...
    def insert_cases(self, records: Sequence[CaseRecord]) -> list[int]: ...
    def set_case_heads(self, records: Sequence[CaseRecord]) -> None: ...
    def update_case(self, record: CaseRecord, expected_lock_version: int) -> None: ...
    def append_events(self, events: Sequence[Event]) -> None: ...
    def pick_assignee(self, strategy: str, roles: Sequence[str], pool: str) -> str | None: ...
    def publication_mark(self) -> int: ...


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[Transaction]: ...
    def get_case(self, case_id: int) -> CaseRecord: ...
    def case_events(self, case_id: int) -> list[Event]: ...
    def definition(self, kind: str, name: str, version: int | None = None) -> DefinitionRecord: ...
    def definition_by_id(self, definition_id: int) -> DefinitionRecord: ...
    def add_definition(self, kind: str, name: str, version: int, content_hash: str, source: str,
                       source_path: str, at: datetime) -> DefinitionRecord: ...
    def definitions(self, kind: str) -> list[DefinitionRecord]: ...
    def publications(self, kind: str, name: str) -> list[DefinitionRecord]: ...
    def publish(self, record: DefinitionRecord, at: datetime, by: str) -> None: ...
    def chains(self) -> Iterator[tuple[int, int, str, Iterable[Event]]]: ...


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
