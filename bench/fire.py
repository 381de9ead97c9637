"""Fire throughput: casework's `Runtime.fire` next to a raw-SQL floor and bare `transitions`.

Three ways of firing `triage` (inputs category and severity, actor role agent) once on each of
N cases of workflows/complaint.yaml, each timed with time.perf_counter and run R times:

  casework        Runtime.fire with full persistence: SqlStore on a SQLite file in WAL mode,
                  migrated by Alembic, one transaction (BEGIN IMMEDIATE ... COMMIT) per fire.
  raw SQL floor   the same rows written by hand with the stdlib sqlite3 module on a second file
                  with the same schema (same migration) and pragmas: per fire BEGIN IMMEDIATE,
                  SELECT the case, UPDATE it (optimistic lock), INSERT its 4 events with their
                  sha256 hash chain, COMMIT. The rows of both files are compared after each round.
  transitions     one transitions.Machine, no database: attach a model, fire, detach (as
                  engine/workflows/machine.py does), to show what the state machine library itself
                  costs.

Cases are started (untimed) before each round; every round uses fresh database files.
Reported: the median rate over the R rounds, per path, in fires per second.

Reading the ratio: ratio_to_raw = raw_sql_per_s / fire_per_s is how many times as long a casework
fire takes as the least work that leaves the same rows in the same schema under the same pragmas
(WAL, synchronous=NORMAL: no fsync per commit, only at WAL checkpoints, which both sides hit
alike). 1.0 would mean the engine costs nothing beyond SQLite and the hash chain; whatever is
above 1 is the engine's own Python (SQLAlchemy Core, records, coercion, CEL, `transitions`).
target_ratio is 3. "transitions only" bounds what the state machine library alone costs a fire.
The numbers are wall-clock and share the machine with whatever else runs; compare the ratio,
not absolute rates, across machines.

    python bench/fire.py [--cases N] [--repeat R] [--json]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from transitions import Machine  # noqa: E402

from engine.cases.deciding import decided_event  # noqa: E402
from engine.cases.runtime import Actor, Runtime  # noqa: E402
from engine.kernel.fields import coerce, to_json  # noqa: E402
from engine.kernel.history import GENESIS, EventDraft, chain  # noqa: E402
from engine.kernel.specs import WorkflowSpec  # noqa: E402
from engine.rules.tables import TableSpec, decide  # noqa: E402
from engine.store import Database, SqlStore  # noqa: E402
from engine.store.upgrades import upgrade  # noqa: E402
from engine.workflows.registry import Registry, load_tables, load_workflows  # noqa: E402

WORKFLOW = "complaint"
TRIGGER = "triage"
ACTOR = Actor("alice", "agent")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
START_FIELDS = {"channel": "web", "summary": "The router reboots every evening"}
CATEGORIES = ("technical", "after_sales", "billing", "other")
SEVERITIES = ("low", "high")  # never the default (medium): both fields change, 4 events a fire
TARGET_RATIO = 3
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
           "PRAGMA busy_timeout=10000")  # what engine.store.db sets on every connection

Job = tuple[int, dict[str, str]]  # (case id, triage inputs)


def jobs_for(case_ids: list[int]) -> list[Job]:
    """The fires of one round: `triage` once per case, inputs varying from case to case."""
    return [(case_id, {"category": CATEGORIES[i % len(CATEGORIES)],
                       "severity": SEVERITIES[i % len(SEVERITIES)]})
            for i, case_id in enumerate(case_ids)]


def timed(fire: Callable[[Job], object], jobs: list[Job]) -> float:
    """Seconds to run `fire` on every job, after a full garbage collection."""
    gc.collect()
    started = time.perf_counter()
    for job in jobs:
        fire(job)
    return time.perf_counter() - started


def customer(i: int) -> str:
    return f"C{i % 500:04d}"


def migrated(path: Path) -> Database:
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    return database


# --- casework ----------------------------------------------------------------------------------

@contextmanager
def casework_cases(path: Path, n: int) -> Iterator[tuple[Runtime, list[int]]]:
    """A migrated database with the workflows deployed and `n` complaint cases started."""
    database = migrated(path)
    try:
        store = SqlStore(database)
        registry = Registry(store)
        for table, text in load_tables(ROOT):
            registry.publish_table(table, text, NOW)
        registry.deploy_home(ROOT, NOW)
        runtime = Runtime(store, registry)
        ids = [runtime.start(WORKFLOW, START_FIELDS, ACTOR, NOW, customer=customer(i)).id
               for i in range(n)]
        yield runtime, ids
    finally:
        database.dispose()


def run_casework(path: Path, n: int) -> float:
    with casework_cases(path, n) as (runtime, ids):
        def fire(job: Job) -> object:
            return runtime.fire(job[0], TRIGGER, ACTOR, NOW, inputs=job[1])

        return timed(fire, jobs_for(ids))


# --- raw SQL floor -----------------------------------------------------------------------------

SELECT_CASE = (
    "SELECT id, definition_id, workflow, version, state, queue, assignee, customer, fields, "
    "lock_version, history_seq, history_head, created_at, updated_at, closed_at "
    "FROM cases WHERE id = ?"
)
UPDATE_CASE = (
    "UPDATE cases SET state = ?, queue = ?, assignee = ?, fields = ?, lock_version = ?, "
    "history_seq = ?, history_head = ?, updated_at = ? WHERE id = ? AND lock_version = ?"
)
INSERT_EVENT = (
    "INSERT INTO events (case_id, seq, name, actor, role, at, from_state, to_state, payload, "
    "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CASE = (
    "INSERT INTO cases (definition_id, workflow, version, state, queue, assignee, customer, "
    "fields, lock_version, history_seq, history_head, created_at, updated_at, closed_at) "
    "VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 1, 0, ?, ?, ?, NULL)"
)
INSERT_DEFINITION = (
    "INSERT INTO definitions (kind, name, version, content_hash, source, source_path, loaded_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_PUBLICATION = (
    "INSERT INTO publications (definition_id, kind, name, published_at, published_by) "
    "VALUES (?, 'table', ?, ?, 'operator')"
)


Answer = tuple[str, list["Draft"], dict[str, Any]]  # queue, rule.decided drafts, SLA fields


@dataclass(frozen=True)
class FloorPlan:
    """What the floor knows up front about `triage`: a hand-written program knows the answers
    of the two decision tables for every input it will see (worked out untimed, here with the
    engine's own tables so that the rows come out the same), and writes them."""

    dest: str
    fields: tuple[str, ...]  # every field, in the spec's order (the order of the events)
    answers: Mapping[tuple[str, str], Answer]  # (category, severity) -> what triage decides
    at_sql: str  # NOW as SQLAlchemy stores a DateTime in SQLite
    at_iso: str  # NOW as it is hashed

    @classmethod
    def of(cls, spec: WorkflowSpec, tables: Mapping[str, TableSpec]) -> FloorPlan:
        transition = spec.transition(TRIGGER, spec.initial.name)
        assert transition is not None
        answers = {(c, s): _answer(spec, tables, c, s) for c in CATEGORIES for s in SEVERITIES}
        return cls(transition.dest, tuple(spec.fields), answers, sql_instant(NOW),
                   NOW.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def _answer(spec: WorkflowSpec, tables: Mapping[str, TableSpec], category: str,
            severity: str) -> Answer:
    routing_in = {"category": category, "channel": START_FIELDS["channel"]}
    sla_in = {"tier": spec.fields["tier"].default, "severity": severity}
    routing, sla = (decide(tables["complaint_routing"], routing_in),
                    decide(tables["complaint_sla"], sla_in))
    drafts: list[Draft] = [(e.name, e.payload, None, None) for e in
                           (decided_event(routing, routing_in), decided_event(sla, sla_in))]
    fields = {k: to_json(spec.fields[k], coerce(spec.fields[k], v))
              for k, v in sla.outputs.items()}
    return str(routing.outputs["queue"]), drafts, fields


def sql_instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def open_floor(path: Path) -> sqlite3.Connection:
    """The floor's file, created by the same migration, opened with the engine's pragmas."""
    migrated(path).dispose()
    connection = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN ourselves
    for pragma in PRAGMAS:
        connection.execute(pragma)
    return connection


def floor_cases(connection: sqlite3.Connection, spec: WorkflowSpec, source: str,
                tables: list[tuple[TableSpec, str]], n: int) -> list[int]:
    """Publish the tables, store the workflow and start `n` cases, writing what publishing
    and Runtime.start write (untimed)."""
    connection.execute("BEGIN IMMEDIATE")
    for table, text in tables:
        table_id = connection.execute(INSERT_DEFINITION, (
            "table", table.name, table.version, table.content_hash, text, table.path,
            sql_instant(NOW))).lastrowid
        connection.execute(INSERT_PUBLICATION, (table_id, table.name, sql_instant(NOW)))
    definition_id = connection.execute(INSERT_DEFINITION, (
        "workflow", spec.name, spec.version, spec.content_hash, source, spec.path,
        sql_instant(NOW),
    )).lastrowid
    assert definition_id is not None
    values = {name: f.default for name, f in spec.fields.items() if f.default is not None}
    values.update(START_FIELDS)
    fields = {name: to_json(spec.fields[name], value) for name, value in values.items()}
    ids = [floor_start(connection, spec, definition_id, fields, i) for i in range(n)]
    connection.execute("COMMIT")
    return ids


def floor_start(connection: sqlite3.Connection, spec: WorkflowSpec, definition_id: int,
                fields: dict[str, Any], i: int) -> int:
    """One started case: its row, its `case.created` event, and the row pointing at it."""
    state, at = spec.initial, sql_instant(NOW)
    case_id = connection.execute(INSERT_CASE, (
        definition_id, spec.name, spec.version, state.name, state.queue, customer(i),
        json.dumps(fields), GENESIS, at, at)).lastrowid
    assert case_id is not None
    created = EventDraft("case.created", {
        "workflow": spec.name, "version": spec.version, "content_hash": spec.content_hash,
        "customer": customer(i), "fields": fields, "queue": state.queue}, None, state.name)
    [e] = chain(case_id, 0, GENESIS, [created], ACTOR.name, ACTOR.role, NOW)
    connection.execute(INSERT_EVENT, (e.case_id, e.seq, e.name, e.actor, e.role, at,
                                      e.from_state, e.to_state, e.payload, e.prev_hash, e.hash))
    connection.execute("UPDATE cases SET history_seq = ?, history_head = ? WHERE id = ?",
                       (e.seq, e.hash, case_id))
    return case_id


Draft = tuple[str, dict[str, Any], str | None, str | None]  # name, payload, from, to


def floor_events(case_id: int, head: tuple[int, str], drafts: list[Draft],
                 plan: FloorPlan) -> list[tuple[Any, ...]]:
    """Event rows continuing the chain at `head` (seq, hash): canonical payloads, sha256."""
    rows = []
    seq, prev = head
    for name, payload, from_state, to_state in drafts:
        seq += 1
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        content = json.dumps([case_id, seq, name, ACTOR.name, ACTOR.role, plan.at_iso,
                              from_state, to_state, text, prev],
                             separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(content.encode()).hexdigest()
        rows.append((case_id, seq, name, ACTOR.name, ACTOR.role, plan.at_sql, from_state,
                     to_state, text, prev, digest))
        prev = digest
    return rows


def floor_fire(connection: sqlite3.Connection, plan: FloorPlan, job: Job) -> None:
    """One fire by hand: lock, read the case, update it, append its events, commit."""
    case_id, inputs = job
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute(SELECT_CASE, (case_id,)).fetchone()
        state, assignee, old, lock = row[4], row[6], json.loads(row[8]), row[9]
        queue, decided, sla = plan.answers[(inputs["category"], inputs["severity"])]
        new = {**old, **inputs, **sla}
        drafts: list[Draft] = [("case.transitioned", {"trigger": TRIGGER}, state, plan.dest),
                               *decided]
        drafts += [("case.field_changed", {"field": f, "old": old.get(f), "new": new.get(f)},
                    None, None) for f in plan.fields if old.get(f) != new.get(f)]
        if assignee != ACTOR.name:
            drafts.append(("case.assigned", {"from": assignee, "to": ACTOR.name}, None, None))
        events = floor_events(case_id, (row[10], row[11]), drafts, plan)
        updated = connection.execute(UPDATE_CASE, (
            plan.dest, queue, ACTOR.name, json.dumps(new), lock + 1, events[-1][1],
            events[-1][-1], plan.at_sql, case_id, lock))
        if updated.rowcount != 1:
            raise RuntimeError(f"case {case_id} changed under the floor's lock")
        connection.executemany(INSERT_EVENT, events)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def run_floor(path: Path, spec: WorkflowSpec, source: str, n: int) -> float:
    connection = open_floor(path)
    tables = load_tables(ROOT)
    try:
        ids = floor_cases(connection, spec, source, tables, n)
        plan = FloorPlan.of(spec, {t.name: t for t, _ in tables})
        return timed(lambda job: floor_fire(connection, plan, job), jobs_for(ids))
    finally:
        connection.close()


def same_rows(casework: Path, floor: Path) -> None:
    """Fail loudly unless both files hold exactly the same definitions, cases and events."""
    for table in ("definitions", "cases", "events"):
        rows = []
        for path in (casework, floor):
            with closing(sqlite3.connect(path)) as connection:
                rows.append(connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall())
        if rows[0] != rows[1]:
            diff = next(((a, b) for a, b in zip(*rows, strict=False) if a != b), None)
            raise SystemExit(f"the floor did not write what casework wrote in '{table}' "
                             f"({len(rows[0])} vs {len(rows[1])} rows); first difference:\n"
                             f"  casework: {diff and diff[0]}\n  floor:    {diff and diff[1]}")


# --- transitions only --------------------------------------------------------------------------

class _Model:
    """A throw-away case as `transitions` sees it; `trigger` is added when it is attached."""

    state: str
    trigger: Callable[[str], bool]


def run_machine(spec: WorkflowSpec, n: int) -> float:
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

    seconds = timed(fire, jobs_for(list(range(n))))
    transition = spec.transition(TRIGGER, spec.initial.name)
    assert transition is not None
    assert set(reached) == {transition.dest}, reached[:3]
    return seconds


# --- rounds and report -------------------------------------------------------------------------

@dataclass(frozen=True)
class Rates:
    """Fires per second of each round, per path."""

    casework: list[float]
    raw_sql: list[float]
    machine: list[float]


def measure(n: int, repeat: int, progress: Callable[[str], None]) -> Rates:
    """Run the three paths `repeat` times, on fresh files each round, checking the floor."""
    [(spec, source)] = [(s, t) for s, t in load_workflows(ROOT) if s.name == WORKFLOW]
    rates = Rates([], [], [])
    for round_no in range(1, repeat + 1):
        with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
            folder = Path(tmp)
            rates.casework.append(n / run_casework(folder / "casework.db", n))
            rates.raw_sql.append(n / run_floor(folder / "floor.db", spec, source, n))
            same_rows(folder / "casework.db", folder / "floor.db")
        rates.machine.append(n / run_machine(spec, n))
        progress(f"round {round_no}/{repeat}: casework {rates.casework[-1]:,.0f}/s, raw SQL "
                 f"{rates.raw_sql[-1]:,.0f}/s, transitions {rates.machine[-1]:,.0f}/s")
    return rates


def summary(n: int, rates: Rates) -> dict[str, Any]:
    fire, raw = statistics.median(rates.casework), statistics.median(rates.raw_sql)
    return {"cases": n, "fire_per_s": round(fire, 1), "raw_sql_per_s": round(raw, 1),
            "machine_only_per_s": round(statistics.median(rates.machine), 1),
            "ratio_to_raw": round(raw / fire, 2), "target_ratio": TARGET_RATIO}


def table(result: Mapping[str, Any], rates: Rates, repeat: int) -> Table:
    raw = result["raw_sql_per_s"]
    grid = Table(title=f"triage on {result['cases']:,} complaint cases, median of {repeat} "
                 "rounds", caption=f"ratio_to_raw = raw SQL fires/s / casework fires/s = "
                 f"{result['ratio_to_raw']:.2f} (target <= {TARGET_RATIO})")
    for header in ("path", "fires/s", "µs/fire", "vs raw SQL", "each round (fires/s)"):
        grid.add_column(header, justify="left" if header == "path" else "right")
    for label, key, runs in (("casework", "fire_per_s", rates.casework),
                             ("raw SQL floor", "raw_sql_per_s", rates.raw_sql),
                             ("transitions only", "machine_only_per_s", rates.machine)):
        per_s = result[key]
        grid.add_row(label, f"{per_s:,.0f}", f"{1e6 / per_s:,.1f}", f"{raw / per_s:.2f}x",
                     " ".join(f"{r:.0f}" for r in runs))
    return grid


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=2000, help="fires per round (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median counts (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 1:
        parser.error("--cases and --repeat must be at least 1")
    errors = Console(stderr=True)
    progress: Callable[[str], None] = (
        (lambda _line: None) if args.json else (lambda line: errors.print(line, style="dim")))
    rates = measure(args.cases, args.repeat, progress)
    result = summary(args.cases, rates)
    if args.json:
        print(json.dumps(result))
    else:
        Console().print(table(result, rates, args.repeat))


if __name__ == "__main__":
    main()
