"""A customer record written by hand (engine.customers.editing.CustomerEdits): one transaction
holding the record and its history events. Triggers of migration 0013 rewrite the search
documents of the customer's cases when its name changes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import sqlalchemy as sa

from engine.kernel.errors import InvalidInput
from engine.kernel.records import CustomerRecord
from engine.store.customers import SqlCustomerTransaction
from engine.store.db import Database
from engine.store.personal import PersonalWrites
from engine.store.schema import customers


class SqlCustomerEdit(SqlCustomerTransaction, PersonalWrites):
    """One transaction of engine.customers.editing.CustomerEdit."""

    def customer_for_update(self, customer_id: str) -> CustomerRecord | None:
        query = sa.select(customers).where(customers.c.id == customer_id)
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else CustomerRecord(**row._mapping)

    def customer_with_email(self, address: str) -> str | None:
        found: str | None = self.connection.execute(
            sa.select(customers.c.id).where(sa.func.lower(customers.c.email) == address.lower())
            .order_by(customers.c.created_at, customers.c.id).limit(1)).scalar()
        return found

    def insert_customer(self, record: CustomerRecord) -> None:
        try:  # the transaction is rolled back by the error, whatever it had written
            self.connection.execute(sa.insert(customers).values(**asdict(record)))
        except sa.exc.IntegrityError:
            raise InvalidInput("id", f"customer '{record.id}' exists already (added a moment "
                               "ago); pick it, or choose another id") from None


class SqlCustomerEdits:
    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def editing(self) -> Iterator[SqlCustomerEdit]:
        with self.database.writing() as connection:
            yield SqlCustomerEdit(connection)
