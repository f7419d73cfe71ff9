"""A SPOC pack built by hand from known counts through the real metric and suppression
functions: renderer tests need no warehouse."""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics.config import DEFAULTS
from metrics.funnel import poisson_funnel
from metrics.rates import exposure_rate_table, proportion_table
from metrics.spoc import MEASURES, PackTable, SpocPack, Theme, add_months
from metrics.suppression import suppress_counts, suppress_crosstab, suppress_tidy

MONTH = date(2026, 9, 1)
# month -> (raised, closed, open, overdue); 3 and 2 are small and must never be printed
TREND = {add_months(MONTH, k): (9 + (k % 3), 7, 20 + k, 6) for k in range(-12, 0)}
TREND[MONTH] = (12, 3, 31, 2)


def handmade_pack(*, empty: bool = False) -> SpocPack:
    trend_rows = [{"month_start": m, "measure": k, "label": MEASURES[k], "n": 0 if empty else v[i],
                   "suppression_set": k if k in ("n_raised", "n_closed") and m > add_months(MONTH, -12) else f"{k} {m}"}
                  for k_i, k in enumerate(MEASURES) for m, v in sorted(TREND.items()) for i in [k_i]]
    trend = suppress_counts(pl.DataFrame(trend_rows), by=["suppression_set"], value="n")
    crosstab = pl.DataFrame({"group": ["White", "White", "Black", "Black", "Asian"],
                             "category": ["Bullying", "Harassment", "Bullying", "Harassment", "Bullying"],
                             "n": [40, 22, 9, 3, 11]})
    categories = suppress_crosstab(crosstab, row="group", col="category", value="n")
    upheld = suppress_tidy(proportion_table(
        pl.DataFrame({"group": ["White", "Black", "Asian", "Mixed"], "n": [60, 30, 20, 3],
                      "events": [24, 4, 8, 1]}), characteristic="ethnicity_group", reference_group="White"))
    rates = suppress_tidy(exposure_rate_table(
        pl.DataFrame({"group": ["White", "Black", "Asian"], "events": [62, 12, 3],
                      "exposure": [5000.0, 800.0, 600.0]}), characteristic="ethnicity_group", reference_group="White"))
    funnel = suppress_tidy(poisson_funnel(pl.DataFrame({"group": ["BCU01", "BCU02", "HQ01"], "events": [77, 30, 41],
                                                        "exposure": [6400.0, 5200.0, 2100.0]}),
                                          characteristic="business_area_code"))
    resolution = pl.DataFrame({"group": ["This area", "Force"], "n": [77, 400], "events": [60, 350],
                               "n_display": ["77", "400"], "events_display": ["60", "350"],
                               "median_days": [48.0, 41.0], "median_ci_low": [40.0, 38.0],
                               "median_ci_high": [60.0, 45.0], "p_value": [0.21, None],
                               "method": ["Kaplan-Meier median; log-rank vs rest of force", "Kaplan-Meier median"],
                               "is_suppressed": [False, False]})
    themes = () if empty else (Theme("Bullying grievances: 9 this month, up on a 12-month average of 3.1 "
                                     "(exact Poisson test, p = 0.002; adjusted p = 0.020).", "exact Poisson", 0.002, 0.02),)
    themes_frame = pl.DataFrame([{"statement": t.statement, "test": t.test, "p_value": t.p_value,
                                  "p_adjusted": t.p_adjusted} for t in themes],
                                schema={"statement": pl.String, "test": pl.String, "p_value": pl.Float64,
                                        "p_adjusted": pl.Float64})
    period = "October 2025 to September 2026"
    tables = [PackTable("themes", "Themes and trends", "note", "September 2026", themes_frame, kind="themes"),
              PackTable("trend", "Grievances each month", "d", "September 2025 to September 2026", trend, kind="counts"),
              PackTable("categories", "Categories", "d", period, categories, kind="crosstab"),
              PackTable("outcomes", "Outcomes", "d", period, categories, kind="crosstab"),
              PackTable("time_to_resolve", "Time to resolve", "d", period, resolution, kind="median"),
              PackTable("independent_assessor", "Independent", "d", period, upheld),
              *[PackTable(f"raised_by_{c}", "Raised", "d", period, rates) for c in ("ethnicity_group", "sex", "disability")],
              *[PackTable(f"upheld_by_{c}", "Upheld", "d", period, upheld) for c in ("ethnicity_group", "sex", "disability")],
              PackTable("funnel", "Funnel", "d", period, funnel, kind="funnel"),
              PackTable("misconduct_referrals", "Misconduct", "d", period, rates)]
    this = trend.filter(pl.col("month_start") == MONTH)
    return SpocPack("BCU01", "Central West", MONTH, "b-1234abcd", "2026-11-01T09:30:00", DEFAULTS,
                    dict(zip(this["measure"], this["n"], strict=True)),
                    dict(zip(this["measure"], this["value_display"], strict=True)),
                    not empty, themes, "1 test.", "Central West is within the 95% limits.", tuple(tables))
