"""The numbers beside every chart: a metric frame as the reader sees it (human column labels, every
value as text in the one number style, metrics/formats.py) and crosstabs as counts or % within group."""

from __future__ import annotations

import math

import polars as pl

from dashboard import theme
from metrics import formats

# Columns never shown in a number table (internal flags the text already carries).
_HIDDEN_COLUMNS = {"characteristic", "is_reference", "is_not_stated", "reference_group", "n_display",
                   "events_display"}

# Per column: the measure its numbers are (theme.py formats each measure one way everywhere).
PERCENT_COLUMNS = {"rate", "ci_low", "ci_high", "target_share", "not_stated_rate", "survival"}
RATIO_COLUMNS = {"ratio", "ratio_ci_low", "ratio_ci_high", "overall_ratio"}
P_COLUMNS = {"p_value", "p_adjusted"}
DAY_COLUMNS = {"median_days", "median_ci_low", "median_ci_high", "median_days_to_resolve", "time"}
PERSON_YEAR_COLUMNS = {"exposure", "size"}
NO_SEPARATOR_COLUMNS = {"commitment_id", "recommendation_id", "financial_year", "source_row", "year"}
BOOL_WORDS = {True: "Yes", False: "No"}
# Columns whose measure their name alone fixes (rate_per_1000: a rate per 1,000 person-years).
_BY_COLUMN = {**dict.fromkeys(P_COLUMNS, formats.fmt_p), **dict.fromkeys(RATIO_COLUMNS, formats.fmt_ratio),
              **dict.fromkeys(DAY_COLUMNS, formats.fmt_days), **dict.fromkeys(PERSON_YEAR_COLUMNS, formats.fmt_int),
              "rate_per_1000": formats.fmt_rate}


def format_value(column: str, value, *, per_1000: bool = False) -> str | None:
    """One cell in the product's number style (metrics/formats.py); None stays empty."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return BOOL_WORDS[value]
    if isinstance(value, str):
        # Counts that disclosure control turned into strings ("1234", "<5", "[c]").
        return formats.fmt_int(int(value)) if value.isdigit() else value
    if isinstance(value, (int, float)):
        return _number(column, value, per_1000)
    if hasattr(value, "strftime"):
        return formats.fmt_date(value)
    return str(value)


def _number(column: str, value: float, per_1000: bool) -> str:
    """A number in its column's measure: by name first, then by what the column name ends with."""
    fmt = _BY_COLUMN.get(column)
    if fmt is not None:
        return fmt(value)
    if per_1000 and column in ("ci_low", "ci_high"):
        return formats.fmt_rate(value)
    if column in PERCENT_COLUMNS or column.endswith(("_rate", "_share")):
        return formats.fmt_pct(value)
    if column in NO_SEPARATOR_COLUMNS:
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and column.startswith(("n_", "n")):
        return formats.fmt_int(value)
    return formats.fmt_decimal(value)


def display_frame(frame: pl.DataFrame, *, per_1000: bool = False, name: str | None = None
                  ) -> tuple[pl.DataFrame, dict[str, str]]:
    """The frame as the reader sees it: human column labels naming the quantity (per table, from
    theme.TABLE_COLUMN_LABELS) and every value as text in the one number style (theme.py).

    Values are formatted from get_table's numbers (no other rounding); where disclosure control
    produced display strings ("<5", "[c]"), they replace the counts. The second value is kept for
    callers that set column formats: every column is already text, so it is empty.
    """
    out = frame
    for col, disp in (("n", "n_display"), ("events", "events_display")):
        if disp in out.columns and col in out.columns:
            out = out.with_columns(pl.coalesce(pl.col(disp), pl.col(col).cast(pl.String)).alias(col))
    if per_1000 and "rate_per_1000" in out.columns:
        out = out.drop([c for c in ("rate",) if c in out.columns])
    # A table whose rows are different characteristics (not_stated) needs that column to be read.
    hidden = _HIDDEN_COLUMNS - ({"characteristic"} if "characteristic" in out.columns
                                and out["characteristic"].n_unique() > 1 else set())
    keep = [c for c in out.columns if c not in hidden]
    if "stage" in keep:
        keep.remove("stage")
        keep.insert(0, "stage")
    if per_1000 and "rate_per_1000" in keep and "events" in keep:
        # The rate people read goes where the rate would be, beside its interval.
        keep.remove("rate_per_1000")
        keep.insert(keep.index("events") + 1, "rate_per_1000")
    out = out.select(keep)
    scaled = per_1000 and "ci_low" in keep and "rate_per_1000" in frame.columns
    if scaled:
        # The interval of a rate per person-year is shown in the same unit as the rate beside it.
        out = out.with_columns(pl.col("ci_low") * 1000, pl.col("ci_high") * 1000)
    own = theme.TABLE_COLUMN_LABELS.get(name or "", {})
    labels = {}
    for c in keep:
        label = own.get(c) or theme.column_label(c)
        if scaled and c in ("ci_low", "ci_high"):
            label = f"{label} (per 1,000)"
        labels[c] = label
    columns = {}
    for c in keep:
        values = out[c].to_list()
        columns[labels[c]] = pl.Series(labels[c], [format_value(c, v, per_1000=scaled or per_1000) for v in values],
                                       dtype=pl.String)
    return pl.DataFrame(columns, schema={labels[c]: pl.String for c in keep}), {}


