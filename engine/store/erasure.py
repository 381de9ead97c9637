"""Erasing personal data (engine/kernel/personal.py) from everywhere it is kept, in one
transaction, and leaving the history verifiable: the vault's values and salts are removed (the
markers in the history stay, and say who erased them, when and why); the customer's record, the
personal fields of its cases, their conversation, attachments, mails, survey comments, request
addresses and notification texts are emptied; the search index follows by its triggers. Each
erasure is an entry of the protection log and an event in each history it touches.

On SQLite an erasure runs with `secure_delete` on (zeroing what it deletes or overwrites;
engine/store/db.py keeps FAST on every connection, which zeroes freed space inside pages), the
search index is merged afterwards and the write-ahead log is checkpointed and truncated: no
erased value stays in the database files. Attachment files are deleted once the transaction
has committed."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.history import EventDraft, chain, chain_customer
from engine.kernel.personal import PERSONAL_COLUMNS
from engine.kernel.protection import Act, ErasureReport, ProtectionDraft
from engine.store.customers import SqlCustomerTransaction
from engine.store.db import Database
from engine.store.personal import revealed
from engine.store.personal_export import SqlPersonalExport
from engine.store.protection_log import append_protection
from engine.store.schema import (
    case_entries,
    cases,
    customers,
    entry_attachments,
    inbound_mail,
    notifications,
    outbox,
    personal_values,
    public_requests,
    surveys,
)

PersonalOf = Callable[[int], frozenset[str]]  # a workflow definition's personal fields


class SqlPersonalData(SqlPersonalExport):
    """Shows, exports and erases a customer's, or one case's, personal data."""

    def __init__(self, database: Database, personal_of: PersonalOf, folder: Path) -> None:
        super().__init__(database, folder)
        self.personal_of = personal_of

    def values(self, refs: Collection[str]) -> dict[str, Any]:
        if not refs:
            return {}
        with self.database.reading() as connection:
            return revealed(connection, refs)

    def erase_customer(self, customer_id: str, actor: str, reason: str,
                       now: datetime) -> ErasureReport:
        """Every personal value of the customer and of its cases; NotFound for an unknown
        customer, InvalidInput for one erased already."""
        reason = _reason(reason)
        with self.database.writing() as connection, _zeroing(connection):
            row = _locked(connection, sa.select(customers).where(customers.c.id == customer_id))
            if row is None:
                raise NotFound(f"customer '{customer_id}' does not exist")
            if row.erased_at is not None:
                raise InvalidInput("customer", f"'{customer_id}' was erased already, on "
                                   f"{row.erased_at:%Y-%m-%d %H:%M}; nothing to do")
            case_ids = list(connection.execute(sa.select(cases.c.id).where(
                cases.c.customer == customer_id).order_by(cases.c.id)).scalars())
            counts, keys = _empty(connection, case_ids, customer_id, row.email, now)
            seq = append_protection(connection, ProtectionDraft(
                Act.CUSTOMER_ERASED, customer_id, reason, {"cases": case_ids, **counts}),
                actor, now)
            counts["values"] = _erase_vault(connection, case_ids, customer_id, actor, seq, now)
            _erase_record(connection, row, seq, actor, now)
            for case_id in case_ids:
                self._erase_case_row(connection, case_id, seq, actor, now)
        return self._finish(customer_id, seq, case_ids, counts, keys)

    def erase_case(self, case_id: int, actor: str, reason: str, now: datetime) -> ErasureReport:
        """One case's personal values (retention's `erase_personal`); the customer's record
        stays."""
        reason = _reason(reason)
        with self.database.writing() as connection, _zeroing(connection):
            if connection.execute(sa.select(cases.c.id).where(cases.c.id == case_id)).first() \
                    is None:
                raise NotFound(f"case {case_id} does not exist")
            counts, keys = _empty(connection, [case_id], None, None, now)
            seq = append_protection(connection, ProtectionDraft(
                Act.CASE_ERASED, str(case_id), reason, dict(counts)), actor, now)
            counts["values"] = _erase_vault(connection, [case_id], None, actor, seq, now)
            self._erase_case_row(connection, case_id, seq, actor, now)
        return self._finish(str(case_id), seq, [case_id], counts, keys)

    def _erase_case_row(self, connection: Connection, case_id: int, seq: int, actor: str,
                        now: datetime) -> None:
        """The case's personal fields dropped from its row, and `case.erased` in its history."""
        case = _locked(connection, sa.select(cases).where(cases.c.id == case_id))
        assert case is not None
        personal = self.personal_of(case.definition_id)
        fields = {k: v for k, v in case.fields.items() if k not in personal}
        drafts = [EventDraft("case.erased", {"erasure": seq, "fields": sorted(
            personal & set(case.fields))})]
        chained = chain(case_id, case.history_seq, case.history_head, drafts, actor, None, now)
        SqlCustomerTransaction(connection).append_events(chained)
        connection.execute(cases.update().where(cases.c.id == case_id).values(
            fields=fields, history_seq=chained[-1].seq, history_head=chained[-1].hash,
            lock_version=case.lock_version + 1, updated_at=now))

    def _finish(self, subject: str, seq: int, case_ids: Sequence[int], counts: dict[str, int],
                keys: Sequence[str]) -> ErasureReport:
        for key in keys:  # after the commit: a rolled-back erasure keeps its files
            with suppress(FileNotFoundError):
                (self.folder / key).unlink()
        if self.database.dialect == "sqlite":
            _scrub_sqlite(self.database)
        return ErasureReport(subject, seq, tuple(case_ids), counts["values"], counts["entries"],
                             counts["files"], counts["mails"])


