"""A real `casework serve` over SQLite for tests that talk HTTP to it (the live schemathesis
run, the rule editor under an alias bomb): a temporary home with the shipped definitions,
the test customers, one user per role (tests.web_fixtures.PEOPLE) and an admin API token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.cases.runtime import Actor
from engine.kernel.accounts import hash_password, new_token, token_digest
from engine.kernel.settings import Settings
from engine.store import Database
from engine.store.upgrades import upgrade
from engine.wiring import Casework, open_casework
from tests.browser.served import served
from tests.fixtures import ROOT, T0, add_test_customers, publish_shipped
from tests.web_fixtures import NOW, PEOPLE, password_of


@dataclass(frozen=True)
class Live:
    """A served casework: its base URL and the bearer token of its admin ('root')."""

    url: str
    token: str
    home: Path

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _cases(app: Casework) -> None:
    """A few cases for generated ids to land on: open, triaged, commented."""
    ann = Actor("ann", "agent")
    for summary in ("Parcel arrived damaged", "Invoice is wrong"):
        case = app.runtime.start("complaint", {"channel": "web", "summary": summary}, ann, T0,
                                 customer="C1")
    app.runtime.fire(case.id, "triage", ann, T0, {"category": "billing", "severity": "low"})
    app.desk.comment(case.id, "called back", ann, T0)


def prepare(home: Path) -> str:
    """The home's database with everything a test needs; the admin's API token."""
    for folder in ("workflows", "rules"):
        shutil.copytree(ROOT / folder, home / folder)
    url = f"sqlite:///{home / 'casework.db'}"  # where `casework serve --home` looks
    database = Database(url)
    upgrade(database)
    database.dispose()
    app = open_casework(Settings(home=home, database_url=url, now=NOW))
    try:
        publish_shipped(app)
        add_test_customers(app)
        for name, role in PEOPLE.items():
            app.store.add_user(name, [role], T0, name.title(), f"{name}@example.com",
                               hash_password(password_of(name)))
        token = new_token()
        app.accounts.add_token("root", token_digest(token), "live tests", T0)
        _cases(app)
    finally:
        app.close()
    return token


@contextmanager
def live_server(home: Path) -> Iterator[Live]:
    """`casework serve` on a free port over a prepared `home`, its clock at NOW."""
    token = prepare(home)
    with served(home, now=NOW.isoformat()) as url:
        yield Live(url, token, home)
