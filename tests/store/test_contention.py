"""Writers under contention (issue 20, "a fire during a 26 s import ended in a raw sqlite3
traceback"): a writer waits for another's lock at most CASEWORK_LOCK_TIMEOUT, then gets the
retryable Busy with nothing written (HTTP 503 with Retry-After, the CLI's exit code 75); an
import commits in batches, so that a fire gets through between them. On both databases: the
lock held is SQLite's one write lock, or PostgreSQL's row lock on the case."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from litestar.testing import TestClient

from engine.cases.runtime import Actor
from engine.cli.main import main
from engine.demodata import CDNOW_SAMPLE
from engine.kernel.errors import Busy
from engine.kernel.settings import Settings, settings_for
from engine.store.schema import imports, purchases
from engine.wiring import Casework, open_casework
from tests.fixtures import ROOT, T0
from tests.web_fixtures import NOW, Auth
from web.app import create_app

ANN = Actor("ann", "agent")
WAIT = 0.5  # seconds: the lock timeout of these tests
TRIAGE = {"category": "after_sales", "severity": "high"}


@contextmanager
def held(url: str, case_id: int) -> Iterator[None]:
    """Another connection holding what a fire of `case_id` must wait for: SQLite's write lock,
    or on PostgreSQL the case's row."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(parsed.database), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT id FROM cases WHERE id = :id FOR UPDATE"),
                               {"id": case_id})
            yield
            connection.rollback()
    finally:
        engine.dispose()


@pytest.fixture
def impatient(desk: Casework) -> Iterator[Casework]:
    """The web tests' casework (same database, users and workflows), waiting WAIT seconds for
    a lock."""
    app = open_casework(replace(desk.settings, lock_timeout=WAIT))
    try:
        yield app
    finally:
        app.close()


def started(desk: Casework) -> int:
    return desk.runtime.start("complaint", {"channel": "email", "summary": "Parcel damaged"},
                              ANN, T0, customer="C1").id


def test_the_lock_timeout_is_a_setting_of_each_database(database_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_LOCK_TIMEOUT", "0.25")
    settings = settings_for(ROOT)
    assert settings.lock_timeout == 0.25
    app = open_casework(Settings(home=ROOT, database_url=database_url, lock_timeout=0.25))
    try:
        with app.database.reading() as connection:
            if app.database.dialect == "sqlite":
                shown = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
                assert shown == 250
            else:
                assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "250ms"
    finally:
        app.close()
    monkeypatch.setenv("CASEWORK_LOCK_TIMEOUT", "soon")
    with pytest.raises(Exception, match="CASEWORK_LOCK_TIMEOUT: 'soon' is not a number"):
        settings_for(ROOT)


def test_a_fire_through_the_api_on_a_locked_database_is_a_503_with_retry_after(
        desk: Casework, impatient: Casework, auth: Auth) -> None:
    case_id = started(desk)
    before = [e.name for e in desk.store.case_events(case_id)]
    body = {"fields": TRIAGE, "expected_version": 1}
    ann = auth("ann")
    with TestClient(create_app(impatient)) as api:
        with held(desk.settings.database_url, case_id):
            busy = api.post(f"/api/cases/{case_id}/fire/triage", json=body, headers=ann)
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["retry_after"] == 1
        assert "the database is busy" in busy.json()["error"]
        case = desk.store.get_case(case_id)
        assert (case.state, case.lock_version) == ("received", 1)  # nothing half-written
        assert [e.name for e in desk.store.case_events(case_id)] == before
        again = api.post(f"/api/cases/{case_id}/fire/triage", json=body, headers=ann)
    assert again.status_code == 200, again.text  # retried, it goes through


def test_a_page_on_a_locked_database_says_busy_with_retry_after(
        desk: Casework, impatient: Casework) -> None:
    from tests.web_fixtures import csrf, sign_in

    case_id = started(desk)
    with TestClient(create_app(impatient)) as web:
        ann = sign_in(web, "ann")
        with held(desk.settings.database_url, case_id):
            busy = ann.post(f"/cases/{case_id}/fire/triage",
                            data={**TRIAGE, "version": "1", **csrf(ann)})
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "1"
    assert "the database is busy" in busy.text and "Traceback" not in busy.text
    assert desk.store.get_case(case_id).lock_version == 1


def test_a_fire_on_the_command_line_on_a_locked_database_exits_75(
        desk: Casework, tmp_path: Path) -> None:
    case_id = started(desk)
    env = {"CASEWORK_DATABASE_URL": desk.settings.database_url, "CASEWORK_HOME": str(ROOT),
           "CASEWORK_NOW": NOW.isoformat(), "CASEWORK_LOCK_TIMEOUT": str(WAIT)}
    with held(desk.settings.database_url, case_id):
        result = CliRunner().invoke(main, ["cases", "fire", str(case_id), "triage",
                                           "--actor", "ann", "--role", "agent",
                                           "--field", "category=billing"], env=env)
    assert result.exit_code == 75, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stderr.splitlines()
    assert line.startswith("casework: the database is busy: another writer held its lock")
    assert desk.store.get_case(case_id).lock_version == 1


def test_the_store_says_busy_and_rolls_back_when_the_wait_runs_out(
        desk: Casework, impatient: Casework) -> None:
    case_id = started(desk)
    with held(desk.settings.database_url, case_id), pytest.raises(Busy) as raised:
        impatient.runtime.fire(case_id, "triage", ANN, NOW, TRIAGE, expected_version=1)
    assert raised.value.retry_after == 1 and raised.value.waited == WAIT
    assert desk.store.get_case(case_id).lock_version == 1
    assert impatient.runtime.fire(case_id, "triage", ANN, NOW, TRIAGE,
                                  expected_version=1).lock_version == 2


# --- imports in batches ----------------------------------------------------------------------


def purchase_count(app: Casework) -> int:
    with app.database.reading() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(purchases))
                   .scalar_one())


