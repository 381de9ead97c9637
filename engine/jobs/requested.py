"""Jobs requested from the browser and run by a worker: a tier recompute (as of a day), a year's
annual cycles, the record reviews that have fallen due (what `casework tiers recompute`,
`cycles start` and `reviews start` do), each recorded with its progress and summary.

A request is a queued row (engine/store/jobs.py). A worker (`casework worker`, or the one
beside `casework serve`) claims one queued job at a time under a lease, as it claims timers
(engine/jobs/worker.py), writes its progress as it goes (each write renews the lease) and
finishes it with a summary, or with the error that failed it. A worker that dies leaves its job
"running" with a lease that runs out; another worker then takes it over and runs it again from
the start, which is safe: a recompute computes the same figures again, and cycles and reviews
never open a case twice.

A job runs on the stored versions of the workflows and tables (what was published), not on the
files of the worker's home, which the command line loads first: a page publishes what it runs.

Only one recompute at a time: a request while one is queued or running is refused, and the
database refuses a second one too (a unique partial index), however many servers take requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.kernel.errors import CaseworkError, InvalidInput, JobRefused
from engine.kernel.jobs import JobKind, JobRecord, JobState, JobStore, refusal

if TYPE_CHECKING:
    from engine.jobs.opening import Opened, Opening
    from engine.jobs.tiering import Tiering

log = logging.getLogger("casework.jobs")
LEASE = timedelta(minutes=5)  # renewed by every progress write
Progress = Callable[[int, int], None]  # (done, total)


# What runs each kind: (the job's arguments, now, progress) -> its summary.
Runner = Callable[[Mapping[str, Any], datetime, Progress], str]


def arguments_for(kind: str, form: Mapping[str, Any], today: date) -> tuple[JobKind, dict[str,
                                                                                  Any]]:
    """The kind and arguments of a job as requested (a page's form), checked; InvalidInput
    naming what is wrong otherwise."""
    try:
        job = JobKind(kind)
    except ValueError:
        raise InvalidInput("kind", f"no job '{kind}'; jobs: "
                           f"{', '.join(k.value for k in JobKind)}") from None
    if job == JobKind.CYCLES:
        text = str(form.get("year") or today.year).strip()
        if not text.isdigit() or not 1900 < int(text) < 3000:
            raise InvalidInput("year", f"the year must be a year such as {today.year}, not "
                               f"{text!r}")
        return job, {"year": int(text)}
    text = str(form.get("as_of") or today.isoformat()).strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("as_of", f"'as of' must be a day as YYYY-MM-DD, not {text!r}") \
            from None
    return job, {"as_of": day.isoformat()}


class _ClaimLost(Exception):
    """The job's lease ran out and another worker took it over: stop working on it."""


def real_time() -> datetime:
    return datetime.now(UTC)


class Jobs:
    """Requests jobs, and runs them for a worker (`name`), one at a time."""

    def __init__(self, store: JobStore, runners: Mapping[JobKind, Runner], name: str,
                 lease: timedelta = LEASE, wall: Callable[[], datetime] = real_time) -> None:
        self.store = store
        self.runners = runners
        self.name = name
        self.lease = lease
        self.wall = wall

    def request(self, kind: str, form: Mapping[str, Any], by: str, at: datetime) -> JobRecord:
        """Queue a job; refused (JobRefused) for a second recompute, InvalidInput for bad
        arguments; nothing queued then."""
        job, arguments = arguments_for(kind, form, at.date())
        running = self.store.active(job) if job == JobKind.RECOMPUTE else None
        if running is not None:
            raise JobRefused(refusal(running))
        return self.store.add(job, arguments, by, at)

    def run_next(self, now: datetime) -> JobRecord | None:
        """Claim one job and run it to its end; the job as it ended, or None if none was
        waiting. A failing job is recorded as failed with its error, and the worker goes on."""
        wall = self.wall()
        job = self.store.claim(self.name, wall, wall + self.lease, now)
        if job is None:
            return None
        log.info("job %s (%s) started by %s", job.id, job.title, self.name)

        def progress(done: int, total: int) -> None:
            if not self.store.progress(job.id, self.name, done, total,
                                       self.wall() + self.lease):
                raise _ClaimLost()

        try:
            summary = self.runners[job.kind](job.arguments, now, progress)
        except _ClaimLost:
            log.warning("job %s was taken over by another worker", job.id)
            return self.store.get(job.id)
        except CaseworkError as exc:
            self._finish(job, JobState.FAILED, None, str(exc), now)
        except Exception as exc:  # isolate it: the worker goes on with the next job
            log.exception("job %s failed", job.id)
            self._finish(job, JobState.FAILED, None, f"{type(exc).__name__}: {exc}", now)
        else:
            self._finish(job, JobState.DONE, summary, None, now)
        return self.store.get(job.id)

    def run_all(self, now: Callable[[], datetime], stop: Callable[[], bool] = lambda: False
                ) -> int:
        """Run waiting jobs until none is left (or `stop`); how many ran."""
        ran = 0
        while not stop() and self.run_next(now()) is not None:
            ran += 1
        return ran

    def _finish(self, job: JobRecord, state: JobState, summary: str | None,
                error: str | None, now: datetime) -> None:
        if not self.store.finish(job.id, self.name, state, summary, error, now):
            log.warning("job %s was taken over by another worker before it finished", job.id)


def runners(tiering: Callable[[], Tiering], opening: Callable[[], Opening]
            ) -> dict[JobKind, Runner]:
    """What runs each kind, as the command line does (`tiering` is asked for only when a
    recompute runs: NumPy and SciPy load then)."""

    def recompute(arguments: Mapping[str, Any], now: datetime, progress: Progress) -> str:
        as_of = date.fromisoformat(str(arguments["as_of"]))
        done = tiering().recompute(as_of, now, progress)
        tiers = ", ".join(f"{k}={v}" for k, v in sorted(done.tiers.items(), key=str))
        started = ", ".join(f"{k}={v}" for k, v in sorted(done.started.items())) or "none"
        return (f"{done.customers} customers ({done.buyers} with purchases) as of {as_of}; "
                f"{done.tier_table[0]} v{done.tier_table[1]}; tiers: {tiers or 'none'}; "
                f"{done.tier_changes} tier change(s), {done.risk_changes} churn risk "
                f"change(s); cases started: {started}")

    def cycles(arguments: Mapping[str, Any], now: datetime, progress: Progress) -> str:
        year = int(arguments["year"])
        return _opened(opening().cycles(year, now), f"{year} cycles", progress)

    def reviews(arguments: Mapping[str, Any], now: datetime, progress: Progress) -> str:
        as_of = date.fromisoformat(str(arguments["as_of"]))
        return _opened(opening().reviews(as_of, now), "record reviews", progress)

    return {JobKind.RECOMPUTE: recompute, JobKind.CYCLES: cycles, JobKind.REVIEWS: reviews}


def _opened(done: Opened, what: str, progress: Progress) -> str:
    customers = len(done.started) + len(done.skipped)
    progress(customers, customers)
    return (f"{what}: {len(done.started)} case(s) of {done.workflow} opened, "
            f"{len(done.skipped)} customer(s) passed over")
