"""What a case transaction reads and writes beyond its own rows: whether the customers, users and
cases it names exist, the customer's open cases, the customer record a case updates, and the
year of purchases and complaints an annual cycle measures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.kernel.history import CustomerEvent
from engine.kernel.records import CustomerHead, CustomerRecord, YearActivity
from engine.kernel.specs import CUSTOMER_ATTRIBUTES, CUSTOMER_FIGURE_FACTS, CUSTOMER_RECORD_FACTS
from engine.store.bulk import Driver, Instants, execute_many
from engine.store.schema import cases, customers, events, purchases, surveys, users

CENT = Decimal("0.01")
_CUSTOMER_EXISTS = sa.select(customers.c.id).where(customers.c.id == sa.bindparam("key"))
_USER_EXISTS = sa.select(users.c.name).where(users.c.name == sa.bindparam("key"),
                                             users.c.active.is_(True))
_CASE_EXISTS = sa.select(cases.c.id).where(cases.c.id == sa.bindparam("key"))
# A customer's facts for a case's expressions, as the driver reads them (the hot path of a
# fire): the columns of the record, and of the latest figures (joined only when read).
_INSTANT_FACTS = frozenset({"reviewed_at", "created_at"})
_FACT_SQL: dict[frozenset[str], tuple[str, tuple[str, ...]]] = {}


def _facts_sql(names: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The statement reading these facts (by primary key), and the columns it reads."""
    found = _FACT_SQL.get(names)
    if found is None:
        record = [n for n in CUSTOMER_RECORD_FACTS if n in names]
        figures = [n for n in CUSTOMER_FIGURE_FACTS if n in names]
        columns = tuple(record + figures) or ("id",)
        joined = " LEFT JOIN customer_figures f ON f.customer_id = c.id" if figures else ""
        read = ", ".join([f"c.{n}" for n in record] + [f"f.{n}" for n in figures]) or "c.id"
        found = _FACT_SQL[names] = (f"SELECT {read} FROM customers c{joined} WHERE c.id = ?",
                                    columns)
    return found


class CaseLinks:
    """Mixed into the store's transaction (engine.store.repository.SqlTransaction)."""

    connection: Connection
    driver: Driver

    def exists(self, kind: str, key: str | int) -> bool:
        """Whether the customer, (active) user or case `key` exists."""
        query = {"customer": _CUSTOMER_EXISTS, "user": _USER_EXISTS, "case": _CASE_EXISTS}[kind]
        return self.connection.execute(query, {"key": key}).first() is not None

    def customer_facts(self, customer_id: str, names: frozenset[str]) -> dict[str, Any]:
        """The customer's facts of these names, from its record and latest figures (a figure is
        None before the first recompute); empty for a customer that does not exist."""
        sql, columns = _facts_sql(names & (CUSTOMER_ATTRIBUTES - {"rfm"})
                                  | ({"r_score", "f_score", "m_score"} if "rfm" in names
                                     else set()))
        row = self.driver.execute(sql, (customer_id,)).fetchone()
        if row is None:
            return {}
        facts = dict(zip(columns, row, strict=True))
        for name in _INSTANT_FACTS & facts.keys():
            facts[name] = self.driver.read_instant(facts[name])
        if isinstance(facts.get("as_of"), str):
            facts["as_of"] = date.fromisoformat(facts["as_of"])
        return facts

    def open_case(self, workflow: str, customer: str) -> int | None:
        """The id of the customer's open case of `workflow`, if there is one."""
        found: int | None = self.connection.execute(
            sa.select(sa.func.min(cases.c.id)).where(
                cases.c.workflow == workflow, cases.c.customer == customer,
                cases.c.closed_at.is_(None))).scalar()
        return found

    def open_case_ids(self, workflows: Sequence[str],
                      customers_: Sequence[str]) -> dict[tuple[str, str], list[int]]:
        """(workflow, customer) -> ids of the open cases of these workflows and customers."""
        found: dict[tuple[str, str], list[int]] = {}
        for first in range(0, len(customers_), 500):
            rows = self.connection.execute(
                sa.select(cases.c.workflow, cases.c.customer, cases.c.id)
                .where(cases.c.workflow.in_(workflows),
                       cases.c.customer.in_(customers_[first:first + 500]),
                       cases.c.closed_at.is_(None)).order_by(cases.c.id))
            for workflow, customer, case_id in rows:
                found.setdefault((str(workflow), str(customer)), []).append(int(case_id))
        return found

    def customer_record(self, customer_id: str) -> tuple[CustomerHead, CustomerRecord]:
        """The customer's history head and record, locked against other writers (PostgreSQL)."""
        query = sa.select(customers).where(customers.c.id == customer_id)
        if self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        record = CustomerRecord(**self.connection.execute(query).mappings().one())
        return (CustomerHead(record.id, record.tier, None, record.history_seq,
                             record.history_head), record)

    def update_customer(self, head: CustomerHead, changes: Mapping[str, Any],
                        events: Sequence[CustomerEvent], at: datetime) -> None:
        """Write changed attributes of a customer and the events that record them."""
        self.connection.execute(
            sa.update(customers).where(customers.c.id == head.id)
            .values(**changes, history_seq=head.seq, history_head=head.head, updated_at=at))
        stamp = Instants(self.connection)
        execute_many(self.connection, (
            "INSERT INTO customer_events (customer_id, seq, name, actor, role, at, payload, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"), [
            (e.customer_id, e.seq, e.name, e.actor, e.role, stamp(e.at), e.payload,
             e.prev_hash, e.hash) for e in events])

    def year_activity(self, customer_id: str, year: int) -> YearActivity:
        """The customer's purchases in `year` and the year before, and every CSAT rating its
        complaints were given in `year`."""
        first, last = date(year - 1, 1, 1), date(year, 12, 31)
        rows = self.connection.execute(
            sa.select(purchases.c.day, sa.func.sum(purchases.c.amount))
            .where(purchases.c.customer_id == customer_id, purchases.c.day.between(first, last))
            .group_by(purchases.c.day)).all()
        start = datetime(year, 1, 1, tzinfo=UTC)
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
        # Every rating given in the year, from the complaints' histories: a low rating that sent
        # a complaint back to investigation counts too, though a later one replaced it.
        payloads = self.connection.execute(
            sa.select(events.c.payload).select_from(events.join(cases))
            .where(cases.c.customer == customer_id, cases.c.workflow == "complaint",
                   events.c.name == "case.field_changed", events.c.at >= start,
                   events.c.at < end).order_by(events.c.id)).scalars().all()
        ratings = [change["new"] for change in map(json.loads, payloads)
                   if change.get("field") == "csat" and isinstance(change.get("new"), int)]
        answers = self.connection.execute(
            sa.select(surveys.c.score).where(
                surveys.c.customer_id == customer_id, surveys.c.kind == "nps",
                surveys.c.answered_at >= start, surveys.c.answered_at < end)
            .order_by(surveys.c.id)).scalars().all()
        return YearActivity(
            year=year,
            days={_day(d): Decimal(str(amount)).quantize(CENT) for d, amount in rows},
            csat=ratings,
            nps=[int(a) for a in answers if a is not None],
        )


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
