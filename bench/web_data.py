"""The database bench/web.py serves: N complaint cases as the runtime leaves them, written in bulk.

A fresh SQLite file is migrated (Alembic, as `casework db upgrade` does), the shipped tables and
workflows are published (tests/fixtures.py publish_shipped), and then the rows are written with
the driver's executemany (engine/store/bulk.py), a chunk of cases per transaction, not through
the runtime one case at a time (1,000,000 fires would take hours). The rows are those the runtime
writes for the shipped `complaint` workflow (compare a case started and fired through
Runtime.start / fire): the same columns, field JSON, clock rows, timer rows and event payloads.

  customers   CUSTOMERS (3,000) customers, tiers strategic 2%, key 10%, ordinary 88%
  users       40 agents and 4 supervisors (who the cases are assigned to), and the bench's own
              sign-in `bench` (agent) with an argon2 password
  open cases  OPEN (N/10) spread over 10 queues: `intake` holds the cases not yet triaged
              (state received, both clocks running without a target yet), the other nine the
              triaged ones (in_progress 60%, waiting_customer 25% with the resolution clock
              paused, resolved 15% with both clocks stopped and the follow-up timer pending);
              severities low/medium/high/critical, assignees among the agents (10% unassigned),
              summaries from 40 complaint texts; running clocks with a target are due from
              0.3 of their target ago to a whole target ahead of NOW: about a fifth breached
              (breached_at, level 2, priority raised), some warned (warned_at, level 1), the rest
              running; each with its pending SLA timer at its next lateness step
  closed      the rest: state closed, no queue, both clocks stopped, the resolution fields set
  events      open cases 10-20 each, closed cases 4 (created, triage, resolve, close), every
              history a valid hash chain (engine.kernel.history.event_hash) whose head is on the
              case

Queue names: the shipped complaint_routing table routes to five queues (intake and four teams);
a larger desk would route to more, so the ten are those five and five more teams'. The pages do
not care which table named a queue.

Case ids follow the time of creation (two years up to NOW); open cases are mostly recent but
some are old. Everything is drawn from one seeded random generator: the same parameters give the
same database, which is kept under bench/data/ (file name from the parameters and the schema's
revision) and reused by later runs.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from engine.kernel.accounts import hash_password
from engine.kernel.history import GENESIS, canonical, event_hash
from engine.kernel.settings import Settings
from engine.store.bulk import execute_many, instant
from engine.store.queue_counts import QueueCounts
from engine.store.upgrades import alembic_config
from engine.wiring import open_casework
from tests.fixtures import ROOT, publish_shipped

NOW = datetime(2026, 3, 4, 11, 0, tzinfo=UTC)  # a Wednesday morning: the server's clock (--now)
SPAN = timedelta(days=730)  # case ids 1..N are created over the two years before NOW
QUEUES = ("intake", "technical_support", "after_sales", "billing", "service_desk", "returns",
          "deliveries", "warranty", "accounts", "escalations")
CATEGORY = {"technical_support": "technical", "after_sales": "after_sales",
            "billing": "billing", "service_desk": "other"}  # the shipped routing, backwards
SEVERITIES = (("low", 30), ("medium", 40), ("high", 25), ("critical", 5))
TIERS = (("strategic", 2), ("key", 10), ("ordinary", 88))
CHANNELS = ("phone", "email", "web", "visit")
AGENTS = tuple(f"agent{n:02d}" for n in range(1, 41))
SUPERVISORS = tuple(f"lead{n}" for n in range(1, 5))
USER, PASSWORD = "bench", "bench-password"  # the bench's sign-in (an agent)
CHUNK = 20_000  # cases per transaction
BUILDER = 1  # bump when the rows written change: the cached files' names carry it

SUMMARIES = (
    "Router reboots every evening", "Charged twice for the same order", "Parcel arrived damaged",
    "Refund not received after return", "Invoice shows the wrong address",
    "Delivery left at the wrong door", "Warranty repair took too long",
    "App crashes when paying", "Wrong size sent, want an exchange", "Agent was rude on the phone",
    "No answer to my email for a week", "Subscription renewed without notice",
    "Discount code not applied at checkout", "Replacement part missing from the box",
    "Installer never showed up", "Product stopped working after two days",
    "Billing address cannot be changed online", "Loyalty points disappeared",
    "Refund went to an old card", "Order cancelled without explanation",
    "Delivery slot moved three times", "Screen cracked on arrival",
    "Password reset email never arrives", "Late fee charged although paid on time",
    "Courier damaged the garden gate", "Manual missing, cannot assemble",
    "Wrong item in the parcel", "Price dropped the day after purchase, want the difference",
    "Warranty claim rejected without reason", "Store refused the return",
    "Internet outage for three days", "Double booking of the repair visit",
    "Gift card balance wrong", "Invoice sent to the wrong company", "Noise from the fridge",
    "Refund smaller than the price paid", "Account locked after the update",
    "Missing parts in the furniture kit", "Call centre hung up twice",
    "Tracking number does not work",
)
# complaint_sla v2, row by row: first response h, resolution h, business time, calendar
SLA = {"strategic-urgent": (1, 8, True, "extended"), "strategic-normal": (4, 24, True, "extended"),
       "key-urgent": (2, 16, False, "support_24x7"), "key-normal": (8, 40, True, "office"),
       "ordinary-critical": (4, 24, False, "support_24x7"),
       "ordinary-high": (8, 40, True, "office"), "ordinary-normal": (16, 80, True, "office")}
ROUTING_ROWS = {"technical": "technical", "after_sales": "after-sales", "billing": "billing",
                "other": "everything-else"}


def sla_row(tier: str, severity: str) -> str:
    """The complaint_sla row a triage matches."""
    if tier != "ordinary":
        return f"{tier}-{'urgent' if severity in ('critical', 'high') else 'normal'}"
    return f"ordinary-{severity if severity in ('critical', 'high') else 'normal'}"


@dataclass(frozen=True)
class Shape:
    """What to build: the file's name says all of it."""

    cases: int
    open: int
    customers: int = 3000
    seed: int = 7

    def file_name(self) -> str:
        return (f"web-{self.cases}-open{self.open}-c{self.customers}-s{self.seed}"
                f"-r{head_revision()}-b{BUILDER}.db")


