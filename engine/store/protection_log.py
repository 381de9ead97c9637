"""The data-protection log's rows (engine/kernel/protection.py): appended in the caller's
transaction after its head; read in order for verify."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.history import GENESIS
from engine.kernel.protection import Act, ProtectionDraft, ProtectionEntry, chain_entries
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
