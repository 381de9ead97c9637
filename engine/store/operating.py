"""The operating figures (engine.kernel.records.OperatingFigures) and the readiness check, read
from the database: what /metrics and /readyz report."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa

from engine.kernel.records import OperatingFigures
from engine.store.db import Database
from engine.store.queue_counts import QueueCounts
from engine.store.schema import UTCDateTime, outbox, timers
from engine.store.upgrades import head_revision, revision_of

LATE_AFTER = timedelta(minutes=1)  # a due timer not fired by then is late: the workers lag

_DUE = sa.select(sa.func.count(), sa.func.min(timers.c.retry_at, type_=UTCDateTime),
                 sa.func.count().filter(timers.c.retry_at < sa.bindparam("late"))).where(
    timers.c.state == "pending", timers.c.retry_at <= sa.bindparam("now"))
_OUTBOX = sa.select(sa.func.count().filter(outbox.c.failed_at.is_(None)),
                    sa.func.count().filter(outbox.c.failed_at.is_not(None))).where(
    outbox.c.sent_at.is_(None))


@cache
def _head() -> str:
    return head_revision()  # reads the migration scripts: once per process


class SqlOperating:
    """engine.kernel.records.Operating on a database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def figures(self, now: datetime) -> OperatingFigures:
        with self.database.reading() as connection:
            due, oldest, late = connection.execute(
                _DUE, {"now": now, "late": now - LATE_AFTER}).one()
            unsent, failed = connection.execute(_OUTBOX).one()
        queues = {count.queue: count.open for count in QueueCounts(self.database).read()}
        waited = (now - oldest).total_seconds() if oldest is not None else 0.0
        return OperatingFigures(int(due), int(late), max(0.0, waited), int(unsent), int(failed),
                                queues)

    def ready(self) -> str | None:
        try:
            with self.database.engine.connect() as connection:
                found = revision_of(connection)
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            return f"the database does not answer: {type(cause).__name__}"
        if found != _head():
            return (f"the database schema is at {found or 'no revision'}, this casework needs "
                    f"{_head()}: run `casework db upgrade`")
        return None

