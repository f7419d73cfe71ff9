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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from metrics.config import DEFAULTS
from metrics.significance import ADJUSTMENT_LABELS, adjust_pvalues, two_by_two_test
from metrics.tidy import TOO_FEW, empty_tidy, require_columns, tidy_frame

NOT_STATED = "Not stated"
PROPORTION_EXTRAS = ("reference_group", "is_reference", "is_not_stated", "note")
EXPOSURE_EXTRAS = ("reference_group", "exposure", "rate_per_1000", "is_reference", "is_not_stated", "note")


# --- intervals -------------------------------------------------------------------------------


def wilson_interval(events: int, n: int, alpha: float = DEFAULTS.alpha) -> tuple[float | None, float | None]:
    """Wilson score interval for events/n (R: prop.test(x, n, correct=FALSE)$conf.int).

    Wilson rather than Wald because it stays inside [0, 1] and keeps its coverage for the small
    counts and extreme rates that most of our cells have. Empty group -> (None, None).
    """
    if n <= 0:
        return None, None
    low, high = proportion_confint(events, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def poisson_exact_interval(
    events: int, exposure: float, alpha: float = DEFAULTS.alpha
) -> tuple[float | None, float | None]:
    """Exact (Garwood) interval for a rate events/exposure, from chi-square quantiles.

    Exact because referral counts per group are often small; with zero events the lower limit
    is 0 and the upper is -ln(alpha/2)/exposure. No exposure -> (None, None).
    """
    if exposure <= 0:
        return None, None
    low = 0.0 if events == 0 else stats.chi2.ppf(alpha / 2, 2 * events) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * events + 2) / 2
    return float(low / exposure), float(high / exposure)


def katz_relative_rate(
    events_1: int, n_1: int, events_0: int, n_0: int, alpha: float = DEFAULTS.alpha
) -> tuple[float | None, float | None, float | None, str]:
    """Relative rate (events_1/n_1)/(events_0/n_0) with the Katz log interval, and a method note.

    Same as scipy.stats.contingency.relative_risk(...).confidence_interval(). Zero-cell rules
    (Katz's log SE is infinite when a group has no events):
    - group has no events: ratio 0, lower limit 0, upper limit from the Katz interval after
      adding 0.5 to every cell (Haldane), so readers still see how large it could plausibly be;
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
    se = math.sqrt(1 / events_1 - 1 / n_1 + 1 / events_0 - 1 / n_0)
    return rr, math.exp(math.log(rr) - z * se), math.exp(math.log(rr) + z * se), "Katz log RR"


def rate_ratio_interval(
    events_1: int, exposure_1: float, events_0: int, exposure_0: float, alpha: float = DEFAULTS.alpha
) -> tuple[float | None, float | None, float | None, str]:
    """Incidence-rate ratio with the log interval exp(log IRR +/- z sqrt(1/a + 1/b)).

    Zero-event rules as katz_relative_rate: group 0 events -> IRR 0, lower 0, upper after adding
    0.5 to both counts; reference 0 events or no exposure -> null.
    """
    if exposure_1 <= 0:
        return None, None, None, "group has no exposure"
    if exposure_0 <= 0:
        return None, None, None, "reference group has no exposure"
    if events_0 == 0:
        return None, None, None, "reference group has no events"
    z = stats.norm.ppf(1 - alpha / 2)
    if events_1 == 0:
        a, b = 0.5, events_0 + 0.5
        log_irr = math.log((a / exposure_1) / (b / exposure_0))
        return 0.0, 0.0, math.exp(log_irr + z * math.sqrt(1 / a + 1 / b)), \
            "IRR 0 (no events), upper limit log interval with 0.5 added to each count"
    irr = (events_1 / exposure_1) / (events_0 / exposure_0)
    se = math.sqrt(1 / events_1 + 1 / events_0)
    return irr, math.exp(math.log(irr) - z * se), math.exp(math.log(irr) + z * se), "log IRR"


def conditional_rate_test(events_1: int, exposure_1: float, events_0: int, exposure_0: float) -> tuple[float | None, str]:
    """Exact conditional test of equal rates: given a+b events, a ~ Binomial(a+b, E1/(E1+E0)).

    scipy.stats.binomtest, two-sided (R: poisson.test(c(a, b), c(E1, E0))). No events at all ->
    no test.
    """
    if exposure_1 <= 0 or exposure_0 <= 0:
        return None, "no test (no exposure)"
    total = events_1 + events_0
    if total == 0:
        return None, "no test (no events)"
    p = stats.binomtest(events_1, total, exposure_1 / (exposure_1 + exposure_0)).pvalue
    return float(p), "exact conditional binomial test"


# --- tables ----------------------------------------------------------------------------------


@dataclass
class _Row:
    group: str
    n: int
    events: int
    rate: float | None
    ci: tuple[float | None, float | None]
    exposure: float | None = None


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
    rows = [
        _Row(g, n, e, e / n if n > 0 else None, wilson_interval(e, n, alpha))
        for g, n, e in _validated_counts(frame, "proportion_table")
    ]

    def compare(row: _Row, ref: _Row):
        ratio = katz_relative_rate(row.events, row.n, ref.events, ref.n, alpha)
        return ratio, two_by_two_test(row.events, row.n, ref.events, ref.n)

    return _compare_groups(
        rows, compare, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
        adjustment=adjustment, min_n=min_n, not_stated=not_stated, rate_label="Wilson",
        extras=PROPORTION_EXTRAS,
    )


def exposure_rate_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_events: int = 0,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Tidy table of events per person-year by group: rate + exact Poisson (Garwood) CI, rate
    ratio vs reference with log CI, and the exact conditional binomial test of equal rates
    (scipy.stats.binomtest on a given a+b with p = E_a/(E_a+E_b)), adjusted across groups.

    Input: group, events, exposure (person-years). n is the person-years rounded; extras carry
    the exact exposure and rate_per_1000. Groups with fewer than `min_events` events get the
    note "too few to report" (for rates the event count, not the exposure, is what is small).
    """
    rows = [
        _Row(g, int(round(x)), e, e / x if x > 0 else None, poisson_exact_interval(e, x, alpha), x)
        for g, e, x in _validated_exposure(frame, "exposure_rate_table")
    ]

    def compare(row: _Row, ref: _Row):
        ratio = rate_ratio_interval(row.events, row.exposure, ref.events, ref.exposure, alpha)
        return ratio, conditional_rate_test(row.events, row.exposure, ref.events, ref.exposure)

    table = _compare_groups(
        rows, compare, characteristic=characteristic, reference_group=reference_group, alpha=alpha,
        adjustment=adjustment, min_n=0, not_stated=not_stated, rate_label="exact Poisson",
        extras=EXPOSURE_EXTRAS, min_events=min_events,
    )
    return table.with_columns((pl.col("rate") * 1000).alias("rate_per_1000"))


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


