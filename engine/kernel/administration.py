"""Administering accounts: users (add, roles, disable, enable, a new password) and API tokens
(create, revoke), for admins in the browser and operators on the command line.

Each change is one transaction with its entry in the protection log (engine/kernel/
protection.py), the installation's tamper-evident log of who did what to data and to access:
what changed and who changed it, never a password or a token. Two rules hold whatever the order
of concurrent changes (the store locks the users while one is decided): an installation keeps
at least one active admin who can sign in, and a secret made here is shown once and stored only
as its hash.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from engine.kernel.accounts import (
    User,
    hash_password,
    new_token,
    token_digest,
)
from engine.kernel.errors import CaseworkError, InvalidInput, NotFound
from engine.kernel.protection import Act, ProtectionDraft, ProtectionEntry
from engine.kernel.roles import ROLES, Role

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,89}$")  # the log's subject is user:NAME
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MAX_LABEL = 200


class AdministrationRefused(CaseworkError):
    """A change the rules of accounts refuse (the last admin); nothing was changed."""


@dataclass(frozen=True)
class Token:
    """An API token as an admin sees it: never the token itself."""

    id: int
    user_name: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Secret:
    """A password or token made for someone: shown once, then only its hash is kept."""

    user_name: str
    value: str
    token_id: int | None = None


class AdministrationTransaction(Protocol):
    """One transaction of the store: every user is locked from the first read to the end."""

    def users(self) -> list[User]: ...
    def password_set(self, name: str) -> bool: ...
    def add_user(self, user: User, password_hash: str | None, at: datetime) -> None: ...
    def update_user(self, user: User) -> None: ...
    def set_password_hash(self, name: str, digest: str) -> None: ...
    def add_token(self, name: str, digest: str, label: str | None, at: datetime) -> int: ...
    def token(self, token_id: int) -> Token | None: ...
    def revoke_token(self, token_id: int, at: datetime) -> None: ...
    def drop_sessions_of(self, name: str) -> int: ...
    def log(self, draft: ProtectionDraft, actor: str, at: datetime) -> None: ...


class AdministrationStore(Protocol):
    def transaction(self) -> AbstractContextManager[AdministrationTransaction]: ...
    def tokens(self, name: str | None = None) -> list[Token]: ...
    def history(self, name: str, limit: int = 50) -> list[ProtectionEntry]:
        """The newest protection-log entries about a user's account, newest first."""


