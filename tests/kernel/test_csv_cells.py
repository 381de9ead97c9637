"""engine.kernel.csv_cells: text that a spreadsheet would run gets a `'`; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from engine.kernel.csv_cells import Cell, cell, write_rows


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tX", "\r=1", "-", "="])
def test_text_starting_like_a_formula_gets_a_quote(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "1-2", "a=b", "", " =1", "'=1", None, 3, -5, -2.5,
                                   Decimal("-12.30")])
def test_other_text_and_every_number_are_written_as_they_are(value: Cell) -> None:
    assert cell(value) == value


def test_write_rows_makes_every_cell_safe_and_keeps_negative_numbers_numbers() -> None:
    out = io.StringIO()
    write_rows(csv.writer(out, lineterminator="\n"),
               [["name", "amount"], ["=cmd|' /C calc'!A0", Decimal("-5.00")], ["-5", -5]])
    assert out.getvalue() == "name,amount\n'=cmd|' /C calc'!A0,-5.00\n'-5,-5\n"
