"""Fixtures for the web tests: a casework with one user per role, and signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from engine.kernel.accounts import hash_password, new_token, token_digest
from engine.kernel.settings import Settings
from engine.wiring import Casework, open_casework
from tests.fixtures import ROOT, T0, add_test_customers, publish_shipped
from web.app import create_app

# One user per role; each signs in with "<name>-password".
PEOPLE = {"ann": "agent", "bob": "agent", "sam": "supervisor", "kim": "account_manager",
          "max": "manager", "ada": "auditor", "root": "admin"}
ROLE_USER = {role: name for name, role in PEOPLE.items() if name != "bob"}
NOW = T0 + timedelta(hours=1)  # the pages' clock: an hour after the tests' cases start
_HASHES: dict[str, str] = {}  # argon2 is slow on purpose: hash each password once per run

Client = TestClient[Litestar]


def password_of(name: str) -> str:
    return f"{name}-password"


@pytest.fixture
def desk(database_url: str, monkeypatch: pytest.MonkeyPatch,
         tmp_path: Path) -> Iterator[Casework]:
    """casework on the shipped workflows with a fixed clock, test customers and one user per
    role, over a fresh database of each kind (files attached to conversations in tmp_path)."""
    monkeypatch.setenv("CASEWORK_SECRET", "a test secret that signs CSRF cookies")
    app = open_casework(Settings(home=ROOT, database_url=database_url, now=NOW,
                                 attachments=tmp_path / "attachments"))
    publish_shipped(app)
    add_test_customers(app)
    for name, role in PEOPLE.items():
        if name not in _HASHES:
            _HASHES[name] = hash_password(password_of(name))
        app.store.add_user(name, [role], T0, name.title(), f"{name}@example.com",
                           _HASHES[name])
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def web(desk: Casework) -> Iterator[Client]:
    """A client that has not signed in."""
    with TestClient(create_app(desk)) as client:
        yield client


def sign_in(client: Client, name: str, password: str | None = None) -> Client:
    client.get("/login")
    response = client.post("/login", data={"name": name, "next": "/",
                                           "password": password or password_of(name),
                                           "_csrf_token": client.cookies["csrftoken"]},
                           follow_redirects=False)
    assert response.status_code == 302, response.text
    return client


@pytest.fixture
def client_as(desk: Casework) -> Iterator[Callable[[str], Client]]:
    """Clients signed in as the named users, each with its own cookies and app (a Litestar
    app runs one lifespan at a time), all over the same casework."""
    opened: list[Client] = []

    def make(name: str) -> Client:
        client = TestClient(create_app(desk))
        client.__enter__()
        opened.append(client)
        return sign_in(client, name)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def csrf(client: Client) -> dict[str, str]:
    """The form field that proves a post came from this site's own page."""
    return {"_csrf_token": client.cookies["csrftoken"]}


Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def api(desk: Casework) -> Iterator[Client]:
    """A client of the JSON API (it signs in by the tokens of `auth`)."""
    with TestClient(create_app(desk)) as client:
        yield client


@pytest.fixture
def auth(desk: Casework) -> Auth:
    """The Authorization header of a fresh API token of one of the PEOPLE."""
    def header(name: str) -> dict[str, str]:
        token = new_token()
        desk.accounts.add_token(name, token_digest(token), "tests", T0)
        return {"Authorization": f"Bearer {token}"}
    return header
