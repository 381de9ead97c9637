"""Customers, purchases, figures and customer history in SQL.

An import checks its whole file before it writes (a bad row: nothing written), then writes in
batches, each one transaction, so that fires get the database between them. A purchase already
stored (the same customer and natural key: engine.customers.files.NaturalKeys) is not stored
again, so a corrected file imported after the first adds only what is new, and an import cut
short (a crash between batches) is completed by importing the file again. A recompute sums every
customer's purchases in one query and writes its results in batches, each batch one transaction
holding the figures, the tier changes, their history events and any cases they start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.customers.figures import REVENUE_WINDOW_DAYS, Totals
from engine.customers.files import DataError, Item, NaturalKeys, Purchase, digest, scan
from engine.customers.records import FIGURE_NAMES, CustomerProfile, StoredFigures
from engine.kernel.errors import NotFound, Problem
from engine.kernel.history import GENESIS, CustomerEvent
from engine.kernel.records import CustomerHead, CustomerRecord
from engine.kernel.specs import STORED_FIGURES
from engine.store.bulk import Instants, day, execute_many, fetch, fetch_columns, instant, money
from engine.store.db import Database
from engine.store.repository import SqlTransaction, with_events
from engine.store.schema import (
    cases,
    customer_events,
    customer_figures,
    customers,
    imports,
    purchases,
)

BATCH = 5000


@dataclass(frozen=True)
class Imported:
    """What an import added; `already` is when the same file was imported before (nothing added).
    `present` counts the file's purchases already stored (by an import of an earlier version of
    the file), `skipped` lists the bad rows left out (with --skip-bad)."""

    customers: int
    purchases: int  # purchases added
    seen: int  # customers the file names
    skipped: tuple[Problem, ...] = ()
    already: datetime | None = None
    present: int = 0


class SqlCustomers:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._inherited: object = None

    def import_file(self, path: Path, fmt: str, at: datetime, skip_bad: bool = False,
                    progress: Callable[[int], None] = lambda _: None,
                    batch: int = BATCH) -> Imported:
        """Import a file: read whole first, and nothing written if a row is bad (unless
        skip_bad: then the good ones); then written in batches of `batch` rows, each batch a
        transaction of its own, so that other writers (a fire) get the database in between.
        A file imported before adds nothing; one whose import stopped halfway (a crash) is
        carried on: what it stored already is recognised by the purchases' natural keys."""
        sha256 = digest(path)
        with self.database.reading() as connection:
            before = connection.execute(sa.select(imports.c.id, imports.c.imported_at,
                                                  imports.c.finished_at)
                                        .where(imports.c.sha256 == sha256)).first()
        if before is not None and before.finished_at is not None:
            return Imported(0, 0, 0, already=before.imported_at)
        problems = [item for item in scan(path, fmt) if isinstance(item, Problem)]
        if problems and not skip_bad:
            raise DataError(problems, hint="nothing was imported: fix the file, or import "
                            "the good rows with --skip-bad")
        import_id = before.id if before is not None else self._begin_import(sha256, path, fmt,
                                                                            at)
        writer = _ImportWriter(self.database, import_id, at, progress, batch)
        writer.write(scan(path, fmt))
        with self.database.writing() as connection:
            connection.execute(sa.update(imports).where(imports.c.id == import_id).values(
                rows=writer.rows, skipped=len(problems), finished_at=at))
            added = connection.execute(sa.select(sa.func.count()).select_from(purchases)
                                       .where(purchases.c.import_id == import_id)).scalar_one()
        return Imported(writer.added, added, len(writer.seen), tuple(problems),
                        present=writer.purchases - added)

    def _begin_import(self, sha256: str, path: Path, fmt: str, at: datetime) -> int:
        """The import's row, unfinished until its last batch is written."""
        with self.database.writing() as connection:
            return int(connection.execute(sa.insert(imports).values(
                sha256=sha256, path=str(path), format=fmt, rows=0, skipped=0, imported_at=at,
            ).returning(imports.c.id)).scalar_one())

    def totals(self, as_of: date) -> Totals:
        """Every customer's purchase sums up to and including as_of, in id order.

        The database sums each customer's days (the covering purchases index gives them in
        order); NumPy sums the days up per customer, several times faster than SQL does. Both
        queries go through the driver: SQLAlchemy's row processing would double the time.
        """
        with self.database.reading() as connection:
            people = fetch_columns(connection, _CUSTOMERS_IN_ORDER, (), 3)
            per_day = fetch_columns(connection, _SUMS_PER_DAY, (day(connection, as_of),), 3)
        return _totals(as_of, *people, *per_day)

    def heads(self, first: str, last: str) -> dict[str, CustomerHead]:
        """The tier, churn risk and history head of the customers with ids first..last, as
        committed now (SqlCustomerTransaction.heads reads them in a transaction, locked)."""
        with self.database.reading() as connection:
            return _heads(connection, first, last, "")

    def open_cases(self, workflows: Sequence[str], first: str,
                   last: str) -> dict[tuple[str, str], list[int]]:
        """SqlCustomerTransaction.open_cases as committed now."""
        with self.database.reading() as connection:
            return _open_cases(connection, workflows, first, last)

    def next_case_id(self) -> int | None:
        """The id the next case started gets, if no other is started first; None where ids
        come from a sequence, which cannot be read without using one up (PostgreSQL)."""
        if self.database.dialect != "sqlite":
            return None
        with self.database.reading() as connection:
            return int(fetch(connection, _NEXT_CASE_ID, ())[0][0])

    def forked(self) -> None:
        """Make this store usable in a process forked from the one that opened it: it opens
        connections of its own, and leaves the ones it inherited to their owner untouched."""
        self._inherited = self.database.engine.pool  # kept alive: never closed from here
        self.database.engine.dispose(close=False)

    @contextmanager
    def transaction(self) -> Iterator[SqlCustomerTransaction]:
        with self.database.writing() as connection:
            yield SqlCustomerTransaction(connection)

    def customer(self, customer_id: str) -> CustomerProfile:
        """A customer record with its latest figures (None for figures never computed)."""
        query = (sa.select(customers, *[customer_figures.c[n] for n in FIGURE_NAMES])
                 .select_from(customers.outerjoin(customer_figures))
                 .where(customers.c.id == customer_id))
        with self.database.reading() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"customer '{customer_id}' does not exist")
        record = CustomerRecord(**{c.name: row[c.name] for c in customers.c})
        figures = None if row["as_of"] is None else StoredFigures(
            **{name: row[name] for name in FIGURE_NAMES})
        return CustomerProfile(record, figures)

    def history(self, customer_id: str) -> list[CustomerEvent]:
        with self.database.reading() as connection:
            rows = connection.execute(sa.select(customer_events)
                                      .where(customer_events.c.customer_id == customer_id)
                                      .order_by(customer_events.c.seq))
            return [_customer_event(row) for row in rows]

    def chains(self) -> Iterator[tuple[str, int, str, list[CustomerEvent]]]:
        """Every customer with history: (id, recorded count, head hash, stored events), one
        customer's events in memory at a time."""
        with self.database.reading() as connection:
            heads = connection.execute(
                sa.select(customers.c.id, customers.c.history_seq, customers.c.history_head)
                .order_by(customers.c.id)
            ).all()
            stream = connection.execution_options(yield_per=5000).execute(
                sa.select(customer_events).order_by(customer_events.c.customer_id,
                                                    customer_events.c.seq))
            for chain in with_events(heads, (_customer_event(row) for row in stream),
                                     lambda e: e.customer_id):
                if chain[1] or chain[3]:
                    yield chain

    def tiered(self, tiers: Sequence[str] | None) -> list[tuple[str, str | None, datetime]]:
        """(id, tier, last reviewed or else created) of the customers in these tiers (None:
        every customer), by id."""
        query = sa.select(customers.c.id, customers.c.tier,
                          sa.func.coalesce(customers.c.reviewed_at, customers.c.created_at,
                                           type_=customers.c.reviewed_at.type))
        if tiers is not None:
            query = query.where(customers.c.tier.in_(tiers))
        with self.database.engine.connect() as connection:
            rows = connection.execute(query.order_by(customers.c.id)).all()
        return [(str(i), t, last) for i, t, last in rows]

    def field_values(self, workflow: str, name: str) -> set[tuple[str, Any]]:
        """(customer, value of case field `name`) over every case of `workflow`."""
        with self.database.engine.connect() as connection:
            rows = connection.execute(sa.select(cases.c.customer, cases.c.fields).where(
                cases.c.workflow == workflow, cases.c.customer.is_not(None)))
            return {(str(customer), fields.get(name)) for customer, fields in rows}

    def open_customers(self, workflow: str) -> set[str]:
        """The customers with an open case of `workflow`."""
        with self.database.engine.connect() as connection:
            return set(connection.execute(sa.select(cases.c.customer).distinct().where(
                cases.c.workflow == workflow, cases.c.closed_at.is_(None))).scalars())

    def add(self, customer_id: str, at: datetime, **attributes: Any) -> bool:
        """Create a customer record (type personal and status active unless given); False if
        the id is taken, which changes nothing."""
        with self.database.engine.begin() as connection:
            if connection.execute(sa.select(customers.c.id).where(
                    customers.c.id == customer_id)).first() is not None:
                return False
            connection.execute(sa.insert(customers).values(
                id=customer_id, **{"type": "personal", "status": "active", **attributes},
                created_at=at, updated_at=at, history_seq=0, history_head=GENESIS))
        return True

    def figures_as_of(self) -> date | None:
        """The day the newest stored figures count up to (None before the first recompute)."""
        with self.database.reading() as connection:
            value = connection.execute(sa.select(sa.func.max(customer_figures.c.as_of))
                                       ).scalar_one()
        return value if isinstance(value, date) or value is None else date.fromisoformat(value)

    def count(self) -> tuple[int, int]:
        """How many customers and purchases are stored."""
        with self.database.reading() as connection:
            return (int(connection.execute(sa.select(sa.func.count()).select_from(customers))
                        .scalar_one()),
                    int(connection.execute(sa.select(sa.func.count()).select_from(purchases))
                        .scalar_one()))


