"""Every customer's figures as of a day: RFM, revenue share, years active, P(alive) and CLV.

The store sums each customer's purchases up (Totals); this module turns the sums into the
figures the tier and churn tables decide on, for the whole customer base at once with NumPy.
RFM scores are quintiles of today's buyers; BG/NBD and Gamma-Gamma are fitted on today's buyers
too, so every figure is relative to the customer base as it stands on the as-of day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.customers.analytics import (
    BetaGeo,
    GammaGamma,
    discounted_purchases,
    fit_bg_nbd,
    fit_gamma_gamma,
)
from engine.customers.rfm import DAYS_PER_WEEK, quintiles
from engine.kernel.specs import CUSTOMER_FIGURES, STORED_FIGURES

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAYS_PER_YEAR = 365.25
REVENUE_WINDOW_DAYS = 365  # revenue share counts the last twelve months

@dataclass(frozen=True)
class Totals:
    """Each customer's purchase sums up to and including as_of, aligned with ids.

    Days are proleptic ordinals (date.toordinal); a customer without purchases by as_of has
    occasions 0 and first_day = last_day = 0. An occasion is a day with a purchase.
    """

    as_of: date
    ids: tuple[str, ...]
    types: tuple[str, ...]
    statuses: tuple[str, ...]
    first_day: IntArray
    last_day: IntArray
    occasions: IntArray
    total: FloatArray
    first_amount: FloatArray  # what the first occasion was worth
    recent: FloatArray  # revenue within REVENUE_WINDOW_DAYS up to as_of


@dataclass(frozen=True)
class Models:
    """The models fitted on the customer base, and the CLV horizon and discount used."""

    purchases: BetaGeo
    spend: GammaGamma
    months: int
    monthly_discount_rate: float


@dataclass(frozen=True)
class Figures:
    """The figures of every customer as of a day, aligned with ids."""

    as_of: date
    ids: tuple[str, ...]
    types: tuple[str, ...]
    statuses: tuple[str, ...]
    bought: NDArray[np.bool_]
    recency_days: IntArray
    frequency: IntArray
    monetary: FloatArray
    revenue_12m: FloatArray
    revenue_share: FloatArray
    years_active: FloatArray
    r_score: IntArray
    f_score: IntArray
    m_score: IntArray
    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_spend: FloatArray
    clv: FloatArray
    models: Models

    def rows(self, span: range | None = None) -> list[dict[str, Any]]:
        """One dict of plain Python values per customer (of span, or all): the inputs decision
        tables take."""
        columns = self.columns(span)
        names = list(columns)
        return [dict(zip(names, values, strict=True))
                for values in zip(*columns.values(), strict=True)]

    def columns(self, span: range | None = None) -> dict[str, list[Any]]:
        """The customers' figures (of span, or all) as plain Python values, column by column:
        figure name -> one value per customer, in the order of CUSTOMER_FIGURES."""
        part = slice(span.start, span.stop) if span else slice(None)
        columns: dict[str, list[Any]] = {
            name: getattr(self, name)[part].tolist() for name in CUSTOMER_FIGURES
            if name not in ("type", "status")
        }
        columns["type"] = list(self.types[part])
        columns["status"] = list(self.statuses[part])
        return columns

    def stored(self, span: range, *more: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The customers of span as kept: (id, *STORED_FIGURES, *more), recency None for a
        customer without purchases. Built column by column: a recompute stores millions."""
        part = slice(span.start, span.stop)
        recency = [days if bought else None for days, bought in
                   zip(self.recency_days[part].tolist(), self.bought[part].tolist(), strict=True)]
        columns = [getattr(self, name)[part].tolist() for name in STORED_FIGURES[1:]]
        return list(zip(self.ids[part], recency, *columns, *more, strict=True))


