"""The public complaint form: anyone may send one, without an account.

A form opens a complaint with channel `web` for the sender's customer (found by the email
address, else one new potential customer: CustomerEditor.for_sender), its description the first
message from the customer in the conversation (with the files sent), in one transaction. The
acknowledgement mail comes from the complaint's own steps, not from here.

Two guards against abuse, each leaving a row in `public_requests` (kept in the database, so that
every server of one casework counts alike): a hidden field that people never see and bots fill
in (such a form gets the normal thank-you, and nothing is opened), and a limit of forms per
client address and hour (CASEWORK_FORM_PER_HOUR) counting every form sent, whatever became of
it. Two servers counting at the same moment may let one form past the limit: a limit, not a
lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from engine.cases.conversation import Conversation, ConversationTransaction, EntryKind, Upload
from engine.cases.runtime import Actor
from engine.channels.public import Outcome, PublicRecords, PublicRequest
from engine.customers.editing import CustomerEditor
from engine.kernel.errors import CaseworkError, InvalidInput

WORKFLOW = "complaint"
PAGE = "form"
WINDOW = timedelta(hours=1)
# Who opens the case and writes its first entry in the history: the form, not a person.
FORM = Actor("web form", "system")
LONGEST_SUMMARY = 300  # characters: a subject line; the description holds the rest


@dataclass(frozen=True)
class ComplaintForm:
    """What the public form sent. `trap` is the hidden field: only a bot fills it in."""

    name: str
    email: str
    summary: str
    description: str
    category: str | None = None
    phone: str | None = None
    files: Sequence[Upload] = ()
    trap: str = ""


class FormRateLimited(CaseworkError):
    """Too many forms from one address in the last hour; nothing was opened."""


class FormTransaction(ConversationTransaction, PublicRecords, Protocol):
    pass


class FormStore(Protocol):
    def transaction(self) -> AbstractContextManager[FormTransaction]: ...


class WebForm:
    """Opens complaints from the public form."""

    def __init__(self, store: FormStore, conversation: Conversation, senders: CustomerEditor,
                 per_hour: int) -> None:
        self.store = store
        self.conversation = conversation
        self.senders = senders
        self.per_hour = per_hour

    def submit(self, form: ComplaintForm, client: str | None, now: datetime) -> int | None:
        """The complaint's id; None for a form the honeypot caught (recorded, nothing opened).
        FormRateLimited past the limit; InvalidInput (recorded) for a field that does not do."""
        with self.store.transaction() as tx:
            sent = tx.count_public(PAGE, client, now - WINDOW)
            outcome = Outcome.LIMITED if sent >= self.per_hour else \
                Outcome.HONEYPOT if form.trap.strip() else None
            if outcome is not None:
                tx.record_public(PublicRequest(PAGE, outcome, client, now, None,
                                               _detail(form)))
        if outcome == Outcome.LIMITED:
            raise FormRateLimited(f"{sent} forms were sent from your address in the last hour; "
                                  "please try again later, or write to us by email")
        if outcome == Outcome.HONEYPOT:
            return None
        try:
            return self._open(form, client, now)
        except InvalidInput as refused:
            with self.store.transaction() as tx:
                tx.record_public(PublicRequest(PAGE, Outcome.INVALID, client, now, None,
                                               f"{refused.field}: {refused.detail}"))
            raise

    def _open(self, form: ComplaintForm, client: str | None, now: datetime) -> int:
        summary = " ".join(form.summary.split())
        if not summary:
            raise InvalidInput("summary", "say in a few words what the complaint is about")
        if len(summary) > LONGEST_SUMMARY:
            raise InvalidInput("summary", f"is {len(summary):,} characters long; the most is "
                               f"{LONGEST_SUMMARY}: write the rest in the description")
        if not form.description.strip():
            raise InvalidInput("description", "tell us what happened")
        customer, _ = self.senders.for_sender(form.email.strip(), form.name, FORM.name,
                                              FORM.role, now)
        fields = {"channel": "web", "summary": summary,
                  **({"category": form.category} if form.category else {})}
        body = form.description.strip()
        if form.phone and form.phone.strip():
            body = f"{body}\n\n(phone: {form.phone.strip()[:50]})"
        runtime, written = self.conversation.runtime, list[Path]()
        try:
            with self.store.transaction() as tx:
                case = runtime.start_in(tx, WORKFLOW, fields, FORM, now, customer)
                self.conversation.record_in(tx, case.id, EntryKind.FROM_CUSTOMER, body, FORM,
                                            now, written, form.files)
                tx.record_public(PublicRequest(PAGE, Outcome.OPENED, client, now, case.id,
                                               None))
        except BaseException:
            for path in written:  # the rows are gone: so are their files
                path.unlink(missing_ok=True)
            raise
        return case.id


def _detail(form: ComplaintForm) -> str:
    """What a refused form is remembered by: its sender, not its text."""
    return f"from {form.email.strip()[:200]!r}"
