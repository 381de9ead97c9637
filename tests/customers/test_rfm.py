"""engine.customers.rfm: model summaries of purchase histories and RFM quintile scores."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from engine.customers.rfm import quintiles, rfm_inputs, rfm_scores, summarize
from engine.kernel.errors import InvalidInput

# --- model summaries -----------------------------------------------------------------------

def test_summarize_counts_repeat_occasions_in_weeks() -> None:
    start = date(2024, 1, 1)
    purchases = [
        ("ann", start, Decimal("10.00")),
        ("ann", start, Decimal("5.00")),  # same day: the same occasion as the line above
        ("ann", start + timedelta(days=7), Decimal("20.00")),
        ("ann", start + timedelta(days=14), Decimal("12.50")),
        ("ann", start + timedelta(days=14), 17.5),
        ("ann", start + timedelta(days=30), Decimal("99.00")),  # after calibration
        ("bob", start + timedelta(days=3), Decimal("40.00")),
        ("cat", start + timedelta(days=25), Decimal("8.00")),  # first bought after calibration
    ]
    summary = summarize(purchases, start + timedelta(days=21), start + timedelta(days=35))
    assert summary.customer_ids == ("ann", "bob")
    assert summary.frequency.tolist() == [2.0, 0.0]
    assert summary.recency.tolist() == [2.0, 0.0]
    assert summary.age.tolist() == [3.0, 18 / 7]
    assert summary.monetary.tolist() == [25.0, 0.0]
    assert summary.frequency_holdout.tolist() == [1.0, 0.0]
    assert summary.duration_holdout == 2.0


def test_summarize_without_observation_end_has_an_empty_holdout() -> None:
    summary = summarize([("ann", date(2024, 1, 1), 3.0)], date(2024, 1, 8))
    assert summary.frequency_holdout.tolist() == [0.0]
    assert summary.duration_holdout == 0.0


def test_summarize_of_nothing_is_empty() -> None:
    summary = summarize([], date(2024, 1, 8))
    assert summary.customer_ids == ()
    assert summary.frequency.shape == summary.age.shape == (0,)


def test_summarize_refuses_an_observation_end_before_calibration_end() -> None:
    with pytest.raises(InvalidInput, match="observation_end"):
        summarize([], date(2024, 2, 1), date(2024, 1, 1))


# --- RFM scores ----------------------------------------------------------------------------

def test_ten_distinct_values_score_two_per_quintile() -> None:
    values = [50, 10, 90, 30, 70, 20, 100, 40, 80, 60]
    assert quintiles(values).tolist() == [3, 1, 5, 2, 4, 1, 5, 2, 4, 3]


def test_lower_is_better_reverses_the_scores() -> None:
    assert quintiles([1, 2, 3, 4, 5], higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_ties_share_the_score_of_their_average_rank() -> None:
    # ranks 1, 2, 4, 4, 4, 6 of 6: (k - 1/2) / 6 = 0.08, 0.25, 0.58 (x3), 0.92
    assert quintiles([1, 2, 7, 7, 7, 9]).tolist() == [1, 2, 3, 3, 3, 5]
    assert quintiles([7, 7, 7, 9, 2, 1]).tolist() == [3, 3, 3, 5, 2, 1]


def test_all_equal_values_score_three() -> None:
    assert quintiles([4.0, 4.0, 4.0, 4.0]).tolist() == [3, 3, 3, 3]
    assert quintiles([]).tolist() == []


def test_rfm_scores_and_cells() -> None:
    scores = rfm_scores(recency_days=[3, 200, 40, 10, 90],
                        frequency=[12, 1, 4, 2, 7],
                        monetary=[400.0, 15.0, 80.0, 120.0, 60.0])
    assert scores.recency.tolist() == [5, 1, 3, 4, 2]
    assert scores.frequency.tolist() == [5, 1, 3, 2, 4]
    assert scores.monetary.tolist() == [5, 1, 3, 4, 2]
    assert scores.cells.tolist() == [555, 111, 333, 424, 242]


def test_rfm_scores_refuse_misaligned_measures() -> None:
    with pytest.raises(InvalidInput, match="one value per customer"):
        rfm_scores([1, 2, 3], [1, 2], [1.0, 2.0, 3.0])


def test_quintiles_refuse_missing_values() -> None:
    with pytest.raises(InvalidInput, match="finite"):
        quintiles([1.0, np.nan])


def test_rfm_inputs_count_occasions_as_of_a_day() -> None:
    purchases = [
        ("ann", date(2024, 1, 1), Decimal("10.00")),
        ("ann", date(2024, 1, 1), Decimal("5.00")),
        ("ann", date(2024, 3, 1), Decimal("20.00")),
        ("ann", date(2024, 6, 1), Decimal("99.00")),  # after as_of
        ("bob", date(2024, 2, 20), 30.0),
    ]
    inputs = rfm_inputs(purchases, as_of=date(2024, 3, 31))
    assert inputs.customer_ids == ("ann", "bob")
    assert inputs.recency_days.tolist() == [30.0, 40.0]
    assert inputs.frequency.tolist() == [2.0, 1.0]
    assert inputs.monetary.tolist() == [35.0, 30.0]