class _ImportWriter:
    """Writes an import's rows in batches as they are read, each batch one transaction: new
    customers before their purchases, attributes of known customers in the file's order."""

    def __init__(self, database: Database, import_id: int, at: datetime,
                 progress: Callable[[int], None], batch: int) -> None:
        self.database = database
        self.import_id = import_id
        self.at = at
        self.progress = progress
        self.size = batch
        with database.reading() as connection:
            self.known = set(connection.execute(sa.select(customers.c.id)).scalars())
        self.seen: set[str] = set()
        self.new: dict[str, dict[str, str]] = {}
        self.changed: list[tuple[str, dict[str, str]]] = []  # known customers' attributes
        self.batch: list[Purchase] = []
        self.keys = NaturalKeys()
        self.rows = self.added = self.purchases = 0

    def write(self, items: Iterator[Item]) -> None:
        """Write the good rows (the bad ones were reported before)."""
        last = 0
        for item in items:
            if item.line != last:
                self.rows, last = self.rows + 1, item.line
                if len(self.batch) + len(self.new) + len(self.changed) >= self.size:
                    self._flush()  # between rows: a row's items stay in one transaction
            if isinstance(item, Purchase):
                self._customer(item.customer, {})
                self.batch.append(item)
            elif not isinstance(item, Problem):
                self._customer(item.id, item.attributes)
        self._flush()

    def _customer(self, customer: str, attributes: dict[str, str]) -> None:
        self.seen.add(customer)
        if customer in self.known:
            if attributes:
                self.changed.append((customer, attributes))
        else:
            self.new.setdefault(customer, {}).update(attributes)

    def _flush(self) -> None:
        if not (self.new or self.changed or self.batch):
            return
        with self.database.writing() as connection:
            if self.new:
                columns = [c.name for c in customers.c]
                connection.execute(sa.insert(customers), [
                    {**dict.fromkeys(columns), "id": customer, "type": "personal",
                     "status": "active", **attributes, "created_at": self.at,
                     "updated_at": self.at, "history_seq": 0, "history_head": GENESIS}
                    for customer, attributes in self.new.items()])
            for customer, attributes in self.changed:
                connection.execute(sa.update(customers).where(customers.c.id == customer)
                                   .values(**attributes, updated_at=self.at))
            execute_many(connection, _ADD_PURCHASE, [
                (p.customer, day(connection, p.day), p.quantity, money(connection, p.amount),
                 self.import_id, p.line, self.keys(p)) for p in self.batch])
        self.known.update(self.new)
        self.added += len(self.new)
        self.purchases += len(self.batch)
        self.new, self.changed, self.batch = {}, [], []
        self.progress(self.rows)


