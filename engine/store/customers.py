"""Customers and purchases in SQL: imports are one transaction each, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.customers import Reading
from engine.store.db import Database
from engine.store.schema import customers, imports, purchases

BATCH = 5000


@dataclass(frozen=True)
class Imported:
    """What an import added; `already` is when the same file was imported before (nothing added)."""

    customers: int
    purchases: int
    skipped: int
    already: datetime | None = None


class SqlCustomers:
    def __init__(self, database: Database) -> None:
        self.database = database

    def import_reading(self, reading: Reading, at: datetime,
                       progress: Callable[[int], None] = lambda _: None) -> Imported:
        """Write a file's good rows in one transaction; a file imported before adds nothing."""
        with self.database.writing() as connection:
            before = connection.execute(
                sa.select(imports.c.imported_at).where(imports.c.sha256 == reading.sha256)
            ).scalar()
            if before is not None:
                return Imported(0, 0, 0, before)
            import_id = connection.execute(sa.insert(imports).values(
                sha256=reading.sha256, path=reading.path, format=reading.format,
                rows=reading.rows, skipped=len(reading.problems), imported_at=at,
            ).returning(imports.c.id)).scalar_one()
            added = _upsert_customers(connection, reading, at)
            rows = [{"customer_id": p.customer, "day": p.day, "quantity": p.quantity,
                     "amount": p.amount, "import_id": import_id, "line": p.line}
                    for p in reading.purchases]
            for start in range(0, len(rows), BATCH):
                connection.execute(sa.insert(purchases), rows[start:start + BATCH])
                progress(min(start + BATCH, len(rows)))
        return Imported(added, len(rows), len(reading.problems))

    def count(self) -> tuple[int, int]:
        """How many customers and purchases are stored."""
        with self.database.reading() as connection:
            return (int(connection.execute(sa.select(sa.func.count()).select_from(customers))
                        .scalar_one()),
                    int(connection.execute(sa.select(sa.func.count()).select_from(purchases))
                        .scalar_one()))


def _upsert_customers(connection: Connection, reading: Reading, at: datetime) -> int:
    known = set(connection.execute(sa.select(customers.c.id)).scalars())
    new = [{"id": c.id, "type": c.attributes.get("type", "personal"),
            "status": c.attributes.get("status", "active"),
            **{k: v for k, v in c.attributes.items() if k not in ("type", "status")},
            "created_at": at, "updated_at": at}
           for c in reading.customers.values() if c.id not in known]
    columns = {c.name for c in customers.c}
    for row in new:  # every row must name the same columns for one executemany
        row.update({name: None for name in columns - set(row)})
    for start in range(0, len(new), BATCH):
        connection.execute(sa.insert(customers), new[start:start + BATCH])
    for facts in reading.customers.values():
        if facts.id in known and facts.attributes:
            connection.execute(sa.update(customers).where(customers.c.id == facts.id)
                               .values(**facts.attributes, updated_at=at))
    return len(new)
