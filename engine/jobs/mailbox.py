"""Fetching mail from the IMAP mailbox complaints arrive in (CASEWORK_IMAP_*, stdlib imaplib).

A fetch reads the folder's mail by UID without marking it read (BODY.PEEK[]), gives each to the
intake (which records it in the transaction that writes its case, so a mail fetched twice is
taken once), then moves it: to the processed folder when taken (or taken before), to the failed
folder when it was refused (recorded: too large, a bad sender) or could not be taken at all
(nothing is deleted; the error is in the fetch's report and the log). A fetch killed between
the commit and the move leaves the mail in the inbox; the next fetch finds it taken and only
moves it. UID MOVE where the server has MOVE (RFC 6851), else
COPY, \\Deleted and EXPUNGE (UID EXPUNGE where it has UIDPLUS).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.channels.intake import InboundRecord, Intake, Outcome
from engine.jobs.periodic import Periodic, Stopping
from engine.kernel.errors import CaseworkError
from engine.kernel.settings import ImapSettings, ImapTls

log = logging.getLogger(__name__)
TIMEOUT = 60.0  # seconds a server may keep us waiting
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?P<delimiter>"[^"]*"|NIL) (?P<name>.+)$')


class MailboxUnreachable(CaseworkError):
    """The IMAP server could not be reached, refused the login, or broke off."""


@dataclass
class Fetched:
    """What a fetch did: each mail taken, and each that could not be (its UID and the error)."""

    taken: list[InboundRecord] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class Mailbox:
    """One IMAP mailbox, fetched into cases through the intake."""

    def __init__(self, settings: ImapSettings, intake: Intake,
                 clock: Callable[[], datetime], use_move: bool = True) -> None:
        self.settings = settings
        self.intake = intake
        self.clock = clock
        self.use_move = use_move  # False: COPY + EXPUNGE even where MOVE is offered (tests)

    def fetch(self, stop: Callable[[], bool] = lambda: False) -> Fetched:
        """Take every mail in the folder, then move it; raises MailboxUnreachable."""
        done = Fetched()
        with self._session() as client:
            mover = _Mover(client, self.use_move)
            processed = mover.ensure(self.settings.processed_folder)
            failed = mover.ensure(self.settings.failed_folder)
            _check(client.select(_quoted(self.settings.folder)), f"open folder "
                   f"'{self.settings.folder}' (CASEWORK_IMAP_FOLDER)")
            _, found = _check(client.uid("SEARCH", "UNDELETED"), "list the mail")
            for uid in (found[0] if found else b"").decode().split():
                if stop():
                    break
                self._one(client, mover, uid, processed, failed, done)
            mover.finish()
        return done

    def _one(self, client: imaplib.IMAP4, mover: _Mover, uid: str, processed: str,
             failed: str, done: Fetched) -> None:
        _, data = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"read mail {uid}")
        raw = next((part[1] for part in data if isinstance(part, tuple)), None)
        if not isinstance(raw, bytes):
            return  # gone since the search (another client moved it)
        try:
            taken = self.intake.take(raw, self.clock())
        except Exception as error:  # one bad mail must not hold up the others behind it
            log.exception("mail %s could not be taken; moved to %s", uid, failed)
            done.failed.append((uid, f"{type(error).__name__}: {error}"))
            mover.move(uid, failed)
            return
        done.taken.append(taken)
        # a mail refused (too large, a bad sender) is recorded, and kept where people look
        mover.move(uid, failed if taken.outcome == Outcome.REFUSED else processed)

    @contextmanager
    def _session(self) -> Iterator[imaplib.IMAP4]:
        settings = self.settings
        where = f"{settings.host}:{settings.port} ({settings.tls.value})"
        try:
            client = _connect(settings)
        except (OSError, imaplib.IMAP4.error) as error:
            raise MailboxUnreachable(f"the IMAP server {where} cannot be reached: {error}; "
                                     "check CASEWORK_IMAP_HOST, _PORT, _TLS and _CA_FILE") \
                from None
        try:
            try:
                client.login(settings.user, settings.password)
            except imaplib.IMAP4.error as error:
                raise MailboxUnreachable(f"the IMAP server {where} refused the login of "
                                         f"'{settings.user}': {error}; check "
                                         "CASEWORK_IMAP_USER and _PASSWORD") from None
            yield client
        except (OSError, imaplib.IMAP4.error) as error:  # .abort is one too
            raise MailboxUnreachable(f"the IMAP server {where} broke off: {error}; the mail "
                                     "not moved yet is taken (once) on the next fetch") from None
        finally:
            with suppress(OSError, imaplib.IMAP4.error):  # gone already: nothing to close
                client.logout()


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    context = ssl.create_default_context(
        cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.tls == ImapTls.SSL:
        return imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context,
                                 timeout=TIMEOUT)
    client = imaplib.IMAP4(settings.host, settings.port, timeout=TIMEOUT)
    if settings.tls == ImapTls.STARTTLS:
        client.starttls(context)
    return client


class _Mover:
    """Moves mails between folders, in whatever way this server can."""

    def __init__(self, client: imaplib.IMAP4, use_move: bool) -> None:
        self.client = client
        _, caps = _check(client.capability(), "ask what the server can do")
        offered = set((caps[0] or b"").decode().upper().split())
        self.can_move = use_move and "MOVE" in offered
        self.uidplus = "UIDPLUS" in offered
        self.deleted: list[str] = []
        self.delimiter = self._delimiter()

    def _delimiter(self) -> str:
        _, listed = _check(self.client.list('""', '""'), "ask the folder delimiter")
        line = listed[0] if listed else None
        found = _LIST_LINE.match(line) if isinstance(line, bytes) else None
        text = found.group("delimiter").decode().strip('"') if found else "/"
        return text if text and text != "NIL" else "/"

    def ensure(self, folder: str) -> str:
        """The folder's name on this server (its `/` as the server's delimiter), made if
        missing (with its parents)."""
        name = folder.replace("/", self.delimiter)
        _, listed = _check(self.client.list('""', _quoted(name)), f"look for folder '{name}'")
        if not any(isinstance(line, bytes) for line in listed):
            _check(self.client.create(_quoted(name)), f"create folder '{name}'")
        return name

    def move(self, uid: str, folder: str) -> None:
        if self.can_move:
            _check(self.client.uid("MOVE", uid, _quoted(folder)), f"move mail {uid}")
            return
        _check(self.client.uid("COPY", uid, _quoted(folder)), f"copy mail {uid}")
        _check(self.client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"),
               f"mark mail {uid} deleted")
        self.deleted.append(uid)

    def finish(self) -> None:
        """Expunge what was copied (only those mails, where the server can say so)."""
        if not self.deleted:
            return
        if self.uidplus:
            _check(self.client.uid("EXPUNGE", ",".join(self.deleted)), "expunge")
        else:
            _check(self.client.expunge(), "expunge")
        self.deleted.clear()


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(answer: tuple[str, Any], what: str) -> tuple[str, list[Any]]:
    """The answer's data, if the server said OK (imaplib's data is bytes or tuples)."""
    status, data = answer
    data = [d for d in data or [] if d is not None]
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise MailboxUnreachable(f"the IMAP server would not {what}: {status} {detail}")
    return status, data


class Poller(Periodic):
    """Fetches every `every` seconds on a thread of its own, until stopped (`casework worker
    --mail-every`); a fetch that fails (the server is away) is logged, the next one tries
    again."""

    def __init__(self, mailbox: Mailbox, every: float,
                 on_fetch: Callable[[Fetched], None] = lambda done: None) -> None:
        super().__init__("casework-mail", "a mail fetch", every, self._fetch)
        self.mailbox = mailbox
        self.on_fetch = on_fetch
        self.fetches = 0

    def _fetch(self, stopping: Stopping) -> None:
        done = self.mailbox.fetch(stop=stopping)
        self.fetches += 1
        self.on_fetch(done)
