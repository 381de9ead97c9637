"""Jobs in SQL (the engine.jobs.requested protocol): queued by the pages, claimed by workers.

A claim is one conditional UPDATE of the oldest job that is queued, or running under a lease
that has run out, picked on PostgreSQL with `FOR UPDATE SKIP LOCKED` so that two workers never
take the same job and neither waits for the other. Progress and the end are written only while
the claim holds (`claimed_by` still this worker's). A second recompute while one is queued or
running breaks the unique partial index `ux_jobs_one_recompute` and is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.kernel.errors import JobRefused, NotFound
from engine.kernel.jobs import JobKind, JobRecord, JobState, refusal
from engine.store.db import Database
from engine.store.schema import jobs

_ACTIVE = (JobState.QUEUED, JobState.RUNNING)


def _job(row: Any) -> JobRecord:
    m = row._mapping
    return JobRecord(m["id"], JobKind(m["kind"]), dict(m["arguments"]), JobState(m["state"]),
                     m["done"], m["total"], m["summary"], m["requested_by"],
                     m["requested_at"], m["started_at"], m["finished_at"], m["error"])


class SqlJobs:
    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, kind: JobKind, arguments: Mapping[str, Any], by: str,
            at: datetime) -> JobRecord:
        try:
            with self.database.writing() as connection:
                row = connection.execute(sa.insert(jobs).values(
                    kind=kind, arguments=dict(arguments), state=JobState.QUEUED, done=0,
                    requested_by=by, requested_at=at).returning(*jobs.c)).one()
        except sa.exc.IntegrityError:  # another recompute was queued meanwhile
            running = self.active(kind)
            raise JobRefused(refusal(running) if running else
                             "a tier recompute is already queued or running; only one runs "
                             "at a time") from None
        return _job(row)

    def get(self, job_id: int) -> JobRecord:
        with self.database.reading() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"there is no job {job_id} (see /jobs for the recent ones)")
        return _job(row)

    def recent(self, limit: int = 20) -> list[JobRecord]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit))
            return [_job(row) for row in rows]

    def active(self, kind: JobKind) -> JobRecord | None:
        with self.database.reading() as connection:
            row = connection.execute(sa.select(jobs).where(
                jobs.c.kind == kind, jobs.c.state.in_(_ACTIVE)).order_by(jobs.c.id)).first()
        return None if row is None else _job(row)

    def claim(self, worker: str, wall: datetime, lease_until: datetime,
              now: datetime) -> JobRecord | None:
        pick = sa.select(jobs.c.id).where(sa.or_(
            jobs.c.state == JobState.QUEUED,
            sa.and_(jobs.c.state == JobState.RUNNING, jobs.c.lease_until <= wall),
        )).order_by(jobs.c.id).limit(1)
        # workers look every few seconds and mostly find nothing: a read, not a write
        # transaction (on SQLite, the database's one write lock) each time
        with self.database.reading() as connection:
            if connection.execute(pick).first() is None:
                return None
        if self.database.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claim = sa.update(jobs).where(jobs.c.id == pick.scalar_subquery()).values(
            state=JobState.RUNNING, claimed_by=worker, lease_until=lease_until, started_at=now,
            done=0, total=None).returning(*jobs.c)
        with self.database.writing() as connection:
            row = connection.execute(claim).first()
        return None if row is None else _job(row)

    def progress(self, job_id: int, worker: str, done: int, total: int | None,
                 lease_until: datetime) -> bool:
        with self.database.writing() as connection:
            changed = connection.execute(sa.update(jobs).where(
                jobs.c.id == job_id, jobs.c.claimed_by == worker,
                jobs.c.state == JobState.RUNNING,
            ).values(done=done, total=total, lease_until=lease_until))
        return bool(changed.rowcount)

    def finish(self, job_id: int, worker: str, state: JobState, summary: str | None,
               error: str | None, at: datetime) -> bool:
        with self.database.writing() as connection:
            changed = connection.execute(sa.update(jobs).where(
                jobs.c.id == job_id, jobs.c.claimed_by == worker,
                jobs.c.state == JobState.RUNNING,
            ).values(state=state, summary=summary, error=error, finished_at=at,
                     lease_until=None))
        return bool(changed.rowcount)