def checked_roles(roles: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(sorted(set(roles)))
    if not chosen:
        raise InvalidInput("roles", "choose at least one role")
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise InvalidInput("roles", f"unknown role(s) {', '.join(unknown)}; the roles are "
                           f"{', '.join(sorted(ROLES))}")
    return chosen


def new_password() -> str:
    """A password to hand to someone: 16 random URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def _subject(name: str) -> str:
    return f"user:{name}"


def _can_sign_in_as_admin(user: User, has_password: bool) -> bool:
    return user.active and Role.ADMIN in user.roles and has_password


class Administration:
    """The changes admins make to accounts, each checked, done and logged in one transaction."""

    def __init__(self, store: AdministrationStore) -> None:
        self.store = store

    def add_user(self, name: str, roles: Sequence[str], actor: str, at: datetime,
                 display_name: str | None = None, email: str | None = None,
                 password: str | None = None) -> User:
        """A new active user; without a password one cannot sign in until an admin sets one."""
        if not NAME.match(name):
            raise InvalidInput("name", "a user name is 1 to 90 letters, digits or . _ @ -, "
                               "starting with a letter or digit")
        user = User(name, checked_roles(roles), _optional(display_name, "display_name", 200),
                    _email(email), True)
        digest = hash_password(password) if password is not None else None
        with self.store.transaction() as tx:
            if any(u.name == name for u in tx.users()):
                raise InvalidInput("name", f"user '{name}' exists already")
            tx.add_user(user, digest, at)
            tx.log(ProtectionDraft(Act.USER_ADDED, _subject(name), "added", {
                "roles": list(user.roles), "display_name": user.display_name,
                "email": user.email, "password": digest is not None}), actor, at)
        return user

    def change_user(self, name: str, roles: Sequence[str], actor: str, at: datetime,
                    display_name: str | None = None, email: str | None = None) -> User:
        """New roles, display name and email for a user; taking the role admin from the last
        admin who can sign in is refused."""
        chosen = checked_roles(roles)
        shown, mail = _optional(display_name, "display_name", 200), _email(email)
        with self.store.transaction() as tx:
            before = _one(tx.users(), name)
            after = User(name, chosen, shown, mail, before.active)
            if after == before:
                return before
            _keep_an_admin(tx, before, after)
            tx.update_user(after)
            tx.log(ProtectionDraft(Act.USER_CHANGED, _subject(name), "changed",
                                   _changes(before, after)), actor, at)
        return after

    def set_active(self, name: str, active: bool, actor: str, at: datetime) -> User:
        """Disable (signed out at once, its tokens refused) or enable a user."""
        with self.store.transaction() as tx:
            before = _one(tx.users(), name)
            if before.active == active:
                return before
            after = User(name, before.roles, before.display_name, before.email, active)
            _keep_an_admin(tx, before, after)
            tx.update_user(after)
            if not active:
                tx.drop_sessions_of(name)
            tx.log(ProtectionDraft(Act.USER_ENABLED if active else Act.USER_DISABLED,
                                   _subject(name), "enabled" if active else "disabled", {}),
                   actor, at)
        return after

    def set_password(self, name: str, actor: str, at: datetime,
                     password: str | None = None) -> Secret:
        """A new password (the one given, or one made here to be shown once); the user's other
        sessions end, so whoever knew the old one is signed out."""
        value = password if password is not None else new_password()
        digest = hash_password(value)  # refuses a short one
        with self.store.transaction() as tx:
            _one(tx.users(), name)
            tx.set_password_hash(name, digest)
            ended = tx.drop_sessions_of(name)
            tx.log(ProtectionDraft(Act.PASSWORD_SET, _subject(name), "password set",
                                   {"sessions_ended": ended}), actor, at)
        return Secret(name, value)

    def create_token(self, name: str, label: str | None, actor: str, at: datetime) -> Secret:
        """An API token for a user: the Secret's value is shown once and kept nowhere."""
        shown = _optional(label, "label", MAX_LABEL)
        token = new_token()
        with self.store.transaction() as tx:
            user = _one(tx.users(), name)
            if not user.active:
                raise InvalidInput("name", f"{name} is disabled: enable the account before "
                                   "making it a token")
            token_id = tx.add_token(name, token_digest(token), shown, at)
            tx.log(ProtectionDraft(Act.TOKEN_CREATED, _subject(name), "token created",
                                   {"token": token_id, "label": shown}), actor, at)
        return Secret(name, token, token_id)

    def revoke_token(self, token_id: int, actor: str, at: datetime) -> Token:
        with self.store.transaction() as tx:
            token = tx.token(token_id)
            if token is None:
                raise NotFound(f"there is no API token {token_id}")
            if token.revoked_at is not None:
                return token
            tx.revoke_token(token_id, at)
            tx.log(ProtectionDraft(Act.TOKEN_REVOKED, _subject(token.user_name),
                                   "token revoked", {"token": token_id, "label": token.label}),
                   actor, at)
        return Token(token.id, token.user_name, token.label, token.created_at, at)

    def tokens(self, name: str | None = None) -> list[Token]:
        return self.store.tokens(name)

    def history(self, name: str) -> list[ProtectionEntry]:
        return self.store.history(name)


def _one(users: list[User], name: str) -> User:
    for user in users:
        if user.name == name:
            return user
    raise NotFound(f"there is no user '{name}'")


def _keep_an_admin(tx: AdministrationTransaction, before: User, after: User) -> None:
    """Refuse a change that leaves no active admin who can sign in."""
    has_password = tx.password_set(before.name)
    if not _can_sign_in_as_admin(before, has_password) or \
            _can_sign_in_as_admin(after, has_password):
        return
    others = [u for u in tx.users() if u.name != before.name
              and _can_sign_in_as_admin(u, tx.password_set(u.name))]
    if not others:
        what = "disable" if not after.active else "take the role admin from"
        raise AdministrationRefused(
            f"refused to {what} {before.name}: it is the last active admin who can sign in, "
            "and without one nobody can administer accounts; make another admin first")


def _changes(before: User, after: User) -> dict[str, Any]:
    fields = ("roles", "display_name", "email")
    return {f: {"from": _plain(getattr(before, f)), "to": _plain(getattr(after, f))}
            for f in fields if getattr(before, f) != getattr(after, f)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _optional(text: str | None, field: str, limit: int) -> str | None:
    value = (text or "").strip()
    if len(value) > limit:
        raise InvalidInput(field, f"at most {limit} characters, not {len(value)}")
    return value or None


def _email(text: str | None) -> str | None:
    value = _optional(text, "email", 320)
    if value is not None and not EMAIL.match(value):
        raise InvalidInput("email", f"'{value}' is not an email address (name@domain)")
    return value
