"""Signing in under attack: failures counted per client address and per account name in the
database, so that two server processes (here two casework instances over one database) count
alike; a new X-Forwarded-For per request escapes nothing; a locked account refuses even its
right password; every attempt is in the security log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from engine.cli.main import main
from engine.kernel.settings import WebSettings
from engine.kernel.sign_ins import SecurityEventKind
from engine.wiring import Casework, open_casework
from tests.web_fixtures import NOW, Client, password_of
from web.app import create_app

LIMITS = WebSettings(sign_in_per_address=9, sign_in_lock_after=4, sign_in_lock_minutes=15)


@pytest.fixture
def servers(desk: Casework) -> Iterator[tuple[Client, Client]]:
    """Two servers, each with its own casework over the one database (as two processes)."""
    settings = replace(desk.settings, web=LIMITS)
    first, second = open_casework(settings), open_casework(settings)
    with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
        yield a, b
    first.close()
    second.close()


def attempt(client: Client, name: str, password: str, forwarded: str | None = None
            ) -> tuple[int, str | None]:
    client.get("/login")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    answer = client.post("/login", data={"name": name, "password": password, "next": "/",
                                         "_csrf_token": client.cookies["csrftoken"]},
                         headers=headers, follow_redirects=False)
    return answer.status_code, answer.headers.get("retry-after")


def test_a_new_forwarded_address_per_request_does_not_escape_the_limit(
        servers: tuple[Client, Client]) -> None:
    answers = [attempt(servers[i % 2], f"nobody{i}", "wrong password", f"198.51.100.{i}")
               for i in range(11)]
    # nine failures of one address (the socket's peer: the header is nobody's we trust) ...
    assert [status for status, _ in answers] == [401] * 9 + [429] * 2
    retry = answers[-1][1]
    assert retry is not None and 0 < int(retry) <= 15 * 60
    # ... and then even a right password from that address waits
    assert attempt(servers[0], "ann", password_of("ann"), "203.0.113.9")[0] == 429


def test_an_account_locks_after_consecutive_failures_counted_by_both_servers(
        servers: tuple[Client, Client], desk: Casework) -> None:
    a, b = servers
    assert [attempt(a if i % 2 else b, "ann", "wrong password")[0] for i in range(4)] == \
        [401] * 4
    status, retry = attempt(a, "ann", password_of("ann"))
    assert (status, retry) == (429, "900")  # the right password, refused while locked
    unknown = [attempt(b, "nobody", "wrong password") for _ in range(5)]
    # an unknown name is answered alike: nothing tells which names exist
    assert [s for s, _ in unknown] == [401] * 4 + [429]
    kinds = [e.kind for e in desk.sign_ins.events("ann")]
    assert kinds[:3] == [SecurityEventKind.THROTTLED, SecurityEventKind.LOCKED,
                         SecurityEventKind.FAILED]


def test_a_success_does_not_reset_the_address_count_of_other_accounts(
        servers: tuple[Client, Client]) -> None:
    a, b = servers
    for number in range(8):
        assert attempt(a, f"x{number}", "wrong password")[0] == 401
    assert attempt(b, "ann", password_of("ann"))[0] == 302
    assert attempt(a, "x8", "wrong password")[0] == 401  # the ninth failure of the address
    assert attempt(b, "x9", "wrong password")[0] == 429


def test_an_admin_unlocks_an_account_and_the_log_says_so(
        servers: tuple[Client, Client], desk: Casework, database_url: str) -> None:
    a, _ = servers
    for _ in range(4):
        attempt(a, "bob", "wrong password")
    assert attempt(a, "bob", password_of("bob"))[0] == 429
    env = {"CASEWORK_DATABASE_URL": database_url, "CASEWORK_NOW": NOW.isoformat()}
    home = str(desk.settings.home)
    unlocked = CliRunner().invoke(main, ["users", "unlock", "bob", "--home", home], env=env)
    assert unlocked.exit_code == 0, unlocked.output
    assert "unlocked bob" in unlocked.output
    assert attempt(a, "bob", password_of("bob"))[0] == 302
    listed = CliRunner().invoke(main, ["users", "security-log", "--name", "bob", "--json",
                                       "--home", home], env=env)
    assert listed.exit_code == 0, listed.output
    assert '"kind": "unlocked"' in listed.output and '"kind": "succeeded"' in listed.output
    assert '"user_agent": "testclient"' in listed.output