def _totals(as_of: date, ids: list[str], types: list[str], statuses: list[str],
            buyers: list[str], days: list[Any], amounts: list[float]) -> Totals:
    """Per-customer sums of (customer, day, amount) rows sorted by customer and day."""
    size, rows = len(ids), len(buyers)
    who = np.array(buyers, dtype=object)
    ordinals = _ordinals(days) if rows else np.zeros(0, dtype=np.int64)
    value = np.asarray(amounts, dtype=np.float64)
    starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]]) if rows else \
        np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], rows] - 1 if rows else starts  # no purchases: none
    where = {customer: i for i, customer in enumerate(ids)}
    at = np.fromiter((where[c] for c in who[starts]), dtype=np.int64, count=len(starts))
    window_start = (as_of - timedelta(days=REVENUE_WINDOW_DAYS)).toordinal()
    recent = np.where(ordinals > window_start, value, 0.0)

    def spread(values: Any, dtype: Any) -> Any:
        full = np.zeros(size, dtype=dtype)
        full[at] = values
        return full

    def summed(values: Any) -> Any:
        return np.add.reduceat(values, starts) if rows else np.zeros(0)

    return Totals(
        as_of=as_of, ids=tuple(ids), types=tuple(types), statuses=tuple(statuses),
        first_day=spread(ordinals[starts], np.int64), last_day=spread(ordinals[ends], np.int64),
        occasions=spread(ends - starts + 1, np.int64), total=spread(summed(value), np.float64),
        first_amount=spread(value[starts], np.float64), recent=spread(summed(recent), np.float64),
    )


