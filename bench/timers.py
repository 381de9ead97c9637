"""Durable timers at scale: N due timers, each claimed and fired in its own transaction, by
casework's worker (1 and 2 processes on PostgreSQL, 1 on SQLite) next to a raw-SQL floor measured
in the same run.

The workflow (bench_timer, below): a case starts in `open`, whose timer `expiry` fires `expire`
one hour later and moves the case to the final state `done`. N cases are started at T0 with
Runtime.start_many (chunks of 5,000 per transaction), which arms N timers due at T0 + 1 h. That is
done once per database kind (untimed; its time is printed as setup) into a template database, and
every measured run gets its own fresh copy of the template (PostgreSQL: CREATE DATABASE ...
TEMPLATE, after VACUUM ANALYZE of the template; SQLite: the file copied with the backup API), so
every run starts from byte-for-byte the same rows.

The runs, each on its own copy, each timed with time.perf_counter around the firing only:

  casework, 1 worker    one process (spawned) opens its own casework on the database, and
                        `Worker.fire_due_timers(T0 + 1 h)` fires every due timer: it claims the
                        next CLAIM (20) due rows under one lease in a transaction of their own
                        (on PostgreSQL FOR UPDATE SKIP LOCKED), then per timer one transaction
                        that marks it fired while the claim holds, fires `expire` on its case
                        (Runtime.fire_in: case row read, transition, history event hashed onto
                        the chain, the state's timers cancelled, case row written under its
                        lock_version) and records the outcome.
  casework, 2 workers   (PostgreSQL) two such processes on the same database at once; wall time
                        from releasing both to the last one finishing.
  raw-SQL floor         one process with the bare driver (psycopg / sqlite3 with the engine's
                        pragmas): claims CLAIM due rows under a lease with the same statement
                        (FOR UPDATE SKIP LOCKED on PostgreSQL; BEGIN IMMEDIATE on SQLite), then
                        per timer one transaction: mark it fired with its outcome while the
                        claim holds, read the case's state, lock_version and history head,
                        update the case (state, lock_version + 1, history_seq + 1,
                        history_head, updated_at, closed_at, under the old lock_version) and
                        insert its one history event (canonical JSON payload, sha256 chained
                        onto the head exactly as engine.kernel.history does). It knows the
                        workflow (the destination of each trigger) up front, as a hand-written
                        program would. (Until issue 20 the claim was the first statement of
                        each timer's transaction, without a lease; the floor does the same
                        work as the engine, so it changed with it.)

Every worker process is started and has connected, loaded the workflow and collected garbage
before the clock starts (a running worker's state); start-up is not in the figures.

Checked after every run ("exactly once"): the workers' counts add up to N; every timer row is
'fired' with outcome 'fired expire'; there are exactly N `case.transitioned` events, one per case,
and no other new events; every case is `done`; and the cases, events (all but their ids, which
follow the order of firing) and timers tables (all but the lease's worker name and time) hold
exactly the rows the floor's run left.

Also reported, measured on each template before the runs: the plan of the engine's claim query
(engine.store.sweeps._NEXT, the SELECT inside the claiming UPDATE) with all N timers due, and the
median time of 3 runs of it (PostgreSQL: EXPLAIN ANALYZE, rolled back; SQLite: EXPLAIN QUERY
PLAN and the wall time). It shows whether the database takes the next due timer straight from
an index or reads and sorts every due row, a cost that grows with the number due and is paid
once per claim by the engine and the floor alike.

Reported: per run the median over R rounds of the seconds, timers per second, and "vs floor" =
run seconds / the same database's floor seconds (how many times as long as the least work that
leaves the same rows; the 2-worker run is compared with the 1-process floor). PostgreSQL is a
throw-away server from tests/pgserver.py (loopback TCP, fsync=off, so commits cost no disk flush)
unless --postgres-url names one; --no-postgres runs SQLite only, and a PostgreSQL that cannot be
started stops the run with a message saying so (bench/common.py). SQLite is a file in
WAL mode with synchronous=NORMAL (engine.store.db). Both databases share the machine with the
workers: with 2 cores, two workers and the server compete for them.

    python bench/timers.py [--timers N] [--rounds R] [--postgres-url URL] [--no-postgres]
                           [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import psycopg
import sqlalchemy as sa

from bench.common import (
    PRAGMAS,
    SQLITE_INSTANT,
    Postgres,
    Run,
    connected,
    in_processes,
    run_main,
    sqlite_copy,
)
from engine.cases.runtime import Actor, StartRequest
from engine.jobs.escalation import SYSTEM
from engine.jobs.worker import CLAIM, LEASE
from engine.kernel.history import iso
from engine.kernel.settings import Settings
from engine.wiring import open_casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import expiring_workflow

WORKFLOW = expiring_workflow("bench_timer")
NAME = "bench_timer"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=1)  # when the workers run: every timer is due
STARTER = Actor("bench", "agent")
CHUNK = 5000  # cases started per transaction (setup)
TARGET_VS_FLOOR = 3.0  # a worker's seconds / the floor's, on each database
TARGET_SCALING = 1.6  # two PostgreSQL workers' rate / one's

RUNS = (  # key, label, database kind, job, workers
    ("pg_1_worker", "PostgreSQL, 1 worker", "postgresql", "engine", 1),
    ("pg_2_workers", "PostgreSQL, 2 workers", "postgresql", "engine", 2),
    ("pg_floor", "PostgreSQL floor (raw SQL)", "postgresql", "floor", 1),
    # the floor's own scaling on this machine: what two workers could gain at most
    ("pg_2_floors", "PostgreSQL floor, 2 processes", "postgresql", "floor", 2),
    ("sqlite_1_worker", "SQLite, 1 worker", "sqlite", "engine", 1),
    ("sqlite_floor", "SQLite floor (raw SQL)", "sqlite", "floor", 1),
)


# --- setup -------------------------------------------------------------------------------------

def prepare(url: str, home: Path, n: int) -> None:
    """Migrate, deploy bench_timer and start `n` cases (arming `n` timers due at DUE)."""
    casework = open_casework(Settings(home=home, database_url=url), migrate=True)
    try:
        spec = load_workflow_text(WORKFLOW, "bench.yaml")
        casework.registry.deploy(spec, WORKFLOW, T0)
        request = StartRequest(casework.registry.active(NAME), {})
        for first in range(0, n, CHUNK):
            with casework.store.transaction() as tx:
                casework.runtime.start_many(tx, [request] * min(CHUNK, n - first), STARTER, T0)
    finally:
        casework.close()


# --- the processes that fire -------------------------------------------------------------------

class EngineJob:
    """casework's worker, as `casework worker` runs it, warmed up."""

    def __init__(self, url: str, home: Path) -> None:
        self.casework = open_casework(Settings(home=home, database_url=url))
        self.worker = self.casework.worker  # builds the escalator (Jinja2) now, not timed
        self.casework.registry.active(NAME)  # the workflow loaded, as in a running worker
        with self.casework.database.reading() as connection:
            connection.exec_driver_sql("SELECT 1")  # a pooled connection

    def run(self) -> int:
        return self.worker.fire_due_timers(DUE)

    def close(self) -> None:
        self.casework.close()


