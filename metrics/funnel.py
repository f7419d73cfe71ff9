"""Funnel plots for comparing business areas: exact control limits around the force-wide rate
and a flag per area.

Limits are exact binomial (proportions) or Poisson (rates per person-year) quantiles with the
interpolation of Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
Stat Med 24:1185, as used in the PHE/OHID funnel-plot tools: for probability p,
  r = F^-1(p);  a = (F(r) - p) / (F(r) - F(r - 1));  limit = (r - a) / size.
Interpolating makes the stepwise discrete quantile a smooth curve, so a point on a step is not
flagged or cleared by an accident of rounding. Limits are clipped to [0, 1] / [0, inf).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from metrics.config import DEFAULTS
from metrics.tidy import TIDY_SCHEMA, empty_tidy, require_columns, tidy_frame

LEVELS = (0.95, 0.998)
KINDS = ("proportion", "rate")


def control_limit(size, overall_rate: float, p: float, *, kind: str = "proportion") -> np.ndarray:
    """The interpolated exact quantile limit at probability p (e.g. 0.975 = upper 95% limit)
    for each size (n people, or exposure in person-years for kind="rate")."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    size = np.atleast_1d(np.asarray(size, dtype=float))
    if kind == "proportion":
        n = np.round(size)
        dist = stats.binom(n, overall_rate)
    else:
        n = size
        dist = stats.poisson(overall_rate * size)
    r = dist.ppf(p)
    f_r, f_below = dist.cdf(r), dist.cdf(r - 1)
    step = f_r - f_below
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(step > 0, (f_r - p) / step, 0.0)
        limit = np.where(n > 0, (r - a) / n, np.nan)
    upper_bound = 1.0 if kind == "proportion" else np.inf
    return np.clip(limit, 0.0, upper_bound)


def funnel_limits(
    sizes: Sequence[float], *, overall_rate: float, kind: str = "proportion", levels: Sequence[float] = LEVELS
) -> pl.DataFrame:
    """Lower and upper limits at each size: columns size, then lower_<l>, upper_<l> per level
    (lower_95, upper_95, lower_99_8, upper_99_8 for the default levels)."""
    sizes = [float(s) for s in sizes]
    data: dict[str, list] = {"size": sizes}
    for level in levels:
        tail = (1 - level) / 2
        data[f"lower_{_label(level)}"] = control_limit(sizes, overall_rate, tail, kind=kind).tolist() if sizes else []
        data[f"upper_{_label(level)}"] = control_limit(sizes, overall_rate, 1 - tail, kind=kind).tolist() if sizes else []
    # NaN (size 0: no limit exists) becomes null, so "not computable" is one thing.
    return pl.DataFrame(data, schema={c: pl.Float64 for c in data}).fill_nan(None)


def funnel_flags(
    frame: pl.DataFrame,
    *,
    kind: str = "proportion",
    overall_rate: float | None = None,
    levels: tuple[float, float] = LEVELS,
) -> pl.DataFrame:
    """One row per area with its rate, the limits at its size and a flag.

    Input: group (business area), events, and n (kind="proportion") or exposure (kind="rate").
    overall_rate defaults to the pooled rate of all rows. flag: "alarm" above the outer (99.8%)
    upper limit, "alert" above the inner (95%) upper limit, "low alarm"/"low alert" below the
    lower limits, otherwise "within". An area of size 0 has no rate and flag "no data".
    """
    size_col = "n" if kind == "proportion" else "exposure"
    require_columns(frame, ["group", "events", size_col], "funnel_flags")
    inner, outer = sorted(levels)
    if frame.height and overall_rate is None:
        total = float(frame[size_col].sum())
        overall_rate = float(frame["events"].sum()) / total if total > 0 else None
    schema = {"group": pl.String, "events": pl.Int64, "size": pl.Float64, "rate": pl.Float64,
              "overall_rate": pl.Float64, f"lower_{_label(outer)}": pl.Float64, f"lower_{_label(inner)}": pl.Float64,
              f"upper_{_label(inner)}": pl.Float64, f"upper_{_label(outer)}": pl.Float64, "flag": pl.String}
    if frame.height == 0 or overall_rate is None:
        return pl.DataFrame(schema=schema)
    sizes = frame[size_col].cast(pl.Float64).to_list()
    limits = funnel_limits(sizes, overall_rate=overall_rate, kind=kind, levels=(inner, outer))
    rows = []
    for (group, events, size), lim in zip(frame.select("group", "events", size_col).iter_rows(),
                                          limits.iter_rows(named=True), strict=True):
        rate = events / size if size > 0 else None
        lo_in, hi_in = lim[f"lower_{_label(inner)}"], lim[f"upper_{_label(inner)}"]
        lo_out, hi_out = lim[f"lower_{_label(outer)}"], lim[f"upper_{_label(outer)}"]
        if rate is None:
            flag = "no data"
        elif rate > hi_out:
            flag = "alarm"
        elif rate > hi_in:
            flag = "alert"
        elif rate < lo_out:
            flag = "low alarm"
        elif rate < lo_in:
            flag = "low alert"
        else:
            flag = "within"
        rows.append({"group": group, "events": events, "size": float(size), "rate": rate,
                     "overall_rate": overall_rate, f"lower_{_label(outer)}": lo_out,
                     f"lower_{_label(inner)}": lo_in, f"upper_{_label(inner)}": hi_in,
                     f"upper_{_label(outer)}": hi_out, "flag": flag})
    return pl.DataFrame(rows, schema=schema, orient="row")


