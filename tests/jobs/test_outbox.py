"""engine.jobs.outbox: notices out by SMTP to a real server on loopback, each attempt recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.jobs.outbox import Mailer, MailUnreachable, send_outbox
from engine.kernel.records import Notice
from engine.wiring import Casework
from tests.smtp import REFUSED, Inbox, free_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def queue_notices(casework: Casework, *addresses: str | None) -> None:
    with casework.store.transaction() as tx:
        tx.add_notices([Notice(f"person{i}", address, f"subject {i}", f"body {i}")
                        for i, address in enumerate(addresses)], T0)


def test_each_notice_with_an_address_goes_once_and_a_refused_one_waits(
        casework: Casework, smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    queue_notices(casework, "ann@example.org", None, REFUSED)
    mailer = Mailer("127.0.0.1", "desk@example.org", port)
    done = send_outbox(casework.timers, mailer, lambda: T0)
    assert (done.sent, done.failed, done.without_address) == (1, 1, 1)
    [mail] = inbox.mails
    assert (mail.mail_from, mail.rcpt_tos) == ("desk@example.org", ["ann@example.org"])
    rows = {n.address: n for n in casework.timers.notices()}
    assert rows["ann@example.org"].sent_at == T0
    refused = rows[REFUSED]
    assert (refused.sent_at, refused.attempts) == (None, 1)
    assert refused.last_error is not None and "no such mailbox" in refused.last_error
    again = send_outbox(casework.timers, mailer, lambda: T0)
    assert (again.sent, again.failed, again.without_address) == (0, 1, 1)
    assert len(inbox.mails) == 1
    assert {n.address: n.attempts for n in casework.timers.notices()}[REFUSED] == 2


def test_an_unreachable_server_is_named_and_the_outbox_is_unchanged(casework: Casework) -> None:
    queue_notices(casework, "ann@example.org")
    port = free_port()  # nobody listens there
    with pytest.raises(MailUnreachable, match=f"SMTP server 127.0.0.1:{port}"):
        send_outbox(casework.timers, Mailer("127.0.0.1", "desk@example.org", port, timeout=5),
                    lambda: T0)
    [notice] = casework.timers.notices()
    assert (notice.sent_at, notice.attempts, notice.last_error) == (None, 0, None)
