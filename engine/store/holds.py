"""Legal holds (engine.cases.holds) in SQL: each placement and release written with its
protection-log entry in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.cases.holds import Hold
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.protection import Act, ProtectionDraft
from engine.store import protection_log
from engine.store.db import Database
from engine.store.schema import cases, customers, legal_holds

_ACTIVE = legal_holds.c.released_at.is_(None)


class SqlHolds:
    def __init__(self, database: Database) -> None:
        self.database = database

    def place(self, customer_id: str | None, case_id: int | None, reason: str, actor: str,
              at: datetime) -> Hold:
        with self.database.writing() as connection:
            _exists(connection, customer_id, case_id)
            hold_id = connection.execute(sa.insert(legal_holds).values(
                customer_id=customer_id, case_id=case_id, reason=reason, placed_by=actor,
                placed_at=at).returning(legal_holds.c.id)).scalar_one()
            hold = _read(connection, hold_id)
            protection_log.append(connection, [_draft(Act.HOLD_PLACED, hold, reason)], actor,
                                  at)
        return hold

    def release(self, hold_id: int, reason: str, actor: str, at: datetime) -> Hold:
        with self.database.writing() as connection:
            hold = _read(connection, hold_id)
            if not hold.active:
                raise InvalidInput("hold", f"hold {hold_id} on {hold.subject} was released "
                                   f"already, on {hold.released_at:%Y-%m-%d} by "
                                   f"{hold.released_by}; nothing changed")
            connection.execute(sa.update(legal_holds).where(legal_holds.c.id == hold_id).values(
                released_at=at, released_by=actor, release_reason=reason))
            hold = _read(connection, hold_id)
            protection_log.append(connection, [_draft(Act.HOLD_RELEASED, hold, reason)], actor,
                                  at)
        return hold

    def listing(self, active_only: bool = False) -> list[Hold]:
        query = sa.select(legal_holds).order_by(legal_holds.c.id)
        if active_only:
            query = query.where(_ACTIVE)
        with self.database.reading() as connection:
            return [_hold(row) for row in connection.execute(query)]

    def on_case(self, case_id: int) -> list[Hold]:
        with self.database.reading() as connection:
            return active_on_case(connection, case_id)

    def on_customer(self, customer_id: str) -> list[Hold]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(legal_holds).where(
                _ACTIVE, legal_holds.c.customer_id == customer_id).order_by(legal_holds.c.id))
            return [_hold(row) for row in rows]


def active_on_case(connection: Connection, case_id: int) -> list[Hold]:
    """The active holds on a case and on its customer, oldest first."""
    customer = sa.select(cases.c.customer).where(cases.c.id == case_id).scalar_subquery()
    rows = connection.execute(sa.select(legal_holds).where(_ACTIVE, sa.or_(
        legal_holds.c.case_id == case_id, legal_holds.c.customer_id == customer))
        .order_by(legal_holds.c.id))
    return [_hold(row) for row in rows]


def _exists(connection: Connection, customer_id: str | None, case_id: int | None) -> None:
    if customer_id is not None and connection.execute(sa.select(customers.c.id).where(
            customers.c.id == customer_id)).first() is None:
        raise NotFound(f"customer '{customer_id}' does not exist; no hold was placed")
    if case_id is not None and connection.execute(sa.select(cases.c.id).where(
            cases.c.id == case_id)).first() is None:
        raise NotFound(f"case {case_id} does not exist; no hold was placed")


def _read(connection: Connection, hold_id: int) -> Hold:
    row = connection.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id)).first()
    if row is None:
        raise NotFound(f"there is no hold {hold_id} (casework holds list)")
    return _hold(row)


def _hold(row: Any) -> Hold:
    return Hold(row.id, row.customer_id, row.case_id, row.reason, row.placed_by, row.placed_at,
                row.released_at, row.released_by, row.release_reason)


def _draft(act: Act, hold: Hold, reason: str) -> ProtectionDraft:
    subject = hold.customer_id if hold.case_id is None else str(hold.case_id)
    return ProtectionDraft(act, str(subject), reason,
                           {"hold": hold.id, "customer": hold.customer_id, "case": hold.case_id})
