"""Append-only, hash-chained history of cases and of customers.

Each event hashes its own content together with the hash of the event before it, and the case
(or customer) row keeps the newest hash (the head). Editing, deleting, inserting or reordering an
event breaks the chain or its link to the head, and `verify` says where. Case events carry the
state they moved from and to; customer events (a tier change, a churn warning) have no states.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple, Protocol

import orjson

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

    def digest_as(self, case_id: int | str) -> str:
        """The hash this event has if it belongs to `case_id` (any other case's fails)."""
        return event_hash(case_id, self.seq, self.name, self.actor, self.role, self.at,
                          self.from_state, self.to_state, self.payload, self.prev_hash)


class CustomerEvent(NamedTuple):
    """An event of a customer's own history: what happened to the customer record. (A named
    tuple: a recompute makes millions, and passes them between processes.)"""

    customer_id: str
    seq: int
    name: str
    actor: str
    role: str | None
    at: datetime
    payload: str  # canonical JSON text, exactly as hashed
    prev_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id, "seq": self.seq, "name": self.name,
            "actor": self.actor, "role": self.role, "at": iso(self.at),
            "payload": json.loads(self.payload), "prev_hash": self.prev_hash, "hash": self.hash,
        }

    def digest_as(self, customer_id: int | str) -> str:
        return customer_event_hash(str(customer_id), self.seq, self.name, self.actor, self.role,
                                   self.at, self.payload, self.prev_hash)

    def __reduce__(self) -> tuple[Any, ...]:
        # unpickled by tuple.__new__, in C: a named tuple's own way runs Python per event
        return tuple.__new__, (type(self), tuple(self))


