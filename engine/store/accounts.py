"""Users, their API tokens and the web's server-side sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.kernel.accounts import User, session_digest
from engine.kernel.errors import NotFound
from engine.store.db import Database
from engine.store.schema import api_tokens, users, web_sessions


def user_of(row: Any) -> User:
    m = row._mapping
    return User(m["name"], tuple(sorted(m["roles"])), m["display_name"], m["email"], m["active"])


class SqlAccounts:
    """Who may sign in, and how: password hashes, API token digests, sessions
    (engine.kernel.accounts.Accounts)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def user(self, name: str) -> User | None:
        with self.database.reading() as connection:
            row = connection.execute(sa.select(users).where(users.c.name == name)).first()
        return None if row is None else user_of(row)

    def users(self, role: str | None = None) -> list[User]:
        """Every user, by name; with `role`, the active ones holding it."""
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(users).order_by(users.c.name))
            found = [user_of(r) for r in rows]
        return [u for u in found if role is None or (u.active and role in u.roles)]

    def password_hash(self, name: str) -> str | None:
        with self.database.reading() as connection:
            found: str | None = connection.execute(
                sa.select(users.c.password_hash).where(users.c.name == name,
                                                       users.c.active.is_(True))).scalar()
        return found

    def set_password_hash(self, name: str, digest: str) -> None:
        with self.database.writing() as connection:
            done = connection.execute(sa.update(users).where(users.c.name == name)
                                      .values(password_hash=digest))
            if done.rowcount != 1:
                raise NotFound(f"there is no user '{name}'; add it with `casework users add`")

    # --- API tokens -----------------------------------------------------------------------

    def add_token(self, name: str, digest: str, label: str | None, at: datetime) -> None:
        with self.database.writing() as connection:
            if connection.execute(sa.select(users.c.id).where(users.c.name == name)).first() \
                    is None:
                raise NotFound(f"there is no user '{name}'; add it with `casework users add`")
            connection.execute(sa.insert(api_tokens).values(
                digest=digest, user_name=name, label=label, created_at=at))

    def token_user(self, digest: str) -> User | None:
        """The active user whose unrevoked token has this digest."""
        query = (sa.select(users).join(api_tokens, api_tokens.c.user_name == users.c.name)
                 .where(api_tokens.c.digest == digest, api_tokens.c.revoked_at.is_(None),
                        users.c.active.is_(True)))
        with self.database.reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else user_of(row)

    def revoke_tokens(self, name: str, at: datetime) -> int:
        with self.database.writing() as connection:
            done = connection.execute(
                sa.update(api_tokens).where(api_tokens.c.user_name == name,
                                            api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at))
        return int(done.rowcount)

    # --- web sessions ---------------------------------------------------------------------
    # Asked by session id (the cookie's value); the table holds only session_digest(id).

    def session(self, key: str, now: datetime) -> bytes | None:
        query = sa.select(web_sessions.c.data, web_sessions.c.expires_at).where(
            web_sessions.c.key == session_digest(key))
        with self.database.reading() as connection:
            row = connection.execute(query).first()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return bytes(row.data)

    def session_expiry(self, key: str) -> datetime | None:
        with self.database.reading() as connection:
            found: datetime | None = connection.execute(
                sa.select(web_sessions.c.expires_at).where(
                    web_sessions.c.key == session_digest(key))).scalar()
        return found

    def save_session(self, key: str, data: bytes, expires_at: datetime | None) -> None:
        digest = session_digest(key)
        with self.database.writing() as connection:
            done = connection.execute(sa.update(web_sessions).where(web_sessions.c.key == digest)
                                      .values(data=data, expires_at=expires_at))
            if done.rowcount == 0:
                connection.execute(sa.insert(web_sessions).values(
                    key=digest, data=data, expires_at=expires_at))

    def drop_sessions(self, keys: Sequence[str] | None = None,
                      expired_by: datetime | None = None) -> int:
        """Delete the given sessions, or those expired by an instant, or (neither) all."""
        statement = sa.delete(web_sessions)
        if keys is not None:
            statement = statement.where(web_sessions.c.key.in_([session_digest(k) for k in keys]))
        if expired_by is not None:
            statement = statement.where(web_sessions.c.expires_at <= expired_by)
        with self.database.writing() as connection:
            return int(connection.execute(statement).rowcount)
