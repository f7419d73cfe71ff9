"""Rates by group with intervals, relative rates against a reference group, and their tests.

Two tidy tables: `proportion_table` (events out of n people/cases: Wilson interval, Katz relative
rate, Fisher/chi-square test) and `exposure_rate_table` (events per person-year: exact Poisson
interval, rate ratio, exact conditional test). "Not stated" is always its own row: shown with its
rate and a descriptive comparison, but never the reference and never in the adjustment family.
Edge cases (zero events, empty or missing reference, a group of one, an empty input) give a row
with nulls and a method note, never an exception or a numpy warning.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy import stats

from metrics.comparison import NOT_STATED, check_comparison, compare_to_reference
from metrics.config import DEFAULTS
from metrics.intervals import (
    _divide,
    conditional_rate_tests,
    katz_relative_rate,
    poisson_exact_intervals,
    rate_ratio_intervals,
    wilson_interval,
)
from metrics.significance import two_by_two_test
from metrics.tidy import EXTRA_COLUMNS, TOO_FEW, empty_tidy, require_columns, tidy_frame

PROPORTION_EXTRAS = ("reference_group", "is_reference", "is_not_stated", "note")
EXPOSURE_EXTRAS = ("reference_group", "exposure", "rate_per_1000", "is_reference", "is_not_stated", "note")


# --- tables ----------------------------------------------------------------------------------


def proportion_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_n: int = DEFAULTS.min_group_for_ratio,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Tidy table of events/n by group: rate + Wilson CI, relative rate vs reference + Katz CI,
    p-value vs reference (Fisher exact if any expected count < 5, else chi-square), adjusted
    across the stated non-reference groups (Holm by default; "fdr_bh" for Benjamini-Hochberg).

    Input: one row per group with columns group, n, events. Groups with n < min_n keep their
    figures (analysts see them) and get the note "too few to report"; suppression removes them
    from restricted outputs. Rows keep the input order.
    """
    rows = []
    for g, n, e in _validated_counts(frame, "proportion_table"):
        low, high = wilson_interval(e, n, alpha)
        rows.append({"group": g, "n": n, "events": e, "rate": e / n if n > 0 else None, "ci_low": low,
                     "ci_high": high, "note": TOO_FEW if n < min_n else None})

    def compare(row, ref):
        ratio, low, high, ratio_note = katz_relative_rate(row["events"], row["n"], ref["events"], ref["n"], alpha)
        p, test_name = two_by_two_test(row["events"], row["n"], ref["events"], ref["n"])
        return {"ratio": ratio, "ratio_ci_low": low, "ratio_ci_high": high, "p_value": p}, [ratio_note, test_name]

    return compare_to_reference(rows, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                                adjustment=adjustment, not_stated=not_stated, extras=PROPORTION_EXTRAS,
                                method="Wilson", compare=compare)


