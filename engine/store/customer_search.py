"""What the customer pages read beyond one record (the engine.customers.search protocol):
finding customers, a customer's purchases newest first, and the cases and plans about a
customer. Every list pages by keyset (no OFFSET: the thousandth page costs what the first
does)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from engine.customers.search import PLANS, CustomerCase, StoredPurchase
from engine.kernel.records import CustomerRecord
from engine.store.db import Database
from engine.store.schema import cases, customers, purchases


class SqlCustomerSearch:
    """Read-only customer queries for the pages and the API
    (engine.customers.search.CustomerSearch)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def search(self, text: str, limit: int, tier: str | None = None,
               after: str | None = None) -> list[CustomerRecord]:
        """Up to `limit` customer records (every column) by id whose id starts with `text` or
        whose name, email or phone contains it (case-insensitive; a phone number also by its
        digits alone; empty text: every customer), in `tier` if given, with ids after `after`
        (the last id of the page before)."""
        query = sa.select(customers)
        text = text.strip()
        if text:
            pattern = _escaped(text)
            matches = [customers.c.id.ilike(f"{pattern}%", escape="\\"),
                       customers.c.name.ilike(f"%{pattern}%", escape="\\"),
                       customers.c.email.ilike(f"%{pattern}%", escape="\\"),
                       customers.c.phone.ilike(f"%{pattern}%", escape="\\")]
            digits = "".join(c for c in text if c.isascii() and c.isdigit())
            if len(digits) >= 3 and not text.strip("+0123456789 ()./-"):  # a phone number
                matches.append(_digits(customers.c.phone).like(f"%{digits}%"))
            query = query.where(sa.or_(*matches))
        if tier:
            query = query.where(customers.c.tier == tier)
        if after is not None:
            query = query.where(customers.c.id > after)
        with self.database.reading() as connection:
            rows = connection.execute(query.order_by(customers.c.id).limit(limit))
            return [CustomerRecord(**row._mapping) for row in rows]

    def purchases(self, customer_id: str, limit: int,
                  after: tuple[date, int] | None = None) -> list[StoredPurchase]:
        """Up to `limit` of the customer's purchases, newest first (by day, then id), older
        than `after` (day and id of the last one shown)."""
        query = (sa.select(purchases.c.id, purchases.c.day, purchases.c.quantity,
                           purchases.c.amount)
                 .where(purchases.c.customer_id == customer_id))
        if after is not None:
            day, last_id = after
            query = query.where(sa.or_(purchases.c.day < day,
                                       sa.and_(purchases.c.day == day,
                                               purchases.c.id < last_id)))
        query = query.order_by(purchases.c.day.desc(), purchases.c.id.desc()).limit(limit)
        with self.database.reading() as connection:
            return [StoredPurchase(row.id, _day(row.day), row.quantity, row.amount)
                    for row in connection.execute(query)]

    def cases(self, customer_id: str, limit: int = 200) -> list[CustomerCase]:
        """The customer's open cases and every plan (open or closed), newest first."""
        query = (sa.select(cases.c.id, cases.c.workflow, cases.c.state, cases.c.queue,
                           cases.c.assignee, cases.c.fields["summary"].as_string()
                           .label("summary"), cases.c.created_at, cases.c.updated_at,
                           cases.c.closed_at)
                 .where(cases.c.customer == customer_id,
                        sa.or_(cases.c.closed_at.is_(None), cases.c.workflow.in_(PLANS)))
                 .order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(limit))
        with self.database.reading() as connection:
            return [CustomerCase(**row._mapping) for row in connection.execute(query)]


def _digits(column: Any) -> Any:
    """A phone number's column without the separators people write between its digits."""
    for separator in " ()./-+":
        column = sa.func.replace(column, separator, "")
    return column


def _escaped(text: str) -> str:
    """`text` taken literally inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _day(value: Any) -> date:
    """SQLite hands a day back as text in some queries: make it a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value
