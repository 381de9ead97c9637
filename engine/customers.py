"""Customer records and purchases as they come in: reading CDNOW and CSV files, row by row.

Reading never stops at the first bad row: every problem is reported as FILE:LINE: reason, so an
operator fixes a file in one pass. Whether a file with bad rows is imported at all (it is not,
unless the operator says --skip-bad) is the caller's decision; nothing here writes anything.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from engine.errors import CaseworkError, Problem

CUSTOMER_TYPES = ("personal", "enterprise")
STATUSES = ("potential", "active", "dormant", "lost")
FORMATS = ("cdnow", "csv")
CUSTOMER_COLUMNS = ("type", "status", "name", "email", "phone", "industry", "region", "owner")
PURCHASE_COLUMNS = ("date", "amount", "quantity")


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

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))


def read_file(path: Path, fmt: str) -> Reading:
    """Read a CDNOW or CSV file; raise DataError only if it cannot be read at all."""
    if fmt not in FORMATS:
        raise DataError([Problem(str(path), 1, f"unknown format '{fmt}' (formats: "
                                 f"{', '.join(FORMATS)})")])
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([Problem(str(path), 1, f"cannot read the file: {exc}")]) from None
    reading = Reading(str(path), fmt, hashlib.sha256(raw).hexdigest())
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataError([Problem(str(path), 1, "the file is empty")])
    (_read_cdnow if fmt == "cdnow" else _read_csv)(reading, lines)
    return reading


def _read_cdnow(reading: Reading, lines: list[str]) -> None:
    """CDNOW, whitespace-separated: `customer_id [original_id] YYYYMMDD number_of_cds
    dollar_value` (the sample file has the original id, the master file does not and starts with
    a header line naming the columns)."""
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number == 1 and line.split()[0] == "customer_id"):
            continue
        reading.rows += 1
        parts = line.split()
        if len(parts) not in (4, 5):
            reading.problem(number, f"expected 4 or 5 columns (customer, [original id,] date "
                            f"YYYYMMDD, quantity, amount), found {len(parts)}")
            continue
        customer, day, quantity, amount = parts[0], *parts[-3:]
        purchase = _purchase(reading, number, customer, day, quantity, amount, "%Y%m%d")
        if purchase is not None:
            reading.purchases.append(purchase)
            reading.customers.setdefault(customer, CustomerFacts(customer, number))


def _read_csv(reading: Reading, lines: list[str]) -> None:
    """CSV with a header: `customer` plus customer columns and/or `date, amount[, quantity]`."""
    rows = csv.DictReader(lines)
    header = rows.fieldnames or []
    known = {"customer", *CUSTOMER_COLUMNS, *PURCHASE_COLUMNS}
    unknown = [c for c in header if c not in known]
    if "customer" not in header or unknown:
        reading.problem(1, f"the header needs 'customer' and may have {', '.join(sorted(known))}"
                        + (f"; unknown columns: {', '.join(unknown)}" if unknown else ""))
        return
    for row in rows:
        number = rows.line_num
        reading.rows += 1
        _csv_row(reading, number, row)


def _csv_row(reading: Reading, number: int, row: dict[str, str | None]) -> None:
    customer = (row.get("customer") or "").strip()
    if not customer:
        reading.problem(number, "no customer id")
        return
    attributes = {c: (row.get(c) or "").strip() for c in CUSTOMER_COLUMNS if row.get(c)}
    for column, allowed in (("type", CUSTOMER_TYPES), ("status", STATUSES)):
        if column in attributes and attributes[column] not in allowed:
            reading.problem(number, f"{column} '{attributes[column]}' is not one of "
                            f"{', '.join(allowed)}")
            return
    if row.get("date") or row.get("amount"):
        purchase = _purchase(reading, number, customer, row.get("date") or "",
                             row.get("quantity") or "1", row.get("amount") or "", "%Y-%m-%d")
        if purchase is None:
            return
        reading.purchases.append(purchase)
    facts = reading.customers.get(customer)
    merged = {**(facts.attributes if facts else {}), **attributes}
    reading.customers[customer] = CustomerFacts(customer, facts.line if facts else number, merged)


def _purchase(reading: Reading, number: int, customer: str, day: str, quantity: str,
              amount: str, date_format: str) -> Purchase | None:
    try:
        parsed_day = datetime.strptime(day.strip(), date_format).date()
    except ValueError:
        example = "19970118" if date_format == "%Y%m%d" else "1997-01-18"
        reading.problem(number, f"date '{day}' is not a date like {example}")
        return None
    try:
        count = int(quantity)
    except ValueError:
        reading.problem(number, f"quantity '{quantity}' is not a whole number")
        return None
    try:
        money = Decimal(amount.strip())
    except InvalidOperation:
        reading.problem(number, f"amount '{amount}' is not a number")
        return None
    if count < 0 or not money.is_finite() or money < 0:
        reading.problem(number, f"negative or invalid quantity/amount ({quantity}, {amount})")
        return None
    return Purchase(customer, parsed_day, count, money.quantize(Decimal("0.01")), number)


def occasions(purchases: list[Purchase]) -> Iterator[tuple[str, date, Decimal]]:
    """Purchase occasions: one per customer and day, the day's lines summed."""
    totals: dict[tuple[str, date], Decimal] = {}
    for p in purchases:
        totals[(p.customer, p.day)] = totals.get((p.customer, p.day), Decimal(0)) + p.amount
    for (customer, day), amount in sorted(totals.items()):
        yield customer, day, amount
