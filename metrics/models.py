"""Adjusted comparisons by regression: a Poisson GLM with a person-years offset for misconduct
referral incidence-rate ratios, and a binomial (logit) GLM for the odds of a grievance being
upheld. Both fit aggregated cells (group x covariates), so a model over 46,000 people is a model
over a few hundred rows.

The Poisson model is fitted by iteratively reweighted least squares on the sparse design (the
normal equations are p x p): statsmodels' GLM solves each step as a dense least-squares problem,
which took 20-100 s on the 36,000-cell x 289-column national design (266 business areas) against
under a second here. Its estimates and standard errors are checked against statsmodels' in
tests/metrics/test_metrics_models.py. The logit model stays on statsmodels (its cells are few).

Zero-event groups and covariate levels make maximum-likelihood estimates run off to infinity;
they are handled before fitting (see _drop_uninformative) so that no statsmodels warning escapes.
Any warning that still arises is caught and reported in the method column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from metrics.comparison import check_comparison, compare_to_reference
from metrics.config import DEFAULTS
from metrics.glm import OVERDISPERSION_THRESHOLD, fit_glm, matrix_rank, poisson_glm, ratio_interval
from metrics.intervals import poisson_exact_interval, wilson_interval
from metrics.rates import NOT_STATED
from metrics.tidy import empty_tidy, require_columns

POISSON_EXTRAS = ("reference_group", "exposure", "rate_per_1000", "is_reference", "is_not_stated", "note")
LOGIT_EXTRAS = ("reference_group", "is_reference", "is_not_stated", "note")


def poisson_irr(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    covariates: Sequence[str] = (),
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    overdispersion_threshold: float = OVERDISPERSION_THRESHOLD,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Adjusted incidence-rate ratios, each group vs reference_group, from a Poisson GLM
    log(E[events]) = log(exposure) + group + covariates.

    Input: one row per cell with columns group, *covariates, events, exposure (person-years).
    rate/ci are the crude rate per person-year with exact Poisson CI; ratio is the adjusted IRR
    with Wald CI and p. If Pearson chi2/df > overdispersion_threshold the model is refitted with
    scale = Pearson chi2/df (quasi-Poisson), which widens the intervals; the method says so.
    """
    covariates = list(covariates)
    require_columns(frame, ["group", *covariates, "events", "exposure"], "poisson_irr")
    cells = _validated_cells(frame, covariates, "events", "exposure", "poisson_irr")
    if cells.height == 0:
        return empty_tidy(POISSON_EXTRAS)
    crude = _crude(cells, "exposure")
    rows = {
        g: {"n": int(round(x)), "events": e, "rate": e / x if x > 0 else None,
            "ci": poisson_exact_interval(e, x, alpha), "exposure": x}
        for g, e, x in crude.iter_rows()
    }
    fit_cells = cells.filter(pl.col("exposure") > 0)
    fit = fit_glm(
        fit_cells, covariates, reference_group=reference_group, alpha=alpha, family="poisson",
        overdispersion_threshold=overdispersion_threshold,
    )
    label = "Poisson GLM, log person-years offset"
    table = _assemble(rows, fit, characteristic=characteristic, reference_group=reference_group,
                      alpha=alpha, adjustment=adjustment, not_stated=not_stated, covariates=covariates,
                      label=label, extras=POISSON_EXTRAS)
    return table.with_columns((pl.col("rate") * 1000).alias("rate_per_1000"))