class FloorJob:
    """The least work that fires the timers: the bare driver, claims of CLAIM timers under one
    lease in a transaction of their own, then one transaction per timer."""

    CLAIM = ("UPDATE timers SET claimed_by = ?, lease_until = ? WHERE id IN ("
             "SELECT id FROM timers WHERE state = 'pending' AND retry_at <= ? "
             "AND (claimed_by IS NULL OR claimed_by = ? OR lease_until <= ?) "
             "ORDER BY retry_at, id LIMIT ?{lock}) RETURNING id, case_id, name, trigger, retry_at")
    CASE = "SELECT state, lock_version, history_seq, history_head FROM cases WHERE id = ?"
    UPDATE_CASE = ("UPDATE cases SET state = ?, lock_version = ?, history_seq = ?, "
                   "history_head = ?, updated_at = ?, closed_at = ? "
                   "WHERE id = ? AND lock_version = ?")
    INSERT_EVENT = ("INSERT INTO events (case_id, seq, name, actor, role, at, from_state, "
                    "to_state, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    # fired only while the claim holds, as the engine's (engine.store.sweeps._FIRE)
    FIRE = ("UPDATE timers SET state = 'fired', outcome = ?, done_at = ? "
            "WHERE id = ? AND state = 'pending' AND claimed_by = ?")

    def __init__(self, url: str, home: Path) -> None:
        del home
        spec = load_workflow_text(WORKFLOW, "bench.yaml")  # what the program knows up front
        self.dest = {(t.trigger, s): t.dest for t in spec.transitions for s in t.sources}
        self.final = {name for name, state in spec.states.items() if state.final}
        self.stamp = iso(DUE)  # the instant as hashed
        self.name = f"floor:{os.getpid()}"
        parsed = sa.make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        self.connection: Any
        if self.sqlite:
            self.connection = sqlite3.connect(str(parsed.database), isolation_level=None)
            for pragma in PRAGMAS:
                self.connection.execute(pragma)
            self.at: Any = DUE.strftime(SQLITE_INSTANT)
        else:
            self.connection = psycopg.connect(
                parsed.set(drivername="postgresql").render_as_string(hide_password=False))
            self.at = DUE
        self.claim = self.sql(self.CLAIM.format(
            lock="" if self.sqlite else " FOR UPDATE SKIP LOCKED"))
        self.case, self.update_case = self.sql(self.CASE), self.sql(self.UPDATE_CASE)
        self.insert_event, self.fire = self.sql(self.INSERT_EVENT), self.sql(self.FIRE)
        self.connection.execute("SELECT 1").fetchall()
        self.end()

    def sql(self, text: str) -> str:
        """The statement in the driver's placeholders (psycopg: %s)."""
        return text if self.sqlite else text.replace("?", "%s")

    def begin(self) -> None:
        if self.sqlite:  # psycopg opens a transaction with the first statement
            self.connection.execute("BEGIN IMMEDIATE")

    def end(self, commit: bool = True) -> None:
        if self.sqlite:
            if self.connection.in_transaction:
                self.connection.execute("COMMIT" if commit else "ROLLBACK")
        elif commit:
            self.connection.commit()
        else:
            self.connection.rollback()

    def run(self) -> int:
        fired = 0
        while claimed := self.claim_some():
            for timer in claimed:
                fired += self.fire_one(*timer[:4])
        return fired

    def instant(self, moment: datetime) -> Any:
        return moment.strftime(SQLITE_INSTANT) if self.sqlite else moment

    def claim_some(self) -> list[tuple[Any, ...]]:
        """The next CLAIM due timers, claimed until a lease from now (committed)."""
        wall = datetime.now(UTC)
        self.begin()
        try:
            rows = self.connection.execute(self.claim, (
                self.name, self.instant(wall + LEASE), self.at, self.name, self.instant(wall),
                CLAIM)).fetchall()
            self.end()
        except BaseException:
            self.end(commit=False)
            raise
        return sorted(rows, key=lambda row: (row[4], row[0]))

    def fire_one(self, timer_id: int, case_id: int, name: str, trigger: str) -> bool:
        execute, at = self.connection.execute, self.at
        self.begin()
        try:
            if execute(self.fire, (f"fired {trigger}", at, timer_id, self.name)).rowcount != 1:
                self.end(commit=False)
                return False
            state, lock, seq, head = execute(self.case, (case_id,)).fetchone()
            dest = self.dest[(trigger, state)]
            payload = orjson.dumps({"timer": name, "trigger": trigger},
                                   option=orjson.OPT_SORT_KEYS).decode()
            seq += 1
            digest = hashlib.sha256(orjson.dumps([
                case_id, seq, "case.transitioned", SYSTEM.name, SYSTEM.role, self.stamp, state,
                dest, payload, head])).hexdigest()
            updated = execute(self.update_case, (dest, lock + 1, seq, digest, at,
                                                 at if dest in self.final else None, case_id,
                                                 lock))
            if updated.rowcount != 1:
                raise RuntimeError(f"case {case_id} changed under the floor's lock")
            execute(self.insert_event, (case_id, seq, "case.transitioned", SYSTEM.name,
                                        SYSTEM.role, at, state, dest, payload, head, digest))
            self.end()
        except BaseException:
            self.end(commit=False)
            raise
        return True

    def close(self) -> None:
        self.connection.close()


def fire_with(job: str, url: str, home: Path, workers: int) -> Run:
    """Start `workers` processes running `job` on the database at `url`; time them together."""
    return in_processes(EngineJob if job == "engine" else FloorJob, [(url, home)] * workers)


# --- the claim query itself ----------------------------------------------------------------------

# the claim's inner query, engine.store.sweeps._NEXT (PostgreSQL adds FOR UPDATE SKIP LOCKED)
CLAIM_SQL = ("SELECT * FROM timers WHERE state = 'pending' AND retry_at <= :now "
             "AND (claimed_by IS NULL OR claimed_by = 'bench' OR lease_until <= :now) "
             f"ORDER BY retry_at, id LIMIT {CLAIM}")


def _plan_nodes(node: dict[str, Any]) -> Iterator[str]:
    while True:
        what = node["Node Type"]
        if "Index Name" in node:
            what += f" using {node['Index Name']}"
        elif "Relation Name" in node:
            what += f" on {node['Relation Name']}"
        yield what
        if not node.get("Plans"):
            return
        node = node["Plans"][0]


def first_claim(url: str) -> dict[str, Any]:
    """How the database runs the claim with every timer due: its plan and the median time of
    3 runs in ms (PostgreSQL: EXPLAIN ANALYZE's execution time; SQLite: wall time)."""
    times, plan = [], ""
    with connected(url) as connection:
        if connection.dialect.name == "postgresql":
            sql = sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {CLAIM_SQL} FOR UPDATE SKIP LOCKED")
            for _ in range(3):
                [explained] = connection.execute(sql, {"now": DUE}).scalar_one()
                times.append(float(explained["Execution Time"]))
                plan = " > ".join(_plan_nodes(explained["Plan"]))
        else:
            at = DUE.strftime(SQLITE_INSTANT)
            plan = "; ".join(str(row[-1]) for row in connection.execute(
                sa.text(f"EXPLAIN QUERY PLAN {CLAIM_SQL}"), {"now": at}))
            for _ in range(3):
                started = time.perf_counter()
                connection.execute(sa.text(CLAIM_SQL), {"now": at}).all()
                times.append((time.perf_counter() - started) * 1000)
        connection.rollback()
    return {"plan": plan, "ms": statistics.median(times)}


# --- checks ------------------------------------------------------------------------------------

ROW_QUERIES = {
    "cases": "SELECT * FROM cases ORDER BY id",
    "events": "SELECT case_id, seq, name, actor, role, at, from_state, to_state, payload, "
              "prev_hash, hash FROM events ORDER BY case_id, seq",
    # all but the lease (the worker's name and the real time: another in every run)
    "timers": "SELECT id, case_id, kind, name, trigger, step, due_at, retry_at, state, "
              "attempts, last_error, outcome, created_at, done_at FROM timers ORDER BY id",
}


def fingerprints(url: str) -> dict[str, str]:
    """A sha256 over the rows of each table the firing writes, in a fixed order."""
    found = {}
    with connected(url) as connection:
        for table, query in ROW_QUERIES.items():
            digest = hashlib.sha256()
            rows = connection.execution_options(yield_per=5000).exec_driver_sql(query)
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            found[table] = digest.hexdigest()
    return found


def check(url: str, n: int, run: Run, floor: dict[str, str] | None) -> dict[str, Any]:
    """Did every timer fire exactly once, leaving the rows the floor left?"""
    with connected(url) as connection:
        def one(query: str) -> tuple[Any, ...]:
            return tuple(connection.exec_driver_sql(query).one())

        timers, fired = one("SELECT count(*), coalesce(sum(CASE WHEN state = 'fired' AND "
                            "outcome = 'fired expire' THEN 1 ELSE 0 END), 0) FROM timers")
        moves, moved_cases = one("SELECT count(*), count(DISTINCT case_id) FROM events "
                                 "WHERE name = 'case.transitioned'")
        (others,) = one("SELECT count(*) FROM events "
                        "WHERE name NOT IN ('case.created', 'case.transitioned')")
        (not_done,) = one("SELECT count(*) FROM cases WHERE state <> 'done'")
    result: dict[str, Any] = {
        "counted": sum(run.counts), "timers": timers, "timers_fired": fired,
        "transitions": moves, "cases_moved": moved_cases, "other_events": others,
        "cases_not_done": not_done,
    }
    ok = (sum(run.counts) == timers == fired == moves == moved_cases == n
          and others == 0 and not_done == 0)
    if floor is not None:
        mine = fingerprints(url)
        result["differs_from_floor"] = [t for t in ROW_QUERIES if mine[t] != floor[t]]
        ok = ok and not result["differs_from_floor"]
    result["ok"] = ok
    return result


# --- rounds and report -------------------------------------------------------------------------

@dataclass
class Measured:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, list[int]] = field(default_factory=dict)
    own_seconds: dict[str, list[list[float]]] = field(default_factory=dict)
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    setup_s: dict[str, float] = field(default_factory=dict)
    claim: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, key: str, run: Run, checked: dict[str, Any]) -> None:
        self.seconds.setdefault(key, []).append(run.seconds)
        self.counts[key] = run.counts
        self.own_seconds.setdefault(key, []).append(run.own_seconds)
        self.checks.setdefault(key, []).append(checked)


