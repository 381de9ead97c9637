"""Imports that never double: purchases recognised by their natural key (engine/store/customers.py,
migration 0023), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.customers.files import MAX_RECORD, DataError
from engine.store import Database
from engine.store.schema import customers, imports, purchases
from engine.store.upgrades import upgrade
from engine.wiring import Casework
from tests.fixtures import T0, database_at

HEADER = "customer,date,amount,quantity\n"


def stored(casework: Casework, customer: str) -> list[tuple[date, float]]:
    with casework.database.reading() as connection:
        rows = connection.execute(sa.select(purchases.c.day, purchases.c.amount)
                                  .where(purchases.c.customer_id == customer)
                                  .order_by(purchases.c.day, purchases.c.id)).all()
    return [(d if isinstance(d, date) else date.fromisoformat(d), float(a)) for d, a in rows]


def test_a_corrected_file_adds_only_the_corrected_row(casework: Casework,
                                                      tmp_path: Path) -> None:
    """Issue 19: the file with a bad row imported with --skip-bad, then the corrected file:
    N-4's one 9,000 purchase is stored, and counted, once."""
    first = tmp_path / "purchases.csv"
    first.write_text(HEADER + "N-4,1997-03-01,9000.00,1\nN-5,1997-13-01,20.00,1\n"
                     "N-6,1997-03-02,15.00,1\n")
    with pytest.raises(DataError, match="purchases.csv:3: date '1997-13-01'"):
        casework.customers.import_file(first, "csv", T0)
    skipped = casework.customers.import_file(first, "csv", T0, skip_bad=True)
    assert (skipped.purchases, skipped.present, len(skipped.skipped)) == (2, 0, 1)
    corrected = tmp_path / "purchases-corrected.csv"
    corrected.write_text(HEADER + "N-4,1997-03-01,9000.00,1\nN-5,1997-12-01,20.00,1\n"
                         "N-6,1997-03-02,15.00,1\n")
    again = casework.customers.import_file(corrected, "csv", T0)
    assert (again.purchases, again.present, again.skipped, again.customers) == (1, 2, (), 1)
    assert stored(casework, "N-4") == [(date(1997, 3, 1), 9000.0)]
    assert stored(casework, "N-5") == [(date(1997, 12, 1), 20.0)]
    totals = casework.customers.totals(date(1998, 6, 30))
    assert float(totals.total[totals.ids.index("N-4")]) == 9000.0


def test_identical_rows_are_two_purchases_and_a_line_more_changes_no_key(
        casework: Casework, tmp_path: Path) -> None:
    """Two identical rows are two purchases (occurrence 1 and 2); a later version of the file
    with a row more above them, on other lines, adds only that row."""
    first = tmp_path / "a.csv"
    first.write_text(HEADER + "C1,1997-01-05,10.00,1\nC1,1997-01-05,10.00,1\n")
    assert casework.customers.import_file(first, "csv", T0).purchases == 2
    second = tmp_path / "b.csv"
    second.write_text(HEADER + "C1,1997-01-04,7.50,1\nC1,1997-01-05,10.00,1\n"
                      "C1,1997-01-05,10.00,1\nC1,1997-01-05,10.00,2\n")
    result = casework.customers.import_file(second, "csv", T0)
    assert (result.purchases, result.present) == (2, 2)  # the 7.50 and a third 10.00
    assert stored(casework, "C1") == [(date(1997, 1, 4), 7.5)] + [(date(1997, 1, 5), 10.0)] * 3


def test_an_order_id_is_the_key_when_the_file_has_one(casework: Casework,
                                                      tmp_path: Path) -> None:
    first = tmp_path / "orders.csv"
    first.write_text("customer,order,date,amount\nC1,A-1,1997-01-05,10.00\n"
                     "C1,A-2,1997-01-05,10.00\n")
    assert casework.customers.import_file(first, "csv", T0).purchases == 2
    # the amount of A-1 corrected: the order is known, nothing is added twice
    second = tmp_path / "orders-2.csv"
    second.write_text("customer,order,date,amount\nC1,A-1,1997-01-05,11.00\n"
                      "C1,A-3,1997-01-06,5.00\n")
    result = casework.customers.import_file(second, "csv", T0)
    assert (result.purchases, result.present) == (1, 1)
    assert len(stored(casework, "C1")) == 3


@pytest.fixture
def at_0020(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from database_at("0020", request, tmp_path)


@pytest.mark.parametrize("at_0020", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_migration_0023_keys_the_stored_purchases_as_an_import_would(at_0020: Database) -> None:
    at = T0.replace(tzinfo=None) if at_0020.dialect == "sqlite" else T0
    with at_0020.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO customers (id, type, status, created_at, updated_at, history_seq, "
            "history_head) VALUES ('C1', 'personal', 'active', :at, :at, 0, 'g')"), {"at": at})
        for amount in ("10.00", "10.00", "7.50"):
            connection.execute(sa.text(
                "INSERT INTO purchases (customer_id, day, quantity, amount) VALUES "
                "('C1', '1997-01-05', 1, :amount)"), {"amount": amount})
    upgrade(at_0020)
    with at_0020.engine.connect() as connection:
        keys = connection.execute(sa.text(
            "SELECT natural_key FROM purchases ORDER BY id")).scalars().all()
    assert keys == ["1997-01-05/10.00/1", "1997-01-05/10.00/2", "1997-01-05/7.50/1"]


def rows_of(casework: Casework) -> list[int]:
    """How many customers, purchases and imports are stored."""
    with casework.database.reading() as connection:
        return [connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in (customers, purchases, imports)]


@pytest.mark.parametrize("skip_bad", [False, True])
def test_a_nul_byte_is_refused_at_its_line_and_nothing_is_written(
        casework: Casework, tmp_path: Path, skip_bad: bool) -> None:
    """Issue 20: on PostgreSQL a driver traceback; now the same error on both databases,
    before a row is written, even when bad rows may be skipped."""
    path = tmp_path / "purchases.csv"
    path.write_bytes(HEADER.encode() + b"N-1,1997-03-01,10.00,1\nN-2\x00,1997-03-01,5.00,1\n")
    before = rows_of(casework)
    with pytest.raises(DataError) as raised:
        casework.customers.import_file(path, "csv", T0, skip_bad=skip_bad)
    assert str(raised.value) == (f"{path}:3: a NUL byte (0x00) in the file, which casework "
                                 "cannot store; remove it (is this a text file?)")
    assert rows_of(casework) == before


def test_a_60_mb_field_is_refused_at_its_line_and_nothing_is_written(
        casework: Casework, tmp_path: Path) -> None:
    path = tmp_path / "purchases.csv"
    with path.open("w") as file:
        file.write(HEADER + "N-1,1997-03-01,10.00,1\n\"")
        for _ in range(60):
            file.write("9" * 1_000_000)
        file.write("\",1997-03-01,5.00,1\n")
    before = rows_of(casework)
    with pytest.raises(DataError) as raised:
        casework.customers.import_file(path, "csv", T0, skip_bad=True)
    assert str(raised.value) == (f"{path}:3: the line is longer than {MAX_RECORD:,} "
                                 "characters; is a quote (\") left open, or is this not a file "
                                 "of customer rows?")
    assert rows_of(casework) == before
