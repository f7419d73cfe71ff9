"""Representation and recruitment against the force's targets: the target trajectory (targets are
data, linear between target dates), a one-sided test that an observed share is below target, and
a stock-and-flow projection of officer representation to 2030 with a simulation interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy import stats

from metrics.config import DEFAULTS
from metrics.intervals import wilson_interval
from metrics.tidy import empty_tidy, require_columns, tidy_frame

PROJECTION_END = date(2030, 3, 31)  # the 2030 target is for the end of financial year 2029/30
DEFAULT_SEED = 20300331


def target_share_at(
    targets: pl.DataFrame, *, measure: str, target_group: str, at_date: date, before_first: str = "null"
) -> float | None:
    """The target share on `at_date`: linear between target dates, flat after the last one.

    Before the first target date there is no target (`before_first="null"`, the default: testing
    2019 figures against a 2022 target would be unfair) or the first target applies ("flat").
    Input: the targets extract (measure, target_group, target_date, target_share).
    """
    if before_first not in ("null", "flat"):
        raise ValueError(f"before_first must be 'null' or 'flat'; got {before_first!r}")
    require_columns(targets, ["measure", "target_group", "target_date", "target_share"], "target_share_at")
    points = (
        targets.filter((pl.col("measure") == measure) & (pl.col("target_group") == target_group))
        .sort("target_date").select("target_date", "target_share").rows()
    )
    if not points:
        raise ValueError(f"targets: no rows for measure {measure!r} and target group {target_group!r}")
    dates = [d for d, _ in points]
    if len(set(dates)) != len(dates):
        raise ValueError(f"targets: measure {measure!r} has two targets on the same date")
    if at_date < dates[0]:
        return float(points[0][1]) if before_first == "flat" else None
    if at_date >= dates[-1]:
        return float(points[-1][1])
    for (d0, s0), (d1, s1) in zip(points[:-1], points[1:], strict=True):
        if d0 <= at_date < d1:
            return float(s0 + (s1 - s0) * (at_date - d0).days / (d1 - d0).days)
    raise AssertionError("unreachable: at_date lies between the first and last target dates")


def observed_vs_target(
    observed: pl.DataFrame,
    *,
    targets: pl.DataFrame,
    measure: str,
    target_group: str,
    alpha: float = DEFAULTS.alpha,
    before_first: str = "null",
) -> pl.DataFrame:
    """Is the observed share below the target trajectory? One tidy row per period.

    Input: period_date, n (officers or recruits), events (of them, in the target group).
    rate = share with Wilson CI; ratio = share / target (CI = Wilson CI / target); p_value is the
    one-sided exact binomial test P(X <= events | n, target) (scipy.stats.binomtest,
    alternative="less"); is_significant = p < alpha. Each period is its own question (is this
    year's figure below this year's target?), so p-values are not adjusted across periods.
    """
    extras = ("stage", "target_share", "note")
    require_columns(observed, ["period_date", "n", "events"], "observed_vs_target")
    rows = []
    for i, (period, n, k) in enumerate(observed.select("period_date", "n", "events").iter_rows(), start=1):
        if n is None or k is None or k < 0 or k > n:
            raise ValueError(f"observed_vs_target: row {i}: events must be between 0 and n; got {k} of {n}")
        target = target_share_at(targets, measure=measure, target_group=target_group, at_date=period,
                                 before_first=before_first)
        low, high = wilson_interval(k, n, alpha)
        row = {"characteristic": measure, "group": target_group, "n": n, "events": k,
               "rate": k / n if n else None, "ci_low": low, "ci_high": high, "is_suppressed": False,
               "stage": period.isoformat(), "target_share": target, "is_significant": False}
        if target is None:
            row.update(method="Wilson; no target set at this date", note="no target set at this date")
        elif n == 0:
            row.update(method="Wilson; no test (n = 0)")
        elif target <= 0:
            row.update(method="Wilson; no test (target is 0)")
        else:
            p = float(stats.binomtest(k, n, target, alternative="less").pvalue)
            row.update(ratio=k / n / target, ratio_ci_low=low / target, ratio_ci_high=high / target,
                       p_value=p, p_adjusted=p, is_significant=p < alpha,
                       method="Wilson; share / target; one-sided exact binomial test (below target); not adjusted")
        rows.append(row)
    return tidy_frame(rows, extras) if rows else empty_tidy(extras)


def share_vs_target(
    counts: pl.DataFrame,
    targets: pl.DataFrame,
    *,
    measure: str,
    aggregate_groups: Sequence[str],
    aggregate_label: str,
    target_group: str = "BLACK_ASIAN_MIXED_OTHER",
    not_stated: str | None = "Not stated",
    alpha: float = DEFAULTS.alpha,
    before_first: str = "null",
) -> pl.DataFrame:
    """Representation (or recruit share) by period against the target, from per-group counts.

    Input: one row per period and group: as_at (date the period is measured), group, n
    (officers or joiners), and optionally financial_year (used for the period label). Shares are
    of people with a stated group (Not stated is left out of the denominator, as DOMAIN.md says).
    Per period: one row for the aggregate (group = aggregate_label) tested against the target
    (see observed_vs_target), then one row per ethnic group with its share and Wilson CI only,
    because the five groups differ and the aggregate must never be shown alone.
    """
    require_columns(counts, ["as_at", "group", "n"], "share_vs_target")
    extras = ("stage", "target_share", "note")
    if counts.height == 0:
        return empty_tidy(extras)
    stated = counts if not_stated is None else counts.filter(pl.col("group") != not_stated)
    has_fy = "financial_year" in counts.columns
    frames = []
    for (as_at,), part in stated.group_by(["as_at"], maintain_order=True):
        total = int(part["n"].sum())
        k = int(part.filter(pl.col("group").is_in(list(aggregate_groups)))["n"].sum())
        label = as_at.isoformat()
        if "period_label" in part.columns:
            label = part["period_label"][0]
        elif has_fy:
            fy = int(part["financial_year"][0])
            label = f"FY{fy}/{(fy + 1) % 100:02d}"
        observed = pl.DataFrame({"period_date": [as_at], "n": [total], "events": [k]})
        agg = observed_vs_target(observed, targets=targets, measure=measure, target_group=target_group,
                                 alpha=alpha, before_first=before_first)
        rows = [{**agg.row(0, named=True), "group": aggregate_label, "stage": label}]
        for group, n in part.select("group", "n").sort("group").iter_rows():
            low, high = wilson_interval(int(n), total, alpha)
            rows.append({"characteristic": measure, "group": group, "n": total, "events": int(n),
                         "rate": n / total if total else None, "ci_low": low, "ci_high": high,
                         "is_significant": False, "is_suppressed": False, "stage": label,
                         "method": "Wilson; share of stated total (target applies to the aggregate only)"})
        frames.append(tidy_frame(rows, extras))
    return pl.concat(frames, how="vertical")


@dataclass(frozen=True)
class Projection:
    """trajectory: one row per projection date (date, headcount, target_group_share, share_low,
    share_high); summary: one row (reached_date, reached_label, share_at_end, share_end_low,
    share_end_high, probability_reached, joiner_share_now, joiner_share_needed, method)."""

    trajectory: pl.DataFrame
    summary: pl.DataFrame


def project_stock_and_flow(
    current: pl.DataFrame,
    *,
    target_groups: Sequence[str],
    start_date: date,
    end_date: date = PROJECTION_END,
    target_share: float = 0.28,
    joiners_per_year: float | None = None,
    joiner_target_share: float | None = None,
    alpha: float = DEFAULTS.alpha,
    n_sims: int = 2000,
    seed: int = DEFAULT_SEED,
) -> Projection:
    """Project the share of officers in `target_groups` at each 31 March up to end_date.

    Input `current`: one row per group with headcount (officers on start_date), joiners and
    leavers (per year, recently observed). Stock and flow: each year a group keeps
    (1 - leaver rate) of its officers and gains joiners_per_year x its joiner share.
    Central line: that recursion with the observed rates. Interval: simulation (seeded) with
    parameter uncertainty (joiner shares ~ Dirichlet(joiners + 0.5), leaver rates ~
    Beta(leavers + 0.5, stayers + 0.5), Jeffreys priors) and year-to-year noise (binomial
    leavers, Poisson joiner totals split multinomially). `joiner_target_share` overrides the
    target groups' share of joiners (within-side mix kept) to explore scenarios.
    joiner_share_needed: the constant target-group share of joiners from start_date that makes
    the central line reach target_share at end_date, or null if even 100% would not.
    """
    require_columns(current, ["group", "headcount", "joiners", "leavers"], "project_stock_and_flow")
    _check_projection_input(current, target_groups, start_date, end_date)
    groups = current["group"].to_list()
    head = current["headcount"].to_numpy().astype(float)
    joiners = current["joiners"].to_numpy().astype(float)
    leavers = current["leavers"].to_numpy().astype(float)
    is_target = np.array([g in set(target_groups) for g in groups])
    total_joiners = float(joiners.sum()) if joiners_per_year is None else float(joiners_per_year)
    share_now = joiners / joiners.sum()
    leave_rate = np.divide(leavers, head, out=np.zeros_like(head), where=head > 0)
    steps = _steps(start_date, end_date)
    shares = share_now if joiner_target_share is None else _reweight(share_now, is_target, joiner_target_share)

    central = _deterministic(head, shares, leave_rate, total_joiners, steps, is_target)
    sims = _simulate(head, joiners, leavers, is_target, total_joiners, steps, joiner_target_share,
                     n_sims=n_sims, seed=seed)
    low, high = np.quantile(sims, [alpha / 2, 1 - alpha / 2], axis=0)
    trajectory = _trajectory(steps, central, low, high)
    reached = next((d for (d, _), (_, s) in zip(steps, central, strict=True) if s >= target_share), None)
    needed = _joiner_share_needed(head, share_now, leave_rate, total_joiners, steps, is_target, target_share)
    summary = pl.DataFrame(
        [{
            "reached_date": reached,
            "reached_label": reached.isoformat() if reached else f"not by {end_date.year}",
            "share_at_end": central[-1][1],
            "share_end_low": float(low[-1]),
            "share_end_high": float(high[-1]),
            "probability_reached": float((sims[:, -1] >= target_share).mean()),
            "joiner_share_now": float(share_now[is_target].sum()),
            "joiner_share_needed": needed,
            "method": (f"stock and flow, annual steps to {end_date.isoformat()}; interval {100 * (1 - alpha):g}% "
                       f"of {n_sims} simulations (seed {seed}) with Jeffreys-prior parameter draws"),
        }],
        schema=SUMMARY_SCHEMA,
    )
    return Projection(trajectory=trajectory, summary=summary)


SUMMARY_SCHEMA = {"reached_date": pl.Date, "reached_label": pl.String, "share_at_end": pl.Float64,
                  "share_end_low": pl.Float64, "share_end_high": pl.Float64, "probability_reached": pl.Float64,
                  "joiner_share_now": pl.Float64, "joiner_share_needed": pl.Float64, "method": pl.String}


def _trajectory(steps, central, low, high) -> pl.DataFrame:
    """The central line and its simulation interval at each 31 March."""
    return pl.DataFrame(
        {"date": [d for d, _ in steps], "headcount": [h for h, _ in central],
         "target_group_share": [sh for _, sh in central],
         "share_low": low.tolist(), "share_high": high.tolist()},
        schema={"date": pl.Date, "headcount": pl.Float64, "target_group_share": pl.Float64,
                "share_low": pl.Float64, "share_high": pl.Float64},
    )



def _check_projection_input(current, target_groups, start_date, end_date) -> None:
    if current.height == 0:
        raise ValueError("project_stock_and_flow: no groups in the current headcount")
    for col in ("headcount", "joiners", "leavers"):
        bad = current[col].is_null() | (current[col] < 0)
        if bad.any():
            raise ValueError(f"project_stock_and_flow: row {int(bad.arg_true()[0]) + 1}, column {col!r}: "
                             "must be present and not negative")
    bad = current["leavers"] > current["headcount"]
    if bad.any():
        raise ValueError(f"project_stock_and_flow: row {int(bad.arg_true()[0]) + 1}: leavers exceed headcount")
    if current["joiners"].sum() <= 0:
        raise ValueError("project_stock_and_flow: no joiners, so joiner shares are undefined")
    if not set(target_groups) & set(current["group"].to_list()):
        raise ValueError(f"project_stock_and_flow: none of the target groups {list(target_groups)} is in the data")
    if end_date <= start_date:
        raise ValueError(f"project_stock_and_flow: end date {end_date} is not after start date {start_date}")


def _steps(start: date, end: date) -> list[tuple[date, float]]:
    """Each 31 March after start up to end (and end itself), with the fraction of a year since the
    previous step: days elapsed / days in the year ending on that step, so a whole financial year
    is exactly 1 whatever leap days it holds."""
    out, prev = [], start
    year = start.year if start < date(start.year, 3, 31) else start.year + 1
    while date(year, 3, 31) <= end:
        d = date(year, 3, 31)
        out.append((d, _year_fraction(prev, d)))
        prev, year = d, year + 1
    if prev < end:
        out.append((end, _year_fraction(prev, end)))
    return out


def _year_fraction(prev: date, d: date) -> float:
    try:
        year_before = d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        year_before = d.replace(year=d.year - 1, day=28)
    return (d - prev).days / (d - year_before).days


def _reweight(share: np.ndarray, is_target: np.ndarray, target_share: float) -> np.ndarray:
    """Set the target groups' joint joiner share, keeping the mix within each side."""
    out = share.astype(float).copy()
    for mask, total in ((is_target, target_share), (~is_target, 1 - target_share)):
        side = out[mask].sum()
        out[mask] = out[mask] / side * total if side > 0 else total / max(mask.sum(), 1)
    return out