def _label(level: float) -> str:
    """0.95 -> "95", 0.998 -> "99_8" (column-name safe)."""
    return f"{level * 100:g}".replace(".", "_")


FUNNEL_EXTRAS = ("exposure", "rate_per_1000", "overall_rate", "lower_99_8", "lower_95", "upper_95", "upper_99_8",
                 "flag", "note")


def poisson_funnel(
    frame: pl.DataFrame, *, characteristic: str, overall_rate: float | None = None, alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
) -> pl.DataFrame:
    """Funnel table for rates per person-year, as a tidy table (so it can be suppressed/exported).

    Input: group (business area), exposure, events. rate with exact Poisson CI; ratio = area rate
    / force rate; p_value = exact test of the area's count against the force rate (doubled
    smaller tail); p_adjusted = adjusted across every area of the table (Holm by default), and
    is_significant reads it, so "significant" means the same here as in every other table. The
    flag reads the funnel's fixed 95%/99.8% limits, as a funnel plot is read.
    Extras: the limits at the area's size and its flag.
    """
    return _funnel_table(frame, characteristic=characteristic, overall_rate=overall_rate, alpha=alpha, kind="rate",
                         adjustment=adjustment)


def _funnel_table(frame, *, characteristic, overall_rate, alpha, kind, adjustment) -> pl.DataFrame:
    from metrics.intervals import poisson_exact_interval, wilson_interval
    from metrics.significance import flag_comparisons

    extras = FUNNEL_EXTRAS if kind == "rate" else tuple(e for e in FUNNEL_EXTRAS if e not in ("exposure", "rate_per_1000"))
    flags = funnel_flags(frame, kind=kind, overall_rate=overall_rate)
    if flags.height == 0:
        return empty_tidy(extras)
    theta = flags["overall_rate"][0]
    records = []
    for r in flags.iter_rows(named=True):
        k, size = r["events"], r["size"]
        if kind == "rate":
            low, high = poisson_exact_interval(k, size, alpha)
            mu = theta * size
            p = min(1.0, 2 * min(stats.poisson.cdf(k, mu), stats.poisson.sf(k - 1, mu))) if size > 0 and mu > 0 else None
            test = "exact Poisson test vs force rate (doubled tail)"
        else:
            low, high = wilson_interval(k, int(size), alpha)
            p = stats.binomtest(k, int(size), theta).pvalue if size > 0 and 0 < theta < 1 else None
            test = "exact binomial test vs force rate"
        has_ratio = r["rate"] is not None and theta > 0
        records.append({
            "characteristic": characteristic, "group": r["group"], "n": int(round(size)), "events": k,
            "rate": r["rate"], "ci_low": low, "ci_high": high,
            "ratio": r["rate"] / theta if has_ratio else None,
            "ratio_ci_low": low / theta if has_ratio and low is not None else None,
            "ratio_ci_high": high / theta if has_ratio and high is not None else None,
            "p_value": p, "is_significant": False, "is_suppressed": False,
            "method": f"{'exact Poisson' if kind == 'rate' else 'Wilson'}; ratio to force rate; {test}; "
                      "funnel limits exact with Spiegelhalter interpolation",
            "exposure": size, "rate_per_1000": r["rate"] * 1000 if r["rate"] is not None else None,
            "overall_rate": theta, "lower_99_8": r["lower_99_8"], "lower_95": r["lower_95"],
            "upper_95": r["upper_95"], "upper_99_8": r["upper_99_8"], "flag": r["flag"],
        })
    table = tidy_frame([{k: v for k, v in rec.items() if k in TIDY_SCHEMA or k in extras} for rec in records], extras)
    return flag_comparisons(table, alpha=alpha, adjustment=adjustment, across="business areas")
