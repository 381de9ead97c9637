"""engine.kernel.history: the hash chain of a case's events and where `verify` finds it broken."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kernel.history import (
    GENESIS,
    Break,
    CustomerEvent,
    Event,
    EventDraft,
    canonical,
    chain,
    chain_customer,
    chain_customer_texts,
    event_hash,
    iso,
    verify,
)

CASE = 7
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def drafts(count: int, start: int = 1) -> list[EventDraft]:
    return [
        EventDraft(f"event.{n}", {"n": n, "note": f"ünïcode {n}"}, f"s{n - 1}", f"s{n}")
        for n in range(start, start + count)
    ]


@pytest.fixture
def events() -> list[Event]:
    """Five events written in two fires, as the runtime does."""
    first = chain(CASE, 0, GENESIS, drafts(3), "ann", "agent", T0)
    second = chain(CASE, first[-1].seq, first[-1].hash, drafts(2, start=4), "bob", "supervisor",
                   T0 + timedelta(hours=1))
    return first + second


def head(events: list[Event]) -> tuple[int, str]:
    return events[-1].seq, events[-1].hash


def rehash(event: Event, **changes: Any) -> Event:
    """An event changed and given a correct hash for its new content (a careful forger)."""
    changed = dataclasses.replace(event, **changes)
    return dataclasses.replace(changed, hash=event_hash(
        changed.case_id, changed.seq, changed.name, changed.actor, changed.role, changed.at,
        changed.from_state, changed.to_state, changed.payload, changed.prev_hash))


# --- chain ---------------------------------------------------------------------------------

def test_chain_numbers_and_links_events(events: list[Event]) -> None:
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    assert len({e.hash for e in events}) == 5
    assert all(len(e.hash) == 64 and int(e.hash, 16) >= 0 for e in events)


def test_chain_records_who_when_and_what(events: list[Event]) -> None:
    first, last = events[0], events[-1]
    assert (first.case_id, first.name, first.actor, first.role, first.at) == (
        CASE, "event.1", "ann", "agent", T0)
    assert (first.from_state, first.to_state) == ("s0", "s1")
    assert (last.actor, last.role, last.at) == ("bob", "supervisor", T0 + timedelta(hours=1))
    assert json.loads(first.payload) == {"n": 1, "note": "ünïcode 1"}


def test_each_hash_covers_the_event_content(events: list[Event]) -> None:
    for e in events:
        assert e.hash == event_hash(e.case_id, e.seq, e.name, e.actor, e.role, e.at,
                                    e.from_state, e.to_state, e.payload, e.prev_hash)


def test_chain_in_one_go_equals_chain_in_parts() -> None:
    whole = chain(CASE, 0, GENESIS, drafts(4), "ann", "agent", T0)
    part = chain(CASE, 0, GENESIS, drafts(2), "ann", "agent", T0)
    part += chain(CASE, part[-1].seq, part[-1].hash, drafts(2, start=3), "ann", "agent", T0)
    assert part == whole


def test_chain_of_nothing_is_empty() -> None:
    assert chain(CASE, 3, "f" * 64, [], "ann", None, T0) == []


def test_payload_is_canonical_json() -> None:
    assert canonical({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == '{"a":[1,{"c":"é","d":2}],"b":1}'
    one = chain(CASE, 0, GENESIS, [EventDraft("x", {"b": 1, "a": 2})], "ann", None, T0)
    two = chain(CASE, 0, GENESIS, [EventDraft("x", {"a": 2, "b": 1})], "ann", None, T0)
    assert one[0].payload == '{"a":2,"b":1}'
    assert one == two


def test_same_moment_in_another_zone_hashes_the_same() -> None:
    elsewhere = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert iso(elsewhere) == iso(T0) == "2026-03-01T09:30:00Z"
    one = chain(CASE, 0, GENESIS, drafts(1), "ann", "agent", T0)
    two = chain(CASE, 0, GENESIS, drafts(1), "ann", "agent", elsewhere)
    assert one[0].hash == two[0].hash


@pytest.mark.parametrize(
    "change",
    [
        {"case_id": 8}, {"seq": 9}, {"name": "other"}, {"actor": "eve"}, {"role": "admin"},
        {"role": None}, {"at": T0 + timedelta(microseconds=1)}, {"from_state": "x"},
        {"to_state": None}, {"payload": "{}"}, {"prev_hash": "1" * 64},
    ],
    ids=lambda change: next(iter(change)),
)
def test_every_part_of_an_event_is_hashed(events: list[Event], change: dict[str, Any]) -> None:
    assert rehash(events[1], **change).hash != events[1].hash


def test_event_to_json(events: list[Event]) -> None:
    data = events[0].to_json()
    assert data == {
        "case_id": CASE, "seq": 1, "name": "event.1", "actor": "ann", "role": "agent",
        "at": "2026-03-01T09:30:00Z", "from_state": "s0", "to_state": "s1",
        "payload": {"n": 1, "note": "ünïcode 1"}, "prev_hash": GENESIS, "hash": events[0].hash,
    }
    json.dumps(data)  # JSON-serialisable as is


# --- verify: intact chains -----------------------------------------------------------------

def test_intact_chain_verifies(events: list[Event]) -> None:
    assert verify(CASE, events, *head(events)) is None


def test_empty_history_verifies_against_an_empty_head() -> None:
    assert verify(CASE, [], 0, GENESIS) is None
    assert verify(CASE, [], 0, "") is None


def test_verify_accepts_any_iterable(events: list[Event]) -> None:
    assert verify(CASE, iter(events), *head(events)) is None


# --- verify: tampering ---------------------------------------------------------------------

def broken(events: list[Event], stored: list[Event]) -> Break:
    found = verify(CASE, stored, *head(events))
    assert isinstance(found, Break)
    assert found.subject == CASE and found.kind == "case"
    assert str(found).startswith(f"case {CASE}: event {found.seq}: ")
    return found


def test_edited_payload(events: list[Event]) -> None:
    stored = list(events)
    stored[2] = dataclasses.replace(events[2], payload='{"n":3,"note":"forged"}')
    found = broken(events, stored)
    assert found.seq == 3
    assert found.reason == ("'event.3' was altered after it was written (its content no longer "
                            "matches its hash)")


def test_edited_actor(events: list[Event]) -> None:
    stored = list(events)
    stored[1] = dataclasses.replace(events[1], actor="mallory")
    found = broken(events, stored)
    assert found.seq == 2
    assert "was altered after it was written" in found.reason


def test_edited_and_rehashed_event_breaks_the_next_link(events: list[Event]) -> None:
    stored = list(events)
    stored[1] = rehash(events[1], actor="mallory")
    found = broken(events, stored)
    assert found.seq == 3
    assert found.reason.startswith("does not link to the event before it")


def test_edited_and_rehashed_last_event_breaks_the_head(events: list[Event]) -> None:
    stored = [*events[:-1], rehash(events[-1], payload='{"n":5,"note":"forged"}')]
    found = broken(events, stored)
    assert found.seq == 5
    assert "not the one the case points to" in found.reason


def test_deleted_middle_event(events: list[Event]) -> None:
    stored = [e for e in events if e.seq != 3]
    found = broken(events, stored)
    assert found.seq == 3
    assert found.reason == "event 3 is missing (found 4 in its place)"


def test_deleted_first_event(events: list[Event]) -> None:
    found = broken(events, events[1:])
    assert found.seq == 1
    assert found.reason == "event 1 is missing (found 2 in its place)"


def test_deleted_last_event_is_found_through_the_head(events: list[Event]) -> None:
    found = broken(events, events[:-1])
    assert found.seq == 5
    assert found.reason.startswith("the case records 5 events but 4 are stored")


def test_deleted_last_two_events_names_the_first_missing(events: list[Event]) -> None:
    found = broken(events, events[:-2])
    assert found.seq == 4


def test_all_events_deleted(events: list[Event]) -> None:
    found = broken(events, [])
    assert found.seq == 1
    assert "the case records 5 events but 0 are stored" in found.reason


def test_two_events_swapped_in_storage(events: list[Event]) -> None:
    stored = [events[0], events[2], events[1], events[3], events[4]]
    found = broken(events, stored)
    assert found.seq == 2
    assert found.reason == "event 2 is missing (found 3 in its place)"


def test_two_events_swapped_and_renumbered(events: list[Event]) -> None:
    stored = [events[0], dataclasses.replace(events[2], seq=2),
              dataclasses.replace(events[1], seq=3), events[3], events[4]]
    found = broken(events, stored)
    assert found.seq == 2
    assert found.reason.startswith("does not link to the event before it")


def test_duplicated_event(events: list[Event]) -> None:
    stored = [events[0], events[1], events[1], *events[2:]]
    found = broken(events, stored)
    assert found.seq == 3
    assert found.reason == "event 3 is out of order or duplicated (found 2 in its place)"


def test_inserted_forged_event_with_a_made_up_hash(events: list[Event]) -> None:
    forged = dataclasses.replace(events[2], name="forged", prev_hash=events[1].hash, hash="0" * 64)
    stored = [*events[:2], forged, *(dataclasses.replace(e, seq=e.seq + 1) for e in events[2:])]
    found = broken(events, stored)
    assert found.seq == 3
    assert "'forged' was altered" in found.reason


def test_inserted_forged_event_that_links_correctly(events: list[Event]) -> None:
    # The forger hashes the new event 3 correctly but cannot rewrite what follows it.
    forged = rehash(events[2], name="forged", payload="{}", prev_hash=events[1].hash)
    stored = [*events[:2], forged, *(dataclasses.replace(e, seq=e.seq + 1) for e in events[2:])]
    found = broken(events, stored)
    assert found.seq == 4
    assert found.reason.startswith("does not link to the event before it")


def test_inserted_forged_event_with_a_duplicate_seq(events: list[Event]) -> None:
    forged = rehash(events[2], name="forged", payload="{}")
    stored = [*events[:2], forged, *events[2:]]
    found = broken(events, stored)
    assert found.seq == 4
    assert found.reason == "event 4 is out of order or duplicated (found 3 in its place)"


def test_whole_chain_rewritten_with_an_extra_event_is_found_by_the_head(
    events: list[Event]
) -> None:
    forged = chain(CASE, 0, GENESIS, [EventDraft("forged"), *drafts(5)], "ann", "agent", T0)
    found = broken(events, forged)
    assert found.seq == 6
    assert "added after the newest event the case records (5)" in found.reason


def test_whole_chain_rewritten_to_the_same_length_is_found_by_the_head(
    events: list[Event]
) -> None:
    forged = chain(CASE, 0, GENESIS, [EventDraft("forged"), *drafts(4)], "ann", "agent", T0)
    found = broken(events, forged)
    assert found.seq == 5
    assert "not the one the case points to" in found.reason


def test_forged_event_appended_after_the_head(events: list[Event]) -> None:
    extra = chain(CASE, events[-1].seq, events[-1].hash, [EventDraft("forged")], "eve", None, T0)
    found = broken(events, [*events, *extra])
    assert found.seq == 6
    assert "removed" not in found.reason


def test_events_of_another_case_do_not_verify(events: list[Event]) -> None:
    found = verify(CASE + 1, events, *head(events))
    assert found == Break(CASE + 1, 1, "'event.1' was altered after it was written (its content "
                                       "no longer matches its hash)")


def test_wrong_head_hash(events: list[Event]) -> None:
    found = verify(CASE, events, 5, "e" * 64)
    assert found is not None
    assert found.seq == 5


def test_break_str() -> None:
    assert str(Break(3, 4, "something")) == "case 3: event 4: something"


# --- customer chains ------------------------------------------------------------------------

def customer_events() -> list[Any]:
    first = chain_customer("C1", 0, GENESIS, [EventDraft("customer.tier_changed",
                                                         {"old": None, "new": "key"})],
                           "system", None, T0)
    return first + chain_customer("C1", 1, first[-1].hash, [EventDraft(
        "customer.tier_changed", {"old": "key", "new": "strategic"})], "system", None, T0)


def test_customer_chain_verifies_and_names_the_customer_when_broken() -> None:
    events = customer_events()
    assert [e.seq for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    assert verify("C1", events, 2, events[-1].hash, kind="customer") is None
    edited = events[0]._replace(payload=events[0].payload.replace("key", "strategic"))
    found = verify("C1", [edited, events[1]], 2, events[-1].hash, kind="customer")
    assert found is not None
    assert str(found).startswith("customer C1: event 1: 'customer.tier_changed' was altered")
    cut = verify("C1", events[:1], 2, events[-1].hash, kind="customer")
    assert str(cut) == ("customer C1: event 2: the customer records 2 events but 1 are stored "
                        "(events from 2 on were removed)")


def test_customer_events_cross_processes_as_themselves() -> None:
    """A recompute's helper process sends customer events pickled as plain tuples."""
    events = customer_events()
    again = pickle.loads(pickle.dumps(events))
    assert again == events and all(type(e) is CustomerEvent for e in again)
    assert again[1].digest_as("C1") == events[1].hash
    assert chain_customer_texts("C1", 0, GENESIS, [(e.name, e.payload) for e in events],
                                "system", None, T0) == events


