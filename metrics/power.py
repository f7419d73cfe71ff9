"""Evidence strength: the smallest ratio each comparison could have detected, and what a "not
significant" result therefore means.

"Not significant" is either "no difference" or "too few to tell". For each comparison this
module gives the smallest ratio to the reference (above 1) that a two-sided test at the table's
alpha would detect with 80% power, given the group's size or exposure and the reference's:

- proportions (events / n): the normal approximation on Cohen's h (statsmodels NormalIndPower:
  h = (z(1 - alpha/2) + z(power)) / sqrt(n1 / (1 + n1/n0)); one-sample, n0 infinite, against a
  fixed share such as a census share), turned into a ratio p1 / p0 with p1 = sin(asin(sqrt p0) + h/2)^2;
- rates per person-year (events / exposure): statsmodels power_poisson_ratio_2indep (Wald test
  of the log rate ratio, variance under the alternative) solved for the ratio by bisection on
  arrays, since it has no solver of its own.

The verdict: significant -> "a difference: ..."; otherwise, if the detectable ratio is at most
the threshold (Settings.evidence_ratio_threshold, default 2) -> "no difference larger than 1.4 is
likely", else "too few to tell: a difference as large as 3 could go unseen". Adjusted models
(GLM) are judged by their crude counts: the adjustment changes the ratio, not how many there are.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from metrics.config import DEFAULTS

POWER = 0.8
MAX_RATIO = 1000.0  # beyond this nothing is detectable: reported as not detectable (null)
PARTS = ("stage", "business_area_code", "force", "year", "rank", "source")


def detectable_ratio_proportion(n1, n0, p0, *, alpha: float = DEFAULTS.alpha, power: float = POWER) -> np.ndarray:
    """Smallest p1 / p0 > 1 detectable with `power` by a two-sided test of two proportions (n1 in
    the group, n0 in the reference with proportion p0); n0 = inf for a one-sample test against a
    fixed p0. NaN where nothing up to p1 = 1 is detectable or the inputs allow no test."""
    n1, n0, p0 = (np.asarray(a, dtype=float) for a in np.broadcast_arrays(n1, n0, p0))
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(np.isinf(n0), n1, n1 / (1 + n1 / n0))
        h = (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) / np.sqrt(effective)
        angle = np.arcsin(np.sqrt(p0)) + h / 2
        p1 = np.sin(np.minimum(angle, np.pi / 2)) ** 2
        ratio = p1 / p0
    ok = (n1 > 0) & (n0 > 0) & (p0 > 0) & (p0 < 1) & (angle <= np.pi / 2)
    return np.where(ok, ratio, np.nan)


def detectable_ratio_rate(exposure1, exposure0, rate0, *, alpha: float = DEFAULTS.alpha, power: float = POWER,
                          iterations: int = 60) -> np.ndarray:
    """Smallest rate ratio > 1 detectable with `power` by statsmodels' two-sided Wald test of the
    log rate ratio (power_poisson_ratio_2indep, method_var "alt"), the group with exposure1
    person-years, the reference with exposure0 and rate0. NaN where it cannot be (no exposure, a
    zero reference rate, or nothing below MAX_RATIO)."""
    from statsmodels.stats.rates import power_poisson_ratio_2indep

    e1, e0, r0 = (np.asarray(a, dtype=float) for a in np.broadcast_arrays(exposure1, exposure0, rate0))
    ok = (e1 > 0) & (e0 > 0) & (r0 > 0)
    out = np.full(e1.shape, np.nan)
    if not ok.any():
        return out
    e1, e0, r0 = e1[ok], e0[ok], r0[ok]

    def power_at(ratio: np.ndarray) -> np.ndarray:
        return np.asarray(power_poisson_ratio_2indep(rate1=ratio * r0, rate2=r0, nobs1=e1, nobs_ratio=e0 / e1,
                                                     value=1, alpha=alpha, alternative="two-sided",
                                                     return_results=False), dtype=float)

    lo, hi = np.zeros(e1.shape), np.full(e1.shape, np.log(MAX_RATIO))  # bisection on log(ratio)
    reachable = power_at(np.exp(hi)) >= power
    for _ in range(iterations):
        mid = (lo + hi) / 2
        enough = power_at(np.exp(mid)) >= power
        hi, lo = np.where(enough, mid, hi), np.where(enough, lo, mid)
    out[ok] = np.where(reachable, np.exp(hi), np.nan)
    return out


def verdict(ratio: float | None, is_significant: bool | None, detectable: float | None, *,
            threshold: float = DEFAULTS.evidence_ratio_threshold) -> str | None:
    """The plain-English reading of one comparison."""
    if is_significant:
        return f"a difference: {ratio:.2f} times the reference, more than chance would explain" if ratio else None
    if detectable is None or detectable != detectable:
        return "too few to tell: no difference of any size could be detected"
    if detectable <= threshold:
        return f"no difference larger than {detectable:.1f} is likely"
    return f"too few to tell: a difference as large as {detectable:.1f} could go unseen"


def _kind(frame: pl.DataFrame) -> str | None:
    if "census_share" in frame.columns or "target_share" in frame.columns:
        return "one_sample"
    if "exposure" in frame.columns:
        return "rate"
    rows = frame.filter(pl.col("rate").is_not_null() & (pl.col("n") > 0))
    if rows.height and (rows["rate"] - rows["events"] / rows["n"]).abs().max() < 1e-9:
        return "proportion"
    if rows.height == 0 and frame.height:
        return "proportion"
    return None


def with_evidence(frame: pl.DataFrame, *, alpha: float = DEFAULTS.alpha,
                  threshold: float = DEFAULTS.evidence_ratio_threshold,
                  min_n: int = DEFAULTS.min_group_for_ratio) -> pl.DataFrame:
    """The tidy table with `detectable_ratio` and `evidence` on every row compared with a reference
    (a row with a p-value). Rows too small to report and rows whose reference is under min_n get
    neither (the numbers they would come from are not reported)."""
    from metrics.tidy import TIDY_COLUMNS, TOO_FEW, order_tidy

    if frame.height == 0 or not set(TIDY_COLUMNS) <= set(frame.columns) or "detectable_ratio" in frame.columns:
        return frame
    kind = _kind(frame)
    detectable = np.full(frame.height, np.nan)
    compared = frame["p_value"].is_not_null().to_numpy()
    if "note" in frame.columns:
        compared &= ~frame["note"].str.contains(TOO_FEW, literal=True).fill_null(False).to_numpy()
    if kind == "one_sample":  # against a fixed share (a census share, a target), not a group
        share = "census_share" if "census_share" in frame.columns else "target_share"
        detectable = detectable_ratio_proportion(frame["n"].fill_null(0).to_numpy(), np.inf,
                                                 frame[share].fill_null(np.nan).to_numpy(), alpha=alpha)
    elif kind is not None:
        is_ref = (frame["is_reference"].fill_null(False) if "is_reference" in frame.columns
                  else frame["group"] == frame["reference_group"] if "reference_group" in frame.columns
                  else pl.Series([False] * frame.height))
        keys = [c for c in PARTS if c in frame.columns]
        part = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in keys], separator="|") if keys else pl.lit("")
        size = "exposure" if kind == "rate" else "n"
        refs = frame.with_columns(_part=part, _ref=is_ref).with_columns(
            ref_size=pl.col(size).filter(pl.col("_ref")).first().over("_part"),
            ref_events=pl.col("events").filter(pl.col("_ref")).first().over("_part"),
            ref_n=pl.col("n").filter(pl.col("_ref")).first().over("_part"))
        ref_size = refs["ref_size"].cast(pl.Float64).fill_null(0).to_numpy()
        ref_events = refs["ref_events"].cast(pl.Float64).fill_null(0).to_numpy()
        size_1 = frame[size].cast(pl.Float64).fill_null(0).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ref_rate = np.where(ref_size > 0, ref_events / ref_size, np.nan)
        if kind == "rate":
            detectable = detectable_ratio_rate(size_1, ref_size, ref_rate, alpha=alpha)
        else:
            detectable = detectable_ratio_proportion(size_1, ref_size, ref_rate, alpha=alpha)
        compared &= refs["ref_n"].fill_null(0).to_numpy() >= min_n
    detectable = np.where(compared, detectable, np.nan)
    ratios, significant = frame["ratio"].to_list(), frame["is_significant"].to_list()
    evidence = [verdict(r, s, None if np.isnan(d) else float(d), threshold=threshold) if c else None
                for r, s, d, c in zip(ratios, significant, detectable.tolist(), compared.tolist(), strict=True)]
    out = frame.with_columns(pl.Series("detectable_ratio", detectable, dtype=pl.Float64).fill_nan(None),
                             pl.Series("evidence", evidence, dtype=pl.String))
    return order_tidy(out)
