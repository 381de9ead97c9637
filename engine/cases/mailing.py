"""Mail to a case's customer, as the cases see it: a `mail` action of a workflow and a message
of the conversation ask a CustomerMailer (engine.channels.mailing composes the mail from the
workflow's templates and threads it) to queue a mail in the fire's transaction, and record what
came of it in the case's history: the outbox row and the template, never the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.kernel.history import EventDraft
from engine.kernel.records import CaseRecord, CustomerMail, Transaction


class MailTransaction(Transaction, Protocol):
    """What queueing a customer's mail reads and writes in the store's transaction."""

    def customer_contact(self, customer_id: str) -> tuple[str | None, str | None]:
        """The customer's name and email address (None where there is none)."""
    def thread_of(self, case_id: int) -> list[str]:
        """The Message-IDs of the case's mail thread, oldest first."""
    def queue_customer_mail(self, mail: CustomerMail, at: datetime) -> int:
        """Put a customer's mail in the outbox; its id."""


@dataclass(frozen=True)
class Mailed:
    """What a request to mail a case's customer came to: a queued mail (its outbox row), or
    nothing and why (no address)."""

    template: str
    language: str
    outbox_id: int | None = None
    skipped: str | None = None  # why nothing was queued

    def draft(self) -> EventDraft:
        """The case's history event: which template went out in which row, or why none did."""
        if self.outbox_id is None:
            return EventDraft("case.mail_skipped", {"template": self.template,
                                                    "reason": self.skipped or "not sent"})
        return EventDraft("case.mailed", {"template": self.template, "language": self.language,
                                          "outbox": self.outbox_id})


class CustomerMailer(Protocol):
    """Composes a mail to a case's customer from a template of the case's workflow and queues
    it, threaded with the case's earlier mail (engine.channels.mailing.Mailing)."""

    def mail(self, tx: Transaction, case: CaseRecord, template: str, now: datetime,
             extras: Mapping[str, Any] | None = None, automatic: bool = False) -> Mailed:
        """Queue the mail in `tx`; a customer without an address gets nothing (Mailed says
        so). `extras` are template values beside case, customer, workflow and body."""


class NoMailer:
    """The mailer of a runtime set up without mail (tests of other things, tools): every
    request is recorded as not sent."""

    def mail(self, tx: Transaction, case: CaseRecord, template: str, now: datetime,
             extras: Mapping[str, Any] | None = None, automatic: bool = False) -> Mailed:
        return Mailed(template, "", skipped="mail is not set up for this casework")
