"""The annual KPIs of a managed customer, measured from stored data at the cycle's evaluation.

For a calendar year Y, from the customer's purchases and complaints:

- sales_growth: the change in purchase amount against year Y-1 (0.10 = 10% more); none when
  the customer bought nothing in Y-1.
- satisfaction: the mean of every CSAT rating (1-5) the customer's complaints were given in Y,
  a low one that sent a complaint back to investigation included; none without one.
- retention: the share of Y's four quarters in which the customer bought (1 = every quarter).
- repeat_purchase_rate: the share of Y's purchase days that came after an earlier one in Y
  (n days: (n-1)/n); none when the customer did not buy in Y.
- nps: the Net Promoter Score of the customer's NPS survey answers in Y (workflows/nps_survey):
  the share of answers 9 or 10 less the share 0 to 6, in points from -100 to 100; none without
  an answer.

Attainment is actual / goal (1 = the goal met exactly); none when either is missing or the goal
is zero.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from engine.kernel.records import YearActivity

PLACES = Decimal("0.0001")




def measure(activity: YearActivity) -> dict[str, Decimal | None]:
    """The actual KPIs of the year."""
    year = activity.year
    this = {d: a for d, a in activity.days.items() if d.year == year}
    before = sum((a for d, a in activity.days.items() if d.year == year - 1), Decimal(0))
    sales = sum(this.values(), Decimal(0))
    return {
        "sales_growth": _round(sales / before - 1) if before else None,
        "satisfaction": _round(Decimal(sum(activity.csat)) / len(activity.csat))
        if activity.csat else None,
        "retention": _round(Decimal(len({(d.month - 1) // 3 for d in this})) / 4),
        "repeat_purchase_rate": _round(Decimal(len(this) - 1) / len(this)) if this else None,
        "nps": net_promoter_score(activity.nps),
    }


def net_promoter_score(answers: list[int]) -> Decimal | None:
    """Promoters (9-10) less detractors (0-6), in points of the answers; None without any."""
    if not answers:
        return None
    promoters = sum(1 for a in answers if a >= 9)
    detractors = sum(1 for a in answers if a <= 6)
    return _round(Decimal(100 * (promoters - detractors)) / len(answers))


def attainment(goal: Decimal | None, actual: Decimal | None) -> Decimal | None:
    """actual / goal; None when either is missing or the goal is zero."""
    if goal is None or actual is None or goal == 0:
        return None
    return _round(actual / goal)


def _round(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)
