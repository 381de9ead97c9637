"""Engines and transactions: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# SQLite: writers take the write lock when they begin (BEGIN IMMEDIATE), so two writers queue up
# behind each other instead of failing halfway when a read lock cannot be upgraded.
_WRITE = "casework_write"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # deleted and overwritten content inside a page is zeroed (FAST: where that costs no
        # extra write), so old copies of a value do not linger in the file; an erasure runs
        # with secure_delete=ON (engine/store/erasure.py). ON everywhere made each timer's fire
        # ~19% slower (bench/timers.py), FAST costs nothing measurable.
        cursor.execute("PRAGMA secure_delete=FAST")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        # the driver's own call: through SQLAlchemy, BEGIN cost as much as a fire's statements
        connection.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """A database by URL: `sqlite:///path/casework.db` or `postgresql+psycopg://...`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        # the same engine and pool, its connections marked for writing (built once: a fire
        # should not copy a connection's options to say so)
        self._writer = self.engine.execution_options(**{_WRITE: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One read-write transaction: committed when the block ends, rolled back on error."""
        with self._writer.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    @staticmethod
    def missing_file(url: str) -> bool:
        """True for a SQLite URL whose file does not exist (connecting would create it)."""
        parsed = sa.make_url(url)
        name = parsed.database or ""
        return parsed.get_backend_name() == "sqlite" and name not in ("", ":memory:") \
            and not Path(name).exists()


def create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def connect(url: str) -> Database:
    return Database(url)
