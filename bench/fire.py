"""Fire throughput: casework's `Runtime.fire` next to a raw-SQL floor that writes the same rows,
and next to its peers: SpiffWorkflow persisted in SQLite, a hand-written SQLAlchemy ORM change,
and `transitions` alone.

What fires: `triage` (inputs category and severity, actor alice as agent) once on each of N
complaint cases of workflows/complaint.yaml, on a database prepared as an operator prepares one
(`open_casework` on the repository's workflows/, rules/ and calendars, tables published,
workflows deployed, 500 customers, N cases started; untimed: each case took its customer's tier
and its SLA targets at intake). Triage reads the customer's tier, decides the routing, decides
the SLA targets again (the severity changed), assigns, and moves both running SLA clocks on the
office calendar in business hours with their escalation timers: per fire 6 to 10 history
events, 2 clocks, 2 timers and the case row with its SLA columns (and, by the schema's
triggers, the queue-count changes).

  casework         Runtime.fire, one transaction each (BEGIN IMMEDIATE ... COMMIT), SQLite in
                   WAL mode with synchronous=NORMAL (engine/store/db.py).
  raw SQL floor    bench/fire_floor.py: the same rows by hand with the bare driver on a
                   byte-for-byte copy of the prepared database, same pragmas; its answers worked
                   out up front. Every round, every row of both databases is compared (cases,
                   events, clocks, timers, queue-count changes, customers): a floor that wrote
                   less would stop the run.
  SpiffWorkflow    bench/fire_peers.py: a BPMN triage step persisted in SQLite per step (load
                   the JSON, complete the task with data, run to the next wait, serialize,
                   commit), same pragmas.
  ORM              a hand-written SQLAlchemy ORM state change with one history row per step.
  transitions      the state machine library alone, no database.

Each round uses fresh files. casework and its floor run side by side, in turns of 100 fires
(which goes first alternates), so that both see the shared machine's load alike; the peers run
after them. Everything is timed with time.perf_counter after a garbage collection. Reported:
the median over R rounds of fires/s, statements per fire (counted on a separate small run by
SQLite's trace callback: BEGIN and COMMIT included, each row of an executemany once), and
ratio_to_raw = raw_sql_per_s / fire_per_s. Targets: ratio_to_raw <= 2, and casework at least
as fast as SpiffWorkflow persisted.

--postgres adds casework and the floor on PostgreSQL (a server this bench starts with fsync on,
as in production, or --postgres-url), with 1, 2 and 4 processes firing on distinct cases at once,
each a spawned process released together with the others; wall time from the release to the
last one done, rows compared as on SQLite. Target: 2 processes >= 1.7x one.

The machine is shared: compare the ratios of one run, not absolute rates across machines.

    python bench/fire.py [--cases N] [--repeat R] [--postgres] [--postgres-url URL]
                         [--postgres-cases M] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent.parent) not in sys.path:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.common import ROOT, Postgres, connected, in_processes, run_main, sqlite_copy
from bench.fire_floor import Floor, FloorPlan, plan
from bench.fire_peers import run_machine, run_orm, run_spiff
from engine.cases.runtime import Actor, StartRequest
from engine.kernel.settings import Settings
from engine.wiring import Casework, open_casework
from engine.workflows.registry import load_tables

WORKFLOW = "complaint"
TRIGGER = "triage"
ACTOR = Actor("alice", "agent")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
START_FIELDS = {"channel": "web", "summary": "The router reboots every evening"}
CATEGORIES = ("technical", "after_sales", "billing", "other")
SEVERITIES = ("low", "high")  # never the default (medium): both fields change
CUSTOMERS = 500
CHUNK = 2000  # cases started per transaction (setup)
TARGET_RATIO = 2.0
TARGET_SCALING = 1.7
PROCESSES = (1, 2, 4)
COUNTED = 20  # fires of the separate run that counts statements
TURN = 100  # fires of casework, then of the floor, in turns

Job = tuple[int, dict[str, str]]  # (case id, triage inputs)


def jobs_for(case_ids: list[int]) -> list[Job]:
    """`triage` once per case, inputs varying from case to case."""
    return [(case_id, {"category": CATEGORIES[i % len(CATEGORIES)],
                       "severity": SEVERITIES[i % len(SEVERITIES)]})
            for i, case_id in enumerate(case_ids)]


def customer(i: int) -> str:
    return f"C{i % CUSTOMERS:04d}"


# --- the prepared database ---------------------------------------------------------------------

def prepare(url: str, n: int) -> list[int]:
    """Migrate, publish, deploy, add the customers and start `n` complaints (untimed)."""
    casework = open_casework(Settings(home=ROOT, database_url=url), migrate=True)
    try:
        for table, text in load_tables(ROOT):
            casework.registry.publish_table(table, text, NOW)
        casework.registry.deploy_home(ROOT, NOW)
        for i in range(min(n, CUSTOMERS)):
            casework.customers.add(customer(i), NOW)
        deployed, ids = casework.registry.active(WORKFLOW), []
        for first in range(0, n, CHUNK):
            with casework.store.transaction() as tx:
                ids += [case.id for case in casework.runtime.start_many(tx, [
                    StartRequest(deployed, START_FIELDS, customer(i))
                    for i in range(first, min(n, first + CHUNK))], ACTOR, NOW)]
        return ids
    finally:
        casework.close()


def warmed(url: str) -> Casework:
    """casework on a prepared database as a running server has it: definitions and tables
    parsed, a pooled connection."""
    casework = open_casework(Settings(home=ROOT, database_url=url))
    casework.registry.active(WORKFLOW)
    for table, _ in load_tables(ROOT):
        casework.registry.active_table(table.name, NOW)
    with casework.store.transaction() as tx:
        tx.publication_mark()
    return casework


def floor_plan(url: str, first_case: int, sqlite: bool) -> FloorPlan:
    """What the hand-written floor knows up front, worked out with the engine (untimed)."""
    casework = warmed(url)
    try:
        spec = casework.registry.active(WORKFLOW).spec
        tables = {t.name: casework.registry.active_table(t.name, NOW)
                  for t, _ in load_tables(ROOT)}
        with casework.store.transaction() as tx:
            clocks = tx.clocks(first_case)
            fields = tx.get_case(first_case).fields
        return plan(spec, tables, casework.runtime.scheduler.reckoner, clocks, fields, TRIGGER,
                    (ACTOR.name, ACTOR.role), NOW, sqlite,
                    [(c, s) for c in CATEGORIES for s in SEVERITIES])
    finally:
        casework.close()


# --- the two jobs, in this process or in processes of their own -----------------------------

class CaseworkJob:
    def __init__(self, url: str, jobs: list[Job]) -> None:
        self.casework, self.jobs = warmed(url), jobs

    def run(self) -> int:
        runtime = self.casework.runtime
        for case_id, inputs in self.jobs:
            runtime.fire(case_id, TRIGGER, ACTOR, NOW, inputs=inputs)
        return len(self.jobs)

    def close(self) -> None:
        self.casework.close()


class FloorJob:
    def __init__(self, target: str, floor: FloorPlan, jobs: list[Job]) -> None:
        self.floor, self.jobs = Floor(target, floor), jobs

    def run(self) -> int:
        for job in self.jobs:
            self.floor.fire(job)
        return len(self.jobs)

    def close(self) -> None:
        self.floor.close()


def side_by_side(runs: Mapping[str, CaseworkJob | FloorJob], jobs: list[Job],
                 round_no: int) -> dict[str, float]:
    """Seconds each job spends on all `jobs`, taken in turns of TURN fires (which goes first
    alternating), so that both see the machine alike: a shared machine's load comes and goes."""
    spent = dict.fromkeys(runs, 0.0)
    try:
        for turn, first in enumerate(range(0, len(jobs), TURN)):
            order = list(runs.items())
            for path, job in order[::-1] if (turn + round_no) % 2 else order:
                job.jobs = jobs[first:first + TURN]
                gc.collect()
                started = time.perf_counter()
                job.run()
                spent[path] += time.perf_counter() - started
    finally:
        for job in runs.values():
            job.close()
    return spent


