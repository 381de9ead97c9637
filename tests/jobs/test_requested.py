"""Jobs requested from the browser and run by workers (engine/jobs/requested.py, the SQL in
engine/store/jobs.py), on SQLite and PostgreSQL: claimed one at a time, progress written as they
go, the summary kept; one recompute at a time; a dead worker's job taken over after its lease."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.demodata import CDNOW_SAMPLE
from engine.jobs.requested import LEASE, Jobs, arguments_for, runners
from engine.kernel.errors import InvalidInput, JobRefused
from engine.kernel.jobs import JobKind, JobState
from engine.store.jobs import SqlJobs
from engine.wiring import Casework

NOW = datetime(1998, 7, 1, 9, 0, tzinfo=UTC)
WALL = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # the real time, which leases are of


def worker(casework: Casework, name: str, wall: datetime = WALL) -> Jobs:
    """A worker named `name` whose real time stands at `wall`."""
    return Jobs(SqlJobs(casework.database),
                runners(lambda: casework.tiering, lambda: casework.opening), name,
                wall=lambda: wall)


def test_a_recompute_runs_with_its_progress_and_keeps_its_summary(casework: Casework) -> None:
    casework.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    jobs = worker(casework, "a")
    queued = jobs.request("recompute", {"as_of": "1998-06-30"}, "max", NOW)
    assert (queued.state, queued.done, queued.total) == (JobState.QUEUED, 0, None)
    assert queued.title == "Tier recompute as of 1998-06-30"
    done = jobs.run_next(NOW)
    assert done is not None and done.id == queued.id
    assert done.state == JobState.DONE, done.error
    assert done.total and done.done == done.total  # written by the recompute's batches
    assert done.summary and done.summary.startswith(f"{done.total} customers (")
    assert "as of 1998-06-30; customer_tier v1" in done.summary
    assert (done.started_at, done.finished_at) == (NOW, NOW)
    assert jobs.run_next(NOW) is None  # nothing left: one job a claim


def test_a_second_recompute_is_refused_while_one_is_queued_or_running(
        casework: Casework) -> None:
    jobs = worker(casework, "a")
    first = jobs.request("recompute", {"as_of": "1998-06-30"}, "max", NOW)
    with pytest.raises(JobRefused, match=f"already queued \\(job {first.id}, requested by max"):
        jobs.request("recompute", {"as_of": "1998-05-31"}, "mia", NOW)
    # the database refuses it too, whatever a server checked before
    with pytest.raises(JobRefused, match="only one recompute runs at a time"):
        jobs.store.add(JobKind.RECOMPUTE, {"as_of": "1998-05-31"}, "mia", NOW)
    assert jobs.request("cycles", {"year": "1998"}, "mia", NOW).kind == JobKind.CYCLES
    claimed = jobs.store.claim("a", WALL, WALL + LEASE, NOW)
    assert claimed is not None and claimed.id == first.id
    with pytest.raises(JobRefused, match="already running"):
        jobs.request("recompute", {"as_of": "1998-05-31"}, "mia", NOW)
    assert jobs.store.finish(first.id, "a", JobState.FAILED, None, "stopped", NOW)
    assert jobs.request("recompute", {"as_of": "1998-05-31"}, "mia", NOW).state == \
        JobState.QUEUED
    assert [j.kind for j in jobs.store.recent()] == [JobKind.RECOMPUTE, JobKind.CYCLES,
                                                      JobKind.RECOMPUTE]


def test_a_dead_workers_job_is_taken_over_once_its_lease_has_run_out(
        casework: Casework) -> None:
    dead = worker(casework, "dead")
    job = dead.request("cycles", {"year": "1998"}, "max", NOW)
    claimed = dead.store.claim("dead", WALL, WALL + LEASE, NOW)  # then it is killed
    assert claimed is not None and claimed.state == JobState.RUNNING
    assert worker(casework, "b", WALL + LEASE / 2).run_next(NOW) is None  # the lease holds
    taken = worker(casework, "b", WALL + LEASE + timedelta(seconds=1)).run_next(NOW)
    assert taken is not None and taken.id == job.id
    assert taken.state == JobState.DONE
    assert taken.summary == ("1998 cycles: 0 case(s) of annual_cycle opened, 0 customer(s) "
                             "passed over")
    # the first worker, were it only slow, can write nothing more
    assert not dead.store.progress(job.id, "dead", 1, 1, WALL + LEASE)
    assert not dead.store.finish(job.id, "dead", JobState.FAILED, None, "late", NOW)
    assert dead.store.get(job.id).state == JobState.DONE


def test_workers_claim_different_jobs_one_at_a_time(casework: Casework) -> None:
    jobs = worker(casework, "a")
    first = jobs.request("cycles", {"year": "1998"}, "max", NOW)
    second = jobs.request("reviews", {"as_of": "1998-06-30"}, "max", NOW)
    a = jobs.store.claim("a", WALL, WALL + LEASE, NOW)
    b = jobs.store.claim("b", WALL, WALL + LEASE, NOW)
    assert a is not None and b is not None and (a.id, b.id) == (first.id, second.id)
    assert jobs.store.claim("c", WALL, WALL + LEASE, NOW) is None


def test_a_failing_job_is_recorded_with_its_error(casework: Casework) -> None:
    jobs = worker(casework, "a")
    jobs.request("recompute", {"as_of": "1998-06-30"}, "max", NOW)  # no customers to fit
    failed = jobs.run_next(NOW)
    assert failed is not None and failed.state == JobState.FAILED
    assert failed.error and failed.summary is None
    assert jobs.request("recompute", {"as_of": "1998-06-30"}, "max", NOW)  # no longer blocks


def test_bad_arguments_are_refused_with_what_to_write() -> None:
    today = date(2026, 3, 2)
    assert arguments_for("cycles", {}, today) == (JobKind.CYCLES, {"year": 2026})
    assert arguments_for("recompute", {}, today) == (JobKind.RECOMPUTE,
                                                      {"as_of": "2026-03-02"})
    with pytest.raises(InvalidInput, match="the year must be a year such as 2026, not '20x6'"):
        arguments_for("cycles", {"year": "20x6"}, today)
    with pytest.raises(InvalidInput, match="must be a day as YYYY-MM-DD, not '02.03.2026'"):
        arguments_for("reviews", {"as_of": "02.03.2026"}, today)
    with pytest.raises(InvalidInput, match="no job 'backup'; jobs: recompute, cycles, reviews"):
        arguments_for("backup", {}, today)


def test_a_claim_skips_a_job_another_worker_is_claiming_on_postgresql(
        postgres_casework: Casework) -> None:
    jobs = worker(postgres_casework, "a")
    first = jobs.request("cycles", {"year": "1998"}, "max", NOW)
    second = jobs.request("reviews", {"as_of": "1998-06-30"}, "max", NOW)
    with postgres_casework.database.engine.connect() as other:  # a claim in progress
        other.exec_driver_sql(f"SELECT id FROM jobs WHERE id = {first.id} FOR UPDATE")
        claimed = jobs.store.claim("b", WALL, WALL + LEASE, NOW)  # does not wait for it
        other.rollback()
    assert claimed is not None and claimed.id == second.id
