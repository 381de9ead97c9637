"""Backup and restore of the whole database, online: casework may serve and the worker run.

SQLite: the backup API copies the database in one step, inside one read transaction (WAL lets
writers go on meanwhile); the counts and chain heads of the manifest are read from that copy.
PostgreSQL: a REPEATABLE READ transaction exports its snapshot; pg_dump dumps that snapshot and
the manifest's figures are read inside the same transaction, so both see the same instant.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from engine.kernel.errors import BackupRefused, CaseworkError
from engine.kernel.history import iso
from engine.store.backup_files import (
    DATA_NAMES,
    Figures,
    Heads,
    Manifest,
    pack,
    sha256_of,
    unpack,
)
from engine.store.db import Database
from engine.store.pg_tools import run_program
from engine.store.upgrades import head_revision, known_revisions, revision_of, upgrade

KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Restored:
    """What a restore put in place: the backup's manifest, and the revision it was upgraded
    from when the backup was of an older schema (None: it was current)."""

    manifest: Manifest
    upgraded_from: str | None


class SqlBackups:
    """Takes backups of one database and restores backups into it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.kind = database.dialect

    # --- backup -------------------------------------------------------------------------------

    def take(self, target: Path, now: datetime) -> Manifest:
        """Write a consistent snapshot of the database to `target` (one zip file)."""
        if target.exists():
            raise BackupRefused(f"{target} exists already; give a new file name (or remove it)")
        if not target.parent.is_dir():
            raise BackupRefused(f"{target.parent} is not a folder; give a backup file in an "
                                "existing folder")
        if Database.missing_file(self.database.url):
            raise CaseworkError(f"there is no database at {self.database.url} to back up")
        with tempfile.TemporaryDirectory(prefix=".casework-backup-",
                                         dir=target.parent) as folder:
            data = Path(folder) / DATA_NAMES[self.kind]
            if self.kind == "sqlite":
                revision, figures = self._copy_sqlite(data)
            else:
                revision, figures = self._dump_postgresql(data)
            manifest = Manifest(
                casework_version=version("casework"), database=self.kind,
                schema_revision=revision, created_at=iso(now), data_name=data.name,
                data_bytes=data.stat().st_size, data_sha256=sha256_of(data), figures=figures)
            pack(target, data, manifest)
        return manifest

    def _copy_sqlite(self, data: Path) -> tuple[str, Figures]:
        source = sqlite3.connect(self._sqlite_path())
        copy = sqlite3.connect(data)
        try:
            source.execute("PRAGMA busy_timeout=10000")
            source.backup(copy)  # every page in one step: one read transaction, consistent
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
            source.close()
        with _engine(f"sqlite:///{data}") as engine, engine.connect() as connection:
            return _revision(connection, self.database.url), figures_of(connection)

    def _dump_postgresql(self, data: Path) -> tuple[str, Figures]:
        snapshot_reader = self.database.engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with snapshot_reader.connect() as connection, connection.begin():
            snapshot = str(connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
            revision, figures = _revision(connection, self.database.url), \
                figures_of(connection)
            # dumped while this transaction holds the exported snapshot open
            run_program("pg_dump", self.database.url, "--format=custom", f"--file={data}",
                        f"--snapshot={snapshot}")
        return revision, figures

    def _sqlite_path(self) -> Path:
        return Path(sa.make_url(self.database.url).database or "")

    # --- restore ------------------------------------------------------------------------------

    def restore(self, backup: Path, replace: bool = False) -> Restored:
        """Restore `backup` into this database (empty, unless `replace`), check it against
        the manifest, and upgrade it when the backup is of an older schema. Every refusal
        comes before anything is changed."""
        if not backup.is_file():
            raise BackupRefused(f"{backup} is not a file; give the path of a backup")
        place = self._sqlite_path().parent if self.kind == "sqlite" else None
        if place is not None and not place.is_dir():
            raise BackupRefused(f"{place} is not a folder; make it, or give a database URL "
                                "in an existing folder")
        with tempfile.TemporaryDirectory(prefix=".casework-restore-", dir=place) as folder:
            data = Path(folder) / "data"
            manifest = unpack(backup, data)
            self._check_fits(backup, manifest)
            if not replace:
                self._check_empty()
            if self.kind == "sqlite":
                self._put_sqlite(backup, data, manifest)
            else:
                self._restore_postgresql(backup, data, manifest, replace)
        current = manifest.schema_revision == head_revision()
        if not current:
            upgrade(self.database)
        return Restored(manifest, None if current else manifest.schema_revision)

    def _check_fits(self, backup: Path, manifest: Manifest) -> None:
        if manifest.database != self.kind:
            raise BackupRefused(
                f"{backup} is a backup of a {KINDS.get(manifest.database, manifest.database)} "
                f"database; it cannot be restored into {KINDS[self.kind]}: restore it into a "
                f"{KINDS.get(manifest.database, manifest.database)} database "
                "(CASEWORK_DATABASE_URL)")
        if manifest.schema_revision not in known_revisions():
            raise BackupRefused(
                f"{backup} is of schema revision {manifest.schema_revision}, newer than this "
                f"casework knows (up to {head_revision()}); restore it with casework "
                f"{manifest.casework_version} or newer")

    def _check_empty(self) -> None:
        if self.kind == "sqlite" and Database.missing_file(self.database.url):
            return
        with self.database.engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
        if tables:
            raise BackupRefused(
                f"the database at {_safe(self.database.url)} is not empty ({len(tables)} "
                "tables); restore into an empty database, or give --replace to overwrite it")

    def _put_sqlite(self, backup: Path, data: Path, manifest: Manifest) -> None:
        """Check the copy against the manifest first, then move it into place whole."""
        with _engine(f"sqlite:///{data}") as engine, engine.connect() as connection:
            _compare(backup, manifest, figures_of(connection))
        self.database.dispose()
        target = self._sqlite_path()
        for stale in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            stale.unlink(missing_ok=True)  # the old database's log must not replay onto this
        os.replace(data, target)

    def _restore_postgresql(self, backup: Path, data: Path, manifest: Manifest,
                            replace: bool) -> None:
        self.database.dispose()
        if replace:
            # the old schema dropped and the backup restored in one transaction (psql -1): a
            # restore that fails leaves the old database as it was
            script = data.with_suffix(".sql")
            run_program("pg_restore", None, "--no-owner", "--no-acl", f"--file={script}",
                        str(data))
            run_program("psql", self.database.url, "--no-psqlrc", "--quiet",
                        "--single-transaction", "--set=ON_ERROR_STOP=1",
                        "--command=DROP SCHEMA public CASCADE",
                        "--command=CREATE SCHEMA public", f"--file={script}")
        else:
            run_program("pg_restore", self.database.url, "--single-transaction",
                        "--exit-on-error", "--no-owner", "--no-acl", str(data))
        with self.database.reading() as connection:
            _compare(backup, manifest, figures_of(connection))


def figures_of(connection: Connection) -> Figures:
    """Rows per table and the chain heads, as this connection's transaction sees them."""
    counts = {name: int(connection.execute(
        sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one())
        for name in sorted(sa.inspect(connection).get_table_names())}
    return Figures(counts, _heads(connection, "cases", int), _heads(connection, "customers", str))


def _heads(connection: Connection, table: str, key: type) -> Heads:
    rows = connection.execute(
        sa.text(f"SELECT id, history_seq, history_head FROM {table}")).all()
    # sorted here, not by the database: collations differ between servers
    listed = sorted((key(i), int(seq or 0), head) for i, seq, head in rows)
    text = json.dumps(listed, separators=(",", ":"))
    return Heads(len(listed), hashlib.sha256(text.encode()).hexdigest())


def _revision(connection: Connection, url: str) -> str:
    found = revision_of(connection)
    if found is None:
        raise CaseworkError(f"the database at {_safe(url)} has no casework schema; there is "
                            "nothing to back up (`casework db upgrade` makes one)")
    return found


def _compare(backup: Path, manifest: Manifest, restored: Figures) -> None:
    differences = manifest.figures.differences(restored)
    if differences:
        raise CaseworkError(f"what was restored from {backup} differs from its manifest: "
                            + "; ".join(differences) + "; use another backup")


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)