class Chained(Protocol):
    """What verify reads of an event, case or customer."""

    @property
    def seq(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    def digest_as(self, subject: int | str) -> str: ...


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(payload: dict[str, Any]) -> str:
    """A payload as stored and hashed: JSON with sorted keys and no spaces.

    orjson writes it at a tenth of json.dumps' cost (a recompute hashes millions of payloads):
    the same text for strings, whole numbers, lists and maps, and floats that read back exactly,
    though in their own notation (0.00006103515625 where json writes 6.103515625e-05). NaN, which
    is not JSON, would become null; payloads never hold one. The text is stored as written and
    verification never re-encodes it, so how it was encoded does not matter to the chain.
    """
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()


def event_hash(case_id: int | str, seq: int, name: str, actor: str, role: str | None, at: datetime,
               from_state: str | None, to_state: str | None, payload: str, prev_hash: str) -> str:
    return _case_hash(case_id, seq, name, actor, role, iso(at), from_state, to_state, payload,
                      prev_hash)


def _case_hash(case_id: int | str, seq: int, name: str, actor: str, role: str | None, stamp: str,
               from_state: str | None, to_state: str | None, payload: str, prev_hash: str) -> str:
    # For lists of strings, whole numbers and nulls orjson and json.dumps(separators=(",", ":"),
    # ensure_ascii=False) write the same bytes: hashes written before and after agree.
    content = orjson.dumps(
        [case_id, seq, name, actor, role, stamp, from_state, to_state, payload, prev_hash])
    return hashlib.sha256(content).hexdigest()


def customer_event_hash(customer_id: str, seq: int, name: str, actor: str, role: str | None,
                        at: datetime, payload: str, prev_hash: str) -> str:
    return _customer_hash(customer_id, seq, name, actor, role, iso(at), payload, prev_hash)


def _customer_hash(customer_id: str, seq: int, name: str, actor: str, role: str | None,
                   stamp: str, payload: str, prev_hash: str) -> str:
    # "customer" first: no customer event can pass for a case event or the other way round.
    content = orjson.dumps(["customer", customer_id, seq, name, actor, role, stamp, payload,
                            prev_hash])
    return hashlib.sha256(content).hexdigest()


def chain(case_id: int, head_seq: int, head_hash: str, drafts: Iterable[EventDraft], actor: str,
          role: str | None, at: datetime) -> list[Event]:
    """Give drafts their sequence numbers and hashes, continuing the chain from its head."""
    events = []
    seq, prev, stamp = head_seq, head_hash, iso(at)
    for draft in drafts:
        seq += 1
        payload = canonical(draft.payload)
        digest = _case_hash(case_id, seq, draft.name, actor, role, stamp, draft.from_state,
                            draft.to_state, payload, prev)
        events.append(Event(case_id, seq, draft.name, actor, role, at, draft.from_state,
                            draft.to_state, payload, prev, digest))
        prev = digest
    return events


def chain_customer(customer_id: str, head_seq: int, head_hash: str,
                   drafts: Iterable[EventDraft], actor: str, role: str | None,
                   at: datetime) -> list[CustomerEvent]:
    """chain() for a customer's history (drafts' states are not part of it)."""
    return chain_customer_texts(customer_id, head_seq, head_hash,
                                [(draft.name, canonical(draft.payload)) for draft in drafts],
                                actor, role, at)


def chain_customer_texts(customer_id: str, head_seq: int, head_hash: str,
                         named: Iterable[tuple[str, str]], actor: str, role: str | None,
                         at: datetime) -> list[CustomerEvent]:
    """chain_customer() of (name, canonical payload text) pairs, with no draft made for each:
    a recompute chains millions of events, many with a payload it has written before."""
    events = []
    seq, prev, stamp = head_seq, head_hash, _stamp(at)
    for name, payload in named:
        seq += 1
        digest = _customer_hash(customer_id, seq, name, actor, role, stamp, payload, prev)
        events.append(_customer_event((customer_id, seq, name, actor, role, at, payload, prev,
                                       digest)))
        prev = digest
    return events


# CustomerEvent made from its values by tuple.__new__ (in C), not by the named tuple's __new__
_customer_event = partial(tuple.__new__, CustomerEvent)


@lru_cache(maxsize=64)
def _stamp(at: datetime) -> str:
    """iso(at), remembered: a recompute stamps millions of events with one moment."""
    return iso(at)


@dataclass(frozen=True)
class Break:
    """The first place a chain does not hold (kind "case" or "customer"), or another finding of
    verify: a case row that disagrees with its history (seq 0), the vault ("vault"), the
    protection log ("protection log") or a checkpoint ("checkpoint")."""

    subject: int | str
    seq: int
    reason: str
    kind: str = "case"

    def __str__(self) -> str:
        # seq 0: a finding about the whole case (its row), the vault or the protection log
        where = f"{self.kind} {self.subject}".strip()
        return f"{where}: event {self.seq}: {self.reason}" if self.seq else \
            f"{where}: {self.reason}"


def verify(subject: int | str, events: Iterable[Chained], head_seq: int, head_hash: str,
           kind: str = "case") -> Break | None:
    """Check one case's (or customer's) events, in stored order, against each other and
    against the head kept on its row."""
    count, prev = 0, GENESIS
    for event in events:
        count += 1
        found = _check_link(subject, event, count, prev)
        if found is not None:
            return replace(found, kind=kind)
        prev = event.hash
    return _check_head(subject, kind, count, prev, head_seq, head_hash)


def _check_link(case_id: int | str, event: Chained, expected_seq: int,
                prev: str) -> Break | None:
    if event.seq != expected_seq:
        what = "missing" if event.seq > expected_seq else "out of order or duplicated"
        return Break(case_id, expected_seq, f"event {expected_seq} is {what} "
                     f"(found {event.seq} in its place)")
    if event.prev_hash != prev:
        return Break(case_id, event.seq, "does not link to the event before it "
                     "(an event before it was changed, removed or inserted)")
    if event.digest_as(case_id) != event.hash:
        return Break(case_id, event.seq, f"'{event.name}' was altered after it was written "
                     "(its content no longer matches its hash)")
    return None


def _check_head(case_id: int | str, kind: str, expected_seq: int, prev: str, head_seq: int,
                head_hash: str) -> Break | None:
    if expected_seq > head_seq:
        return Break(case_id, head_seq + 1, f"event {head_seq + 1} and later were added after "
                     f"the newest event the {kind} records ({head_seq})", kind)
    if expected_seq < head_seq:
        return Break(case_id, expected_seq + 1, f"the {kind} records {head_seq} events but "
                     f"{expected_seq} are stored (events from {expected_seq + 1} on were removed)",
                     kind)
    if prev != (head_hash if head_seq else GENESIS):
        return Break(case_id, head_seq, f"the newest stored event is not the one the {kind} "
                     f"points to (the chain was rewritten, or the {kind} row was edited)", kind)
    return None
