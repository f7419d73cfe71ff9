"""Fitting the regression models of metrics/models.py: a Poisson GLM by IRLS (with a log person-years
offset, quasi-Poisson when overdispersed) or statsmodels' binomial GLM, after dropping the cells that
carry no information; never raises on data problems and never lets a warning out.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import sparse, special, stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

OVERDISPERSION_THRESHOLD = 1.5  # Pearson chi2/df above this -> quasi-Poisson standard errors
UNSTABLE_LOG_SE = 5.0  # a log-ratio SE this large means the data cannot pin the ratio down


# --- fitting ---------------------------------------------------------------------------------


def fit_glm(
    cells: pl.DataFrame,
    covariates: list[str],
    *,
    reference_group: str,
    alpha: float,
    family: str,
    overdispersion_threshold: float = OVERDISPERSION_THRESHOLD,
) -> dict:
    """Fit the GLM; returns {"estimates": {group: (ratio, low, high, p)}, "excluded": {group: why},
    "notes": [...], "scale": str}. Never raises on data problems and never lets a warning out."""
    denom = "exposure" if family == "poisson" else "n"
    result: dict = {"estimates": {}, "excluded": {}, "notes": [], "scale": ""}
    cells, excluded, dropped = _drop_uninformative(cells, covariates, denom=denom, family=family)
    result["excluded"] = excluded
    if dropped:
        result["notes"].append(dropped)
    if reference_group in excluded:
        result["fatal"] = f"reference group {excluded[reference_group]}: no adjusted ratios"
        return result
    groups = list(dict.fromkeys(cells["group"].to_list()))
    if reference_group not in groups:
        result["fatal"] = f"reference group {reference_group!r} not in table"
        return result
    X, names = design_matrix(cells, covariates, reference_group)
    if matrix_rank(X) < X.shape[1]:
        result["fatal"] = "model not identifiable: a group is confounded with the covariates"
        return result
    res, result["scale"], caught = _fit_family(cells, X, family, overdispersion_threshold)
    if caught:
        result["notes"].append("model warning: " + "; ".join(sorted({str(w.message) for w in caught})))
    if not res.converged:
        result["fatal"] = "model did not converge"
        return result
    z = stats.norm.ppf(1 - alpha / 2)
    for j, name in enumerate(names):
        if not name.startswith("group="):
            continue
        beta, se, p = float(res.params[j]), float(res.bse[j]), float(res.pvalues[j])
        group = name.removeprefix("group=")
        ratio = ratio_interval(beta, se, z)
        if ratio is None:
            result["excluded"][group] = "estimate unstable (too few events)"
            continue
        result["estimates"][group] = (*ratio, p)
    return result


def ratio_interval(beta: float, se: float, z: float) -> tuple[float, float, float] | None:
    """exp(beta) with its Wald interval, or None when the data cannot pin the ratio down (a log-ratio
    SE of UNSTABLE_LOG_SE or more, as under separation, where exp would also overflow)."""
    if not (math.isfinite(se) and se < UNSTABLE_LOG_SE and abs(beta) + z * se < 700):
        return None
    return math.exp(beta), math.exp(beta - z * se), math.exp(beta + z * se)


def _fit_family(cells: pl.DataFrame, X: np.ndarray, family: str, overdispersion_threshold: float):
    """(the fitted model, the scale it used, the warnings it raised): Poisson with a log person-years
    offset (quasi-Poisson when overdispersed) or binomial on (events, n - events)."""
    events = cells["events"].to_numpy().astype(float)
    scale = ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if family == "poisson":
            res = poisson_glm(X, events, np.log(cells["exposure"].to_numpy()))
            dispersion = res.pearson_chi2 / res.df_resid if res.df_resid > 0 else float("nan")
            if res.converged and dispersion > overdispersion_threshold:
                # Extra-Poisson variation (clustering of referrals): inflate SEs by sqrt(dispersion).
                res = res.with_scale(dispersion)
                scale = f"quasi-Poisson scale (Pearson chi2/df = {dispersion:.2f})"
            elif dispersion == dispersion:
                scale = f"Poisson scale (Pearson chi2/df = {dispersion:.2f})"
        else:
            endog = np.column_stack([events, cells["n"].to_numpy() - events])
            res = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    if abs(res.deviance) < 1e-8:
        # statsmodels reports an exact (e.g. saturated) fit as "perfect separation or prediction";
        # separation proper was removed above, so an exact fit is just an exact fit.
        caught = [w for w in caught if not issubclass(w.category, PerfectSeparationWarning)]
    return res, scale, caught


def matrix_rank(X: np.ndarray) -> int:
    """Numerical rank of the design from the eigenvalues of X'X (p x p, formed sparsely) rather
    than an SVD of X itself (n x p: seconds at national scale). An eigenvalue under 1e-10 of the
    largest counts as zero: rounding puts an exact zero near p * eps * largest (~1e-13 relative),
    and a design that ill-conditioned would give unusable standard errors anyway."""
    xs = sparse.csr_matrix(X)
    eig = np.linalg.eigvalsh((xs.T @ xs).toarray())
    return int(np.sum(eig > 1e-10 * eig.max())) if eig.size else 0


@dataclass(frozen=True)
class _GlmResult:
    """The parts of a statsmodels GLM result that fit_glm reads."""

    params: np.ndarray
    bse: np.ndarray
    pvalues: np.ndarray
    deviance: float
    pearson_chi2: float
    df_resid: int
    converged: bool

    def with_scale(self, scale: float) -> _GlmResult:
        """The quasi-Poisson result: same estimates, standard errors times sqrt(scale) (as
        statsmodels' fit(scale="X2"))."""
        bse = self.bse * math.sqrt(scale)
        return _GlmResult(self.params, bse, 2 * stats.norm.sf(np.abs(self.params / bse)), self.deviance,
                          self.pearson_chi2, self.df_resid, self.converged)


def poisson_glm(X: np.ndarray, y: np.ndarray, offset: np.ndarray, *, tol: float = 1e-12,
                 max_iter: int = 100) -> _GlmResult:
    """Poisson GLM with log link and offset: IRLS on the sparse design, statsmodels' starting
    values (mu = (y + mean y) / 2), stopping when the deviance changes by less than tol
    relative; Wald standard errors from the inverse Fisher information (X'WX)^-1."""
    xs = sparse.csr_matrix(X)
    n, p = X.shape
    mu = (y + y.mean()) / 2
    eta = np.log(mu)
    deviance, converged = math.inf, False
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            for _ in range(max_iter):
                z = eta - offset + (y - mu) / mu
                info = (xs.T @ xs.multiply(mu[:, None])).toarray()
                beta = np.linalg.solve(info, xs.T @ (mu * z))
                eta = xs @ beta + offset
                mu = np.exp(eta)
                new = 2.0 * float(np.sum(special.xlogy(y, y / mu) - (y - mu)))
                if abs(new - deviance) <= tol * max(1.0, abs(new)):
                    converged = True
                    deviance = new
                    break
                deviance = new
            cov = np.linalg.inv((xs.T @ xs.multiply(mu[:, None])).toarray())
        except (FloatingPointError, np.linalg.LinAlgError):
            nan = np.full(p, np.nan)
            return _GlmResult(nan, nan, nan, math.nan, math.nan, n - p, False)
    bse = np.sqrt(np.diag(cov))
    pearson = float(np.sum((y - mu) ** 2 / mu))
    return _GlmResult(beta, bse, 2 * stats.norm.sf(np.abs(beta / bse)), deviance, pearson, n - p, converged)


def _drop_uninformative(cells: pl.DataFrame, covariates: list[str], *, denom: str, family: str):
    """Remove what has no finite MLE, before fitting.

    - A group with no events (or, for logit, every case an event): its coefficient is -inf/+inf;
      report it as not estimable rather than print a meaningless huge ratio.
    - Cells of a covariate level with no events (or all events): at the MLE their fitted values are
      0 (or n), so they contribute nothing to the other coefficients' score equations; dropping
      them gives exactly the limiting estimates for everything else, without separation warnings.
    """
    excluded: dict[str, str] = {}
    dropped_levels: list[str] = []
    full = "n" if family == "binomial" else None

    def degenerate(by: str) -> pl.DataFrame:
        agg = cells.group_by(by, maintain_order=True).agg(pl.col("events").sum().alias("e"), pl.col(denom).sum().alias("d")).sort(by)
        cond = pl.col("e") == 0
        if full:
            cond = cond | (pl.col("e") == pl.col("d"))
        return agg.filter(cond)

    changed = True
    while changed and cells.height:
        changed = False
        for g, e, _ in degenerate("group").iter_rows():
            excluded[g] = "has no events" if e == 0 else "has every case with the outcome"
            changed = True
        cells = cells.filter(~pl.col("group").is_in(list(excluded)))
        for cov in covariates:
            bad = degenerate(cov)[cov].to_list()
            if bad:
                dropped_levels += [f"{cov}={v}" for v in bad]
                cells = cells.filter(~pl.col(cov).is_in(bad))
                changed = True
    note = ""
    if dropped_levels:
        note = "cells of covariate levels with no variation in the outcome left out: " + ", ".join(map(str, dropped_levels))
    return cells, excluded, note


def design_matrix(cells: pl.DataFrame, covariates: list[str], reference_group: str) -> tuple[np.ndarray, list[str]]:
    """Intercept + treatment dummies; a covariate's baseline is its level with the largest
    denominator (most stable contrasts); levels sorted so the design does not depend on row order."""
    columns, names = [np.ones(cells.height)], ["intercept"]
    for level in sorted(set(cells["group"].to_list()) - {reference_group}):
        columns.append((cells["group"] == level).to_numpy().astype(float))
        names.append(f"group={level}")
    weight = "exposure" if "exposure" in cells.columns else "n"
    for cov in covariates:
        sizes = cells.group_by(cov).agg(pl.col(weight).sum()).sort([weight, cov], descending=[True, False])
        baseline = sizes[cov][0]
        for level in sorted(v for v in sizes[cov].to_list() if v != baseline):
            columns.append((cells[cov] == level).to_numpy().astype(float))
            names.append(f"{cov}={level}")
    return np.column_stack(columns), names


