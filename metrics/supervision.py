"""Supervision ratios (IOPC Operation Hotton recommendations 13 and 14): is every team supervised
to the force's standards, month by month, and which teams are not?

- constables per sergeant, by team: standard 10:1 (teams of about 20 with two sergeants); a team
  with constables and no sergeant in post is outside whatever the standard;
- teams per inspector, by business area (an inspector leads several teams): standard 6:1; an
  area with teams and no inspector on team duties is outside;
- recruits in their first 20 weeks per recruit line manager, force-wide (the training commitment):
  standard 90:1; recruits with no line manager named count against it;
- time in post on high-demand teams (night-time economy, permanent nights): a team is outside
  when anyone on it has been in post longer than the tenure limit (default two years).

All counts are taken at the end of each month (fct_team_months, fct_recruit_months,
fct_team_tenure). Each function takes the standard as an argument (defaults in metrics/config.py
Settings), so a force with other standards passes its own. Pure functions on polars frames.
"""

from __future__ import annotations

import polars as pl

from metrics.config import DEFAULTS

MEASURES = {
    "constables_per_sergeant": "Constables per sergeant",
    "teams_per_inspector": "Teams per inspector",
    "recruits_per_line_manager": "Recruits (first 20 weeks) per line manager",
    "high_demand_tenure": "High-demand team members over the tenure limit",
}
RATIO_SCHEMA = {"measure": pl.String, "month_start": pl.Date, "business_area_code": pl.String, "unit": pl.String,
                "unit_type": pl.String, "numerator": pl.Int64, "denominator": pl.Int64, "ratio": pl.Float64,
                "standard": pl.Float64, "is_outside": pl.Boolean, "note": pl.String}


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num.cast(pl.Float64) / den).otherwise(None)


def _outside(num: pl.Expr, den: pl.Expr, standard: float) -> pl.Expr:
    # nobody supervising someone is outside any standard; nobody to supervise is never outside
    return pl.when(num == 0).then(False).when(den == 0).then(True).otherwise(num.cast(pl.Float64) / den > standard)


def constables_per_sergeant(team_months: pl.DataFrame, *, standard: float = DEFAULTS.constables_per_sergeant
                            ) -> pl.DataFrame:
    """One row per team and month: constables, sergeants, the ratio and whether it is outside."""
    num, den = pl.col("n_constables"), pl.col("n_sergeants")
    return team_months.select(
        pl.lit("constables_per_sergeant").alias("measure"), "month_start", "business_area_code",
        pl.col("team_code").alias("unit"), pl.col("team_type_label").alias("unit_type"),
        num.cast(pl.Int64).alias("numerator"), den.cast(pl.Int64).alias("denominator"),
        _ratio(num, den).alias("ratio"), pl.lit(float(standard)).alias("standard"),
        _outside(num, den, standard).alias("is_outside"),
        pl.when((den == 0) & (num > 0)).then(pl.lit("no sergeant in post")).otherwise(None).alias("note"),
    ).sort("month_start", "unit")


def teams_per_inspector(team_months: pl.DataFrame, *, standard: float = DEFAULTS.teams_per_inspector) -> pl.DataFrame:
    """One row per business area and month: teams with constables or sergeants in post, inspectors
    on those teams, the ratio and whether it is outside."""
    per_area = (team_months.filter((pl.col("n_constables") + pl.col("n_sergeants")) > 0)
                .group_by("month_start", "business_area_code")
                .agg(pl.len().cast(pl.Int64).alias("numerator"), pl.col("n_inspectors").sum().cast(pl.Int64)
                     .alias("denominator")))
    num, den = pl.col("numerator"), pl.col("denominator")
    return per_area.select(
        pl.lit("teams_per_inspector").alias("measure"), "month_start", "business_area_code",
        pl.col("business_area_code").alias("unit"), pl.lit("Business area").alias("unit_type"), num, den,
        _ratio(num, den).alias("ratio"), pl.lit(float(standard)).alias("standard"),
        _outside(num, den, standard).alias("is_outside"),
        pl.when(den == 0).then(pl.lit("no inspector on team duties")).otherwise(None).alias("note"),
    ).sort("month_start", "unit")


