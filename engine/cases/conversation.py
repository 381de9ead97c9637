"""One conversation per case: internal notes, messages to the customer, messages from them.

Recording an entry is one transaction: the entry row (its body kept there, apart from the hashed
history), its attachments (the bytes in files under the attachments folder, named by a random
key; a file is removed again if the transaction fails), for a message to the customer a mail in
the outbox (from the workflow's `message` template, engine.cases.mailing), and the case's
history event (`conversation.note_added`, `.message_sent`, `.message_received`: the entry's id,
kind, author, length and number of files, never the body).

A message is a signal to the case's SLA clocks (engine.kernel.specs.SIGNALS): one from the
customer is `message_in` (it starts a next-reply clock), ours is `message_out` (it stops the
first- and next-reply clocks). A message from the customer on a case in a state that a
transition leaves `on: message_in` fires that transition, as the person who recorded it; if the
transition is refused (a guard), the message is kept and the refusal recorded. A note that
mentions colleagues as @name notifies each of them (engine/cases/notifying.py), in the same
transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from engine.cases.notifying import deliver, mentions
from engine.cases.runtime import Actor, Runtime
from engine.cases.submissions import checked_key, submitted_before
from engine.kernel.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from engine.kernel.history import EventDraft
from engine.kernel.records import CaseRecord, Transaction

MAX_BODY = 20_000  # characters of one entry
MESSAGE_TEMPLATE = "message"  # the mail template a message to the customer is sent with


class EntryKind(StrEnum):
    NOTE = "note"  # internal: staff only
    TO_CUSTOMER = "to_customer"  # sent through the outbox
    FROM_CUSTOMER = "from_customer"  # typed from a call now; fetched from the mailbox later


EVENTS = {EntryKind.NOTE: "conversation.note_added",
          EntryKind.TO_CUSTOMER: "conversation.message_sent",
          EntryKind.FROM_CUSTOMER: "conversation.message_received"}
SIGNALS = {EntryKind.TO_CUSTOMER: "message_out", EntryKind.FROM_CUSTOMER: "message_in"}


class Delivery(StrEnum):
    """Where a message to the customer stands in the outbox."""

    QUEUED = "queued"
    SENT = "sent"
    FAILING = "failing"  # tried, refused for now; tried again later
    FAILED = "failed"  # refused for good, or too many attempts: not tried again


@dataclass(frozen=True)
class Upload:
    """A file given with an entry."""

    file_name: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class Attachment:
    id: int
    entry_id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    storage_key: str


@dataclass(frozen=True)
class Entry:
    """An entry as the case page reads it: with its files and, for a message to the
    customer, how its sending goes."""

    id: int
    case_id: int
    kind: EntryKind
    author: str
    body: str
    created_at: datetime
    outbox_id: int | None = None
    delivery: Delivery | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class NewEntry:
    case_id: int
    kind: EntryKind
    author: str
    body: str
    created_at: datetime
    outbox_id: int | None


class AttachmentRefused(InvalidInput):
    """A file over the size limit or of a media type not accepted; nothing was stored."""


class NoEmailAddress(InvalidInput):
    """A message to a customer the casework has no email address for; nothing was sent."""


class ConversationTransaction(Transaction, Protocol):
    def add_entry(self, entry: NewEntry) -> int: ...
    def add_attachments(self, entry_id: int, files: Sequence[Attachment]) -> None: ...
    def customer_email(self, customer_id: str) -> str | None: ...


class ConversationStore(Protocol):
    def transaction(self) -> AbstractContextManager[ConversationTransaction]: ...
    def entries(self, case_id: int) -> list[Entry]:
        """The case's conversation, oldest first, with files and sending status."""
    def attachment(self, attachment_id: int) -> tuple[int, Attachment]:
        """An attachment and the case it belongs to (NotFound if there is none)."""


@dataclass(frozen=True)
class Limits:
    """What an attachment may be, and where its bytes are kept."""

    folder: Path
    max_bytes: int
    media_types: frozenset[str]


