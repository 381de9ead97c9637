"""The queue list's counts kept as the cases change (engine/store/queue_counts.py, migration 0010):
on both databases they must equal, at every commit, what counting the open cases says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.cases.runtime import Actor
from engine.store import Database, queue_counts
from engine.store.queue_counts import QueueCounts
from engine.store.schema import cases, queue_count_changes
from engine.store.upgrades import upgrade
from engine.wiring import Casework
from tests.fixtures import T0, add_raw_definition, add_test_customers, database_at

ALICE, SAM = Actor("alice", "agent"), Actor("sam", "supervisor")
TRIAGE = {"category": "billing", "severity": "high"}
Counts = dict[str, tuple[int, int, int, int]]  # queue -> open, unassigned, breached, warning


@pytest.fixture
def desk(casework: Casework) -> Casework:
    casework.store.add_user("alice", ["agent"], T0)
    casework.store.add_user("sam", ["supervisor"], T0)
    add_test_customers(casework)
    return casework


def counted(database: Database) -> Counts:
    """The counts as counting the open cases works them out: what the kept ones must be."""
    query = (sa.select(cases.c.queue, sa.func.count(),
                       sa.func.sum(sa.case((cases.c.assignee.is_(None), 1), else_=0)),
                       sa.func.sum(sa.case((cases.c.sla_status == "breached", 1), else_=0)),
                       sa.func.sum(sa.case((cases.c.sla_status == "warning", 1), else_=0)))
             .where(cases.c.closed_at.is_(None), cases.c.queue.is_not(None))
             .group_by(cases.c.queue))
    with database.reading() as connection:
        return {q: (n, int(u), int(b), int(w)) for q, n, u, b, w in connection.execute(query)}


def shown(database: Database) -> Counts:
    return {c.queue: (c.open, c.unassigned, c.breached, c.warning)
            for c in QueueCounts(database).read()}


def pending(database: Database) -> int:
    with database.reading() as connection:
        return int(connection.execute(
            sa.select(sa.func.count()).select_from(queue_count_changes)).scalar_one())


def start(desk: Casework, minutes: int, **steps: dict[str, str]) -> int:
    at = T0 + timedelta(minutes=minutes)
    case = desk.runtime.start("complaint", {"channel": "email", "summary": "Parcel late"},
                              ALICE, at, customer="C1")
    for trigger, fields in steps.items():
        desk.runtime.fire(case.id, trigger, ALICE, at, fields)
    return case.id


def test_the_counts_follow_every_change_of_a_case(desk: Casework) -> None:
    database = desk.database
    seen: list[Counts] = []

    def check() -> None:
        assert shown(database) == counted(database)
        seen.append(shown(database))

    check()
    assert seen[-1] == {}
    new = [start(desk, m) for m in range(3)]  # intake, unassigned
    worked = [start(desk, 10 + m, triage=TRIAGE) for m in range(4)]  # billing, assigned
    check()
    assert seen[-1] == {"intake": (3, 3, 0, 0), "billing": (4, 0, 0, 0)}
    desk.desk.assign(new[0], "alice", SAM, T0)
    desk.desk.assign(worked[0], None, SAM, T0)  # given back
    check()
    desk.runtime.fire(worked[1], "ask_customer", ALICE, T0, {"question": "Which order?"})
    desk.runtime.fire(new[1], "triage", ALICE, T0, TRIAGE)  # intake -> billing
    check()
    desk.worker.fire_due_timers(datetime(2026, 3, 2, 9, tzinfo=UTC))  # warnings
    check()
    desk.worker.fire_due_timers(datetime(2026, 3, 9, 9, tzinfo=UTC))  # breaches
    check()
    assert seen[-1]["billing"][2] > 0
    later = T0 + timedelta(days=7)
    desk.runtime.fire(worked[2], "resolve", ALICE, later,
                      {"resolution": "r", "root_cause": "c", "remedy": "refund"})
    desk.runtime.fire(worked[2], "close", ALICE, later, {"csat": 4})
    desk.runtime.fire(new[2], "mark_duplicate", ALICE, later, {"duplicate_of": new[0]})
    check()
    desk.runtime.fire(worked[2], "reopen", ALICE, later + timedelta(days=1), {})
    check()
    assert len({str(s) for s in seen}) >= 6  # every step changed what the queue list shows
    assert pending(database) > 0
    QueueCounts(database).fold()
    assert pending(database) == 0
    assert shown(database) == counted(database) == seen[-1]


def test_a_read_folds_the_changes_once_they_pile_up(desk: Casework,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for minutes in range(3):
        start(desk, minutes)
    piled = pending(desk.database)
    assert piled >= 3
    monkeypatch.setattr(queue_counts, "FOLD_AT", piled)
    assert shown(desk.database) == {"intake": (3, 3, 0, 0)}
    assert pending(desk.database) == piled  # not past FOLD_AT yet
    start(desk, 5)
    assert shown(desk.database) == {"intake": (4, 4, 0, 0)}  # read, then folded
    assert pending(desk.database) == 0
    assert shown(desk.database) == {"intake": (4, 4, 0, 0)} == counted(desk.database)


def test_a_queue_whose_cases_all_closed_drops_out(desk: Casework) -> None:
    first, second = start(desk, 0), start(desk, 1)
    for case_id, other in ((first, second), (second, first)):
        desk.runtime.fire(case_id, "mark_duplicate", ALICE, T0, {"duplicate_of": other})
    QueueCounts(desk.database).fold()
    assert shown(desk.database) == {}
    with desk.database.reading() as connection:  # and leaves no zero row behind
        assert connection.exec_driver_sql("SELECT count(*) FROM queue_counts").scalar_one() == 0


@pytest.mark.postgres
def test_a_fold_leaves_the_changes_of_a_transaction_still_open(
        postgres_casework: Casework) -> None:
    """A change committed after the fold's snapshot is not deleted unseen: it waits for the
    next fold, and the counts are right before and after."""
    desk = postgres_casework
    add_test_customers(desk)
    first = start(desk, 0)
    with desk.database.engine.connect() as other:
        with other.begin():
            other.execute(sa.update(cases).where(cases.c.id == first).values(assignee="alice"))
            assert QueueCounts(desk.database).fold() > 0  # the start's changes
            assert pending(desk.database) == 0  # (this transaction does not see the others)
        assert shown(desk.database) == counted(desk.database) == {"intake": (1, 0, 0, 0)}
    assert pending(desk.database) == 2  # the assignment's -1 and +1, kept for the next fold
    QueueCounts(desk.database).fold()
    assert shown(desk.database) == {"intake": (1, 0, 0, 0)}


# --- migration 0010 on a database made before it ------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def at_0009(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from database_at("0009", request, tmp_path)


def test_migration_0010_counts_the_open_cases_there_are(at_0009: Database) -> None:
    rows = [  # queue, assignee, sla_status, closed
        ("billing", None, "running", False), ("billing", "alice", "breached", False),
        ("billing", "alice", "breached", False), ("billing", None, "warning", False),
        ("billing", "bob", "none", True), ("intake", None, "none", False),
        (None, None, "running", False), ("returns", "bob", "paused", True),
    ]
    at = T0.replace(tzinfo=None) if at_0009.dialect == "sqlite" else T0
    with at_0009.engine.begin() as connection:
        add_raw_definition(connection, at)
        for number, (queue, assignee, status, closed) in enumerate(rows, 1):
            connection.execute(sa.text(
                "INSERT INTO cases (id, definition_id, workflow, version, state, queue, "
                "assignee, fields, lock_version, history_seq, history_head, created_at, "
                "updated_at, closed_at, sla_status) VALUES (:id, 1, 'w', 1, 's', :queue, "
                ":assignee, '{}', 1, 0, 'h', :at, :at, :closed, :status)"),
                {"id": number, "queue": queue, "assignee": assignee, "at": at,
                 "closed": at if closed else None, "status": status})
    upgrade(at_0009)
    assert pending(at_0009) == 0
    assert shown(at_0009) == counted(at_0009) == {"billing": (4, 2, 2, 1),
                                                   "intake": (1, 1, 0, 0)}
