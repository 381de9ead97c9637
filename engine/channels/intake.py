"""Taking a mail from the mailbox: a new complaint, a customer's message on its case, or only a
record (an auto-reply, a bounce, a mail that cannot be taken).

Each mail is taken once: its Message-ID (or the digest of its bytes) is recorded in the same
transaction that opens or answers its case, so a mail fetched again (the fetch was killed after
the commit, before the mail was moved out of the inbox) is skipped.

A reply finds its case by a Message-ID it answers (one of our outbox mails' or of a mail taken
before: not guessable, so trusted), else by the case token `[#123]` in its subject. A token is
only a claim: when the case's customer is not the sender (addresses compared without case) it
is forged, and the mail opens a new complaint, flagged, instead of landing on someone else's
case. A reply to a closed case opens a new complaint that names the closed one, as Zendesk's
follow-up tickets do (the complaint workflow's `reopen` is a decision for an agent, within 30
days, not for whoever sends a mail).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from engine.cases.conversation import (
    MAX_BODY,
    Conversation,
    ConversationTransaction,
    EntryKind,
    Upload,
)
from engine.cases.runtime import Actor
from engine.channels.inbound import (
    NO_SUBJECT,
    InboundMail,
    MailLimits,
    MailTooLarge,
    digest_key,
    parse,
)
from engine.channels.threads import token_in
from engine.kernel.errors import InvalidInput, NotFound
from engine.kernel.records import CaseRecord

MAIL = Actor("mail", "system")  # who opens and writes what the mailbox brings
WORKFLOW = "complaint"
LONGEST_SUMMARY = 4000


class Outcome(StrEnum):
    """What became of a mail."""

    OPENED = "opened"  # a new complaint
    REPLY = "reply"  # a customer message on the case it answers
    AUTOMATIC = "automatic"  # an auto-reply or a bounce: recorded, never a case, never answered
    REFUSED = "refused"  # could not be taken (too large, a sender address that is not one):
    # recorded, nothing opened
    SEEN = "seen"  # taken before: nothing done now (never recorded as such)


class Flag(StrEnum):
    """Why a mail that names a case did not land on it."""

    FORGED_TOKEN = "forged_token"  # its token names a case of another customer
    UNKNOWN_TOKEN = "unknown_token"  # its token names no case
    FOLLOW_UP = "follow_up"  # it answers a closed case


@dataclass(frozen=True)
class InboundRecord:
    """A mail as the intake recorded it."""

    message_id: str  # InboundMail.key
    received_at: datetime
    sender: str
    subject: str
    case_id: int | None
    outcome: Outcome
    reason: str | None = None


class IntakeTransaction(ConversationTransaction, Protocol):
    def mail_taken(self, key: str) -> InboundRecord | None:
        """The record of a mail taken before, by its key."""
    def record_mail(self, record: InboundRecord) -> bool:
        """Record a mail taken; False (nothing written) when another intake recorded it
        first."""
    def case_of_messages(self, message_ids: Sequence[str]) -> int | None:
        """The case that one of these Message-IDs (ours in the outbox, or a mail taken) is
        about; the newest mail's when several are."""
    def answer_with_queued(self, case_id: int, message_id: str) -> int:
        """Make the customer mail queued for the case and not yet threaded (the
        acknowledgement its start queued, in this transaction) a reply to the mail
        `message_id`; how many were."""


class IntakeStore(Protocol):
    def transaction(self) -> AbstractContextManager[IntakeTransaction]: ...


class Senders(Protocol):
    """Finds or makes the customer a mail comes from (engine.customers.editing.CustomerEditor)."""

    def for_sender(self, address: str, name: str | None, actor: str, role: str | None,
                   at: datetime) -> tuple[str, bool]: ...


@dataclass(frozen=True)
class Landing:
    """Where a mail lands: a case to answer, or a new complaint (with why, if it named one)."""

    case: CaseRecord | None
    flag: Flag | None = None
    named: int | None = None  # the case its token or reference named


class _NeedsCustomer(Exception):
    """A new complaint, for a sender who is not a customer yet: made outside the transaction."""


class _TakenMeanwhile(Exception):
    """Another intake (a second worker) took the same mail first: this one's writes roll back."""