def _ordinals(days: list[Any]) -> Any:
    """Date strings (SQLite) or dates (PostgreSQL) as proleptic day ordinals."""
    stamps = np.array(days, dtype="datetime64[D]")
    return stamps.astype(np.int64) + date(1970, 1, 1).toordinal()


def _heads(connection: Connection, first: str, last: str,
           locking: str) -> dict[str, CustomerHead]:
    """The heads of customers first..last: two range reads, each in its table's key order,
    take half the time of one read joining the figures row by row. (The customers are read,
    and locked, first: the churn risks read after them are the ones their writer left.)"""
    rows = fetch(connection, _HEADS + locking, (first, last))
    risks = dict(fetch(connection, _RISKS, (first, last)))
    return {i: CustomerHead(i, tier, risks.get(i), seq, head) for i, tier, seq, head in rows}


def _open_cases(connection: Connection, workflows: Sequence[str], first: str,
                last: str) -> dict[tuple[str, str], list[int]]:
    found: dict[tuple[str, str], list[int]] = {}
    if not workflows:
        return found
    sql = _OPEN_CASES.format(", ".join("?" for _ in workflows))
    for workflow, customer, case_id in fetch(connection, sql, (*workflows, first, last)):
        found.setdefault((str(workflow), str(customer)), []).append(int(case_id))
    return found


def _customer_event(row: Any) -> CustomerEvent:
    m = row._mapping
    return CustomerEvent(m["customer_id"], m["seq"], m["name"], m["actor"], m["role"], m["at"],
                         m["payload"], m["prev_hash"], m["hash"])


