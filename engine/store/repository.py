"""The store: cases, history, definitions and users through SQLAlchemy Core."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Row

from engine.kernel.errors import Conflict, NotFound
from engine.kernel.history import Event
from engine.kernel.records import CaseRecord, DefinitionRecord
from engine.store.bulk import Driver
from engine.store.case_links import CaseLinks
from engine.store.conversation import ConversationWrites
from engine.store.db import Database
from engine.store.inbound import InboundWrites
from engine.store.mailing import MailWrites
from engine.store.notifications import NotificationWrites
from engine.store.personal import PersonalWrites
from engine.store.schema import (
    assignment_cursors,
    cases,
    definitions,
    events,
    publications,
    users,
)
from engine.store.submissions import Submissions
from engine.store.surveys import SurveyWrites
from engine.store.timers import TimerWrites

MAX_ID = 2**63 - 1  # the largest id a database integer holds (SQLite INTEGER, PostgreSQL BIGINT)
# A case row as the runtime reads and writes it; the SLA columns are the store's own, derived
# from the clocks (engine/store/timers.py) and never part of a CaseRecord.
_CASE_COLUMNS = [c for c in cases.c if c.name not in ("id", "sla_status", "sla_due_at")]
# What a fire may change; the rest of a case row is fixed when the case starts.
_CHANGING = ["state", "queue", "assignee", "fields", "lock_version", "history_seq",
             "history_head", "updated_at", "closed_at"]

# The statements of the hot path, built once: building them per call cost more than running them.
# A case read with the newest publication's id: a fire's decisions need it, in one statement.
_RECORD = ("id", "definition_id", "workflow", "version", "state", "queue", "assignee",
           "customer", "fields", "lock_version", "history_seq", "history_head", "created_at",
           "updated_at", "closed_at")  # CaseRecord's fields, in order
_GET_CASE = (f"SELECT {', '.join(_RECORD)}, (SELECT max(id) FROM publications) "
             "FROM cases WHERE id = ?")
_SET = ", ".join(f"{name} = ?" for name in _CHANGING)
_UPDATE_CASE = f"UPDATE cases SET {_SET} WHERE id = ? AND lock_version = ?"
# the same, writing the SLA columns its clocks gave in this transaction (engine/store/timers.py)
_UPDATE_CASE_SLA = (f"UPDATE cases SET {_SET}, sla_due_at = ?, sla_status = ? "
                    "WHERE id = ? AND lock_version = ?")
_INSERT_CASE = sa.insert(cases).returning(cases.c.id)
# the driver's own statements: SQLAlchemy's processing of each row cost more than the insert
# (fields as SQLAlchemy's JSON type writes them: json.dumps)
_INSERT_CASES = (f"INSERT INTO cases ({', '.join(_RECORD)}) "  # all but the SLA columns
                 f"VALUES ({', '.join('?' for _ in _RECORD)})")
_LAST_CASE_ID = sa.select(sa.func.coalesce(sa.func.max(cases.c.id), 0))
_APPEND_EVENT = ("INSERT INTO events (case_id, seq, name, actor, role, at, from_state, to_state, "
                 "payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_PUBLICATION_MARK = sa.select(sa.func.max(publications.c.id))
_LOCK_VERSION = sa.select(cases.c.lock_version).where(cases.c.id == sa.bindparam("case_id"))
_DEFINITION_MARKS = sa.select(sa.select(sa.func.max(definitions.c.id)).scalar_subquery(),
                              _PUBLICATION_MARK.scalar_subquery())
_UPSERT: dict[str, Any] = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


K = TypeVar("K")
E = TypeVar("E")


def with_events(heads: Iterable[Any], stored: Iterable[E],
                key: Callable[[E], K]) -> Iterator[tuple[K, int, str, list[E]]]:
    """Each (id, recorded count, head hash) with its stored events, holding one history at a
    time. Heads and events must come in the same order of ids, both sorted by the database:
    only equality is compared here, so a collation that sorts strings unlike Python does not
    matter. (Every event's id has a head row: the foreign key sees to that.)"""
    grouped = itertools.groupby(stored, key=key)
    pending = next(grouped, None)
    for subject, head_seq, head_hash in heads:
        mine: list[E] = []
        if pending is not None and pending[0] == subject:
            mine = list(pending[1])
            pending = next(grouped, None)
        yield subject, head_seq, head_hash, mine


def _event(row: Row[Any]) -> Event:
    m = row._mapping
    return Event(m["case_id"], m["seq"], m["name"], m["actor"], m["role"], m["at"],
                 m["from_state"], m["to_state"], m["payload"], m["prev_hash"], m["hash"])


def _definition(row: Row[Any]) -> DefinitionRecord:
    return DefinitionRecord(**row._mapping)


class SqlTransaction(TimerWrites, CaseLinks, Submissions, ConversationWrites,
                     InboundWrites, NotificationWrites, MailWrites, SurveyWrites, PersonalWrites):
    """The runtime's view of one database transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.driver = Driver(connection)
        self.known_clocks = {}
        self.sla_due = {}
        self.mark: int | None = None  # the publication mark read with a case

    @classmethod
    @contextmanager
    def on(cls, connection: Connection) -> Iterator[SqlTransaction]:
        """The transaction of a write connection; what it keeps back is written when the block
        ends without an error (before the connection commits)."""
        tx = cls(connection)
        yield tx
        tx.write_sla()

    def get_case(self, case_id: int) -> CaseRecord:
        if not 0 < case_id <= MAX_ID:  # no such row, and SQLite cannot even take the number
            raise NotFound(f"case {case_id} does not exist")
        driver = self.driver
        row = driver.execute(_GET_CASE, (case_id,)).fetchone()
        if row is None:
            raise NotFound(f"case {case_id} does not exist")
        self.mark = int(row[15] or 0)
        created, updated = driver.read_instant(row[12]), driver.read_instant(row[13])
        assert created is not None and updated is not None  # NOT NULL
        return CaseRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                          driver.json(row[8]), row[9], row[10], row[11], created, updated,
                          driver.read_instant(row[14]))

    def insert_case(self, record: CaseRecord) -> int:
        values = {c.name: getattr(record, c.name) for c in _CASE_COLUMNS}
        case_id = int(self.connection.execute(_INSERT_CASE, values).scalar_one())
        self.known_clocks[case_id] = {}  # a new case has no clocks yet
        return case_id

    def reserve_case_ids(self, count: int) -> list[int]:
        """Ids for `count` new cases that no other case has or will be given, in order, so
        that a batch of starts can chain their histories before they are written."""
        if count <= 0:
            return []
        if self.connection.dialect.name == "postgresql":
            return sorted(int(i) for i in self.connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('cases', 'id')) "
                "FROM generate_series(1, %(count)s)", {"count": count}).scalars())
        # SQLite gives a new row the largest id + 1; this transaction holds the one write lock
        # (BEGIN IMMEDIATE), so nobody else inserts a case before these are written
        first = int(self.connection.execute(_LAST_CASE_ID).scalar_one()) + 1
        return list(range(first, first + count))

    def insert_cases(self, records: Sequence[CaseRecord]) -> None:
        """Insert new cases under their reserved ids, with the heads of their histories."""
        stamp = self.driver.instant
        stored: dict[str, Callable[[Any], Any]] = {
            "fields": json.dumps, "created_at": stamp, "updated_at": stamp,
            "closed_at": stamp}
        self.driver.executemany(_INSERT_CASES, [
            tuple(stored[c](getattr(r, c)) if c in stored else getattr(r, c) for c in _RECORD)
            for r in records])
        self.known_clocks.update((r.id, {}) for r in records)

    def update_case(self, record: CaseRecord, expected_lock_version: int) -> None:
        driver = self.driver
        values: tuple[Any, ...] = (
            record.state, record.queue, record.assignee, json.dumps(record.fields),
            record.lock_version, record.history_seq, record.history_head,
            driver.instant(record.updated_at), driver.instant(record.closed_at))
        sla = self.sla_due.pop(record.id, None)
        if sla is not None:
            values += (driver.instant(sla[0]), sla[1].value)
        result = driver.execute(_UPDATE_CASE if sla is None else _UPDATE_CASE_SLA,
                                (*values, record.id, expected_lock_version))
        if result.rowcount != 1:
            actual = self.connection.execute(_LOCK_VERSION, {"case_id": record.id}).scalar()
            raise Conflict(record.id, expected_lock_version, actual)

    def rebase_case(self, record: CaseRecord, expected_lock_version: int) -> None:
        """update_case() that also moves the case to another version of its workflow."""
        self.update_case(record, expected_lock_version)
        self.connection.execute(sa.update(cases).where(cases.c.id == record.id).values(
            definition_id=record.definition_id, version=record.version))

    def append_events(self, new_events: Sequence[Event]) -> None:
        stamp = self.driver.instant
        self.driver.executemany(_APPEND_EVENT, [
            (e.case_id, e.seq, e.name, e.actor, e.role, stamp(e.at), e.from_state, e.to_state,
             e.payload, e.prev_hash, e.hash) for e in new_events])

    def publication_mark(self) -> int:
        """The newest publication's id: it changes whenever any table is published (read with
        the case, when the transaction has read one)."""
        if self.mark is None:
            self.mark = int(self.connection.execute(_PUBLICATION_MARK).scalar() or 0)
        return self.mark

    def pick_assignee(self, strategy: str, roles: Sequence[str], pool: str) -> str | None:
        candidates: list[str] = sorted(
            str(name) for name, user_roles in self.connection.execute(
                sa.select(users.c.name, users.c.roles).where(users.c.active.is_(True))
            ) if set(user_roles) & set(roles)
        )
        if not candidates:
            return None
        if strategy == "least_loaded":
            load: dict[str, int] = {
                name: count for name, count in self.connection.execute(
                    sa.select(cases.c.assignee, sa.func.count())
                    .where(cases.c.closed_at.is_(None), cases.c.assignee.in_(candidates))
                    .group_by(cases.c.assignee)
                )
            }
            return min(candidates, key=lambda name: (load.get(name, 0), name))
        return self._next_in_turn(candidates, pool)

    def _next_in_turn(self, candidates: list[str], pool: str) -> str:
        # Lock the pool's cursor row first (creating it if need be), so that two fires taking a
        # turn at once on PostgreSQL queue up instead of handing out the same user.
        upsert = _UPSERT[self.connection.dialect.name](assignment_cursors)
        self.connection.execute(upsert.values(pool=pool, last_user="")
                                .on_conflict_do_nothing(index_elements=["pool"]))
        last: str = self.connection.execute(
            sa.select(assignment_cursors.c.last_user)
            .where(assignment_cursors.c.pool == pool).with_for_update()
        ).scalar_one()
        chosen = next((name for name in candidates if name > last), candidates[0])
        self.connection.execute(sa.update(assignment_cursors)
                                .where(assignment_cursors.c.pool == pool)
                                .values(last_user=chosen))
        return chosen


class SqlStore:
    """Cases, history, definitions and users in one SQL database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.database.writing() as connection, SqlTransaction.on(connection) as tx:
            yield tx

    def get_case(self, case_id: int) -> CaseRecord:
        with self.database.reading() as connection:
            return SqlTransaction(connection).get_case(case_id)

    def case_events(self, case_id: int) -> list[Event]:
        with self.database.reading() as connection:
            rows = connection.execute(
                sa.select(events).where(events.c.case_id == case_id).order_by(events.c.seq)
            )
            return [_event(row) for row in rows]

    def chains(self) -> Iterator[tuple[int, int, str, Iterable[Event]]]:
        """Every case's (id, recorded event count, head hash, stored events in order)."""
        with self.database.reading() as connection:
            heads = connection.execute(
                sa.select(cases.c.id, cases.c.history_seq, cases.c.history_head)
                .order_by(cases.c.id)
            ).all()
            stream = connection.execution_options(yield_per=2000).execute(
                sa.select(events).order_by(events.c.case_id, events.c.seq)
            )
            yield from with_events(heads, (_event(row) for row in stream), lambda e: e.case_id)

    # --- definitions ----------------------------------------------------------------------

    def definition(self, kind: str, name: str, version: int | None = None) -> DefinitionRecord:
        query = sa.select(definitions).where(definitions.c.kind == kind,
                                             definitions.c.name == name)
        if version is not None:
            query = query.where(definitions.c.version == version)
        with self.database.reading() as connection:
            row = connection.execute(query.order_by(definitions.c.version.desc())).first()
        if row is None:
            which = f" version {version}" if version is not None else ""
            raise NotFound(f"{kind} '{name}'{which} is not loaded")
        return _definition(row)

    def open_case_ids_of(self, workflow: str, version: int | None = None) -> list[int]:
        """The ids of the open cases of a workflow (on one version, if given), oldest first."""
        query = sa.select(cases.c.id).where(cases.c.workflow == workflow,
                                            cases.c.closed_at.is_(None))
        if version is not None:
            query = query.where(cases.c.version == version)
        with self.database.reading() as connection:
            return list(connection.execute(query.order_by(cases.c.id)).scalars())

    def open_states_of(self, workflow: str) -> dict[tuple[int, str], int]:
        """How many open cases of a workflow are in each (version, state)."""
        query = (sa.select(cases.c.version, cases.c.state, sa.func.count())
                 .where(cases.c.workflow == workflow, cases.c.closed_at.is_(None))
                 .group_by(cases.c.version, cases.c.state))
        with self.database.reading() as connection:
            return {(int(v), str(s)): int(n) for v, s, n in connection.execute(query)}

    def definition_by_id(self, definition_id: int) -> DefinitionRecord:
        with self.database.reading() as connection:
            row = connection.execute(
                sa.select(definitions).where(definitions.c.id == definition_id)
            ).first()
        if row is None:
            raise NotFound(f"definition {definition_id} does not exist")
        return _definition(row)

    def publications(self, kind: str, name: str) -> list[DefinitionRecord]:
        """The versions published, newest publication first (a version may appear again)."""
        with self.database.reading() as connection:
            rows = connection.execute(
                sa.select(definitions)
                .join(publications, publications.c.definition_id == definitions.c.id)
                .where(publications.c.kind == kind, publications.c.name == name)
                .order_by(publications.c.id.desc())
            )
            return [_definition(row) for row in rows]

    def publish(self, record: DefinitionRecord, at: datetime, by: str,
                approved_by: str | None = None) -> None:
        with self.database.writing() as connection:
            connection.execute(sa.insert(publications).values(
                definition_id=record.id, kind=record.kind, name=record.name, published_at=at,
                published_by=by, approved_by=approved_by))

    def definition_marks(self) -> tuple[int, int]:
        with self.database.reading() as connection:
            stored, published = connection.execute(_DEFINITION_MARKS).one()
        return int(stored or 0), int(published or 0)

    def definitions(self, kind: str) -> list[DefinitionRecord]:
        with self.database.reading() as connection:
            rows = connection.execute(
                sa.select(definitions).where(definitions.c.kind == kind)
                .order_by(definitions.c.name, definitions.c.version)
            )
            return [_definition(row) for row in rows]

    def add_definition(self, kind: str, name: str, version: int, content_hash: str, source: str,
                       source_path: str, at: datetime) -> DefinitionRecord:
        """Store a definition version; if it is already stored, return the stored one."""
        record = DefinitionRecord(0, kind, name, version, content_hash, source, source_path, at)
        values = {k: v for k, v in record.__dict__.items() if k != "id"}
        try:
            with self.database.writing() as connection:
                new_id = connection.execute(
                    sa.insert(definitions).values(values).returning(definitions.c.id)
                ).scalar_one()
            return replace(record, id=new_id)
        except sa.exc.IntegrityError:  # stored meanwhile by another process
            return self.definition(kind, name, version)

    # --- users ----------------------------------------------------------------------------

    def add_user(self, name: str, roles: Sequence[str], at: datetime,
                 display_name: str | None = None, email: str | None = None,
                 password_hash: str | None = None) -> None:
        with self.database.writing() as connection:
            connection.execute(sa.insert(users).values(
                name=name, roles=sorted(set(roles)), display_name=display_name, active=True,
                created_at=at, email=email, password_hash=password_hash,
            ))

    def user_roles(self, name: str) -> list[str] | None:
        with self.database.reading() as connection:
            roles = connection.execute(
                sa.select(users.c.roles).where(users.c.name == name)
            ).scalar()
        return None if roles is None else list(roles)
