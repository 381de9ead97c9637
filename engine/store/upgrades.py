"""Run the Alembic migrations shipped in the `migrations` package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

import migrations
from engine.store.db import Database


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["url"] = url
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); a no-op when it is there."""
    command.upgrade(alembic_config(database.url), revision)


def is_current(database: Database) -> bool:
    """Whether the database is at the newest migration."""
    with database.engine.connect() as connection:
        return revision_of(connection) == head_revision()


def head_revision() -> str:
    """The newest schema revision this casework knows."""
    return str(_scripts().get_current_head())


def known_revisions() -> set[str]:
    """Every schema revision this casework ships a migration for."""
    return {script.revision for script in _scripts().walk_revisions()}


def revision_of(connection: Connection) -> str | None:
    """The schema revision a database is at (None: no casework schema)."""
    return MigrationContext.configure(connection).get_current_revision()


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))
