"""A case's conversation on both databases: notes, messages to and from the customer, their
files, what they do to the SLA clocks, and a customer message moving a waiting case on."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.cases.conversation import (
    AttachmentRefused,
    Conversation,
    Delivery,
    EntryKind,
    Limits,
    NoEmailAddress,
    Upload,
)
from engine.cases.runtime import Actor
from engine.kernel.errors import Conflict, DefinitionError
from engine.wiring import Casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import T0

ANN = Actor("ann", "agent")
PDF = Upload("invoice.pdf", "application/pdf", b"%PDF-1.4 the invoice")


@pytest.fixture
def talk(casework: Casework, tmp_path: Path) -> Conversation:
    casework.customers.add("C1", T0, email="c1@example.org", name="Chen Li")
    casework.customers.add("C2", T0)  # no email address
    limits = Limits(tmp_path / "files", 1000, frozenset({"application/pdf", "text/plain"}))
    return Conversation(casework.conversation.store, casework.runtime, limits)


def complaint(casework: Casework, customer: str = "C1") -> int:
    return casework.runtime.start("complaint", {"channel": "phone", "summary": "Double charge"},
                                  ANN, T0, customer=customer).id


def events(casework: Casework, case_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, json.loads(e.payload)) for e in casework.store.case_events(case_id)]


def clocks(casework: Casework, case_id: int) -> dict[str, str]:
    return {c.name: c.shown for c in casework.timers.clocks(case_id)}


def test_a_note_is_kept_apart_from_the_hashed_history(casework: Casework,
                                                      talk: Conversation) -> None:
    case_id = complaint(casework)
    entry_id = talk.record(case_id, EntryKind.NOTE, "  Called the bank: refund pending  ", ANN,
                           T0 + timedelta(minutes=5))
    [entry] = talk.entries(case_id)
    assert (entry.id, entry.kind, entry.author, entry.body, entry.delivery) == (
        entry_id, EntryKind.NOTE, "ann", "Called the bank: refund pending", None)
    name, payload = events(casework, case_id)[-1]
    assert (name, payload) == ("conversation.note_added", {
        "entry": entry_id, "kind": "note", "author": "ann", "length": 31, "files": 0})
    assert clocks(casework, case_id)["first_reply"] == "running"  # a note answers nobody
    assert casework.verify_history()[2] == []


def test_our_message_goes_to_the_outbox_and_stops_the_first_reply_clock(
        casework: Casework, talk: Conversation) -> None:
    case_id = complaint(casework)
    talk.record(case_id, EntryKind.TO_CUSTOMER, "We are on it", ANN, T0 + timedelta(hours=1))
    [entry] = talk.entries(case_id)
    assert entry.delivery == Delivery.QUEUED and entry.outbox_id is not None
    acknowledgement, mail = casework.timers.notices()  # the first: complaint's on_start
    assert (acknowledgement.automatic, mail.automatic) == (True, False)
    assert (mail.id, mail.address, mail.case_id, mail.audience) == (
        entry.outbox_id, "c1@example.org", case_id, "customer")
    assert "Dear Chen Li,\n\nWe are on it\n" in mail.body  # the complaint's message template
    casework.timers.mark_sent(mail.id, T0 + timedelta(hours=2))
    assert talk.entries(case_id)[0].delivery == Delivery.SENT
    assert clocks(casework, case_id)["first_reply"] == "met"
    assert [n for n, _ in events(casework, case_id)][-2:] == [
        "conversation.message_sent", "sla.met"]


def test_a_message_to_a_customer_without_an_address_is_refused_and_stores_nothing(
        casework: Casework, talk: Conversation) -> None:
    case_id = complaint(casework, "C2")
    before = (casework.store.get_case(case_id), events(casework, case_id))
    with pytest.raises(NoEmailAddress, match="customer 'C2' has no email address.*draft"):
        talk.record(case_id, EntryKind.TO_CUSTOMER, "Hello", ANN, T0, files=[PDF])
    assert (casework.store.get_case(case_id), events(casework, case_id)) == before
    assert talk.entries(case_id) == [] and casework.timers.notices() == []
    assert not (talk.limits.folder.exists() and any(talk.limits.folder.iterdir()))


def test_a_customer_message_moves_a_waiting_case_on_and_starts_the_next_reply_clock(
        casework: Casework, talk: Conversation) -> None:
    case_id = complaint(casework)
    casework.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing"})
    casework.runtime.fire(case_id, "ask_customer", ANN, T0 + timedelta(hours=1),
                          {"question": "Which invoice?"})
    assert clocks(casework, case_id)["resolution"] == "paused"
    entry_id = talk.record(case_id, EntryKind.FROM_CUSTOMER, "INV-42, on the phone", ANN,
                           T0 + timedelta(hours=3))
    case = casework.store.get_case(case_id)
    assert case.state == "in_progress"
    assert clocks(casework, case_id) == {"first_reply": "met", "next_reply": "running",
                                         "resolution": "running"}
    moved = [p for n, p in events(casework, case_id) if n == "case.transitioned"][-1]
    assert moved == {"trigger": "customer_replied",
                     "because": {"signal": "message_in", "entry": entry_id}}
    talk.record(case_id, EntryKind.TO_CUSTOMER, "Thanks, refunded", ANN,
                T0 + timedelta(hours=4))
    assert clocks(casework, case_id)["next_reply"] == "met"
    # another message from the customer starts a new round of the next-reply clock
    talk.record(case_id, EntryKind.FROM_CUSTOMER, "Got it", ANN, T0 + timedelta(hours=5))
    assert clocks(casework, case_id)["next_reply"] == "running"
    assert casework.store.get_case(case_id).state == "in_progress"
    assert casework.verify_history()[2] == []


def test_files_are_kept_outside_the_rows_and_refused_over_the_limits(
        casework: Casework, talk: Conversation) -> None:
    case_id = complaint(casework)
    talk.record(case_id, EntryKind.FROM_CUSTOMER, "", ANN, T0, files=[PDF])
    [entry] = talk.entries(case_id)
    [file] = entry.attachments
    assert (file.file_name, file.media_type, file.size, file.sha256) == (
        "invoice.pdf", "application/pdf", len(PDF.content),
        hashlib.sha256(PDF.content).hexdigest())
    owner, found, path = talk.file(file.id)
    assert (owner, found, path.read_bytes()) == (case_id, file, PDF.content)
    kept = sorted(talk.limits.folder.iterdir())
    for upload, says in [(Upload("big.pdf", "application/pdf", b"x" * 1001),
                          "'big.pdf' is 1,001 bytes; the most is 1,000"),
                         (Upload("run.exe", "application/x-msdownload", b"MZ"),
                          "'run.exe' is application/x-msdownload, which is not accepted")]:
        with pytest.raises(AttachmentRefused, match=says):
            talk.record(case_id, EntryKind.NOTE, "see file", ANN, T0, files=[PDF, upload])
    assert len(talk.entries(case_id)) == 1
    assert sorted(talk.limits.folder.iterdir()) == kept  # nothing stored, no file left


def test_a_failed_record_leaves_no_file_behind(casework: Casework,
                                               talk: Conversation) -> None:
    case_id = complaint(casework)
    with pytest.raises(Conflict):
        talk.record(case_id, EntryKind.NOTE, "late", ANN, T0, files=[PDF], expected_version=7)
    assert talk.entries(case_id) == []
    assert not (talk.limits.folder.exists() and any(talk.limits.folder.iterdir()))


SIGNALLED = """\
workflow: talk
version: 1
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - {trigger: a, from: open, to: done, on: message_in}
  - {trigger: b, from: open, to: done, on: message_in}
  - {trigger: c, from: open, to: done, on: mesage_out}
sla:
  calendar: office
  clocks:
    reply: {target: 4, start_on: [message_in], stop_on: [mesage_out]}
"""


def test_signals_are_checked_at_load_time() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_workflow_text(SIGNALLED, "talk.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith("talk.yaml:8: two transitions from state 'open' are 'on: "
                            "message_in' ('a' at line 7 and 'b')") for p in problems), problems
    assert any(p.startswith("talk.yaml:9: transition 'c': 'on' names unknown signal "
                            "'mesage_out'; did you mean 'message_out'?") for p in problems)
    assert any("clock 'reply' names unknown trigger 'mesage_out'; did you mean 'message_out'?"
               in p for p in problems), problems