def head_revision() -> str:
    """The newest migration: a database built under an older schema is not reused."""
    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def database(shape: Shape, folder: Path, progress: Callable[[str], None]) -> tuple[Path, float]:
    """The database file for `shape` (built now if not kept yet) and the seconds building took
    (0 when it was kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / shape.file_name()
    if path.exists():
        return path, 0.0
    partial = path.with_name(f"{path.stem}.building.db")  # *.db: never committed by mistake
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    Builder(shape, partial, progress).build()
    with closing(sqlite3.connect(partial)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")  # one file to rename, WAL again on use
    partial.rename(path)
    return path, time.perf_counter() - started


class Builder:
    """Writes one database of `shape` at `path`."""

    def __init__(self, shape: Shape, path: Path, progress: Callable[[str], None]) -> None:
        self.shape, self.path, self.progress = shape, path, progress
        self.rng = random.Random(shape.seed)
        self.casework = open_casework(Settings(home=ROOT, database_url=f"sqlite:///{path}"),
                                      migrate=True)
        # a build that fails is thrown away: no syncing, and a cache the size of the indexes
        sa.event.listen(self.casework.database.engine, "connect", _bulk_pragmas)
        self.casework.database.engine.dispose()
        self.customer_tiers: list[tuple[str, str]] = []
        with self.casework.database.reading() as connection:
            columns = {row[1] for row in connection.exec_driver_sql("PRAGMA table_info(cases)")}
        self.denormalised = "sla_status" in columns  # the queue's SLA columns (migration 0008)

    def build(self) -> None:
        try:
            publish_shipped(self.casework, NOW - SPAN - timedelta(days=1))
            self.definition = self.casework.registry.active("complaint")
            self.people()
            self.customers()
            opened = self.open_ids()
            for first in range(1, self.shape.cases + 1, CHUNK):
                last = min(first + CHUNK, self.shape.cases + 1)
                self.write(Chunk(self, range(first, last), opened))
                if (last - 1) % 200_000 < CHUNK or last > self.shape.cases:
                    self.progress(f"  {last - 1:,} of {self.shape.cases:,} cases written")
            # the queue counts' changes the cases' triggers added, folded as a read would
            QueueCounts(self.casework.database).fold()
        finally:
            self.casework.close()

    def people(self) -> None:
        store, at = self.casework.store, NOW - SPAN
        for name in AGENTS:
            store.add_user(name, ["agent"], at, name.title(), f"{name}@example.com")
        for name in SUPERVISORS:
            store.add_user(name, ["supervisor"], at, name.title(), f"{name}@example.com")
        store.add_user(USER, ["agent"], at, "Bench", "bench@example.com",
                       hash_password(PASSWORD))

    def customers(self) -> None:
        tiers, weights = zip(*TIERS, strict=True)
        rows = []
        with self.casework.database.writing() as connection:
            at = instant(connection, NOW - SPAN)
            for n in range(1, self.shape.customers + 1):
                tier = self.rng.choices(tiers, weights)[0]
                customer = f"C{n:05d}"
                self.customer_tiers.append((customer, tier))
                rows.append((customer, "enterprise" if tier != "ordinary" else "personal",
                             "active", f"Customer {n}", f"c{n}@example.com", tier, at, at, 0,
                             GENESIS))
            execute_many(connection, "INSERT INTO customers (id, type, status, name, email, "
                         "tier, created_at, updated_at, history_seq, history_head) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def open_ids(self) -> set[int]:
        """Which cases are open: mostly recent ones, some old (u**3 leans to the newest)."""
        n, wanted = self.shape.cases, min(self.shape.open, self.shape.cases)
        found: set[int] = set()
        while len(found) < wanted:
            found.add(n - int(n * self.rng.random() ** 3))
        return found

    def write(self, chunk: Chunk) -> None:
        with self.casework.database.writing() as connection:
            execute_many(connection, chunk.case_sql(), chunk.cases)
            execute_many(connection, "INSERT INTO events (case_id, seq, name, actor, role, at, "
                         "from_state, to_state, payload, prev_hash, hash) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk.events)
            execute_many(connection, "INSERT INTO sla_clocks (case_id, name, status, business, "
                         "calendar, target_seconds, elapsed_seconds, since, due_at, started_at, "
                         "warned_at, breached_at, stopped_at, level, step) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk.clocks)
            execute_many(connection, "INSERT INTO timers (case_id, kind, name, trigger, step, "
                         "due_at, retry_at, state, attempts, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)", chunk.timers)


def _stamp(moment: datetime) -> str:
    """An instant as engine/store/bulk.py's instant() stores it in SQLite (isoformat is
    several times faster than strftime, and a build formats millions)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _stamp_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _stamp(moment)