def recruits_per_line_manager(recruit_months: pl.DataFrame, *,
                              standard: float = DEFAULTS.recruits_per_line_manager) -> pl.DataFrame:
    """One row per month, force-wide: recruits in their first 20 weeks, the distinct line managers
    named for them, the ratio and whether it is outside."""
    per_month = recruit_months.group_by("month_start").agg(
        pl.len().cast(pl.Int64).alias("numerator"),
        pl.col("line_manager_id").drop_nulls().n_unique().cast(pl.Int64).alias("denominator"),
        pl.col("line_manager_id").null_count().cast(pl.Int64).alias("_none"))
    num, den = pl.col("numerator"), pl.col("denominator")
    return per_month.select(
        pl.lit("recruits_per_line_manager").alias("measure"), "month_start",
        pl.lit(None, dtype=pl.String).alias("business_area_code"), pl.lit("Force").alias("unit"),
        pl.lit("Force").alias("unit_type"), num, den, _ratio(num, den).alias("ratio"),
        pl.lit(float(standard)).alias("standard"), _outside(num, den, standard).alias("is_outside"),
        pl.when(pl.col("_none") > 0).then(pl.format("{} recruit(s) with no line manager named", pl.col("_none")))
        .otherwise(None).alias("note"),
    ).sort("month_start")


def high_demand_tenure(tenure: pl.DataFrame, *, limit_days: int = DEFAULTS.high_demand_tenure_days) -> pl.DataFrame:
    """One row per high-demand team and month: people on it (denominator), those in post longer than
    limit_days (numerator), their share (ratio) and whether anyone is over the limit."""
    per_team = tenure.group_by("month_start", "business_area_code", "team_code").agg(
        pl.col("team_type_label").first().alias("unit_type"),
        pl.len().cast(pl.Int64).alias("denominator"),
        (pl.col("days_in_post") > limit_days).sum().cast(pl.Int64).alias("numerator"),
        pl.col("days_in_post").max().alias("_longest"))
    return per_team.select(
        pl.lit("high_demand_tenure").alias("measure"), "month_start", "business_area_code",
        pl.col("team_code").alias("unit"), "unit_type", "numerator", "denominator",
        _ratio(pl.col("numerator"), pl.col("denominator")).alias("ratio"),
        pl.lit(float(limit_days)).alias("standard"), (pl.col("numerator") > 0).alias("is_outside"),
        pl.format("longest in post {} days", pl.col("_longest")).alias("note"),
    ).sort("month_start", "unit")


def supervision_trend(ratios: pl.DataFrame) -> pl.DataFrame:
    """One row per measure and month: units assessed, units outside the standard, their share and
    their names (comma-separated, in order), from the rows of the four functions above stacked."""
    if ratios.height == 0:
        return pl.DataFrame(schema={"measure": pl.String, "label": pl.String, "month_start": pl.Date,
                                    "n_units": pl.Int64, "n_outside": pl.Int64, "share_outside": pl.Float64,
                                    "outside": pl.String})
    order = {m: i for i, m in enumerate(MEASURES)}
    return (ratios.group_by("measure", "month_start")
            .agg(pl.len().cast(pl.Int64).alias("n_units"), pl.col("is_outside").sum().cast(pl.Int64).alias("n_outside"),
                 pl.col("unit").filter(pl.col("is_outside")).sort().str.join(", ").alias("outside"))
            .with_columns(pl.col("measure").replace_strict(MEASURES, return_dtype=pl.String).alias("label"),
                          (pl.col("n_outside") / pl.col("n_units")).alias("share_outside"),
                          pl.col("measure").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
            .sort("_o", "month_start")
            .select("measure", "label", "month_start", "n_units", "n_outside", "share_outside", "outside"))
