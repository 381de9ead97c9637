"""People's credentials: argon2 password hashes and API tokens (pure; the store keeps them,
behind the `Accounts` protocol).

A password is stored only as its argon2id hash (argon2-cffi's defaults, RFC 9106's low-memory
profile). An API token is shown once when it is made and stored only as its SHA-256: a token
is 32 random bytes, so a fast hash is enough to make a stolen table useless. A web session id
(the cookie's value) is likewise stored only as its SHA-256: a copy of the table or a backup
signs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.kernel.errors import InvalidInput
from engine.kernel.roles import Permission, may

_HASHER = PasswordHasher()
MIN_PASSWORD = 8
TOKEN_PREFIX = "cw_"


@cache
def _dummy_hash() -> str:
    """What a wrong password for an unknown user is checked against, so that it costs as much
    as for a known one; made at the first sign-in, not by every command that imports this."""
    return _HASHER.hash("no such user, no such password")


@dataclass(frozen=True)
class User:
    """A person who signs in: name, roles, and whether the account may be used."""

    name: str
    roles: tuple[str, ...]
    display_name: str | None = None
    email: str | None = None
    active: bool = True

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def holds(self, *roles: str) -> bool:
        return bool(set(self.roles) & set(roles))

    def may(self, permission: Permission) -> bool:
        """Whether one of the user's roles holds `permission` (engine.kernel.roles)."""
        return may(self.roles, permission)


class Accounts(Protocol):
    """Who may sign in, and how: users, password hashes, API token digests and the web's
    server-side sessions (engine/store/accounts.py keeps them)."""

    def user(self, name: str) -> User | None: ...
    def users(self, role: str | None = None) -> list[User]:
        """Every user, by name; with `role`, the active ones holding it."""
    def password_hash(self, name: str) -> str | None:
        """The active user's password hash, None if there is none."""
    def set_password_hash(self, name: str, digest: str) -> None: ...
    def add_token(self, name: str, digest: str, label: str | None, at: datetime) -> None: ...
    def token_user(self, digest: str) -> User | None:
        """The active user whose unrevoked token has this digest."""
    def revoke_tokens(self, name: str, at: datetime) -> int:
        """Revoke every token of the user; how many there were."""
    # A session is named by its id, the cookie's value; what is stored is session_digest(id).
    def session(self, key: str, now: datetime) -> bytes | None:
        """A session's data, None if there is none or it expired by `now`."""
    def session_expiry(self, key: str) -> datetime | None: ...
    def save_session(self, key: str, data: bytes, expires_at: datetime | None) -> None: ...
    def drop_sessions(self, keys: Sequence[str] | None = None,
                      expired_by: datetime | None = None) -> int:
        """Delete the given sessions, or those expired by an instant, or (neither) all."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("password", f"is {len(password)} characters long; use at least "
                           f"{MIN_PASSWORD}")
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; a missing hash matches nothing (same cost)."""
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh API token, to be shown once."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_digest(session_id: str) -> str:
    """What the session table keeps of a session id: its SHA-256 (a session id is a long random
    string, like a token, so a fast hash is enough)."""
    return hashlib.sha256(session_id.encode()).hexdigest()
