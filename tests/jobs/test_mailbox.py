"""Fetching mail from a real IMAP server (dovecot, tests/imapserver.py) into cases, on both
databases: over IMAPS and STARTTLS, moved once taken, taken once even when a fetch was killed
after its commit and before the move, failed mail kept in its folder, an unreachable server."""

from __future__ import annotations

import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.channels.intake import Outcome
from engine.jobs.mailbox import Mailbox, MailboxUnreachable, Poller
from engine.kernel.settings import ImapSettings, ImapTls
from engine.wiring import Casework
from tests.fixtures import T0
from tests.imapserver import PASSWORD, USER, ImapServer


def mail(message_id: str, subject: str = "Kettle leaks",
         sender: str = "Chen Li <c1@example.org>") -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, "desk@casework.example"
    message["Subject"], message["Message-ID"] = subject, message_id
    message.set_content("It leaks since Monday.")
    return bytes(message)


@pytest.fixture
def box(imap_server: ImapServer) -> ImapServer:
    imap_server.clear()
    return imap_server


@pytest.fixture
def app(casework: Casework, tmp_path: Path) -> Casework:
    casework.customers.add("C1", T0, email="c1@example.org", name="Chen Li")
    casework.settings = replace(casework.settings, attachments=tmp_path / "files")
    return casework


def settings(box: ImapServer, tls: ImapTls = ImapTls.SSL) -> ImapSettings:
    port = box.ssl_port if tls == ImapTls.SSL else box.port
    return ImapSettings("127.0.0.1", port, tls, USER, PASSWORD, ca_file=box.ca_file)


def mailbox(app: Casework, box: ImapServer, tls: ImapTls = ImapTls.SSL,
            use_move: bool = True) -> Mailbox:
    return Mailbox(settings(box, tls), app.intake, lambda: T0, use_move)


@pytest.mark.parametrize("tls", [ImapTls.SSL, ImapTls.STARTTLS])
def test_mail_in_the_box_becomes_a_complaint_and_moves_to_processed(
        app: Casework, box: ImapServer, tls: ImapTls) -> None:
    box.append(mail("<a1@mail.example>"))
    box.append(mail("<a2@mail.example>", "Auto: away", "bot@example.org")
               .replace(b"Subject:", b"Auto-Submitted: auto-replied\nSubject:"))
    done = mailbox(app, box, tls).fetch()
    assert [t.outcome for t in done.taken] == [Outcome.OPENED, Outcome.AUTOMATIC]
    assert done.failed == []
    case = app.store.get_case(done.taken[0].case_id or 0)
    assert (case.customer, case.fields["channel"]) == ("C1", "email")
    assert box.count("INBOX") == 0
    assert box.count("Casework.Processed") == 2  # dovecot's Maildir folders nest with "."
    assert mailbox(app, box, tls).fetch().taken == []


def test_a_fetch_killed_after_the_commit_takes_the_mail_once_when_fetched_again(
        app: Casework, box: ImapServer) -> None:
    raw = mail("<k1@mail.example>")
    box.append(raw)
    first = app.intake.take(raw, T0)  # committed; the fetch died before it moved the mail
    assert box.count("INBOX") == 1
    done = mailbox(app, box, use_move=False).fetch()  # and COPY + EXPUNGE moves it
    assert [(t.outcome, t.case_id) for t in done.taken] == [(Outcome.SEEN, first.case_id)]
    assert box.count("INBOX") == 0 and box.count("Casework.Processed") == 1
    assert len(app.inbound.recent()) == 1


def test_a_mail_that_cannot_be_taken_goes_to_the_failed_folder_and_the_rest_go_on(
        app: Casework, box: ImapServer, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the attachments folder should be")
    app.settings = replace(app.settings, attachments=blocker)  # files cannot be kept
    with_file = EmailMessage()
    with_file["From"], with_file["Subject"] = "c1@example.org", "Receipt attached"
    with_file["Message-ID"] = "<f1@mail.example>"
    with_file.set_content("See the receipt.")
    with_file.add_attachment(b"%PDF", maintype="application", subtype="pdf",
                             filename="receipt.pdf")
    box.append(bytes(with_file))
    box.append(mail("<f2@mail.example>"))
    box.append(mail("<f3@mail.example>", subject="x" * 3000))
    app.intake.limits = replace(app.intake.limits, mail_max_bytes=2000)  # refused: too large
    done = mailbox(app, box).fetch()
    assert [error.split(":")[0] for _, error in done.failed] == ["FileExistsError"]  # mkdir
    assert [t.outcome for t in done.taken] == [Outcome.OPENED, Outcome.REFUSED]
    assert box.count("Casework.Failed") == 2 and box.count("Casework.Processed") == 1
    assert [r.outcome for r in app.inbound.recent()] == [Outcome.REFUSED, Outcome.OPENED]


def test_an_unreachable_server_or_a_wrong_password_is_a_clear_error(
        app: Casework, box: ImapServer) -> None:
    wrong = replace(settings(box), password="nope")
    with pytest.raises(MailboxUnreachable, match="refused the login of 'desk'"):
        Mailbox(wrong, app.intake, lambda: T0).fetch()
    closed = replace(settings(box), port=1)
    with pytest.raises(MailboxUnreachable, match="cannot be reached.*CASEWORK_IMAP_HOST"):
        Mailbox(closed, app.intake, lambda: T0).fetch()


def test_the_poller_fetches_on_its_interval_until_stopped(app: Casework,
                                                          box: ImapServer) -> None:
    box.append(mail("<p1@mail.example>"))
    fetched: list[int] = []
    poller = Poller(mailbox(app, box), 0.05, lambda done: fetched.append(len(done.taken)))
    poller.start()
    try:
        for _ in range(200):
            if len(fetched) >= 2:
                break
            time.sleep(0.05)
    finally:
        poller.stop(10)
    assert fetched[:2] == [1, 0]
