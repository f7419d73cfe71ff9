"""Time to resolution: Kaplan-Meier curves by group with open cases censored at the as-of date,
median time with its interval, and the log-rank test between groups (statsmodels.duration).

Censoring matters here: dropping open grievances would make the slowest cases vanish and the
median look shorter than it is, and most of all for the groups whose cases take longest.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from metrics.comparison import check_comparison, compare_to_reference
from metrics.config import DEFAULTS
from metrics.intervals import wilson_interval
from metrics.rates import NOT_STATED
from metrics.tidy import TOO_FEW, empty_tidy, require_columns

CURVE_SCHEMA = {
    "characteristic": pl.String, "group": pl.String, "time": pl.Float64, "survival": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "at_risk": pl.Int64, "n_events": pl.Int64,
}
MEDIAN_SCHEMA = {
    "characteristic": pl.String, "group": pl.String, "n": pl.Int64, "events": pl.Int64,
    "median_days": pl.Float64, "median_ci_low": pl.Float64, "median_ci_high": pl.Float64, "method": pl.String,
}
LOGRANK_SCHEMA = {
    "characteristic": pl.String, "n_groups": pl.Int64, "statistic": pl.Float64, "df": pl.Int64,
    "p_value": pl.Float64, "method": pl.String,
}


def kaplan_meier(frame: pl.DataFrame, *, characteristic: str, alpha: float = DEFAULTS.alpha) -> pl.DataFrame:
    """Product-limit survival curve per group, for plotting as a step function.

    Input: group, duration_days, is_event. One row per group at time 0 (survival 1) and at each
    event time: survival, pointwise CI on the log(-log) scale with Greenwood's variance (R's
    conf.type = "log-log"; stays inside [0, 1]), number at risk and events at that time.
    """
    records = []
    for group, time, status in _groups(frame):
        records.append({"characteristic": characteristic, "group": group, "time": 0.0, "survival": 1.0,
                        "ci_low": 1.0, "ci_high": 1.0, "at_risk": len(time), "n_events": 0})
        if not status.any():
            continue  # all censored: the curve stays at 1
        sf = _survfunc(time, status)
        z = stats.norm.ppf(1 - alpha / 2)
        for t, s, se, r, d in zip(sf.surv_times, sf.surv_prob, sf.surv_prob_se, sf.n_risk, sf.n_events,
                                  strict=True):
            low, high = _loglog_ci(float(s), float(se), z)
            records.append({"characteristic": characteristic, "group": group, "time": float(t),
                            "survival": float(s), "ci_low": low, "ci_high": high, "at_risk": int(r),
                            "n_events": int(d)})
    return pl.DataFrame(records, schema=CURVE_SCHEMA, orient="row") if records else pl.DataFrame(schema=CURVE_SCHEMA)


def km_median(frame: pl.DataFrame, *, characteristic: str, alpha: float = DEFAULTS.alpha) -> pl.DataFrame:
    """Median time to resolution per group with its interval, exactly as R's
    quantile(survfit(Surv(time, status) ~ 1, conf.type = "log-log")) computes them: the median is
    where the curve first falls to 0.5 or below; where it sits exactly on 0.5 over an interval
    (within R's tolerance, sqrt of machine epsilon, so float rounding cannot decide it) the median
    is the midpoint of that interval (e.g. 72.5, not 71 or 74). The interval is where the pointwise
    log-log limits cross 0.5 (the Brookmeyer-Crowley construction). A median not reached (fewer
    than half closed) is null with the method saying so; an unbounded upper limit is null too."""
    records = []
    for group, time, status in _groups(frame):
        n, events = len(time), int(status.sum())
        median = low = high = None
        method = "Kaplan-Meier median (R survival convention); Brookmeyer-Crowley CI (log-log)"
        if events:
            median, low, high = km_quantile(time, status, 0.5, alpha=alpha)
        if median is None:
            method = "median not reached (fewer than half the cases closed)"
        records.append({"characteristic": characteristic, "group": group, "n": n, "events": events,
                        "median_days": median, "median_ci_low": low, "median_ci_high": high, "method": method})
    return pl.DataFrame(records, schema=MEDIAN_SCHEMA, orient="row") if records else pl.DataFrame(schema=MEDIAN_SCHEMA)


R_TOLERANCE = math.sqrt(np.finfo(float).eps)  # R survival's quantile.survfit tolerance


def km_estimate(time: np.ndarray, status: np.ndarray, alpha: float = DEFAULTS.alpha):
    """The product-limit estimate at every distinct time (event or censored), as survfit reports
    it: times, survival, and the pointwise log-log limits (NaN where survival is 0 or 1, as in R).
    Greenwood's variance of log S; no numpy warning escapes."""
    time, status = np.asarray(time, dtype=float), np.asarray(status, dtype=bool)
    times, inverse = np.unique(time, return_inverse=True)
    d = np.bincount(inverse, weights=status.astype(float), minlength=len(times))
    at_time = np.bincount(inverse, minlength=len(times)).astype(float)
    n_risk = at_time[::-1].cumsum()[::-1]
    surv = np.cumprod(1 - d / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.cumsum(np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)))
        z = stats.norm.ppf(1 - alpha / 2)
        xx = np.where((surv > 0) & (surv < 1), surv, np.nan)
        se2 = z * se / np.log(xx)
        lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
        upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
    return times, surv, lower, upper


