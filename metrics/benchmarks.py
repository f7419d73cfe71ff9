"""Benchmarks: each force's police officer representation against the population it polices.

The Home Office publishes every force's officers by rank and ethnicity at 31 March; the 2011
Census gives each police force area's population by ethnic group. For a force, year and rank group
the table compares the share of officers (of stated ethnicity) who are Black, Asian, Mixed or
Other, together and group by group, with the same share of the force area's population:

- rate = events / n with a Wilson interval (n = officers of stated ethnicity);
- ratio = rate / census share. It is also observed / expected, where expected = n x census share
  (indirect standardisation), so the forces can share one funnel plot: the ratio's limits at
  95% and 99.8% are exact Poisson limits around 1 for the expected count (metrics/funnel.py);
- p_value: two-sided exact binomial test of events ~ Binomial(n, census share), Holm-adjusted
  across the forces compared in the same year, rank and group.

The census is 2011 throughout (the one census by police force area the reference data has): the
population share is a fixed yardstick, not the share in the year of each count. Chinese people
are counted with Other against the pre-2021 Home Office categories (which put Chinese officers
with Other) and with Asian against the post-2021 categories.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from metrics.config import AGGREGATE_GROUPS, AGGREGATE_LABEL, DEFAULTS, OWN_FORCE
from metrics.funnel import control_limit
from metrics.tidy import TOO_FEW, tidy_frame

PUBLISHED, OWN = "Home Office", "This warehouse"
NATIONAL_SOURCE, NATIONAL = "Home Office, forces summed", "England and Wales (43 forces)"
ALL_RANKS = "All ranks"
# The warehouse's officer ranks (rank_grade labels, codes.yaml) as the Home Office names them.
RANKS = {"Constable": "Constable", "Sergeant": "Sergeant", "Inspector": "Inspector",
         "Chief Inspector": "Chief Inspector", "Superintendent": "Superintendent",
         "Chief Superintendent": "Chief Superintendent", "Chief officer": "Chief Officer"}
EXTRAS = ("reference_group", "lower_99_8", "lower_95", "upper_95", "upper_99_8", "flag", "note", "force", "year",
          "rank", "census_share", "expected", "source")
METHOD = ("Wilson interval; ratio to the force area's 2011 Census share (observed / expected); exact binomial "
          "test against the census share")


def wilson_intervals(events: np.ndarray, n: np.ndarray, alpha: float) -> list[tuple[float | None, float | None]]:
    """metrics.rates.wilson_interval (statsmodels' proportion_confint, method "wilson") on arrays:
    one call for the ~10,000 rows instead of one each; (None, None) where n is 0."""
    from statsmodels.stats.proportion import proportion_confint

    out: list[tuple[float | None, float | None]] = [(None, None)] * len(n)
    has = n > 0
    if has.any():
        low, high = proportion_confint(events[has], n[has], alpha=alpha, method="wilson")
        for i, lo, hi in zip(np.flatnonzero(has).tolist(), np.asarray(low).tolist(), np.asarray(high).tolist(), strict=True):
            out[i] = (lo, hi)
    return out


def national_totals(headcount: pl.DataFrame, census: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 43 territorial forces summed (British Transport Police has no force area), in the shapes
    of fct_force_headcount and stg_census_population: England and Wales as one benchmark row."""
    areas = census["force"].to_list()
    national = (headcount.filter(pl.col("force").is_in(areas))
                .group_by("year", "rank", "rank_order", "ethnicity_group")
                .agg(pl.col("headcount").sum().cast(pl.Int64), pl.col("is_post_2021_category").any())
                .with_columns(pl.lit(NATIONAL).alias("force")))
    columns = ("white", "black", "asian", "chinese", "mixed", "other", "total")
    national_census = census.select(pl.lit(NATIONAL).alias("force"), *(pl.col(c).sum() for c in columns))
    return national.select(headcount.select(national.columns).columns), national_census


def census_shares(census: pl.DataFrame) -> pl.DataFrame:
    """force, is_post_2021_category, group, census_share: each force area's population share of
    the aggregate and of each group, under both category schemes."""
    total = pl.col("total").cast(pl.Float64)
    rows = []
    for post_2021 in (False, True):
        asian = pl.col("asian") + (pl.col("chinese") if post_2021 else 0)
        other = pl.col("other") + (0 if post_2021 else pl.col("chinese"))
        shares = {AGGREGATE_LABEL: (total - pl.col("white")) / total, "Asian": asian / total,
                  "Black": pl.col("black") / total, "Mixed": pl.col("mixed") / total, "Other": other / total}
        for group, expr in shares.items():
            rows.append(census.select("force", pl.lit(post_2021).alias("is_post_2021_category"),
                                      pl.lit(group).alias("group"), expr.alias("census_share")))
    return pl.concat(rows)


def representation_cells(headcount: pl.DataFrame) -> pl.DataFrame:
    """force, year, rank, rank_order, is_post_2021_category, group, n, events from a frame with
    force, year, rank, rank_order, is_post_2021_category, ethnicity_group, headcount: n = officers
    of stated ethnicity, events = those in the group (the aggregate, then each of its four groups)."""
    keys = ["force", "year", "rank", "rank_order", "is_post_2021_category"]
    stated = pl.col("ethnicity_group") != "Not stated"
    base = headcount.group_by(keys).agg(
        pl.col("headcount").filter(stated).sum().cast(pl.Int64).alias("n"),
        pl.col("headcount").filter(pl.col("ethnicity_group").is_in(AGGREGATE_GROUPS)).sum().cast(pl.Int64)
        .alias(AGGREGATE_LABEL),
        *(pl.col("headcount").filter(pl.col("ethnicity_group") == g).sum().cast(pl.Int64).alias(g)
          for g in AGGREGATE_GROUPS),
    )
    return (base.unpivot(index=[*keys, "n"], on=[AGGREGATE_LABEL, *AGGREGATE_GROUPS], variable_name="group",
                         value_name="events")
            .with_columns(pl.col("events").cast(pl.Int64)))


def _adjusted_across_forces(cells: pl.DataFrame, adjustment: str) -> np.ndarray:
    """Holm across the published forces compared in one year, rank and group (one family: "is any
    force out of line?"); the own force is a separate comparison, adjusted on its own."""
    from metrics.significance import adjust_pvalues

    cells = cells.with_row_index("_i")
    adjusted = np.full(len(cells), np.nan)
    for part in cells.partition_by("source", "year", "rank", "group"):
        for i, a in zip(part["_i"].to_list(), adjust_pvalues(part["p_value"].to_list(), adjustment), strict=True):
            adjusted[i] = np.nan if a is None else a
    return adjusted


def _funnel_limits(expected: np.ndarray) -> dict[str, np.ndarray]:
    """The 95% and 99.8% limits of observed / expected around 1 (NaN where nothing is expected)."""
    limits = {}
    e = np.where(np.isnan(expected), 0.0, expected)
    for level, name in ((0.95, "95"), (0.998, "99_8")):
        tail = (1 - level) / 2
        limits[f"lower_{name}"] = np.where(e > 0, control_limit(e, 1.0, tail, kind="rate"), np.nan)
        limits[f"upper_{name}"] = np.where(e > 0, control_limit(e, 1.0, 1 - tail, kind="rate"), np.nan)
    return limits


def force_representation(headcount: pl.DataFrame, census: pl.DataFrame, *, alpha: float = DEFAULTS.alpha,
                         adjustment: str = DEFAULTS.adjustment, source: str = PUBLISHED,
                         own: pl.DataFrame | None = None) -> pl.DataFrame:
    """The tidy benchmark table (see the module docstring). ``headcount`` is fct_force_headcount,
    ``census`` is stg_census_population, ``own`` (optional) the warehouse's own force in the same
    shape as headcount, compared the same way but not adjusted with the published forces."""
    from metrics.significance import ADJUSTMENT_LABELS, binomtest_pvalues

    national, national_census = national_totals(headcount, census)
    shares = census_shares(pl.concat([census.select(national_census.columns), national_census]))
    parts = [representation_cells(headcount).with_columns(pl.lit(source).alias("source")),
             representation_cells(national).with_columns(pl.lit(NATIONAL_SOURCE).alias("source"))]
    if own is not None and own.height:
        parts.append(representation_cells(own).with_columns(pl.lit(OWN).alias("source")))
    group_order = {g: i for i, g in enumerate((AGGREGATE_LABEL, *AGGREGATE_GROUPS))}
    cells = (pl.concat(parts).join(shares, on=["force", "is_post_2021_category", "group"], how="left")
             .with_columns(pl.col("group").replace_strict(group_order, return_dtype=pl.Int32).alias("_g"))
             .sort("source", "year", "rank_order", "force", "_g").drop("_g"))
    n = cells["n"].to_numpy()
    events = cells["events"].to_numpy()
    share = cells["census_share"].fill_null(np.nan).to_numpy()
    testable = (n > 0) & (share > 0) & (share < 1)
    p = np.full(len(cells), np.nan)
    if testable.any():
        p[testable] = binomtest_pvalues(events[testable], n[testable], share[testable])
    expected = np.where(np.isnan(share), np.nan, n * share)
    cells = cells.with_columns(pl.Series("p_value", p).fill_nan(None), pl.Series("expected", expected).fill_nan(None))
    adjusted = _adjusted_across_forces(cells, adjustment)
    label = ADJUSTMENT_LABELS.get(adjustment, adjustment)
    rows = []
    limits = _funnel_limits(expected)
    wilson = wilson_intervals(events, n, alpha)
    for i, row in enumerate(cells.iter_rows(named=True)):
        low, high = wilson[i]
        share_i = row["census_share"]
        ratio = row["events"] / row["expected"] if row["expected"] else None
        flag = None
        if ratio is not None:
            lo95, hi95, lo998, hi998 = (limits[k][i] for k in ("lower_95", "upper_95", "lower_99_8", "upper_99_8"))
            flag = ("above 99.8% limit" if ratio > hi998 else "above 95% limit" if ratio > hi95 else
                    "below 99.8% limit" if ratio < lo998 else "below 95% limit" if ratio < lo95 else "within limits")
        q = None if np.isnan(adjusted[i]) else float(adjusted[i])
        rows.append({
            "characteristic": "ethnicity_group", "group": row["group"], "n": row["n"], "events": row["events"],
            "rate": row["events"] / row["n"] if row["n"] else None, "ci_low": low, "ci_high": high,
            "ratio": ratio,
            "ratio_ci_low": low / share_i if share_i and low is not None else None,
            "ratio_ci_high": high / share_i if share_i and high is not None else None,
            "p_value": row["p_value"], "p_adjusted": q, "is_significant": None if q is None else q < alpha,
            "is_suppressed": False,
            "method": METHOD + (f"; {label} across forces" if row["source"] == PUBLISHED and q is not None else ""),
            "reference_group": "2011 Census population of the force area",
            **{k: (None if np.isnan(limits[k][i]) else float(limits[k][i])) for k in limits},
            "flag": flag,
            "note": None if row["n"] else TOO_FEW if share_i is not None else "no census force area",
            "force": row["force"], "year": row["year"], "rank": row["rank"], "census_share": share_i,
            "expected": row["expected"], "source": row["source"],
        })
    return tidy_frame(rows, EXTRAS)


def own_force_headcount(in_post: pl.DataFrame, *, force: str = OWN_FORCE) -> pl.DataFrame:
    """The warehouse's officers in post at 31 March in the shape of fct_force_headcount.
    ``in_post``: year, rank_grade, ethnicity_group, headcount (officers only)."""
    ranked = (in_post.filter(pl.col("rank_grade").is_in(list(RANKS)))
              .with_columns(pl.col("rank_grade").replace_strict(RANKS).alias("rank"),
                            pl.col("rank_grade").replace_strict({c: i for i, c in enumerate(RANKS, 1)},
                                                                return_dtype=pl.Int32).alias("rank_order")))
    by_rank = ranked.group_by("year", "rank", "rank_order", "ethnicity_group").agg(pl.col("headcount").sum())
    all_ranks = (ranked.group_by("year", "ethnicity_group").agg(pl.col("headcount").sum())
                 .with_columns(pl.lit(ALL_RANKS).alias("rank"), pl.lit(0, dtype=pl.Int32).alias("rank_order")))
    return (pl.concat([by_rank, all_ranks], how="diagonal")
            .with_columns(pl.lit(force).alias("force"), pl.lit(True).alias("is_post_2021_category"),
                          pl.col("headcount").cast(pl.Int64))
            .select("year", "force", "rank", "rank_order", "ethnicity_group", "headcount", "is_post_2021_category"))


def march_dates(first: date, last: date) -> list[date]:
    """Every 31 March from the first month's to the last date (inclusive)."""
    return [date(y, 3, 31) for y in range(first.year, last.year + 1) if first <= date(y, 3, 31) <= last]
