"""Who hears of what, and how: notifications to people in the app and, as each chooses, by email.

The steps that cause a notification call `deliver` in their own transaction: an assignment to
somebody else (engine/cases/runtime.py, whatever assigned: a person, an action, a start), an
internal note naming @someone (engine/cases/conversation.py), an SLA clock warning or breaching
(engine/jobs/escalation.py). Only active users are told; each is told once per step and kind.
A person who chose email for the kind (engine.kernel.notifications.EMAIL_BY_DEFAULT until they
choose) also gets a mail in the outbox, to their address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.kernel.history import EventDraft
from engine.kernel.notifications import MAX_TITLE, NewNotification, NotificationKind
from engine.kernel.records import CaseRecord, Notice, Transaction

# "@name" where a word starts: not the middle of an address (bob@example.org) nor "@@name".
# A name may hold dots and dashes (j.doe), but a sentence's full stop is not part of it.
_MENTION = re.compile(r"(?<![\w@.+-])@(\w[\w.-]*)")
EXCERPT = 280  # characters of a note quoted in the notification


@dataclass(frozen=True)
class Notification:
    """One notification as its person's list shows it."""

    id: int
    kind: NotificationKind
    case_id: int | None
    title: str
    text: str
    created_at: datetime
    read_at: datetime | None = None

    @property
    def link(self) -> str | None:
        return f"/cases/{self.case_id}" if self.case_id is not None else None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "case_id": self.case_id,
                "title": self.title, "text": self.text,
                "created_at": self.created_at.isoformat(),
                "read_at": self.read_at.isoformat() if self.read_at else None}


class Notifications(Protocol):
    """Each person's notifications and email choices (engine/store/notifications.py). Every
    method acts on the named user's own rows only."""

    def listing(self, user: str, unread_only: bool = False,
                limit: int = 100) -> list[Notification]:
        """The user's notifications, newest first."""
    def unread(self, user: str) -> int:
        """How many of the user's notifications are unread (the page header's count)."""
    def mark_read(self, user: str, ids: Sequence[int] | None, at: datetime) -> int:
        """Mark the user's notifications `ids` (None: all) read; how many were unread.
        NotFound, and nothing marked, if an id is not one of the user's."""
    def email_choices(self, user: str) -> dict[NotificationKind, bool]:
        """For every kind, whether it reaches the user by email (their choice, else the
        default)."""
    def choose_email(self, user: str, choices: Mapping[NotificationKind, bool]) -> None:
        """Keep the user's choices of which kinds reach them by email."""


def mentioned(text: str) -> list[str]:
    """The user names a text mentions as @name, in order, each once."""
    names: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".-")
        if name:
            names.setdefault(name, None)
    return list(names)


def deliver(tx: Transaction, notifications: Iterable[NewNotification],
            at: datetime) -> list[NewNotification]:
    """Write the notifications to active users (once per user, kind and case) and queue a mail
    for each whose person chose email for its kind; what was written."""
    unique: dict[tuple[str, NotificationKind, int | None], NewNotification] = {}
    for item in notifications:
        unique.setdefault((item.user, item.kind, item.case_id), item)
    if not unique:
        return []
    people = tx.notified({item.user for item in unique.values()})
    written = [item for item in unique.values() if item.user in people]
    tx.add_notifications(written, at)
    tx.add_notices([Notice(item.user, people[item.user].email, item.title[:MAX_TITLE],
                           _mail_body(item), item.case_id)
                    for item in written if people[item.user].wants_email(item.kind)], at)
    return written


def _mail_body(item: NewNotification) -> str:
    text = item.text.rstrip() + "\n"
    if item.case_id is not None and f"case {item.case_id}" not in text.lower():
        text += f"\n(case {item.case_id})\n"
    return text


def assignments(case: CaseRecord, drafts: Sequence[EventDraft],
                actor: str) -> list[NewNotification]:
    """A notification for whoever the drafts give the case to, unless they gave it to
    themselves: a `case.assigned`, or a new case an action assigned (`case.created`)."""
    found = []
    for draft in drafts:
        if draft.name == "case.assigned":
            to = draft.payload.get("to")
        elif draft.name == "case.created":
            to = draft.payload.get("assignee")
        else:
            continue
        if to and to != actor:
            found.append(NewNotification(
                to, NotificationKind.ASSIGNED, case.id,
                f"{case.workflow} case {case.id} is now yours",
                f"{actor} gave {case.workflow} case {case.id} to you"
                f" (state {case.state}{f', queue {case.queue}' if case.queue else ''})."))
    return found


def mentions(case_id: int, body: str, author: str) -> list[NewNotification]:
    """A notification for each person an internal note mentions, except its author."""
    quoted = body if len(body) <= EXCERPT else body[:EXCERPT - 1].rstrip() + "…"
    return [NewNotification(name, NotificationKind.MENTIONED, case_id,
                            f"{author} mentioned you on case {case_id}", quoted)
            for name in mentioned(body) if name != author]
