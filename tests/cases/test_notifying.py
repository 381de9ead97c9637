"""Notifications to people on both databases: on assignment, on an @mention in a note; each
person's email choices; their list, unread count and marking read, and nobody else's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.cases.conversation import Conversation, EntryKind, Limits
from engine.cases.notifying import mentioned
from engine.cases.runtime import Actor
from engine.kernel.errors import NotFound
from engine.kernel.notifications import EMAIL_BY_DEFAULT, NotificationKind
from engine.store.schema import users
from engine.wiring import Casework
from tests.fixtures import T0

ANN = Actor("ann", "agent")
SUE = Actor("sue", "supervisor")
ASSIGNED, MENTIONED = NotificationKind.ASSIGNED, NotificationKind.MENTIONED


@pytest.fixture
def desk(casework: Casework) -> Casework:
    casework.store.add_user("ann", ["agent"], T0, email="ann@example.org")
    casework.store.add_user("bob", ["agent"], T0, email="bob@example.org")
    casework.store.add_user("j.doe", ["agent"], T0)  # no address
    casework.store.add_user("sue", ["supervisor"], T0, email="sue@example.org")
    casework.customers.add("C1", T0, email="c1@example.org")
    return casework


@pytest.fixture
def talk(desk: Casework, tmp_path: Path) -> Conversation:
    limits = Limits(tmp_path / "files", 1000, frozenset({"text/plain"}))
    return Conversation(desk.conversation.store, desk.runtime, limits)


def complaint(casework: Casework) -> int:
    return casework.runtime.start("complaint", {"channel": "phone", "summary": "Double charge"},
                                  ANN, T0, customer="C1").id


def told(casework: Casework, user: str) -> list[tuple[NotificationKind, int | None]]:
    return [(n.kind, n.case_id) for n in casework.notifications.listing(user)]


def mails(casework: Casework) -> list[tuple[str, str | None, str]]:
    """The mail to staff in the outbox (the customer's acknowledgement is there too)."""
    return [(n.recipient, n.address, n.subject) for n in casework.timers.notices()
            if n.audience == "person"]


@pytest.mark.parametrize(("text", "names"), [
    ("@bob please look", ["bob"]),
    ("ask @bob, then @j.doe.", ["bob", "j.doe"]),
    ("(@bob) and @bob again", ["bob"]),
    ("mail bob@example.org or @@bob", []),
    ("@", []),
    ("end with @sue-", ["sue"]),
])
def test_mentions_are_names_after_an_at_sign_that_starts_a_word(text: str,
                                                               names: list[str]) -> None:
    assert mentioned(text) == names


def test_an_assignment_to_someone_else_notifies_them_and_mails_by_default(
        desk: Casework) -> None:
    case_id = complaint(desk)
    desk.desk.assign(case_id, "bob", SUE, T0 + timedelta(minutes=1))
    assert told(desk, "bob") == [(ASSIGNED, case_id)]
    [notification] = desk.notifications.listing("bob")
    assert notification.title == f"complaint case {case_id} is now yours"
    assert "sue gave complaint case" in notification.text
    assert (notification.read_at, notification.link) == (None, f"/cases/{case_id}")
    assert mails(desk) == [("bob", "bob@example.org", notification.title)]
    assert desk.notifications.unread("bob") == 1


def test_claiming_a_case_for_oneself_notifies_nobody(desk: Casework) -> None:
    case_id = complaint(desk)
    desk.desk.assign(case_id, "ann", ANN, T0 + timedelta(minutes=1))
    assert desk.store.get_case(case_id).assignee == "ann"
    assert told(desk, "ann") == []
    assert mails(desk) == []


def test_an_action_that_assigns_notifies_the_assignee_unless_they_fired_it(
        desk: Casework) -> None:
    """complaint's triage assigns the case to whoever triages it: nobody else is told."""
    case_id = complaint(desk)
    desk.runtime.fire(case_id, "triage", ANN, T0, {"category": "billing", "severity": "low"})
    assert desk.store.get_case(case_id).assignee == "ann"
    assert told(desk, "ann") == []
    desk.desk.assign(case_id, "bob", SUE, T0 + timedelta(hours=1))  # a supervisor reassigns
    assert told(desk, "bob") == [(ASSIGNED, case_id)]
    assert told(desk, "ann") == []


def test_email_choices_are_kept_per_user_and_kind(desk: Casework) -> None:
    assert desk.notifications.email_choices("bob") == EMAIL_BY_DEFAULT
    desk.notifications.choose_email("bob", {ASSIGNED: False, MENTIONED: True})
    assert desk.notifications.email_choices("bob") == {**EMAIL_BY_DEFAULT, ASSIGNED: False,
                                                       MENTIONED: True}
    assert desk.notifications.email_choices("sue") == EMAIL_BY_DEFAULT
    case_id = complaint(desk)
    desk.desk.assign(case_id, "bob", SUE, T0 + timedelta(minutes=1))
    assert told(desk, "bob") == [(ASSIGNED, case_id)]  # in the app still
    assert mails(desk) == []  # but not by email
    desk.notifications.choose_email("bob", {ASSIGNED: True})
    assert desk.notifications.email_choices("bob")[MENTIONED] is True  # the others stay


def test_a_note_notifies_each_active_user_it_mentions_once(desk: Casework,
                                                          talk: Conversation) -> None:
    desk.notifications.choose_email("bob", {MENTIONED: True})
    with desk.database.writing() as connection:
        connection.execute(sa.update(users).where(users.c.name == "sue").values(active=False))
    case_id = complaint(desk)
    talk.record(case_id, EntryKind.NOTE, "@bob and @j.doe: see the bank's letter. @bob? "
                "Not @sue (gone), not @nobody, not bob@example.org, not me: @ann", ANN,
                T0 + timedelta(minutes=5))
    assert told(desk, "bob") == [(MENTIONED, case_id)]
    assert told(desk, "j.doe") == [(MENTIONED, case_id)]
    assert told(desk, "sue") == told(desk, "ann") == told(desk, "nobody") == []
    [note] = desk.notifications.listing("j.doe")
    assert note.title == f"ann mentioned you on case {case_id}"
    assert note.text.startswith("@bob and @j.doe: see the bank's letter.")
    # bob chose email for mentions; j.doe did not (mentions are off by default)
    assert mails(desk) == [("bob", "bob@example.org", note.title)]


def test_a_message_to_the_customer_mentions_nobody(desk: Casework,
                                                   talk: Conversation) -> None:
    case_id = complaint(desk)
    talk.record(case_id, EntryKind.TO_CUSTOMER, "Our colleague @bob will call you", ANN,
                T0 + timedelta(minutes=5))
    assert told(desk, "bob") == []


def test_a_step_that_fails_leaves_no_notification(desk: Casework) -> None:
    """Written in the step's transaction: when the step fails, nobody was told."""
    case_id = complaint(desk)
    with pytest.raises(RuntimeError), desk.store.transaction() as tx:
        case = tx.get_case(case_id)
        desk.runtime.amend(tx, case, case.evolve(assignee="bob"), None, [], SUE, T0)
        raise RuntimeError("the step fails after the assignment")
    assert desk.store.get_case(case_id).assignee is None
    assert told(desk, "bob") == []
    assert mails(desk) == []


def test_marking_read_touches_only_ones_own_notifications(desk: Casework) -> None:
    first, second = complaint(desk), complaint(desk)
    desk.desk.assign(first, "bob", SUE, T0 + timedelta(minutes=1))
    desk.desk.assign(second, "bob", SUE, T0 + timedelta(minutes=2))
    desk.desk.assign(first, "ann", SUE, T0 + timedelta(minutes=3))
    newest, oldest = desk.notifications.listing("bob")
    assert (newest.case_id, oldest.case_id) == (second, first)  # newest first
    [anns] = desk.notifications.listing("ann")
    later = T0 + timedelta(hours=1)
    with pytest.raises(NotFound, match="bob has no notification"):
        desk.notifications.mark_read("bob", [oldest.id, anns.id], later)  # one is not bob's
    assert desk.notifications.unread("bob") == 2  # nothing was marked
    with pytest.raises(NotFound, match=f"bob has no notification {2**70}"):
        desk.notifications.mark_read("bob", [2**70], later)  # no database integer holds it
    assert desk.notifications.unread("ann") == 1
    assert desk.notifications.mark_read("bob", [oldest.id], later) == 1
    assert desk.notifications.mark_read("bob", [oldest.id], later) == 0  # read already
    assert [n.id for n in desk.notifications.listing("bob", unread_only=True)] == [newest.id]
    assert desk.notifications.unread("bob") == 1
    assert desk.notifications.mark_read("bob", None, later) == 1
    assert desk.notifications.unread("bob") == 0
    assert desk.notifications.listing("bob")[0].read_at == later
    assert desk.notifications.unread("ann") == 1
