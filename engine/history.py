"""Append-only, hash-chained case history.

Each event hashes its own content together with the hash of the event before it, and the case
row keeps the newest hash (the head). Editing, deleting, inserting or reordering an event breaks
the chain or its link to the head, and `verify` says where.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class EventDraft:
    """An event before it has its place in the chain."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    from_state: str | None = None
    to_state: str | None = None


@dataclass(frozen=True)
class Event:
    case_id: int
    seq: int
    name: str
    actor: str
    role: str | None
    at: datetime
    from_state: str | None
    to_state: str | None
    payload: str  # canonical JSON text, exactly as hashed
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id, "seq": self.seq, "name": self.name, "actor": self.actor,
            "role": self.role, "at": iso(self.at), "from_state": self.from_state,
            "to_state": self.to_state, "payload": json.loads(self.payload),
            "prev_hash": self.prev_hash, "hash": self.hash,
        }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(case_id: int, seq: int, name: str, actor: str, role: str | None, at: datetime,
               from_state: str | None, to_state: str | None, payload: str, prev_hash: str) -> str:
    content = json.dumps(
        [case_id, seq, name, actor, role, iso(at), from_state, to_state, payload, prev_hash],
        separators=(",", ":"), ensure_ascii=False,
    )
    return hashlib.sha256(content.encode()).hexdigest()


def chain(case_id: int, head_seq: int, head_hash: str, drafts: Iterable[EventDraft], actor: str,
          role: str | None, at: datetime) -> list[Event]:
    """Give drafts their sequence numbers and hashes, continuing the chain from its head."""
    events = []
    seq, prev = head_seq, head_hash
    for draft in drafts:
        seq += 1
        payload = canonical(draft.payload)
        digest = event_hash(case_id, seq, draft.name, actor, role, at, draft.from_state,
                            draft.to_state, payload, prev)
        events.append(Event(case_id, seq, draft.name, actor, role, at, draft.from_state,
                            draft.to_state, payload, prev, digest))
        prev = digest
    return events


@dataclass(frozen=True)
class Break:
    """The first place a case's chain does not hold."""

    case_id: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"case {self.case_id}: event {self.seq}: {self.reason}"


def verify(case_id: int, events: Iterable[Event], head_seq: int, head_hash: str) -> Break | None:
    """Check one case's events (in stored order) against each other and against the head."""
    count, prev = 0, GENESIS
    for event in events:
        count += 1
        found = _check_link(case_id, event, count, prev)
        if found is not None:
            return found
        prev = event.hash
    return _check_head(case_id, count, prev, head_seq, head_hash)


def _check_link(case_id: int, event: Event, expected_seq: int, prev: str) -> Break | None:
    if event.seq != expected_seq:
        what = "missing" if event.seq > expected_seq else "out of order or duplicated"
        return Break(case_id, expected_seq, f"event {expected_seq} is {what} "
                     f"(found {event.seq} in its place)")
    if event.prev_hash != prev:
        return Break(case_id, event.seq, "does not link to the event before it "
                     "(an event before it was changed, removed or inserted)")
    recomputed = event_hash(case_id, event.seq, event.name, event.actor, event.role, event.at,
                            event.from_state, event.to_state, event.payload, event.prev_hash)
    if recomputed != event.hash:
        return Break(case_id, event.seq, f"'{event.name}' was altered after it was written "
                     "(its content no longer matches its hash)")
    return None


def _check_head(case_id: int, expected_seq: int, prev: str, head_seq: int,
                head_hash: str) -> Break | None:
    if expected_seq > head_seq:
        return Break(case_id, head_seq + 1, f"event {head_seq + 1} and later were added after "
                     f"the newest event the case records ({head_seq})")
    if expected_seq < head_seq:
        return Break(case_id, expected_seq + 1, f"the case records {head_seq} events but "
                     f"{expected_seq} are stored (events from {expected_seq + 1} on were removed)")
    if prev != (head_hash if head_seq else GENESIS):
        return Break(case_id, head_seq, "the newest stored event is not the one the case points "
                     "to (the chain was rewritten, or the case row was edited)")
    return None