class Conversation:
    """Records and reads the conversations of cases."""

    def __init__(self, store: ConversationStore, runtime: Runtime, limits: Limits) -> None:
        self.store = store
        self.runtime = runtime
        self.limits = limits

    def entries(self, case_id: int) -> list[Entry]:
        return self.store.entries(case_id)

    def file(self, attachment_id: int) -> tuple[int, Attachment, Path]:
        """An attachment, its case (the caller checks who may see it) and where its bytes are."""
        case_id, attachment = self.store.attachment(attachment_id)
        return case_id, attachment, self.limits.folder / attachment.storage_key

    def record(self, case_id: int, kind: EntryKind, body: str, actor: Actor, now: datetime,
               files: Sequence[Upload] = (), expected_version: int | None = None) -> int:
        """Record an entry on a case (with its files); its id. Raises InvalidInput (an empty
        or long body), AttachmentRefused, NoEmailAddress, Conflict, NotFound."""
        return self.record_once(None, case_id, kind, body, actor, now, files,
                                expected_version)[0]

    def record_once(self, key: str | None, case_id: int, kind: EntryKind, body: str,
                    actor: Actor, now: datetime, files: Sequence[Upload] = (),
                    expected_version: int | None = None) -> tuple[int, bool]:
        """record(), once per `key` (a form's, an API request's Idempotency-Key): the entry's
        id, and True when a submission with the key recorded it already (nothing is written
        now)."""
        key = checked_key(key)
        text = self._checked(body, files)
        kind = EntryKind(kind)
        written: list[Path] = []
        try:
            with self.store.transaction() as tx:
                earlier = None if key is None else submitted_before(
                    tx, key, actor.name, case_id, f"wrote {kind.value}", now)
                if earlier is None:
                    return self._record(tx, case_id, kind, text, actor, now, files,
                                        expected_version, written), False
        except BaseException:
            for path in written:  # the rows are gone: so are their files
                path.unlink(missing_ok=True)
            raise
        # the entry that submission wrote: by this person, of this kind, at its moment
        found = [e.id for e in self.store.entries(case_id) if e.author == actor.name
                 and e.kind == kind and e.created_at == earlier.at]
        if not found:
            raise NotFound(f"the entry recorded with key '{key}' is no longer in case "
                           f"{case_id}'s conversation")
        return found[-1], True

    def record_in(self, tx: ConversationTransaction, case_id: int, kind: EntryKind, body: str,
                  actor: Actor, now: datetime, written: list[Path],
                  files: Sequence[Upload] = (), expected_version: int | None = None) -> int:
        """record() inside the caller's transaction (the mail intake and the web form record
        the case's first message with it, a survey its comment); the files it writes are added
        to `written`, for the caller to remove if the transaction fails."""
        text = self._checked(body, files)
        return self._record(tx, case_id, EntryKind(kind), text, actor, now, files,
                            expected_version, written)

    def _checked(self, body: str, files: Sequence[Upload]) -> str:
        """The entry's text, stripped; InvalidInput or AttachmentRefused."""
        text = body.strip()
        if not text and not files:
            raise InvalidInput("body", "an entry needs a text or a file")
        if len(text) > MAX_BODY:
            raise InvalidInput("body", f"is {len(text):,} characters long; the most is "
                               f"{MAX_BODY:,}: attach the rest as a file")
        for upload in files:
            self._check(upload)
        return text

    def _check(self, upload: Upload) -> None:
        size, limit = len(upload.content), self.limits.max_bytes
        if size > limit:
            raise AttachmentRefused("file", f"'{upload.file_name}' is {size:,} bytes; the most "
                                    f"is {limit:,} (CASEWORK_ATTACHMENT_MAX_BYTES)")
        if upload.media_type not in self.limits.media_types:
            raise AttachmentRefused("file", f"'{upload.file_name}' is {upload.media_type}, "
                                    "which is not accepted (accepted: "
                                    f"{', '.join(sorted(self.limits.media_types))})")
        if not upload.file_name.strip() or len(upload.file_name) > 255:
            raise AttachmentRefused("file", "a file needs a name of 1 to 255 characters")

    def _record(self, tx: ConversationTransaction, case_id: int, kind: EntryKind, body: str,
                actor: Actor, now: datetime, files: Sequence[Upload],
                expected_version: int | None, written: list[Path]) -> int:
        case = tx.get_case(case_id)
        if expected_version is not None and expected_version != case.lock_version:
            raise Conflict(case_id, expected_version, case.lock_version)
        outbox_id = None
        if kind == EntryKind.TO_CUSTOMER:
            outbox_id = self._mail(tx, case, body, now)
        entry_id = tx.add_entry(NewEntry(case_id, kind, actor.name, body, now, outbox_id))
        tx.add_attachments(entry_id, [self._store(entry_id, f, written) for f in files])
        drafts = [EventDraft(EVENTS[kind], {"entry": entry_id, "kind": kind.value,
                                            "author": actor.name, "length": len(body),
                                            "files": len(files)})]
        signal = SIGNALS.get(kind)
        if signal is not None:
            drafts += self.runtime.signalled(tx, case, signal, actor, now)
        case = self.runtime.amend(tx, case, case, None, drafts, actor, now)
        if kind == EntryKind.NOTE:
            deliver(tx, mentions(case_id, body, actor.name), now)
        if signal is not None:
            self._move_on(tx, case, signal, entry_id, actor, now)
        return entry_id

    def _mail(self, tx: ConversationTransaction, case: CaseRecord, body: str,
              now: datetime) -> int:
        """Queue the message as a mail from the workflow's `message` template, threaded with
        the case's earlier mail."""
        mailed = self.runtime.mailer.mail(tx, case, MESSAGE_TEMPLATE, now, {"body": body})
        if mailed.outbox_id is None:
            raise NoEmailAddress("customer", f"{mailed.skipped}, so the message cannot be "
                                 "sent; add an address to the customer, or keep the text as a "
                                 "draft")
        return mailed.outbox_id

    def _store(self, entry_id: int, upload: Upload, written: list[Path]) -> Attachment:
        key = secrets.token_hex(16)
        folder = self.limits.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / key
        written.append(path)
        path.write_bytes(upload.content)
        return Attachment(0, entry_id, upload.file_name.strip(), upload.media_type,
                          len(upload.content), hashlib.sha256(upload.content).hexdigest(), key)

    def _move_on(self, tx: ConversationTransaction, case: CaseRecord, signal: str,
                 entry_id: int, actor: Actor, now: datetime) -> None:
        """Fire the transition the case's state leaves on `signal`, if there is one."""
        spec = self.runtime.registry.get(case.definition_id).spec
        transition = next((t for t in spec.transitions_from(case.state) if t.on == signal),
                          None)
        if transition is None:
            return
        because = {"signal": signal, "entry": entry_id}
        try:
            self.runtime.fire_in(tx, case.id, transition.trigger, actor, now, because=because)
        except TransitionRefused as refused:
            self.runtime.amend(tx, case, case, None, [EventDraft("case.signal_skipped", {
                **because, "trigger": transition.trigger, "reason": str(refused)})],
                actor, now)