def logistic_odds_ratios(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    covariates: Sequence[str] = ("category",),
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Adjusted odds ratios of the outcome (e.g. grievance upheld), each group vs reference, from
    a binomial GLM (logit link) on aggregated counts: logit(p) = group + covariates.

    Input: one row per cell with columns group, *covariates, n (cases), events (e.g. upheld).
    rate/ci are the crude rate with Wilson CI; ratio is the adjusted odds ratio with Wald CI.
    """
    covariates = list(covariates)
    require_columns(frame, ["group", *covariates, "n", "events"], "logistic_odds_ratios")
    cells = _validated_cells(frame, covariates, "events", "n", "logistic_odds_ratios")
    if cells.height == 0:
        return empty_tidy(LOGIT_EXTRAS)
    crude = _crude(cells, "n")
    rows = {
        g: {"n": int(n), "events": e, "rate": e / n if n > 0 else None, "ci": wilson_interval(e, int(n), alpha)}
        for g, e, n in crude.iter_rows()
    }
    fit = fit_glm(cells.filter(pl.col("n") > 0), covariates, reference_group=reference_group, alpha=alpha,
               family="binomial")
    return _assemble(rows, fit, characteristic=characteristic, reference_group=reference_group,
                     alpha=alpha, adjustment=adjustment, not_stated=not_stated, covariates=covariates,
                     label="binomial GLM (logit), odds ratio", extras=LOGIT_EXTRAS)


TREND_EXTRAS = ("reference_group", "exposure", "rate_per_1000", "is_reference", "is_not_stated", "note")


def rate_ratio_trend(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    overdispersion_threshold: float = OVERDISPERSION_THRESHOLD,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Is a group's rate ratio to the reference changing over time? A Poisson GLM on group x period
    cells, log(E[events]) = log(person-years) + period (a factor) + group + group x period
    (linear in the period number), fitted by the same IRLS as poisson_irr. For each group, ratio =
    exp(its interaction coefficient): the multiplicative change in its rate ratio per period (0.95
    = the ratio falls by 5% a year), with Wald CI and the Wald test of no trend; adjusted across the
    stated groups. Quasi-Poisson standard errors when Pearson chi2/df > overdispersion_threshold.
    A part period (the current year to date) enters with its own person-years, so it is compared
    as a rate, not as a year's count.

    Input: group, period (integer, e.g. the financial year), events, exposure.
    R: glm(events ~ factor(period) + group + group:period, offset = log(exposure), family = poisson)
    """
    require_columns(frame, ["group", "period", "events", "exposure"], "rate_ratio_trend")
    check_comparison(reference_group=reference_group, adjustment=adjustment, not_stated=not_stated)
    cells = frame.select(pl.col("group").cast(pl.String), pl.col("period").cast(pl.Int64),
                         pl.col("events").cast(pl.Int64), pl.col("exposure").cast(pl.Float64))
    if cells.height == 0:
        return empty_tidy(TREND_EXTRAS)
    crude = _crude(cells.drop("period"), "exposure")
    periods = sorted(set(cells["period"].to_list()))
    fit_cells, no_events = _trend_cells(cells)
    if reference_group not in set(fit_cells["group"].to_list()):
        estimates, scale = {}, ""
        fatal = f"reference group {reference_group!r} has no events" if reference_group in no_events else \
            f"reference group {reference_group!r} not in table"
    else:
        estimates, fatal, scale = _trend_fit(fit_cells, reference_group, alpha, overdispersion_threshold)
    span = f"{len(periods)} periods, {periods[0]} to {periods[-1]}"
    model = "; ".join(x for x in ("Poisson GLM, log person-years offset: period + group + group x period (linear)",
                                  "ratio = change in the rate ratio per period", scale,
                                  "Wald test of the group x period interaction (trend)", span) if x)
    rows = []
    for group, e, x in crude.iter_rows():
        low, high = poisson_exact_interval(e, x, alpha)
        rows.append({"group": group, "n": int(round(x)), "events": e, "rate": e / x if x > 0 else None,
                     "ci_low": low, "ci_high": high, "exposure": x,
                     "rate_per_1000": 1000 * e / x if x > 0 else None})

    def compare(row, ref):
        if row["group"] not in estimates:
            why = "group has no events" if row["group"] in no_events else "too few events to pin it down"
            return {}, [f"no trend estimable: {why}"]
        ratio, lo, hi, p = estimates[row["group"]]
        return {"ratio": ratio, "ratio_ci_low": lo, "ratio_ci_high": hi, "p_value": p}, [model]

    return compare_to_reference(rows, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                                adjustment=adjustment, not_stated=not_stated, extras=TREND_EXTRAS,
                                method="exact Poisson", compare=compare, reference_ratio=None,
                                reference_method=[model], fatal=fatal)


def _trend_cells(cells: pl.DataFrame) -> tuple[pl.DataFrame, set]:
    """The cells the trend model is fitted to, and the groups with no events: a group with no
    events, or a period with none, has no finite estimate and carries nothing."""
    fit_cells = cells.filter(pl.col("exposure") > 0)
    no_events = set(fit_cells.group_by("group").agg(pl.col("events").sum()).filter(pl.col("events") == 0)["group"])
    quiet = set(fit_cells.group_by("period").agg(pl.col("events").sum()).filter(pl.col("events") == 0)["period"])
    return fit_cells.filter(~pl.col("group").is_in(list(no_events)) & ~pl.col("period").is_in(list(quiet))), no_events


def _trend_fit(fit_cells: pl.DataFrame, reference_group: str, alpha: float, overdispersion_threshold: float
               ) -> tuple[dict, str | None, str]:
    """(estimates {group: (ratio, low, high, p)}, why there are none, the scale used) of the group x
    period interaction, by the IRLS Poisson GLM."""
    groups = sorted(set(fit_cells["group"].to_list()) - {reference_group})
    kept_periods = sorted(set(fit_cells["period"].to_list()))
    if len(kept_periods) < 2:
        return {}, "no trend test (fewer than two periods with events)", ""
    g = fit_cells["group"].to_numpy()
    t = fit_cells["period"].to_numpy().astype(float) - float(np.mean(kept_periods))
    cols = [np.ones(fit_cells.height)] + [(fit_cells["period"] == k).to_numpy().astype(float)
                                           for k in kept_periods[1:]]
    cols += [(g == level).astype(float) for level in groups]
    cols += [(g == level).astype(float) * t for level in groups]
    X = np.column_stack(cols)
    res = poisson_glm(X, fit_cells["events"].to_numpy().astype(float), np.log(fit_cells["exposure"].to_numpy()))
    if not res.converged or matrix_rank(X) < X.shape[1]:
        return {}, "model did not converge" if not res.converged else "model not identifiable", ""
    scale = ""
    dispersion = res.pearson_chi2 / res.df_resid if res.df_resid > 0 else float("nan")
    if dispersion > overdispersion_threshold:
        res = res.with_scale(dispersion)
        scale = f"quasi-Poisson scale (Pearson chi2/df = {dispersion:.2f})"
    elif dispersion == dispersion:
        scale = f"Poisson scale (Pearson chi2/df = {dispersion:.2f})"
    z = stats.norm.ppf(1 - alpha / 2)
    first = 1 + (len(kept_periods) - 1) + len(groups)
    estimates = {}
    for j, level in enumerate(groups):
        ratio = ratio_interval(float(res.params[first + j]), float(res.bse[first + j]), z)
        if ratio is not None:  # else the data cannot pin this group's trend down: "no trend estimable"
            estimates[level] = (*ratio, float(res.pvalues[first + j]))
    return estimates, None, scale


# --- assembling the tidy table ---------------------------------------------------------------


def _assemble(rows, fit, *, characteristic, reference_group, alpha, adjustment, not_stated, covariates,
              label, extras) -> pl.DataFrame:
    adjusted_for = f"adjusted for {', '.join(covariates)}" if covariates else "unadjusted"
    model_method = "; ".join(x for x in (label, adjusted_for, fit["scale"], "Wald CI") if x)
    note = "; ".join(fit["notes"]) or None

    def compare(row, ref):
        group = row["group"]
        if group in fit["excluded"]:
            return {}, [f"ratio not estimable: group {fit['excluded'][group]}"]
        if group in fit["estimates"]:
            ratio, low, high, p = fit["estimates"][group]
            return {"ratio": ratio, "ratio_ci_low": low, "ratio_ci_high": high, "p_value": p}, [model_method]
        return {}, ["ratio not estimable: no informative cells"]  # every cell left out with a degenerate level

    table_rows = [{"group": group, "n": r["n"], "events": r["events"], "rate": r["rate"], "ci_low": r["ci"][0],
                   "ci_high": r["ci"][1], "exposure": r.get("exposure"), "note": note} for group, r in rows.items()]
    return compare_to_reference(table_rows, characteristic=characteristic, reference_group=reference_group,
                                alpha=alpha, adjustment=adjustment, not_stated=not_stated, extras=extras,
                                method="exact Poisson" if "exposure" in extras else "Wilson", compare=compare,
                                reference_ratio=lambda row: 1.0, reference_method=[model_method],
                                fatal=fit.get("fatal"))


def _crude(cells: pl.DataFrame, denom: str) -> pl.DataFrame:
    """Per-group totals in first-appearance order (group, events, denominator)."""
    order = {g: i for i, g in enumerate(dict.fromkeys(cells["group"].to_list()))}
    return (
        cells.group_by("group", maintain_order=True).agg(pl.col("events").sum(), pl.col(denom).sum())
        .with_columns(pl.col("group").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort("_o").drop("_o")
    )


def _validated_cells(frame, covariates, events_col, denom_col, what) -> pl.DataFrame:
    """Cast and check the cells, naming row, column and rule on failure."""
    cols = ["group", *covariates]
    for col in [*cols, events_col, denom_col]:
        nulls = frame[col].is_null()
        if nulls.any():
            row = int(nulls.arg_true()[0]) + 1
            raise ValueError(f"{what}: row {row}, column {col!r}: value is missing")
    out = frame.select(
        [pl.col(c).cast(pl.String) for c in cols]
        + [pl.col(events_col).cast(pl.Int64).alias("events"),
           pl.col(denom_col).cast(pl.Float64 if denom_col == "exposure" else pl.Int64)]
    )
    checks = [
        (pl.col("events") < 0, "events", "must not be negative"),
        (pl.col(denom_col) < 0, denom_col, "must not be negative"),
        ((pl.col(denom_col) == 0) & (pl.col("events") > 0), events_col, f"events with zero {denom_col}"),
    ]
    if denom_col == "n":
        checks.append((pl.col("events") > pl.col("n"), events_col, "events exceed n"))
    for cond, col, rule in checks:
        bad = out.select(cond.alias("bad"))["bad"]
        if bad.any():
            row = int(bad.arg_true()[0]) + 1
            raise ValueError(f"{what}: row {row}, column {col!r}: {rule}")
    return out
