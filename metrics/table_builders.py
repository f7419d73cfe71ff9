"""How each kind of metric table is built: the cells from the query layer (metrics/queries.py,
metrics/table_queries.py) through the statistics (metrics/rates.py, models.py, ...) to a dated
tidy table. The generic builders take the fact table and its columns as keywords, so the table
definitions (metrics/table_catalogue.py) are data; the few one-off tables have their own builder.

Every builder has the signature (wh, f, s, **fixed keywords) -> DataFrame.
"""

from __future__ import annotations

import polars as pl

from metrics import queries as q
from metrics import table_queries as tq
from metrics.config import Settings
from metrics.queries import Filters
from metrics.warehouse import Warehouse

MISCONDUCT_STAGES = ("Referred", "Investigated", "Meeting or hearing", "Sanction")
RECRUITMENT_STAGES = ("Applied", "Passed sift", "Passed assessment centre", "Passed vetting",
                      "Passed medical", "Offered a place", "Joined")


def adjust_across_table(frame: pl.DataFrame, s: Settings, across: str = "stages") -> pl.DataFrame:
    """Re-adjust p-values across every comparison in a multi-part table (one family).

    Adjusting within each stage, year or area lets the chance of a false flag somewhere in the
    table grow with its size (~26% in a six-stage funnel, half the no-effect samples for ten years
    x four groups); the question a reader asks of the table ("is there a difference anywhere?") is
    one family, so the adjustment spans the whole table. `across` names the parts in `method`.
    """
    from metrics.significance import flag_comparisons

    return flag_comparisons(frame, alpha=s.alpha, adjustment=s.adjustment, across=across)


def dated(wh: Warehouse, f: Filters, frame: pl.DataFrame) -> pl.DataFrame:
    """Every tidy table says what period it covers (period_label, unless its rows carry their own)
    and the date the data run to (data_date: the extract date), so no reader takes a part year
    for a whole one or data to October for data to March."""
    from metrics.tidy import month_span, order_tidy

    first, last, extract = tq.data_window(wh)
    if first is None:
        return frame
    lo, hi = max(f.start or first, first), min(f.end or last, last)
    label = month_span(lo, hi) if lo <= hi else "no months of data in the period"
    if lo <= hi and hi == last:
        label += f" (data to {extract.day} {extract:%b %Y})"
    cols = [pl.lit(extract, dtype=pl.Date).alias("data_date")]
    if "period_label" not in frame.columns:
        cols.append(pl.col("stage").alias("period_label") if "stage" in frame.columns and frame["stage"].str
                    .starts_with("FY").all() and frame.height else pl.lit(label, dtype=pl.String).alias("period_label"))
    return order_tidy(frame.with_columns(cols))


def common(f: Filters, s: Settings) -> dict:
    """The keywords every comparison takes: the breakdown, its reference group, alpha and the adjustment."""
    return {"characteristic": f.characteristic, "reference_group": q.reference_group(f.characteristic),
            "alpha": s.alpha, "adjustment": s.adjustment}


def fy_label(fy: int, first_month, last_month, last_day, extract) -> str:
    from metrics.tidy import financial_year_label

    return financial_year_label(fy, first_month, last_month, last_day=last_day, data_date=extract)


def financial_years(wh: Warehouse, f: Filters) -> list[tuple[int, str, Filters]]:
    """Each financial year the period touches: (year, label, the filters cut to its months). The
    label says when the year is only partly covered (the data end inside it, or the period cuts it)."""
    extract = tq.data_window(wh)[2]
    out = []
    for fy, start, end in tq.financial_year_bounds(wh).iter_rows():
        lo = max(start, f.start) if f.start else start
        hi = min(end, f.end) if f.end else end
        if lo > hi:
            continue
        last_day = min(q.last_day(hi), extract)
        out.append((fy, fy_label(fy, lo, hi, last_day, extract), f.with_(start=lo, end=hi)))
    return out


def empty_with_stage() -> pl.DataFrame:
    from metrics.tidy import empty_tidy

    return empty_tidy(("stage",))


# ---------------------------------------------------------------------------------------------
# Generic builders: the fact table and its columns are keywords fixed by the table definition.
# ---------------------------------------------------------------------------------------------

def rates(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str) -> pl.DataFrame:
    """Events per 1,000 person-years by group, with rate ratios to the reference group."""
    from metrics.rates import exposure_rate_table

    cells = q.rate_cells(wh, f, table=table, month_col=month_col)
    return dated(wh, f, exposure_rate_table(cells, **common(f, s)))


def proportions(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, denominator: str,
                numerator: str) -> pl.DataFrame:
    """events/n by group from a fact table, as a tidy proportion table."""
    from metrics.rates import proportion_table

    cells = q.proportion_cells(wh, f, table=table, month_col=month_col, denominator=denominator,
                               numerator=numerator)
    return dated(wh, f, proportion_table(cells, min_n=s.min_group_for_ratio, **common(f, s)))