@dataclass
class Clock:
    name: str
    status: str
    business: bool
    calendar: str
    target_h: float | None
    started: datetime
    due: datetime | None = None
    since: datetime | None = None
    warned: datetime | None = None
    breached: datetime | None = None
    stopped: datetime | None = None
    level: int = 0
    step: float = 0.0
    elapsed: float = 0.0


class Chunk:
    """The rows of a range of case ids."""

    def __init__(self, builder: Builder, ids: range, opened: set[int]) -> None:
        self.builder, self.rng = builder, builder.rng
        self.cases: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.clocks: list[tuple[Any, ...]] = []
        self.timers: list[tuple[Any, ...]] = []
        self.denormalised = builder.denormalised
        for case_id in ids:
            created = NOW - SPAN * (1 - case_id / (builder.shape.cases + 1))
            if case_id in opened:
                self.open_case(case_id, max(created, NOW - timedelta(days=400)))
            else:
                self.closed_case(case_id, min(created, NOW - timedelta(days=2)))

    def case_sql(self) -> str:
        columns = ["id", "definition_id", "workflow", "version", "state", "queue", "assignee",
                   "customer", "fields", "lock_version", "history_seq", "history_head",
                   "created_at", "updated_at", "closed_at"]
        if self.denormalised:
            columns += ["sla_status", "sla_due_at"]
        return (f"INSERT INTO cases ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})")

    # --- one case -----------------------------------------------------------------------------

    def start(self, case_id: int, created: datetime, agent: str) -> tuple[dict[str, Any], str, str]:
        """A complaint's first fields, its customer, and the tier it had."""
        customer, tier = self.rng.choice(self.builder.customer_tiers)
        channel = self.rng.choice(CHANNELS)
        summary = self.rng.choice(SUMMARIES)
        if self.rng.random() < 0.3:
            summary += f" (order {self.rng.randrange(100_000, 999_999)})"
        fields = {"severity": "medium", "reopen_count": 0, "tier": tier, "priority": "normal",
                  "channel": channel, "summary": summary}
        self.history = History(case_id, agent)
        self.history.add("case.created", created, {
            "workflow": "complaint", "version": self.builder.definition.spec.version,
            "content_hash": self.builder.definition.spec.content_hash, "customer": customer,
            "fields": dict(fields), "queue": "intake"}, None, "received")
        return fields, customer, tier

    def triage(self, fields: dict[str, Any], queue: str, at: datetime, agent: str
               ) -> tuple[float, float, bool, str]:
        severity = self.rng.choices(*zip(*SEVERITIES, strict=True))[0]
        category = CATEGORY.get(queue) or self.rng.choice(("technical", "after_sales",
                                                            "billing", "other"))
        tier = fields["tier"]
        row = sla_row(tier, severity)
        first_h, resolution_h, business, calendar = SLA[row]
        changes = {"category": category, "severity": severity,
                   "first_response_hours": str(first_h), "resolution_hours": str(resolution_h),
                   "business_time": business, "sla_calendar": calendar}
        history = self.history
        history.add("case.transitioned", at, {"trigger": "triage"}, "received", "in_progress")
        history.add("rule.decided", at, {"table": "complaint_routing", "version": 1,
                                         "inputs": {"category": category,
                                                    "channel": fields["channel"]},
                                         "matched": [ROUTING_ROWS[category]],
                                         "outputs": {"queue": queue}})
        history.add("rule.decided", at, {"table": "complaint_sla", "version": 2,
                                         "inputs": {"severity": severity, "tier": tier},
                                         "matched": [row],
                                         "outputs": {"first_response_hours": first_h,
                                                     "resolution_hours": resolution_h,
                                                     "business_time": business,
                                                     "sla_calendar": calendar}})
        for name, new in changes.items():
            if fields.get(name) != new:
                history.add("case.field_changed", at,
                            {"field": name, "new": new, "old": fields.get(name)})
        fields.update(changes)
        history.add("case.assigned", at, {"from": None, "to": agent})
        history.add("sla.retargeted", at, {"clock": "first_response", "new": float(first_h),
                                           "old": None})
        history.add("sla.retargeted", at, {"clock": "resolution", "new": float(resolution_h),
                                           "old": None})
        return float(first_h), float(resolution_h), business, calendar

    def open_case(self, case_id: int, created: datetime) -> None:
        rng = self.rng
        queue = rng.choice(QUEUES)
        agent = rng.choice(AGENTS)
        fields, customer, _ = self.start(case_id, created, agent)
        updated = min(created + timedelta(minutes=rng.randrange(5, 600)), NOW)
        clocks = [Clock("first_response", "running", True, "office", None, created,
                        since=created),
                  Clock("resolution", "running", True, "office", None, created, since=created)]
        for clock in clocks:
            self.history.add("sla.started", created, {"business": True, "calendar": "office",
                                                      "clock": clock.name, "target": None})
        state, assignee, timers = "received", None, []
        if queue == "intake":
            assignee = agent if rng.random() < 0.2 else None
            if assignee:
                self.history.add("case.assigned", updated, {"from": None, "to": agent})
        else:
            assignee = agent if rng.random() < 0.9 else None
            first_h, resolution_h, business, calendar = self.triage(fields, queue, updated, agent)
            for clock, hours in zip(clocks, (first_h, resolution_h), strict=True):
                clock.target_h, clock.business, clock.calendar = hours, business, calendar
            state = rng.choices(("in_progress", "waiting_customer", "resolved"), (60, 25, 15))[0]
            timers = self.progress(state, fields, clocks, updated)
            if assignee is None:
                self.history.add("case.assigned", updated, {"from": agent, "to": None})
        sla, due = _denormalised(clocks)
        for clock in clocks:
            self.clocks.append(_clock_row(case_id, clock))
        for name, kind, trigger, step, at in timers:
            self.timers.append((case_id, kind, name, trigger, step, _stamp(at), _stamp(at),
                                _stamp(updated)))
        self.add_case(case_id, state, queue, assignee, customer, fields, created, updated, None,
                      sla, due)

    def progress(self, state: str, fields: dict[str, Any], clocks: list[Clock],
                 at: datetime) -> list[tuple[str, str, str | None, float | None, datetime]]:
        """Clocks and events after triage for a case now in `state`; its pending timers."""
        rng, history = self.rng, self.history
        first, resolution = clocks
        timers: list[tuple[str, str, str | None, float | None, datetime]] = []
        answered = state != "in_progress" or rng.random() < 0.6
        if answered:
            fields["first_response"] = "We are looking into it and will call you tomorrow."
            history.add("case.transitioned", at, {"trigger": "respond"}, "in_progress",
                        "in_progress")
            history.add("case.field_changed", at, {"field": "first_response",
                                                   "new": fields["first_response"], "old": None})
            first.status, first.stopped, first.since = "stopped", at, None
            first.elapsed = (at - first.started).total_seconds()
            history.add("sla.met", at, {"clock": "first_response", "elapsed": 0.5,
                                        "target": first.target_h})
        for clock in clocks:
            if clock.status == "running":
                timers += self.run_clock(clock, fields)
        if state == "waiting_customer":
            fields["question"] = "Could you send us a photo of the label?"
            history.add("case.transitioned", at, {"trigger": "ask_customer"}, "in_progress",
                        "waiting_customer")
            history.add("case.field_changed", at, {"field": "question",
                                                   "new": fields["question"], "old": None})
            resolution.status, resolution.since, resolution.due = "paused", None, None
            history.add("sla.paused", at, {"clock": "resolution", "elapsed": 1.5,
                                           "reason": "waiting_customer"})
            timers = [t for t in timers if t[0] != "resolution"]
        elif state == "resolved":
            fields.update(resolution="Replaced the unit", root_cause="Faulty batch",
                          remedy="replacement", resolved_at=at.isoformat().replace("+00:00", "Z"))
            history.add("case.transitioned", at, {"trigger": "resolve"}, "in_progress",
                        "resolved")
            resolution.status, resolution.stopped, resolution.since = "stopped", at, None
            resolution.due = None
            history.add("sla.met", at, {"clock": "resolution", "elapsed": 20.0,
                                        "target": resolution.target_h})
            timers = [("follow_up", "timer", "close_unanswered", None, at + timedelta(days=7))]
        return timers

    def run_clock(self, clock: Clock, fields: dict[str, Any]
                  ) -> list[tuple[str, str, str | None, float | None, datetime]]:
        """A running clock with a target: due somewhere around NOW; warned or breached by then
        as the worker would have left it; its next SLA timer."""
        assert clock.target_h is not None
        target = timedelta(hours=clock.target_h)
        clock.due = NOW + target * self.rng.uniform(-0.3, 1.0)
        clock.elapsed = clock.target_h * 3600 * 0.2
        warn_at = clock.due - target * 0.2
        if clock.due <= NOW:
            clock.warned, clock.breached, clock.level, clock.step = warn_at, clock.due, 2, 1.0
            fields["priority"] = "high"
            self.history.add("sla.warned", warn_at, {"clock": clock.name, "level": 1})
            self.history.add("sla.breached", clock.due, {"clock": clock.name, "level": 2})
            return [(clock.name, "sla", None, 1.5, clock.due + target * 0.5)]
        if warn_at <= NOW:
            clock.warned, clock.level, clock.step = warn_at, 1, 0.8
            self.history.add("sla.warned", warn_at, {"clock": clock.name, "level": 1})
            return [(clock.name, "sla", None, 1.0, clock.due)]
        return [(clock.name, "sla", None, 0.8, warn_at)]

    def closed_case(self, case_id: int, created: datetime) -> None:
        rng = self.rng
        agent = rng.choice(AGENTS)
        fields, customer, _ = self.start(case_id, created, agent)
        queue = rng.choice(QUEUES[1:])
        triaged = created + timedelta(minutes=rng.randrange(5, 240))
        resolved = triaged + timedelta(hours=rng.randrange(2, 200))
        closed = resolved + timedelta(hours=rng.randrange(1, 120))
        severity = rng.choices(*zip(*SEVERITIES, strict=True))[0]
        fields.update(category=CATEGORY.get(queue, "other"), severity=severity,
                      first_response_hours="8", resolution_hours="40", business_time=True,
                      sla_calendar="office", resolution="Explained the charge",
                      root_cause="Customer misunderstanding", remedy="explanation",
                      resolved_at=resolved.isoformat().replace("+00:00", "Z"),
                      csat=rng.randint(3, 5))
        history = self.history
        history.add("case.transitioned", triaged, {"trigger": "triage"}, "received",
                    "in_progress")
        history.add("case.transitioned", resolved, {"trigger": "resolve"}, "in_progress",
                    "resolved")
        history.add("case.transitioned", closed, {"trigger": "close"}, "resolved", "closed")
        for name, hours in (("first_response", 8.0), ("resolution", 40.0)):
            self.clocks.append(_clock_row(case_id, Clock(
                name, "stopped", True, "office", hours, created, stopped=resolved,
                elapsed=(resolved - created).total_seconds() / 4)))
        self.add_case(case_id, "closed", None, agent, customer, fields, created, closed, closed,
                      "none", None)

    def add_case(self, case_id: int, state: str, queue: str | None, assignee: str | None,
                 customer: str, fields: dict[str, Any], created: datetime, updated: datetime,
                 closed: datetime | None, sla: str, due: datetime | None) -> None:
        events = self.history.rows
        self.events += events
        row: tuple[Any, ...] = (
            case_id, self.builder.definition.definition_id, "complaint",
            self.builder.definition.spec.version, state, queue, assignee, customer,
            json.dumps(fields),  # as SQLAlchemy's JSON type writes it
            self.history.fires, len(events), events[-1][-1], _stamp(created), _stamp(updated),
            _stamp_or_none(closed))
        self.cases.append((*row, sla, _stamp_or_none(due)) if self.denormalised else row)


