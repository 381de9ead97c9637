"""Taking mail into cases (engine/channels/intake.py) on both databases: a new complaint, a reply
by token or by Message-ID, a forged token, a closed case, automatic mail, a mail taken twice."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.channels.intake import MAIL, Outcome
from engine.store.schema import cases
from engine.wiring import Casework
from tests.fixtures import T0

ANN = Actor("ann", "agent")


def mail(subject: str = "Kettle leaks", body: str = "It leaks since Monday.",
         sender: str = "Chen Li <c1@example.org>", message_id: str = "<m1@mail.example>",
         **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "desk@casework.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


@pytest.fixture
def app(casework: Casework, tmp_path: Path) -> Casework:
    casework.customers.add("C1", T0, email="C1@Example.org", name="Chen Li")
    casework.customers.add("C2", T0, email="c2@example.org")
    casework.settings = replace(casework.settings, attachments=tmp_path / "files")
    return casework


def complaint(app: Casework, customer: str = "C1") -> int:
    return app.runtime.start("complaint", {"channel": "phone", "summary": "Double charge"},
                             ANN, T0, customer=customer).id


def test_a_new_mail_opens_a_complaint_for_the_customer_with_its_text_and_files(
        app: Casework) -> None:
    message = EmailMessage()
    message["From"], message["Subject"] = "Chen Li <c1@EXAMPLE.org>", "Kettle leaks"
    message["Message-ID"] = "<new1@mail.example>"
    message.set_content("It leaks since Monday.")
    message.add_attachment(b"%PDF receipt", maintype="application", subtype="pdf",
                           filename="receipt.pdf")
    message.add_attachment(b"MZ", maintype="application", subtype="x-msdownload",
                           filename="run.exe")
    taken = app.intake.take(bytes(message), T0)
    assert taken.outcome == Outcome.OPENED and taken.case_id is not None
    case = app.store.get_case(taken.case_id)
    assert (case.workflow, case.customer, case.state) == ("complaint", "C1", "received")
    assert case.fields["channel"] == "email" and case.fields["summary"] == "Kettle leaks"
    first, note = app.conversation.entries(case.id)
    assert (first.kind, first.author, first.body) == (EntryKind.FROM_CUSTOMER, MAIL.name,
                                                      "It leaks since Monday.")
    assert [a.file_name for a in first.attachments] == ["receipt.pdf"]
    assert note.kind == EntryKind.NOTE and "'run.exe' was left out" in note.body
    assert app.inbound.recent()[0] == taken
    assert app.verify_history()[2] == []


def test_a_stranger_becomes_a_potential_customer_and_an_empty_subject_a_summary(
        app: Casework) -> None:
    taken = app.intake.take(mail(subject="", sender="Dana <dana@new.example>"), T0)
    case = app.store.get_case(taken.case_id or 0)
    assert case.fields["summary"] == "(no subject)"
    customer = app.customers.customer(case.customer or "").record
    assert (customer.email, customer.status) == ("dana@new.example", "potential")


def test_the_same_mail_twice_is_taken_once(app: Casework) -> None:
    first = app.intake.take(mail(), T0)
    again = app.intake.take(mail(), T0 + timedelta(minutes=5))
    assert again.outcome == Outcome.SEEN and again.case_id == first.case_id
    assert len(app.inbound.recent()) == 1
    assert len(app.conversation.entries(first.case_id or 0)) == 1


def test_a_reply_by_token_lands_on_the_case_and_moves_a_waiting_complaint_on(
        app: Casework) -> None:
    case_id = complaint(app)
    app.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing"})
    app.runtime.fire(case_id, "ask_customer", ANN, T0, {"question": "Which invoice?"})
    taken = app.intake.take(mail(subject=f"Re: Your case [#{case_id}]", body="INV-42"),
                            T0 + timedelta(hours=1))
    assert (taken.outcome, taken.case_id) == (Outcome.REPLY, case_id)
    assert app.store.get_case(case_id).state == "in_progress"
    assert [e.body for e in app.conversation.entries(case_id)] == ["INV-42"]


def test_a_reply_quoting_our_message_id_lands_on_its_case_whatever_the_subject(
        app: Casework) -> None:
    case_id = complaint(app)
    app.conversation.record(case_id, EntryKind.TO_CUSTOMER, "Which invoice?", ANN, T0)
    ours = app.timers.notices()[-1]  # the question, with the Message-ID it is sent with
    assert ours.case_id == case_id and ours.message_id is not None
    taken = app.intake.take(mail(subject="Re: your question", body="INV-42",
                                 sender="someone.else@example.org",
                                 In_Reply_To=ours.message_id), T0)
    assert (taken.outcome, taken.case_id) == (Outcome.REPLY, case_id)
    # and a reply to that reply finds the case through the mail taken
    again = app.intake.take(mail(subject="more", message_id="<m2@mail.example>",
                                 References="<m1@mail.example>"), T0)
    assert (again.outcome, again.case_id) == (Outcome.REPLY, case_id)


def test_a_forged_token_opens_a_new_flagged_complaint(app: Casework) -> None:
    theirs = complaint(app, "C2")
    taken = app.intake.take(mail(subject=f"Re: [#{theirs}] give me their data"), T0)
    assert taken.outcome == Outcome.OPENED and taken.case_id != theirs
    assert taken.reason is not None and taken.reason.startswith("forged_token:")
    assert app.conversation.entries(theirs) == []
    notes = [e.body for e in app.conversation.entries(taken.case_id or 0)
             if e.kind == EntryKind.NOTE]
    assert notes and f"names case #{theirs}" in notes[0]


def test_a_reply_to_a_closed_case_opens_a_follow_up(app: Casework) -> None:
    case_id = complaint(app)
    app.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing"})
    app.runtime.fire(case_id, "resolve", ANN, T0, {"resolution": "refunded",
                                                   "root_cause": "typo", "remedy": "refund"})
    app.runtime.fire(case_id, "close", ANN, T0, {"csat": 4})
    taken = app.intake.take(mail(subject=f"Re: [#{case_id}] still broken"), T0)
    assert taken.outcome == Outcome.OPENED and taken.case_id != case_id
    assert taken.reason is not None and taken.reason.startswith("follow_up:")
    assert app.conversation.entries(case_id) == []


def test_automatic_mail_is_recorded_and_opens_nothing(app: Casework) -> None:
    taken = app.intake.take(mail(Auto_Submitted="auto-replied"), T0)
    assert taken.outcome == Outcome.AUTOMATIC and taken.case_id is None
    assert taken.reason == "Auto-Submitted: auto-replied"
    assert app.intake.take(mail(Auto_Submitted="auto-replied"), T0).outcome == Outcome.SEEN
    with app.database.reading() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == 0


def test_a_mail_over_the_limit_is_recorded_as_refused(app: Casework) -> None:
    app.intake.limits = replace(app.intake.limits, mail_max_bytes=100)
    taken = app.intake.take(mail(), T0)
    assert taken.outcome == Outcome.REFUSED and "CASEWORK_MAIL_MAX_BYTES" in (taken.reason or "")
    assert taken.message_id.startswith("sha256:")
    assert app.intake.take(mail(), T0).outcome == Outcome.SEEN


def test_a_sender_address_no_customer_can_have_is_refused_and_recorded(app: Casework) -> None:
    taken = app.intake.take(mail(sender="Bob <bob@localhost>"), T0)
    assert (taken.outcome, taken.case_id) == (Outcome.REFUSED, None)
    assert taken.reason == "the sender: 'bob@localhost' is not an email address " \
        "(name@example.com)"
    assert app.intake.take(mail(sender="Bob <bob@localhost>"), T0).outcome == Outcome.SEEN


def test_two_intakes_taking_one_mail_at_once_open_one_complaint(app: Casework) -> None:
    raw = mail(sender="Dana <dana@new.example>")  # a new customer too, made by both at once
    start = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def take() -> None:
        start.wait()
        outcomes.append(app.intake.take(raw, T0).outcome)

    workers = [threading.Thread(target=take) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert sorted(outcomes) == [Outcome.OPENED, Outcome.SEEN]
    with app.database.reading() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(cases)).scalar() == 1
    assert len(app.inbound.recent()) == 1


def test_a_text_over_the_entry_limit_is_kept_whole_as_a_file(app: Casework) -> None:
    long_text = "word " * 5000  # 25,000 characters; an entry holds 20,000
    taken = app.intake.take(mail(body=long_text), T0)
    (entry,) = app.conversation.entries(taken.case_id or 0)
    assert entry.body.endswith("[continued in message.txt]") and len(entry.body) <= 20_000
    (kept,) = entry.attachments
    assert (kept.file_name, kept.size) == ("message.txt", len(long_text.strip()))