def crosstab_percent(frame: pl.DataFrame, *, row: str = "group", col: str = "category", value: str = "n"
                     ) -> pl.DataFrame:
    """Each visible cell as a share of its group's total (`pct`, a fraction), beside the counts.

    The total is the group's published 'Total' cell where disclosure control added one, else the sum
    of the group's cells; a group with a hidden cell and no published total gets no shares (its
    visible cells alone would give wrong ones). Hidden cells stay hidden.
    """
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("pct"))
    is_total = pl.col("is_total").fill_null(False) if "is_total" in frame.columns else pl.lit(False)
    hidden = pl.col("is_suppressed").fill_null(False) if "is_suppressed" in frame.columns else pl.col(value).is_null()
    cells = frame.filter(~is_total)
    published = (frame.filter(is_total).select(row, pl.col(value).alias("_total"))
                 if "is_total" in frame.columns else pl.DataFrame(schema={row: frame.schema[row], "_total": pl.Int64}))
    summed = cells.group_by(row).agg(pl.when(hidden.any()).then(None).otherwise(pl.col(value).sum()).alias("_sum"))
    out = (cells.join(published, on=row, how="left").join(summed, on=row, how="left")
           .with_columns(pl.coalesce("_total", "_sum").alias("_denominator")))
    return out.with_columns(
        pl.when(hidden | (pl.col("_denominator").fill_null(0) == 0)).then(None)
        .otherwise(pl.col(value) / pl.col("_denominator")).alias("pct")
    ).drop("_total", "_sum", "_denominator")


def crosstab_wide(frame: pl.DataFrame, *, percent: bool = False, row: str = "group", col: str = "category",
                  value: str = "n") -> pl.DataFrame:
    """One row per group, a column per category: counts in the number style ('<5', '[c]' kept), or
    the % within each group (a hidden cell keeps its mark, never a share)."""
    if frame.height == 0:
        return pl.DataFrame({"Group": []}, schema={"Group": pl.String})
    display = "value_display" if "value_display" in frame.columns else None
    if percent:
        cells = crosstab_percent(frame, row=row, col=col, value=value)
        hidden = (cells["is_suppressed"].fill_null(False).to_list() if "is_suppressed" in cells.columns
                  else [False] * cells.height)
        shown = cells[display].to_list() if display else [None] * cells.height
        text = [formats.fmt_pct(p) if p is not None else (d if h and d is not None else formats.DASH)
                for p, d, h in zip(cells["pct"].to_list(), shown, hidden, strict=True)]
    else:
        cells = frame
        text = [format_value(value, d if display else v) for v, d in
                zip(cells[value].to_list(), cells[display].to_list() if display else [None] * cells.height,
                    strict=True)]
    long = cells.select(row, col).with_columns(pl.Series("value", text, dtype=pl.String))
    wide = long.pivot(on=col, index=row, values="value", aggregate_function="first")
    return wide.rename({row: "Group"})
