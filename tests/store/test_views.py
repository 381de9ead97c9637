"""The desk's queue reads (engine/store/views.py) on both databases: the SLA columns a case row
keeps with its clocks, the index orders a queue is read in, keyset pages, and migration 0009's
backfill of databases made before it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.cases.queues import FAR, SORTS, QueueQuery, QueueRow
from engine.cases.runtime import Actor
from engine.kernel.records import ClockRecord
from engine.store import Database
from engine.store.schema import cases
from engine.store.upgrades import upgrade
from engine.store.views import queue_select, queue_selects
from engine.wiring import Casework
from tests.fixtures import T0, add_raw_definition, add_test_customers, database_at

ALICE = Actor("alice", "agent")


@pytest.fixture
def desk(casework: Casework) -> Casework:
    casework.store.add_user("alice", ["agent"], T0, email="alice@example.org")
    casework.store.add_user("sam", ["supervisor"], T0)
    add_test_customers(casework)
    return casework


def complaint(desk: Casework, minutes: int, summary: str = "Parcel late",
              **steps: dict[str, str]) -> int:
    """A complaint started `minutes` after T0 and moved by `steps` (trigger: fields)."""
    at = T0 + timedelta(minutes=minutes)
    case = desk.runtime.start("complaint", {"channel": "email", "summary": summary}, ALICE, at,
                              customer="C1")
    for trigger, fields in steps.items():
        desk.runtime.fire(case.id, trigger, ALICE, at, fields)
    return case.id


def from_clocks(clocks: list[ClockRecord]) -> tuple[str, datetime | None]:
    """The SLA status and due time as the queue once worked them out from the clocks."""
    live = [c for c in clocks if c.status != "stopped"]
    dues = [c.due_at for c in live if c.due_at is not None]
    if not live:
        return "none", None
    if any(c.breached_at for c in live):
        status = "breached"
    elif all(c.status == "paused" for c in live):
        status = "paused"
    else:
        status = "warning" if any(c.warned_at for c in live) else "running"
    return status, min(dues) if dues else None


def kept(desk: Casework, case_id: int) -> tuple[str, datetime | None]:
    """The SLA columns of the case row, and what its clocks say they must be: equal."""
    with desk.database.reading() as connection:
        row = connection.execute(sa.select(cases.c.sla_status, cases.c.sla_due_at)
                                 .where(cases.c.id == case_id)).one()
    assert (row.sla_status, row.sla_due_at) == from_clocks(desk.timers.clocks(case_id))
    return row.sla_status, row.sla_due_at


def test_the_sla_columns_follow_the_clocks_through_a_complaint(desk: Casework) -> None:
    case_id = complaint(desk, 0)
    # the targets are set at intake: the first reply is due 16 business hours on
    assert kept(desk, case_id) == ("running", datetime(2026, 3, 3, 15, tzinfo=UTC))
    desk.runtime.fire(case_id, "triage", ALICE, T0 + timedelta(minutes=30),
                      {"category": "billing", "severity": "high"})
    status, due = kept(desk, case_id)
    assert status == "running" and due is not None
    desk.runtime.fire(case_id, "respond", ALICE, T0 + timedelta(hours=1),
                      {"first_response": "On it"})
    assert kept(desk, case_id) == ("running", datetime(2026, 3, 6, 9, tzinfo=UTC))
    desk.worker.fire_due_timers(datetime(2026, 3, 5, 11, tzinfo=UTC))
    assert kept(desk, case_id)[0] == "warning"
    desk.worker.fire_due_timers(datetime(2026, 3, 6, 9, tzinfo=UTC))
    assert kept(desk, case_id)[0] == "breached"
    desk.runtime.fire(case_id, "resolve", ALICE, datetime(2026, 3, 6, 10, tzinfo=UTC),
                      {"resolution": "Refunded", "root_cause": "Carrier", "remedy": "refund"})
    assert kept(desk, case_id) == ("none", None)


def test_waiting_for_the_customer_shows_paused_then_running_again(desk: Casework) -> None:
    case_id = complaint(desk, 0, triage={"category": "billing", "severity": "low"})
    desk.runtime.fire(case_id, "ask_customer", ALICE, T0 + timedelta(hours=1),
                      {"question": "Which invoice?"})
    assert kept(desk, case_id) == ("paused", None)
    desk.runtime.fire(case_id, "customer_replied", ALICE, T0 + timedelta(hours=5),
                      {"answer": "No. 42"})
    assert kept(desk, case_id)[0] == "running"


@pytest.fixture
def billing(desk: Casework) -> list[int]:
    """Nine open billing complaints: due at several times (two at the same moment), and some
    without a due time (waiting for the customer, the clock paused)."""
    triage = {"category": "billing", "severity": "high"}
    low = {"category": "billing", "severity": "low"}
    ask = {"question": "Which one?"}
    return [complaint(desk, 0, triage=triage), complaint(desk, 5, triage=low),
            complaint(desk, 10, triage=triage, ask_customer=ask),
            complaint(desk, 15, triage=triage), complaint(desk, 15, triage=triage),
            complaint(desk, 20, "Refund missing", triage=low, ask_customer=ask),
            complaint(desk, 25, "Refund twice", triage=low),
            complaint(desk, 30, triage=triage, ask_customer=ask),
            complaint(desk, 35, triage=low)]


def pages(desk: Casework, query: QueueQuery) -> Iterator[list[QueueRow]]:
    """Every page of a query, following each page's cursor."""
    while True:
        page = desk.views.queue(query)
        yield page.rows
        if page.next_after is None:
            return
        query = query.evolve(after=page.next_after)