def exposure_rate_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_events: int = 0,
    not_stated: str | None = NOT_STATED,
    by: str | None = None,
) -> pl.DataFrame:
    """Tidy table of events per person-year by group: rate + exact Poisson (Garwood) CI, rate
    ratio vs reference with log CI, and the exact conditional binomial test of equal rates
    (scipy.stats.binomtest on a given a+b with p = E_a/(E_a+E_b)), adjusted across groups.

    Input: group, events, exposure (person-years). n is the person-years rounded; extras carry
    the exact exposure and rate_per_1000. Groups with fewer than `min_events` events get the
    note "too few to report" (for rates the event count, not the exposure, is what is small).

    by: a tidy extra column (e.g. business_area_code) splitting the input into separate tables,
    each with its own reference row and adjustment family: the result is what calling this
    function on each part would give, stacked in input order, with the `by` column kept. Every
    statistic is computed on arrays, so 300 areas x 6 groups cost about what one table does.
    """
    check_comparison(reference_group=reference_group, adjustment=adjustment, not_stated=None)
    if by is not None and (by not in EXTRA_COLUMNS or by in EXPOSURE_EXTRAS):
        raise ValueError(f"exposure_rate_table: by must be a tidy extra column such as 'business_area_code'; got {by!r}")
    extras = EXPOSURE_EXTRAS + ((by,) if by else ())
    frame = _validated_exposure_frame(frame, "exposure_rate_table", by)
    if frame.height == 0:
        return empty_tidy(extras)

    part = pl.col(by) if by else pl.lit(0)
    is_ref_expr = pl.col("group") == reference_group
    cols = frame.select(
        group=pl.col("group"), events=pl.col("events"), exposure=pl.col("exposure"),
        ref_events=pl.col("events").filter(is_ref_expr).first().over(part),
        ref_exposure=pl.col("exposure").filter(is_ref_expr).first().over(part),
    )
    group = cols["group"].to_numpy()
    events, exposure = cols["events"].to_numpy(), cols["exposure"].to_numpy()
    parts = frame[by].to_list() if by else None
    ref_events = cols["ref_events"].fill_null(0).to_numpy()
    ref_exposure = cols["ref_exposure"].fill_null(0.0).to_numpy()
    n = np.rint(exposure).astype(np.int64)  # half to even, as round() did
    ci_low, ci_high = poisson_exact_intervals(events, exposure, alpha)

    # Every statistic on arrays (against each row's part's reference; 0 where there is none, unused).
    ratio, ratio_low, ratio_high, ratio_note = rate_ratio_intervals(events, exposure, ref_events, ref_exposure, alpha)
    p, test_name = conditional_rate_tests(events, exposure, ref_events, ref_exposure)
    rate = _divide(events.astype(float), exposure, exposure > 0)
    rows = [{"group": group[i], "n": n[i], "events": events[i], "rate": rate[i], "ci_low": ci_low[i],
             "ci_high": ci_high[i], "exposure": exposure[i], "rate_per_1000": rate[i] * 1000,
             "note": TOO_FEW if events[i] < min_events else None, "_i": i, **({by: parts[i]} if by else {})}
            for i in range(len(group))]

    def compare(row, ref):
        i = row["_i"]
        return ({"ratio": ratio[i], "ratio_ci_low": ratio_low[i], "ratio_ci_high": ratio_high[i], "p_value": p[i]},
                [ratio_note[i], test_name[i]])

    return compare_to_reference(rows, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                                adjustment=adjustment, not_stated=not_stated, extras=extras, method="exact Poisson",
                                compare=compare, by=by)


STRATIFIED_EXTRAS = PROPORTION_EXTRAS


def mantel_haenszel(a, n1, c, n0, alpha: float = DEFAULTS.alpha) -> tuple[float | None, float | None, float | None,
                                                                          float | None, str]:
    """Relative rate of events a/n1 (group) vs c/n0 (reference) pooled over strata (arrays, one
    element per stratum) by Mantel-Haenszel, with the Greenland-Robins (1985) interval for log RR,
    and the Cochran-Mantel-Haenszel test without continuity correction (R: mantelhaen.test(x,
    correct = FALSE)$p.value on the 2 x 2 x K table). Returns (ratio, low, high, p, note).

    Strata where either side is empty carry no comparison and drop out of every sum; so does a
    stratum of one case for the test (its hypergeometric variance is zero)."""
    a, n1, c, n0 = (np.asarray(v, dtype=float) for v in (a, n1, c, n0))
    both = (n1 > 0) & (n0 > 0)
    a, n1, c, n0 = a[both], n1[both], c[both], n0[both]
    if not len(a):
        return None, None, None, None, "no stratum with both groups"
    n = n1 + n0
    r_num, r_den = np.sum(a * n0 / n), np.sum(c * n1 / n)
    m1 = a + c
    tested = n > 1
    expected = np.sum((n1 * m1 / n)[tested])
    variance = np.sum((n1 * n0 * m1 * (n - m1) / (n ** 2 * (n - 1)))[tested])
    p = float(stats.chi2.sf((np.sum(a[tested]) - expected) ** 2 / variance, 1)) if variance > 0 else None
    if r_den == 0:
        return None, None, None, p, "reference group has no events in the strata compared"
    if r_num == 0:
        return 0.0, None, None, p, "MH RR 0 (no events in the strata compared)"
    rr = float(r_num / r_den)
    var_log = np.sum((n1 * n0 * m1 - a * c * n) / n ** 2) / (r_num * r_den)
    z = stats.norm.ppf(1 - alpha / 2)
    half = z * math.sqrt(var_log)
    return rr, math.exp(math.log(rr) - half), math.exp(math.log(rr) + half), p, "Mantel-Haenszel RR (Greenland-Robins CI)"


