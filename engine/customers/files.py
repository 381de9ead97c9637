"""Customer records and purchases as they come in: reading CDNOW and CSV files, row by row.

Reading never stops at the first bad row: every problem is reported as FILE:LINE: reason, so an
operator fixes a file in one pass. Whether a file with bad rows is imported at all (it is not,
unless the operator says --skip-bad) is the caller's decision; nothing here writes anything.

Each purchase gets a natural key (`NaturalKeys`), by which a store recognises it when a corrected
file brings it again: the order id when the file has one, else its day, amount and occurrence.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from engine.kernel.errors import CaseworkError, Problem

CUSTOMER_TYPES = ("personal", "enterprise")
STATUSES = ("potential", "active", "dormant", "lost")
FORMATS = ("cdnow", "csv")
CUSTOMER_COLUMNS = ("type", "status", "name", "email", "phone", "industry", "region", "owner")
PURCHASE_COLUMNS = ("date", "amount", "quantity", "order")


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
    """The file's SHA-256: an import is known by its content, not by its name."""
    try:
        with path.open("rb") as raw:
            return hashlib.file_digest(raw, "sha256").hexdigest()
    except OSError as exc:
        raise DataError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None


def scan(path: Path, fmt: str) -> Iterator[Item]:
    """The rows of a file one by one, as purchases, customer facts and problems (each with its
    line), holding no more than one line in memory. Raises DataError for a file that cannot be
    read at all: unknown format, not UTF-8, or no rows."""
    if fmt not in FORMATS:
        raise DataError([Problem(str(path), 1, f"unknown format '{fmt}' (formats: "
                                 f"{', '.join(FORMATS)})")])
    rows = 0
    try:
        with path.open(encoding="utf-8", newline="") as lines:
            for item in (_scan_cdnow if fmt == "cdnow" else _scan_csv)(str(path), lines):
                rows += 1
                yield item
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None
    if not rows:
        raise DataError([Problem(str(path), 1, "the file is empty")])


def _scan_cdnow(path: str, lines: Iterable[str]) -> Iterator[Item]:
    """CDNOW, whitespace-separated: `customer_id [original_id] YYYYMMDD number_of_cds
    dollar_value` (the sample file has the original id, the master file does not and starts with
    a header line naming the columns)."""
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or (number == 1 and parts[0] == "customer_id"):
            continue
        if len(parts) not in (4, 5):
            yield Problem(path, number, f"expected 4 or 5 columns (customer, [original id,] "
                          f"date YYYYMMDD, quantity, amount), found {len(parts)}")
            continue
        customer, day, quantity, amount = parts[0], *parts[-3:]
        yield _purchase(path, number, customer, day, quantity, amount, "%Y%m%d")


def _scan_csv(path: str, lines: Iterable[str]) -> Iterator[Item]:
    """CSV with a header: `customer` plus customer columns and/or `date, amount[, quantity]
    [, order]` (order: the order id, which identifies the purchase on a later import)."""
    rows = csv.DictReader(lines)
    header = rows.fieldnames or []
    known = {"customer", *CUSTOMER_COLUMNS, *PURCHASE_COLUMNS}
    unknown = [c for c in header if c not in known]
    if "customer" not in header or unknown:
        yield Problem(path, 1, f"the header needs 'customer' and may have "
                      f"{', '.join(sorted(known))}"
                      + (f"; unknown columns: {', '.join(unknown)}" if unknown else ""))
        return
    for row in rows:
        yield from _csv_row(path, rows.line_num, row)


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