# The recompute's bulk reads and writes (engine.store.bulk). Days are compared as stored: ISO
# text on SQLite, dates on PostgreSQL; FLOAT is a double on both.
_CUSTOMERS_IN_ORDER = "SELECT id, type, status FROM customers ORDER BY id"
_SUMS_PER_DAY = ("SELECT customer_id, day, CAST(SUM(amount) AS FLOAT) FROM purchases "
                 "WHERE day <= ? GROUP BY customer_id, day ORDER BY customer_id, day")
_HEADS = "SELECT id, tier, history_seq, history_head FROM customers WHERE id BETWEEN ? AND ?"
_RISKS = "SELECT customer_id, churn_risk FROM customer_figures WHERE customer_id BETWEEN ? AND ?"
# customer_id, the stored figures, churn_risk, tier_rule, tier_table_version, as_of, computed_at
_FIGURE_ORDER = ["customer_id", *STORED_FIGURES, "churn_risk", "tier_rule", "tier_table_version",
                 "as_of", "computed_at"]
_SAVE_FIGURES = (
    f"INSERT INTO customer_figures ({', '.join(_FIGURE_ORDER)}) "
    f"VALUES ({', '.join('?' for _ in _FIGURE_ORDER)}) ON CONFLICT (customer_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _FIGURE_ORDER if name != "customer_id")
)
# a purchase its customer has already (by its natural key) is left as it is
_ADD_PURCHASE = ("INSERT INTO purchases (customer_id, day, quantity, amount, import_id, line, "
                 "natural_key) VALUES (?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (customer_id, natural_key) DO NOTHING")
_SET_HEAD = ("UPDATE customers SET tier = ?, history_seq = ?, history_head = ?, updated_at = ? "
             "WHERE id = ?")
_OPEN_CASES = ("SELECT workflow, customer, id FROM cases WHERE workflow IN ({}) AND customer "
               "BETWEEN ? AND ? AND closed_at IS NULL ORDER BY id")
# as SqlTransaction.reserve_case_ids gives ids on SQLite: the largest + 1
_NEXT_CASE_ID = "SELECT coalesce(max(id), 0) + 1 FROM cases"
_APPEND_EVENT = ("INSERT INTO customer_events (customer_id, seq, name, actor, role, at, payload, "
                 "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


class SqlCustomerTransaction(SqlTransaction):
    """One transaction of a recompute: a case transaction that also writes customers."""

    def heads(self, first: str, last: str) -> dict[str, CustomerHead]:
        """The tier, churn risk and history head of the customers with ids first..last, locked
        against concurrent writers on PostgreSQL."""
        return _heads(self.connection, first, last,
                      " FOR UPDATE" if self.connection.dialect.name == "postgresql" else "")

    def save_figures(self, as_of: date, at: datetime,
                     rows: Sequence[tuple[Any, ...]]) -> None:
        """Upsert (customer_id, *STORED_FIGURES, churn_risk, tier_rule, tier_table_version)."""
        stored = (day(self.connection, as_of), instant(self.connection, at))
        execute_many(self.connection, _SAVE_FIGURES, [row + stored for row in rows])

    def set_heads(self, changes: Sequence[tuple[CustomerHead, datetime]]) -> None:
        """Write each customer's new tier and the head of its history."""
        stamp = Instants(self.connection)
        execute_many(self.connection, _SET_HEAD, [
            (h.tier, h.seq, h.head, stamp(at), h.id) for h, at in changes])

    def append_customer_events(self, events: Sequence[CustomerEvent]) -> None:
        stamp = Instants(self.connection)
        execute_many(self.connection, _APPEND_EVENT, [
            (e.customer_id, e.seq, e.name, e.actor, e.role, stamp(e.at), e.payload, e.prev_hash,
             e.hash) for e in events])

    def open_cases(self, workflows: Sequence[str], first: str,
                   last: str) -> dict[tuple[str, str], list[int]]:
        """(workflow, customer) -> ids of the open cases of these workflows, in id order, for
        the customers first..last."""
        return _open_cases(self.connection, workflows, first, last)
