"""The one step every group-versus-reference table takes: compare each group to the reference group,
keep "Not stated" out of the adjustment family, adjust, name the method and flag.

Each table (rates per person and per person-year, the Mantel-Haenszel and regression tables, time to
resolution) computes its own rate and interval per group, and its own ratio and test against the
reference row (`compare`); this function does the rest, the same way for all of them:
- the reference row is compared with itself: ratio 1 by definition (when it has events), "reference
  group" in its method, nothing to test;
- a table without its reference row says so in every other row's method;
- when the comparison could not be made at all (`fatal`, e.g. a model that did not converge), every
  row says why;
- is_reference / is_not_stated mark the rows outside the family, and significance.flag_comparisons
  adjusts the rest (within each `by` part), names the adjustment and flags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from metrics.significance import ADJUSTMENT_LABELS, flag_comparisons
from metrics.tidy import EXTRA_COLUMNS, TIDY_SCHEMA, empty_tidy, tidy_frame

NOT_STATED = "Not stated"
REFERENCE = "reference group"

Row = Mapping[str, Any]
Compare = Callable[[Row, Row], tuple[dict, Sequence[str]]]


def one_if_events(row: Row) -> float | None:
    """The reference's ratio to itself: 1, unless it has no cases or no events (then no ratio)."""
    return 1.0 if row["n"] > 0 and row["events"] > 0 else None


def check_comparison(*, reference_group: str, adjustment: str, not_stated: str | None) -> None:
    """ValueError for an unknown adjustment, or "Not stated" as the reference (never a baseline)."""
    if adjustment not in ADJUSTMENT_LABELS:
        raise ValueError(f"adjustment must be one of {list(ADJUSTMENT_LABELS)}; got {adjustment!r}")
    if not_stated is not None and reference_group == not_stated:
        raise ValueError(f"reference_group cannot be {not_stated!r}: it is never a comparison baseline")


def compare_to_reference(
    rows: Iterable[Row],
    *,
    characteristic: str,
    reference_group: str,
    alpha: float,
    adjustment: str,
    not_stated: str | None,
    extras: tuple[str, ...],
    method: str,
    compare: Compare,
    reference_ratio: Callable[[Row], float | None] | None = one_if_events,
    reference_method: Sequence[str] = (),
    fatal: str | None = None,
    by: str | None = None,
) -> pl.DataFrame:
    """A tidy comparison table from one row per group (per group and `by` part: each part has its own
    reference row and adjustment family).

    rows: dicts with group, n, events, rate, ci_low, ci_high and any of the table's extras (a row's
    own "method" replaces `method`, the first part of its method text). compare(row, reference row)
    gives the row's ratio, interval and p-value (dict) and the parts of its method (ratio, test).
    reference_ratio: the reference row's ratio (None: the table has no ratio). reference_method: the
    parts named before "reference group" in the reference row's method.
    """
    check_comparison(reference_group=reference_group, adjustment=adjustment, not_stated=not_stated)
    rows = list(rows)
    if not rows:
        return empty_tidy(extras)
    refs: dict = {}  # the reference row of each `by` part (the first, if there were two)
    for r in rows:
        if r["group"] == reference_group:
            refs.setdefault(r.get(by) if by else None, r)
    keep = set(TIDY_SCHEMA.names()) | (set(extras) & set(EXTRA_COLUMNS))
    records = []
    for row in rows:
        is_ref, ref = row["group"] == reference_group, refs.get(row.get(by) if by else None)
        record = {**row, "characteristic": characteristic, "reference_group": reference_group,
                  "is_reference": is_ref, "is_not_stated": not_stated is not None and row["group"] == not_stated,
                  "is_significant": False, "is_suppressed": False}
        parts = [row.get("method", method)]
        if fatal:
            parts.append(fatal)
        elif is_ref:
            if reference_ratio is not None:
                record["ratio"] = reference_ratio(row)
            parts += [*reference_method, REFERENCE]
        elif ref is None:
            parts.append(f"reference group {reference_group!r} not in table")
        else:
            updates, more = compare(row, ref)
            record.update(updates)
            parts += more
        record["method"] = "; ".join(parts)
        records.append({k: v for k, v in record.items() if k in keep})
    return flag_comparisons(tidy_frame(records, extras), alpha=alpha, adjustment=adjustment, by=by)
