"""Customer-base models: BG/NBD purchases, Gamma-Gamma spend and customer lifetime value.

Pure NumPy/SciPy, fitted on per-customer summaries (engine.customers.rfm.summarize). Time is
measured in
weeks, as in the papers the models come from:

- BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science.
- Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", JMR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from engine.customers.rfm import DAYS_PER_WEEK, Summary
from engine.kernel.errors import CaseworkError, InvalidInput

FloatArray = NDArray[np.float64]
Objective = Callable[[FloatArray], tuple[float, FloatArray]]

WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_WEEK
"""An average month in weeks (4.348); `lifetimes` uses 4.345 (a 365-day year)."""

_PRECISION_LOSS_GRADIENT = 1e-6
"""A gradient of the mean log-likelihood this small is converged even if BFGS reports a loss of
precision (its line search cannot improve on a flat optimum in floating point)."""

_LOG_PARAM_LIMIT = float(np.log(1e6))
"""A fitted parameter outside 1e-6 .. 1e6 is a likelihood without an interior maximum (say,
nobody has dropped out yet) whose optimizer ran towards a boundary."""


class FitError(CaseworkError):
    """A model that could not be fitted to these data: says which model, why, and what to try."""

    def __init__(self, model: str, reason: str, hint: str) -> None:
        self.model = model
        self.reason = reason
        self.hint = hint
        super().__init__(f"{model} fit failed: {reason}; {hint}")


# --- input checks and the optimizer shared by both models ----------------------------------

def _floats(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise InvalidInput(name, "must be finite numbers")
    return array


def _histories(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, tx, big_t = (_floats(n, v) for n, v in
                    (("frequency", frequency), ("recency", recency), ("age", age)))
    x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise InvalidInput("frequency", "must be whole numbers >= 0 (repeat purchase occasions)")
    if np.any(tx < 0) or np.any(tx > big_t):
        raise InvalidInput("recency", "must lie between 0 and age (weeks since first purchase)")
    if np.any((x == 0) & (tx != 0)):
        raise InvalidInput("recency", "must be 0 for customers without repeat purchases")
    return x, tx, big_t


def _distinct_rows(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """The distinct rows of the columns and how often each occurs (np.unique(axis=0) sorts
    rows as opaque records and is ten times slower)."""
    order = np.lexsort(columns)
    ordered = [c[order] for c in columns]
    starts = np.flatnonzero(np.r_[True, np.any([np.diff(c) != 0 for c in ordered], axis=0)])
    counts = np.diff(np.r_[starts, order.size]).astype(np.float64)
    return [c[starts] for c in ordered], counts


def _maximize(
    model: str, objective: Objective, start: FloatArray, maxiter: int
) -> tuple[FloatArray, float, int]:
    """Minimize a mean negative log-likelihood over log-parameters with BFGS.

    Returns the parameters (not their logs), the maximal mean log-likelihood and the iteration
    count, or raises FitError. Converged means the gradient reached gtol, or BFGS stopped on
    precision loss with a gradient already below _PRECISION_LOSS_GRADIENT: the optimum is then
    as exact as floating point allows. (BFGS, not L-BFGS-B: L-BFGS-B's calls into a threaded
    OpenBLAS cost more than the whole likelihood on a 4-parameter problem.)
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        result: Any = minimize(_finite(objective), start, jac=True, method="BFGS",
                               options={"maxiter": maxiter, "gtol": 1e-8})
    iterations = int(result.nit)
    gradient = float(np.max(np.abs(result.jac)))
    precise = result.status == 2 and gradient < _PRECISION_LOSS_GRADIENT
    if not (result.success or precise) or not np.isfinite(result.fun):
        raise FitError(model, f"did not converge after {iterations} iterations "
                       f"({result.message}; gradient {gradient:.2g})",
                       "raise maxiter or check the input summary")
    log_params = np.asarray(result.x, dtype=np.float64)
    if np.any(np.abs(log_params) > _LOG_PARAM_LIMIT):
        raise FitError(model, f"parameters ran away to {np.exp(log_params).tolist()}",
                       "the data do not identify the model; use more customers or history")
    return np.exp(log_params), -float(result.fun), iterations