def timed(job: CaseworkJob | FloorJob) -> float:
    try:
        gc.collect()
        started = time.perf_counter()
        job.run()
        return time.perf_counter() - started
    finally:
        job.close()


# --- the rows both leave ---------------------------------------------------------------------

ROWS = {  # by natural keys, without surrogate ids: processes interleave their inserts
    "cases": "SELECT * FROM cases ORDER BY id",
    "events": "SELECT case_id, seq, name, actor, role, at, from_state, to_state, payload, "
              "prev_hash, hash FROM events ORDER BY case_id, seq",
    "sla_clocks": "SELECT * FROM sla_clocks ORDER BY case_id, name",
    "timers": "SELECT case_id, kind, name, trigger, step, due_at, retry_at, state, attempts, "
              "last_error, outcome, created_at, done_at FROM timers "
              "ORDER BY case_id, kind, name, state, due_at",
    "queue_count_changes": "SELECT queue, sla_status, unassigned, n FROM queue_count_changes "
                           "ORDER BY queue, sla_status, unassigned, n",
    "queue_counts": "SELECT * FROM queue_counts ORDER BY queue, sla_status, unassigned",
    "customers": "SELECT * FROM customers ORDER BY id",
}


def same_rows(casework_url: str, floor_url: str) -> int:
    """Stop unless both databases hold the same rows; how many rows were compared."""
    compared = 0
    for table, query in ROWS.items():
        found = []
        for url in (casework_url, floor_url):
            with connected(url) as connection:
                found.append([tuple(row) for row in connection.exec_driver_sql(query)])
        if found[0] != found[1]:
            diff = next(((a, b) for a, b in zip(*found, strict=False) if a != b), None)
            raise SystemExit(f"the floor did not write what casework wrote in '{table}' "
                             f"({len(found[0])} vs {len(found[1])} rows); first difference:\n"
                             f"  casework: {diff and diff[0]}\n  floor:    {diff and diff[1]}")
        compared += len(found[0])
    return compared


