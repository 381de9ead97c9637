"""A real SMTP server on loopback for the tests that send mail (aiosmtpd), loaded as a plugin
(see pyproject): `smtp_server` yields its port and the inbox it fills; `secure_smtp_server` is
one that insists on STARTTLS (a self-signed certificate made with `cryptography`) and a login
(AUTH PLAIN or LOGIN as USER with PASSWORD) before it takes mail."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.certificates import free_port, self_signed

REFUSED = "gone@example.org"  # the server refuses this recipient, as for a deleted mailbox
BUSY = "busy@example.org"  # the server refuses this recipient for now (451), as when overloaded
USER, PASSWORD = "desk", "correct horse"  # the one login the secure server accepts


class Inbox:
    """What the server received; it refuses mail to REFUSED with 550."""

    def __init__(self) -> None:
        self.mails: list[Envelope] = []
        self.sessions: list[Received] = []

    async def handle_RCPT(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd's name
                          envelope: Envelope, address: str, options: list[str]) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        if address == BUSY:
            return "451 4.3.2 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session,  # noqa: N802 - aiosmtpd's name
                          envelope: Envelope) -> str:
        self.mails.append(envelope)
        self.sessions.append(Received(session.ssl is not None, session.authenticated is True,
                                      session.login_data))
        return "250 OK"


@dataclass(frozen=True)
class Received:
    """How a mail reached the server: encrypted or not, after which login."""

    tls: bool
    authenticated: bool
    login: Any


def check_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                auth_data: Any) -> AuthResult:
    """The secure server's one account."""
    good = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=good, handled=False, auth_data=USER if good else None)


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("smtp-tls"), "smtp")


@pytest.fixture
def secure_smtp_server(smtp_certificate: tuple[Path, Path]) -> Iterator[tuple[int, Inbox, Path]]:
    """A server that takes mail only over STARTTLS after a login: its port, its inbox, and
    the certificate file a client must trust."""
    cert_file, key_file = smtp_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=check_login,
                            auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield port, inbox, cert_file
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
