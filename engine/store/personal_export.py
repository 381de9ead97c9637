"""Everything held about one customer, as JSON-ready data (the right of access): the record,
figures, purchases, the customer's history, each of its cases with fields, history,
conversation (files included), mails and survey answers, and the protection log's entries about
them. Histories are shown with their personal values back in place; an erased value shows who
erased it, when and why."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.errors import NotFound
from engine.kernel.history import iso
from engine.kernel.personal import Erased, refs_in, reveal
from engine.store.db import Database
from engine.store.personal import revealed
from engine.store.schema import (
    case_entries,
    cases,
    customer_events,
    customer_figures,
    customers,
    entry_attachments,
    events,
    inbound_mail,
    outbox,
    protection_log,
    purchases,
    surveys,
)

FORMAT = "casework-personal-data/1"


class SqlPersonalExport:
    def __init__(self, database: Database, folder: Path) -> None:
        self.database, self.folder = database, folder

    def export_customer(self, customer_id: str, at: datetime) -> dict[str, Any]:
        """NotFound for an unknown customer."""
        with self.database.reading() as connection:
            record = connection.execute(sa.select(customers).where(
                customers.c.id == customer_id)).first()
            if record is None:
                raise NotFound(f"customer '{customer_id}' does not exist")
            case_rows = connection.execute(sa.select(cases).where(
                cases.c.customer == customer_id).order_by(cases.c.id)).all()
            case_ids = [row.id for row in case_rows]
            history = _rows(connection, sa.select(customer_events).where(
                customer_events.c.customer_id == customer_id).order_by(customer_events.c.seq))
            case_events = _rows(connection, sa.select(events).where(
                events.c.case_id.in_(case_ids)).order_by(events.c.case_id, events.c.seq))
            values = revealed(connection, {ref for e in [*history, *case_events]
                                           for ref in refs_in(json.loads(e["payload"]))})
            exported: dict[str, Any] = _plain({
                "format": FORMAT, "exported_at": at, "customer": dict(record._mapping),
                "figures": _rows(connection, sa.select(customer_figures).where(
                    customer_figures.c.customer_id == customer_id)),
                "purchases": _rows(connection, sa.select(
                    purchases.c.day, purchases.c.quantity, purchases.c.amount).where(
                    purchases.c.customer_id == customer_id).order_by(purchases.c.day,
                                                                     purchases.c.id)),
                "history": [_shown(e, values) for e in history],
                "cases": [self._case(connection, row, case_events, values) for row in case_rows],
                "mails": _rows(connection, sa.select(
                    outbox.c.id, outbox.c.case_id, outbox.c.address, outbox.c.subject,
                    outbox.c.body, outbox.c.created_at, outbox.c.sent_at).where(
                    outbox.c.recipient == customer_id, outbox.c.case_id.is_(None))),
                "surveys": _rows(connection, sa.select(
                    surveys.c.case_id, surveys.c.kind, surveys.c.created_at,
                    surveys.c.answered_at, surveys.c.score, surveys.c.comment).where(
                    surveys.c.customer_id == customer_id).order_by(surveys.c.id)),
                "protection": _rows(connection, sa.select(protection_log).where(
                    protection_log.c.subject.in_([customer_id, *map(str, case_ids)]))
                    .order_by(protection_log.c.seq)),
            })
            return exported

    def _case(self, connection: Connection, row: Any, case_events: list[dict[str, Any]],
              values: Mapping[str, Any]) -> dict[str, Any]:
        entries = _rows(connection, sa.select(case_entries).where(
            case_entries.c.case_id == row.id).order_by(case_entries.c.id))
        files = _rows(connection, sa.select(entry_attachments).where(
            entry_attachments.c.entry_id.in_([e["id"] for e in entries])))
        for entry in entries:
            entry["files"] = [self._file(f) for f in files if f["entry_id"] == entry["id"]]
        return {
            **{k: v for k, v in row._mapping.items()
               if k not in ("history_head", "history_seq", "lock_version")},
            "history": [_shown(e, values) for e in case_events if e["case_id"] == row.id],
            "conversation": entries,
            "mails": _rows(connection, sa.select(
                outbox.c.id, outbox.c.address, outbox.c.subject, outbox.c.body,
                outbox.c.created_at, outbox.c.sent_at).where(
                outbox.c.case_id == row.id, outbox.c.audience == "customer")),
            "received": _rows(connection, sa.select(
                inbound_mail.c.received_at, inbound_mail.c.sender, inbound_mail.c.subject,
                inbound_mail.c.outcome).where(inbound_mail.c.case_id == row.id)),
        }

    def _file(self, row: dict[str, Any]) -> dict[str, Any]:
        path = self.folder / row["storage_key"]
        content = base64.b64encode(path.read_bytes()).decode() if path.exists() else None
        return {"name": row["file_name"], "media_type": row["media_type"], "size": row["size"],
                "sha256": row["sha256"], "content_base64": content}


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(query)]


def _shown(event: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("seq", "name", "actor", "role", "at", "from_state", "to_state")
    return {**{k: event[k] for k in keep if k in event},
            "payload": reveal(json.loads(event["payload"]), values)}


def _plain(value: Any) -> Any:
    """JSON-ready: instants as ISO text, money as decimal text, erased values as a note."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    for kind, shown in _SHOWN:
        if isinstance(value, kind):
            return shown(value)
    return value


_SHOWN: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (datetime, iso),
    (date, date.isoformat),
    (Decimal, str),
    (Erased, lambda erased: {"erased": _plain(asdict(erased))}),
    (bytes, lambda data: base64.b64encode(data).decode()),
)
