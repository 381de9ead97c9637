"""tests/pgserver.py: the session's PostgreSQL server starts from the binaries' full paths."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from tests.pgserver import server_binaries, start_server


@pytest.mark.postgres
def test_the_server_starts_with_a_path_without_sbin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH of /usr/bin:/bin (a user's shell, a container) has no runuser (/usr/sbin): the
    switch to the postgres user must not need it."""
    if server_binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL, but its server binaries are not installed")
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    server = start_server()
    try:
        engine = sa.create_engine(server.url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("select current_user")).scalar() == "postgres"
        engine.dispose()
    finally:
        server.stop()
    assert not server.base.exists()
