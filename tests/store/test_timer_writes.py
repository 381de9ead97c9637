"""A fire's clock and timer writes (engine/store/timers.py): clocks written whole in one
statement, the case's SLA columns worked out in Python and written with the case row, a pending
timer retargeted in place (migration 0011), and a claimed timer marked fired as its firing
begins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.kernel.errors import Refusal, TransitionRefused
from engine.kernel.records import ClockRecord, ClockStatus, TimerKind, TimerRecord, case_sla
from engine.store import Database
from engine.store.repository import SqlTransaction
from engine.store.schema import cases, timers
from engine.store.timers import _KEEP_SLA
from engine.store.upgrades import upgrade
from engine.wiring import Casework
from tests.fixtures import T0, add_raw_definition, add_test_customers, database_at
from tests.jobs.test_worker import at, triaged


@pytest.fixture
def desk(casework: Casework) -> Casework:
    casework.store.add_user("alice", ["agent"], T0, email="alice@example.org")
    add_test_customers(casework)
    return casework


def sla_columns(casework: Casework, case_id: int) -> tuple[object, str]:
    with casework.database.reading() as connection:
        due, status = connection.execute(sa.select(cases.c.sla_due_at, cases.c.sla_status)
                                         .where(cases.c.id == case_id)).one()
    return due, status


def test_a_fire_writes_the_sla_columns_its_clocks_give(desk: Casework) -> None:
    case_id = triaged(desk)  # first response met, resolution running: due Friday 09:00 UTC
    assert sla_columns(desk, case_id) == (at("2026-03-06T09:00:00"), "running")
    with desk.database.reading() as connection:  # the same as the columns worked out in SQL
        SqlTransaction(connection).connection.execute(_KEEP_SLA, {"of_case": case_id})
        assert connection.execute(sa.select(cases.c.sla_due_at, cases.c.sla_status)
                                  .where(cases.c.id == case_id)).one() == sla_columns(desk,
                                                                                       case_id)


def test_a_clock_saved_without_its_case_read_is_summed_in_sql(desk: Casework) -> None:
    case_id = triaged(desk)
    with desk.store.transaction() as tx:
        resolution = tx.clocks(case_id)["resolution"]
    with desk.store.transaction() as tx:  # not read in this transaction: the store asks SQL
        tx.save_clocks([resolution.evolve(breached_at=T0 + timedelta(days=9))])
    assert sla_columns(desk, case_id) == (at("2026-03-06T09:00:00"), "breached")


def test_arming_a_pending_timer_again_retargets_it_in_place(desk: Casework) -> None:
    case_id = triaged(desk)
    [before] = desk.timers.listing(case_id, "pending")
    rows = len(desk.timers.listing(case_id))
    later = before.due_at + timedelta(hours=5)
    with desk.store.transaction() as tx:
        tx.arm_timers([TimerRecord(case_id, TimerKind.SLA, before.name, later, step=1.0)],
                      T0 + timedelta(hours=1))
    [after] = desk.timers.listing(case_id, "pending")
    assert (after.id, after.due_at, after.retry_at, after.step) == (before.id, later, later, 1.0)
    assert len(desk.timers.listing(case_id)) == rows  # no row cancelled, none added


def test_two_pending_timers_of_one_name_cannot_be_stored(desk: Casework) -> None:
    case_id = triaged(desk)
    [pending] = desk.timers.listing(case_id, "pending")
    row = {"case_id": case_id, "kind": "sla", "name": pending.name, "due_at": T0,
           "retry_at": T0, "state": "pending", "attempts": 0, "created_at": T0}
    with pytest.raises(sa.exc.IntegrityError), desk.database.writing() as connection:
        connection.execute(sa.insert(timers).values(row))
    with desk.database.writing() as connection:  # one not pending is fine
        connection.execute(sa.insert(timers).values({**row, "state": "cancelled"}))


def test_firing_marks_the_timer_fired_and_a_failure_undoes_it(desk: Casework) -> None:
    case_id = triaged(desk)
    [pending] = desk.timers.listing(case_id, "pending")
    [timer] = desk.timers.claim(pending.due_at, "w1", T0, T0 + timedelta(minutes=1), 5)
    assert timer.id == pending.id
    with pytest.raises(TransitionRefused), desk.timers.firing(timer, "w1", T0) as tx:
        assert tx is not None
        [claimed] = [r for r in tx.connection.execute(sa.select(timers.c.state)
                                                      .where(timers.c.id == timer.id))]
        assert claimed.state == "fired"
        raise TransitionRefused("x", Refusal.STATE, "fails halfway")
    assert [t.id for t in desk.timers.listing(case_id, "pending")] == [pending.id]


def test_retargeting_a_claimed_timer_ends_the_claim(desk: Casework) -> None:
    """A person's fire that moves a pending timer's deadline (arming it again) while a worker
    holds a claim on it: the worker does not fire the old deadline."""
    case_id = triaged(desk)
    [pending] = desk.timers.listing(case_id, "pending")
    [timer] = desk.timers.claim(pending.due_at, "w1", T0, T0 + timedelta(minutes=1), 5)
    later = pending.due_at + timedelta(hours=1)
    with desk.store.transaction() as tx:
        tx.arm_timers([TimerRecord(case_id, TimerKind.SLA, pending.name, later, step=1.0)], T0)
    with desk.timers.firing(timer, "w1", T0) as held:
        assert held is None
    [after] = desk.timers.listing(case_id, "pending")
    assert (after.id, after.due_at, after.claimed_by, after.lease_until) == (
        pending.id, later, None, None)


# --- case_sla is the SQL's rule --------------------------------------------------------------

STATUSES = st.sampled_from(list(ClockStatus))
MOMENTS = st.none() | st.integers(0, 50).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def clock_sets(draw: st.DrawFn) -> list[ClockRecord]:
    count = draw(st.integers(0, 4))
    return [ClockRecord(1, f"c{i}", draw(STATUSES), True, "office", None, timedelta(0), None,
                        draw(MOMENTS), T0, warned_at=draw(MOMENTS), breached_at=draw(MOMENTS))
            for i in range(count)]


@pytest.fixture(scope="module")
def sqlite_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A SQLite database holding one case, 1, to save clocks on."""
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('sla') / 'casework.db'}")
    upgrade(database)
    with database.writing() as connection:
        add_raw_definition(connection, T0.replace(tzinfo=None))
        connection.execute(sa.text(
            "INSERT INTO cases (id, definition_id, workflow, version, state, fields, "
            "lock_version, history_seq, history_head, created_at, updated_at) "
            "VALUES (1, 1, 'w', 1, 's', '{}', 1, 0, 'h', :at, :at)"),
            {"at": T0.replace(tzinfo=None)})
    yield database
    database.dispose()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(clocks=clock_sets())