# --- SQLite ----------------------------------------------------------------------------------

@dataclass
class Rates:
    """Fires per second of each round, per path."""

    per_path: dict[str, list[float]] = field(default_factory=dict)
    rows_checked: int = 0

    def add(self, path: str, fires: int, seconds: float) -> None:
        self.per_path.setdefault(path, []).append(fires / seconds)

    def median(self, path: str) -> float:
        return statistics.median(self.per_path[path])


@contextmanager
def prepared_pair(folder: Path, n: int) -> Iterator[tuple[Path, Path, list[int]]]:
    """casework.db with `n` cases started and floor.db, a byte-for-byte copy of it."""
    casework, floor = folder / "casework.db", folder / "floor.db"
    ids = prepare(f"sqlite:///{casework}", n)
    sqlite_copy(casework, floor)
    yield casework, floor, ids


def sqlite_round(folder: Path, n: int, round_no: int, rates: Rates) -> None:
    with prepared_pair(folder, n) as (casework, floor, ids):
        jobs = jobs_for(ids)
        the_plan = floor_plan(f"sqlite:///{floor}", ids[0], sqlite=True)
        spent = side_by_side({"casework": CaseworkJob(f"sqlite:///{casework}", []),
                              "raw_sql": FloorJob(str(floor), the_plan, [])}, jobs, round_no)
        for path, seconds in spent.items():
            rates.add(path, n, seconds)
        rates.rows_checked = same_rows(f"sqlite:///{casework}", f"sqlite:///{floor}")
    peer_jobs = [(i, inputs) for i, (_, inputs) in enumerate(jobs)]
    rates.add("spiff", n, run_spiff(folder / "spiff.db", peer_jobs))
    rates.add("orm", n, run_orm(folder / "orm.db", peer_jobs))


# what the search index (SQLite FTS5, migration 0013) reads of its own configuration, once a
# connection, when a trigger on cases first touches it: not a statement of any fire
SEARCH_INDEX_SETUP = frozenset({"SELECT k, v FROM 'main'.'case_search_config'",
                                "PRAGMA 'main'.data_version"})


