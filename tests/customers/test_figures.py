"""engine.customers.figures: every customer's figures at once, checked against the per-customer
path."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from engine.customers.analytics import FitError, fit_bg_nbd
from engine.customers.figures import Totals, _distinct_rows, compute_figures
from engine.customers.files import occasions, read_file
from engine.customers.rfm import rfm_inputs, rfm_scores, summarize
from engine.demodata import CDNOW_SAMPLE

AS_OF = date(1998, 6, 30)


def totals_of(purchases: list[tuple[str, date, float]], as_of: date,
              extra: tuple[str, ...] = ()) -> Totals:
    """Totals the plain way, one customer at a time, as a stand-in for the store's SQL."""
    days: dict[str, dict[date, float]] = {}
    for customer, day, amount in purchases:
        if day <= as_of:
            days.setdefault(customer, {}).setdefault(day, 0.0)
            days[customer][day] += float(amount)
    ids = sorted({*days, *extra})

    def column(pick: object, dtype: type) -> np.ndarray:
        return np.array([pick(days[c]) if c in days else 0 for c in ids],  # type: ignore[operator]
                        dtype=dtype)

    return Totals(
        as_of=as_of, ids=tuple(ids), types=("personal",) * len(ids),
        statuses=("active",) * len(ids),
        first_day=column(lambda d: min(d).toordinal(), np.int64),
        last_day=column(lambda d: max(d).toordinal(), np.int64),
        occasions=column(len, np.int64),
        total=column(lambda d: sum(d.values()), np.float64),
        first_amount=column(lambda d: d[min(d)], np.float64),
        recent=column(lambda d: sum(v for k, v in d.items() if (as_of - k).days < 365),
                      np.float64),
    )


@pytest.fixture(scope="module")
def sample() -> list[tuple[str, date, float]]:
    return [(c, d, float(a)) for c, d, a in occasions(read_file(CDNOW_SAMPLE, "cdnow").purchases)]


def test_figures_agree_with_the_per_customer_summaries(
        sample: list[tuple[str, date, float]]) -> None:
    figures = compute_figures(totals_of(sample, AS_OF))
    summary = summarize(sample, AS_OF)
    assert figures.ids == summary.customer_ids
    model = fit_bg_nbd(summary.frequency, summary.recency, summary.age)
    assert figures.models.purchases.log_likelihood == pytest.approx(model.log_likelihood)
    np.testing.assert_allclose(
        figures.p_alive, model.p_alive(summary.frequency, summary.recency, summary.age),
        rtol=1e-9)
    np.testing.assert_allclose(figures.frequency - 1, summary.frequency)
    inputs = rfm_inputs(sample, AS_OF)
    scores = rfm_scores(inputs.recency_days, inputs.frequency, inputs.monetary)
    assert figures.r_score.tolist() == scores.recency.tolist()
    assert figures.f_score.tolist() == scores.frequency.tolist()
    assert figures.m_score.tolist() == scores.monetary.tolist()
    np.testing.assert_allclose(figures.recency_days, inputs.recency_days)
    np.testing.assert_allclose(figures.monetary, np.round(inputs.monetary, 2))


def test_revenue_share_clv_and_years(sample: list[tuple[str, date, float]]) -> None:
    figures = compute_figures(totals_of(sample, AS_OF))
    assert figures.revenue_share.sum() == pytest.approx(1.0)
    assert np.all(figures.clv >= 0) and np.all(np.isfinite(figures.clv))
    assert np.all((figures.p_alive >= 0) & (figures.p_alive <= 1))
    first = figures.ids.index("00004")  # bought first on 1997-01-01
    assert figures.years_active[first] == pytest.approx((AS_OF - date(1997, 1, 1)).days / 365.25)
    # a customer who bought more and more recently is worth more, other things alike
    best, worst = int(np.argmax(figures.clv)), int(np.argmin(figures.clv))
    assert figures.frequency[best] > figures.frequency[worst]


def test_customers_without_purchases_get_zeros(sample: list[tuple[str, date, float]]) -> None:
    figures = compute_figures(totals_of(sample, AS_OF, extra=("new-1", "new-2")))
    rows = figures.rows()
    fresh = rows[figures.ids.index("new-1")]
    assert not figures.bought[figures.ids.index("new-1")]
    assert (fresh["frequency"], fresh["r_score"], fresh["clv"], fresh["p_alive"],
            fresh["revenue_share"]) == (0, 0, 0.0, 0.0, 0.0)
    assert type(fresh["clv"]) is float and type(fresh["r_score"]) is int  # plain, for tables
    assert {r["r_score"] for r in rows if r["frequency"]} == {1, 2, 3, 4, 5}


def test_as_of_leaves_later_purchases_out(sample: list[tuple[str, date, float]]) -> None:
    cut = date(1997, 3, 10)  # the CDNOW cohort first bought in January to March 1997
    early = compute_figures(totals_of(sample, cut))
    assert len(early.ids) < 2357
    assert int(early.frequency.sum()) == len({(c, d) for c, d, _ in sample if d <= cut})


def test_too_little_history_is_a_fit_error_not_figures(
        sample: list[tuple[str, date, float]]) -> None:
    with pytest.raises(FitError, match="BG/NBD fit failed"):
        compute_figures(totals_of(sample, date(1997, 3, 1)))  # two months: few have come back


@pytest.mark.parametrize("high", [1, 40, 2**21, 2**40])
def test_distinct_rows_are_what_numpy_unique_of_rows_gives(high: int) -> None:
    """The mixed-radix shortcut, and the fallback where the radices overflow an int64."""
    rng = np.random.default_rng(high)
    keys = rng.integers(0, high, size=(5000, 3)).astype(np.int64)
    keys[:2500] = keys[2500:]  # many rows twice
    expected, back = np.unique(keys, axis=0, return_inverse=True)
    distinct, found = _distinct_rows(keys)
    assert np.array_equal(distinct, expected) and distinct.dtype == expected.dtype
    assert np.array_equal(found, back.reshape(-1))
    assert np.array_equal(distinct[found], keys)
