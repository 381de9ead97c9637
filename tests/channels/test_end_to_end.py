"""A complaint by mail, end to end, against the real servers (issue 18's "done when"), on SQLite
and PostgreSQL: a mail put in the dovecot mailbox becomes a complaint; the acknowledgement and
the agent's reply reach the SMTP receiver threaded; the customer's reply, answering ours, lands
on the case and moves it on; the survey link in the resolution mail closes it."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage

import pytest

from engine.cases.conversation import EntryKind
from engine.cases.runtime import Actor
from engine.channels.intake import Outcome
from engine.jobs.mailbox import Mailbox
from engine.jobs.outbox import Mailer, send_outbox
from engine.kernel.settings import ImapSettings, ImapTls, SmtpTls
from engine.wiring import Casework
from tests.imapserver import PASSWORD, USER, ImapServer
from tests.smtp import Inbox
from tests.web_fixtures import NOW, Client, csrf

ANN = Actor("ann", "agent")
CUSTOMER = "Chen Li <chen.li@example.org>"
DESK = "desk@casework.example"
LINK = re.compile(r"http://localhost:8000(/survey/\S+)")
T0 = NOW - timedelta(hours=3)  # the mail arrives; the survey is answered at NOW (the web's)


def received(inbox: Inbox) -> list[EmailMessage]:
    return [email.message_from_bytes(m.original_content, policy=email.policy.default)
            for m in inbox.mails]  # type: ignore[misc]


def customer_mail(subject: str, text: str, message_id: str,
                  answers: EmailMessage | None = None) -> bytes:
    """What the customer's mail client sends: a reply names what it answers."""
    message = EmailMessage()
    message["From"], message["To"], message["Message-ID"] = CUSTOMER, DESK, message_id
    message["Subject"] = subject
    if answers is not None:
        message["In-Reply-To"] = answers["Message-ID"]
        message["References"] = f"{answers.get('References', '')} {answers['Message-ID']}"
    message.set_content(text)
    return bytes(message)


@pytest.fixture
def box(imap_server: ImapServer) -> ImapServer:
    imap_server.clear()
    return imap_server


def test_a_complaint_by_mail_is_answered_threaded_and_closed_by_its_survey(
        desk: Casework, web: Client, box: ImapServer, smtp_server: tuple[int, Inbox]) -> None:
    casework = desk  # on the shipped workflows, with the web's clock and test users
    port, inbox = smtp_server
    mailbox = Mailbox(ImapSettings("127.0.0.1", box.ssl_port, ImapTls.SSL, USER, PASSWORD,
                                   ca_file=box.ca_file), casework.intake, lambda: clock[0])
    clock = [T0]  # when the mailbox is read
    mailer = Mailer("127.0.0.1", DESK, port, tls=SmtpTls.NONE)

    def send(at: timedelta) -> list[EmailMessage]:
        before = len(inbox.mails)
        done = send_outbox(casework.timers, mailer, lambda: T0 + at)
        assert done.failed == 0
        return received(inbox)[before:]

    # 1. a new customer writes: a complaint, their mail its first message
    box.append(customer_mail("Kettle leaks", "It leaks since Monday.", "<m1@example.org>"))
    [taken] = mailbox.fetch().taken
    assert taken.outcome == Outcome.OPENED and taken.case_id is not None
    case_id = taken.case_id
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["channel"], case.fields["summary"]) == (
        "received", "email", "Kettle leaks")
    [first] = casework.conversation.entries(case_id)
    assert (first.kind, first.body.strip()) == (EntryKind.FROM_CUSTOMER, "It leaks since Monday.")
    assert box.count("INBOX") == 0

    # 2. the acknowledgement answers their mail, with the case's token
    [ack] = send(timedelta(minutes=1))
    assert ack["To"] == "chen.li@example.org" and f"[#{case_id}]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<m1@example.org>"
    assert ack["Auto-Submitted"] == "auto-generated"

    # 3. the agent triages, asks, and writes to the customer: threaded after the ack
    casework.runtime.fire(case_id, "triage", ANN, T0 + timedelta(minutes=5),
                          {"category": "technical", "severity": "medium"})
    casework.runtime.fire(case_id, "ask_customer", ANN, T0 + timedelta(minutes=6),
                          {"question": "Which model is it?"})
    casework.conversation.record(case_id, EntryKind.TO_CUSTOMER, "Which model is it?", ANN,
                                 T0 + timedelta(minutes=6))
    [question] = send(timedelta(minutes=7))
    assert question["In-Reply-To"] == ack["Message-ID"]
    assert question["References"].split() == ["<m1@example.org>", ack["Message-ID"]]
    assert casework.store.get_case(case_id).state == "waiting_customer"

    # 4. the customer answers from their client (the subject edited: the headers thread it)
    box.append(customer_mail("model", "It is the K-200.", "<m2@example.org>", question))
    clock[0] = T0 + timedelta(minutes=30)
    [reply] = mailbox.fetch().taken
    assert (reply.outcome, reply.case_id) == (Outcome.REPLY, case_id)
    assert casework.store.get_case(case_id).state == "in_progress"
    assert casework.conversation.entries(case_id)[-1].body.strip() == "It is the K-200."

    # 5. resolving it mails a survey link in the thread; the customer's answer closes it
    casework.runtime.fire(case_id, "resolve", ANN, T0 + timedelta(hours=1), {
        "resolution": "Sent a new seal", "root_cause": "Worn seal", "remedy": "repair"})
    [survey] = send(timedelta(hours=1, minutes=1))
    assert survey["In-Reply-To"] == "<m2@example.org>"  # it answers their last mail
    assert f"[#{case_id}]" in survey["Subject"]
    link = LINK.search(survey.get_content())
    assert link is not None, survey.get_content()
    assert web.get(link.group(1)).status_code == 200
    answered = web.post(link.group(1), data={**csrf(web), "score": "4",
                                             "comment": "Works again"})
    assert answered.status_code == 200, answered.text
    case = casework.store.get_case(case_id)
    assert (case.state, case.fields["csat"]) == ("closed", 4)
    assert web.post(link.group(1), data={**csrf(web), "score": "1"}).status_code == 409
