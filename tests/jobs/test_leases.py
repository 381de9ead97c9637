"""Timer leases (issue 20, item 6): a worker claims due timers for CASEWORK_TIMER_LEASE; once
the lease has run out another worker takes them over, and each timer still fires exactly once
(the first worker, coming back, finds its claim gone and does nothing). On both databases, with
workers whose real-time clock the test sets; tests/jobs/test_worker_processes.py shows the
same with real processes, one of them stopped halfway through a fire, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.cases.runtime import Actor, StartRequest
from engine.jobs.worker import CLAIM, Worker
from engine.store.schema import events, timers
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0, expiring_workflow

DUE = T0 + timedelta(hours=1)
LEASE = timedelta(seconds=60)
WALL = datetime(2030, 1, 1, 12, tzinfo=T0.tzinfo)  # the workers' real time, set by the test


@pytest.fixture
def expiring(casework: Casework) -> Casework:
    """Three open cases, each with one timer due at DUE."""
    text = expiring_workflow()
    casework.registry.deploy(load_workflow_text(text, "expiring.yaml"), text, T0)
    deployed = casework.registry.active("expiring")
    with casework.store.transaction() as tx:
        casework.runtime.start_many(tx, [StartRequest(deployed, {})] * 3,
                                    Actor("loader", "agent"), T0)
    return casework


def worker(app: Casework, wall: list[datetime]) -> Worker:
    """A worker of its own (its own name) whose real time is wall[0]."""
    base = app.worker
    return Worker(base.timers, app.runtime, base.escalator, lease=LEASE, wall=lambda: wall[0])


def states(app: Casework) -> list[tuple[str, str | None]]:
    with app.database.reading() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(timers.c.state, timers.c.claimed_by).order_by(timers.c.id))]


def transitions(app: Casework) -> int:
    with app.database.reading() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(events)
                                      .where(events.c.name == "case.transitioned")).scalar_one())


def test_a_claim_is_a_lease_another_worker_takes_over_when_it_runs_out(
        expiring: Casework) -> None:
    wall = [WALL]
    first, second = worker(expiring, wall), worker(expiring, wall)
    claimed = expiring.worker.timers.claim(DUE, first.name, WALL, WALL + LEASE, CLAIM)
    assert len(claimed) == 3
    assert states(expiring) == [("pending", first.name)] * 3
    [row] = expiring.timers.listing(claimed[0].case_id)
    assert row.lease_until == WALL + LEASE

    wall[0] = WALL + LEASE - timedelta(seconds=1)  # the lease holds: nothing for the second
    assert second.fire_due_timers(DUE) == 0
    assert states(expiring) == [("pending", first.name)] * 3

    wall[0] = WALL + LEASE  # it has run out: the second takes them over and fires them
    assert second.fire_due_timers(DUE) == 3
    assert states(expiring) == [("fired", second.name)] * 3

    # the first comes back: its claims are gone, it fires nothing again
    for timer in claimed:
        with first.timers.firing(timer, first.name, DUE) as tx:
            assert tx is None
    assert first.fire_due_timers(DUE) == 0
    assert transitions(expiring) == 3  # each timer fired once
    assert {expiring.store.get_case(t.case_id).lock_version for t in claimed} == {2}


def test_a_worker_that_stops_hands_back_what_it_claimed(expiring: Casework) -> None:
    """Stopped after its first timer, a worker releases the other two at once: another
    worker fires them without waiting for the lease."""
    wall = [WALL]
    first, second = worker(expiring, wall), worker(expiring, wall)
    assert first.fire_due_timers(DUE, stop=lambda: transitions(expiring) >= 1) == 1
    assert sorted(states(expiring)) == [("fired", first.name), ("pending", None),
                                        ("pending", None)]
    assert second.fire_due_timers(DUE) == 2
    assert transitions(expiring) == 3


def test_a_failed_fire_gives_up_the_claim_and_is_tried_again_later(expiring: Casework) -> None:
    wall = [WALL]
    first = worker(expiring, wall)
    [timer, *_] = expiring.worker.timers.claim(DUE, first.name, WALL, WALL + LEASE, 1)
    first.timers.failed(timer, first.name, "RuntimeError: boom", DUE + timedelta(seconds=30))
    [row] = expiring.timers.listing(timer.case_id)
    assert (row.state, row.attempts, row.claimed_by, row.lease_until) == (
        "pending", 1, None, None)
    failed_by_another = worker(expiring, wall)
    failed_by_another.timers.failed(timer, "someone else", "x", DUE)  # not theirs: no change
    assert expiring.timers.listing(timer.case_id)[0].attempts == 1
