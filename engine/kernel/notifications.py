"""Notifications to people: what kinds there are, what one says, and whom it reaches by email.

A notification is written in the transaction of the step that causes it (an assignment, a note
that mentions someone, an SLA clock warning or breaching): it shows in the person's list in the
app, and, if they chose email for its kind, it is also a mail in the outbox to their address.
engine/cases/notifying.py decides who hears of what; the store keeps the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class NotificationKind(StrEnum):
    """Why a person is told (the `kind` column of notifications and of the email choices)."""

    ASSIGNED = "assigned"  # a case was given to them by somebody else
    MENTIONED = "mentioned"  # an internal note names them as @name
    SLA_WARNING = "sla_warning"  # a clock of their case, or of an escalation to them, is at risk
    SLA_BREACH = "sla_breach"  # ... has run out


# Whom a kind reaches by email until the person chooses otherwise. The SLA kinds are on, as the
# escalation notices were mailed to everyone they named before people could choose.
EMAIL_BY_DEFAULT: dict[NotificationKind, bool] = {
    NotificationKind.ASSIGNED: True,
    NotificationKind.MENTIONED: False,
    NotificationKind.SLA_WARNING: True,
    NotificationKind.SLA_BREACH: True,
}
TITLES: dict[NotificationKind, str] = {
    NotificationKind.ASSIGNED: "Assigned to me",
    NotificationKind.MENTIONED: "Mentioned in a note",
    NotificationKind.SLA_WARNING: "SLA at risk",
    NotificationKind.SLA_BREACH: "SLA breached",
}
MAX_TITLE = 300
MAX_TEXT = 2_000


@dataclass(frozen=True)
class NewNotification:
    """A notification to write: for `user`, of `kind`, about a case; `title` is one line (an
    email's subject), `text` a few (its body)."""

    user: str
    kind: NotificationKind
    case_id: int | None
    title: str
    text: str


@dataclass(frozen=True)
class Recipient:
    """A person a notification may reach: their address and the email choices they made
    (kinds they never chose for are missing: EMAIL_BY_DEFAULT decides those)."""

    name: str
    email: str | None
    choices: dict[NotificationKind, bool] = field(default_factory=dict)

    def wants_email(self, kind: NotificationKind) -> bool:
        return self.choices.get(kind, EMAIL_BY_DEFAULT[kind])
