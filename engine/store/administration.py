"""Accounts as admins change them (engine.kernel.administration.AdministrationStore): users,
API tokens and the sessions of a user, with each change's protection-log entry in the same
transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.accounts import User
from engine.kernel.administration import Token
from engine.kernel.protection import Act, ProtectionDraft, ProtectionEntry
from engine.store import protection_log
from engine.store.accounts import user_of
from engine.store.db import Database
from engine.store.schema import api_tokens, users, web_sessions
from engine.store.schema import protection_log as protection_log_table


def _token(row: Any) -> Token:
    return Token(row.id, row.user_name, row.label, row.created_at, row.revoked_at)


class SqlAdministrationTransaction:
    """One writing transaction; the first read locks every user row (PostgreSQL: FOR UPDATE;
    SQLite holds its write lock from BEGIN IMMEDIATE), so two admins' changes are decided one
    after the other: neither can disable the other's last fellow admin unseen."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._users: list[User] | None = None
        self._passwords: set[str] = set()

    def users(self) -> list[User]:
        if self._users is None:
            rows = self.connection.execute(
                sa.select(users).order_by(users.c.name).with_for_update()).all()
            self._users = [user_of(r) for r in rows]
            self._passwords = {r.name for r in rows if r.password_hash is not None}
        return list(self._users)

    def password_set(self, name: str) -> bool:
        self.users()
        return name in self._passwords

    def add_user(self, user: User, password_hash: str | None, at: datetime) -> None:
        self.connection.execute(sa.insert(users).values(
            name=user.name, roles=list(user.roles), display_name=user.display_name,
            active=user.active, created_at=at, email=user.email, password_hash=password_hash))
        self._users = None

    def update_user(self, user: User) -> None:
        self.connection.execute(sa.update(users).where(users.c.name == user.name).values(
            roles=list(user.roles), display_name=user.display_name, email=user.email,
            active=user.active))
        self._users = None

    def set_password_hash(self, name: str, digest: str) -> None:
        self.connection.execute(sa.update(users).where(users.c.name == name)
                                .values(password_hash=digest))
        self._users = None

    def add_token(self, name: str, digest: str, label: str | None, at: datetime) -> int:
        return int(self.connection.execute(sa.insert(api_tokens).values(
            digest=digest, user_name=name, label=label, created_at=at,
        ).returning(api_tokens.c.id)).scalar_one())

    def token(self, token_id: int) -> Token | None:
        row = self.connection.execute(sa.select(api_tokens).where(
            api_tokens.c.id == token_id).with_for_update()).first()
        return None if row is None else _token(row)

    def revoke_token(self, token_id: int, at: datetime) -> None:
        self.connection.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id)
                                .values(revoked_at=at))

    def drop_sessions_of(self, name: str) -> int:
        """End every web session signed in as `name` (their data names the user)."""
        keys = [row.key for row in self.connection.execute(
            sa.select(web_sessions.c.key, web_sessions.c.data)) if _session_user(row.data) == name]
        if keys:
            self.connection.execute(sa.delete(web_sessions).where(web_sessions.c.key.in_(keys)))
        return len(keys)

    def log(self, draft: ProtectionDraft, actor: str, at: datetime) -> None:
        protection_log.append_protection(self.connection, draft, actor, at)


def _session_user(data: bytes) -> str | None:
    try:
        session = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    name = session.get("user") if isinstance(session, dict) else None
    return name if isinstance(name, str) else None


class SqlAdministration:
    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def transaction(self) -> Iterator[SqlAdministrationTransaction]:
        with self.database.writing() as connection:
            yield SqlAdministrationTransaction(connection)

    def history(self, name: str, limit: int = 50) -> list[ProtectionEntry]:
        """The newest protection-log entries about a user's account, newest first."""
        query = (sa.select(protection_log_table).where(
            protection_log_table.c.subject == f"user:{name}")
            .order_by(protection_log_table.c.seq.desc()).limit(limit))
        with self.database.reading() as connection:
            return [ProtectionEntry(r.seq, Act(r.act), r.subject, r.actor, r.at, r.reason,
                                    r.payload, r.prev_hash, r.hash)
                    for r in connection.execute(query)]

    def tokens(self, name: str | None = None) -> list[Token]:
        query = sa.select(api_tokens).order_by(api_tokens.c.created_at.desc(),
                                               api_tokens.c.id.desc())
        if name is not None:
            query = query.where(api_tokens.c.user_name == name)
        with self.database.reading() as connection:
            return [_token(r) for r in connection.execute(query)]
