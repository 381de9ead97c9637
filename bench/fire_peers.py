"""Peers of casework's fire of `triage`, timed by bench/fire.py in the same process and rounds.

Each takes the same jobs (case number, triage inputs) and moves one instance per job from where a
new complaint waits to where a triaged one waits, as another engine or a hand-written program
would:

  SpiffWorkflow persisted  bench/peers/complaint_triage.bpmn (start -> user task Triage ->
                           business rule task routing by bench/peers/complaint_routing.dmn, which
                           is rules/complaint_routing.yaml written out row for row -> user task
                           Investigate), one instance per row of a SQLite file. Per step: BEGIN
                           IMMEDIATE, SELECT the instance's JSON, deserialize it, complete Triage
                           with the inputs, run the engine until it waits, serialize, UPDATE,
                           COMMIT. The JSON is BpmnWorkflowSerializer.serialize_json's, which
                           carries the process spec (and its DMN table) with the task tree.
  SQLAlchemy ORM           declarative Case and CaseHistory; per step one Session: get the case,
                           refuse unless it is `received`, set state, queue, fields and assignee,
                           bump lock_version (version_id_col), add one history row, commit. The
                           routing is a dict worked out before the clock starts (a hand-written
                           program knows its routing); no decisions, clocks or hash chain.
  transitions alone        one Machine, no database: attach a model, fire, detach.

Each prepares its instances untimed in a fresh SQLite file (the pragmas of casework's store,
PRAGMAS), times one step per job with time.perf_counter after a full garbage collection, returns
the seconds, and then checks (untimed) that every instance moved where it should, raising
SystemExit otherwise: a peer that silently does nothing reports no rate.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import JSON, ForeignKey, event  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402
from transitions import Machine  # noqa: E402

from engine.kernel.errors import Refusal, TransitionRefused  # noqa: E402
from engine.kernel.specs import WorkflowSpec  # noqa: E402
from engine.rules.loading import load_table_text  # noqa: E402
from engine.rules.tables import TableSpec, decide  # noqa: E402

Job = tuple[int, dict[str, str]]  # (case number 0..n-1, triage inputs: category, severity)

# What engine/store/db.py sets on every SQLite connection (its _sqlite_setup): the peers write
# under the same durability and locking as casework's store, so the rates compare.
PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000", "PRAGMA temp_store=MEMORY",
)

PEERS = ROOT / "bench" / "peers"
PROCESS = "complaint_triage"  # the BPMN process id
TRIAGE, INVESTIGATE = "triage", "investigate"  # its user tasks
ROUTING = ROOT / "rules" / "complaint_routing.yaml"
TRIGGER = "triage"
RECEIVED, IN_PROGRESS = "received", "in_progress"
INTAKE = "intake"  # the queue of a received complaint
ACTOR = "alice"
START_FIELDS = {"channel": "web", "summary": "The router reboots every evening"}  # as fire.py
TIER = "ordinary"  # what a complaint takes at intake from a customer not tiered yet (as fire.py's)


def timed(step: Callable[[Job], object], jobs: list[Job]) -> float:
    """Seconds to run `step` on every job, after a full garbage collection."""
    gc.collect()
    started = time.perf_counter()
    for job in jobs:
        step(job)
    return time.perf_counter() - started


def connect(path: Path) -> sqlite3.Connection:
    """A stdlib connection to `path` with casework's pragmas; we issue BEGIN ourselves."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        connection.execute(pragma)
    return connection


def routing_table() -> TableSpec:
    return load_table_text(ROUTING.read_text(), str(ROUTING.relative_to(ROOT)))


def routed(table: TableSpec, inputs: Mapping[str, str]) -> str:
    """The queue rules/complaint_routing.yaml gives a complaint with these triage inputs."""
    return str(decide(table, {**START_FIELDS, "tier": TIER, **inputs}).outputs["queue"])


def expect(moved: bool, message: str) -> None:
    if not moved:
        raise SystemExit(f"fire_peers: {message}; the peer did not do its work, so it has no "
                         "rate: fix the peer in bench/fire_peers.py")


# --- SpiffWorkflow persisted -------------------------------------------------------------------

