"""Engines and transactions: SQLite in WAL mode by default, PostgreSQL by URL.

A writer waits for a lock another writer holds at most `lock_timeout` seconds (SQLite's
busy_timeout, PostgreSQL's lock_timeout); when the wait runs out, the transaction is rolled back
and `writing` / `reading` raise engine.kernel.errors.Busy, whichever statement it was (the
driver's own ones of engine/store/bulk.py included): every path gets the same retryable error
without code of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from engine.kernel.errors import Busy

LOCK_TIMEOUT = 10.0  # seconds; engine.kernel.settings' CASEWORK_LOCK_TIMEOUT
POOL_SIZE = 20  # engine.kernel.settings' CASEWORK_DB_POOL_SIZE
# PostgreSQL's SQLSTATE for a lock not granted within lock_timeout (psycopg's LockNotAvailable)
_LOCK_NOT_AVAILABLE = "55P03"

# SQLite: writers take the write lock when they begin (BEGIN IMMEDIATE), so two writers queue up
# behind each other instead of failing halfway when a read lock cannot be upgraded.
_WRITE = "casework_write"


def _sqlite_setup(engine: Engine, lock_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={round(lock_timeout * 1000)}")
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
    """A database by URL: `sqlite:///path/casework.db` or `postgresql+psycopg://...`.

    `lock_timeout`: seconds a statement waits for a lock before Busy. `pool_size` (PostgreSQL):
    the connections kept open (and half as many more opened when all are busy).
    `idle_timeout` (seconds,
    PostgreSQL only; for a worker's sessions): the server ends a session whose transaction has
    been idle that long, and TCP keepalive probes a silent peer as soon, so that a worker that
    stopped halfway through a fire does not keep its row locks until the kernel gives up on
    the connection (engine/jobs/worker.py)."""

    def __init__(self, url: str, lock_timeout: float = LOCK_TIMEOUT,
                 idle_timeout: float | None = None, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.lock_timeout = lock_timeout
        self.engine = create_engine(url, lock_timeout, idle_timeout, pool_size)
        # the same engine and pool, its connections marked for writing (built once: a fire
        # should not copy a connection's options to say so)
        self._writer = self.engine.execution_options(**{_WRITE: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One read-write transaction: committed when the block ends, rolled back on error
        (Busy when a lock was not granted within the lock timeout)."""
        try:
            with self._writer.connect() as connection, connection.begin():
                yield connection
        except Exception as exc:
            # (a try costs nothing on the fire's path until something is raised)
            if not is_busy(exc):
                raise
            raise Busy(self.lock_timeout) from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection, connection.begin():
                yield connection
        except Exception as exc:
            if not is_busy(exc):
                raise
            raise Busy(self.lock_timeout) from exc

    def dispose(self) -> None:
        self.engine.dispose()

    @staticmethod
    def missing_file(url: str) -> bool:
        """True for a SQLite URL whose file does not exist (connecting would create it)."""
        parsed = sa.make_url(url)
        name = parsed.database or ""
        return parsed.get_backend_name() == "sqlite" and name not in ("", ":memory:") \
            and not Path(name).exists()


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` (the driver's, or SQLAlchemy's wrapping it) is a lock wait that ran out:
    SQLite's "database is locked" / "database table is locked" (SQLITE_BUSY, SQLITE_LOCKED),
    PostgreSQL's lock_not_available."""
    error = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(error, sqlite3.OperationalError):
        return "is locked" in str(error)
    return getattr(error, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def create_engine(url: str, lock_timeout: float = LOCK_TIMEOUT,
                  idle_timeout: float | None = None, pool_size: int = POOL_SIZE) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        _sqlite_setup(engine, lock_timeout)
        return engine
    # A pool as large as the requests a server works on at once: a connection opened beyond it
    # and closed after one use costs PostgreSQL a new backend process each time (bench/soak.py:
    # with the default 5 such openings took as much CPU as the server itself, and a second
    # server process added 1.27x instead of 1.65x)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size,
                            max_overflow=pool_size // 2,
                            connect_args=_postgres_session(lock_timeout, idle_timeout))


def _postgres_session(lock_timeout: float, idle_timeout: float | None) -> dict[str, Any]:
    """Connection arguments for psycopg: the session's timeouts, and for a worker's sessions
    TCP keepalive probing a silent server (or a server probing a silent worker) after
    `idle_timeout`, where the kernel's default waits two hours."""
    options = [f"-c lock_timeout={round(lock_timeout * 1000)}"]
    args: dict[str, Any] = {}
    if idle_timeout is not None:
        options.append(f"-c idle_in_transaction_session_timeout={round(idle_timeout * 1000)}")
        # the server's side of keepalive, for a worker that vanished without closing
        options.append(f"-c tcp_keepalives_idle={max(1, round(idle_timeout))}")
        options.append("-c tcp_keepalives_interval=5 -c tcp_keepalives_count=3")
        args.update(keepalives=1, keepalives_idle=max(1, round(idle_timeout)),
                    keepalives_interval=5, keepalives_count=3)
    return {"options": " ".join(options), **args}


def connect(url: str, lock_timeout: float = LOCK_TIMEOUT) -> Database:
    return Database(url, lock_timeout)
