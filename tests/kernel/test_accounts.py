"""Passwords, API tokens and web sessions (engine/kernel/accounts.py, engine/store/accounts.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.kernel.accounts import (
    hash_password,
    new_token,
    password_matches,
    token_digest,
)
from engine.kernel.errors import InvalidInput, NotFound
from engine.wiring import Casework
from tests.fixtures import T0


def test_a_password_is_kept_only_as_an_argon2id_hash() -> None:
    digest = hash_password("correct horse")
    assert digest.startswith("$argon2id$")
    assert "correct horse" not in digest
    assert password_matches(digest, "correct horse")
    assert not password_matches(digest, "correct horsE")


def test_no_hash_or_a_damaged_hash_matches_nothing() -> None:
    assert not password_matches(None, "anything at all")
    assert not password_matches("not-a-hash", "anything at all")


def test_a_short_password_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidInput, match="is 5 characters long; use at least 8"):
        hash_password("short")


def test_tokens_are_random_and_stored_as_digests() -> None:
    first, second = new_token(), new_token()
    assert first != second and first.startswith("cw_") and len(first) > 40
    assert token_digest(first) == token_digest(first) != token_digest(second)
    assert len(token_digest(first)) == 64


def test_a_token_names_its_user_until_revoked(casework: Casework) -> None:
    casework.store.add_user("ann", ["agent"], T0)
    token = new_token()
    casework.accounts.add_token("ann", token_digest(token), "crm", T0)
    user = casework.accounts.token_user(token_digest(token))
    assert user is not None and (user.name, user.roles) == ("ann", ("agent",))
    assert casework.accounts.token_user(token_digest(new_token())) is None
    assert casework.accounts.revoke_tokens("ann", T0) == 1
    assert casework.accounts.token_user(token_digest(token)) is None


def test_a_token_for_an_unknown_user_is_refused(casework: Casework) -> None:
    with pytest.raises(NotFound, match="there is no user 'nobody'"):
        casework.accounts.add_token("nobody", token_digest(new_token()), None, T0)


def test_passwords_are_set_and_read_per_user(casework: Casework) -> None:
    casework.store.add_user("ann", ["agent"], T0, password_hash=hash_password("first-secret"))
    assert password_matches(casework.accounts.password_hash("ann"), "first-secret")
    casework.accounts.set_password_hash("ann", hash_password("second-secret"))
    assert password_matches(casework.accounts.password_hash("ann"), "second-secret")
    assert casework.accounts.password_hash("nobody") is None
    with pytest.raises(NotFound):
        casework.accounts.set_password_hash("nobody", hash_password("whatever-it-is"))


def test_sessions_are_kept_until_they_expire(casework: Casework) -> None:
    accounts = casework.accounts
    accounts.save_session("s1", b'{"user": "ann"}', T0 + timedelta(hours=1))
    accounts.save_session("s2", b'{"user": "bob"}', T0 + timedelta(hours=3))
    assert accounts.session("s1", T0) == b'{"user": "ann"}'
    assert accounts.session("s1", T0 + timedelta(hours=2)) is None
    accounts.save_session("s1", b'{"user": "ann", "x": 1}', T0 + timedelta(hours=5))
    assert accounts.session("s1", T0 + timedelta(hours=2)) == b'{"user": "ann", "x": 1}'
    assert accounts.session_expiry("s1") == T0 + timedelta(hours=5)
    assert accounts.drop_sessions(expired_by=T0 + timedelta(hours=4)) == 1
    assert accounts.session("s2", T0) is None
    assert accounts.drop_sessions(["s1"]) == 1
    assert accounts.session("s1", T0) is None
