from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.schema import CreateIndex

from engine.cases.runtime import Actor
from engine.store import Database
from engine.store.schema import metadata
from engine.store.upgrades import is_current, upgrade
from engine.wiring import Casework
from tests.fixtures import T0, add_test_customers


def test_migrations_make_exactly_the_described_schema(database_url: str) -> None:
    database = Database(database_url)
    dialect = database.engine.dialect.name

    def made_here(item: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
        """An index made on the other kind of database only (`ddl_if`) is not expected here."""
        if _is_search_index(item, name, kind):
            return False
        only_on = getattr(item, "_ddl_if", None)
        return only_on is None or only_on.dialect in (None, dialect)

    try:
        assert is_current(database)
        with database.engine.connect() as connection, warnings.catch_warnings():
            # Neither SQLAlchemy nor Alembic reads SQLite's indexes on expressions back; the
            # test below compares them as written
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expr")
            context = MigrationContext.configure(connection, opts={"include_object": made_here})
            assert compare_metadata(context, metadata) == []
    finally:
        database.dispose()


def _is_search_index(item: Any, name: str | None, kind: str) -> bool:
    """The case search index is each database's own kind of object (an FTS5 table and its
    shadow tables on SQLite, a pg_trgm-indexed table on PostgreSQL), described in
    engine/store/case_search.py rather than in the metadata."""
    table = name if kind == "table" else getattr(getattr(item, "table", None), "name", "")
    return str(table or "").startswith("case_search")


def test_sqlite_expression_indexes_are_the_described_ones(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(database)
    described = {index.name: str(CreateIndex(index).compile(dialect=database.engine.dialect))
                 for table in metadata.tables.values() for index in table.indexes
                 if any(not isinstance(e, sa.Column) for e in index.expressions)}
    try:
        with database.engine.connect() as connection:
            made = dict(connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ).all())
    finally:
        database.dispose()
    assert described  # the queue filter indexes (migration 0010)
    for name, sql in described.items():
        assert " ".join(made[name].split()) == " ".join(sql.split())


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
        "case.created", "rule.decided", "case.mail_skipped", "sla.started", "sla.started"]


def test_a_new_case_row_names_every_column_but_the_sla_ones() -> None:
    """The bulk insert of started cases (SqlTransaction.insert_cases) and the case read of a
    fire name their columns by hand, in CaseRecord's order: a column added to cases must be
    added there too."""
    from dataclasses import fields

    from engine.kernel.records import CaseRecord
    from engine.store.repository import _RECORD
    from engine.store.schema import cases
    assert set(_RECORD) == {c.name for c in cases.c} - {"sla_status", "sla_due_at"}
    assert tuple(f.name for f in fields(CaseRecord)) == _RECORD
