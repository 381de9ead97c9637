"""A customer record with its latest figures (engine/customers/records.py) as the command line
prints it: the record's columns, then the figures' (null before the first recompute)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from engine.customers.records import FIGURE_NAMES, CustomerProfile, StoredFigures
from engine.kernel.records import CustomerRecord

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RECORD = CustomerRecord("C1", "personal", "active", "Ada", None, None, None, None, "kim", "key",
                        None, AT, AT, 2, "ab" * 32)
FIGURES = StoredFigures(date(2026, 3, 1), AT, 12, 3, Decimal("120.50"), Decimal("0.00"), 0.25,
                        1.5, 5, 3, 4, 0.9, 1.25, 40.0, 55.5, "low", "rfm-champion", 1)


def test_before_the_first_recompute_every_figure_is_null() -> None:
    shown = CustomerProfile(RECORD, None).to_json()
    assert list(shown) == [
        "id", "type", "status", "name", "email", "phone", "industry", "region", "owner", "tier",
        "reviewed_at", "created_at", "updated_at", "history_seq", "history_head", "erased_at",
        *FIGURE_NAMES]
    assert shown["created_at"] == "2026-03-02T10:00:00Z" and shown["reviewed_at"] is None
    assert [shown[name] for name in FIGURE_NAMES] == [None] * len(FIGURE_NAMES)


def test_figures_are_plain_json_with_money_exact_as_text() -> None:
    shown = CustomerProfile(RECORD, FIGURES).to_json()
    assert (shown["as_of"], shown["computed_at"]) == ("2026-03-01", "2026-03-02T10:00:00Z")
    assert (shown["monetary"], shown["revenue_12m"]) == ("120.50", "0.00")
    assert (shown["p_alive"], shown["r_score"], shown["tier_rule"]) == (0.9, 5, "rfm-champion")
    assert FIGURE_NAMES[0] == "as_of" and FIGURE_NAMES[-1] == "tier_table_version"
