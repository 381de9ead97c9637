"""A real SMTP server on loopback for the tests that send mail (aiosmtpd), loaded as a plugin
(see pyproject): `smtp_server` yields its port and the inbox it fills; `secure_smtp_server` is
one that insists on STARTTLS (a self-signed certificate made with `cryptography`) and a login
(AUTH PLAIN or LOGIN as USER with PASSWORD) before it takes mail."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by its own key: its file, the key's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casework test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    port, inbox = free_port(), Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()