def _deterministic(head, shares, leave_rate, total_joiners, steps, is_target) -> list[tuple[float, float]]:
    h, out = head.copy(), []
    for _, f in steps:
        # A partial first year: survival (1 - rate)^f and a pro-rata intake.
        h = h * (1 - leave_rate) ** f + total_joiners * f * shares
        out.append((float(h.sum()), float(h[is_target].sum() / h.sum())))
    return out


def _simulate(head, joiners, leavers, is_target, total_joiners, steps, joiner_target_share, *, n_sims, seed):
    rng = np.random.default_rng(seed)
    k = len(head)
    shares = rng.dirichlet(joiners + 0.5, size=n_sims)
    if joiner_target_share is not None:
        shares = np.apply_along_axis(_reweight, 1, shares, is_target, joiner_target_share)
    rates = rng.beta(leavers + 0.5, np.maximum(head - leavers, 0) + 0.5, size=(n_sims, k))
    h = np.tile(np.round(head).astype(np.int64), (n_sims, 1))
    result = np.empty((n_sims, len(steps)))
    for j, (_, f) in enumerate(steps):
        h = h - rng.binomial(h, 1 - (1 - rates) ** f)
        intake = rng.poisson(total_joiners * f, size=n_sims)
        h = h + rng.multinomial(intake, shares)
        tot = h.sum(axis=1)
        result[:, j] = np.divide(h[:, is_target].sum(axis=1), tot, out=np.zeros(n_sims), where=tot > 0)
    return result


