"""Mail taken from the mailbox, in SQL: the writes of the intake's transaction (mixed into
SqlTransaction), and the recent mail as `casework mail` lists it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from engine.channels.intake import InboundRecord, Outcome
from engine.store.db import Database
from engine.store.schema import inbound_mail, outbox

_INSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


class InboundWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def mail_taken(self, key: str) -> InboundRecord | None:
        row = self.connection.execute(
            sa.select(inbound_mail).where(inbound_mail.c.message_id == key)).first()
        return None if row is None else _record(row)

    def record_mail(self, record: InboundRecord) -> bool:
        insert = _INSERT[self.connection.dialect.name](inbound_mail).values(
            message_id=record.message_id, received_at=record.received_at,
            sender=record.sender, subject=record.subject, case_id=record.case_id,
            outcome=record.outcome.value, reason=record.reason)
        # another intake that recorded it meanwhile wins (PostgreSQL waits for its commit)
        done = self.connection.execute(insert.on_conflict_do_nothing(
            index_elements=["message_id"]).returning(inbound_mail.c.id))
        return done.first() is not None

    def case_of_messages(self, message_ids: Sequence[str]) -> int | None:
        if not message_ids:
            return None
        ours = sa.select(outbox.c.case_id, outbox.c.id.label("n"), sa.literal(1).label("o")) \
            .where(outbox.c.message_id.in_(message_ids), outbox.c.case_id.is_not(None))
        theirs = sa.select(inbound_mail.c.case_id, inbound_mail.c.id.label("n"),
                           sa.literal(0).label("o")) \
            .where(inbound_mail.c.message_id.in_(message_ids),
                   inbound_mail.c.case_id.is_not(None))
        found = sa.union_all(ours, theirs).subquery()
        case_id = self.connection.execute(
            sa.select(found.c.case_id).order_by(found.c.o.desc(), found.c.n.desc())
            .limit(1)).scalar()
        return None if case_id is None else int(case_id)


class SqlInbound:
    """The mail the intake took, newest first."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def recent(self, limit: int = 50) -> list[InboundRecord]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(inbound_mail)
                                      .order_by(inbound_mail.c.id.desc()).limit(limit)).all()
        return [_record(row) for row in rows]


def _record(row: sa.Row[tuple[object, ...]]) -> InboundRecord:
    found = row._mapping
    return InboundRecord(str(found["message_id"]), found["received_at"], str(found["sender"]),
                         str(found["subject"]), found["case_id"], Outcome(found["outcome"]),
                         found["reason"])