def statements_per_fire() -> dict[str, float]:
    """SQL statements SQLite runs per fire (its trace callback: BEGIN and COMMIT included, each
    row of an executemany once, the schema's triggers not), on a separate small run."""
    counted = {"casework": 0, "raw_sql": 0}

    def counter(path: str) -> Callable[[str], None]:
        last = [""]

        def count(statement: str) -> None:
            # a trigger's own statements start with "--"; entering a trigger is traced with the
            # statement that fired it again (Python's callback expands the statement's SQL), so
            # the same text twice in a row is one statement
            if not statement.startswith("--") and statement != last[0] \
                    and statement not in SEARCH_INDEX_SETUP:
                counted[path] += 1
            last[0] = statement
        return count

    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp, \
            prepared_pair(Path(tmp), COUNTED) as (casework_db, floor_db, ids):
        jobs = jobs_for(ids)
        job = CaseworkJob(f"sqlite:///{casework_db}", jobs)
        engine = job.casework.database.engine
        engine.dispose()  # connections from here on are traced, after their pragmas

        @sa.event.listens_for(engine, "connect")
        def _traced(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(counter("casework"))

        timed(job)
        floor = FloorJob(str(floor_db), floor_plan(f"sqlite:///{floor_db}", ids[0], True), jobs)
        floor.floor.connection.set_trace_callback(counter("raw_sql"))
        timed(floor)
        same_rows(f"sqlite:///{casework_db}", f"sqlite:///{floor_db}")
    return {path: n / COUNTED for path, n in counted.items()}


def sqlite_rates(n: int, repeat: int, progress: Callable[[str], None]) -> Rates:
    rates = Rates()
    spec = None
    for round_no in range(1, repeat + 1):
        with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
            sqlite_round(Path(tmp), n, round_no, rates)
            if spec is None:
                casework = open_casework(Settings(home=ROOT, database_url=f"sqlite:///{tmp}/"
                                                  "casework.db"))
                spec = casework.registry.active(WORKFLOW).spec
                casework.close()
        rates.add("machine", n, run_machine(spec, jobs_for(list(range(n)))))
        progress(f"round {round_no}/{repeat}: " + ", ".join(
            f"{path} {runs[-1]:,.0f}/s" for path, runs in rates.per_path.items()))
    return rates


# --- PostgreSQL ------------------------------------------------------------------------------

def postgres_rates(postgres: Postgres, n: int, repeat: int,
                   progress: Callable[[str], None]) -> dict[str, list[float]]:
    """casework and the floor with 1, 2 and 4 processes, each on a fresh copy of one prepared
    database; fires/s per run, keyed `casework_2` etc."""
    template = postgres.create("template")
    ids = prepare(postgres.url(template), n)
    the_plan = floor_plan(postgres.url(template), ids[0], sqlite=False)
    postgres.vacuum(template)
    postgres.seal(template)
    jobs = jobs_for(ids)
    found: dict[str, list[float]] = {}
    for round_no in range(1, repeat + 1):
        for processes in PROCESSES:
            shares = [jobs[i::processes] for i in range(processes)]
            urls = {}
            for path in ("casework", "raw_sql"):
                name = postgres.create(f"{path}_{processes}", template)
                url = urls[path] = postgres.url(name)
                target = sa.make_url(url).set(drivername="postgresql").render_as_string(
                    hide_password=False)
                run = (in_processes(CaseworkJob, [(url, share) for share in shares])
                       if path == "casework" else
                       in_processes(FloorJob, [(target, the_plan, share) for share in shares]))
                if sum(run.counts) != n:
                    raise SystemExit(f"{path} with {processes} processes fired "
                                     f"{sum(run.counts)} of {n}")
                found.setdefault(f"{path}_{processes}", []).append(n / run.seconds)
            same_rows(urls["casework"], urls["raw_sql"])
            for path in ("casework", "raw_sql"):
                postgres.drop(f"{postgres.prefix}_{path}_{processes}")
        progress(f"PostgreSQL round {round_no}/{repeat}: " + ", ".join(
            f"{key} {runs[-1]:,.0f}/s" for key, runs in found.items()))
    return found


# --- report ----------------------------------------------------------------------------------

PATHS = (  # key in the rates, key in the JSON, label
    ("casework", "fire_per_s", "casework"),
    ("raw_sql", "raw_sql_per_s", "raw SQL floor (same rows)"),
    ("spiff", "spiff_persisted_per_s", "SpiffWorkflow, persisted"),
    ("orm", "orm_per_s", "SQLAlchemy ORM, one history row"),
    ("machine", "machine_only_per_s", "transitions only"),
)


def summary(n: int, repeat: int, rates: Rates, statements: Mapping[str, float],
            postgres: Mapping[str, list[float]] | None,
            pg_about: Mapping[str, str] | None) -> dict[str, Any]:
    result: dict[str, Any] = {"cases": n, "rounds": repeat}
    for path, key, _ in PATHS:
        result[key] = round(rates.median(path), 1)
    result["ratio_to_raw"] = round(result["raw_sql_per_s"] / result["fire_per_s"], 2)
    result["target_ratio"] = TARGET_RATIO
    result["vs_spiff"] = round(result["fire_per_s"] / result["spiff_persisted_per_s"], 2)
    result["statements_per_fire"] = dict(statements)
    result["rows_checked"] = rates.rows_checked
    if postgres is not None:
        medians = {key: round(statistics.median(runs), 1) for key, runs in postgres.items()}
        result["postgres"] = {
            **dict(pg_about or {}), "per_s": medians,
            "scaling_2": round(medians["casework_2"] / medians["casework_1"], 2),
            "scaling_4": round(medians["casework_4"] / medians["casework_1"], 2),
            "floor_scaling_2": round(medians["raw_sql_2"] / medians["raw_sql_1"], 2),
            "ratio_to_raw_1": round(medians["raw_sql_1"] / medians["casework_1"], 2),
            "target_scaling_2": TARGET_SCALING}
    return result


def report(result: Mapping[str, Any], rates: Rates, console: Console) -> None:
    raw = result["raw_sql_per_s"]
    grid = Table(title=f"triage on {result['cases']:,} complaint cases, SQLite, median of "
                 f"{result['rounds']} rounds", caption=(
                     f"ratio_to_raw {result['ratio_to_raw']:.2f} (target <= {TARGET_RATIO:g}); "
                     f"casework / SpiffWorkflow {result['vs_spiff']:.2f} (target >= 1); "
                     f"{result['rows_checked']:,} rows compared each round"))
    for header in ("path", "fires/s", "µs/fire", "vs raw SQL", "statements/fire", "each round"):
        grid.add_column(header, justify="left" if header == "path" else "right")
    statements = result["statements_per_fire"]
    for path, key, label in PATHS:
        per_s = result[key]
        grid.add_row(label, f"{per_s:,.0f}", f"{1e6 / per_s:,.0f}", f"{raw / per_s:.2f}x",
                     f"{statements[path]:g}" if path in statements else "",
                     " ".join(f"{r:,.0f}" for r in rates.per_path[path]))
    console.print(grid)
    pg = result.get("postgres")
    if pg:
        table = Table(title=f"PostgreSQL {pg['version']} (fsync {pg['fsync']}), processes "
                      "firing on distinct cases, median fires/s", caption=(
                          f"casework 2 processes / 1: {pg['scaling_2']:.2f} (target >= "
                          f"{TARGET_SCALING:g}); floor: {pg['floor_scaling_2']:.2f}"))
        for header in ("processes", "casework", "raw SQL floor", "floor / casework"):
            table.add_column(header, justify="right")
        for processes in PROCESSES:
            c, f = pg["per_s"][f"casework_{processes}"], pg["per_s"][f"raw_sql_{processes}"]
            table.add_row(str(processes), f"{c:,.0f}", f"{f:,.0f}", f"{f / c:.2f}x")
        console.print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000, help="fires per round (2000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median counts (3)")
    parser.add_argument("--postgres", action="store_true",
                        help="also on PostgreSQL with 1, 2 and 4 processes")
    parser.add_argument("--postgres-url", help="an admin URL of a running server to use")
    parser.add_argument("--postgres-cases", type=int, default=1000,
                        help="fires per PostgreSQL run (1000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    if min(args.cases, args.repeat, args.postgres_cases) < 1:
        parser.error("--cases, --repeat and --postgres-cases must be at least 1")
    errors = Console(stderr=True)
    progress: Callable[[str], None] = (
        (lambda _line: None) if args.json else (lambda line: errors.print(line, style="dim")))
    postgres = None  # started (or reached) first: a server that is not there stops the run now
    if args.postgres or args.postgres_url:
        postgres = Postgres(args.postgres_url, "bench_fire", fsync=True)
    try:
        statements = statements_per_fire()
        rates = sqlite_rates(args.cases, args.repeat, progress)
        pg_rates, pg_about = None, None
        if postgres is not None:
            pg_about = {"version": postgres.version, "fsync": postgres.fsync}
            pg_rates = postgres_rates(postgres, args.postgres_cases, args.repeat, progress)
    finally:
        if postgres is not None:
            postgres.close()
    result = summary(args.cases, args.repeat, rates, statements, pg_rates, pg_about)
    if args.json:
        print(json.dumps(result))
    else:
        report(result, rates, Console(width=130))


if __name__ == "__main__":
    run_main(main)
