"""`casework mail fetch` and `casework mail list` against the test IMAP server (dovecot), and
the worker's --mail-every, as an operator runs them."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from engine.cli.main import main
from tests.cli.test_main import home, run
from tests.imapserver import PASSWORD, USER, ImapServer

__all__ = ["home", "run"]  # fixtures shared with test_main


def invoke(home: Path, database_url: str, box: ImapServer | None, *args: str,
           **env: str) -> Result:
    imap = {} if box is None else {
        "CASEWORK_IMAP_HOST": "127.0.0.1", "CASEWORK_IMAP_PORT": str(box.port),
        "CASEWORK_IMAP_TLS": "starttls", "CASEWORK_IMAP_USER": USER,
        "CASEWORK_IMAP_PASSWORD": PASSWORD, "CASEWORK_IMAP_CA_FILE": str(box.ca_file)}
    return CliRunner().invoke(main, [*args, "--home", str(home)], env={
        "CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": "2026-03-02T09:00:00Z",
        "CASEWORK_IMAP_HOST": "", **imap, **env})


def test_mail_fetch_opens_a_complaint_and_mail_list_shows_it(
        run: Any, home: Path, database_url: str, imap_server: ImapServer) -> None:
    imap_server.clear()
    message = EmailMessage()
    message["From"], message["Subject"] = "Chen Li <c1@example.org>", "Kettle leaks"
    message["Message-ID"] = "<cli1@mail.example>"
    message.set_content("It leaks.")
    imap_server.append(bytes(message))
    fetched = invoke(home, database_url, imap_server, "mail", "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert fetched.stdout.splitlines() == [
        "opened: <cli1@mail.example> from c1@example.org -> case 1",
        "took 1 mail(s) (1 opened), failed 0"]
    listed = invoke(home, database_url, None, "mail", "list", "--json")
    assert [json.loads(line)["outcome"] for line in listed.stdout.splitlines()] == ["opened"]
    again = invoke(home, database_url, imap_server, "mail", "fetch")
    assert again.stdout == "took 0 mail(s), failed 0\n"


def test_mail_fetch_says_what_is_wrong_when_the_server_cannot_be_reached(
        run: Any, home: Path, database_url: str, imap_server: ImapServer) -> None:
    refused = invoke(home, database_url, imap_server, "mail", "fetch",
                     CASEWORK_IMAP_PORT="1")
    assert refused.exit_code == 1
    assert "the IMAP server 127.0.0.1:1 (starttls) cannot be reached" in refused.stderr
    unset = invoke(home, database_url, None, "mail", "fetch")
    assert unset.exit_code == 2 and "set CASEWORK_IMAP_HOST" in unset.stderr
    bad_tls = invoke(home, database_url, imap_server, "mail", "fetch",
                     CASEWORK_IMAP_TLS="maybe")
    assert bad_tls.exit_code == 1 and "CASEWORK_IMAP_TLS: 'maybe'" in bad_tls.stderr
    worker = invoke(home, database_url, None, "worker", "--mail-every", "5")
    assert worker.exit_code == 2 and "--mail-every needs a mailbox" in worker.stderr
