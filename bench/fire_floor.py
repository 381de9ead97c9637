"""The floor of bench/fire.py: `triage` written by hand with the bare driver (sqlite3 or psycopg),
leaving exactly the rows casework leaves, in the fewest statements a hand-written program needs.

A hand-written program knows its workflow: what triage decides for every input it will see
(the two decision tables' answers), which SLA targets follow, and so where the clocks stand and
when their first escalation timers are due. Those answers are worked out once, untimed, with the
engine's own tables and calendars (so that the rows come out the same); per fire it then does the
work no program can skip:

    BEGIN (IMMEDIATE on SQLite)
    SELECT the case row                    (its state, fields, assignee, lock and history head)
    SELECT its customer's tier             (triage takes it: checked against the plan)
    SELECT its clocks                      (where they stand: checked against the plan)
    INSERT .. ON CONFLICT the two clocks   (one executemany)
    INSERT .. ON CONFLICT the timers       (one executemany: retargeted in place)
    UPDATE the case under its lock_version (state, queue, assignee, fields, SLA columns, head)
    INSERT its events                      (one executemany: canonical JSON, sha256 chain)
    COMMIT

The queue-count triggers of the schema fire on the floor's UPDATE as on casework's.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bench.common import PRAGMAS, SQLITE_INSTANT
from engine.cases.deciding import decided_event
from engine.kernel.fields import coerce, to_json
from engine.kernel.records import ClockRecord, case_sla
from engine.kernel.specs import WorkflowSpec
from engine.rules.tables import TableSpec, decide
from engine.sla.clocks import ClockSettings, Reckoner, as_target, move_clocks

Job = tuple[int, dict[str, str]]  # (case id, triage inputs)
SLA_FIELDS = ("first_response_hours", "resolution_hours", "business_time", "sla_calendar")
Draft = tuple[str, dict[str, Any], str | None, str | None]  # name, payload, from, to

SELECT_CASE = ("SELECT state, assignee, customer, fields, lock_version, history_seq, "
               "history_head FROM cases WHERE id = ?")
SELECT_TIER = "SELECT tier FROM customers WHERE id = ?"
SELECT_CLOCKS = "SELECT name, status, target_seconds FROM sla_clocks WHERE case_id = ?"
CLOCK_COLUMNS = ("case_id", "name", "status", "business", "calendar", "target_seconds",
                 "elapsed_seconds", "since", "due_at", "started_at", "warned_at", "breached_at",
                 "stopped_at", "level", "step")
UPSERT_CLOCK = (f"INSERT INTO sla_clocks ({', '.join(CLOCK_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in CLOCK_COLUMNS)}) "
                "ON CONFLICT (case_id, name) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in CLOCK_COLUMNS[2:]))
# the clocks are armed at intake: a new target retargets the pending timer in place
INSERT_TIMER = ("INSERT INTO timers (case_id, kind, name, trigger, step, due_at, retry_at, state, "
                "attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?) "
                "ON CONFLICT (case_id, kind, name) WHERE state = 'pending' DO UPDATE SET "
                "trigger = excluded.trigger, step = excluded.step, due_at = excluded.due_at, "
                "retry_at = excluded.retry_at, attempts = 0, last_error = NULL, "
                "created_at = excluded.created_at")
UPDATE_CASE = ("UPDATE cases SET state = ?, queue = ?, assignee = ?, fields = ?, "
               "lock_version = ?, history_seq = ?, history_head = ?, updated_at = ?, "
               "sla_due_at = ?, sla_status = ? WHERE id = ? AND lock_version = ?")
INSERT_EVENT = ("INSERT INTO events (case_id, seq, name, actor, role, at, from_state, to_state, "
                "payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True)
class Answer:
    """What triage does for one (category, severity): worked out before the clock starts."""

    queue: str
    decided: list[Draft]  # the routing, and the SLA targets when decided again
    fields: dict[str, Any]  # the SLA fields the second table sets, as stored
    clocks: list[tuple[Any, ...]]  # the clocks' rows without their case id
    timers: list[tuple[Any, ...]]  # the timers' rows without their case id
    sla_drafts: list[Draft]  # what the clocks say in the history
    sla: tuple[Any, str]  # the case row's sla_due_at, sla_status


@dataclass(frozen=True)
class FloorPlan:
    dest: str
    fields: tuple[str, ...]  # every field, in the spec's order (the order of the events)
    answers: Mapping[tuple[str, str], Answer]
    clock_names: frozenset[str]  # the clocks every case has before triage
    at: Any  # the fires' instant as the driver stores it
    stamp: str  # ... and as it is hashed
    actor: tuple[str, str]
    tier: str  # the tier every case has, which no customer's record changes


def plan(spec: WorkflowSpec, tables: Mapping[str, TableSpec], reckoner: Reckoner,
         start_clocks: Mapping[str, ClockRecord], start_fields: Mapping[str, Any],
         trigger: str, actor: tuple[str, str], now: datetime, sqlite: bool,
         inputs: Sequence[tuple[str, str]]) -> FloorPlan:
    transition = spec.transition(trigger, spec.initial.name)
    assert transition is not None and spec.sla is not None
    stored = instant_sqlite if sqlite else (lambda moment: moment)
    answers = {}
    tier = start_fields["tier"]  # the customers have none: triage keeps the case's
    for category, severity in inputs:
        routing_in = {"tier": tier, "category": category, "channel": start_fields["channel"]}
        sla_in = {"tier": tier, "severity": severity}
        routing = decide(tables["complaint_routing"], routing_in)
        decided: list[Draft] = [("rule.decided", decided_event(routing, routing_in).payload,
                                 None, None)]
        values = {k: coerce(spec.fields[k], start_fields[k]) for k in SLA_FIELDS}
        if severity != start_fields["severity"]:  # the targets are decided again
            targets = decide(tables["complaint_sla"], sla_in)
            decided.append(("rule.decided", decided_event(targets, sla_in).payload, None, None))
            values = {k: coerce(spec.fields[k], v) for k, v in targets.outputs.items()}
        fields = {k: to_json(spec.fields[k], v) for k, v in values.items()}
        hours = {"first_reply": values["first_response_hours"],
                 "next_reply": values["first_response_hours"],
                 "resolution": values["resolution_hours"]}
        settings = {name: ClockSettings(as_target(amount, name), values["business_time"],
                                        values["sla_calendar"]) for name, amount in hours.items()}
        work = move_clocks(  # what the complaint's clocks say, written out by hand
            spec.sla, start_clocks, 0, trigger, transition.dest,
            lambda clock, chosen=settings: chosen[clock.name], reckoner, now)
        after = {**start_clocks, **{c.name: c for c in work.saved}}
        due, status = case_sla(after.values())
        answers[category, severity] = Answer(
            str(routing.outputs["queue"]), decided, fields,
            [clock_row(c, stored)[1:] for c in work.saved],
            [(t.kind.value, t.name, t.trigger, t.step, stored(t.due_at), stored(t.due_at),
              stored(now)) for t in work.timers],
            [(d.name, d.payload, d.from_state, d.to_state) for d in work.drafts],
            (None if due is None else stored(due), status.value))
    return FloorPlan(transition.dest, tuple(spec.fields), answers, frozenset(start_clocks),
                     stored(now), now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                     actor, tier)


def instant_sqlite(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SQLITE_INSTANT)


def clock_row(clock: ClockRecord, stored: Any) -> tuple[Any, ...]:
    def at(moment: datetime | None) -> Any:
        return None if moment is None else stored(moment)

    return (clock.case_id, clock.name, clock.status.value, clock.business, clock.calendar,
            None if clock.target is None else clock.target.total_seconds(),
            clock.elapsed.total_seconds(), at(clock.since), at(clock.due_at),
            at(clock.started_at), at(clock.warned_at), at(clock.breached_at),
            at(clock.stopped_at), clock.level, clock.step)


class Floor:
    """A connection of the bare driver firing triage by hand; counts its statements."""

    def __init__(self, url_or_path: str, floor_plan: FloorPlan) -> None:
        self.plan = floor_plan
        self.sqlite = not url_or_path.startswith("postgresql")
        self.statements = 0
        self.connection: Any
        if self.sqlite:
            self.connection = sqlite3.connect(url_or_path, isolation_level=None)
            for pragma in PRAGMAS:
                self.connection.execute(pragma)
        else:
            import psycopg

            self.connection = psycopg.connect(url_or_path)
        self.sql = {name: text if self.sqlite else text.replace("?", "%s") for name, text in (
            ("case", SELECT_CASE), ("tier", SELECT_TIER), ("clocks", SELECT_CLOCKS),
            ("clock", UPSERT_CLOCK),
            ("timer", INSERT_TIMER), ("update", UPDATE_CASE), ("event", INSERT_EVENT))}

    def execute(self, name: str, parameters: Sequence[Any]) -> Any:
        self.statements += 1
        return self.connection.execute(self.sql[name], parameters)

    def executemany(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        self.statements += 1
        if self.sqlite:
            self.connection.executemany(self.sql[name], rows)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.sql[name], rows)

    def fire(self, job: Job) -> None:
        """One fire by hand: lock, read the case and its clocks, write, commit."""
        case_id, inputs = job
        plan_ = self.plan
        if self.sqlite:
            self.statements += 1
            self.connection.execute("BEGIN IMMEDIATE")
        try:
            state, assignee, customer, stored, lock, seq, head = self.execute(
                "case", (case_id,)).fetchone()
            tier = self.execute("tier", (customer,)).fetchone()[0]
            if tier not in (None, plan_.tier):
                raise RuntimeError(f"case {case_id}'s customer is tiered {tier}, which the floor "
                                   "did not plan for")
            clocks = {name for name, *_ in self.execute("clocks", (case_id,)).fetchall()}
            if clocks != plan_.clock_names:
                raise RuntimeError(f"case {case_id} has clocks {sorted(clocks)}, not those the "
                                   "floor planned for")
            answer = plan_.answers[inputs["category"], inputs["severity"]]
            old = json.loads(stored) if isinstance(stored, str) else stored
            new = {**old, **inputs, **answer.fields}
            drafts: list[Draft] = [("case.transitioned", {"trigger": "triage"}, state,
                                    plan_.dest), *answer.decided]
            drafts += [("case.field_changed", {"field": f, "old": old.get(f), "new": new.get(f)},
                        None, None) for f in plan_.fields if old.get(f) != new.get(f)]
            actor = plan_.actor[0]
            if assignee != actor:
                drafts.append(("case.assigned", {"from": assignee, "to": actor}, None, None))
            drafts += answer.sla_drafts
            events = self.events(case_id, seq, head, drafts)
            self.executemany("clock", [(case_id, *row) for row in answer.clocks])
            self.executemany("timer", [(case_id, *row) for row in answer.timers])
            updated = self.execute("update", (
                plan_.dest, answer.queue, actor, json.dumps(new), lock + 1, events[-1][1],
                events[-1][-1], plan_.at, *answer.sla, case_id, lock))
            if updated.rowcount != 1:
                raise RuntimeError(f"case {case_id} changed under the floor's lock")
            self.executemany("event", events)
            self.statements += 1
            self.connection.commit() if not self.sqlite else self.connection.execute("COMMIT")
        except BaseException:
            self.connection.rollback() if not self.sqlite else self.connection.execute("ROLLBACK")
            raise

    def events(self, case_id: int, seq: int, prev: str,
               drafts: list[Draft]) -> list[tuple[Any, ...]]:
        """Event rows continuing the chain: canonical payloads, sha256 (engine.kernel.history)."""
        rows = []
        actor, role = self.plan.actor
        for name, payload, from_state, to_state in drafts:
            seq += 1
            text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
            digest = hashlib.sha256(orjson.dumps([case_id, seq, name, actor, role,
                                                  self.plan.stamp, from_state, to_state, text,
                                                  prev])).hexdigest()
            rows.append((case_id, seq, name, actor, role, self.plan.at, from_state, to_state,
                         text, prev, digest))
            prev = digest
        return rows

    def close(self) -> None:
        self.connection.close()
