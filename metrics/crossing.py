"""Two characteristics crossed: the "Overall" row shown beside the cells.

A crossed table (`-c ethnicity_group,disability`) has a row per cell ("Black x Disabled"), the
reference being the cell of both references, with the same tests and adjustment as any table
(metrics/queries.py builds the cells). Readers of an intersectional table also want the whole
population beside the cells (Fairlearn's MetricFrame `overall`, NYC Local Law 144 audits): this
module adds it, one per part of the table (stage, business area), from the rows themselves:

- rates per person-year (an `exposure` column): events / exposure with the exact Poisson interval;
- proportions (rate = events / n on every row): events / n with the Wilson interval;
- anything else (medians, curves): the counts only.

It never enters a comparison: no ratio, no p-value, not the reference, not in the family.
"""

from __future__ import annotations

import polars as pl

from metrics.config import DEFAULTS
from metrics.tidy import TIDY_COLUMNS, concat_tidy, order_tidy

OVERALL = "Overall"
PARTS = ("stage", "business_area_code")


def _kind(frame: pl.DataFrame) -> str:
    rows = frame.filter(pl.col("rate").is_not_null() & (pl.col("n") > 0))
    if "exposure" in frame.columns:
        return "rate"
    if rows.height and (rows["rate"] - rows["events"] / rows["n"]).abs().max() < 1e-9:
        return "proportion"
    return "counts"


def with_overall(frame: pl.DataFrame, *, alpha: float = DEFAULTS.alpha) -> pl.DataFrame:
    """The tidy table with an "Overall" row first in each part (all groups, Not stated included)."""
    from metrics.intervals import poisson_exact_interval, wilson_interval

    if frame.height == 0 or not set(TIDY_COLUMNS) <= set(frame.columns) or OVERALL in frame["group"]:
        return frame
    kind = _kind(frame)
    keys = [c for c in PARTS if c in frame.columns]
    out = []
    for part in (frame.partition_by(keys, maintain_order=True) if keys else [frame]):
        n, events = int(part["n"].fill_null(0).sum()), int(part["events"].fill_null(0).sum())
        row = {c: None for c in part.columns}
        row.update({c: part[c][0] for c in keys})
        row.update(characteristic=part["characteristic"][0], group=OVERALL, n=n, events=events,
                   is_significant=False, is_suppressed=False)
        if kind == "rate":
            exposure = float(part["exposure"].fill_null(0).sum())
            low, high = poisson_exact_interval(events, exposure, alpha)
            rate = events / exposure if exposure > 0 else None
            row.update(n=round(exposure), rate=rate, ci_low=low, ci_high=high, exposure=exposure,
                       method="exact Poisson; overall: every group together")
            if "rate_per_1000" in part.columns:
                row["rate_per_1000"] = None if rate is None else rate * 1000
        elif kind == "proportion":
            low, high = wilson_interval(events, n, alpha)
            row.update(rate=events / n if n else None, ci_low=low, ci_high=high,
                       method="Wilson; overall: every group together")
        else:
            row["method"] = "overall: every group together (counts)"
        for flag in ("is_reference", "is_not_stated", "is_adverse_impact"):
            if flag in part.columns:
                row[flag] = False
        if "reference_group" in part.columns:
            row["reference_group"] = part["reference_group"][0]
        if "note" in part.columns:
            row["note"] = "overall: every group, Not stated included; not a comparison"
        top = pl.DataFrame([row], schema=part.schema)
        out.append(pl.concat([top, part]))
    return order_tidy(concat_tidy(out))