def _finite(objective: Objective) -> Objective:
    """The objective, reporting +inf where a trial step overflowed, so the line search backs
    off instead of following NaN."""

    def guarded(log_params: FloatArray) -> tuple[float, FloatArray]:
        value, gradient = objective(log_params)
        if np.isfinite(value) and np.all(np.isfinite(gradient)):
            return value, gradient
        return np.inf, np.zeros_like(log_params)

    return guarded


# --- BG/NBD --------------------------------------------------------------------------------

@dataclass(frozen=True)
class BetaGeo:
    """A fitted BG/NBD model: purchase rates ~ Gamma(r, alpha), drop-out ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool
    iterations: int

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> FloatArray:
        """P(alive | x, t_x, T): 1 for customers who never bought again (BG/NBD: no drop-out
        before the first repeat purchase)."""
        x, tx, big_t = _histories(frequency, recency, age)
        return np.asarray(expit(-self._log_odds_dead(x, tx, big_t)), dtype=np.float64)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, age: ArrayLike
    ) -> FloatArray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next t weeks (broadcasts t)."""
        weeks = _floats("t", t)
        if np.any(weeks < 0):
            raise InvalidInput("t", "must be >= 0 weeks")
        x, tx, big_t = _histories(frequency, recency, age)
        alive = expit(-self._log_odds_dead(x, tx, big_t))
        return np.asarray(self._alive_purchases(weeks, x, big_t) * alive, dtype=np.float64)

    def _log_odds_dead(self, x: FloatArray, tx: FloatArray, big_t: FloatArray) -> FloatArray:
        repeat = x > 0
        b_x = np.where(repeat, self.b + x - 1, 1.0)  # b + x - 1 <= 0 is possible when x = 0
        odds = (np.log(self.a) - np.log(b_x)
                + (self.r + x) * (np.log(self.alpha + big_t) - np.log(self.alpha + tx)))
        return np.where(repeat, odds, -np.inf)

    def _alive_purchases(self, t: FloatArray, x: FloatArray, big_t: FloatArray) -> FloatArray:
        """E[Y(t)] for a customer known to be alive at T: the first factor of eq. (10).

        The closed form divides by a - 1 and cancels to 0/0 at a = 1; there the value is
        interpolated linearly between a = 1 -+ 1e-4, where the cancellation is still harmless.
        """
        h = 1e-4
        if abs(self.a - 1.0) >= h:
            return self._alive_purchases_near(self.a, t, x, big_t)
        low = self._alive_purchases_near(1.0 - h, t, x, big_t)
        high = self._alive_purchases_near(1.0 + h, t, x, big_t)
        return low + (self.a - (1.0 - h)) / (2 * h) * (high - low)

    def _alive_purchases_near(
        self, a: float, t: FloatArray, x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        """The closed form at a, or where it is not finite, its mean at a -+ 1e-9 a.

        scipy's hyp2f1 (1.17) returns inf or nan when c - a - b is an exact integer, c > ~100
        and z > 0.9 (its integer branch overflows gamma(c)), and the closed form has a removable
        pole at a + b + x = 1; a step of 1e-9 a leaves both, at a cost near machine precision.
        """
        with np.errstate(all="ignore"):
            value = self._alive_purchases_at(a, t, x, big_t)
            broken = ~np.isfinite(value)
            if np.any(broken):
                step = 1e-9 * a
                nearby = (self._alive_purchases_at(a - step, t, x, big_t)
                          + self._alive_purchases_at(a + step, t, x, big_t)) / 2
                value = np.where(broken, nearby, value)
        return value

    def _alive_purchases_at(
        self, a: float, t: FloatArray, x: FloatArray, big_t: FloatArray
    ) -> FloatArray:
        # Euler's transformation of 2F1(r+x, b+x; a+b+x-1; z) keeps the first two arguments
        # free of x; scipy evaluates the original form up to 25% off when x and z are large.
        r, alpha, b = self.r, self.alpha, self.b
        log_rest = np.log(alpha + big_t) - np.log(alpha + big_t + t)  # log(1 - z)
        z = -np.expm1(log_rest)
        tail = np.exp((a - 1) * log_rest) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return np.asarray((a + b + x - 1) / (a - 1) * (1 - tail), dtype=np.float64)


def fit_bg_nbd(
    frequency: ArrayLike, recency: ArrayLike, age: ArrayLike, *, maxiter: int = 500
) -> BetaGeo:
    """Fit BG/NBD by maximum likelihood on per-customer (x, t_x, T) in weeks.

    Customers with the same history are counted once with a weight, which makes the fit cheap
    (all one-time buyers who started on the same day are one row).
    """
    x, tx, big_t = _histories(frequency, recency, age)
    if not np.any(x > 0):
        raise FitError("BG/NBD", "no customer has a repeat purchase",
                       "the model needs repeat purchases to estimate rates and drop-out")
    rows, weights = _distinct_rows(x, tx, big_t)
    objective = _bg_nbd_objective(rows[0], rows[1], rows[2], weights)
    start = np.log(np.array([1.0, max(float(np.mean(big_t)), 1.0), 1.0, 1.0]))
    (r, alpha, a, b), mean_ll, iterations = _maximize("BG/NBD", objective, start, maxiter)
    return BetaGeo(r=float(r), alpha=float(alpha), a=float(a), b=float(b),
                   log_likelihood=mean_ll * float(np.sum(weights)),
                   converged=True, iterations=iterations)


def _bg_nbd_objective(
    x: FloatArray, tx: FloatArray, big_t: FloatArray, weights: FloatArray
) -> Objective:
    """The mean negative log-likelihood of eq. (6) and its gradient in log-parameters."""
    repeat = x > 0
    weights = weights / np.sum(weights)
    w0, t0 = weights[~repeat], big_t[~repeat]
    w1, x1, tx1, t1 = weights[repeat], x[repeat], tx[repeat], big_t[repeat]

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(log_params)
        # One-time buyers: L = (alpha / (alpha + T))^r.
        ln_ratio0 = np.log(alpha) - np.log(alpha + t0)
        ll0 = np.sum(w0 * ln_ratio0) * r
        grad0 = [np.sum(w0 * ln_ratio0), r * np.sum(w0 * (1 / alpha - 1 / (alpha + t0)))]
        # Repeat buyers: the bracket of eq. (6) as logaddexp of its two terms; B(a, b + x) /
        # B(a, b) as gammaln, which is several times faster than betaln.
        ln_t, ln_tx = np.log(alpha + t1), np.log(alpha + tx1)
        both = -(r + x1) * ln_t
        dead = np.log(a) - np.log(b + x1 - 1) - (r + x1) * ln_tx
        bracket = np.logaddexp(both, dead)
        w_dead = np.exp(dead - bracket)
        w_both = 1.0 - w_dead
        ll1 = (gammaln(r + x1) - gammaln(r) + r * np.log(alpha) + gammaln(b + x1) - gammaln(b)
               + gammaln(a + b) - gammaln(a + b + x1) + bracket)
        shared = digamma(a + b) - digamma(a + b + x1)
        grad1 = [
            digamma(r + x1) - digamma(r) + np.log(alpha) - w_both * ln_t - w_dead * ln_tx,
            r / alpha - (r + x1) * (w_both / (alpha + t1) + w_dead / (alpha + tx1)),
            shared + w_dead / a,
            shared + digamma(b + x1) - digamma(b) - w_dead / (b + x1 - 1),
        ]
        grad = np.array([np.sum(w1 * g) for g in grad1])
        grad[:2] += grad0
        return -(ll0 + float(np.sum(w1 * ll1))), -grad * np.array([r, alpha, a, b])

    return objective


# --- Gamma-Gamma spend ---------------------------------------------------------------------

@dataclass(frozen=True)
class GammaGamma:
    """A fitted Gamma-Gamma spend model: a customer's transaction values ~ Gamma(p, nu),
    nu ~ Gamma(q, gamma) across customers; fitted on `customers` repeat buyers."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool
    iterations: int
    customers: int

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
        """E[M | x, m_x]: a customer's expected value per purchase, shrinking the observed mean
        m_x of x purchases towards the population mean gamma p / (q - 1) (m_x unused if x = 0).

        Raises FitError when q <= 1: the fitted spend distribution then has no finite mean.
        """
        if self.q <= 1:
            raise FitError("Gamma-Gamma", f"q = {self.q:.4g} <= 1 gives no finite mean spend",
                           "fit on more repeat buyers or drop extreme spenders")
        x = _floats("frequency", frequency)
        m = _floats("monetary", monetary)
        return np.asarray((self.gamma + x * m) * self.p / (self.p * x + self.q - 1),
                          dtype=np.float64)


def fit_gamma_gamma(
    frequency: ArrayLike, monetary: ArrayLike, *, maxiter: int = 500
) -> GammaGamma:
    """Fit Gamma-Gamma by maximum likelihood on the customers with frequency >= 1, using x and
    their mean repeat-purchase value m_x (customers with x = 0 are skipped, not an error)."""
    x_all = _floats("frequency", frequency)
    m_all = _floats("monetary", monetary)
    x_all, m_all = np.broadcast_arrays(x_all, m_all)
    chosen = x_all >= 1
    x, m = x_all[chosen], m_all[chosen]
    if x.size == 0:
        raise FitError("Gamma-Gamma", "no customer has a repeat purchase",
                       "the model is fitted on repeat buyers' mean spend")
    if np.any(m <= 0):
        raise InvalidInput("monetary", f"{int(np.sum(m <= 0))} repeat buyers have a mean spend "
                           "<= 0; the model needs positive values, leave them out")
    objective = _gamma_gamma_objective(x, m)
    # q = 2, gamma = mean(m) starts at a population mean spend equal to the observed one.
    start = np.log(np.array([1.0, 2.0, float(np.mean(m))]))
    (p, q, gamma), mean_ll, iterations = _maximize("Gamma-Gamma", objective, start, maxiter)
    return GammaGamma(p=float(p), q=float(q), gamma=float(gamma),
                      log_likelihood=mean_ll * x.size, converged=True,
                      iterations=iterations, customers=int(x.size))


def _gamma_gamma_objective(x: FloatArray, m: FloatArray) -> Objective:
    """The mean negative log-likelihood of m_x given x, and its gradient in log-parameters."""
    ln_m, ln_x, n = np.log(m), np.log(x), float(x.size)

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        p, q, gamma = np.exp(log_params)
        px = p * x
        ln_total = np.log(gamma + x * m)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
              + (px - 1) * ln_m + px * ln_x - (px + q) * ln_total)
        d_px_q = digamma(px + q)
        grad = np.array([
            np.sum(x * (d_px_q - digamma(px) + ln_m + ln_x - ln_total)),
            np.sum(d_px_q - digamma(q) + np.log(gamma) - ln_total),
            np.sum(q / gamma - (px + q) / (gamma + x * m)),
        ])
        return -float(np.sum(ll)) / n, -grad * np.array([p, q, gamma]) / n

    return objective


# --- customer lifetime value ---------------------------------------------------------------

def customer_lifetime_value(
    purchases_model: BetaGeo,
    spend_model: GammaGamma,
    summary: Summary,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    weeks_per_month: float = WEEKS_PER_MONTH,
) -> FloatArray:
    """Discounted expected spend over the next `months`, per customer of the summary.

    CLV = sum over months k = 1..months of E[M] * (E[Y(k w)] - E[Y((k - 1) w)]) / (1 + d)^k,
    w = weeks_per_month, d = monthly_discount_rate: each month's expected purchases (BG/NBD) times
    the expected value per purchase (Gamma-Gamma), discounted to today. This is the sum the
    `lifetimes` package computes, so its figures compare when weeks_per_month = 4.345.
    """
    purchases = discounted_purchases(
        purchases_model, summary.frequency, summary.recency, summary.age, months=months,
        monthly_discount_rate=monthly_discount_rate, weeks_per_month=weeks_per_month)
    spend = spend_model.expected_spend(summary.frequency, summary.monetary)
    return np.asarray(spend * purchases, dtype=np.float64)


def discounted_purchases(
    model: BetaGeo,
    frequency: ArrayLike,
    recency: ArrayLike,
    age: ArrayLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    weeks_per_month: float = WEEKS_PER_MONTH,
) -> FloatArray:
    """Expected purchases over the next `months`, each month's discounted to today: CLV without
    the value per purchase."""
    if months < 1:
        raise InvalidInput("months", f"must be at least 1, not {months}")
    if monthly_discount_rate <= -1:
        raise InvalidInput("monthly_discount_rate", "must be greater than -1 (e.g. 0.01 = 1%)")
    weeks = (np.arange(months + 1, dtype=np.float64) * weeks_per_month)[:, np.newaxis]
    cumulative = model.expected_purchases(weeks, frequency, recency, age)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1, dtype=np.float64)
    return np.asarray(discount @ per_month, dtype=np.float64)