class History:
    """A case's events as rows, chained as engine.kernel.history.chain chains them."""

    def __init__(self, case_id: int, actor: str) -> None:
        self.case_id, self.actor = case_id, actor
        self.rows: list[tuple[Any, ...]] = []
        self.head = GENESIS
        self.fires = 1  # the row version: one more per fire

    def add(self, name: str, at: datetime, payload: dict[str, Any], from_state: str | None = None,
            to_state: str | None = None) -> None:
        seq, text = len(self.rows) + 1, canonical(payload)
        digest = event_hash(self.case_id, seq, name, self.actor, "agent", at, from_state,
                            to_state, text, self.head)
        self.rows.append((self.case_id, seq, name, self.actor, "agent", _stamp(at), from_state,
                          to_state, text, self.head, digest))
        self.head = digest
        if name == "case.transitioned":
            self.fires += 1


def _bulk_pragmas(connection: Any, _: Any) -> None:
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-400000")  # KiB


def _clock_row(case_id: int, clock: Clock) -> tuple[Any, ...]:
    return (case_id, clock.name, clock.status, clock.business, clock.calendar,
            None if clock.target_h is None else clock.target_h * 3600, clock.elapsed,
            _stamp_or_none(clock.since), _stamp_or_none(clock.due), _stamp(clock.started),
            _stamp_or_none(clock.warned), _stamp_or_none(clock.breached),
            _stamp_or_none(clock.stopped), clock.level, clock.step)


def _denormalised(clocks: list[Clock]) -> tuple[str, datetime | None]:
    """The SLA status and next due time of a case's clocks, as engine.store.timers keeps them."""
    live = [c for c in clocks if c.status != "stopped"]
    dues = [c.due for c in live if c.due is not None]
    due = min(dues) if dues else None
    if not live:
        return "none", due
    if any(c.breached for c in live):
        return "breached", due
    if all(c.status == "paused" for c in live):
        return "paused", due
    if any(c.warned for c in live):
        return "warning", due
    return "running", due
