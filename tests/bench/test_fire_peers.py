"""bench/fire_peers.py: each peer of the fire benchmark does its work on a few jobs, leaves the
rows it claims, and refuses to report a rate when its instances did not move."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from bench.fire_peers import (
    ACTOR,
    IN_PROGRESS,
    INVESTIGATE,
    TRIAGE,
    SpiffProcess,
    check_orm,
    check_spiff,
    connect,
    orm_engine,
    orm_step,
    prepare_orm,
    prepare_spiff,
    routing_table,
    run_machine,
    run_orm,
    run_spiff,
)
from engine.kernel.errors import Refusal, TransitionRefused
from engine.store import Database
from engine.workflows.registry import load_workflows
from tests.fixtures import ROOT

CATEGORIES = ("technical", "after_sales", "billing", "other")
SEVERITIES = ("low", "high")
JOBS = [(i, {"category": CATEGORIES[i % 4], "severity": SEVERITIES[i % 2]}) for i in range(20)]
# rules/complaint_routing.yaml for the web channel the jobs' complaints came in by
QUEUES = {"technical": "technical_support", "after_sales": "after_sales", "billing": "billing",
          "other": "service_desk"}


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def test_spiff_leaves_every_instance_waiting_in_investigate_in_its_routed_queue(
        tmp_path: Path) -> None:
    path = tmp_path / "spiff.db"
    assert run_spiff(path, JOBS) > 0
    stored = dict(rows(path, "SELECT id, serialization FROM instances"))
    assert sorted(stored) == [number for number, _ in JOBS]
    serializer = SpiffProcess.load().serializer
    for number, inputs in JOBS:
        workflow = serializer.deserialize_json(stored[number])
        [ready] = workflow.get_tasks(state=TaskState.READY)
        assert ready.task_spec.name == INVESTIGATE
        assert ready.data["queue"] == QUEUES[inputs["category"]]
        assert ready.data["severity"] == inputs["severity"]
        [triage] = workflow.get_tasks(spec_name=TRIAGE)
        assert triage.state == TaskState.COMPLETED


def test_orm_moves_every_case_once_with_one_history_row(tmp_path: Path) -> None:
    path = tmp_path / "orm.db"
    assert run_orm(path, JOBS) > 0
    cases = {row[0]: row[1:] for row in rows(
        path, "SELECT id, state, queue, assignee, lock_version FROM cases")}
    assert cases == {number: (IN_PROGRESS, QUEUES[inputs["category"]], ACTOR, 2)
                     for number, inputs in JOBS}
    history = rows(path, "SELECT case_id, from_state, to_state, actor FROM case_history "
                         "ORDER BY case_id")
    assert history == [(number, "received", IN_PROGRESS, ACTOR) for number, _ in JOBS]


def test_orm_refuses_to_triage_a_case_twice(tmp_path: Path) -> None:
    path = tmp_path / "orm.db"
    run_orm(path, JOBS)
    engine = orm_engine(path)
    try:
        with pytest.raises(TransitionRefused) as refused:
            orm_step(engine, {("technical", "web"): "technical_support"}, JOBS[0])
    finally:
        engine.dispose()
    assert refused.value.reason == Refusal.STATE
    assert rows(path, "SELECT count(*) FROM case_history") == [(len(JOBS),)]


def test_transitions_alone_fires_once_per_job() -> None:
    [spec] = [s for s, _ in load_workflows(ROOT) if s.name == "complaint"]
    assert run_machine(spec, JOBS) > 0


def test_the_checks_stop_a_peer_whose_instances_did_not_move(tmp_path: Path) -> None:
    process = SpiffProcess.load()
    with closing(connect(tmp_path / "spiff.db")) as connection:
        prepare_spiff(connection, process, JOBS)
        with pytest.raises(SystemExit, match="instance 0 waits in \\['triage'\\]"):
            check_spiff(connection, process, JOBS)
    engine = orm_engine(tmp_path / "orm.db")
    try:
        prepare_orm(engine, JOBS)
        with pytest.raises(SystemExit, match="ORM case 0 is 'received'"):
            check_orm(engine, JOBS)
    finally:
        engine.dispose()


def test_the_dmn_table_answers_the_yaml_tables_own_tests() -> None:
    process = SpiffProcess.load()
    table = routing_table()
    assert len(table.tests) >= 5
    for test in table.tests:
        workflow = process.start()
        triage = workflow.get_next_task(state=TaskState.READY, spec_name=TRIAGE)
        triage.data.update(test.given)
        triage.run()
        workflow.do_engine_steps()
        [ready] = workflow.get_tasks(state=TaskState.READY)
        assert {"queue": ready.data["queue"]} == test.expect, test.given


PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "temp_store")


def test_the_peers_open_sqlite_as_caseworks_store_does(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'casework.db'}")
    engine = orm_engine(tmp_path / "orm.db")
    try:
        with database.engine.connect() as connection:
            casework = [connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in PRAGMAS]
        with engine.connect() as connection:
            orm = [connection.exec_driver_sql(f"PRAGMA {p}").scalar() for p in PRAGMAS]
    finally:
        database.dispose()
        engine.dispose()
    with closing(connect(tmp_path / "spiff.db")) as plain:
        spiff = [plain.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS]
    assert casework == ["wal", 1, 1, 10000, 2]
    assert orm == casework
    assert spiff == casework