def _joiner_share_needed(head, share_now, leave_rate, total_joiners, steps, is_target, target) -> float | None:
    """Bisection on the target groups' joiner share: the end share rises monotonically with it."""
    def end_share(s: float) -> float:
        return _deterministic(head, _reweight(share_now, is_target, s), leave_rate, total_joiners, steps,
                              is_target)[-1][1]

    if end_share(1.0) < target:
        return None
    if end_share(0.0) >= target:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if end_share(mid) < target else (lo, mid)
    return hi


def project_representation(
    flows: pl.DataFrame,
    targets: pl.DataFrame,
    *,
    measure: str = "OFFICER_REPRESENTATION",
    target_group: str = "BLACK_ASIAN_MIXED_OTHER",
    aggregate_label: str = "Black, Asian, Mixed and Other ethnic groups",
    other_label: str = "White",
    end_date: date = PROJECTION_END,
    alpha: float = DEFAULTS.alpha,
    n_sims: int = 2000,
    seed: int = DEFAULT_SEED,
) -> pl.DataFrame:
    """project_stock_and_flow from the workforce-flows mart, as one plottable frame.

    Input: financial_year, is_aggregate (True for the target groups), n_headcount_start,
    n_joiners, n_leavers, n_headcount_end. Uses the latest financial year: headcount at its end,
    its joiners, and its leaver rate (leavers / headcount at its start). The target share is the
    measure's last target (28% at 2030-03-31). Returns the observed starting point and one row per
    projected 31 March: date, is_projection, headcount, target_group_share, share_low, share_high,
    target_share (the trajectory at that date), and the summary figures on every row
    (reached_label, probability_reached, joiner_share_now, joiner_share_needed, method).
    """
    require_columns(flows, ["financial_year", "is_aggregate", "n_headcount_start", "n_joiners", "n_leavers",
                            "n_headcount_end"], "project_representation")
    if flows.height == 0:
        raise ValueError("project_representation: the workforce-flows table is empty")
    latest = int(flows["financial_year"].max())
    year = flows.filter(pl.col("financial_year") == latest)
    start = date(latest + 1, 3, 31)
    rows = []
    for is_aggregate, label in ((True, aggregate_label), (False, other_label)):
        part = year.filter(pl.col("is_aggregate") == is_aggregate)
        head_start, joiners = float(part["n_headcount_start"].sum()), float(part["n_joiners"].sum())
        leavers, head_end = float(part["n_leavers"].sum()), float(part["n_headcount_end"].sum())
        rate = leavers / head_start if head_start > 0 else 0.0
        # Express the year's leaver rate as a count out of the current headcount.
        rows.append({"group": label, "headcount": head_end, "joiners": joiners, "leavers": min(rate * head_end, head_end)})
    current = pl.DataFrame(rows)
    end_target = targets.filter((pl.col("measure") == measure) & (pl.col("target_group") == target_group)) \
        .sort("target_date")["target_share"]
    if end_target.len() == 0:
        raise ValueError(f"project_representation: no targets for measure {measure!r}")
    proj = project_stock_and_flow(current, target_groups=[aggregate_label], start_date=start, end_date=end_date,
                                  target_share=float(end_target[-1]), alpha=alpha, n_sims=n_sims, seed=seed)
    head0 = current["headcount"].sum()
    share0 = rows[0]["headcount"] / head0 if head0 else None
    observed = pl.DataFrame({"date": [start], "headcount": [float(head0)], "target_group_share": [share0],
                             "share_low": [share0], "share_high": [share0]},
                            schema=proj.trajectory.schema)
    line = pl.concat([observed, proj.trajectory]).with_columns(
        pl.Series("is_projection", [False] + [True] * proj.trajectory.height))
    line = line.with_columns(pl.Series("target_share", [
        target_share_at(targets, measure=measure, target_group=target_group, at_date=d) for d in line["date"]
    ], dtype=pl.Float64))
    summary = proj.summary.select("reached_label", "probability_reached", "joiner_share_now",
                                  "joiner_share_needed", "method")
    return line.join(summary, how="cross").select(
        "date", "is_projection", "headcount", "target_group_share", "share_low", "share_high", "target_share",
        "reached_label", "probability_reached", "joiner_share_now", "joiner_share_needed", "method")


# The table registry imports it under this name too.
representation_projection = project_representation
