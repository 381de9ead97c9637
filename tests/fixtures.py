"""Fixtures for tests/ and features/ (loaded as a plugin: see pyproject), on both databases.

PostgreSQL: CASEWORK_TEST_POSTGRES_URL (an admin URL) if set, else a server this session starts
from the installed binaries. When neither is possible the PostgreSQL runs are skipped, except
under CI, where that is an error: CI must test both databases.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.kernel.settings import Settings
from engine.store import Database
from engine.store.upgrades import upgrade
from engine.wiring import Casework, open_casework
from engine.workflows.registry import load_tables
from tests.pgserver import start_server

ROOT = Path(__file__).resolve().parent.parent
# The shared real data lies beside the checkout (../shared), for developers and CI alike.
CDNOW = Path(os.environ.get("CASEWORK_CDNOW_DIR") or ROOT.parent / "shared" / "data" / "cdnow")
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server with a migrated template database."""
    url = os.environ.get("CASEWORK_TEST_POSTGRES_URL")
    server = None
    if not url:
        try:
            server = start_server()
        except (FileNotFoundError, RuntimeError) as exc:
            if os.environ.get("CI"):
                pytest.fail(f"CI must test PostgreSQL, but no server could be started: {exc}")
            pytest.skip(f"no PostgreSQL server: {exc}")
        url = server.url
    _create_database(url, "casework_template", template=None)
    template = Database(_with_database(url, "casework_template"))
    upgrade(template)
    template.dispose()
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


def _with_database(url: str, name: str) -> str:
    return str(sa.make_url(url).set(database=name))


def _create_database(admin_url: str, name: str, template: str | None) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        clause = f' TEMPLATE "{template}"' if template else ""
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
    engine.dispose()


def empty_database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of `kind` ("sqlite" or "postgresql") with nothing in it, not even
    a schema (a SQLite file not made yet)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'empty-{next(_counter)}.db'}"
    admin = request.getfixturevalue("postgres_admin_url")
    name = f"casework_empty_{os.getpid()}_{next(_counter)}"
    _create_database(admin, name, template=None)
    return _with_database(admin, name)


def database_at(revision: str, request: pytest.FixtureRequest,
                tmp_path: Path) -> Iterator[Database]:
    """An empty database of the kind `request.param` names ("sqlite" or "postgresql") migrated
    only to `revision`, for tests of the migrations after it (a fixture body: `yield from`)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        name = f"casework_at_{revision}_{os.getpid()}_{next(_counter)}"
        _create_database(admin, name, template=None)
        url = _with_database(admin, name)
    database = Database(url)
    upgrade(database, revision)
    try:
        yield database
    finally:
        database.dispose()


def add_raw_definition(connection: sa.Connection, at: datetime) -> None:
    """Definition 1 (workflow 'w' v1), for case rows a migration test writes by hand; `at` as
    the database stores it (naive UTC on SQLite)."""
    connection.execute(sa.text(
        "INSERT INTO definitions (id, kind, name, version, content_hash, source, source_path, "
        "loaded_at) VALUES (1, 'workflow', 'w', 1, 'h', 's', 'p', :at)"), {"at": at})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'casework.db'}"
        database = Database(url)
        upgrade(database)
        database.dispose()
        return url
    return str(request.getfixturevalue("postgres_database_url"))


@pytest.fixture
def casework(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Casework]:
    """casework on the shipped workflows, over a fresh database of each kind."""
    monkeypatch.setenv("CASEWORK_SECRET", SECRET)  # survey links: no key file in the checkout
    yield from _casework(database_url)


@pytest.fixture
def postgres_database_url(postgres_admin_url: str) -> str:
    name = f"casework_test_{os.getpid()}_{next(_counter)}"
    _create_database(postgres_admin_url, name, template="casework_template")
    return _with_database(postgres_admin_url, name)


@pytest.fixture
def postgres_casework(postgres_database_url: str,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[Casework]:
    """casework over a fresh PostgreSQL database only, for what only PostgreSQL can show."""
    monkeypatch.setenv("CASEWORK_SECRET", SECRET)
    yield from _casework(postgres_database_url)


def _casework(database_url: str) -> Iterator[Casework]:
    settings = Settings(home=ROOT, database_url=database_url)
    app = open_casework(settings)
    publish_shipped(app)
    try:
        yield app
    finally:
        app.close()


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning
SECRET = "a test secret that signs survey links"
# The customers the tests' cases are about (a case names an existing customer).
TEST_CUSTOMERS = ("C1", "C7")


def add_test_customers(app: Casework) -> None:
    for customer in TEST_CUSTOMERS:
        app.customers.add(customer, T0)


def publish_shipped(app: Casework, at: datetime = T0) -> None:
    """What an operator does first: publish the shipped tables, load the shipped workflows."""
    for spec, text in load_tables(ROOT):
        app.registry.publish_table(spec, text, at)
    app.registry.deploy_home(ROOT, at)


def tier_table(values: str, version: int = 2, key: str = "key") -> str:
    """The shipped customer_tier table as another version, deciding among `values` (a YAML
    list), its key customers tiered `key`."""
    text = (ROOT / "rules" / "customer_tier.yaml").read_text(encoding="utf-8")
    assert text.count("version: 1\n") == 1
    return (text.replace("version: 1\n", f"version: {version}\n")
            .replace("tier: {values: [strategic, key, ordinary]}", f"tier: {{values: {values}}}")
            .replace("{tier: key}", f"{{tier: {key}}}"))


def expiring_workflow(name: str = "expiring") -> str:
    """A workflow whose only timer moves a case from `open` to `done` an hour after it starts:
    for tests and benchmarks of the timer worker."""
    return f"""\
workflow: {name}
version: 1
fields:
  note: {{type: text}}
states:
  open: {{initial: true}}
  done: {{final: true}}
transitions:
  - trigger: expire
    from: open
    to: done
    roles: [supervisor]
timers:
  - name: expiry
    in: open
    after: 1h
    fire: expire
"""


def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """A "billion laughs" under `description:`, as in issue 20: each level an anchored list of
    `width` aliases to the level before, so the text grows by a line a level and the document
    it describes by `width` times; the last level's aliases are on line `levels + 1`."""
    lines = [f"  l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return "description:\n" + "\n".join(lines) + "\n"


def deep_list(depth: int = 100_000) -> str:
    """`description:` holding a list `depth` lists deep, on line 1 (issue 20: a RecursionError)."""
    return f"description: {'[' * depth}{']' * depth}\n"
