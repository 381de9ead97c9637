"""Customer records and purchases as they come in: reading CDNOW and CSV files, row by row.

Reading never stops at the first bad row: every problem is reported as FILE:LINE: reason, so an
operator fixes a file in one pass. Whether a file with bad rows is imported at all (it is not,
unless the operator says --skip-bad) is the caller's decision; nothing here writes anything.

Reading is bounded: a field may hold at most MAX_FIELD characters and a record (a line, or the
lines of one quoted CSV record) MAX_RECORD, so that a file with a 60 MB field is an error at its
line, not a traceback or a process holding the field. A NUL byte anywhere is refused before a
row is read (digest finds it): PostgreSQL cannot store one, and SQLite would store what the
other refuses.

Each purchase gets a natural key (`NaturalKeys`), by which a store recognises it when a corrected
file brings it again: the order id when the file has one, else its day, amount and occurrence.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from engine.kernel.errors import CaseworkError, Problem

CUSTOMER_TYPES = ("personal", "enterprise")
STATUSES = ("potential", "active", "dormant", "lost")
FORMATS = ("cdnow", "csv")
CUSTOMER_COLUMNS = ("type", "status", "name", "email", "phone", "industry", "region", "owner")
PURCHASE_COLUMNS = ("date", "amount", "quantity", "order")
# Far above any real row (a customer row is under a kilobyte), far below what hurts a process.
MAX_FIELD = 128 * 1024  # characters in one CSV field (Python's own default, made explicit)
MAX_RECORD = 1024 * 1024  # characters in one record: a line, or a quoted record's lines
_CHUNK = 1024 * 1024  # bytes digest reads at a time


class DataError(CaseworkError):
    """A data file with bad rows; carries every problem, each with its file and line."""

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = problems
        shown = problems[:20]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("\n".join(str(p) for p in shown) + more + (f"\n{hint}" if hint else ""))


@dataclass(frozen=True)
class Purchase:
    customer: str
    day: date
    quantity: int
    amount: Decimal
    line: int
    order: str | None = None  # the order id, when the file has one


@dataclass(frozen=True)
class CustomerFacts:
    """What a file says about a customer; None means it says nothing about that attribute."""

    id: str
    line: int
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Reading:
    """Everything read from one file: good rows, and the problems of the bad ones."""

    path: str
    format: str
    sha256: str
    purchases: list[Purchase] = field(default_factory=list)
    customers: dict[str, CustomerFacts] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0


Item = Purchase | CustomerFacts | Problem


def read_file(path: Path, fmt: str) -> Reading:
    """Read a whole CDNOW or CSV file into memory (for fits and small files; imports stream);
    raise DataError only if it cannot be read at all."""
    reading = Reading(str(path), fmt, digest(path))
    last = 0
    for item in scan(path, fmt):
        if item.line != last:
            reading.rows, last = reading.rows + 1, item.line
        if isinstance(item, Problem):
            reading.problems.append(item)
        elif isinstance(item, Purchase):
            reading.purchases.append(item)
            reading.customers.setdefault(item.customer, CustomerFacts(item.customer, item.line))
        else:
            known = reading.customers.get(item.id)
            reading.customers[item.id] = CustomerFacts(
                item.id, known.line if known else item.line,
                {**(known.attributes if known else {}), **item.attributes})
    return reading


def digest(path: Path) -> str:
    """The file's SHA-256 (an import is known by its content, not by its name), read before
    any row is: raises DataError at the line of the first NUL byte, which no database of
    casework can store, so a file holding one is refused before anything is written."""
    sha256 = hashlib.sha256()
    lines = 1
    try:
        with path.open("rb") as raw:
            while chunk := raw.read(_CHUNK):
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    line = lines + chunk.count(b"\n", 0, nul)
                    raise DataError([Problem(str(path), line, "a NUL byte (0x00) in the "
                                             "file, which casework cannot store; remove it "
                                             "(is this a text file?)")])
                lines += chunk.count(b"\n")
                sha256.update(chunk)
    except OSError as exc:
        raise DataError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None
    return sha256.hexdigest()


class _Lines:
    """The lines of a text file, none longer than MAX_RECORD characters and no record longer
    (`record()` says where the next one starts), read without holding more than that: a
    longer one raises DataError at its line."""

    def __init__(self, path: str, file: TextIO) -> None:
        self.path = path
        self.file = file
        self.number = 0  # the line last read
        self.first = 1  # the line the record being read starts at
        self.held = 0  # characters of the record being read

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.file.readline(MAX_RECORD + 1 - self.held)
        if not line:
            raise StopIteration
        self.number += 1
        self.held += len(line)
        if self.held > MAX_RECORD:
            what = f"the record starting at line {self.first} is" \
                if self.first < self.number else "the line is"
            raise DataError([Problem(self.path, self.number, f"{what} longer than "
                                     f"{MAX_RECORD:,} characters; is a quote (\") left "
                                     "open, or is this not a file of customer rows?")])
        return line

    def record(self) -> None:
        """The record read so far is complete: the next line starts one."""
        self.held = 0
        self.first = self.number + 1


def scan(path: Path, fmt: str) -> Iterator[Item]:
    """The rows of a file one by one, as purchases, customer facts and problems (each with its
    line), holding no more than one line in memory. Raises DataError for a file that cannot be
    read at all: unknown format, not UTF-8, or no rows."""
    if fmt not in FORMATS:
        raise DataError([Problem(str(path), 1, f"unknown format '{fmt}' (formats: "
                                 f"{', '.join(FORMATS)})")])
    rows = 0
    try:
        with path.open(encoding="utf-8", newline="") as file:
            lines = _Lines(str(path), file)
            for item in (_scan_cdnow if fmt == "cdnow" else _scan_csv)(lines):
                rows += 1
                yield item
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None
    if not rows:
        raise DataError([Problem(str(path), 1, "the file is empty")])


def _scan_cdnow(lines: _Lines) -> Iterator[Item]:
    """CDNOW, whitespace-separated: `customer_id [original_id] YYYYMMDD number_of_cds
    dollar_value` (the sample file has the original id, the master file does not and starts with
    a header line naming the columns)."""
    path = lines.path
    for number, line in enumerate(lines, 1):
        lines.record()
        parts = line.split()
        if not parts or (number == 1 and parts[0] == "customer_id"):
            continue
        if len(parts) not in (4, 5):
            yield Problem(path, number, f"expected 4 or 5 columns (customer, [original id,] "
                          f"date YYYYMMDD, quantity, amount), found {len(parts)}")
            continue
        customer, day, quantity, amount = parts[0], *parts[-3:]
        yield _purchase(path, number, customer, day, quantity, amount, "%Y%m%d")


def _scan_csv(lines: _Lines) -> Iterator[Item]:
    """CSV with a header: `customer` plus customer columns and/or `date, amount[, quantity]
    [, order]` (order: the order id, which identifies the purchase on a later import)."""
    path = lines.path
    csv.field_size_limit(MAX_FIELD)  # the process's limit: set for each read, whoever set it
    rows = csv.DictReader(lines)
    try:
        header = rows.fieldnames or []
    except csv.Error as exc:
        raise _malformed(lines, exc) from None
    lines.record()
    known = {"customer", *CUSTOMER_COLUMNS, *PURCHASE_COLUMNS}
    unknown = [c for c in header if c not in known]
    if "customer" not in header or unknown:
        yield Problem(path, 1, f"the header needs 'customer' and may have "
                      f"{', '.join(sorted(known))}"
                      + (f"; unknown columns: {', '.join(unknown)}" if unknown else ""))
        return
    for row in _read(rows, lines):
        yield from _csv_row(path, rows.line_num, row)


def _read(rows: csv.DictReader[str], lines: _Lines) -> Iterator[dict[str, str | None]]:
    """The rows, each completing a record of `lines`; malformed CSV (a field beyond
    MAX_FIELD) is a DataError at its line: the rows after it cannot be told apart, so reading
    stops there."""
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _malformed(lines, exc) from None
        lines.record()
        yield row


def _malformed(lines: _Lines, exc: csv.Error) -> DataError:
    where = f" (in the record starting at line {lines.first})" \
        if lines.first < lines.number else ""
    why = f"not valid CSV{where}: {exc}"
    if "field larger than field limit" in str(exc):
        why = (f"a field longer than {MAX_FIELD:,} characters{where}; is a quote (\") left "
               "open, or is this not a file of customer rows?")
    return DataError([Problem(lines.path, lines.number, why)])


def _csv_row(path: str, number: int, row: dict[str, str | None]) -> Iterator[Item]:
    customer = (row.get("customer") or "").strip()
    if not customer:
        yield Problem(path, number, "no customer id")
        return
    attributes = {c: (row.get(c) or "").strip() for c in CUSTOMER_COLUMNS if row.get(c)}
    for column, allowed in (("type", CUSTOMER_TYPES), ("status", STATUSES)):
        if column in attributes and attributes[column] not in allowed:
            yield Problem(path, number, f"{column} '{attributes[column]}' is not one of "
                          f"{', '.join(allowed)}")
            return
    if row.get("date") or row.get("amount"):
        purchase = _purchase(path, number, customer, row.get("date") or "",
                             row.get("quantity") or "1", row.get("amount") or "", "%Y-%m-%d")
        if isinstance(purchase, Problem):
            yield purchase
            return
        order = (row.get("order") or "").strip()
        if order:
            purchase = replace(purchase, order=order)
        if attributes:
            yield CustomerFacts(customer, number, attributes)
        yield purchase
        return
    yield CustomerFacts(customer, number, attributes)


def _purchase(path: str, number: int, customer: str, day: str, quantity: str, amount: str,
              date_format: str) -> Purchase | Problem:
    try:
        parsed_day = datetime.strptime(day.strip(), date_format).date()
    except ValueError:
        example = "19970118" if date_format == "%Y%m%d" else "1997-01-18"
        return Problem(path, number, f"date '{day}' is not a date like {example}")
    try:
        count = int(quantity)
    except ValueError:
        return Problem(path, number, f"quantity '{quantity}' is not a whole number")
    try:
        money = Decimal(amount.strip())
    except InvalidOperation:
        return Problem(path, number, f"amount '{amount}' is not a number")
    if count < 0 or not money.is_finite() or money < 0:
        return Problem(path, number, f"negative or invalid quantity/amount ({quantity}, "
                       f"{amount})")
    return Purchase(customer, parsed_day, count, money.quantize(Decimal("0.01")), number)


def occasions(purchases: list[Purchase]) -> Iterator[tuple[str, date, Decimal]]:
    """Purchase occasions: one per customer and day, the day's lines summed."""
    totals: dict[tuple[str, date], Decimal] = {}
    for p in purchases:
        totals[(p.customer, p.day)] = totals.get((p.customer, p.day), Decimal(0)) + p.amount
    for (customer, day), amount in sorted(totals.items()):
        yield customer, day, amount


class NaturalKeys:
    """The natural key of each purchase of one file, unique per customer: `order:ID` when the
    row has an order id, else `DAY/AMOUNT/N` where N counts the rows of the same customer, day
    and amount in the file so far (1 for the first, 2 for a second identical one).

    Not the file line: a corrected file that gains or loses a line above a row would give the
    same purchase another key, and it would be stored twice. Reading the same rows in the same
    order always gives the same keys, whatever else the file holds."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, date, Decimal], int] = {}

    def __call__(self, purchase: Purchase) -> str:
        if purchase.order:
            return f"order:{purchase.order}"
        triple = (purchase.customer, purchase.day, purchase.amount)
        n = self.seen[triple] = self.seen.get(triple, 0) + 1
        return natural_key(purchase.day, purchase.amount, n)


def natural_key(day: date, amount: Decimal, occurrence: int) -> str:
    """The key of a purchase without an order id, its amount to the cent as every Purchase's
    is (migration 0023 gives stored rows the same)."""
    return f"{day.isoformat()}/{amount}/{occurrence}"