def compute_figures(totals: Totals, *, months: int = 12,
                    monthly_discount_rate: float = 0.01) -> Figures:
    """Figures for every customer of `totals`; raises FitError if the models cannot be fitted.

    Customers without a purchase by as_of get zeros: no recency, scores 0, P(alive) 0, CLV 0.
    """
    as_of = totals.as_of.toordinal()
    bought = totals.occasions > 0
    recency = np.where(bought, as_of - totals.last_day, 0)
    scores = [np.zeros(len(totals.ids), dtype=np.int64) for _ in range(3)]
    if np.any(bought):
        scores[0][bought] = quintiles(recency[bought], higher_is_better=False)
        scores[1][bought] = quintiles(totals.occasions[bought])
        scores[2][bought] = quintiles(totals.total[bought])
    revenue = float(totals.recent.sum())
    models, p_alive, expected, spend, clv = _model_figures(totals, bought, months,
                                                           monthly_discount_rate)
    return Figures(
        as_of=totals.as_of, ids=totals.ids, types=totals.types, statuses=totals.statuses,
        bought=bought, recency_days=recency.astype(np.int64),
        frequency=totals.occasions.astype(np.int64), monetary=np.round(totals.total, 2),
        revenue_12m=np.round(totals.recent, 2),
        revenue_share=totals.recent / revenue if revenue > 0 else np.zeros(len(totals.ids)),
        years_active=np.where(bought, (as_of - totals.first_day) / DAYS_PER_YEAR, 0.0),
        r_score=scores[0], f_score=scores[1], m_score=scores[2],
        p_alive=p_alive, expected_purchases=expected, expected_spend=spend, clv=clv,
        models=models,
    )


def _model_figures(totals: Totals, bought: NDArray[np.bool_], months: int,
                   rate: float) -> tuple[Models, FloatArray, FloatArray, FloatArray, FloatArray]:
    """BG/NBD and Gamma-Gamma on the buyers, evaluated once per distinct purchase history."""
    as_of = totals.as_of.toordinal()
    x = (totals.occasions[bought] - 1).astype(np.int64)
    tx_days = (totals.last_day[bought] - totals.first_day[bought]).astype(np.int64)
    age_days = (as_of - totals.first_day[bought]).astype(np.int64)
    # Many customers share (x, t_x, T) in whole days: evaluate the special functions once each.
    distinct, back = _distinct_rows(np.stack([x, tx_days, age_days], axis=1))
    dx = distinct[:, 0].astype(np.float64)
    dtx = distinct[:, 1] / DAYS_PER_WEEK
    dage = distinct[:, 2] / DAYS_PER_WEEK
    purchases = fit_bg_nbd(x.astype(np.float64), tx_days / DAYS_PER_WEEK,
                           age_days / DAYS_PER_WEEK)
    repeat_value = np.divide(totals.total[bought] - totals.first_amount[bought], x,
                             out=np.zeros(len(x)), where=x > 0)
    spenders = (x > 0) & (repeat_value > 0)
    spend_model = fit_gamma_gamma(x[spenders].astype(np.float64), repeat_value[spenders])
    size = len(totals.ids)
    p_alive, expected, spend, clv = (np.zeros(size) for _ in range(4))
    p_alive[bought] = purchases.p_alive(dx, dtx, dage)[back]
    weeks = months * 365.25 / 12 / DAYS_PER_WEEK
    expected[bought] = purchases.expected_purchases(weeks, dx, dtx, dage)[back]
    spend[bought] = spend_model.expected_spend(x.astype(np.float64), repeat_value)
    discounted = discounted_purchases(purchases, dx, dtx, dage, months=months,
                                      monthly_discount_rate=rate)[back]
    clv[bought] = spend[bought] * discounted
    return Models(purchases, spend_model, months, rate), p_alive, expected, spend, clv


def _distinct_rows(keys: IntArray) -> tuple[IntArray, IntArray]:
    """np.unique(keys, axis=0, return_inverse=True) of non-negative int rows: the distinct rows
    in order, and for each row its distinct one. Each row is read as one number in mixed radix
    (its columns as digits), whose order is the rows' order: unique of one int64 column takes a
    tenth of the time unique of rows takes."""
    if len(keys) == 0 or keys.min() < 0:
        distinct, back = np.unique(keys, axis=0, return_inverse=True)
        return distinct, back.reshape(-1)
    radices = [int(v) + 1 for v in keys.max(axis=0)]
    if np.prod(radices, dtype=np.float64) >= 2.0**62:  # would not fit an int64
        distinct, back = np.unique(keys, axis=0, return_inverse=True)
        return distinct, back.reshape(-1)
    number = np.zeros(len(keys), dtype=np.int64)
    for column, radix in enumerate(radices):
        number = number * radix + keys[:, column]
    values, back = np.unique(number, return_inverse=True)
    distinct = np.empty((len(values), keys.shape[1]), dtype=keys.dtype)
    for column in range(keys.shape[1] - 1, -1, -1):
        values, distinct[:, column] = np.divmod(values, radices[column])
    return distinct, back.reshape(-1)
