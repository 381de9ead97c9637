"""Recency, frequency and monetary value per customer, from purchase lines.

Two forms: the summary the customer-base models (engine.customers.analytics) are fitted on, in
weeks,
and RFM quintile scores (5 = best). Scores are relative: a customer's score says in which fifth
of today's customer base they fall, so it can change as the base changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import rankdata

from engine.kernel.errors import InvalidInput

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAYS_PER_WEEK = 7.0


# --- model summaries -----------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """Per-customer purchase history in model form; every array is aligned with customer_ids.

    frequency: repeat purchase occasions in calibration (x); recency: weeks from the first to
    the last purchase in calibration (t_x); age: weeks from the first purchase to the end of
    calibration (T); monetary: mean value of the repeat occasions in calibration (0 when x = 0);
    frequency_holdout: purchase occasions after calibration, up to observation_end, which is
    duration_holdout weeks after calibration_end.
    """

    customer_ids: tuple[str, ...]
    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary: FloatArray
    frequency_holdout: FloatArray
    duration_holdout: float


def purchase_occasions(
    purchases: Iterable[tuple[str, date, Decimal | float]], until: date
) -> dict[str, dict[date, float]]:
    """Each customer's purchase occasions up to and including `until`: day -> summed value.

    Several lines of one customer on one day are one occasion worth the sum of the lines.
    """
    occasions: dict[str, dict[date, float]] = {}
    for customer, day, amount in purchases:
        if day <= until:
            days = occasions.setdefault(customer, {})
            days[day] = days.get(day, 0.0) + float(amount)
    return occasions


def summarize(
    purchases: Iterable[tuple[str, date, Decimal | float]],
    calibration_end: date,
    observation_end: date | None = None,
) -> Summary:
    """Summarize purchases for the models, calibrating on purchases up to calibration_end.

    Customers whose first purchase falls after calibration_end are left out: the models know
    nothing of them yet. Customers are listed in sorted id order.
    """
    end = calibration_end if observation_end is None else observation_end
    if end < calibration_end:
        raise InvalidInput("observation_end", f"{end} is before calibration_end {calibration_end}")
    occasions = purchase_occasions(purchases, end)
    ids = sorted(c for c, days in occasions.items() if min(days) <= calibration_end)
    rows = [_summary_row(occasions[c], calibration_end) for c in ids]
    columns = np.array(rows, dtype=np.float64).reshape(len(ids), 5)
    return Summary(
        customer_ids=tuple(ids),
        frequency=columns[:, 0],
        recency=columns[:, 1],
        age=columns[:, 2],
        monetary=columns[:, 3],
        frequency_holdout=columns[:, 4],
        duration_holdout=(end - calibration_end).days / DAYS_PER_WEEK,
    )


def _summary_row(days: dict[date, float], calibration_end: date) -> tuple[float, ...]:
    calibration = sorted(d for d in days if d <= calibration_end)
    first, last = calibration[0], calibration[-1]
    repeats = [days[d] for d in calibration[1:]]
    return (
        float(len(repeats)),
        (last - first).days / DAYS_PER_WEEK,
        (calibration_end - first).days / DAYS_PER_WEEK,
        sum(repeats) / len(repeats) if repeats else 0.0,
        float(len(days) - len(calibration)),
    )


# --- RFM scores ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RFMInputs:
    """Per-customer RFM measures as of a day, aligned with customer_ids (sorted).

    recency_days: days since the last purchase occasion; frequency: purchase occasions (days
    with a purchase); monetary: total spend. Only purchases on or before as_of count.
    """

    as_of: date
    customer_ids: tuple[str, ...]
    recency_days: FloatArray
    frequency: FloatArray
    monetary: FloatArray


@dataclass(frozen=True)
class RFMScores:
    """Quintile scores 1..5 per customer, 5 = most recent, most frequent, highest spend."""

    recency: IntArray
    frequency: IntArray
    monetary: IntArray

    @property
    def cells(self) -> IntArray:
        """The classic three-digit RFM cell, e.g. 545 for R=5, F=4, M=5."""
        return self.recency * 100 + self.frequency * 10 + self.monetary


def rfm_inputs(purchases: Iterable[tuple[str, date, Decimal | float]], as_of: date) -> RFMInputs:
    """Recency, frequency and monetary value of every customer who bought on or before as_of."""
    occasions = purchase_occasions(purchases, as_of)
    ids = sorted(occasions)
    return RFMInputs(
        as_of=as_of,
        customer_ids=tuple(ids),
        recency_days=np.array([(as_of - max(occasions[c])).days for c in ids], dtype=np.float64),
        frequency=np.array([len(occasions[c]) for c in ids], dtype=np.float64),
        monetary=np.array([sum(occasions[c].values()) for c in ids], dtype=np.float64),
    )


def quintiles(values: ArrayLike, *, higher_is_better: bool = True) -> IntArray:
    """Score each value 1..5 by the fifth of the ranking it falls in (5 = best).

    A value at average rank k of n (scipy.stats.rankdata 'average') scores
    floor(5 (k - 1/2) / n) + 1. Tied values share their average rank and so always share a
    score, whatever order they come in; if every value is equal, all score 3. With n a multiple
    of 5 and no ties, each score goes to exactly n / 5 customers.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidInput("values", f"must be one value per customer, not shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InvalidInput("values", "must be finite numbers")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(array if higher_is_better else -array, method="average")
    return np.asarray(np.floor(5 * (ranks - 0.5) / array.size), dtype=np.int64) + 1


def rfm_scores(recency_days: ArrayLike, frequency: ArrayLike, monetary: ArrayLike) -> RFMScores:
    """Quintile scores of aligned per-customer measures (fewer recency days scores higher)."""
    sizes = {name: np.size(values) for name, values in
             (("recency_days", recency_days), ("frequency", frequency), ("monetary", monetary))}
    if len(set(sizes.values())) > 1:
        raise InvalidInput("recency_days", f"recency_days, frequency and monetary must have one "
                           f"value per customer each, but have {sizes}")
    return RFMScores(
        recency=quintiles(recency_days, higher_is_better=False),
        frequency=quintiles(frequency),
        monetary=quintiles(monetary),
    )