def test_case_sla_gives_what_the_sql_gives(sqlite_case: Database,
                                           clocks: list[ClockRecord]) -> None:
    with sqlite_case.writing() as connection:
        connection.execute(sa.text("DELETE FROM sla_clocks"))
        tx = SqlTransaction(connection)
        tx.save_clocks(clocks)  # nothing known of case 1 in this transaction: SQL sums them
        in_sql = connection.execute(sa.select(cases.c.sla_due_at, cases.c.sla_status)
                                    .where(cases.c.id == 1)).one()
        connection.rollback()
    assert case_sla(clocks) == tuple(in_sql)


# --- migration 0011 on a database made before it ---------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0010(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from database_at("0010", request, tmp_path)


def test_migration_0011_keeps_the_newest_of_two_pending_timers(at_0010: Database) -> None:
    moment = T0.replace(tzinfo=None) if at_0010.dialect == "sqlite" else T0
    with at_0010.engine.begin() as connection:
        add_raw_definition(connection, moment)
        connection.execute(sa.text(
            "INSERT INTO cases (id, definition_id, workflow, version, state, fields, "
            "lock_version, history_seq, history_head, created_at, updated_at) "
            "VALUES (1, 1, 'w', 1, 's', '{}', 1, 0, 'h', :at, :at)"), {"at": moment})
        for timer_id, name in ((1, "a"), (2, "a"), (3, "b")):
            connection.execute(sa.text(
                "INSERT INTO timers (id, case_id, kind, name, due_at, retry_at, state, "
                "attempts, created_at) VALUES (:id, 1, 'sla', :name, :at, :at, 'pending', 0, "
                ":at)"), {"id": timer_id, "name": name, "at": moment})
    upgrade(at_0010)
    with at_0010.engine.connect() as connection:
        states = dict(connection.execute(sa.text("SELECT id, state FROM timers ORDER BY id"))
                      .all())
    assert states == {1: "cancelled", 2: "pending", 3: "pending"}
