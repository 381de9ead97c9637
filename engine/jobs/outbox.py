"""Sending the outbox: each due mail with an address goes out as one mail by SMTP.

A mail is marked sent only after the server took it, so a crash between the two sends it again
rather than never (at least once, as mail is). A refusal for now (a 4xx reply, a dropped
connection) is tried again later, backing off from a minute to an hour; a refusal for good (a
5xx reply, e.g. no such mailbox) or MAX_ATTEMPTS failed attempts gives the mail up, which the
case's conversation shows. Notices to people without an address stay in the outbox for the app.

The headers thread a customer's mail (engine.channels.threads): the Message-ID it was queued
with, In-Reply-To and References; mail casework sends on its own says Auto-Submitted:
auto-generated (RFC 3834), so that auto-responders do not answer it.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from engine.kernel.errors import CaseworkError
from engine.kernel.records import Audience, OutboxRow
from engine.kernel.settings import MailSettings, SmtpTls

FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 8  # about four hours of trying


class MailUnreachable(CaseworkError):
    """The SMTP server could not be reached or refused the session; nothing was sent."""


class MailLoginRefused(MailUnreachable):
    """The SMTP server refused our login; nothing was sent."""


class Outbox(Protocol):
    def due_mail(self, now: datetime) -> list[OutboxRow]:
        """Unsent mail not given up whose next attempt is due by `now`, oldest first."""
    def mark_sent(self, notice_id: int, at: datetime, error: str | None = None) -> None: ...
    def mark_failed(self, notice_id: int, at: datetime, error: str,
                    retry_at: datetime | None) -> None:
        """Record a failed attempt: tried again from `retry_at`, or (None) given up."""


@dataclass(frozen=True)
class Mailer:
    """Where mail goes, how we talk to the server, and whom the mail is from."""

    host: str
    sender: str
    port: int = 25
    timeout: float = 30.0
    tls: SmtpTls = SmtpTls.NONE
    user: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # None: the system's trusted certificates
    reply_to: str | None = None

    @classmethod
    def configured(cls, mail: MailSettings, host: str | None = None) -> Mailer:
        """The mailer the settings describe (`host` overriding theirs)."""
        chosen = host or mail.smtp_host
        if not chosen:
            raise CaseworkError("no SMTP server is set: set CASEWORK_SMTP_HOST (or give "
                                "--smtp-host)")
        return cls(chosen, mail.sender, mail.port, tls=mail.smtp_tls, user=mail.smtp_user,
                   password=mail.smtp_password, ca_file=mail.smtp_ca_file,
                   reply_to=mail.reply_to)

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Sending:
    """What one run of the outbox did (`failed` counts the mails given up too)."""

    sent: int
    failed: int
    without_address: int
    given_up: int = 0


def retry_after(attempts: int) -> timedelta:
    """How long to wait after the attempts-th failure (1, 2, ...): doubling, capped."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


def send_outbox(outbox: Outbox, mailer: Mailer, clock: Callable[[], datetime]) -> Sending:
    """Send every due mail that has an address, one mail each, and record each attempt."""
    sent = failed = skipped = given_up = 0
    due = outbox.due_mail(clock())
    if not any(row.address for row in due):
        return Sending(0, 0, len(due))
    with connected(mailer) as smtp:
        for row in due:
            if not row.address:
                skipped += 1
                continue
            now = clock()
            try:
                smtp.send_message(message(row, mailer, now), mailer.sender, [row.address])
            except (smtplib.SMTPException, OSError) as exc:
                error, lasting = refusal(exc)
                gives_up = lasting or row.attempts + 1 >= MAX_ATTEMPTS
                outbox.mark_failed(row.id, now, error, None if gives_up else
                                   now + retry_after(row.attempts + 1))
                failed, given_up = failed + 1, given_up + gives_up
                if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
                        exc, smtplib.SMTPException):
                    break  # the session is gone: the others wait for the next run
                continue
            outbox.mark_sent(row.id, now)
            sent += 1
    return Sending(sent, failed, skipped, given_up)


def connected(mailer: Mailer) -> smtplib.SMTP:
    """An SMTP session, encrypted and logged in as the mailer says."""
    where = f"the SMTP server {mailer.host}:{mailer.port}"
    context = ssl.create_default_context(
        cafile=str(mailer.ca_file) if mailer.ca_file else None)
    try:
        if mailer.tls == SmtpTls.SSL:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(mailer.host, mailer.port,
                                                  timeout=mailer.timeout, context=context)
        else:
            smtp = smtplib.SMTP(mailer.host, mailer.port, timeout=mailer.timeout)
        if mailer.tls == SmtpTls.STARTTLS:
            smtp.starttls(context=context)
    except ssl.SSLError as exc:
        raise MailUnreachable(f"cannot talk TLS with {where} ({exc}); if it has a certificate "
                              "of its own authority, give that in CASEWORK_SMTP_CA_FILE; the "
                              "outbox is unchanged") from None
    except smtplib.SMTPNotSupportedError:
        raise MailUnreachable(f"{where} does not offer STARTTLS; set CASEWORK_SMTP_TLS to ssl "
                              "or (on a trusted network only) none; the outbox is unchanged"
                              ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailUnreachable(f"cannot reach {where} ({exc}); the outbox is unchanged, try "
                              "again later") from None
    if mailer.user:
        _login(smtp, mailer, where)
    return smtp


def _login(smtp: smtplib.SMTP, mailer: Mailer, where: str) -> None:
    try:
        smtp.login(mailer.user or "", mailer.password or "")
    except smtplib.SMTPException as exc:
        smtp.close()
        raise MailLoginRefused(f"{where} refused the login of '{mailer.user}' "
                               f"({refusal(exc)[0]}); check CASEWORK_SMTP_USER and "
                               "CASEWORK_SMTP_PASSWORD; the outbox is unchanged") from None


def refusal(exc: BaseException) -> tuple[str, bool]:
    """What went wrong, and whether it lasts: a 5xx reply refuses the mail for good; a 4xx
    reply, a timeout or a dropped connection may pass."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [(code, text) for code, text in exc.recipients.values()]
        code, reply = codes[0] if codes else (0, b"refused")
        return f"{code} {reply.decode(errors='replace')}", 500 <= code < 600
    if isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        text = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        return f"{exc.smtp_code} {text}", 500 <= exc.smtp_code < 600
    return f"{type(exc).__name__}: {exc}", False


def message(row: OutboxRow, mailer: Mailer, now: datetime) -> EmailMessage:
    """The mail of an outbox row, with its threading headers."""
    mail = EmailMessage()
    mail["From"], mail["To"] = mailer.sender, row.address
    mail["Subject"] = row.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = row.message_id or make_msgid(domain=mailer.domain)
    if row.in_reply_to:
        mail["In-Reply-To"] = row.in_reply_to
    if row.thread_refs:
        mail["References"] = row.thread_refs
    if row.automatic or row.audience == Audience.PERSON:
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to it
    if mailer.reply_to:
        mail["Reply-To"] = mailer.reply_to
    mail.set_content(row.body)
    return mail


@dataclass
class OutboxRun:
    """The worker's outbox sending: at most once every `interval` seconds."""

    outbox: Outbox
    mailer: Mailer
    interval: float
    next_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.next_at is None or now >= self.next_at

    def run(self, now: datetime, clock: Callable[[], datetime]) -> Sending:
        self.next_at = now + timedelta(seconds=self.interval)
        return send_outbox(self.outbox, self.mailer, clock)