@dataclass(frozen=True)
class SpiffProcess:
    """The parsed triage process and the serializer that stores its instances."""

    parser: SpiffBpmnParser
    serializer: BpmnWorkflowSerializer

    @classmethod
    def load(cls) -> SpiffProcess:
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(PEERS / "complaint_triage.bpmn"))
        parser.add_dmn_file(str(PEERS / "complaint_routing.dmn"))
        return cls(parser, BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG)))

    def start(self) -> BpmnWorkflow:
        """A new instance with the complaint's intake fields, run until it waits in Triage."""
        workflow = BpmnWorkflow(self.parser.get_spec(PROCESS),
                                self.parser.get_subprocess_specs(PROCESS))
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update({**START_FIELDS, "tier": TIER})
        workflow.do_engine_steps()
        return workflow

    def waiting(self, text: str) -> tuple[list[str], dict[str, Any]]:
        """The ready user tasks of a stored instance and the data of the first."""
        ready = self.serializer.deserialize_json(text).get_tasks(state=TaskState.READY)
        return [t.task_spec.name for t in ready], dict(ready[0].data) if ready else {}


def prepare_spiff(connection: sqlite3.Connection, process: SpiffProcess, jobs: list[Job]) -> None:
    """One stored instance per job, each waiting in Triage (untimed)."""
    connection.execute("CREATE TABLE instances (id INTEGER PRIMARY KEY, "
                       "serialization TEXT NOT NULL)")
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO instances (id, serialization) VALUES (?, ?)",
                           ((number, process.serializer.serialize_json(process.start()))
                            for number, _ in jobs))
    connection.execute("COMMIT")


def spiff_step(connection: sqlite3.Connection, process: SpiffProcess, job: Job) -> None:
    """Load one instance, complete Triage with the inputs, run it until it waits, store it."""
    number, inputs = job
    connection.execute("BEGIN IMMEDIATE")
    try:
        (text,) = connection.execute("SELECT serialization FROM instances WHERE id = ?",
                                     (number,)).fetchone()
        workflow = process.serializer.deserialize_json(text)
        task = workflow.get_next_task(state=TaskState.READY, spec_name=TRIAGE)
        expect(task is not None, f"instance {number} does not wait in Triage")
        task.data.update(inputs)
        task.run()
        workflow.do_engine_steps()
        connection.execute("UPDATE instances SET serialization = ? WHERE id = ?",
                           (process.serializer.serialize_json(workflow), number))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def check_spiff(connection: sqlite3.Connection, process: SpiffProcess, jobs: list[Job]) -> None:
    """Every instance waits in Investigate, routed to the queue the YAML table gives."""
    table = routing_table()
    stored = dict(connection.execute("SELECT id, serialization FROM instances"))
    expect(len(stored) == len(jobs), f"{len(stored)} SpiffWorkflow instances for {len(jobs)} jobs")
    for number, inputs in jobs:
        ready, data = process.waiting(stored[number])
        queue = routed(table, inputs)
        expect(ready == [INVESTIGATE] and data.get("queue") == queue,
               f"SpiffWorkflow instance {number} waits in {ready} with queue "
               f"{data.get('queue')!r}, not in ['{INVESTIGATE}'] with queue '{queue}'")


def run_spiff(path: Path, jobs: list[Job]) -> float:
    """Seconds for SpiffWorkflow, persisted in a fresh SQLite file at `path`, to triage each job."""
    process = SpiffProcess.load()
    with closing(connect(path)) as connection:
        prepare_spiff(connection, process, jobs)
        seconds = timed(lambda job: spiff_step(connection, process, job), jobs)
        check_spiff(connection, process, jobs)
    return seconds


# --- SQLAlchemy ORM ----------------------------------------------------------------------------

class Base(DeclarativeBase):
    pass


class Case(Base):
    """A complaint as a hand-written ORM program keeps it: one row, optimistic lock."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str]
    queue: Mapped[str | None]
    assignee: Mapped[str | None]
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    lock_version: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime]
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 (SQLAlchemy's own shape)


class CaseHistory(Base):
    """One row per state change: who moved which case from where to where, with what."""

    __tablename__ = "case_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    from_state: Mapped[str]
    to_state: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


def orm_engine(path: Path) -> sa.Engine:
    """An engine on `path` set up as engine/store/db.py sets casework's: the pragmas on every
    connection, and every transaction a writer's (BEGIN IMMEDIATE)."""
    engine = sa.create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        for pragma in PRAGMAS:
            dbapi_connection.execute(pragma)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def prepare_orm(engine: sa.Engine, jobs: list[Job]) -> None:
    """The tables and one received complaint per job (untimed)."""
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.add_all(Case(id=number, state=RECEIVED, queue=INTAKE, assignee=None,
                             fields=dict(START_FIELDS), updated_at=now) for number, _ in jobs)


