"""PostgreSQL connections are kept: a server working on as many requests at once as the pool
holds opens no new connection once warm (each costs PostgreSQL a new backend process)."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from engine.kernel.settings import settings_for
from engine.store.db import POOL_SIZE, Database

AT_ONCE = 12  # more than SQLAlchemy's default pool of 5, fewer than casework's


def sessions_opened(url: str) -> int:
    """Sessions the server has opened in this database so far (PostgreSQL 14+)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
                .scalar_one())
    finally:
        engine.dispose()


def busy(database: Database, rounds: int) -> None:
    """AT_ONCE threads each hold a connection at the same moment, `rounds` times."""
    gate = threading.Barrier(AT_ONCE)

    def work() -> None:
        for _ in range(rounds):
            with database.reading() as connection:
                gate.wait(timeout=30)  # all AT_ONCE connections are out at this moment
                connection.execute(sa.text("SELECT 1"))

    threads = [threading.Thread(target=work) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_concurrent_requests_reuse_the_pools_connections(postgres_database_url: str) -> None:
    database = Database(postgres_database_url)
    try:
        busy(database, 1)  # warm: the pool opens its connections
        before = sessions_opened(postgres_database_url)
        busy(database, 5)
        opened = sessions_opened(postgres_database_url) - before
    finally:
        database.dispose()
    assert opened <= 1  # the count's own session only (its stats may lag: at most that one)


def test_the_pool_size_is_a_setting(postgres_database_url: str) -> None:
    assert settings_for().db_pool_size == POOL_SIZE == 20
    database = Database(postgres_database_url, pool_size=7)
    try:
        assert database.engine.pool.size() == 7  # type: ignore[attr-defined]
    finally:
        database.dispose()
