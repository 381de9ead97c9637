"""Migration 0021: the web sessions of a database made before it are kept by digest and keep
working (the browser's cookie still names them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.kernel.accounts import session_digest
from engine.store import Database
from engine.store.accounts import SqlAccounts
from engine.store.schema import web_sessions
from engine.store.upgrades import upgrade
from tests.fixtures import T0, database_at

COOKIES = ("Zq3-first-session-id", "xY9_second-session-id")


@pytest.fixture
def at_0019(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind migrated only to 0019."""
    yield from database_at("0019", request, tmp_path)


@pytest.mark.parametrize("at_0019", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_migration_0021_keeps_sessions_by_digest_and_they_keep_working(
        at_0019: Database) -> None:
    expires = T0 + timedelta(hours=8)
    with at_0019.engine.begin() as connection:
        for cookie in COOKIES:
            connection.execute(sa.insert(web_sessions).values(
                key=cookie, data=f'{{"user": "{cookie}"}}'.encode(), expires_at=expires))
    upgrade(at_0019)
    with at_0019.engine.connect() as connection:
        keys = set(connection.execute(sa.select(web_sessions.c.key)).scalars())
    assert keys == {session_digest(c) for c in COOKIES}
    accounts = SqlAccounts(at_0019)
    for cookie in COOKIES:
        assert accounts.session(cookie, T0) == f'{{"user": "{cookie}"}}'.encode()
    assert accounts.drop_sessions([COOKIES[0]]) == 1
    assert accounts.session(COOKIES[0], T0) is None
