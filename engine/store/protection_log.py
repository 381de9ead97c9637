"""The data-protection log's rows (engine/kernel/protection.py): appended in the caller's
transaction after its head; read in order for verify."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.history import GENESIS
from engine.kernel.protection import Act, ProtectionDraft, ProtectionEntry, chain_entries
from engine.store.db import Database
from engine.store.schema import protection_log


def append_protection(connection: Connection, draft: ProtectionDraft, actor: str,
                      at: datetime) -> int:
    """Append one entry; its seq. Two writers at once: the second's insert of the same seq
    fails and its transaction rolls back (the unique seq), never a fork of the chain."""
    head = connection.execute(sa.select(protection_log.c.seq, protection_log.c.hash)
                              .order_by(protection_log.c.seq.desc()).limit(1)).first()
    seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS)
    entry = chain_entries(seq, prev, [draft], actor, at)[0]
    connection.execute(protection_log.insert().values(
        seq=entry.seq, act=str(entry.act), subject=entry.subject, actor=entry.actor,
        at=entry.at, reason=entry.reason, payload=entry.payload, prev_hash=entry.prev_hash,
        hash=entry.hash))
    return entry.seq


def protection_entries(connection: Connection) -> list[ProtectionEntry]:
    rows = connection.execute(sa.select(protection_log).order_by(protection_log.c.seq))
    return [ProtectionEntry(r.seq, Act(r.act), r.subject, r.actor, r.at, r.reason, r.payload,
                            r.prev_hash, r.hash) for r in rows]


def append(connection: Connection, drafts: Iterable[ProtectionDraft], actor: str,
           at: datetime) -> None:
    """append_protection for each draft, in the caller's transaction (holds, retention)."""
    for draft in drafts:
        append_protection(connection, draft, actor, at)


def done(connection: Connection, act: Act, subjects: Sequence[str]) -> set[str]:
    """Which of these subjects have an entry of `act`."""
    if not subjects:
        return set()
    return set(connection.execute(sa.select(protection_log.c.subject).distinct().where(
        protection_log.c.act == str(act), protection_log.c.subject.in_(subjects))).scalars())


class SqlProtectionLog:
    """The whole log, for reading (tests, reports)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def entries(self) -> list[ProtectionEntry]:
        """Every entry, in order."""
        with self.database.reading() as connection:
            return protection_entries(connection)