class Copies:
    """Fresh copies of one prepared template database, one a run."""

    def __init__(self, folder: Path, postgres: Postgres | None) -> None:
        self.folder, self.postgres = folder, postgres
        self.template = "template"  # PostgreSQL: the template's name; SQLite: its file's stem

    def prepare(self, n: int) -> None:
        if self.postgres is not None:
            self.template = self.postgres.create("template")
            prepare(self.postgres.url(self.template), self.folder, n)
            self.postgres.vacuum(self.template)
            return
        path = self.folder / f"{self.template}.db"
        prepare(f"sqlite:///{path}", self.folder, n)
        with closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def first_claim(self) -> dict[str, Any]:
        """The plan and the time of the engine's claim with every timer due (on the template,
        rolled back), then the template sealed."""
        if self.postgres is None:
            found = first_claim(f"sqlite:///{self.folder / self.template}.db")
        else:
            found = first_claim(self.postgres.url(self.template))
            self.postgres.seal(self.template)
        return found

    @contextmanager
    def copy(self, label: str) -> Iterator[str]:
        """The URL of a new copy of the template, removed afterwards."""
        if self.postgres is not None:
            name = self.postgres.create(label, self.template)
            try:
                yield self.postgres.url(name)
            finally:
                self.postgres.drop(name)
            return
        path = self.folder / f"{label}.db"
        sqlite_copy(self.folder / f"{self.template}.db", path)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure_kind(kind: str, n: int, rounds: int, folder: Path, postgres: Postgres | None,
                 measured: Measured, progress: Callable[[str], None]) -> None:
    """Set up one template of `kind`, then per round: the floor, then the engine's runs."""
    label = "PostgreSQL" if kind == "postgresql" else "SQLite"
    copies = Copies(folder, postgres)
    started = time.perf_counter()
    copies.prepare(n)
    measured.setup_s[kind] = time.perf_counter() - started
    progress(f"{label}: {n:,} cases started, {n:,} timers armed in "
             f"{measured.setup_s[kind]:.1f} s (setup, not timed)")
    measured.claim[kind] = copies.first_claim()
    progress(f"{label}: the first claim with {n:,} due takes {measured.claim[kind]['ms']:.2f} ms "
             f"({measured.claim[kind]['plan']})")
    runs = sorted((r for r in RUNS if r[2] == kind), key=lambda r: r[3] != "floor")
    for round_no in range(1, rounds + 1):
        floor: dict[str, str] | None = None
        for key, title, _, job, workers in runs:
            with copies.copy(key) as url:
                run = fire_with(job, url, folder, workers)
                checked = check(url, n, run, floor)
                if job == "floor":
                    floor = fingerprints(url)
            measured.add(key, run, checked)
            progress(f"round {round_no}/{rounds}: {title}: {sum(run.counts):,} fired in "
                     f"{run.seconds:.2f} s ({n / run.seconds:,.0f}/s), checked: "
                     f"{'ok' if checked['ok'] else checked}")


