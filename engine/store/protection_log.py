"""The data-protection log (engine/kernel/protection.py) in SQL: appending entries after its head
inside the caller's transaction, and reading it in order.

The head (the largest seq) is read in the transaction that appends: two writers that read the
same head both give their entry the same seq, and the unique seq refuses the second, which rolls
back whole (on PostgreSQL the head row is locked, so the second waits instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.history import GENESIS
from engine.kernel.protection import Act, ProtectionDraft, ProtectionEntry, chain_entries
from engine.store.db import Database
from engine.store.schema import protection_log


def head(connection: Connection) -> tuple[int, str]:
    """The log's last seq and hash ((0, GENESIS) when empty), locked on PostgreSQL."""
    query = (sa.select(protection_log.c.seq, protection_log.c.hash)
             .order_by(protection_log.c.seq.desc()).limit(1))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def append(connection: Connection, drafts: Iterable[ProtectionDraft], actor: str,
           at: datetime) -> list[ProtectionEntry]:
    """Chain the drafts after the head and write them, in the caller's transaction."""
    entries = chain_entries(*head(connection), drafts, actor, at)
    write(connection, entries)
    return entries


def write(connection: Connection, entries: Sequence[ProtectionEntry]) -> None:
    if entries:
        connection.execute(sa.insert(protection_log), [
            {"seq": e.seq, "act": str(e.act), "subject": e.subject, "actor": e.actor,
             "at": e.at, "reason": e.reason, "payload": e.payload, "prev_hash": e.prev_hash,
             "hash": e.hash} for e in entries])


def done(connection: Connection, act: Act, subjects: Sequence[str]) -> set[str]:
    """Which of these subjects have an entry of `act`."""
    if not subjects:
        return set()
    return set(connection.execute(sa.select(protection_log.c.subject).distinct().where(
        protection_log.c.act == str(act), protection_log.c.subject.in_(subjects))).scalars())


class SqlProtectionLog:
    """The log as engine.kernel.protection.ProtectionLog describes it."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def protection_head(self) -> tuple[int, str]:
        with self.database.reading() as connection:
            return head(connection)

    def append_protection(self, entries: Sequence[ProtectionEntry]) -> None:
        with self.database.writing() as connection:
            write(connection, entries)

    def entries(self) -> list[ProtectionEntry]:
        """Every entry, in order."""
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(protection_log).order_by(protection_log.c.seq))
            return [ProtectionEntry(r.seq, Act(r.act), r.subject, r.actor, r.at, r.reason,
                                    r.payload, r.prev_hash, r.hash) for r in rows]