def expected_order(rows: list[QueueRow], sort: str) -> list[int]:
    keys = {"due": lambda r: (r.due_at or FAR, r.id), "created": lambda r: (r.created_at, r.id),
            "-created": lambda r: (r.created_at, r.id), "-updated": lambda r: (r.updated_at, r.id)}
    return [r.id for r in sorted(rows, key=keys[sort], reverse=sort.startswith("-"))]


@pytest.mark.parametrize("sort", list(SORTS))
def test_keyset_pages_list_every_case_once_in_the_sort_order(desk: Casework, billing: list[int],
                                                             sort: str) -> None:
    everything = desk.views.queue(QueueQuery("billing", sort=sort, limit=100)).rows
    assert sorted(r.id for r in everything) == sorted(billing)
    assert [r.id for r in everything] == expected_order(everything, sort)
    for size in (1, 2, 4):
        paged = list(pages(desk, QueueQuery("billing", sort=sort, limit=size)))
        assert [r.id for page in paged for r in page] == [r.id for r in everything]
        assert all(len(page) == size for page in paged[:-1])


def test_the_due_order_puts_cases_without_a_due_time_last(desk: Casework,
                                                          billing: list[int]) -> None:
    rows = desk.views.queue(QueueQuery("billing")).rows
    undated = [r.id for r in rows if r.due_at is None]
    assert undated == [billing[2], billing[5], billing[7]]  # paused, by number
    assert [r.id for r in rows][-3:] == undated
    assert {r.sla for r in rows if r.due_at is None} == {"paused"}
    assert desk.views.queue(QueueQuery("billing")).states == ["in_progress", "waiting_customer"]
    assert desk.views.queue(QueueQuery("nowhere")).states == []
    page = desk.views.queue(QueueQuery("billing", limit=7))
    assert page.next_after == (FAR, billing[2])  # a cursor inside the undated part
    assert [r.id for r in desk.views.queue(QueueQuery("billing", after=page.next_after)).rows] \
        == [billing[5], billing[7]]


def test_filters_and_search_apply_across_pages(desk: Casework, billing: list[int]) -> None:
    paused = [r.id for page in pages(desk, QueueQuery("billing", sla="paused", limit=1))
              for r in page]
    assert paused == [billing[2], billing[5], billing[7]]
    found = [r.id for page in pages(desk, QueueQuery("billing", search="refund", limit=1))
             for r in page]
    assert found == [billing[6], billing[5]]  # due first: the one waiting has no due time
    low = desk.views.queue(QueueQuery("billing", severity="low", sla="running")).rows
    assert [r.id for r in low] == expected_order(low, "due")
    assert {r.id for r in low} == {billing[1], billing[6], billing[8]}
    assert desk.views.queue(QueueQuery("billing", search="#" + "9" * 30)).rows == []