def test_customer_events_belong_to_their_customer_only() -> None:
    events = customer_events()
    assert verify("C2", events, 2, events[-1].hash, kind="customer") is not None
    # a case whose id reads the same cannot adopt a customer's events either
    as_case = [Event(1, e.seq, e.name, e.actor, e.role, e.at, None, None, e.payload,
                     e.prev_hash, e.hash) for e in events]
    assert verify(1, as_case, 2, events[-1].hash) is not None


@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1),
                          st.text(st.characters(exclude_categories=["Cs"]))), max_size=10),
       st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])),
                       st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                                 st.floats(allow_nan=False, allow_infinity=False,
                                           min_value=-1e15, max_value=1e15),
                                 st.text(st.characters(exclude_categories=["Cs"]))),
                       max_size=8))
def test_hashing_writes_what_json_dumps_writes(items: list[Any], payload: dict[str, Any]) -> None:
    """Hashes of events written with json.dumps still verify now that orjson writes them; a
    payload reads back as it was, and but for the notation of floats is the same text."""
    assert json.loads(canonical(payload)) == payload
    if not any(isinstance(v, float) for v in payload.values()):
        assert canonical(payload) == json.dumps(payload, sort_keys=True, separators=(",", ":"),
                                                ensure_ascii=False)
    digest = event_hash(7, 1, "n", "a", None, T0, None, None, "{}", GENESIS)
    content = json.dumps([7, 1, "n", "a", None, iso(T0), None, None, "{}", GENESIS],
                         separators=(",", ":"), ensure_ascii=False)
    assert digest == hashlib.sha256(content.encode()).hexdigest()
    assert orjson.dumps(items) == json.dumps(items, separators=(",", ":"),
                                             ensure_ascii=False).encode()
