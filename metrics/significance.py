"""Significance tests shared by the metric tables: the 2x2 test chooser, and multiple-comparison
adjustment (and flagging) that tolerates missing p-values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import stats

from metrics.config import DEFAULTS

# Cochran's rule of thumb: chi-square is trustworthy when every expected count is at least 5.
MIN_EXPECTED = 5.0
ADJUSTMENT_LABELS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "none": "no adjustment"}


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Expected cell counts under independence (row total x column total / grand total)."""
    table = np.asarray(table, dtype=float)
    total = table.sum()
    if total == 0:
        return np.zeros_like(table)
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / total


def two_by_two_test(events_1: int, n_1: int, events_2: int, n_2: int) -> tuple[float | None, str]:
    """Two-sided p-value comparing events_1/n_1 with events_2/n_2, and the test's name.

    Fisher's exact test when any expected count is below 5 (chi-square's approximation is poor
    there), otherwise Pearson chi-square without continuity correction, which equals the
    two-sided two-proportion z test.
    """
    if n_1 <= 0 or n_2 <= 0:
        return None, "no test (empty group)"
    table = np.array([[events_1, n_1 - events_1], [events_2, n_2 - events_2]])
    if (expected_counts(table) < MIN_EXPECTED).any():
        return float(stats.fisher_exact(table).pvalue), "Fisher exact"
    res = stats.chi2_contingency(table, correction=False)
    return float(res.pvalue), "chi-square"


def binomtest_pvalues(k, n, p) -> np.ndarray:
    """Two-sided exact binomial test p-values for arrays k ~ Binomial(n, p): scipy.stats.binomtest's
    algorithm (sum of the outcomes no more likely than k, with its 1e-7 relative tolerance), on
    arrays, so a table of thousands of comparisons is one set of numpy calls, not thousands of
    scipy calls. Same numbers as binomtest(k, n, p).pvalue (pinned in the tests).

    Needs n >= 1, 0 <= k <= n and 0 < p < 1 elementwise (ValueError otherwise).
    """
    k, n, p = (np.asarray(a) for a in np.broadcast_arrays(k, n, p))
    k, n, p = k.astype(np.int64), n.astype(np.int64), p.astype(float)
    if k.size and ((n < 1).any() or (k < 0).any() or (k > n).any() or not ((p > 0) & (p < 1)).all()):
        raise ValueError("binomtest_pvalues: needs n >= 1, 0 <= k <= n and 0 < p < 1")
    binom = stats.binom
    d = binom.pmf(k, n, p)
    rerr = 1 + 1e-7
    pn = p * n
    out = np.ones(k.shape)  # k == p * n: the most likely outcome, p-value 1
    low = k < pn
    if low.any():
        kk, nn, pp, dd = k[low], n[low], p[low], d[low]
        ix = _binary_search_for_binom_tst(lambda x, i: -binom.pmf(x, nn[i], pp[i]), -dd * rerr,
                                          np.ceil(pp * nn), nn.astype(float))
        y = nn - ix + (dd * rerr == binom.pmf(ix, nn, pp))
        out[low] = binom.cdf(kk, nn, pp) + binom.sf(nn - y, nn, pp)
    high = k > pn
    if high.any():
        kk, nn, pp, dd = k[high], n[high], p[high], d[high]
        ix = _binary_search_for_binom_tst(lambda x, i: binom.pmf(x, nn[i], pp[i]), dd * rerr,
                                          np.zeros(kk.shape), np.floor(pp * nn))
        y = ix + 1
        out[high] = binom.cdf(y - 1, nn, pp) + binom.sf(kk - 1, nn, pp)
    return np.minimum(out, 1.0)


