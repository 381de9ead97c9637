from __future__ import annotations

import textwrap
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.customers.files import (
    MAX_FIELD,
    MAX_RECORD,
    DataError,
    NaturalKeys,
    digest,
    occasions,
    read_file,
)
from tests.fixtures import CDNOW


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_reads_the_real_cdnow_files_in_both_layouts() -> None:
    assert CDNOW.is_dir(), f"the CDNOW data is missing at {CDNOW}"
    sample = read_file(CDNOW / "CDNOW_sample.txt", "cdnow")
    master = read_file(CDNOW / "CDNOW_master.txt", "cdnow")  # a header line, no original id
    assert (sample.rows, len(sample.purchases), len(sample.customers), sample.problems) == \
        (6919, 6919, 2357, [])
    assert (master.rows, len(master.purchases), len(master.customers), master.problems) == \
        (69659, 69659, 23570, [])
    first = sample.purchases[0]
    assert (first.customer, first.day, first.quantity, first.amount) == \
        ("00004", date(1997, 1, 1), 2, Decimal("29.33"))


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.txt", """\
        00001 0001 19970101 2 29.33
        00002 0002 1997-01-01 1 3

        00003 0003 19970101 x 3
        00004 0004 19970101 1 -5
        00005 0005 19970101 1 abc
        00006 19970101 1
        """)
    reading = read_file(path, "cdnow")
    assert [str(p) for p in reading.problems] == [
        f"{path}:2: date '1997-01-01' is not a date like 19970118",
        f"{path}:4: quantity 'x' is not a whole number",
        f"{path}:5: negative or invalid quantity/amount (1, -5)",
        f"{path}:6: amount 'abc' is not a number",
        f"{path}:7: expected 4 or 5 columns (customer, [original id,] date YYYYMMDD, quantity, "
        "amount), found 3",
    ]
    assert [p.customer for p in reading.purchases] == ["00001"]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
])
def test_an_empty_file_is_an_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_file(write(tmp_path, "empty.txt", text), "cdnow")


def test_a_file_of_the_wrong_format_says_so_on_its_first_line(tmp_path: Path) -> None:
    csv_as_cdnow = read_file(write(tmp_path, "c.txt", "customer,date,amount\nC1,2026-01-02,5\n"),
                             "cdnow")
    assert str(csv_as_cdnow.problems[0]).startswith(f"{tmp_path / 'c.txt'}:1: expected 4 or 5")
    cdnow_as_csv = read_file(CDNOW / "CDNOW_sample.txt", "csv")
    assert "the header needs 'customer'" in str(cdnow_as_csv.problems[0])
    assert cdnow_as_csv.purchases == []


def test_csv_carries_customer_attributes_and_purchases(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", """\
        customer,type,status,name,region,date,amount,quantity
        ACME,enterprise,active,Acme Ltd,north,2026-01-05,1200.50,3
        ACME,,,,,2026-02-01,99.99,
        BOB,personal,potential,Bob,,,,
        EVE,robot,active,Eve,,,,
        """)
    reading = read_file(path, "csv")
    assert [str(p) for p in reading.problems] == [
        f"{path}:5: type 'robot' is not one of personal, enterprise"]
    assert [(p.customer, p.day, p.quantity, p.amount) for p in reading.purchases] == [
        ("ACME", date(2026, 1, 5), 3, Decimal("1200.50")),
        ("ACME", date(2026, 2, 1), 1, Decimal("99.99")),
    ]
    assert reading.customers["ACME"].attributes == {"type": "enterprise", "status": "active",
                                                    "name": "Acme Ltd", "region": "north"}
    assert reading.customers["BOB"].attributes["status"] == "potential"


def test_purchase_occasions_sum_a_customers_lines_of_one_day(tmp_path: Path) -> None:
    reading = read_file(write(tmp_path, "o.txt", """\
        1 1 19970101 1 10.00
        1 1 19970101 2 5.50
        1 1 19970105 1 1.00
        2 2 19970101 1 7.00
        """), "cdnow")
    assert list(occasions(reading.purchases)) == [
        ("1", date(1997, 1, 1), Decimal("15.50")), ("1", date(1997, 1, 5), Decimal("1.00")),
        ("2", date(1997, 1, 1), Decimal("7.00"))]


def test_natural_keys_count_identical_rows_and_prefer_the_order_id(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", """\
        customer,date,amount,order
        C1,1997-01-05,10,
        C2,1997-01-05,10.00,
        C1,1997-01-05,10.00,
        C1,1997-01-05,10.00,A-7
        """)
    keys = NaturalKeys()
    assert [keys(p) for p in read_file(path, "csv").purchases] == [
        "1997-01-05/10.00/1", "1997-01-05/10.00/1", "1997-01-05/10.00/2", "order:A-7"]


def test_a_field_beyond_the_limit_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"customer,name\nC1,Ann\nC2,\"{'x' * (MAX_FIELD + 1)}\"\nC3,Eve\n")
    with pytest.raises(DataError) as raised:
        read_file(path, "csv")
    assert str(raised.value) == (f"{path}:3: a field longer than {MAX_FIELD:,} characters; is "
                                 "a quote (\") left open, or is this not a file of customer "
                                 "rows?")


def test_a_60_mb_field_is_refused_at_its_line_without_reading_it_whole(tmp_path: Path) -> None:
    """Issue 20: a traceback. The line is refused at the record limit, so no more than that
    is ever held."""
    path = tmp_path / "c.csv"
    with path.open("w") as file:
        file.write("customer,name\nC1,Ann\nC2,\"")
        for _ in range(60):
            file.write("x" * 1_000_000)
        file.write("\"\n")
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as raised:
            read_file(path, "csv")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(raised.value) == (f"{path}:3: the line is longer than {MAX_RECORD:,} "
                                 "characters; is a quote (\") left open, or is this not a file "
                                 "of customer rows?")
    assert peak < 20 * MAX_RECORD  # bytes: a few copies of one record's worth, not 60 MB


def test_an_open_quote_is_refused_at_the_field_limit_naming_where_it_starts(
        tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    line = "x" * 999 + "\n"
    path.write_text("customer,name\nC1,\"Ann\n" + line * 200)
    with pytest.raises(DataError) as raised:
        read_file(path, "csv")
    assert str(raised.value).startswith(f"{path}:134: a field longer than {MAX_FIELD:,} "
                                        "characters (in the record starting at line 2); is a")


def test_a_record_of_many_lines_is_refused_at_the_record_limit(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    field = '"' + ("x" * 99 + "\n") * 1000 + '"'  # 100,000 characters on 1,000 lines
    path.write_text("customer,name,region\nC1,Ann,north\nC2," + ",".join([field] * 11) + "\n")
    with pytest.raises(DataError) as raised:
        read_file(path, "csv")
    assert str(raised.value).startswith(f"{path}:10488: the record starting at line 3 is "
                                        f"longer than {MAX_RECORD:,} characters")


def test_a_cdnow_line_beyond_the_limit_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("00001 19970101 2 29.33\n" + "9" * (MAX_RECORD + 1) + "\n")
    with pytest.raises(DataError, match=f"c.txt:2: the line is longer than {MAX_RECORD:,}"):
        read_file(path, "cdnow")


@pytest.mark.parametrize("fmt", ["csv", "cdnow"])
def test_a_nul_byte_is_refused_at_its_line_before_any_row_is_read(tmp_path: Path,
                                                                   fmt: str) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"customer,name\nC1,Ann\nC2,E\x00ve\nC3,bad-row-never-read\n")
    with pytest.raises(DataError) as raised:
        read_file(path, fmt)
    assert str(raised.value) == (f"{path}:3: a NUL byte (0x00) in the file, which casework "
                                 "cannot store; remove it (is this a text file?)")


def test_a_nul_byte_past_the_first_chunk_is_found_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"00001 19970101 2 29.33\n" * 100_000 + b"\x00\n")
    with pytest.raises(DataError, match=r"c.txt:100001: a NUL byte"):
        digest(path)