def summary(n: int, rounds: int, measured: Measured, pg_version: str | None,
            pg_skipped: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"timers": n, "rounds": rounds, "postgresql": pg_version,
                              "postgresql_skipped": pg_skipped, "sqlite": sqlite3.sqlite_version}
    for key, _, kind, _job, _ in RUNS:
        runs = measured.seconds.get(key)
        seconds = statistics.median(runs) if runs else None
        floor_key = "pg_floor" if kind == "postgresql" else "sqlite_floor"
        floor = measured.seconds.get(floor_key)
        result[f"{key}_s"] = seconds
        result[f"{key}_per_s"] = None if seconds is None else n / seconds
        result[f"{key}_vs_floor"] = (None if seconds is None or not floor or key == floor_key
                                     else seconds / statistics.median(floor))
        result[f"{key}_rounds_s"] = runs
        result[f"{key}_fired"] = measured.counts.get(key)
        result[f"{key}_worker_s"] = measured.own_seconds.get(key)
    for name, one, two in (("pg_scaling_2", "pg_1_worker_s", "pg_2_workers_s"),
                           ("pg_floor_scaling_2", "pg_floor_s", "pg_2_floors_s")):
        result[name] = (result[one] / result[two]) if result[one] and result[two] else None
    result["target_scaling_2"] = TARGET_SCALING
    result["target_vs_floor"] = TARGET_VS_FLOOR
    result["pg_setup_s"] = measured.setup_s.get("postgresql")
    result["sqlite_setup_s"] = measured.setup_s.get("sqlite")
    for prefix, kind in (("pg", "postgresql"), ("sqlite", "sqlite")):
        claim = measured.claim.get(kind)
        result[f"{prefix}_first_claim_ms"] = claim and claim["ms"]
        result[f"{prefix}_claim_plan"] = claim and claim["plan"]
    result["checks"] = measured.checks
    result["exactly_once"] = bool(measured.checks) and all(
        c["ok"] for checks in measured.checks.values() for c in checks)
    return result