def test_a_cursor_without_a_time_zone_reads_as_utc(desk: Casework, billing: list[int]) -> None:
    first = desk.views.queue(QueueQuery("billing", sort="created", limit=3))
    assert first.next_after is not None
    moment, last = first.next_after
    naive = desk.views.queue(QueueQuery("billing", sort="created", limit=3,
                                        after=(moment.replace(tzinfo=None), last)))
    aware = desk.views.queue(QueueQuery("billing", sort="created", limit=3, after=(moment, last)))
    assert naive.rows == aware.rows != []


def test_queue_counts_read_the_kept_sla(desk: Casework, billing: list[int]) -> None:
    desk.worker.fire_due_timers(datetime(2026, 3, 9, 9, tzinfo=UTC))  # the high ones breach
    complaint(desk, 40)  # intake
    counts = {c.queue: c for c in desk.views.queue_counts()}
    statuses = [kept(desk, i)[0] for i in billing]
    assert counts["billing"].open == 9
    assert counts["billing"].breached == statuses.count("breached") > 0
    assert counts["billing"].warning == statuses.count("warning")
    assert (counts["intake"].open, counts["intake"].unassigned) == (1, 1)


def plan(desk: Casework, statement: Any) -> str:
    """How the database would run `statement` (on PostgreSQL: were it not allowed to read the
    whole table or sort, which it prefers for a handful of rows: the question is whether an
    index can give the rows in order, not which plan wins on nine rows)."""
    engine = desk.database.engine
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def explained(conn: Any, cursor: Any, sql: str, params: Any, context: Any,
                  many: bool) -> tuple[str, Any]:
        return prefix + sql, params

    with desk.database.reading() as connection:
        if engine.dialect.name == "postgresql":
            for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
                connection.exec_driver_sql(f"SET LOCAL {setting} = off")
        sa.event.listen(engine, "before_cursor_execute", explained, retval=True)
        try:
            rows = list(connection.execute(statement))
        finally:
            sa.event.remove(engine, "before_cursor_execute", explained)
    return " / ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("sort", list(SORTS))
def test_each_sort_reads_an_index_of_open_cases_in_order(desk: Casework, billing: list[int],
                                                         sort: str) -> None:
    index = order_index(desk, "sla_due_at" if sort == "due" else
                        "created_at" if "created" in sort else "updated_at")
    moment = datetime(2026, 3, 5, tzinfo=UTC)
    for query in (QueueQuery("billing", sort=sort),
                  QueueQuery("billing", sort=sort, after=(moment, 3)),
                  QueueQuery("billing", sort=sort, state="in_progress", sla="running")):
        for statement in queue_selects(query):
            shown = plan(desk, statement.limit(51))
            assert index in shown, shown
            assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown
    first = plan(desk, queue_select(QueueQuery("billing")).limit(51))
    assert order_index(desk, "sla_due_at") in first


def order_index(desk: Casework, column: str) -> str:
    """The index of open cases in `column`'s order: on SQLite the one holding the filters."""
    if desk.database.engine.dialect.name == "sqlite":
        return f"ix_cases_open_by_{column}"
    return f"ix_cases_queue_{column}_id"


