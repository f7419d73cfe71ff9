"""Intervals and tests for one group against its reference: Wilson and exact Poisson (Garwood)
intervals, the Katz relative rate, the incidence-rate ratio with its log interval, and the exact
conditional test of two Poisson rates. The array versions are the one implementation; the scalar
ones are a row of them. Edge cases give None (NaN in arrays) and a method note, never a warning.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from metrics.config import DEFAULTS
from metrics.significance import binomtest_pvalues

# --- intervals -------------------------------------------------------------------------------


def wilson_interval(events: int, n: int, alpha: float = DEFAULTS.alpha) -> tuple[float | None, float | None]:
    """Wilson score interval for events/n (R: prop.test(x, n, correct=FALSE)$conf.int).

    Wilson rather than Wald because it stays inside [0, 1] and keeps its coverage for the small
    counts and extreme rates that most of our cells have. Empty group -> (None, None).
    """
    if n <= 0:
        return None, None
    # imported here: statsmodels brings pandas with it (0.7 s), which tables of rates per
    # person-year never need, and `eqdash table` starts a fresh process each time
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(events, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def poisson_exact_interval(
    events: int, exposure: float, alpha: float = DEFAULTS.alpha
) -> tuple[float | None, float | None]:
    """Exact (Garwood) interval for a rate events/exposure, from chi-square quantiles.

    Exact because referral counts per group are often small; with zero events the lower limit
    is 0 and the upper is -ln(alpha/2)/exposure. No exposure -> (None, None).
    One row of poisson_exact_intervals.
    """
    if exposure <= 0:
        return None, None
    low, high = poisson_exact_intervals(np.array([events]), np.array([exposure]), alpha)
    return float(low[0]), float(high[0])


def poisson_exact_intervals(events, exposure, alpha: float = DEFAULTS.alpha) -> tuple[np.ndarray, np.ndarray]:
    """poisson_exact_interval on arrays (the one implementation): NaN where exposure <= 0."""
    events = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    low = np.where(events == 0, 0.0, stats.chi2.ppf(alpha / 2, np.maximum(2 * events, 1)) / 2)
    high = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    has_exposure = exposure > 0
    return _divide(low, exposure, has_exposure), _divide(high, exposure, has_exposure)


def _divide(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> np.ndarray:
    """a / b where `where`, NaN elsewhere (no divide-by-zero warning)."""
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=where)


KATZ_ALL_EVENTS_NOTE = "Katz log RR, interval with 0.5 added to each cell (every case in a group had the outcome)"


def katz_relative_rate(
    events_1: int, n_1: int, events_0: int, n_0: int, alpha: float = DEFAULTS.alpha
) -> tuple[float | None, float | None, float | None, str]:
    """Relative rate (events_1/n_1)/(events_0/n_0) with the Katz log interval, and a method note.

    Same as scipy.stats.contingency.relative_risk(...).confidence_interval(). Zero-cell rules
    (Katz's log SE is infinite when a group has no events):
    - group has no events: ratio 0, lower limit 0, upper limit from the Katz interval after
      adding 0.5 to every cell (Haldane), so readers still see how large it could plausibly be;
    - every case in the group (or the reference) had the outcome: the crude ratio, with the Katz
      interval after adding 0.5 to every cell (unmodified, its variance drops that group's terms
      and the interval collapses: 1 of 1 gave 2.65-3.84 beside p = 0.32);
    - reference has no events or is empty, or the group is empty: ratio null.
    """
    if n_1 <= 0:
        return None, None, None, "group is empty"
    if n_0 <= 0:
        return None, None, None, "reference group is empty"
    if events_0 == 0:
        return None, None, None, "reference group has no events"
    z = stats.norm.ppf(1 - alpha / 2)
    if events_1 == 0:
        a, b, c, d = 0.5, n_1 + 0.5, events_0 + 0.5, n_0 - events_0 + 0.5
        log_rr = math.log((a / (a + b)) / (c / (c + d)))
        se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
        return 0.0, 0.0, math.exp(log_rr + z * se), "RR 0 (no events), upper limit Katz with 0.5 added to each cell"
    rr = (events_1 / n_1) / (events_0 / n_0)
    if events_1 == n_1 or events_0 == n_0:
        # Every case in a group had the outcome: Katz's variance loses that group's terms
        # (1/a - 1/n = 0), so the interval collapses around the estimate. Add 0.5 to each of the
        # four cells for the interval (Haldane-Anscombe), which keeps its width honest.
        a, n1, c, n0 = events_1 + 0.5, n_1 + 1.0, events_0 + 0.5, n_0 + 1.0
        log_rr = math.log((a / n1) / (c / n0))
        se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
        return (rr, math.exp(log_rr - z * se), math.exp(log_rr + z * se),
                KATZ_ALL_EVENTS_NOTE)
    se = math.sqrt(1 / events_1 - 1 / n_1 + 1 / events_0 - 1 / n_0)
    return rr, math.exp(math.log(rr) - z * se), math.exp(math.log(rr) + z * se), "Katz log RR"


IRR_ZERO_NOTE = "IRR 0 (no events), upper limit log interval with 0.5 added to each count"


def rate_ratio_intervals(events_1, exposure_1, events_0, exposure_0, alpha: float = DEFAULTS.alpha
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """rate_ratio_interval on arrays (the one implementation): ratio, low, high (NaN where there
    is no ratio) and the method note of each element."""
    e1, x1, e0, x0 = (np.asarray(v, dtype=float) for v in (events_1, exposure_1, events_0, exposure_0))
    note = np.select([x1 <= 0, x0 <= 0, e0 == 0, e1 == 0],
                     ["group has no exposure", "reference group has no exposure", "reference group has no events",
                      IRR_ZERO_NOTE], default="log IRR").astype(object)
    comparable = (x1 > 0) & (x0 > 0) & (e0 > 0)
    some, zero = comparable & (e1 > 0), comparable & (e1 == 0)
    z = stats.norm.ppf(1 - alpha / 2)
    ratio, low, high = (np.full(e1.shape, np.nan) for _ in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):  # the masked-out elements only
        irr = (e1 / x1) / (e0 / x0)
        half_width = z * np.sqrt(1 / e1 + 1 / e0)
        ratio[some] = irr[some]
        low[some] = np.exp(np.log(irr[some]) - half_width[some])
        high[some] = np.exp(np.log(irr[some]) + half_width[some])
        # no events in the group: 0.5 added to both counts for the upper limit only
        a, b = 0.5, e0 + 0.5
        upper = np.exp(np.log((a / x1) / (b / x0)) + z * np.sqrt(1 / a + 1 / b))
    ratio[zero], low[zero], high[zero] = 0.0, 0.0, upper[zero]
    return ratio, low, high, note


def conditional_rate_test(events_1: int, exposure_1: float, events_0: int, exposure_0: float) -> tuple[float | None, str]:
    """Exact conditional test of equal rates: given a+b events, a ~ Binomial(a+b, E1/(E1+E0)).

    scipy.stats.binomtest, two-sided (R: poisson.test(c(a, b), c(E1, E0))). No events at all ->
    no test. One row of conditional_rate_tests.
    """
    p, name = conditional_rate_tests(*(np.array([v]) for v in (events_1, exposure_1, events_0, exposure_0)))
    return _none_if_nan(p[0]), str(name[0])


def conditional_rate_tests(events_1, exposure_1, events_0, exposure_0) -> tuple[np.ndarray, np.ndarray]:
    """conditional_rate_test on arrays (the one implementation): p-values (NaN where no test) and
    the test's name for each element; the binomial tests run as one vectorised call."""
    e1, e0 = np.asarray(events_1, dtype=np.int64), np.asarray(events_0, dtype=np.int64)
    x1, x0 = np.asarray(exposure_1, dtype=float), np.asarray(exposure_0, dtype=float)
    has_exposure = (x1 > 0) & (x0 > 0)
    total = e1 + e0
    name = np.select([~has_exposure, total == 0], ["no test (no exposure)", "no test (no events)"],
                     default="exact conditional binomial test").astype(object)
    p = np.full(e1.shape, np.nan)
    tested = has_exposure & (total > 0)
    p[tested] = binomtest_pvalues(e1[tested], total[tested], x1[tested] / (x1[tested] + x0[tested]))
    return p, name


def _none_if_nan(value: float) -> float | None:
    return None if value != value else float(value)