def _binary_search_for_binom_tst(a, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy.stats._binomtest._binary_search_for_binom_tst on arrays: for each i the index x in
    [lo, hi] with a(x) <= d < a(x + 1), where a(x, i) is ascending in x. Each element follows
    exactly the steps scipy's scalar loop would take."""
    lo, hi = lo.astype(float), hi.astype(float)
    found = np.full(lo.shape, np.nan)
    done = np.zeros(lo.shape, dtype=bool)
    while True:
        i = np.flatnonzero(~done & (lo < hi))
        if i.size == 0:
            break
        mid = lo[i] + (hi[i] - lo[i]) // 2
        value = a(mid, i)
        below, above = value < d[i], value > d[i]
        lo[i[below]] = mid[below] + 1
        hi[i[above]] = mid[above] - 1
        equal = ~below & ~above
        found[i[equal]], done[i[equal]] = mid[equal], True
    i = np.flatnonzero(~done)
    if i.size:
        found[i] = np.where(a(lo[i], i) <= d[i], lo[i], lo[i] - 1)
    return found


def adjust_pvalues(p_values: Sequence[float | None], method: str = DEFAULTS.adjustment) -> list[float | None]:
    """Adjust a family of p-values; missing (None/NaN) p-values stay missing and are not counted.

    method: "holm" (family-wise error), "fdr_bh" (Benjamini-Hochberg false discovery rate) or
    "none". Same arithmetic as statsmodels' multipletests (the tests check both against R's
    p.adjust), written out here because multipletests rejects NaN and runs gc.collect() on every
    call, which made a table of ten groups take a tenth of a second.
    """
    if method not in ADJUSTMENT_LABELS:
        raise ValueError(f"adjustment must be one of {list(ADJUSTMENT_LABELS)}; got {method!r}")
    values = [None if p is None or p != p else float(p) for p in p_values]
    present = [i for i, p in enumerate(values) if p is not None]
    if not present or method == "none":
        return values
    p = np.array([values[i] for i in present])
    m = len(p)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        # step-down: p_(i) x (m - i + 1), made monotone from the smallest upwards
        adjusted_sorted = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        # step-up: p_(i) x m / i, made monotone from the largest downwards
        adjusted_sorted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    out: list[float | None] = [None] * len(values)
    for i, q in zip(present, adjusted, strict=True):
        out[i] = float(q)
    return out


# --- the one comparison rule -----------------------------------------------------------------

NOT_STATED_NOTE = "not stated: shown for data quality, not in the comparison family"
_ADJUSTMENT_SUFFIX = re.compile(r"; (Holm|Benjamini-Hochberg|no adjustment)( across all [^;]*)?(?=;|$)")


def flag_comparisons(
    frame: pl.DataFrame,
    *,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    by: str | None = None,
    across: str | None = None,
    confidence: float | None = None,
) -> pl.DataFrame:
    """The one place where a table of group-versus-reference comparisons is adjusted and flagged.

    Every comparison table (rates per person or per person-year, the regression models, time to
    resolution, stage tables, funnels) computes its own ratio, interval and raw `p_value` per row
    and then calls this, so the rule is the same everywhere:
    - the family is every row with a p-value that is not the reference group (`is_reference`) and
      not "Not stated" (`is_not_stated`); a not-stated row keeps its raw p and gets a note saying
      it is outside the family;
    - p-values are adjusted within each `by` part (e.g. a business area), or across the whole
      table when `by` is None (years x groups, stages x groups, areas): `across` then names the
      parts in `method` ("Holm across all stages (12 comparisons)");
    - is_significant = adjusted p < alpha; the adjustment is named at the end of `method`;
    - where the ratio's interval and the test point different ways, a plain note says why (the
      interval is for one comparison; the test allows for the family, or is a different test).
    Idempotent: an earlier adjustment named in `method` is replaced, not added to.
    """
    if adjustment not in ADJUSTMENT_LABELS:
        raise ValueError(f"adjustment must be one of {list(ADJUSTMENT_LABELS)}; got {adjustment!r}")
    if frame.height == 0:
        return frame
    level = confidence if confidence is not None else 1 - alpha
    p = frame["p_value"].cast(pl.Float64).fill_nan(None)
    is_ns = _flag_column(frame, "is_not_stated")
    family = (p.is_not_null() & ~_flag_column(frame, "is_reference") & ~is_ns).to_numpy()
    p_list = p.to_list()
    adjusted, sizes = _adjust_family(p_list, family, frame[by].to_list() if by else [None] * frame.height, adjustment)
    label = ADJUSTMENT_LABELS[adjustment]
    methods, notes = [], []
    old_notes = frame["note"].to_list() if "note" in frame.columns else [None] * frame.height
    lows = frame["ratio_ci_low"].to_list()
    highs = frame["ratio_ci_high"].to_list()
    for i, method in enumerate(frame["method"].to_list()):
        method = _ADJUSTMENT_SUFFIX.sub("", method or "")
        note = [n for n in (old_notes[i] or "").split("; ") if n and n != NOT_STATED_NOTE
                and not _is_interval_note(n)]
        if family[i]:
            method += f"; {label}" + (f" across all {across} ({sizes[i]} comparisons)" if across else "")
            extra = _interval_test_note(lows[i], highs[i], p_list[i], adjusted[i], alpha=alpha, level=level,
                                        m=sizes[i], label=label)
            if extra:
                note.append(extra)
        elif is_ns[i] and p_list[i] is not None:
            note.insert(0, NOT_STATED_NOTE)
        methods.append(method)
        notes.append("; ".join(dict.fromkeys(note)) or None)
    out = frame.with_columns(
        pl.Series("p_adjusted", adjusted, dtype=pl.Float64),
        pl.Series("is_significant", [q is not None and q < alpha for q in adjusted], dtype=pl.Boolean),
        pl.Series("method", methods, dtype=pl.String),
    )
    if "note" in frame.columns:
        out = out.with_columns(pl.Series("note", notes, dtype=pl.String))
    return out


def _flag_column(frame: pl.DataFrame, name: str) -> pl.Series:
    """A boolean marker column (is_reference, is_not_stated), false where absent or null."""
    if name in frame.columns:
        return frame[name].fill_null(False)
    return pl.repeat(False, frame.height, eager=True)


def _adjust_family(p: list, family, parts: list, adjustment: str) -> tuple[list[float | None], list[int]]:
    """The adjusted p-value of each family member (adjusted within its part) and its family's size."""
    adjusted: list[float | None] = [None] * len(p)
    sizes: list[int] = [0] * len(p)
    members_of: dict = {}
    for i in range(len(p)):
        if family[i]:
            members_of.setdefault(parts[i], []).append(i)
    for members in members_of.values():
        for i, q in zip(members, adjust_pvalues([p[i] for i in members], adjustment), strict=True):
            adjusted[i], sizes[i] = q, len(members)
    return adjusted, sizes


def _is_interval_note(note: str) -> bool:
    return note.startswith("the ") and any(
        k in note for k in ("interval is for this comparison alone", "interval excludes 1 but", "test finds a significant"))


def _interval_test_note(low, high, p, p_adj, *, alpha, level, m, label) -> str | None:
    """A plain sentence where the interval and the reported verdict point different ways."""
    if low is None or high is None or p is None or p_adj is None:
        return None
    pct = f"{100 * level:g}%"
    excludes_one = low > 1 or high < 1
    significant = p_adj < alpha
    if excludes_one and not significant:
        if p < alpha:
            return (f"the {pct} interval is for this comparison alone: after allowing for {m} comparisons "
                    f"({label}) the difference is not significant")
        return (f"the {pct} interval excludes 1 but the test does not find a significant difference at "
                f"{alpha:g}: they are computed differently, and the test decides")
    if significant and not excludes_one:
        return (f"the test finds a significant difference although the {pct} interval includes 1: they are "
                "computed differently, and the test decides")
    return None