# --- shared machinery ------------------------------------------------------------------------


def _compare_groups(
    rows: list[_Row],
    compare: Callable[[_Row, _Row], tuple[tuple, tuple]],
    *,
    characteristic: str,
    reference_group: str,
    alpha: float,
    adjustment: str,
    min_n: int,
    not_stated: str | None,
    rate_label: str,
    extras: tuple[str, ...],
    min_events: int = 0,
) -> pl.DataFrame:
    if adjustment not in ADJUSTMENT_LABELS:
        raise ValueError(f"adjustment must be one of {list(ADJUSTMENT_LABELS)}; got {adjustment!r}")
    if not rows:
        return empty_tidy(extras)
    if not_stated is not None and reference_group == not_stated:
        raise ValueError(f"reference_group cannot be {not_stated!r}: it is never a comparison baseline")
    ref = next((r for r in rows if r.group == reference_group), None)
    out, family = [], []
    for row in rows:
        is_ref = row.group == reference_group
        is_ns = not_stated is not None and row.group == not_stated
        notes = []
        record = {
            "characteristic": characteristic, "group": row.group, "n": row.n, "events": row.events,
            "rate": row.rate, "ci_low": row.ci[0], "ci_high": row.ci[1], "is_suppressed": False,
            "reference_group": reference_group, "exposure": row.exposure, "is_reference": is_ref,
            "is_not_stated": is_ns,
        }
        method = [rate_label]
        if is_ref:
            # The reference compared with itself: ratio 1 by definition, nothing to test.
            record["ratio"] = 1.0 if row.n > 0 and row.events > 0 else None
            method.append("reference group")
        elif ref is None:
            method.append(f"reference group {reference_group!r} not in table")
        else:
            (ratio, low, high, ratio_note), (p, test_name) = compare(row, ref)
            record.update(ratio=ratio, ratio_ci_low=low, ratio_ci_high=high, p_value=p)
            method += [ratio_note, test_name]
            if is_ns:
                notes.append("not stated: shown for data quality, not in the comparison family")
            elif p is not None:
                family.append(len(out))
        if row.n < min_n or row.events < min_events:
            notes.append(TOO_FEW)
        record["note"] = "; ".join(notes) or None
        out.append((record, method))
    adjusted = adjust_pvalues([out[i][0]["p_value"] for i in family], adjustment)
    for i, p_adj in zip(family, adjusted, strict=True):
        out[i][0]["p_adjusted"] = p_adj
        out[i][1].append(ADJUSTMENT_LABELS[adjustment])
    records = []
    for record, method in out:
        p_adj = record.get("p_adjusted")
        record["is_significant"] = p_adj is not None and p_adj < alpha
        record["method"] = "; ".join(method)
        records.append({k: v for k, v in record.items() if k in _TIDY_KEYS or k in extras})
    return tidy_frame(records, extras)


_TIDY_KEYS = {
    "characteristic", "group", "n", "events", "rate", "ci_low", "ci_high", "ratio", "ratio_ci_low",
    "ratio_ci_high", "p_value", "p_adjusted", "is_significant", "is_suppressed", "method",
}


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


def _validated_exposure(frame: pl.DataFrame, what: str) -> list[tuple[str, int, float]]:
    """(group, events, exposure) rows, or a ValueError naming the row, column and broken rule."""
    require_columns(frame, ["group", "events", "exposure"], what)
    out, seen = [], set()
    for i, (g, e, x) in enumerate(frame.select("group", "events", "exposure").iter_rows(), start=1):
        for col, v in (("group", g), ("events", e), ("exposure", x)):
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                raise ValueError(f"{what}: row {i}, column {col!r}: value is missing or not finite")
        if float(e) != int(e) or e < 0:
            raise ValueError(f"{what}: row {i} (group {g!r}), column 'events': must be a whole count >= 0")
        if x < 0:
            raise ValueError(f"{what}: row {i} (group {g!r}), column 'exposure': must not be negative")
        if x == 0 and e > 0:
            raise ValueError(f"{what}: row {i} (group {g!r}): {int(e)} events with zero exposure")
        if g in seen:
            raise ValueError(f"{what}: row {i}, column 'group': group {g!r} appears twice")
        seen.add(g)
        out.append((str(g), int(e), float(x)))
    return out
