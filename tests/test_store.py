from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine.runtime import Actor
from engine.store import Database
from engine.store.migrate import is_current
from engine.store.schema import metadata
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers


def test_migrations_make_exactly_the_described_schema(database_url: str) -> None:
    database = Database(database_url)
    try:
        assert is_current(database)
        with database.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        database.dispose()


@pytest.mark.parametrize("statement", ["UPDATE events SET actor = 'mallory'",
                                       "DELETE FROM events"])
def test_the_database_refuses_to_change_history(casework: Casework, statement: str) -> None:
    add_test_customers(casework)
    casework.runtime.start("complaint", {"channel": "web", "summary": "s"},
                           Actor("ann", "agent"), T0, customer="C1")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), \
            casework.database.writing() as connection:
        connection.exec_driver_sql(statement)
    assert [e.name for e in casework.store.case_events(1)] == [
        "case.created", "sla.started", "sla.started"]
