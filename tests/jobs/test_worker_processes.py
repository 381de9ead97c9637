"""Durable timers fire exactly once with several worker processes, and after a worker is killed.

Real `casework worker --once` processes run against one real PostgreSQL database holding 10,000
due timers (one per case of a small workflow whose only timer moves the case from `open` to
`done`). Afterwards the database itself must show every timer fired once: each timer row
`fired`, each case `done` at lock version 2 (one fire bumped it), exactly one
`case.transitioned` event per case naming the timer, and every hash chain intact.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.cases.runtime import Actor, StartRequest
from engine.kernel.settings import Settings
from engine.store.schema import cases, events, timers
from engine.wiring import Casework, open_casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import ROOT, T0, expiring_workflow

pytestmark = pytest.mark.postgres

WORKFLOW = expiring_workflow("expiring")
TIMERS = 10_000
CHUNK = 2_000
DUE = T0 + timedelta(hours=1)
# The console script `casework`, run by the interpreter of this test session.
CASEWORK = [sys.executable, "-c", "from engine.cli.main import main; main(prog_name='casework')"]
FIRED = re.compile(r"^fired (\d+) timer\(s\)$", re.MULTILINE)
WAIT = 600.0  # seconds: the longest any worker or poll may take before the test fails
# seconds: the lease of a worker a test kills or stops; the timers it had claimed are free for
# the others once it has run out (engine/jobs/worker.py)
LEASE = 3.0


@pytest.fixture
def expiring(postgres_database_url: str) -> Iterator[Casework]:
    """casework over a fresh PostgreSQL database with TIMERS open cases, each with one pending
    timer due at DUE."""
    yield from _expiring(postgres_database_url, TIMERS)


@pytest.fixture
def three_expiring(postgres_database_url: str) -> Iterator[Casework]:
    """The same with three timers."""
    yield from _expiring(postgres_database_url, 3)


def _expiring(url: str, count: int) -> Iterator[Casework]:
    app = open_casework(Settings(home=ROOT, database_url=url))
    try:
        app.registry.deploy(load_workflow_text(WORKFLOW, "expiring.yaml"), WORKFLOW, T0)
        deployed = app.registry.active("expiring")
        for first in range(0, count, CHUNK):
            with app.store.transaction() as tx:
                app.runtime.start_many(tx, [StartRequest(deployed, {})] * min(CHUNK,
                                                                               count - first),
                                       Actor("loader", "agent"), T0)
        assert _timer_states(app) == {"pending": count}
        yield app
    finally:
        app.close()


def _worker(url: str, name: str, lease: float | None = None) -> subprocess.Popen[str]:
    """Start `casework worker --once --now DUE`; its database sessions carry `name` as their
    application_name, so that the test can find them in pg_stat_activity. It waits for a lock
    as long as the test may take (a test stops it while it waits); `lease`:
    CASEWORK_TIMER_LEASE, when not the default."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("CASEWORK_NOW", "CASEWORK_TIMER_LEASE")}
    env["CASEWORK_HOME"] = str(ROOT)
    env["CASEWORK_LOCK_TIMEOUT"] = str(WAIT)
    if lease is not None:
        env["CASEWORK_TIMER_LEASE"] = str(lease)
    env["CASEWORK_DATABASE_URL"] = sa.make_url(url).update_query_dict(
        {"application_name": name}).render_as_string(hide_password=False)
    return subprocess.Popen([*CASEWORK, "worker", "--once", "--now", DUE.isoformat()],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _reported(process: subprocess.Popen[str]) -> int:
    """Wait for a worker; how many timers it says it fired."""
    stdout, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 0, f"worker failed ({process.returncode}):\n{stderr}"
    found = FIRED.findall(stdout)
    assert len(found) == 1, f"no single 'fired N timer(s)' line in {stdout!r}"
    return int(found[0])


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    """Kill (by pid) whatever worker this test started and is still running."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _timer_states(app: Casework) -> dict[str, int]:
    with app.database.reading() as connection:
        rows = connection.execute(sa.select(timers.c.state, sa.func.count())
                                  .group_by(timers.c.state)).all()
    return {str(state): int(count) for state, count in rows}


def _sessions(app: Casework, name: str) -> list[str | None]:
    """The wait event types of the live database sessions named `name`."""
    with app.database.reading() as connection:
        rows = connection.execute(sa.text(
            "SELECT wait_event_type FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name}).all()
    return [row[0] for row in rows]


def _until(condition: Callable[[], bool], what: str,
           alive: subprocess.Popen[str] | None = None) -> None:
    """Poll until `condition` holds; fail after WAIT seconds, or if `alive` ends first."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if alive is not None and alive.poll() is not None:
            pytest.fail(f"the worker ended ({alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def assert_fired_exactly_once(app: Casework, total: int) -> None:
    """What the database shows when each of `total` timers fired once and only once."""
    assert _timer_states(app) == {"fired": total}
    with app.database.reading() as connection:
        outcomes = connection.execute(sa.select(timers.c.outcome, timers.c.attempts,
                                                sa.func.count())
                                      .group_by(timers.c.outcome, timers.c.attempts)).all()
        assert [tuple(row) for row in outcomes] == [("fired expire", 0, total)]
        states = connection.execute(sa.select(cases.c.state, cases.c.lock_version,
                                              sa.func.count())
                                    .group_by(cases.c.state, cases.c.lock_version)).all()
        assert [tuple(row) for row in states] == [("done", 2, total)]
        moves = connection.execute(
            sa.select(events.c.case_id, events.c.from_state, events.c.to_state,
                      events.c.payload)
            .where(events.c.name == "case.transitioned").order_by(events.c.case_id)).all()
    per_case = [row.case_id for row in moves]
    assert len(per_case) == len(set(per_case)) == total  # one transition per case, no more
    assert {(row.from_state, row.to_state) for row in moves} == {("open", "done")}
    assert {(p["trigger"], p["timer"]) for p in (json.loads(row.payload) for row in moves)} \
        == {("expire", "expiry")}
    checked, _customers, breaks = app.verify_history()
    assert (checked, breaks) == (total, [])


def test_four_worker_processes_share_the_due_timers_and_fire_each_once(
        expiring: Casework) -> None:
    """Four worker processes started together on 10,000 due timers fire every timer exactly
    once between them, and the work is shared (more than one of them fires some)."""
    url = expiring.settings.database_url
    workers = [_worker(url, f"casework-worker-{n}") for n in range(4)]
    try:
        counts = [_reported(process) for process in workers]
    finally:
        _stop(workers)
    assert sum(counts) == TIMERS, counts
    assert sum(1 for count in counts if count > 0) > 1, counts
    assert_fired_exactly_once(expiring, TIMERS)


def test_a_worker_killed_in_the_middle_of_a_fire_loses_and_repeats_nothing(
        expiring: Casework) -> None:
    """A worker killed with SIGKILL halfway through a timer's transaction (it has claimed the
    timer and is about to write the case) commits nothing of it; two workers started afterwards
    fire the rest, that timer included, and every timer has fired exactly once.

    To kill it at that exact point the test holds the row lock of the case of the 300th timer
    due: the worker fires the 299 before it, then waits on that lock until it is killed."""
    url = expiring.settings.database_url
    with expiring.database.reading() as connection:
        held_timer, held_case = connection.execute(
            sa.select(timers.c.id, timers.c.case_id)
            .order_by(timers.c.retry_at, timers.c.id).offset(299).limit(1)).one()
    blocker = sa.create_engine(url)
    started: list[subprocess.Popen[str]] = []
    try:
        with blocker.connect() as holding:
            holding.execute(sa.select(cases.c.id).where(cases.c.id == held_case)
                            .with_for_update())
            victim = _worker(url, "casework-victim", LEASE)
            started.append(victim)
            _until(lambda: "Lock" in _sessions(expiring, "casework-victim"),
                   "the worker to wait for the held case", alive=victim)
            assert _timer_states(expiring) == {"fired": 299, "pending": TIMERS - 299}
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate(timeout=WAIT)
            assert victim.returncode == -signal.SIGKILL
            holding.rollback()
        # The dead worker's session ends (rolling back its transaction) once the server notices.
        _until(lambda: not _sessions(expiring, "casework-victim"),
               "the killed worker's session to end")
        assert _timer_states(expiring) == {"fired": 299, "pending": TIMERS - 299}
        with expiring.database.reading() as connection:
            assert connection.execute(sa.select(timers.c.state, timers.c.attempts)
                                      .where(timers.c.id == held_timer)).one() == ("pending", 0)
        held = expiring.store.get_case(held_case)
        assert (held.state, held.lock_version) == ("open", 1)
        assert [e.name for e in expiring.store.case_events(held_case)] == ["case.created"]

        time.sleep(LEASE)  # what the dead worker had claimed is free once its lease ran out
        after = [_worker(url, f"casework-restarted-{n}") for n in range(2)]
        started += after
        counts = [_reported(process) for process in after]
    finally:
        _stop(started)
        blocker.dispose()
    assert 299 + sum(counts) == TIMERS, counts
    assert_fired_exactly_once(expiring, TIMERS)


def test_a_worker_killed_while_sweeping_freely_loses_and_repeats_nothing(
        expiring: Casework) -> None:
    """A worker killed with SIGKILL at an arbitrary moment of its sweep (once more than 200
    timers have fired) leaves every timer either fired once or pending; two workers started
    afterwards fire exactly the pending ones."""
    url = expiring.settings.database_url
    started: list[subprocess.Popen[str]] = []
    try:
        victim = _worker(url, "casework-victim", LEASE)
        started.append(victim)
        _until(lambda: _timer_states(expiring).get("fired", 0) > 200,
               "more than 200 timers to fire", alive=victim)
        os.kill(victim.pid, signal.SIGKILL)
        victim.communicate(timeout=WAIT)
        assert victim.returncode == -signal.SIGKILL
        _until(lambda: not _sessions(expiring, "casework-victim"),
               "the killed worker's session to end")
        states = _timer_states(expiring)
        assert set(states) == {"fired", "pending"}, states
        committed = states["fired"]
        assert 200 < committed < TIMERS
        with expiring.database.reading() as connection:
            transitions = connection.execute(sa.select(sa.func.count()).select_from(events)
                                             .where(events.c.name == "case.transitioned")
                                             ).scalar_one()
        assert transitions == committed  # nothing half-written by the killed worker

        time.sleep(LEASE)  # what the dead worker had claimed is free once its lease ran out
        after = [_worker(url, f"casework-restarted-{n}") for n in range(2)]
        started += after
        counts = [_reported(process) for process in after]
    finally:
        _stop(started)
    assert committed + sum(counts) == TIMERS, (committed, counts)
    assert_fired_exactly_once(expiring, TIMERS)


def _row_locked(app: Casework, case_id: int) -> bool:
    """Whether another session holds the case's row lock."""
    with app.database.reading() as connection:
        try:
            connection.execute(sa.select(cases.c.id).where(cases.c.id == case_id)
                               .with_for_update(nowait=True))
        except sa.exc.OperationalError:
            return True
    return False


def test_a_worker_stopped_halfway_through_a_fire_loses_its_claim_and_its_locks(
        three_expiring: Casework) -> None:
    """Issue 20: a worker that vanished (stopped, its connection still open, its transaction
    idle) kept its row locks until TCP keepalive noticed. Here a worker is stopped (SIGSTOP)
    halfway through firing the first timer, holding the timer's and the case's rows: the
    server ends its transaction once it has been idle for the lease, a second worker then
    fires all three timers, and the first, continued (SIGCONT), commits nothing: each timer
    fired exactly once.

    To stop it at that point the test holds the case's row lock until the worker waits for
    it, stops the worker, then lets the lock go: the worker's statement completes on the
    server, and its transaction sits idle with both rows locked."""
    app = three_expiring
    url = app.settings.database_url
    with app.database.reading() as connection:
        held_case = connection.execute(sa.select(timers.c.case_id)
                                       .order_by(timers.c.retry_at, timers.c.id)).first()[0]
    blocker = sa.create_engine(url)
    started: list[subprocess.Popen[str]] = []
    try:
        with blocker.connect() as holding:
            holding.execute(sa.select(cases.c.id).where(cases.c.id == held_case)
                            .with_for_update())
            stopped = _worker(url, "casework-stopped", LEASE)
            started.append(stopped)
            _until(lambda: "Lock" in _sessions(app, "casework-stopped"),
                   "the worker to wait for the held case", alive=stopped)
            os.kill(stopped.pid, signal.SIGSTOP)
            holding.rollback()
        _until(lambda: _states(app, "casework-stopped") == {"idle in transaction"}
               or not _row_locked(app, held_case), "the stopped worker to hold the case")
        at = time.monotonic()
        _until(lambda: not _row_locked(app, held_case), "the stopped worker's lock to go")
        assert time.monotonic() - at < 30  # the lease (3 s) and a little, not TCP keepalive
        assert "idle in transaction" not in _states(app, "casework-stopped")
        assert _timer_states(app) == {"pending": 3}  # its transaction was rolled back
        assert app.store.get_case(held_case).lock_version == 1

        second = _worker(url, "casework-second", LEASE)
        started.append(second)
        assert _reported(second) == 3
        os.kill(stopped.pid, signal.SIGCONT)
        stdout, stderr = stopped.communicate(timeout=WAIT)
        assert FIRED.findall(stdout) == ["0"], (stdout, stderr)
    finally:
        for process in started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
        _stop(started)
        blocker.dispose()
    assert_fired_exactly_once(app, 3)


def _states(app: Casework, name: str) -> set[str | None]:
    """The states of the live database sessions named `name` that are in a transaction."""
    with app.database.reading() as connection:
        rows = connection.execute(sa.text(
            "SELECT state FROM pg_stat_activity WHERE application_name = :name "
            "AND xact_start IS NOT NULL"), {"name": name}).all()
    return {row[0] for row in rows}
