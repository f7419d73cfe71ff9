"""The staff association's tables made from other released tables, never from the warehouse
directly: the misconduct trend over the last released periods, business areas' disparities, and
median days to resolve a grievance (metrics/release.py hands them out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from metrics.config import CHARACTERISTICS
from metrics.queries import FilterError, Filters
from metrics.release_catalogue import AREA_CHARACTERISTICS, TREND_YEARS
from metrics.release_periods import ReleasePeriod, release_periods

if TYPE_CHECKING:
    from metrics.release import Release


def trend(self: Release, f: Filters) -> pl.DataFrame:
    from metrics.tables import adjust_across_table
    from metrics.tidy import concat_tidy

    frames = []
    # The last five complete years and this year to date: each year's protection is solved once
    # per build, and five years answer "is it falling?" (the Board and analysts see every year).
    for period in release_periods(self.wh)[-TREND_YEARS:]:
        t = self.table("misconduct_rates", f.with_(start=period.start, end=period.end))
        frames.append(t.with_columns(pl.lit(period.label).alias("stage")))
    return adjust_across_table(concat_tidy(frames), self.settings, across="financial years")


def area_disparity(self: Release, period: ReleasePeriod, f: Filters) -> pl.DataFrame:
    from metrics.tables import adjust_across_table
    from metrics.tidy import concat_tidy

    if f.characteristic not in AREA_CHARACTERISTICS:
        raise FilterError(f"business areas are broken down only by {', '.join(AREA_CHARACTERISTICS)}")
    frames = [self.table("misconduct_rates", f.with_(area=a, worker_type=None))
              .with_columns(pl.lit(a).alias("business_area_code")) for a in self.builder.areas]
    return adjust_across_table(concat_tidy(frames), self.settings, across="business areas")


def resolution(self: Release, period: ReleasePeriod, f: Filters) -> pl.DataFrame:
    """Median days to resolve, only for groups with enough cases and shown counts; no curve, no
    at-risk or closed counts (a curve's steps would give them back)."""
    from metrics.survival import median_table
    from metrics.tables import _resolution_rows

    counts = self.table("grievance_rates", f)
    m = self.settings.min_cases_for_median
    keep = counts.filter(pl.col("events").is_not_null() & (pl.col("events") >= m))["group"].to_list()
    f_area = f.with_(start=period.start, end=period.end)
    rows = _resolution_rows(self.wh, f_area).filter(pl.col("group").is_in(keep))
    ref = CHARACTERISTICS[f.characteristic].reference_group
    shown = median_table(rows, characteristic=f.characteristic, reference_group=ref, alpha=self.settings.alpha,
                         adjustment=self.settings.adjustment) if rows.height else None
    by_group = {r["group"]: r for r in shown.iter_rows(named=True)} if shown is not None else {}
    from metrics.tidy import tidy_frame

    records = []
    for r in counts.iter_rows(named=True):
        g = r["group"]
        rec = dict(by_group.get(g, {"characteristic": f.characteristic, "group": g, "method": "not shown",
                                    "reference_group": ref, "is_reference": g == ref,
                                    "is_not_stated": g == "Not stated",
                                    "note": f"fewer than {m} grievances: no median"}))
        rec.update(n=r["events"], events=None, rate=None, ci_low=None, ci_high=None,
                   n_display=r["events_display"], events_display=None,
                   is_suppressed=g not in by_group)
        records.append(rec)
    return tidy_frame(records, ("reference_group", "median_days", "median_ci_low", "median_ci_high",
                                "is_reference", "is_not_stated", "note", "n_display", "events_display"))
