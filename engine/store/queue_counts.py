"""The queue list's counts (open, unassigned, breached, warning per queue) without counting the
open cases on every view: kept as the cases change.

Triggers on `cases` (migration 0010) add a change row, -1 from the old key and +1 to the new,
whenever an open case with a queue comes, goes or changes its (queue, SLA status, unassigned)
key, in the transaction that changes the case: the counts are exact at every commit, whatever
wrote the case. They only insert, so concurrent transactions never wait on a shared counter row.
A read sums the base counts and the changes since they were last folded in; when the changes
pile up past FOLD_AT, the reader folds them into the base in a transaction of its own, so a read
sums at most a few thousand small rows however many cases are open.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from engine.cases.queues import QueueCount
from engine.kernel.records import SlaStatus
from engine.store.db import Database
from engine.store.schema import queue_count_changes, queue_counts

FOLD_AT = 2_000  # pending changes a read sums before it folds them into the base

_KEY = ("queue", "sla_status", "unassigned")
_rows = sa.union_all(*(sa.select(*(t.c[k] for k in (*_KEY, "n")))
                       for t in (queue_counts, queue_count_changes))).subquery()
_COUNTS = (
    sa.select(_rows.c.queue, sa.func.sum(_rows.c.n),
              sa.func.sum(sa.case((_rows.c.unassigned, _rows.c.n), else_=0)),
              sa.func.sum(sa.case((_rows.c.sla_status == SlaStatus.BREACHED, _rows.c.n), else_=0)),
              sa.func.sum(sa.case((_rows.c.sla_status == SlaStatus.WARNING, _rows.c.n), else_=0)))
    .group_by(_rows.c.queue).having(sa.func.sum(_rows.c.n) > 0).order_by(_rows.c.queue)
)
_PENDING = sa.select(sa.func.count()).select_from(
    sa.select(queue_count_changes.c.id).limit(FOLD_AT + 1).subquery())
# the same statement on SQLite (3.24+) and PostgreSQL
_ADD = sa.text("INSERT INTO queue_counts (queue, sla_status, unassigned, n) "
               "VALUES (:queue, :sla_status, :unassigned, :n) "
               "ON CONFLICT (queue, sla_status, unassigned) DO UPDATE SET n = queue_counts.n + "
               "excluded.n")


class QueueCounts:
    def __init__(self, database: Database) -> None:
        self.database = database

    def read(self) -> list[QueueCount]:
        """Every queue with open cases, by name."""
        with self.database.reading() as connection:
            found = [QueueCount(q, int(n), int(u), int(b), int(w))
                     for q, n, u, b, w in connection.execute(_COUNTS)]
            pending = connection.execute(_PENDING).scalar_one()
        if pending > FOLD_AT:
            self.fold()
        return found

    def fold(self) -> int:
        """Move the pending changes into the base counts; return how many there were. Only the
        changes this transaction sees are deleted (and added): one committed meanwhile stays
        for the next fold. Keys are written in order, so two folds at once cannot deadlock."""
        with self.database.writing() as connection:
            taken = list(connection.execute(
                sa.delete(queue_count_changes).returning(*(queue_count_changes.c[k]
                                                           for k in (*_KEY, "n")))))
            sums: Counter[tuple[Any, ...]] = Counter()
            for queue, status, unassigned, n in taken:
                sums[queue, status, bool(unassigned)] += n
            for key in sorted(k for k, n in sums.items() if n):
                connection.execute(_ADD, dict(zip(_KEY, key, strict=True), n=sums[key]))
            connection.execute(sa.delete(queue_counts).where(queue_counts.c.n == 0))
        return len(taken)