def km_quantile(time, status, p: float = 0.5, *, alpha: float = DEFAULTS.alpha
                ) -> tuple[float | None, float | None, float | None]:
    """(quantile, lower, upper) of the time to event at probability p, R's quantile.survfit."""
    times, surv, lower, upper = km_estimate(time, status, alpha)
    x = np.concatenate([[min(0.0, float(times.min()))], times])
    return tuple(_findq(x, np.concatenate([[0.0], 1 - curve]), p, R_TOLERANCE) for curve in (surv, lower, upper))


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float | None:
    """survival:::findq: the first x where y (the cumulative distribution, 1 - S) reaches p; where
    y equals p within tol, the midpoint between that x and the next x where y exceeds p."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    keep, seen = [], set()
    for i, v in enumerate(y):  # duplicated(y): the first time each value appears
        key = "nan" if np.isnan(v) else float(v)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    x, y = x[keep], y[keep]

    def first_at_or_above(shifted: np.ndarray) -> int | None:
        # approx(shifted, 1:n, p, method = "constant", f = 1): NA outside the range of shifted
        ok = np.flatnonzero(~np.isnan(shifted))
        values = shifted[ok]
        if not len(values) or p < values.min() or p > values.max():
            return None
        return int(ok[np.argmax(values >= p)])

    i1, i2 = first_at_or_above(y + tol), first_at_or_above(y - tol)
    quant = (x[i1] + x[i2]) / 2 if i1 is not None and i2 is not None else None
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2
    return None if quant is None or not math.isfinite(quant) else float(quant)


NO_COMPARABLE_EVENTS = "no test (no case closed while both groups had cases open)"


def _survdiff(time: np.ndarray, status: np.ndarray, labels: np.ndarray) -> tuple[float | None, float | None]:
    """statsmodels survdiff, or (None, None) when the test is undefined: its variance is zero when
    no case closed at a time both groups had cases open (e.g. a one-month window where the only
    closures are in one group), and survdiff then fails on a singular matrix."""
    try:
        stat, p = survdiff(time, status.astype(int), labels)
    except np.linalg.LinAlgError:
        return None, None
    return float(stat), float(p)


def log_rank(frame: pl.DataFrame, *, characteristic: str) -> pl.DataFrame:
    """Log-rank test that time to resolution is the same in every group (statsmodels survdiff;
    R survival::survdiff). One row: characteristic, n_groups, statistic, df, p_value, method."""
    groups = _groups(frame)

    def row(stat, df, p, method):
        return pl.DataFrame([{"characteristic": characteristic, "n_groups": len(groups), "statistic": stat,
                              "df": df, "p_value": p, "method": method}], schema=LOGRANK_SCHEMA)

    if len(groups) < 2:
        return row(None, None, None, "no test (fewer than two groups)")
    if not any(status.any() for _, _, status in groups):
        return row(None, None, None, "no test (no closed cases)")
    time = np.concatenate([t for _, t, _ in groups])
    status = np.concatenate([s for _, _, s in groups])
    labels = np.concatenate([[i] * len(t) for i, (_, t, _) in enumerate(groups)])
    stat, p = _survdiff(time, status, labels)
    if p is None:
        return row(None, None, None, NO_COMPARABLE_EVENTS)
    return row(stat, len(groups) - 1, p, "log-rank")


def km_curve(frame: pl.DataFrame, *, characteristic: str = "", alpha: float = DEFAULTS.alpha) -> pl.DataFrame:
    """kaplan_meier under the name the table registry uses; characteristic is optional here."""
    return kaplan_meier(frame, characteristic=characteristic, alpha=alpha)


MEDIAN_EXTRAS = ("reference_group", "median_days", "median_ci_low", "median_ci_high", "is_reference",
                 "is_not_stated", "note")


def median_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_n: int = DEFAULTS.min_group_for_ratio,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Time to resolution as a tidy table, so it can be suppressed and exported like the others.

    n = cases, events = closed by the as-of date, rate = share closed (Wilson CI); median_days
    with its Brookmeyer-Crowley CI in the extras; p_value = two-group log-rank test against the
    reference group, adjusted across the stated groups. ratio is not used (null).
    """
    check_comparison(reference_group=reference_group, adjustment=adjustment, not_stated=not_stated)
    groups = _groups(frame)
    if not groups:
        return empty_tidy(MEDIAN_EXTRAS)
    medians = {r["group"]: r for r in km_median(frame, characteristic=characteristic, alpha=alpha).iter_rows(named=True)}
    times = {group: (time, status) for group, time, status in groups}
    rows = []
    for group, time, status in groups:
        m = medians[group]
        n, events = len(time), int(status.sum())
        low, high = wilson_interval(events, n, alpha)
        rows.append({"group": group, "n": n, "events": events, "rate": events / n if n else None, "ci_low": low,
                     "ci_high": high, "method": f"share closed: Wilson; {m['method']}", "median_days": m["median_days"],
                     "median_ci_low": m["median_ci_low"], "median_ci_high": m["median_ci_high"],
                     "note": TOO_FEW if n < min_n else None})

    def compare(row, ref):
        (time, status), (ref_time, ref_status) = times[row["group"]], times[ref["group"]]
        if not (status.any() or ref_status.any()):
            return {}, ["no test (no closed cases)"]
        _, p = _survdiff(np.concatenate([time, ref_time]), np.concatenate([status, ref_status]),
                         np.array([1] * len(time) + [0] * len(ref_time)))
        return {"p_value": p}, [NO_COMPARABLE_EVENTS if p is None else "log-rank vs reference"]

    return compare_to_reference(rows, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                                adjustment=adjustment, not_stated=not_stated, extras=MEDIAN_EXTRAS,
                                method="share closed: Wilson", compare=compare, reference_ratio=None)


