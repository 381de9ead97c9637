"""Legal holds: while a hold on a case, or on the customer the case is about, is not released,
the retention job leaves the case alone (neither erases nor deletes it).

A hold is placed and released by a manager or an admin (Permission.PROTECT_DATA), always with a
reason; each placement and release is an entry of the data-protection log
(engine/kernel/protection.py), so a hold cannot come and go unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.cases.context import Actor
from engine.kernel.errors import CaseworkError, InvalidInput, RoleRefused
from engine.kernel.roles import Permission, holders, may


@dataclass(frozen=True)
class Hold:
    """One legal hold, on a customer or on a case (exactly one of the two)."""

    id: int
    customer_id: str | None
    case_id: int | None
    reason: str
    placed_by: str
    placed_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def subject(self) -> str:
        """What it holds, in words: `customer N-4` or `case 12`."""
        return f"customer {self.customer_id}" if self.case_id is None else f"case {self.case_id}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "customer": self.customer_id, "case": self.case_id,
                "reason": self.reason, "placed_by": self.placed_by,
                "placed_at": self.placed_at.isoformat(),
                "released_at": self.released_at.isoformat() if self.released_at else None,
                "released_by": self.released_by, "release_reason": self.release_reason}


class HoldStore(Protocol):
    """Where holds are kept; each write also appends its protection-log entry."""

    def place(self, customer_id: str | None, case_id: int | None, reason: str, actor: str,
              at: datetime) -> Hold: ...
    def release(self, hold_id: int, reason: str, actor: str, at: datetime) -> Hold: ...
    def listing(self, active_only: bool = False) -> list[Hold]: ...
    def on_case(self, case_id: int) -> list[Hold]: ...
    def on_customer(self, customer_id: str) -> list[Hold]: ...


class LegalHolds:
    """Placing, releasing and reading holds, as their permission allows."""

    def __init__(self, store: HoldStore) -> None:
        self.store = store

    def place(self, actor: Actor, customer_id: str | None, case_id: int | None, reason: str,
              at: datetime) -> Hold:
        """Hold a customer (every case of theirs) or one case; raise when the actor may not,
        when neither or both are named, or without a reason."""
        self._allowed(actor, "place a legal hold")
        if (customer_id is None) == (case_id is None):
            raise InvalidInput("hold", "name either a customer or a case to hold, not both "
                               "and not neither")
        return self.store.place(customer_id, case_id, _reason(reason), actor.name, at)

    def release(self, actor: Actor, hold_id: int, reason: str, at: datetime) -> Hold:
        self._allowed(actor, "release a legal hold")
        return self.store.release(hold_id, _reason(reason), actor.name, at)

    def listing(self, active_only: bool = False) -> list[Hold]:
        return self.store.listing(active_only)

    def on_case(self, case_id: int) -> list[Hold]:
        """The active holds that keep a case: its own and its customer's."""
        return self.store.on_case(case_id)

    def on_customer(self, customer_id: str) -> list[Hold]:
        return self.store.on_customer(customer_id)

    @staticmethod
    def _allowed(actor: Actor, what: str) -> None:
        if not may([actor.role], Permission.PROTECT_DATA):
            roles = ", ".join(sorted(holders(Permission.PROTECT_DATA)))
            raise RoleRefused("hold", f"role '{actor.role}' may not {what} (roles that may: "
                              f"{roles})")


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("reason", "say why (a case reference, a letter, a court order); a "
                           "hold without a reason is not placed or released")
    return reason.strip()


class HeldCase(CaseworkError):
    """A case retention may not touch: a legal hold keeps it."""

    def __init__(self, case_id: int, holds: list[Hold]) -> None:
        self.case_id = case_id
        self.holds = holds
        held = "; ".join(f"hold {h.id} on {h.subject}: {h.reason}" for h in holds)
        super().__init__(f"case {case_id} is under a legal hold ({held}); release the hold "
                         "(casework holds release ID --reason ...) before it may be erased or "
                         "deleted")