def test_the_state_list_reads_only_the_open_cases_index(desk: Casework,
                                                        billing: list[int]) -> None:
    from engine.store.views import _states
    shown = plan(desk, _states("billing"))
    assert "COVERING" in shown or "Index Only Scan" in shown, shown
    assert "ix_cases_queue_state_sla_status_assignee_closed_at" in shown, shown


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL's hold none
def test_sqlite_filters_compare_what_the_indexes_hold(desk: Casework,
                                                      billing: list[int]) -> None:
    """SQLite uses an indexed expression only where a query writes the same expression: each
    field the page filters by must be written as the indexes write it, or a filtered page
    would parse every case row it passes."""
    query = QueueQuery("billing", severity="high", search="refund", state="new",
                       assignee="alice", sla="running")
    sql = str(queue_select(query).compile(dialect=desk.database.engine.dialect))
    with desk.database.reading() as connection:
        indexes = dict(connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_cases_open_by_%'").all())
    assert sorted(indexes) == [f"ix_cases_open_by_{c}" for c in
                               ("created_at", "sla_due_at", "updated_at")]
    for field in ("severity", "summary"):
        written = f"json_extract(cases.fields, '$.{field}')"
        assert written in sql, sql
        assert all(written.replace("cases.", "") in text for text in indexes.values())
    assert "CAST(" not in sql.split("WHERE", 1)[1]  # a cast would hide the indexed expression


@pytest.mark.postgres
def test_postgresql_knows_that_only_open_cases_have_a_queue(postgres_casework: Casework) -> None:
    with postgres_casework.database.reading() as connection:
        kinds = connection.exec_driver_sql(
            "SELECT stxkind FROM pg_statistic_ext WHERE stxname = 'st_cases_queue_closed_at'"
        ).scalar()
    assert kinds is not None and "m" in kinds  # most common (queue, closed_at) combinations


# --- migration 0009 on a database made before it -------------------------------------------------

@pytest.fixture
def at_0008(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind migrated only to 0008."""
    yield from database_at("0008", request, tmp_path)


CLOCK = ("INSERT INTO sla_clocks (case_id, name, status, business, calendar, elapsed_seconds, "
         "due_at, started_at, warned_at, breached_at, level, step) VALUES "
         "(:case, :name, :status, true, 'office', 0, :due, :at, :warned, :breached, 0, 0)")


@pytest.mark.parametrize("at_0008", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_migration_0009_works_out_the_sla_of_existing_cases(at_0008: Database) -> None:
    early, late = T0 + timedelta(hours=2), T0 + timedelta(hours=9)
    clocks = {  # case -> its clocks (name, status, due, warned, breached)
        1: [("a", "running", late, None, None), ("b", "running", early, None, None)],
        2: [("a", "running", late, T0, None), ("b", "stopped", None, None, None)],
        3: [("a", "paused", None, None, None), ("b", "paused", None, T0, T0)],
        4: [("a", "paused", None, None, None), ("b", "stopped", None, None, T0)],
        5: [("a", "stopped", None, None, None)],
        6: [],
        7: [("a", "paused", None, None, None), ("b", "running", late, None, None)],
    }
    at = T0.replace(tzinfo=None) if at_0008.engine.dialect.name == "sqlite" else T0
    with at_0008.engine.begin() as connection:
        add_raw_definition(connection, at)
        for case_id, its in clocks.items():
            connection.execute(sa.text(
                "INSERT INTO cases (id, definition_id, workflow, version, state, queue, fields, "
                "lock_version, history_seq, history_head, created_at, updated_at) VALUES "
                "(:id, 1, 'w', 1, 'open', 'q', '{}', 1, 0, 'h', :at, :at)"),
                {"id": case_id, "at": at})
            for name, status, due, warned, breached in its:
                connection.execute(sa.text(CLOCK), {
                    "case": case_id, "name": name, "status": status, "at": at,
                    **{k: None if v is None else v.replace(tzinfo=None)
                       if at_0008.engine.dialect.name == "sqlite" else v
                       for k, v in (("due", due), ("warned", warned), ("breached", breached))}})
    upgrade(at_0008)
    with at_0008.engine.connect() as connection:
        found = {row.id: (row.sla_status, row.sla_due_at) for row in connection.execute(
            sa.select(cases.c.id, cases.c.sla_status, cases.c.sla_due_at))}
    assert found == {1: ("running", early), 2: ("warning", late), 3: ("breached", None),
                     4: ("paused", None), 5: ("none", None), 6: ("none", None),
                     7: ("running", late)}
