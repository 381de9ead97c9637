"""People's credentials: argon2 password hashes and API tokens (pure; the store keeps them).

A password is stored only as its argon2id hash (argon2-cffi's defaults, RFC 9106's low-memory
profile). An API token is shown once when it is made and stored only as its SHA-256: a token
is 32 random bytes, so a fast hash is enough to make a stolen table useless.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import cache

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