def _groups(frame: pl.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if "duration_days" not in frame.columns and "duration" in frame.columns:
        frame = frame.rename({"duration": "duration_days"})  # marts may call it plain "duration"
    require_columns(frame, ["group", "duration_days", "is_event"], "survival")
    for col in ("group", "duration_days", "is_event"):
        nulls = frame[col].is_null()
        if nulls.any():
            raise ValueError(f"survival: row {int(nulls.arg_true()[0]) + 1}, column {col!r}: value is missing")
    negative = frame["duration_days"] < 0
    if negative.any():
        raise ValueError(f"survival: row {int(negative.arg_true()[0]) + 1}, column 'duration_days': negative duration")
    out = []
    for group in dict.fromkeys(frame["group"].to_list()):
        part = frame.filter(pl.col("group") == group)
        out.append((str(group), part["duration_days"].to_numpy().astype(float),
                    part["is_event"].to_numpy().astype(bool)))
    return out


def _survfunc(time: np.ndarray, status: np.ndarray) -> SurvfuncRight:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Greenwood's variance divides by zero where the curve reaches 0; we treat that below.
        warnings.simplefilter("ignore", RuntimeWarning)
        return SurvfuncRight(time, status.astype(int))


def _loglog_ci(s: float, se: float, z: float) -> tuple[float | None, float | None]:
    if s <= 0.0 or s >= 1.0 or not math.isfinite(se):
        return None, None  # log(-log S) undefined at 0 and 1 (R reports NA there too)
    k = z * se / (s * abs(math.log(s)))
    return s ** math.exp(k), s ** math.exp(-k)