def orm_step(engine: sa.Engine, queues: Mapping[tuple[str, str], str], job: Job) -> None:
    """Triage one case: refuse unless received; route, assign, record, commit."""
    number, inputs = job
    with Session(engine) as session, session.begin():
        case = session.get(Case, number)
        if case is None or case.state != RECEIVED:
            raise TransitionRefused(TRIGGER, Refusal.STATE,
                                    f"case {number} is {case and case.state!r}, not '{RECEIVED}'")
        case.state, case.assignee = IN_PROGRESS, ACTOR
        case.queue = queues[(inputs["category"], case.fields["channel"])]
        case.fields = {**case.fields, **inputs}
        case.updated_at = datetime.now(UTC)
        session.add(CaseHistory(case_id=number, at=case.updated_at, actor=ACTOR,
                                from_state=RECEIVED, to_state=IN_PROGRESS,
                                payload={"trigger": TRIGGER, "inputs": inputs,
                                         "queue": case.queue}))


def check_orm(engine: sa.Engine, jobs: list[Job]) -> None:
    """Every case is in progress in its routed queue, bumped once, with one history row."""
    table = routing_table()
    with Session(engine) as session:
        cases = {c.id: c for c in session.scalars(sa.select(Case))}
        counts = {case_id: count for case_id, count in session.execute(
            sa.select(CaseHistory.case_id, sa.func.count()).group_by(CaseHistory.case_id))}
    expect(len(cases) == len(jobs), f"{len(cases)} ORM cases for {len(jobs)} jobs")
    for number, inputs in jobs:
        case, queue = cases[number], routed(table, inputs)
        moved = (case.state, case.queue, case.assignee, case.lock_version) == (
            IN_PROGRESS, queue, ACTOR, 2) and case.fields == {**START_FIELDS, **inputs}
        expect(moved and counts.get(number) == 1,
               f"ORM case {number} is {case.state!r} in {case.queue!r} at version "
               f"{case.lock_version} with {counts.get(number, 0)} history rows, not "
               f"'{IN_PROGRESS}' in '{queue}' at version 2 with one")


def run_orm(path: Path, jobs: list[Job]) -> float:
    """Seconds for a hand-written SQLAlchemy ORM change, in a fresh SQLite file at `path`, to
    triage each job."""
    table = routing_table()
    queues = {(c, START_FIELDS["channel"]): routed(table, {"category": c})
              for c in {inputs["category"] for _, inputs in jobs}}
    engine = orm_engine(path)
    try:
        prepare_orm(engine, jobs)
        seconds = timed(lambda job: orm_step(engine, queues, job), jobs)
        check_orm(engine, jobs)
    finally:
        engine.dispose()
    return seconds


# --- transitions alone -------------------------------------------------------------------------

class _Model:
    """A throw-away case as `transitions` sees it; `trigger` is added when it is attached."""

    state: str
    trigger: Callable[[str], bool]


def run_machine(spec: WorkflowSpec, jobs: list[Job]) -> float:
    """Seconds for one transitions.Machine of `spec` to fire `triage` once per job: attach a
    model, fire, detach (as engine/workflows/machine.py does), no database."""
    machine = Machine(
        model=None, states=list(spec.states),
        transitions=[{"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                     for t in spec.transitions],
        initial=spec.initial.name, auto_transitions=False, ignore_invalid_triggers=False,
    )
    source = spec.initial.name
    reached: list[str] = []

    def fire(_job: Job) -> object:
        model = _Model()
        machine.add_model(model, initial=source)
        try:
            return model.trigger(TRIGGER)
        finally:
            machine.remove_model(model)
            reached.append(model.state)

    seconds = timed(fire, jobs)
    transition = spec.transition(TRIGGER, spec.initial.name)
    assert transition is not None
    expect(reached == [transition.dest] * len(jobs),
           f"transitions reached {sorted(set(reached))} in {len(reached)} fires, not "
           f"'{transition.dest}' in {len(jobs)}")
    return seconds

