"""What the retention job (engine/jobs/retention.py) reads and writes in SQL: the closed cases a
rule has come due for, deleting a case and everything of it, and the run's log entry.

Deleting a case is one transaction: its conversation (entries, attachment rows, their outbox
mail), timers, clocks, history, idempotency keys, surveys, notifications and vault rows go with
it; the inbound mails and public requests that name it keep their rows with the case left
blank; the search index and the queue counts follow by the triggers on cases and case_entries
(migrations 0010, 0013). The protection log gets `case.deleted` with the head of the deleted
history, in the same transaction and before the events go: the events' trigger refuses to
delete the history of a case whose deletion is not logged (migration 0023).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.cases.holds import HeldCase
from engine.kernel.errors import NotFound
from engine.kernel.protection import Act, ProtectionDraft
from engine.store import protection_log
from engine.store.db import Database
from engine.store.holds import active_on_case
from engine.store.schema import (
    case_entries,
    cases,
    entry_attachments,
    events,
    form_submissions,
    inbound_mail,
    legal_holds,
    notifications,
    outbox,
    personal_values,
    public_requests,
    sla_clocks,
    surveys,
    timers,
)
from engine.store.schema import protection_log as log_table

# the rows of a case, deleted children first (entry_attachments and outbox go by the entries)
_CASE_ROWS = (timers, sla_clocks, events, form_submissions, surveys, notifications)
_LEFT_BLANK = (inbound_mail, public_requests)


@dataclass(frozen=True)
class DueCase:
    """A closed case whose retention has come due."""

    id: int
    workflow: str
    customer: str | None
    closed_at: datetime
    held: bool  # under an active hold, its own or its customer's


class SqlRetention:
    def __init__(self, database: Database) -> None:
        self.database = database

    def due(self, workflow: str, closed_before: datetime, skip_erased: bool) -> list[DueCase]:
        """The cases of `workflow` closed before `closed_before`, by id; with skip_erased, not
        those whose personal values retention erased already (a case.erased entry)."""
        held = sa.exists().where(legal_holds.c.released_at.is_(None), sa.or_(
            legal_holds.c.case_id == cases.c.id, legal_holds.c.customer_id == cases.c.customer))
        query = (sa.select(cases.c.id, cases.c.workflow, cases.c.customer, cases.c.closed_at,
                           held.label("held"))
                 .where(cases.c.workflow == workflow, cases.c.closed_at.is_not(None),
                        cases.c.closed_at < closed_before).order_by(cases.c.id))
        if skip_erased:
            query = query.where(~sa.exists().where(
                log_table.c.act == str(Act.CASE_ERASED),
                log_table.c.subject == sa.cast(cases.c.id, sa.String)))
        with self.database.reading() as connection:
            return [DueCase(r.id, r.workflow, r.customer, r.closed_at, bool(r.held))
                    for r in connection.execute(query)]

    def erased(self, case_id: int) -> bool:
        """Whether the protection log has the erasure of this case."""
        with self.database.reading() as connection:
            return bool(protection_log.done(connection, Act.CASE_ERASED, [str(case_id)]))

    def log(self, act: Act, subject: str, reason: str, payload: dict[str, Any], actor: str,
            at: datetime) -> None:
        """One protection-log entry in a transaction of its own."""
        with self.database.writing() as connection:
            protection_log.append(connection, [ProtectionDraft(act, subject, reason, payload)],
                                  actor, at)

    def delete_case(self, case_id: int, reason: str, actor: str, at: datetime) -> list[str]:
        """Delete a case and everything of it, and log it, in one transaction; the storage keys
        of its attachment files, for the caller to remove once this has committed. Raises
        HeldCase when a hold was placed since the case was found due."""
        with self.database.writing() as connection:
            row = _locked_case(connection, case_id)
            holds = active_on_case(connection, case_id)
            if holds:
                raise HeldCase(case_id, holds)
            # the entry first: the events' trigger lets only a logged deletion remove them
            protection_log.append(connection, [ProtectionDraft(
                Act.CASE_DELETED, str(case_id), reason,
                {"workflow": row.workflow, "customer": row.customer,
                 "history_seq": row.history_seq, "history_head": row.history_head,
                 "closed_at": row.closed_at.isoformat() if row.closed_at else None})],
                actor, at)
            return _delete_rows(connection, case_id)


def _locked_case(connection: Connection, case_id: int) -> Any:
    query = sa.select(cases).where(cases.c.id == case_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise NotFound(f"case {case_id} does not exist")
    return row


def _delete_rows(connection: Connection, case_id: int) -> list[str]:
    entries = sa.select(case_entries.c.id).where(case_entries.c.case_id == case_id)
    keys = list(connection.execute(sa.select(entry_attachments.c.storage_key).where(
        entry_attachments.c.entry_id.in_(entries))).scalars())
    mailed = list(connection.execute(sa.select(case_entries.c.outbox_id).where(
        case_entries.c.case_id == case_id, case_entries.c.outbox_id.is_not(None))).scalars())
    connection.execute(sa.delete(entry_attachments).where(
        entry_attachments.c.entry_id.in_(entries)))
    connection.execute(sa.delete(case_entries).where(case_entries.c.case_id == case_id))
    connection.execute(sa.delete(outbox).where(
        sa.or_(outbox.c.case_id == case_id, outbox.c.id.in_(mailed or [-1]))))
    for table in _CASE_ROWS:
        connection.execute(sa.delete(table).where(table.c.case_id == case_id))
    connection.execute(sa.delete(personal_values).where(personal_values.c.case_id == case_id))
    for table in _LEFT_BLANK:
        connection.execute(sa.update(table).where(table.c.case_id == case_id)
                           .values(case_id=None))
    connection.execute(sa.delete(cases).where(cases.c.id == case_id))
    return keys