def test_a_fire_gets_through_between_the_batches_of_an_import(
        desk: Casework, impatient: Casework) -> None:
    """The import, in a thread, waits after its first batch until a fire has finished (or for
    ever, were the batch not committed: the fire would be Busy)."""
    case_id = started(desk)
    fired = threading.Event()
    outcome: dict[str, Any] = {}

    def progress(rows: int) -> None:
        if not fired.is_set():
            outcome["during"] = purchase_count(desk)
            fired.wait(30)

    def run_import() -> None:
        outcome["imported"] = desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW,
                                                          progress=progress, batch=500)

    importing = threading.Thread(target=run_import)
    importing.start()
    try:
        while "during" not in outcome and importing.is_alive():
            importing.join(0.01)
        case = impatient.runtime.fire(case_id, "triage", ANN, NOW, TRIAGE, expected_version=1)
        assert importing.is_alive()  # the import has not ended: the fire came between batches
    finally:
        fired.set()
        importing.join(60)
    assert case.lock_version == 2
    assert 0 < outcome["during"] < outcome["imported"].purchases == purchase_count(desk)


def test_an_import_cut_short_is_completed_by_importing_the_file_again(
        desk: Casework) -> None:
    class Crash(Exception):
        pass

    def crash(rows: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW, progress=crash, batch=1000)
    first = purchase_count(desk)
    assert 0 < first < 6919
    with desk.database.reading() as connection:
        assert connection.execute(sa.select(imports.c.finished_at)).scalars().all() == [None]
    again = desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW, batch=1000)
    assert (again.already, again.present) == (None, 0)
    assert again.purchases == purchase_count(desk) == 6919  # nothing doubled
    third = desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    assert third.already is not None and purchase_count(desk) == 6919


def test_an_import_with_a_bad_row_writes_nothing(desk: Casework, tmp_path: Path) -> None:
    """The whole file is checked before the first batch is written."""
    lines = CDNOW_SAMPLE.read_text().splitlines()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join([*lines[:3000], " 00004 0001 19970101  x   29.33", *lines[3000:]])
                   + "\n")
    with pytest.raises(Exception, match="nothing was imported"):
        desk.customers.import_file(bad, "cdnow", NOW, batch=500)
    assert purchase_count(desk) == 0
    with desk.database.reading() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(imports)).scalar() == 0




def test_a_busy_database_is_no_failed_attempt_of_a_timer(
        desk: Casework, impatient: Casework, caplog: pytest.LogCaptureFixture) -> None:
    """The worker meets the lock (on SQLite already when it claims, on PostgreSQL at the case
    row): it logs it, and the timer stays pending with no attempt counted, for the next
    sweep."""
    case_id = started(desk)
    later = NOW + timedelta(days=30)  # every deadline of the case has passed
    with held(desk.settings.database_url, case_id):
        try:
            fired: int | None = impatient.worker.fire_due_timers(later)
        except Busy:
            fired = None  # the claim itself waited (SQLite): the sweep ends, logged by Sweeper
    assert fired in (0, None)
    if fired == 0:
        assert "waits for the next sweep: the database is busy" in caplog.text
    pending = desk.timers.listing(case_id, "pending")
    assert pending and {(t.attempts, t.last_error, t.claimed_by) for t in pending} == {
        (0, None, None)}
    assert impatient.worker.fire_due_timers(later) > 0


def test_a_fire_gets_through_between_the_batches_of_a_recompute(
        desk: Casework, impatient: Casework) -> None:
    """`tiers recompute` writes each batch of customers in a transaction of its own: a fire
    waits for one batch at most, not for the whole recompute."""
    desk.customers.import_file(CDNOW_SAMPLE, "cdnow", NOW)
    case_id = started(desk)
    tiering = desk.tiering
    tiering.batch = 500  # the sample's 2,357 customers in 5 batches
    fired = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        fired.wait(30)  # after the first batch: until the fire is through

    recomputing = threading.Thread(
        target=lambda: tiering.recompute(NOW.date(), NOW, progress=progress))
    recomputing.start()
    try:
        while not seen and recomputing.is_alive():
            recomputing.join(0.01)
        case = impatient.runtime.fire(case_id, "triage", ANN, NOW, TRIAGE, expected_version=1)
        assert recomputing.is_alive()
    finally:
        fired.set()
        recomputing.join(120)
    assert case.lock_version == 2
    assert seen[0][0] < seen[0][1] and len(seen) > 1  # the fire came after the first of several