def report(result: dict[str, Any]) -> None:
    n, rounds = result["timers"], result["rounds"]
    databases = ([f"PostgreSQL {result['postgresql'].split()[0]}"] if result["postgresql"]
                 else []) + [f"SQLite {result['sqlite']}"]
    print(f"timers on {' / '.join(databases)}: {n:,} due timers, each claimed and fired in its "
          f"own transaction" + (f" (median of {rounds} rounds)" if rounds > 1 else ""))
    if result["postgresql_skipped"]:
        print(f"  PostgreSQL skipped: {result['postgresql_skipped']}")
    print(f"  {'':29}{'fired':>8}{'seconds':>11}{'timers/s':>11}{'vs floor':>11}")
    for key, title, _, _job, workers in RUNS:
        seconds = result[f"{key}_s"]
        if seconds is None:
            continue
        counts = result[f"{key}_fired"]
        vs = result[f"{key}_vs_floor"]
        ratio = "1.00x" if vs is None else f"{vs:.2f}x"
        shares = f"   ({' + '.join(f'{c:,}' for c in counts)})" if workers > 1 else ""
        each = ("   rounds: " + " ".join(f"{s:.2f}" for s in result[f"{key}_rounds_s"])
                if rounds > 1 else "")
        print(f"  {title:29}{sum(counts):>8,}{seconds:>11.2f}{n / seconds:>11,.0f}"
              f"{ratio:>11}{shares}{each}")
    print(f"  exactly once: every timer fired once (checked) "
          f"{'yes' if result['exactly_once'] else 'NO'}")
    for key, checks in result["checks"].items():
        for number, checked in enumerate(checks, 1):
            if not checked["ok"]:
                print(f"    {key} round {number}: {checked}")
    setups = [f"{label} {result[k]:.1f} s" for label, k in
              (("PostgreSQL", "pg_setup_s"), ("SQLite", "sqlite_setup_s"))
              if result[k] is not None]
    print(f"  setup (not timed): {', '.join(setups)} to start {n:,} cases with their timers "
          f"(start_many, {CHUNK:,} a transaction)")
    for label, prefix in (("PostgreSQL", "pg"), ("SQLite", "sqlite")):
        if result[f"{prefix}_first_claim_ms"] is not None:
            print(f"  first claim, {n:,} due, {label}: {result[f'{prefix}_first_claim_ms']:.2f} "
                  f"ms ({result[f'{prefix}_claim_plan']})")
    print("  vs floor = seconds / the same database's raw-SQL floor seconds (1 process); "
          f"target <= {TARGET_VS_FLOOR:g}x for 1 worker")
    if result["pg_scaling_2"] is not None:
        print(f"  PostgreSQL, 2 workers / 1: {result['pg_scaling_2']:.2f}x (target >= "
              f"{TARGET_SCALING:g}x); the floor's 2 processes / 1: "
              f"{result['pg_floor_scaling_2']:.2f}x")
    print("  checked: worker counts add up, every timer 'fired', one transition per case, "
          "rows identical to the floor's")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--timers", type=int, default=100_000,
                        help="due timers per run (default 100000)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median counts (1)")
    parser.add_argument("--postgres-url", help="admin URL of a PostgreSQL server to use "
                        "(default: start a throw-away one from the installed binaries)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    if args.timers < 1 or args.rounds < 1:
        parser.error("--timers and --rounds must be at least 1")

    def progress(line: str) -> None:
        if not args.json:
            print(line, file=sys.stderr, flush=True)

    measured = Measured()
    pg_version: str | None = None
    pg_skipped: str | None = None
    with tempfile.TemporaryDirectory(prefix="casework-timers-") as tmp:
        folder = Path(tmp)
        postgres: Postgres | None = None
        if args.no_postgres:
            pg_skipped = "--no-postgres"
            progress("PostgreSQL skipped: --no-postgres")
        else:
            postgres = Postgres(args.postgres_url, "bench_timers")
        if postgres is not None:
            try:
                pg_version = postgres.version
                measure_kind("postgresql", args.timers, args.rounds, folder, postgres,
                             measured, progress)
            finally:
                postgres.close()
        measure_kind("sqlite", args.timers, args.rounds, folder, None, measured, progress)
    result = summary(args.timers, args.rounds, measured, pg_version, pg_skipped)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)


if __name__ == "__main__":
    run_main(main)
