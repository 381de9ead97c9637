"""Cells of the CSV files casework writes, safe to open in a spreadsheet.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and tab or
carriage return can hide such a start), so text that somebody typed (a customer id, a name, a
comment) could run a formula, or a link out, in the auditor's spreadsheet. OWASP's advice ("CSV
injection"): put `'` before such a cell, which spreadsheets show as text and do not run.

Numbers are told apart from text by their type, not by their look: an int, float or Decimal is
written as it is, so a negative amount stays a number (`-5`), while the text "-5" becomes `'-5`
(whoever typed it, a formula in a spreadsheet is what it would start). A reader that wants the
text back drops a `'` that comes before one of those characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | Decimal | None


class RowWriter(Protocol):
    """What csv.writer(...) returns, as far as writing rows goes."""

    def writerows(self, rows: Iterable[Iterable[Any]], /) -> None: ...


def cell(value: Cell) -> Cell:
    """The value as a CSV cell: text that a spreadsheet would run as a formula gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_rows(writer: RowWriter, rows: Iterable[Iterable[Cell]]) -> None:
    """Write rows through a csv writer, each cell made safe by `cell`: every CSV casework
    writes goes through here."""
    writer.writerows([cell(value) for value in row] for row in rows)