def stratified_proportion_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    stratum_label: str = "financial year",
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_n: int = DEFAULTS.min_group_for_ratio,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """proportion_table compared within strata: for shares that move over time (an independent
    assessor, a recorded rationale), a group whose cases are more recent would otherwise look
    different only because of when its cases fell (a composition effect, not a group difference).

    Input: group, stratum, n, events (one row per group and stratum). rate and its Wilson CI are
    the crude share over all strata; ratio is the Mantel-Haenszel relative rate within strata
    with its Greenland-Robins interval; p_value the CMH test (no continuity correction); then the
    same adjustment and flags as every comparison table (significance.flag_comparisons)."""
    require_columns(frame, ["group", "stratum", "n", "events"], "stratified_proportion_table")
    if frame.height == 0:
        return empty_tidy(STRATIFIED_EXTRAS)
    check_comparison(reference_group=reference_group, adjustment=adjustment, not_stated=not_stated)
    totals = frame.group_by("group", maintain_order=True).agg(pl.col("n").sum(), pl.col("events").sum())
    _validated_counts(totals, "stratified_proportion_table")
    strata = sorted(set(frame["stratum"].to_list()))
    wide = {g: {st: (0, 0) for st in strata} for g in totals["group"].to_list()}
    for g, st, n, e in frame.select("group", "stratum", "n", "events").iter_rows():
        wide[g][st] = (int(n), int(e))
    rows = []
    for g, n, e in totals.select("group", "n", "events").iter_rows():
        n, e = int(n), int(e)
        low, high = wilson_interval(e, n, alpha)
        rows.append({"group": g, "n": n, "events": e, "rate": e / n if n else None, "ci_low": low, "ci_high": high,
                     "note": TOO_FEW if n < min_n else None})

    def compare(row, ref):
        g, r = wide[row["group"]], wide[ref["group"]]
        cells = [(g[st][1], g[st][0], r[st][1], r[st][0]) for st in strata]
        rr, lo, hi, p, note = mantel_haenszel(*zip(*cells, strict=True), alpha=alpha)
        return ({"ratio": rr, "ratio_ci_low": lo, "ratio_ci_high": hi, "p_value": p},
                [f"{note}, within {stratum_label}",
                 f"Cochran-Mantel-Haenszel test within {stratum_label}" if p is not None else "no test (no variation)"])

    return compare_to_reference(rows, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                                adjustment=adjustment, not_stated=not_stated, extras=STRATIFIED_EXTRAS,
                                method="Wilson (all strata)", compare=compare)


def not_stated_share(
    frame: pl.DataFrame, *, characteristic: str, not_stated: str = NOT_STATED, alpha: float = DEFAULTS.alpha
) -> pl.DataFrame:
    """Data-quality figure: the share of people whose characteristic is not stated, with Wilson CI.

    Input: one row per group with columns group, n. Returns one tidy row: group = the not-stated
    label, n = everyone, events = not stated, rate = their share (no ratio or test).
    """
    require_columns(frame, ["group", "n"], "not_stated_share")
    total = int(frame["n"].sum()) if frame.height else 0
    missing = int(frame.filter(pl.col("group") == not_stated)["n"].sum()) if frame.height else 0
    low, high = wilson_interval(missing, total, alpha)
    return tidy_frame(
        [{"characteristic": characteristic, "group": not_stated, "n": total, "events": missing,
          "rate": missing / total if total else None, "ci_low": low, "ci_high": high,
          "is_significant": False, "is_suppressed": False, "is_not_stated": True,
          "method": "Wilson; share not stated (data quality)"}],
        ("is_not_stated", "note"),
    )


