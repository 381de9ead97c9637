"""The bodies the case operations take and the JSON they answer with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from engine.cases.desk import MAX_COMMENT
from engine.cases.queues import QueueRow
from engine.kernel.history import Event
from engine.kernel.personal import refs_in, shown_values
from engine.kernel.records import CaseRecord, ClockRecord, clock_json
from web.api.common import Body, said

ExpectedVersion = Annotated[int | None, Meta(
    description="The case's lock_version the caller last read; if the case has changed since, "
                "nothing is done and the answer is 409")]


class StartCase(Body):
    """A case to open on the newest version of a workflow."""

    workflow: Annotated[str, Meta(description="The workflow's name", examples=["complaint"])]
    customer: Annotated[str | None, Meta(
        description="The customer the case is about (required by customer workflows)",
        examples=["C1"])] = None
    fields: Annotated[dict[str, Any], Meta(
        description="Field values by name, as JSON (text for dates, datetimes and decimals)",
        examples=[{"channel": "email", "summary": "Parcel arrived damaged"}])] = \
        msgspec.field(default_factory=dict)


class Fire(Body):
    """A trigger to fire, with the fields it takes."""

    fields: Annotated[dict[str, Any], Meta(
        description="The values this transition needs or accepts, by field name",
        examples=[{"category": "after_sales", "severity": "high"}])] = \
        msgspec.field(default_factory=dict)
    expected_version: ExpectedVersion = None


class Comment(Body):
    """A comment to add to a case's history."""

    # what Desk.comment accepts: some text that is not only blanks, at most MAX_COMMENT long
    text: Annotated[str, said("The comment (at most 10,000 characters)", [
        "Called the customer; a new parcel is on its way."],
        minLength=1, maxLength=MAX_COMMENT, pattern=r"\S")]
    expected_version: ExpectedVersion = None


class Assign(Body):
    """Whom to give a case to: claiming (to yourself) an unassigned case or giving back your
    own is open to every working role; anything else needs a supervisor or manager."""

    assignee: Annotated[str | None, Meta(
        description="A user's name, or null to unassign", examples=["ann"])]
    expected_version: ExpectedVersion = None


class Clock(Struct, kw_only=True):
    """One SLA clock of a case."""

    name: Annotated[str, Meta(description="The clock's name in the workflow")]
    status: Annotated[str, Meta(description="running, paused, warning, breached or met")]
    running: Annotated[bool, Meta(description="Whether it counts now")]
    business: Annotated[bool, Meta(description="Whether it counts business hours only")]
    calendar: Annotated[str, Meta(description="The business calendar it counts by")]
    target_hours: Annotated[float | None, Meta(description="The target, in hours")]
    elapsed_hours: Annotated[float, Meta(description="The time counted so far, in hours")]
    due_at: Annotated[datetime | None, Meta(description="When it breaches if it keeps running")]
    started_at: datetime
    warned_at: datetime | None
    breached_at: datetime | None
    stopped_at: datetime | None
    level: Annotated[int, Meta(description="The escalation level reached")]


class Case(Struct, kw_only=True):
    """A case: its fields, state, version and SLA clocks."""

    id: Annotated[int, Meta(description="The case number")]
    workflow: str
    version: Annotated[int, Meta(description="The workflow version the case runs on")]
    state: str
    queue: Annotated[str | None, Meta(description="The queue it waits in (null when closed)")]
    assignee: str | None
    customer: str | None
    fields: Annotated[dict[str, Any], Meta(description="Field values by name, as JSON")]
    lock_version: Annotated[int, Meta(
        description="Moves on every change; send it back as expected_version")]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sla: Annotated[list[Clock], Meta(description="The case's SLA clocks")]
    may_fire: Annotated[list[str], Meta(
        description="The triggers from this state that one of your roles may fire (guards "
                    "and fields are checked when fired)")]
    held: Annotated[bool, Meta(description="Under a legal hold (its own or its customer's): "
                               "retention leaves it alone")] = False


class HistoryEvent(Struct, kw_only=True):
    """One event of a case's history, a link of its hash chain."""

    seq: Annotated[int, Meta(description="1 for the first event, then one up")]
    name: Annotated[str, Meta(examples=["case.transitioned"])]
    actor: str
    role: str | None
    at: datetime
    from_state: str | None
    to_state: str | None
    payload: Annotated[dict[str, Any], Meta(description="What happened, in detail")]
    prev_hash: Annotated[str, Meta(description="The hash of the event before (64 zeros first)")]
    hash: Annotated[str, Meta(description="SHA-256 over this event and prev_hash")]
    personal: Annotated[dict[str, Any], Meta(description=(
        "The values the payload's {\"$personal\": ref} markers stand for (kept apart from "
        "the hashed payload, erasable): ref -> value, or {\"erased\": {at, by, reason}}"))] \
        = msgspec.field(default_factory=dict)


class QueuedCase(Struct, kw_only=True):
    """An open case as a queue lists it."""

    id: int
    workflow: str
    state: str
    assignee: str | None
    customer: str | None
    tier: Annotated[str | None, Meta(description="The customer's tier")]
    summary: str | None
    severity: str | None
    priority: str | None
    created_at: datetime
    updated_at: datetime
    lock_version: int
    due_at: Annotated[datetime | None, Meta(description="The soonest SLA due time")]
    sla: Annotated[str, Meta(description="breached, warning, paused, running or none")]


class QueuePage(Struct, kw_only=True):
    """One page of a queue's open cases, soonest SLA due first."""

    queue: str
    cases: list[QueuedCase]
    next: Annotated[str | None, Meta(
        description="Pass as `after` for the next page; null on the last page")]


def clock_of(clock: ClockRecord, spent: timedelta) -> Clock:
    return msgspec.convert(clock_json(clock, spent), Clock)


def case_of(case: CaseRecord, clocks: list[Clock], may_fire: list[str],
            held: bool = False) -> Case:
    return Case(id=case.id, workflow=case.workflow, version=case.version, state=case.state,
                queue=case.queue, assignee=case.assignee, customer=case.customer,
                fields=case.fields, lock_version=case.lock_version, created_at=case.created_at,
                updated_at=case.updated_at, closed_at=case.closed_at, sla=clocks,
                may_fire=may_fire, held=held)


def event_of(event: Event, values: Mapping[str, Any] | None = None) -> HistoryEvent:
    """The event as stored, with the personal values its markers stand for (from `values`)."""
    payload = json.loads(event.payload)
    mine = {ref: values[ref] for ref in refs_in(payload) if ref in values} if values else {}
    return HistoryEvent(seq=event.seq, name=event.name, actor=event.actor, role=event.role,
                        at=event.at, from_state=event.from_state, to_state=event.to_state,
                        payload=payload, prev_hash=event.prev_hash, hash=event.hash,
                        personal=shown_values(mine))


def queued_of(row: QueueRow) -> QueuedCase:
    return QueuedCase(id=row.id, workflow=row.workflow, state=row.state, assignee=row.assignee,
                      customer=row.customer, tier=row.tier, summary=row.summary,
                      severity=row.severity, priority=row.priority, created_at=row.created_at,
                      updated_at=row.updated_at, lock_version=row.lock_version,
                      due_at=row.due_at, sla=row.sla)