class Intake:
    """Takes mails into cases, each exactly once."""

    def __init__(self, store: IntakeStore, conversation: Conversation, senders: Senders,
                 limits: MailLimits) -> None:
        self.store = store
        self.conversation = conversation
        self.senders = senders
        self.limits = limits

    def take(self, raw: bytes, now: datetime) -> InboundRecord:
        """Take one mail; what became of it (Outcome.SEEN: it was taken before)."""
        try:
            mail = parse(raw, self.limits)
        except MailTooLarge as refused:
            return self._record_only(InboundRecord(digest_key(raw), now, "", "", None,
                                                   Outcome.REFUSED, refused.detail))
        if mail.automatic is not None:
            why = mail.automatic + (f"; bounced: {' '.join(mail.bounced)}" if mail.bounced
                                    else "")
            return self._record_only(self._record(mail, now, None, Outcome.AUTOMATIC, why))
        customer: str | None = None
        for _ in range(2):
            try:
                return self._take(mail, now, customer)
            except _TakenMeanwhile:
                return self._record_only(self._record(mail, now, None, Outcome.SEEN, None))
            except _NeedsCustomer:
                try:
                    customer = self.senders.for_sender(mail.sender, mail.sender_name or None,
                                                       MAIL.name, MAIL.role, now)[0]
                except InvalidInput as bad:
                    return self._record_only(self._record(mail, now, None, Outcome.REFUSED,
                                                          f"the sender: {bad.detail}"))
        raise NotFound(f"the customer for {mail.sender} was made but is not found")

    def _record_only(self, record: InboundRecord) -> InboundRecord:
        """Record a mail that writes no case (unless it was taken before: then that)."""
        with self.store.transaction() as tx:
            earlier = tx.mail_taken(record.message_id)
            if earlier is None and record.outcome != Outcome.SEEN \
                    and tx.record_mail(record):
                return record
            earlier = earlier or tx.mail_taken(record.message_id)
        if earlier is None:
            raise NotFound(f"mail {record.message_id} was taken by another intake, whose "
                           "record is gone")
        return _seen(earlier)

    def _take(self, mail: InboundMail, now: datetime, customer: str | None) -> InboundRecord:
        written: list[Path] = []
        try:
            with self.store.transaction() as tx:
                earlier = tx.mail_taken(mail.key)
                if earlier is not None:
                    return _seen(earlier)
                landing = self._landing(tx, mail)
                if landing.case is not None:
                    record = self._reply(tx, mail, landing.case, now, written)
                elif customer is None:
                    raise _NeedsCustomer
                else:
                    record = self._open(tx, mail, customer, landing, now, written)
                if not tx.record_mail(record):
                    raise _TakenMeanwhile
                return record
        except BaseException:
            for path in written:  # the rows are gone: so are their files
                path.unlink(missing_ok=True)
            raise

    def _landing(self, tx: IntakeTransaction, mail: InboundMail) -> Landing:
        """The case a mail answers, if it may land there."""
        referenced = tx.case_of_messages(mail.references)
        by_token = referenced is None
        case_id = token_in(mail.subject) if referenced is None else referenced
        if case_id is None:
            return Landing(None)
        try:
            case = tx.get_case(case_id)
        except NotFound:
            return Landing(None, Flag.UNKNOWN_TOKEN, case_id)
        if by_token and not self._senders_case(tx, case, mail.sender):
            return Landing(None, Flag.FORGED_TOKEN, case_id)
        if case.closed_at is not None:
            return Landing(None, Flag.FOLLOW_UP, case_id)
        return Landing(case)

    @staticmethod
    def _senders_case(tx: IntakeTransaction, case: CaseRecord, sender: str) -> bool:
        address = tx.customer_email(case.customer) if case.customer else None
        return bool(address) and (address or "").strip().lower() == sender.lower()

    def _reply(self, tx: IntakeTransaction, mail: InboundMail, case: CaseRecord,
               now: datetime, written: list[Path]) -> InboundRecord:
        self._write(tx, case.id, mail, now, written)
        return self._record(mail, now, case.id, Outcome.REPLY, None)

    def _open(self, tx: IntakeTransaction, mail: InboundMail, customer: str, landing: Landing,
              now: datetime, written: list[Path]) -> InboundRecord:
        summary = (mail.subject or NO_SUBJECT)[:LONGEST_SUMMARY]
        runtime = self.conversation.runtime
        case = runtime.start_in(tx, WORKFLOW, {"channel": "email", "summary": summary}, MAIL,
                                now, customer)
        self._write(tx, case.id, mail, now, written)
        if mail.message_id:  # the acknowledgement answers the mail, so it threads with it
            tx.answer_with_queued(case.id, mail.message_id)
        reason = None
        if landing.flag is not None:
            said = _FLAGGED[landing.flag].format(case=landing.named, sender=mail.sender)
            reason = f"{landing.flag.value}: {said}"
            self.conversation.record_in(tx, case.id, EntryKind.NOTE, reason, MAIL, now, written)
        return self._record(mail, now, case.id, Outcome.OPENED, reason)

    def _write(self, tx: IntakeTransaction, case_id: int, mail: InboundMail, now: datetime,
               written: list[Path]) -> None:
        """The mail as the customer's message on the case, and a note of what was left out."""
        body, files = mail.body, list(mail.attachments)
        if len(body) > MAX_BODY:  # the whole text is kept, as a file
            files.append(Upload("message.txt", "text/plain", body.encode()))
            body = body[:MAX_BODY - 100].rstrip() + "\n\n[continued in message.txt]"
        if not body.strip() and not files:
            body = "(the mail has no text)"
        self.conversation.record_in(tx, case_id, EntryKind.FROM_CUSTOMER, body, MAIL, now,
                                    written, files)
        if mail.left_out:
            self.conversation.record_in(tx, case_id, EntryKind.NOTE, "From the mail of "
                                        f"{mail.sender}: " + "; ".join(mail.left_out), MAIL,
                                        now, written)

    @staticmethod
    def _record(mail: InboundMail, now: datetime, case_id: int | None, outcome: Outcome,
                reason: str | None) -> InboundRecord:
        return InboundRecord(mail.key, now, mail.sender, mail.subject, case_id, outcome, reason)


_FLAGGED = {
    Flag.FORGED_TOKEN: "the subject names case #{case}, which is not a case of {sender}; "
                       "opened as a new complaint instead (check who wrote it before linking "
                       "the two)",
    Flag.UNKNOWN_TOKEN: "the subject names case #{case}, which does not exist; opened as a "
                        "new complaint",
    Flag.FOLLOW_UP: "a reply to case #{case}, which is closed; opened as a new complaint that "
                    "follows it up",
}


def _seen(earlier: InboundRecord) -> InboundRecord:
    return InboundRecord(earlier.message_id, earlier.received_at, earlier.sender,
                         earlier.subject, earlier.case_id, Outcome.SEEN, earlier.reason)
