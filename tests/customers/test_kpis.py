"""engine.customers.kpis: the annual KPIs, computed by hand for small years."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.customers.kpis import attainment, measure
from engine.kernel.records import YearActivity


def test_a_year_measured_against_the_year_before() -> None:
    activity = YearActivity(2027, days={
        date(2026, 5, 1): Decimal("400.00"),            # the year before: 400
        date(2027, 1, 10): Decimal("100.00"),           # Q1
        date(2027, 2, 10): Decimal("100.00"),           # Q1 again
        date(2027, 8, 1): Decimal("300.00"),            # Q3
    }, csat=[5, 4, 2])
    assert measure(activity) == {
        "sales_growth": Decimal("0.2500"),              # 500 / 400 - 1
        "satisfaction": Decimal("3.6667"),              # 11 / 3
        "retention": Decimal("0.5000"),                 # 2 of 4 quarters
        "repeat_purchase_rate": Decimal("0.6667"),      # 2 of 3 purchase days were repeats
        "nps": None,                                    # no NPS survey answered
    }


def test_what_cannot_be_measured_is_none_not_zero() -> None:
    assert measure(YearActivity(2027)) == {"sales_growth": None, "satisfaction": None,
                                           "retention": Decimal("0.0000"),
                                           "repeat_purchase_rate": None, "nps": None}
    # bought this year only: growth against nothing is not a number
    assert measure(YearActivity(2027, {date(2027, 3, 1): Decimal(10)}))["sales_growth"] is None


def test_a_customer_who_stopped_buying_shrinks_by_all() -> None:
    activity = YearActivity(2027, {date(2026, 3, 1): Decimal(10)})
    assert measure(activity)["sales_growth"] == Decimal("-1.0000")


def test_attainment_is_actual_over_goal() -> None:
    assert attainment(Decimal("0.10"), Decimal("0.25")) == Decimal("2.5000")
    assert attainment(Decimal("4.5"), Decimal("3.6667")) == Decimal("0.8148")
    assert attainment(None, Decimal(1)) is None
    assert attainment(Decimal(1), None) is None
    assert attainment(Decimal(0), Decimal(1)) is None