def four_fifths(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, denominator: str,
                numerator: str) -> pl.DataFrame:
    """A selection rate by group as a ratio to the reference group's (the four-fifths rule)."""
    from metrics.disparity import four_fifths_table

    cells = q.proportion_cells(wh, f, table=table, month_col=month_col, denominator=denominator,
                               numerator=numerator)
    return dated(wh, f, four_fifths_table(cells, min_n=s.min_group_for_ratio, **common(f, s)))


def stratified(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, numerator: str) -> pl.DataFrame:
    """events/n by group compared within financial years (Mantel-Haenszel), for shares that move
    over time: comparing crude shares would report when a group's cases fell as a group difference."""
    from metrics.rates import stratified_proportion_table

    cells = tq.stratified_cells(wh, f, table=table, month_col=month_col, numerator=numerator)
    return dated(wh, f, stratified_proportion_table(cells, min_n=s.min_group_for_ratio, **common(f, s)))


def crosstab(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, column: str, label: str,
             condition: str = "true") -> pl.DataFrame:
    """group x category counts (long)."""
    return q.crosstab_cells(wh, f, table=table, month_col=month_col, column=column, label=label,
                            condition=condition)


def rows(wh: Warehouse, f: Filters, s: Settings, *, query) -> pl.DataFrame:
    """A table read as it is (no filters, no people counted): `query(wh)` from the query layer."""
    return query(wh)


# ---------------------------------------------------------------------------------------------
# Grievances and misconduct
# ---------------------------------------------------------------------------------------------

def grievance_upheld_adjusted(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import logistic_odds_ratios

    cells = tq.upheld_by_category(wh, f)
    return dated(wh, f, logistic_odds_ratios(cells, covariates=("category",), **common(f, s)))


def grievance_resolution(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.survival import median_table

    return dated(wh, f, median_table(tq.resolution_rows(wh, f), characteristic=f.characteristic,
                                     reference_group=q.reference_group(f.characteristic), alpha=s.alpha,
                                     adjustment=s.adjustment))


def grievance_resolution_curve(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.survival import km_curve

    return km_curve(tq.resolution_rows(wh, f), characteristic=f.characteristic, alpha=s.alpha)


def grievance_funnel(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.funnel import poisson_funnel

    return dated(wh, f, poisson_funnel(tq.area_grievance_cells(wh, f), characteristic="business_area_code",
                                       alpha=s.alpha, adjustment=s.adjustment))


def misconduct_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table
    from metrics.tidy import concat_tidy

    frames = []
    for _fy, label, fy_filters in financial_years(wh, f):
        cells = q.rate_cells(wh, fy_filters, table="fct_misconduct_referrals", month_col="referral_month")
        if cells.height == 0:
            continue
        frames.append(exposure_rate_table(cells, **common(f, s)).with_columns(pl.lit(label).alias("stage")))
    if not frames:
        return empty_with_stage()
    return dated(wh, f, adjust_across_table(concat_tidy(frames), s, across="financial years and groups"))


def misconduct_trend_test(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import rate_ratio_trend

    cells, labels = [], []
    for fy, label, fy_filters in financial_years(wh, f):
        part = q.rate_cells(wh, fy_filters, table="fct_misconduct_referrals", month_col="referral_month")
        cells.append(part.with_columns(pl.lit(fy, dtype=pl.Int64).alias("period")))
        labels.append(label)
    frame = pl.concat(cells) if cells else pl.DataFrame(schema={"group": pl.String, "exposure": pl.Float64,
                                                               "events": pl.Int64, "period": pl.Int64})
    table = rate_ratio_trend(frame.select("group", "period", "events", "exposure"), **common(f, s))
    span = f"{labels[0]} to {labels[-1]}" if labels else "no financial years in the period"
    return dated(wh, f, table.with_columns(pl.lit(span).alias("period_label")))


def misconduct_adjusted(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import poisson_irr

    covariates = [c for c in ("rank_grade", "service_band", "business_area_code")
                  if c not in q.characteristic_parts(f.characteristic)]
    if f.area is not None and "business_area_code" in covariates:
        covariates.remove("business_area_code")
    cells = tq.adjusted_rate_cells(wh, f, covariates)
    return dated(wh, f, poisson_irr(cells, covariates=covariates, **common(f, s)))


def misconduct_area_disparity(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table

    # One query for every (area, group) cell; then each area is its own comparison (its own
    # reference row), computed on arrays. The adjustment family is the whole table, as for the
    # stage tables: a reader scans every area for "is there disparity anywhere?", and with ~40
    # areas x 4 groups a per-area family would flag about 8 comparisons by chance alone.
    cells = q.area_rate_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month")
    table = exposure_rate_table(cells, by="business_area_code", **common(f, s))
    return dated(wh, f, adjust_across_table(table, s, across="business areas"))


def misconduct_stages(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import decision_stage_table

    return dated(wh, f, decision_stage_table(tq.misconduct_stage_cells(wh, f), stages=MISCONDUCT_STAGES[1:],
                                             min_n=s.min_group_for_ratio, **common(f, s)))
