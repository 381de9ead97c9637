"""Many rows through the driver, for the few reads and writes of a million rows.

SQLAlchemy's executemany processes every parameter of every row in Python (type adaptation,
dict-to-tuple), which costs more than SQLite spends inserting the row. These helpers take rows as
tuples already in the form the driver stores, and the SQL with `?` placeholders; values that need
a form per database (instants, days) go through `instant` and `day`, which store them exactly as
the SQLAlchemy types in engine.store.schema do, so either path reads back the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

# How SQLAlchemy's SQLite DateTime type stores an instant (UTC, always with microseconds).
_SQLITE_INSTANT = "%Y-%m-%d %H:%M:%S.%f"


def execute_many(connection: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `sql` (with ? placeholders) once per row, as one executemany of the driver."""
    if rows:
        connection.exec_driver_sql(_placeholders(connection, sql), list(rows))


class Driver:
    """The driver's own cursor of one transaction, for the statements of the hot path (a fire,
    a claimed timer): statements with ? placeholders run at the driver's cost, not SQLAlchemy's,
    and instants are written and read as engine.store.schema.UTCDateTime does."""

    def __init__(self, connection: Connection) -> None:
        self.sqlite = connection.dialect.name == "sqlite"
        self.cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self.known: dict[str, str] = {}
        self.instants: dict[datetime, Any] = {}  # a transaction's rows mostly share a moment

    def sql(self, text: str) -> str:
        found = self.known.get(text)
        if found is None:
            found = self.known[text] = text if self.sqlite else text.replace("?", "%s")
        return found

    def execute(self, text: str, parameters: Sequence[Any]) -> Any:
        """Run one statement; the cursor, to fetch from or to read its rowcount."""
        self.cursor.execute(self.sql(text), parameters)
        return self.cursor

    def executemany(self, text: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self.sql(text), rows)

    def instant(self, moment: datetime | None) -> Any:
        if moment is None:
            return None
        stored = self.instants.get(moment)
        if stored is None:
            if moment.tzinfo is None:
                raise ValueError("naive datetime given to the store; every instant must be aware")
            stored = self.instants[moment] = (
                moment.astimezone(UTC).strftime(_SQLITE_INSTANT) if self.sqlite else moment)
        return stored

    def read_instant(self, stored: Any) -> datetime | None:
        if stored is None:
            return None
        if self.sqlite:
            return datetime.fromisoformat(stored).replace(tzinfo=UTC)
        moment: datetime = stored
        return moment.astimezone(UTC)

    def json(self, stored: Any) -> Any:
        """A JSON column's value: SQLite keeps the text, PostgreSQL's driver parses JSONB."""
        return json.loads(stored) if isinstance(stored, str) else stored


def fetch(connection: Connection, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The rows of a query with ? placeholders, as the driver returns them."""
    return [tuple(row) for row in
            connection.exec_driver_sql(_placeholders(connection, sql), parameters)]


def fetch_columns(connection: Connection, sql: str, parameters: tuple[Any, ...],
                  width: int) -> list[list[Any]]:
    """The result of a query with ? placeholders column by column, read in parts: a million
    rows come back without a million row objects alive at once."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:  # the driver's own cursor: SQLAlchemy's rows would cost as much as the query
        cursor.execute(_placeholders(connection, sql), parameters)
        for part in iter(lambda: cursor.fetchmany(50_000), []):
            for column, values in zip(columns, zip(*part, strict=True), strict=True):
                column.extend(values)
    finally:
        cursor.close()
    return columns


def _placeholders(connection: Connection, sql: str) -> str:
    return sql if connection.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def instant(connection: Connection, moment: datetime) -> Any:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store; every instant must be aware")
    if connection.dialect.name == "sqlite":
        return moment.astimezone(UTC).strftime(_SQLITE_INSTANT)
    return moment


def day(connection: Connection, value: date) -> Any:
    return value.isoformat() if connection.dialect.name == "sqlite" else value


def money(connection: Connection, value: Decimal) -> Any:
    """SQLite has no decimal type: SQLAlchemy's Numeric stores a float there, and so does this."""
    return float(value) if connection.dialect.name == "sqlite" else value


class Instants:
    """instant() remembered per moment: a batch's rows mostly share one."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.known: dict[datetime, Any] = {}

    def __call__(self, moment: datetime) -> Any:
        stored = self.known.get(moment)
        if stored is None:
            stored = self.known[moment] = instant(self.connection, moment)
        return stored
