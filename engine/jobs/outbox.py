"""Sending the outbox: every unsent notice with an address goes out as one mail by SMTP.

A notice is marked sent only after the server took it, so a crash between the two sends it again
rather than never (at least once, as mail is); a refused notice keeps its error and is tried
again on the next run. Notices to people without an address stay in the outbox for the app.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from engine.kernel.errors import CaseworkError
from engine.kernel.records import OutboxRow


class MailUnreachable(CaseworkError):
    """The SMTP server could not be reached or refused the session; nothing was sent."""


class Outbox(Protocol):
    def notices(self, unsent_only: bool = False) -> list[OutboxRow]: ...
    def mark_sent(self, notice_id: int, at: datetime, error: str | None = None) -> None: ...


@dataclass(frozen=True)
class Mailer:
    """Where mail goes and whom it is from."""

    host: str
    sender: str
    port: int = 25
    timeout: float = 30.0


@dataclass(frozen=True)
class Sending:
    """What one run of the outbox did."""

    sent: int
    failed: int
    without_address: int


def send_outbox(outbox: Outbox, mailer: Mailer, clock: Callable[[], datetime]) -> Sending:
    """Send every unsent notice that has an address, one mail each, and record each attempt."""
    sent = failed = skipped = 0
    try:
        smtp = smtplib.SMTP(mailer.host, mailer.port, timeout=mailer.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailUnreachable(f"cannot reach the SMTP server {mailer.host}:{mailer.port} "
                              f"({exc}); the outbox is unchanged, try again later") from None
    with smtp:
        for notice in outbox.notices(unsent_only=True):
            if not notice.address:
                skipped += 1
                continue
            try:
                smtp.send_message(_message(notice, mailer.sender))
            except smtplib.SMTPException as exc:
                outbox.mark_sent(notice.id, clock(), error=str(exc))
                failed += 1
                continue
            outbox.mark_sent(notice.id, clock())
            sent += 1
    return Sending(sent, failed, skipped)


def _message(notice: OutboxRow, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, notice.address
    message["Subject"] = notice.subject
    message.set_content(notice.body)
    return message
