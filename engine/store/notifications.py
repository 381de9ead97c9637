"""Notifications in SQL: the writes of the transaction that causes them (mixed into
SqlTransaction), and each person's list, unread count and email choices
(engine.cases.notifying.Notifications). Every read and write names its user: nobody reaches
another's rows."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.cases.notifying import Notification
from engine.kernel.errors import NotFound
from engine.kernel.notifications import (
    EMAIL_BY_DEFAULT,
    NewNotification,
    NotificationKind,
    Recipient,
)
from engine.store.db import Database
from engine.store.schema import notification_choices, notifications, users

MAX_ID = 2**63 - 1  # the largest id a database integer holds (as engine/store/repository.py)
_KINDS = frozenset(kind.value for kind in NotificationKind)
_UNREAD = (sa.select(sa.func.count()).select_from(notifications)
           .where(notifications.c.user_name == sa.bindparam("user"),
                  notifications.c.read_at.is_(None)))


class NotificationWrites:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection

    def add_notifications(self, items: Sequence[NewNotification], at: datetime) -> None:
        if items:
            self.connection.execute(sa.insert(notifications), [
                {"user_name": n.user, "kind": n.kind.value, "case_id": n.case_id,
                 "title": n.title[:300], "text": n.text, "created_at": at} for n in items])

    def notified(self, names: Collection[str]) -> dict[str, Recipient]:
        if not names:
            return {}
        rows = self.connection.execute(
            sa.select(users.c.name, users.c.email, notification_choices.c.kind,
                      notification_choices.c.email.label("chosen"))
            .select_from(users.outerjoin(notification_choices))
            .where(users.c.name.in_(sorted(names)), users.c.active.is_(True))).all()
        found: dict[str, Recipient] = {}
        for row in rows:
            person = found.setdefault(row.name, Recipient(row.name, row.email))
            if row.kind in _KINDS:  # none: no choice made; an unknown one: a kind retired
                person.choices[NotificationKind(row.kind)] = bool(row.chosen)
        return found


class SqlNotifications:
    """Each person's notifications and email choices."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def listing(self, user: str, unread_only: bool = False,
                limit: int = 100) -> list[Notification]:
        query = (sa.select(notifications.c.id, notifications.c.kind, notifications.c.case_id,
                           notifications.c.title, notifications.c.text,
                           notifications.c.created_at, notifications.c.read_at)
                 .where(notifications.c.user_name == user)
                 .order_by(notifications.c.id.desc()).limit(limit))
        if unread_only:
            query = query.where(notifications.c.read_at.is_(None))
        with self.database.reading() as connection:
            return [Notification(row.id, NotificationKind(row.kind), row.case_id, row.title,
                                 row.text, row.created_at, row.read_at)
                    for row in connection.execute(query)]

    def unread(self, user: str) -> int:
        with self.database.reading() as connection:
            return int(connection.execute(_UNREAD, {"user": user}).scalar_one())

    def mark_read(self, user: str, ids: Sequence[int] | None, at: datetime) -> int:
        mine = notifications.c.user_name == user
        query = sa.update(notifications).where(mine, notifications.c.read_at.is_(None))
        with self.database.writing() as connection:
            if ids is not None:
                wanted = sorted(set(ids))
                # an id no database integer holds is no row (and SQLite cannot take it)
                held = set(connection.execute(sa.select(notifications.c.id).where(
                    mine, notifications.c.id.in_([i for i in wanted if 0 < i <= MAX_ID])))
                    .scalars())
                missing = [i for i in wanted if i not in held]
                if missing:
                    raise NotFound(f"{user} has no notification {missing[0]}; their own are "
                                   "listed at /notifications")
                query = query.where(notifications.c.id.in_(wanted))
            return int(connection.execute(query.values(read_at=at)).rowcount)

    def email_choices(self, user: str) -> dict[NotificationKind, bool]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(notification_choices.c.kind,
                                                notification_choices.c.email)
                                      .where(notification_choices.c.user_name == user)).all()
        chosen = {row.kind: bool(row.email) for row in rows}
        return {kind: chosen.get(kind.value, default)
                for kind, default in EMAIL_BY_DEFAULT.items()}

    def choose_email(self, user: str, choices: Mapping[NotificationKind, bool]) -> None:
        mine = notification_choices.c.user_name == user
        with self.database.writing() as connection:
            connection.execute(sa.delete(notification_choices).where(
                mine, notification_choices.c.kind.in_([k.value for k in choices])))
            if choices:
                connection.execute(sa.insert(notification_choices), [
                    {"user_name": user, "kind": kind.value, "email": email}
                    for kind, email in choices.items()])
