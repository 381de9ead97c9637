"""engine.customers.analytics: BG/NBD, Gamma-Gamma and CLV, checked against the published CDNOW
estimates and against the models' own properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.customers.analytics import (
    WEEKS_PER_MONTH,
    BetaGeo,
    FitError,
    GammaGamma,
    customer_lifetime_value,
    fit_bg_nbd,
    fit_gamma_gamma,
)
from engine.customers.rfm import Summary, summarize
from engine.kernel.errors import InvalidInput
from tests.fixtures import CDNOW

CALIBRATION_END = date(1997, 9, 30)
# Fader, Hardie & Lee (2005), fitted on CDNOW_sample.txt (see the data set's README).
CDNOW_BG_NBD = BetaGeo(r=0.2425945, alpha=4.4136021, a=0.7929220, b=2.4259066,
                       log_likelihood=-9582.4292, converged=True, iterations=0)
CDNOW_GAMMA_GAMMA = GammaGamma(p=6.2495723, q=3.7442247, gamma=15.4435209,
                               log_likelihood=-4055.9177, converged=True, iterations=0,
                               customers=946)


def read_cdnow_sample(path: Path) -> list[tuple[str, date, Decimal]]:
    """CDNOW_sample.txt lines: customer_id, original_id, YYYYMMDD, cds, dollars."""
    if not path.is_file():
        pytest.fail(f"{path} is missing: the analytics tests need the real CDNOW sample "
                    "(set CASEWORK_CDNOW_DIR to the folder that holds CDNOW_sample.txt)")
    purchases = []
    for line in path.read_text(encoding="ascii").splitlines():
        if line.strip():
            customer, _original, day, _cds, dollars = line.split()
            purchases.append((customer, date(int(day[:4]), int(day[4:6]), int(day[6:])),
                              Decimal(dollars)))
    return purchases


@pytest.fixture(scope="module")
def cdnow() -> Summary:
    return summarize(read_cdnow_sample(CDNOW / "CDNOW_sample.txt"), CALIBRATION_END)


# --- the published CDNOW results -----------------------------------------------------------

def test_cdnow_sample_summary(cdnow: Summary) -> None:
    assert len(cdnow.customer_ids) == 2357
    first = cdnow.customer_ids.index("00004")  # bought 1997-01-01, -01-18, -08-02, -12-12
    assert cdnow.frequency[first] == 2
    assert cdnow.recency[first] == pytest.approx(213 / 7)
    assert cdnow.age[first] == pytest.approx(272 / 7)
    assert cdnow.monetary[first] == pytest.approx((29.73 + 14.96) / 2)
    assert int(np.sum(cdnow.frequency >= 1)) == 946


def test_bg_nbd_reproduces_the_published_cdnow_estimates(cdnow: Summary) -> None:
    model = fit_bg_nbd(cdnow.frequency, cdnow.recency, cdnow.age)
    assert model.converged
    assert (round(model.r, 3), round(model.alpha, 3)) == (0.243, 4.414)
    assert (round(model.a, 3), round(model.b, 3)) == (0.793, 2.426)
    assert round(model.log_likelihood, 1) == -9582.4


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow: Summary) -> None:
    model = fit_gamma_gamma(cdnow.frequency, cdnow.monetary)
    assert model.converged
    assert model.customers == 946
    assert (round(model.p, 2), round(model.q, 2), round(model.gamma, 2)) == (6.25, 3.74, 15.44)


def test_clv_of_the_cdnow_sample_is_positive_and_discounted(cdnow: Summary) -> None:
    year = customer_lifetime_value(CDNOW_BG_NBD, CDNOW_GAMMA_GAMMA, cdnow, months=12)
    undiscounted = customer_lifetime_value(CDNOW_BG_NBD, CDNOW_GAMMA_GAMMA, cdnow, months=12,
                                           monthly_discount_rate=0.0)
    assert year.shape == (2357,)
    assert np.all(year > 0)
    assert np.all(year < undiscounted)
    purchases = CDNOW_BG_NBD.expected_purchases(12 * WEEKS_PER_MONTH, cdnow.frequency,
                                                cdnow.recency, cdnow.age)
    spend = CDNOW_GAMMA_GAMMA.expected_spend(cdnow.frequency, cdnow.monetary)
    np.testing.assert_allclose(undiscounted, purchases * spend, rtol=1e-12)


# --- BG/NBD predictions --------------------------------------------------------------------

def test_one_time_buyers_are_alive() -> None:
    # BG/NBD lets customers drop out only right after a purchase, never before the first repeat.
    alive = CDNOW_BG_NBD.p_alive([0, 0, 0], [0, 0, 0], [0.5, 10.0, 500.0])
    assert alive.tolist() == [1.0, 1.0, 1.0]


def test_p_alive_falls_as_the_last_purchase_lies_further_back() -> None:
    recency = np.array([39.0, 30.0, 20.0, 10.0, 2.0])
    alive = CDNOW_BG_NBD.p_alive(3, recency, 39.0)
    assert alive[0] == pytest.approx(1 / (1 + 0.7929220 / (2.4259066 + 2)))
    assert np.all(np.diff(alive) < 0)


def test_expected_purchases_grow_with_the_horizon() -> None:
    weeks = np.array([0.0, 1.0, 10.0, 52.0, 520.0])
    expected = CDNOW_BG_NBD.expected_purchases(weeks, 2, 30.43, 38.86)
    assert expected[0] == 0
    assert np.all(np.diff(expected) > 0)


def test_expected_purchases_are_continuous_where_the_closed_form_is_0_over_0() -> None:
    def at(a: float) -> float:
        model = BetaGeo(r=0.5, alpha=5.0, a=a, b=2.0, log_likelihood=0.0, converged=True,
                        iterations=0)
        return float(model.expected_purchases(20.0, 4, 30.0, 40.0)[()])

    assert at(1.0) == pytest.approx(at(1.0 - 1e-3), rel=1e-3)
    assert at(1.0) == pytest.approx(at(1.0 + 1e-3), rel=1e-3)
    assert at(1.0 - 1e-3) > at(1.0) > at(1.0 + 1e-3)


def test_predictions_refuse_a_recency_beyond_the_age() -> None:
    with pytest.raises(InvalidInput, match="recency"):
        CDNOW_BG_NBD.p_alive([2], [12.0], [10.0])


@settings(max_examples=300, deadline=None)
@given(
    params=st.tuples(*(st.floats(0.01, 20.0) for _ in range(4))),
    frequency=st.integers(0, 300),
    age=st.floats(0.0, 520.0),
    share=st.floats(0.0, 1.0),
    weeks=st.floats(0.0, 520.0),
)
def test_predictions_are_probabilities_and_counts(
    params: tuple[float, float, float, float], frequency: int, age: float, share: float,
    weeks: float,
) -> None:
    r, alpha, a, b = params
    model = BetaGeo(r=r, alpha=alpha, a=a, b=b, log_likelihood=0.0, converged=True,
                    iterations=0)
    recency = share * age if frequency else 0.0
    alive = model.p_alive(frequency, recency, age)
    expected = model.expected_purchases(weeks, frequency, recency, age)
    assert 0.0 <= alive <= 1.0
    assert np.isfinite(expected)
    assert expected >= 0.0


# --- fits that cannot be made --------------------------------------------------------------

def test_no_repeat_purchases_cannot_be_fitted() -> None:
    with pytest.raises(FitError, match="no customer has a repeat purchase"):
        fit_bg_nbd(np.zeros(50), np.zeros(50), np.full(50, 39.0))


def test_a_fit_cut_short_raises_instead_of_returning_numbers(cdnow: Summary) -> None:
    with pytest.raises(FitError, match="did not converge after 1 iterations"):
        fit_bg_nbd(cdnow.frequency, cdnow.recency, cdnow.age, maxiter=1)
    with pytest.raises(FitError, match="did not converge after 1 iterations"):
        fit_gamma_gamma(cdnow.frequency, cdnow.monetary, maxiter=1)


def test_nobody_dropping_out_cannot_be_fitted() -> None:
    # Everyone bought again in the last week: the likelihood peaks at a boundary, not inside.
    with pytest.raises(FitError, match="ran away"):
        fit_bg_nbd([3, 5, 2, 4], [10.0, 20.0, 8.0, 30.0], [10.0, 20.0, 8.0, 30.0])


def test_gamma_gamma_needs_positive_spend() -> None:
    with pytest.raises(InvalidInput, match="monetary"):
        fit_gamma_gamma([1, 2, 0], [10.0, 0.0, 0.0])
    with pytest.raises(FitError, match="no customer has a repeat purchase"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])


# --- Gamma-Gamma spend and CLV -------------------------------------------------------------

def test_expected_spend_shrinks_the_observed_mean_towards_the_population_mean() -> None:
    model = CDNOW_GAMMA_GAMMA
    population = model.p * model.gamma / (model.q - 1)
    spend = model.expected_spend([0, 1, 5, 50], [0.0, 100.0, 100.0, 100.0])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < spend[3] < 100.0


def test_expected_spend_without_a_finite_mean_is_refused() -> None:
    model = GammaGamma(p=2.0, q=0.9, gamma=10.0, log_likelihood=0.0, converged=True,
                       iterations=0, customers=10)
    with pytest.raises(FitError, match="no finite mean spend"):
        model.expected_spend([1], [10.0])


def test_clv_discounts_each_month_of_expected_purchases() -> None:
    summary = Summary(customer_ids=("ann",), frequency=np.array([4.0]),
                      recency=np.array([30.0]), age=np.array([39.0]),
                      monetary=np.array([25.0]), frequency_holdout=np.array([0.0]),
                      duration_holdout=0.0)
    months = np.arange(3.0) * WEEKS_PER_MONTH
    cumulative = CDNOW_BG_NBD.expected_purchases(months, 4, 30.0, 39.0)
    spend = CDNOW_GAMMA_GAMMA.expected_spend(4, 25.0)
    by_hand = spend * ((cumulative[1] - cumulative[0]) / 1.1
                       + (cumulative[2] - cumulative[1]) / 1.1**2)
    clv = customer_lifetime_value(CDNOW_BG_NBD, CDNOW_GAMMA_GAMMA, summary, months=2,
                                  monthly_discount_rate=0.1)
    assert clv[0] == pytest.approx(by_hand, rel=1e-12)


def test_clv_refuses_an_empty_horizon(cdnow: Summary) -> None:
    with pytest.raises(InvalidInput, match="months"):
        customer_lifetime_value(CDNOW_BG_NBD, CDNOW_GAMMA_GAMMA, cdnow, months=0)
