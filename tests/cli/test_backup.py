"""`casework backup` and `casework restore`, as an operator runs them, on both databases: a
backup taken while cases are fired and the worker fires timers restores into a new database
equal to its manifest, with every chain intact, and serves; bad backups are refused with
nothing changed."""

from __future__ import annotations

import json
import os
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from engine.cases.runtime import Actor
from engine.cli.main import main
from engine.kernel.settings import Settings
from engine.store import Database
from engine.store.backups import figures_of
from engine.store.upgrades import head_revision
from engine.wiring import Casework, open_casework
from engine.workflows.loading import load_workflow_text
from tests.fixtures import (
    ROOT,
    T0,
    add_test_customers,
    database_at,
    empty_database_url,
    expiring_workflow,
)

AGENT = Actor("ann", "agent")
SUPERVISOR = Actor("sam", "supervisor")
LATER = T0 + timedelta(hours=2)  # every expiring case's timer is due by then
WAIT = 120.0  # seconds the load may take to reach a figure before the test fails


def cli(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--home", str(ROOT)],
                              env={"CASEWORK_DATABASE_URL": url})


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@pytest.fixture
def target_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the same kind as the `casework` fixture's, to restore into."""
    return empty_database_url(kind_of(database_url), request, tmp_path)


def complaint(app: Casework) -> int:
    case = app.runtime.start("complaint", {"channel": "phone", "summary": "Invoice wrong"},
                             AGENT, T0, customer="C1")
    return app.runtime.fire(case.id, "triage", AGENT, T0, {"category": "billing"}).id


