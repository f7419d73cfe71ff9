"""Time to resolution: Kaplan-Meier curves by group with open cases censored at the as-of date,
median time with its interval, and the log-rank test between groups (statsmodels.duration).

Censoring matters here: dropping open grievances would make the slowest cases vanish and the
median look shorter than it is, and most of all for the groups whose cases take longest.
"""

from __future__ import annotations

import math
import warnings
from datetime import date

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from metrics.config import DEFAULTS
from metrics.tidy import require_columns

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


def durations(frame: pl.DataFrame, *, start: str, end: str, as_of: date) -> pl.DataFrame:
    """Add duration_days and is_event: a case closed on or before as_of is an event at its
    closing date; an open case (end blank) or one closed after as_of is censored at as_of.

    A start date after as_of or an end before start is an error naming the row.
    """
    require_columns(frame, [start, end], "durations")
    checks = [
        (pl.col(start).is_null(), start, "start date is missing"),
        (pl.col(start) > pl.lit(as_of), start, f"start date is after the as-of date {as_of}"),
        (pl.col(end) < pl.col(start), end, f"end date is before {start}"),
    ]
    for cond, col, rule in checks:
        bad = frame.select(cond.fill_null(False).alias("bad"))["bad"]
        if bad.any():
            raise ValueError(f"durations: row {int(bad.arg_true()[0]) + 1}, column {col!r}: {rule}")
    is_event = pl.col(end).is_not_null() & (pl.col(end) <= pl.lit(as_of))
    stop = pl.when(is_event).then(pl.col(end)).otherwise(pl.lit(as_of))
    return frame.with_columns(
        (stop - pl.col(start)).dt.total_days().cast(pl.Float64).alias("duration_days"),
        is_event.alias("is_event"),
    )


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
    """Median time to resolution per group with the Brookmeyer-Crowley interval (cloglog
    transform, as R's survfit with conf.type = "log-log"). A median not reached (fewer than
    half closed) is null with the method saying so; an unbounded upper limit is null too."""
    records = []
    for group, time, status in _groups(frame):
        n, events = len(time), int(status.sum())
        median = low = high = None
        method = "Kaplan-Meier median; Brookmeyer-Crowley CI (log-log)"
        if events:
            sf = _survfunc(time, status)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                # statsmodels divides by zero at the ends of the curve; the infinities mean "unbounded".
                warnings.simplefilter("ignore", RuntimeWarning)
                median = _finite(sf.quantile(0.5))
                low, high = (_finite(v) for v in sf.quantile_ci(0.5, alpha=alpha, method="cloglog"))
        if median is None:
            method = "median not reached (fewer than half the cases closed)"
        records.append({"characteristic": characteristic, "group": group, "n": n, "events": events,
                        "median_days": median, "median_ci_low": low, "median_ci_high": high, "method": method})
    return pl.DataFrame(records, schema=MEDIAN_SCHEMA, orient="row") if records else pl.DataFrame(schema=MEDIAN_SCHEMA)


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
    stat, p = survdiff(time, status.astype(int), labels)
    return row(float(stat), len(groups) - 1, float(p), "log-rank")


def _groups(frame: pl.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
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


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