@contextmanager
def _zeroing(connection: Connection) -> Iterator[None]:
    """SQLite's secure_delete fully on while the block runs (everything it deletes or
    overwrites, whole freed pages too, is zeroed), back to the connections' FAST after."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA secure_delete=FAST")


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidInput("reason", "is empty; say why (e.g. the customer's request of "
                           "2026-12-01, ticket 4711)")
    if len(text) > 2000:
        raise InvalidInput("reason", f"is {len(text):,} characters long; the most is 2,000")
    return text


def _locked(connection: Connection, query: Any) -> Any:
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return connection.execute(query).first()


def _empty(connection: Connection, case_ids: Sequence[int], customer_id: str | None,
           email: str | None, now: datetime) -> tuple[dict[str, int], list[str]]:
    """Empty the conversation, files, mails, survey comments, request addresses and
    notification texts of these cases (and the customer's own mail); counts and the files'
    storage keys."""
    in_cases = case_entries.c.case_id.in_(case_ids)
    entry_ids = sa.select(case_entries.c.id).where(in_cases).scalar_subquery()
    keys = list(connection.execute(sa.select(entry_attachments.c.storage_key).where(
        entry_attachments.c.entry_id.in_(entry_ids))).scalars())
    connection.execute(entry_attachments.delete().where(
        entry_attachments.c.entry_id.in_(entry_ids)))
    entries = connection.execute(case_entries.update().where(
        in_cases, case_entries.c.erased_at.is_(None)).values(body="", erased_at=now)).rowcount
    mail_of: sa.ColumnElement[bool] = outbox.c.case_id.in_(case_ids)
    if customer_id is not None:
        mail_of = sa.or_(mail_of, outbox.c.recipient == customer_id)
    mails = connection.execute(outbox.update().where(mail_of).values(
        address=None, subject="(erased)", body="",
        failed_at=sa.case((outbox.c.sent_at.is_(None), sa.func.coalesce(outbox.c.failed_at,
                                                                          now)),
                          else_=outbox.c.failed_at),
        last_error=sa.case((outbox.c.sent_at.is_(None), "erased before it was sent"),
                           else_=outbox.c.last_error))).rowcount
    inbound_of: sa.ColumnElement[bool] = inbound_mail.c.case_id.in_(case_ids)
    if email:
        inbound_of = sa.or_(inbound_of, sa.func.lower(inbound_mail.c.sender) == email.lower())
    mails += connection.execute(inbound_mail.update().where(inbound_of).values(
        sender="", subject="")).rowcount
    survey_of: sa.ColumnElement[bool] = surveys.c.case_id.in_(case_ids)
    if customer_id is not None:
        survey_of = sa.or_(survey_of, surveys.c.customer_id == customer_id)
    connection.execute(surveys.update().where(survey_of).values(comment=None))
    connection.execute(public_requests.update().where(
        public_requests.c.case_id.in_(case_ids)).values(client=None, detail=None))
    connection.execute(notifications.update().where(notifications.c.case_id.in_(case_ids))
                       .values(title=sa.literal("Case ") + sa.cast(notifications.c.case_id,
                                                                     sa.String), text=""))
    return {"entries": entries, "files": len(keys), "mails": mails}, keys


def _erase_vault(connection: Connection, case_ids: Sequence[int], customer_id: str | None,
                 actor: str, seq: int, now: datetime) -> int:
    whose: sa.ColumnElement[bool] = personal_values.c.case_id.in_(case_ids)
    if customer_id is not None:
        whose = sa.or_(whose, personal_values.c.customer_id == customer_id)
    return int(connection.execute(personal_values.update().where(
        whose, personal_values.c.erased_at.is_(None)).values(
        value=None, salt=None, erased_at=now, erased_by=actor, erasure_seq=seq)).rowcount)


def _erase_record(connection: Connection, row: Any, seq: int, actor: str,
                  now: datetime) -> None:
    """The record's personal columns emptied, and `customer.erased` in its history."""
    chained = chain_customer(row.id, row.history_seq, row.history_head, [EventDraft(
        "customer.erased", {"erasure": seq, "columns": list(PERSONAL_COLUMNS)})], actor, None,
        now)
    SqlCustomerTransaction(connection).append_customer_events(chained)
    connection.execute(customers.update().where(customers.c.id == row.id).values(
        **dict.fromkeys(PERSONAL_COLUMNS), erased_at=now, updated_at=now,
        history_seq=chained[-1].seq, history_head=chained[-1].hash))


def _scrub_sqlite(database: Database) -> None:
    """Merge the search index (its deleted entries go with the merge) and fold the write-ahead
    log into the database file, truncating it: old page images hold the erased text."""
    with database.writing() as connection, _zeroing(connection):
        connection.exec_driver_sql("INSERT INTO case_search(case_search) VALUES ('optimize')")
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
