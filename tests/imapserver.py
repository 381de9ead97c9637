"""A real, throw-away IMAP server for the test session: Debian's dovecot (package dovecot-imapd),
started as an operator would, as tests/pgserver.py starts PostgreSQL.

Its own configuration in a temporary folder: listening on loopback only, on free ports (one
plain IMAP port that offers STARTTLS, one IMAPS port), TLS with a self-signed certificate made
here with `cryptography` (the client trusts it through CASEWORK_IMAP_CA_FILE), one user in a
passwd-file, the mail in a Maildir under the folder. Loaded as a plugin (see pyproject):
`imap_server` is the session's server; tests put mail in its box with IMAP APPEND.

As root (CI), dovecot runs its login and internal processes as the users its package made
(dovenull, dovecot) and keeps the mail as the dovecot user (it refuses to as root); as anyone
else, all as that user.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.certificates import free_port, self_signed

LIST_LINE = re.compile(r'\((?P<flags>[^)]*)\) (?P<delimiter>"[^"]*"|NIL) (?P<name>.+)$')
DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "desk", "desk-secret"
MAIL_OWNER = "dovecot"  # as root: whose files the mail is (dovecot will not write as root)


@dataclass
class ImapServer:
    base: Path
    port: int  # plain IMAP, with STARTTLS
    ssl_port: int  # IMAPS
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        cert, key = self.base / "imap-cert.pem", self.base / "imap-key.pem"
        if os.geteuid() == 0:
            users = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            owner = pwd.getpwnam(MAIL_OWNER)
            uid, gid = owner.pw_uid, owner.pw_gid
        else:
            me = pwd.getpwuid(os.geteuid()).pw_name
            users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
            uid, gid = os.geteuid(), os.getegid()
        return f"""
base_dir = {self.base}/run
state_dir = {self.base}/state
log_path = {self.base}/dovecot.log
protocols = imap
listen = 127.0.0.1
{users}first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{self.base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.base}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""

    def start(self) -> None:
        for sub in ("run", "state", "mail", "home"):
            (self.base / sub).mkdir()
        if os.geteuid() == 0:  # dovecot refuses mail as root: it is its own user's
            owner = pwd.getpwnam(MAIL_OWNER)
            for sub in ("mail", "home"):
                os.chown(self.base / sub, owner.pw_uid, owner.pw_gid)
        (self.base / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (self.base / "dovecot.conf").write_text(self.config())
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(self.base / "dovecot.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped at once: {self._log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not listen on port {self.port}: {self._log()}")

    def _log(self) -> str:
        log = self.base / "dovecot.log"
        text = log.read_text() if log.exists() else ""
        if self.process is not None and self.process.stderr is not None \
                and self.process.poll() is not None:
            text += self.process.stderr.read().decode(errors="replace")
        return text

    def stop(self) -> None:
        try:
            if self.process is not None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
                if self.process.stderr is not None:
                    self.process.stderr.close()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        """A logged-in client over STARTTLS, for tests to fill and look into the box."""
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.starttls(ssl.create_default_context(cafile=str(self.ca_file)))
        client.login(USER, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            client.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
        finally:
            client.logout()

    def clear(self) -> None:
        """An empty box: every folder's mail deleted (a test starts from nothing)."""
        client = self.client()
        try:
            _, listed = client.list()
            for line in listed:
                found = LIST_LINE.match(line.decode()) if isinstance(line, bytes) else None
                name = found.group("name").strip('"') if found else ""
                status, data = client.select(f'"{name}"') if name else ("NO", [b"0"])
                if status == "OK" and int(data[0] or 0) > 0:
                    client.store("1:*", "+FLAGS", "\\Deleted")
                    client.expunge()
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        try:
            status, data = client.select(f'"{folder}"', readonly=True)
            return int(data[0] or 0) if status == "OK" else 0
        finally:
            client.logout()


def start_server() -> ImapServer:
    if not DOVECOT.exists():
        raise FileNotFoundError(f"no {DOVECOT} (install Debian's dovecot-imapd)")
    base = Path(tempfile.mkdtemp(prefix="casework-imap-"))
    base.chmod(0o755)  # dovecot's own users pass through it to its sockets
    cert, _ = self_signed(base, "imap")
    server = ImapServer(base, free_port(), free_port(), cert)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """The session's IMAP server (skipped without dovecot, except under CI)."""
    try:
        server = start_server()
    except (FileNotFoundError, RuntimeError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test mail intake, but no IMAP server could be started: {exc}")
        pytest.skip(f"no IMAP server: {exc}")
    try:
        yield server
    finally:
        server.stop()
