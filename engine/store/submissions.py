"""The keys of forms and API requests that applied something (engine.kernel.records.Submission):
stored in the transaction that applies, so that a second submission with the same key finds it
and applies nothing. One insert per keyed submission; none without a key."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from engine.kernel.records import Submission
from engine.store.schema import form_submissions

_INSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_EARLIER = sa.select(form_submissions).where(form_submissions.c.key == sa.bindparam("key"))


class Submissions:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def remember_submission(self, submission: Submission) -> Submission | None:
        """Insert the key, or (stored already) return the submission that stored it. On
        PostgreSQL an insert of a key another transaction is inserting waits for it: the
        second of two simultaneous submissions finds the first once it commits."""
        insert = _INSERT[self.connection.dialect.name](form_submissions).values(
            key=submission.key, user_name=submission.user, case_id=submission.case_id,
            at=submission.at, outcome=submission.outcome).on_conflict_do_nothing().returning(
            form_submissions.c.key)
        if self.connection.execute(insert).first() is not None:  # stored now
            return None
        row = self.connection.execute(_EARLIER, {"key": submission.key}).one()
        return Submission(row.key, row.user_name, row.case_id, row.at, row.outcome)
