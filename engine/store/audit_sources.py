"""What verify and checkpoints read (engine.cases.verifying.AuditSource): case rows with their
events, customer chains, the vault, the protection log, counts, chain heads and the
installation's id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from engine.cases.replay import CaseRow, VaultRow
from engine.kernel.checkpoints import Head
from engine.kernel.errors import CaseworkError
from engine.kernel.history import CustomerEvent, Event
from engine.kernel.protection import Act, ProtectionEntry
from engine.store.customers import SqlCustomers
from engine.store.db import Database
from engine.store.repository import _event, with_events
from engine.store.schema import (
    cases,
    customer_events,
    customers,
    events,
    installation,
    personal_values,
    protection_log,
)

_ACTS = frozenset(a.value for a in Act)
_COUNTED = {"cases": cases, "case_events": events, "customers": customers,
            "customer_events": customer_events, "protection_entries": protection_log,
            "vault_rows": personal_values}


class SqlAuditSource:
    """Read-only queries of the whole history, for verify and checkpoints."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def installation(self) -> str:
        with self.database.reading() as connection:
            found = connection.execute(sa.select(installation.c.id)).scalars().all()
        if len(found) != 1:
            raise CaseworkError(f"the installation table holds {len(found)} rows, not one: "
                                "it was edited; restore it from a backup (its id is in every "
                                "checkpoint)")
        return str(found[0])

    def case_histories(self) -> Iterator[tuple[CaseRow, list[Event]]]:
        """Every case row with its events in order, one case's events in memory at a time."""
        with self.database.reading() as connection:
            rows = {r.id: _case_row(r) for r in connection.execute(
                sa.select(cases.c.id, cases.c.workflow, cases.c.version, cases.c.state,
                          cases.c.assignee, cases.c.customer, cases.c.fields,
                          cases.c.updated_at, cases.c.history_seq, cases.c.history_head)
                .order_by(cases.c.id))}
            stream = connection.execution_options(yield_per=2000).execute(
                sa.select(events).order_by(events.c.case_id, events.c.seq))
            heads = [(case_id, row.history_seq, row.history_head)
                     for case_id, row in rows.items()]
            for case_id, _, _, found in with_events(heads, (_event(r) for r in stream),
                                                    lambda e: e.case_id):
                yield rows[case_id], found

    def customer_chains(self) -> Iterator[tuple[str, int, str, list[CustomerEvent]]]:
        return SqlCustomers(self.database).chains()

    def vault(self) -> dict[str, VaultRow]:
        with self.database.reading() as connection:
            return {r.ref: VaultRow(r.ref, r.customer_id, r.case_id, r.value, r.salt,
                                    r.erased_at, r.erased_by, r.erasure_seq)
                    for r in connection.execute(sa.select(
                        personal_values.c.ref, personal_values.c.customer_id,
                        personal_values.c.case_id, personal_values.c.value,
                        personal_values.c.salt, personal_values.c.erased_at,
                        personal_values.c.erased_by, personal_values.c.erasure_seq))}

    def protection_entries(self) -> list[ProtectionEntry]:
        with self.database.reading() as connection:
            return [_entry(r._mapping) for r in connection.execute(
                sa.select(protection_log).order_by(protection_log.c.seq))]

    def counts(self) -> dict[str, int]:
        with self.database.reading() as connection:
            return _counts(connection)

    def heads(self) -> tuple[dict[str, Any], dict[str, Head], dict[str, Head], Head]:
        """In one read: (installation, schema revision, counts), every case's and customer's
        chain head, and the protection log's head, for a checkpoint."""
        engine = self.database.engine
        if engine.dialect.name == "postgresql":  # one snapshot for every statement
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with engine.connect() as connection, connection.begin():
            about = {"installation": connection.execute(sa.select(installation.c.id)).scalar(),
                     "schema": MigrationContext.configure(connection).get_current_revision(),
                     "counts": _counts(connection)}
            case_heads = {str(r.id): Head(r.history_seq, r.history_head)
                          for r in connection.execute(sa.select(
                              cases.c.id, cases.c.history_seq, cases.c.history_head))}
            customer_heads = {str(r.id): Head(r.history_seq, r.history_head)
                              for r in connection.execute(sa.select(
                                  customers.c.id, customers.c.history_seq,
                                  customers.c.history_head)
                                  .where(customers.c.history_seq > 0))}
            last = connection.execute(sa.select(protection_log.c.seq, protection_log.c.hash)
                                      .order_by(protection_log.c.seq.desc()).limit(1)).first()
        protection = Head(last.seq, last.hash) if last is not None else Head(0, "")
        return about, case_heads, customer_heads, protection


def _counts(connection: sa.Connection) -> dict[str, int]:
    return {name: int(connection.execute(sa.select(sa.func.count()).select_from(table))
                      .scalar_one()) for name, table in _COUNTED.items()}


def _case_row(r: Any) -> CaseRow:
    fields = r.fields if isinstance(r.fields, dict) else json.loads(r.fields)
    return CaseRow(r.id, r.workflow, r.version, r.state, r.assignee, r.customer, fields,
                   r.updated_at, r.history_seq, r.history_head)


def _entry(m: Any) -> ProtectionEntry:
    act = m["act"]  # an act edited to an unknown name still hashes (and fails) as written
    return ProtectionEntry(m["seq"], Act(act) if act in _ACTS else cast(Act, act),
                           m["subject"], m["actor"], m["at"], m["reason"],
                           m["payload"], m["prev_hash"], m["hash"])
