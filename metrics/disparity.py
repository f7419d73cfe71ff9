"""Disparity along a sequence of decisions: the relative rate index at each misconduct decision
point, and the four-fifths adverse-impact ratio at each recruitment stage and for acting-up.

Both reduce to "events out of the previous stage's count" per group, so both reuse
rates.proportion_table (Wilson, Katz, Fisher/chi-square, Holm) stage by stage and add a `stage`
column. The stage's denominator is always the previous stage (the disproportionate-contact
method), never the population, so a disparity is located at the decision where it arises.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from metrics.config import DEFAULTS
from metrics.rates import NOT_STATED, PROPORTION_EXTRAS, proportion_table
from metrics.significance import flag_comparisons
from metrics.tidy import concat_tidy, empty_tidy, order_tidy, require_columns

FOUR_FIFTHS = 0.8  # US EEOC Uniform Guidelines (1978) adverse-impact threshold


def four_fifths_table(
    frame: pl.DataFrame,
    *,
    characteristic: str,
    reference_group: str,
    comparator: str = "reference",
    threshold: float = FOUR_FIFTHS,
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_n: int = DEFAULTS.min_group_for_ratio,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """Adverse-impact (four-fifths) table for one selection decision. Input: group, n (eligible
    or applying), events (selected).

    ratio = group's selection rate / comparator's; is_adverse_impact = ratio < threshold.
    comparator "reference" uses reference_group; "highest" uses the group with the highest
    selection rate among stated groups with n >= min_n (a group of one selected person would
    otherwise set the bar). The comparator's name is in the reference_group column. Whether
    the gap is statistically significant is is_significant (Fisher/chi-square, adjusted).
    """
    if comparator not in ("reference", "highest"):
        raise ValueError(f"comparator must be 'reference' or 'highest'; got {comparator!r}")
    extras = (*PROPORTION_EXTRAS, "is_adverse_impact")
    if frame.height == 0:
        return empty_tidy(extras)
    chosen = reference_group
    if comparator == "highest":
        chosen = _highest_rate_group(frame, min_n=min_n, not_stated=not_stated) or reference_group
    table = proportion_table(
        frame, characteristic=characteristic, reference_group=chosen, alpha=alpha,
        adjustment=adjustment, min_n=min_n, not_stated=not_stated,
    )
    label = f"four-fifths rule (impact ratio < {threshold:g}; comparator: {'highest rate' if comparator == 'highest' else 'reference group'})"
    return order_tidy(table.with_columns(
        pl.when(pl.col("ratio").is_null()).then(None).otherwise(pl.col("ratio") < threshold)
        .alias("is_adverse_impact"),
        (pl.col("method").str.replace("Katz log RR", "impact ratio (Katz log CI)", literal=True)
         + pl.lit("; " + label)),
    ))


def _highest_rate_group(frame: pl.DataFrame, *, min_n: int, not_stated: str | None) -> str | None:
    candidates = frame.filter(pl.col("n") > 0)
    if not_stated is not None:
        candidates = candidates.filter(pl.col("group") != not_stated)
    big = candidates.filter(pl.col("n") >= min_n)
    candidates = big if big.height else candidates
    if candidates.height == 0:
        return None
    # Stable: on a tie the group listed first wins, so the result does not depend on hashing.
    rates = candidates.with_columns((pl.col("events") / pl.col("n")).alias("_rate")).with_row_index("_i")
    return rates.sort(["_rate", "_i"], descending=[True, False])["group"][0]


def decision_stage_table(
    frame: pl.DataFrame,
    *,
    stages: Sequence[str],
    characteristic: str,
    reference_group: str,
    kind: str = "relative rate index",
    alpha: float = DEFAULTS.alpha,
    adjustment: str = DEFAULTS.adjustment,
    min_n: int = DEFAULTS.min_group_for_ratio,
    not_stated: str | None = NOT_STATED,
) -> pl.DataFrame:
    """A stage table counting decided cases only: at each stage, n = cases at the previous stage
    whose decision here has been made, events = those that progressed, n_pending = those still
    waiting (open misconduct cases, applications in progress). A pending case is neither a pass
    nor a failure, so a recent period is not made to look as if fewer cases progress.

    Input long frame: group, stage, n, events, n_pending (one row per group and stage after the
    first); kind "relative rate index" (misconduct decision points) or "four-fifths" (recruitment,
    with is_adverse_impact). p-values adjusted across every stage and group at once."""
    require_columns(frame, ["group", "stage", "n", "events", "n_pending"], "decision_stage_table")
    if kind not in ("relative rate index", "four-fifths"):
        raise ValueError(f"kind must be 'relative rate index' or 'four-fifths'; got {kind!r}")
    extras = ("stage", *PROPORTION_EXTRAS, *(("is_adverse_impact",) if kind == "four-fifths" else ()), "n_pending")
    if frame.height == 0:
        return empty_tidy(extras)
    unknown = sorted(set(frame["stage"].to_list()) - set(stages))
    if unknown:
        raise ValueError(f"decision_stage_table: column 'stage' has value(s) {unknown} not in stages {list(stages)}")
    common = dict(characteristic=characteristic, reference_group=reference_group, alpha=alpha,
                  adjustment=adjustment, min_n=min_n, not_stated=not_stated)
    tables = []
    for stage in stages:
        part = frame.filter(pl.col("stage") == stage)
        if part.height == 0:
            continue
        counts = part.select("group", "n", "events")
        if kind == "four-fifths":
            table = four_fifths_table(counts, **common)
        else:
            table = proportion_table(counts, **common).with_columns(
                pl.col("method").str.replace("Katz log RR", "relative rate index (Katz log CI)", literal=True))
        pending = dict(part.select("group", "n_pending").iter_rows())
        tables.append(order_tidy(table.with_columns(
            pl.lit(stage).alias("stage"),
            pl.col("group").replace_strict(pending, return_dtype=pl.Int64).alias("n_pending"),
            pl.col("method") + pl.lit("; decided cases only (pending shown as n_pending)"),
        )))
    return flag_comparisons(concat_tidy(tables), alpha=alpha, adjustment=adjustment, across="stages")