# --- validation ------------------------------------------------------------------------------


def _validated_counts(frame: pl.DataFrame, what: str) -> list[tuple[str, int, int]]:
    """(group, n, events) rows, or a ValueError naming the row, column and broken rule."""
    require_columns(frame, ["group", "n", "events"], what)
    out, seen = [], set()
    for i, (g, n, e) in enumerate(frame.select("group", "n", "events").iter_rows(), start=1):
        for col, v in (("group", g), ("n", n), ("events", e)):
            if v is None or (isinstance(v, float) and v != v):
                raise ValueError(f"{what}: row {i}, column {col!r}: value is missing")
        if float(n) != int(n) or float(e) != int(e):
            raise ValueError(f"{what}: row {i} (group {g!r}): n and events must be whole counts")
        n, e = int(n), int(e)
        if n < 0 or e < 0:
            raise ValueError(f"{what}: row {i} (group {g!r}): counts must not be negative")
        if e > n:
            raise ValueError(f"{what}: row {i} (group {g!r}), column 'events': {e} events exceed n = {n}")
        if g in seen:
            raise ValueError(f"{what}: row {i}, column 'group': group {g!r} appears twice")
        seen.add(g)
        out.append((str(g), n, e))
    return out


def _validated_exposure_frame(frame: pl.DataFrame, what: str, by: str | None) -> pl.DataFrame:
    """group (String), events (Int64), exposure (Float64) and `by`, checked on whole columns; if
    any row is wrong, the row-by-row check names the first one (row, column and broken rule)."""
    keys = ["group"] + ([by] if by else [])
    require_columns(frame, [*keys, "events", "exposure"], what)
    events, exposure = pl.col("events").cast(pl.Float64), pl.col("exposure").cast(pl.Float64)
    broken = frame.select(
        pl.any_horizontal(pl.col(keys).is_null()) | events.is_null() | ~events.is_finite()
        | (events < 0) | (events != events.floor()) | exposure.is_null() | ~exposure.is_finite()
        | (exposure < 0) | ((exposure == 0) & (events > 0)) | pl.struct(keys).is_duplicated()
    ).to_series()
    if broken.any():
        _validated_exposure(frame, what, by)
        raise ValueError(f"{what}: row {int(broken.arg_true()[0]) + 1}: invalid")  # unreachable in practice
    return frame.select(
        pl.col("group").cast(pl.String), events.cast(pl.Int64).alias("events"), exposure.alias("exposure"),
        *([pl.col(by).cast(pl.String)] if by else []))


def _validated_exposure(frame: pl.DataFrame, what: str, by: str | None = None) -> list[tuple[str, int, float]]:
    """(group, events, exposure) rows, or a ValueError naming the row, column and broken rule."""
    keys = ["group"] + ([by] if by else [])
    require_columns(frame, [*keys, "events", "exposure"], what)
    out, seen = [], set()
    for i, (g, e, x, *part) in enumerate(frame.select("group", "events", "exposure", *keys[1:]).iter_rows(), start=1):
        for col, v in (("group", g), ("events", e), ("exposure", x), *((by, v) for v in part)):
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                raise ValueError(f"{what}: row {i}, column {col!r}: value is missing or not finite")
        if float(e) != int(e) or e < 0:
            raise ValueError(f"{what}: row {i} (group {g!r}), column 'events': must be a whole count >= 0")
        if x < 0:
            raise ValueError(f"{what}: row {i} (group {g!r}), column 'exposure': must not be negative")
        if x == 0 and e > 0:
            raise ValueError(f"{what}: row {i} (group {g!r}): {int(e)} events with zero exposure")
        if (g, *part) in seen:
            where = f" in {by} {part[0]!r}" if by else ""
            raise ValueError(f"{what}: row {i}, column 'group': group {g!r} appears twice{where}")
        seen.add((g, *part))
        out.append((str(g), int(e), float(x)))
    return out
