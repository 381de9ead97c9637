"""Case conversations in SQL: the writes of the transaction that records an entry (mixed into
SqlTransaction), and the conversation as the case page reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.cases.conversation import Attachment, Delivery, Entry, EntryKind, NewEntry
from engine.kernel.errors import NotFound
from engine.store.schema import case_entries, customers, entry_attachments, outbox

if TYPE_CHECKING:
    from engine.store.repository import SqlStore


class ConversationWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def add_entry(self, entry: NewEntry) -> int:
        entry_id: int = self.connection.execute(
            sa.insert(case_entries).returning(case_entries.c.id),
            {"case_id": entry.case_id, "kind": entry.kind.value, "author": entry.author,
             "body": entry.body, "created_at": entry.created_at,
             "outbox_id": entry.outbox_id}).scalar_one()
        return entry_id

    def add_attachments(self, entry_id: int, files: Sequence[Attachment]) -> None:
        if files:
            self.connection.execute(sa.insert(entry_attachments), [
                {"entry_id": entry_id, "file_name": f.file_name, "media_type": f.media_type,
                 "size": f.size, "sha256": f.sha256, "storage_key": f.storage_key}
                for f in files])

    def customer_email(self, customer_id: str) -> str | None:
        email: str | None = self.connection.execute(
            sa.select(customers.c.email).where(customers.c.id == customer_id)).scalar()
        return email


class SqlConversations:
    """The conversation side of the store: its reads, and the store's own transactions (whose
    SqlTransaction mixes this module's writes in)."""

    def __init__(self, store: SqlStore) -> None:
        self.database = store.database
        self.transaction = store.transaction

    def entries(self, case_id: int) -> list[Entry]:
        query = (sa.select(case_entries, outbox.c.sent_at, outbox.c.attempts,
                           outbox.c.last_error, outbox.c.failed_at)
                 .select_from(case_entries.outerjoin(outbox))
                 .where(case_entries.c.case_id == case_id).order_by(case_entries.c.id))
        with self.database.reading() as connection:
            rows = connection.execute(query).all()
            files = connection.execute(
                sa.select(entry_attachments).join(case_entries)
                .where(case_entries.c.case_id == case_id)
                .order_by(entry_attachments.c.id)).all()
        attached: dict[int, list[Attachment]] = {}
        for row in files:
            attached.setdefault(row.entry_id, []).append(Attachment(**row._mapping))
        return [Entry(row.id, row.case_id, EntryKind(row.kind), row.author, row.body,
                      row.created_at, row.outbox_id, _delivery(row), row.sent_at,
                      row.last_error, tuple(attached.get(row.id, ())))
                for row in rows]

    def attachment(self, attachment_id: int) -> tuple[int, Attachment]:
        with self.database.reading() as connection:
            row = connection.execute(
                sa.select(entry_attachments, case_entries.c.case_id).join(case_entries)
                .where(entry_attachments.c.id == attachment_id)).first()
        if row is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        found = dict(row._mapping)
        case_id = found.pop("case_id")
        return int(case_id), Attachment(**found)


def _delivery(row: Any) -> Delivery | None:
    if row.outbox_id is None:
        return None
    if row.sent_at is not None:
        return Delivery.SENT
    if row.failed_at is not None:
        return Delivery.FAILED
    return Delivery.FAILING if row.last_error else Delivery.QUEUED