def counts(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.reading() as connection:
            return {name: int(connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one())
                for name in sa.inspect(connection).get_table_names()}
    finally:
        database.dispose()


def customer_ids(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.reading() as connection:
            found = connection.exec_driver_sql("SELECT id FROM customers").scalars()
            return sorted(str(i) for i in found)
    finally:
        database.dispose()


class Load:
    """Threads firing cases (complaints triaged, expiring cases started) and a worker firing
    the expiring cases' timers, until stopped; any error they meet is kept to be raised."""

    def __init__(self, app: Casework) -> None:
        self.app = app
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._guarded, args=(body,))
                        for body in (self._fire, self._fire, self._work)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=WAIT)
        assert not any(t.is_alive() for t in self.threads)
        if self.errors:
            raise self.errors[0]

    def _guarded(self, body: Callable[[], None]) -> None:
        try:
            while not self.stop.is_set():
                body()
        except BaseException as exc:
            self.errors.append(exc)
            self.stop.set()

    def _fire(self) -> None:
        complaint(self.app)
        self.app.runtime.start("expiring", {"note": "load"}, SUPERVISOR, T0)

    def _work(self) -> None:
        self.app.worker.fire_due_timers(LATER)

    def until(self, what: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not what():
            assert not self.errors and time.monotonic() < deadline, self.errors
            time.sleep(0.05)


def states(url: str) -> list[tuple[str, str]]:
    """(case state, its expiry timer's state) of every expiring case."""
    database = Database(url)
    try:
        with database.reading() as connection:
            return [(str(s), str(t)) for s, t in connection.exec_driver_sql(
                "SELECT c.state, t.state FROM cases c JOIN timers t ON t.case_id = c.id "
                "WHERE c.workflow = 'expiring' AND t.name = 'expiry'")]
    finally:
        database.dispose()


def test_a_backup_taken_under_load_restores_equal_to_its_manifest_and_serves(
        casework: Casework, database_url: str, target_url: str, tmp_path: Path) -> None:
    casework.registry.deploy(load_workflow_text(expiring_workflow(), "expiring.yaml"),
                             expiring_workflow(), T0)
    add_test_customers(casework)
    backup = tmp_path / "casework-backup.zip"

    def cases_now() -> int:
        return counts(database_url)["cases"]

    with Load(casework) as load:
        load.until(lambda: cases_now() >= 20 and ("done", "fired") in states(database_url))
        taken = cli(database_url, "backup", str(backup))
        assert taken.exit_code == 0, taken.output
        held = json.loads(zipfile.ZipFile(backup).read("manifest.json"))
        load.until(lambda: cases_now() > held["figures"]["counts"]["cases"] + 4)
    assert not backup.with_name(backup.name + ".partial").exists()
    assert held["database"] == kind_of(database_url)
    assert held["schema_revision"] == head_revision()

    restored = cli(target_url, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "counts and chain heads match its manifest" in restored.stdout
    assert f"ok: {held['figures']['counts']['cases']} case and" in restored.stdout
    assert counts(target_url) == held["figures"]["counts"]  # every table, as in the snapshot
    assert counts(database_url)["cases"] > held["figures"]["counts"]["cases"]  # taken mid-load
    app = open_casework(Settings(home=ROOT, database_url=target_url))
    try:
        with app.database.reading() as connection:
            figures = figures_of(connection)
        assert (figures.cases.count, figures.cases.sha256) == (
            held["figures"]["cases"]["count"], held["figures"]["cases"]["sha256"])
        assert (figures.customers.count, figures.customers.sha256) == (
            held["figures"]["customers"]["count"], held["figures"]["customers"]["sha256"])
        assert app.verify_history()[2] == []
        # one instant: a case is done exactly when its timer fired, in the copy too
        assert all((s == "done") == (t == "fired") for s, t in states(target_url))
        new_case = complaint(app)  # the restored database serves
        assert new_case > held["figures"]["counts"]["cases"]
        assert app.store.get_case(new_case).state == "in_progress"
    finally:
        app.close()


# --- refusals: nothing changed -----------------------------------------------------------------

@pytest.fixture
def backup(casework: Casework, database_url: str, tmp_path: Path) -> Path:
    """A backup of a database holding one triaged complaint."""
    add_test_customers(casework)
    complaint(casework)
    path = tmp_path / "good.zip"
    assert cli(database_url, "backup", str(path)).exit_code == 0
    return path


@pytest.fixture
def occupied(target_url: str) -> Iterator[str]:
    """A database that holds data of its own (customer KEEP), to restore over."""
    app = open_casework(Settings(home=ROOT, database_url=target_url), migrate=True)
    app.customers.add("KEEP", T0)
    app.close()
    yield target_url


def rewritten(backup: Path, to: Path, manifest: Callable[[dict[str, Any]], None] | None = None,
              data: Callable[[bytes], bytes] | None = None) -> Path:
    """A copy of the backup, made anew as a valid zip, its manifest or data changed."""
    with zipfile.ZipFile(backup) as source, zipfile.ZipFile(to, "w") as target:
        held = json.loads(source.read("manifest.json"))
        if manifest:
            manifest(held)
        target.writestr("manifest.json", json.dumps(held))
        raw = source.read(held["data_name"])
        target.writestr(held["data_name"], data(raw) if data else raw)
    return to


def flipped(raw: bytes) -> bytes:
    middle = len(raw) // 2
    return raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1:]


def truncated(backup: Path, to: Path) -> Path:
    to.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    return to


def random_file(_: Path, to: Path) -> Path:
    to.write_bytes(os.urandom(50_000))
    return to


def future(backup: Path, to: Path) -> Path:
    return rewritten(backup, to, manifest=lambda m: m.update(schema_revision="9999"))


def tampered(backup: Path, to: Path) -> Path:
    return rewritten(backup, to, data=flipped)


def damaged_in_place(backup: Path, to: Path) -> Path:
    """One byte of the stored data flipped inside the zip (its CRC-32 no longer agrees)."""
    raw = bytearray(backup.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    to.write_bytes(bytes(raw))
    return to


@pytest.mark.parametrize(("make", "said"), [
    (truncated, "is truncated or damaged"),
    (random_file, "is not a casework backup"),
    (future, "is of schema revision 9999, newer than this casework knows"),
    (tampered, "is damaged: its data part has SHA-256"),
    (damaged_in_place, "damaged"),
])
def test_a_bad_backup_is_refused_and_changes_nothing(
        make: Callable[[Path, Path], Path], said: str, backup: Path, occupied: str,
        tmp_path: Path) -> None:
    bad = make(backup, tmp_path / "bad.zip")
    before = counts(occupied)
    refused = cli(occupied, "restore", str(bad), "--replace")
    assert refused.exit_code == 2, refused.output
    assert said in refused.stderr and str(bad) in refused.stderr
    assert counts(occupied) == before
    assert customer_ids(occupied) == ["KEEP"]


def test_a_database_with_data_is_restored_over_only_with_replace(
        backup: Path, occupied: str) -> None:
    before = counts(occupied)
    refused = cli(occupied, "restore", str(backup))
    assert refused.exit_code == 2
    assert "is not empty" in refused.stderr and "--replace" in refused.stderr
    assert counts(occupied) == before
    replaced = cli(occupied, "restore", str(backup), "--replace")
    assert replaced.exit_code == 0, replaced.output
    held = json.loads(zipfile.ZipFile(backup).read("manifest.json"))
    assert counts(occupied) == held["figures"]["counts"]
    assert customer_ids(occupied) == ["C1", "C7"]  # KEEP is gone, the backup's are there


def test_a_backup_never_overwrites_a_file_and_leaves_none_when_it_fails(
        backup: Path, database_url: str, tmp_path: Path) -> None:
    again = cli(database_url, "backup", str(backup))
    assert again.exit_code == 2 and "exists already" in again.stderr
    nowhere = cli("sqlite:///" + str(tmp_path / "missing.db"), "backup",
                  str(tmp_path / "none.zip"))
    assert nowhere.exit_code == 1 and "there is no database" in nowhere.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".zip", ".partial")) == \
        ["good.zip"]


@pytest.mark.postgres
def test_a_sqlite_backup_is_not_restored_into_postgresql(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    open_casework(Settings(home=ROOT, database_url=source), migrate=True).close()
    assert cli(source, "backup", str(tmp_path / "lite.zip")).exit_code == 0
    target = empty_database_url("postgresql", request, tmp_path)
    refused = cli(target, "restore", str(tmp_path / "lite.zip"))
    assert refused.exit_code == 2
    assert "a backup of a SQLite database; it cannot be restored into PostgreSQL" in \
        refused.stderr
    assert counts(target) == {}


# --- an older schema is restored, then upgraded ------------------------------------------------

@pytest.fixture
def at_0019(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind migrated only to 0019."""
    yield from database_at("0019", request, tmp_path)


@pytest.mark.parametrize("at_0019", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_backup_of_an_older_schema_is_restored_and_upgraded(
        at_0019: Database, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with at_0019.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO web_sessions (key, data) VALUES ('cookie-value', 'x')")
    path = tmp_path / "old.zip"
    taken = cli(at_0019.url, "backup", str(path))
    assert taken.exit_code == 0, taken.output
    assert "schema 0019" in taken.stdout
    target = empty_database_url(at_0019.dialect, request, tmp_path)
    restored = cli(target, "restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert "upgraded the schema from revision 0019" in restored.stdout
    open_casework(Settings(home=ROOT, database_url=target)).close()  # current: it opens
