"""The vocabulary of jobs requested from the browser and run by a worker: their kinds, states,
records and where they are kept (engine/jobs/requested.py runs them; engine/store/jobs.py keeps
them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class JobKind(StrEnum):
    RECOMPUTE = "recompute"
    CYCLES = "cycles"
    REVIEWS = "reviews"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


TITLES = {JobKind.RECOMPUTE: "Tier recompute", JobKind.CYCLES: "Annual cycles",
          JobKind.REVIEWS: "Record reviews"}


@dataclass(frozen=True)
class JobRecord:
    id: int
    kind: JobKind
    arguments: Mapping[str, Any]
    state: JobState
    done: int
    total: int | None
    summary: str | None
    requested_by: str
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def title(self) -> str:
        """How pages name it: "Tier recompute as of 2026-03-01"."""
        args = self.arguments
        detail = f"for {args['year']}" if self.kind == JobKind.CYCLES else \
            f"as of {args.get('as_of')}"
        return f"{TITLES[self.kind]} {detail}"


class JobStore(Protocol):
    """Where jobs are kept (engine.store.jobs.SqlJobs)."""

    def add(self, kind: JobKind, arguments: Mapping[str, Any], by: str,
            at: datetime) -> JobRecord:
        """Queue a job; JobRefused if it is a recompute while another is queued or running."""
    def get(self, job_id: int) -> JobRecord: ...
    def recent(self, limit: int = 20) -> list[JobRecord]: ...
    def active(self, kind: JobKind) -> JobRecord | None:
        """The queued or running job of a kind, oldest first."""
    def claim(self, worker: str, wall: datetime, lease_until: datetime,
              now: datetime) -> JobRecord | None:
        """Claim the oldest queued job, or a running one whose lease ended before `wall`."""
    def progress(self, job_id: int, worker: str, done: int, total: int | None,
                 lease_until: datetime) -> bool:
        """Record progress while the claim holds (renewing it); False if it was lost."""
    def finish(self, job_id: int, worker: str, state: JobState, summary: str | None,
               error: str | None, at: datetime) -> bool: ...


def refusal(running: JobRecord) -> str:
    """Why a second recompute is refused, naming the one that holds the place."""
    return (f"a tier recompute is already {running.state} (job {running.id}, requested by "
            f"{running.requested_by}); only one recompute runs at a time: wait until it "
            f"finishes (see /jobs/{running.id}) and request another then")
