"""The vault of personal values (engine/kernel/personal.py): written in the transaction of the
events whose markers stand for them; read to show a history with its values back in place."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.personal import Erased, Sealed
from engine.store.schema import personal_values, protection_log


class PersonalWrites:
    """Mixed into the store's transactions (case and customer edits)."""

    connection: Connection

    def keep_personal(self, sealed: Sequence[Sealed], customer_id: str | None,
                      case_id: int | None, at: datetime) -> None:
        if sealed:
            self.connection.execute(personal_values.insert(), [
                {"ref": s.ref, "customer_id": customer_id, "case_id": case_id,
                 "value": s.text, "salt": s.salt, "created_at": at} for s in sealed])


def revealed(connection: Connection, refs: Collection[str]) -> dict[str, Any]:
    """ref -> its value, or an Erased saying when, by whom and why; refs not in the vault are
    left out (verify reports them)."""
    found: dict[str, Any] = {}
    wanted = sorted(set(refs))
    for start in range(0, len(wanted), 500):
        rows = connection.execute(
            sa.select(personal_values.c.ref, personal_values.c.value,
                      personal_values.c.erased_at, personal_values.c.erased_by,
                      protection_log.c.reason)
            .outerjoin(protection_log, protection_log.c.seq == personal_values.c.erasure_seq)
            .where(personal_values.c.ref.in_(wanted[start:start + 500])))
        for row in rows:
            found[row.ref] = orjson.loads(row.value) if row.value is not None else Erased(
                row.erased_at, row.erased_by or "?", row.reason or "")
    return found
