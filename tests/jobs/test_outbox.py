"""engine.jobs.outbox: mail out by SMTP to a real server on loopback, each attempt recorded;
threading headers, STARTTLS and login, retries with backoff and giving up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.cases.conversation import Delivery, EntryKind
from engine.cases.runtime import Actor
from engine.jobs.outbox import (
    MAX_ATTEMPTS,
    Mailer,
    MailLoginRefused,
    MailUnreachable,
    OutboxRun,
    retry_after,
    send_outbox,
)
from engine.jobs.worker import Worker
from engine.kernel.records import Notice
from engine.kernel.settings import MailSettings, SmtpTls
from engine.wiring import Casework
from tests.smtp import BUSY, PASSWORD, REFUSED, USER, Inbox, free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ANN = Actor("ann", "agent")


def queue_notices(casework: Casework, *addresses: str | None) -> None:
    with casework.store.transaction() as tx:
        tx.add_notices([Notice(f"person{i}", address, f"subject {i}", f"body {i}")
                        for i, address in enumerate(addresses)], T0)


def received(inbox: Inbox, index: int = -1) -> EmailMessage:
    content = inbox.mails[index].content
    assert isinstance(content, bytes)
    mail = message_from_bytes(content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    return mail


def test_each_notice_with_an_address_goes_once_and_a_refused_one_is_given_up(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    queue_notices(casework, "ann@example.org", None, REFUSED)
    mailer = Mailer("127.0.0.1", "desk@example.org", port)
    done = send_outbox(casework.timers, mailer, lambda: T0)
    assert (done.sent, done.failed, done.without_address, done.given_up) == (1, 1, 1, 1)
    [mail] = inbox.mails
    assert (mail.mail_from, mail.rcpt_tos) == ("desk@example.org", ["ann@example.org"])
    rows = {n.address: n for n in casework.timers.notices()}
    assert rows["ann@example.org"].sent_at == T0
    refused = rows[REFUSED]  # 550: no such mailbox, which trying again will not change
    assert (refused.sent_at, refused.attempts, refused.failed_at) == (None, 1, T0)
    assert refused.last_error is not None and "550" in refused.last_error
    assert "no such mailbox" in refused.last_error
    again = send_outbox(casework.timers, mailer, lambda: T0 + timedelta(days=1))
    assert (again.sent, again.failed, again.without_address) == (0, 0, 1)
    assert len(inbox.mails) == 1
    assert {n.address: n.attempts for n in casework.timers.notices()}[REFUSED] == 1


def test_a_mail_refused_for_now_is_tried_again_backing_off_then_given_up(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, _ = smtp_server
    queue_notices(casework, BUSY)
    mailer = Mailer("127.0.0.1", "desk@example.org", port)
    now, waits = T0, []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        done = send_outbox(casework.timers, mailer, lambda at=now: at)
        assert (done.failed, done.given_up) == (1, int(attempt == MAX_ATTEMPTS))
        [row] = casework.timers.notices()
        assert (row.attempts, row.last_error) == (attempt, "451 4.3.2 try again later")
        if attempt == MAX_ATTEMPTS:
            assert (row.failed_at, row.next_attempt_at) == (now, None)
            break
        assert row.failed_at is None and row.next_attempt_at is not None
        waits.append(row.next_attempt_at - now)
        early = send_outbox(casework.timers, mailer,
                            lambda at=row.next_attempt_at: at - timedelta(seconds=1))
        assert (early.sent, early.failed, early.without_address) == (0, 0, 0)  # not due yet
        now = row.next_attempt_at
    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60)]
    assert [retry_after(n) for n in (1, 7, 20)] == [
        timedelta(minutes=1), timedelta(hours=1), timedelta(hours=1)]
    later = send_outbox(casework.timers, mailer, lambda: now + timedelta(days=30))
    assert (later.sent, later.failed) == (0, 0)  # given up: never tried again


def test_customer_mail_is_threaded_and_the_acknowledgement_is_automatic(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    casework.customers.add("C1", T0, email="c1@example.org", name="Chen Li")
    case_id = casework.runtime.start("complaint", {"channel": "email", "summary": "Broken"},
                                     ANN, T0, customer="C1").id
    casework.conversation.record(case_id, EntryKind.TO_CUSTOMER, "We are on it", ANN,
                                 T0 + timedelta(hours=1))
    mailer = Mailer("127.0.0.1", "desk@example.org", port, reply_to="help@example.org")
    done = send_outbox(casework.timers, mailer, lambda: T0 + timedelta(hours=2))
    assert (done.sent, done.failed) == (2, 0)
    ack, answer = received(inbox, 0), received(inbox, 1)
    stored = casework.timers.notices()
    assert [ack["Message-ID"], answer["Message-ID"]] == [row.message_id for row in stored]
    assert ack["Subject"] == f"We have received your complaint: Broken [#{case_id}]"
    assert answer["Subject"] == f"About your complaint: Broken [#{case_id}]"
    assert (ack["In-Reply-To"], ack["References"]) == (None, None)
    assert answer["In-Reply-To"] == answer["References"] == ack["Message-ID"]
    assert (ack["Auto-Submitted"], answer["Auto-Submitted"]) == ("auto-generated", None)
    assert (answer["From"], answer["To"], answer["Reply-To"]) == (
        "desk@example.org", "c1@example.org", "help@example.org")
    assert answer["Date"].datetime == T0 + timedelta(hours=2)
    assert "We are on it" in answer.get_content()
    assert [e.delivery for e in casework.conversation.entries(case_id)] == [Delivery.SENT]


def test_a_mail_given_up_shows_as_failed_on_the_conversation(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, _ = smtp_server
    casework.customers.add("C1", T0, email=REFUSED)
    case_id = casework.runtime.start("complaint", {"channel": "web", "summary": "Late"}, ANN,
                                     T0, customer="C1").id
    casework.conversation.record(case_id, EntryKind.TO_CUSTOMER, "Hello", ANN, T0)
    send_outbox(casework.timers, Mailer("127.0.0.1", "desk@example.org", port), lambda: T0)
    [entry] = casework.conversation.entries(case_id)
    assert entry.delivery == Delivery.FAILED and entry.last_error is not None
    assert entry.last_error.startswith("550")


def test_starttls_and_login_when_configured(
        casework: Casework, secure_smtp_server: tuple[int, Inbox, Path]) -> None:
    port, inbox, certificate = secure_smtp_server
    queue_notices(casework, "ann@example.org")
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_user=USER,
                            smtp_password=PASSWORD, smtp_ca_file=certificate,
                            sender="desk@example.org")
    mailer = Mailer.configured(settings)
    assert (mailer.tls, mailer.port) == (SmtpTls.STARTTLS, port)
    done = send_outbox(casework.timers, mailer, lambda: T0)
    assert (done.sent, done.failed) == (1, 0)
    [session] = inbox.sessions
    assert (session.tls, session.authenticated) == (True, True)


def test_a_bad_password_is_named_and_the_outbox_is_unchanged(
        casework: Casework, secure_smtp_server: tuple[int, Inbox, Path]) -> None:
    port, inbox, certificate = secure_smtp_server
    queue_notices(casework, "ann@example.org")
    mailer = Mailer("127.0.0.1", "desk@example.org", port, tls=SmtpTls.STARTTLS, user=USER,
                    password="wrong", ca_file=certificate)
    with pytest.raises(MailLoginRefused, match="refused the login of 'desk'.*535.*"
                       "CASEWORK_SMTP_PASSWORD"):
        send_outbox(casework.timers, mailer, lambda: T0)
    [notice] = casework.timers.notices()
    assert (notice.sent_at, notice.attempts, notice.last_error) == (None, 0, None)
    assert inbox.mails == []


def test_a_server_certificate_not_trusted_is_named(
        casework: Casework, secure_smtp_server: tuple[int, Inbox, Path]) -> None:
    port, inbox, _ = secure_smtp_server
    queue_notices(casework, "ann@example.org")
    mailer = Mailer("127.0.0.1", "desk@example.org", port, tls=SmtpTls.STARTTLS, user=USER,
                    password=PASSWORD)
    with pytest.raises(MailUnreachable, match="CERTIFICATE_VERIFY_FAILED.*CASEWORK_SMTP_CA_FILE"):
        send_outbox(casework.timers, mailer, lambda: T0)
    assert inbox.mails == []


def test_an_unreachable_server_is_named_and_the_outbox_is_unchanged(casework: Casework) -> None:
    queue_notices(casework, "ann@example.org")
    port = free_port()  # nobody listens there
    with pytest.raises(MailUnreachable, match=f"SMTP server 127.0.0.1:{port}"):
        send_outbox(casework.timers, Mailer("127.0.0.1", "desk@example.org", port, timeout=5),
                    lambda: T0)
    [notice] = casework.timers.notices()
    assert (notice.sent_at, notice.attempts, notice.last_error) == (None, 0, None)


def test_the_worker_sends_the_outbox_once_per_interval(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    run = OutboxRun(casework.timers, Mailer("127.0.0.1", "desk@example.org", port), 60)
    worker = replace_worker(casework, run)
    queue_notices(casework, "ann@example.org")
    assert worker.send_mail(T0, lambda: T0) is not None and len(inbox.mails) == 1
    queue_notices(casework, "bob@example.org")
    assert worker.send_mail(T0 + timedelta(seconds=59), lambda: T0) is None  # not yet
    assert len(inbox.mails) == 1
    done = worker.send_mail(T0 + timedelta(seconds=60), lambda: T0)
    assert done is not None and done.sent == 1 and len(inbox.mails) == 2


def replace_worker(casework: Casework, run: OutboxRun) -> Worker:
    return Worker(casework.timers, casework.runtime, casework.worker.escalator, run)


def test_the_mailer_follows_the_settings() -> None:
    settings = MailSettings(smtp_host="mail.example.org", sender="desk@example.org",
                            reply_to="help@example.org")
    assert Mailer.configured(settings) == Mailer(
        "mail.example.org", "desk@example.org", 587, tls=SmtpTls.STARTTLS,
        reply_to="help@example.org")
    assert Mailer.configured(replace(settings, smtp_tls=SmtpTls.SSL)).port == 465
    assert Mailer.configured(settings, "other.example.org").host == "other.example.org"
