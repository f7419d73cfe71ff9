"""The named metric tables: one registry behind `eqdash table`, every dashboard page and every pack.

`get_table(wh, name, filters, role=...)` is the only way data leaves metrics/ for display. It
enforces the role where the data is fetched: a staff association gets disclosure-controlled
aggregates only (suppression applied here, before returning), never a person-level table; the
Management Board gets aggregates; analysts get everything. The dashboard and the exports call
this function, so a page can never show a number `eqdash table` would not print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from metrics import queries as q
from metrics.config import AGGREGATE_GROUPS, AGGREGATE_LABEL, CHARACTERISTICS, DEFAULTS, Settings
from metrics.queries import FilterError, Filters
from metrics.warehouse import Warehouse

ROLES = ("board", "staff_association", "analyst")

# How a table is disclosure-controlled for a restricted role.
TIDY = "tidy"  # rows of group counts with rates: suppress_tidy
CROSSTAB = "crosstab"  # group x category counts: suppress_crosstab on both margins
COUNTS = "counts"  # long counts table: suppress_counts within each `counts_by` set
CURVE = "curve"  # Kaplan-Meier points: small groups dropped, at-risk counts removed
NO_PEOPLE = "no_people"  # no counts about people (e.g. STRIDE status): shown as is
PERSON_LEVEL = "person_level"  # rows about people: analysts only


class AccessDenied(PermissionError):
    """The role may not see this table."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    description: str
    build: Callable[[Warehouse, Filters, Settings], pl.DataFrame]
    disclosure: str = TIDY
    uses_characteristic: bool = True
    crosstab: tuple[str, str, str] = ("group", "category", "n")  # row, column, value for CROSSTAB
    counts_by: tuple[str, ...] = ()  # for COUNTS: the columns whose rows sum to a published total
    counts_from: str | None = None  # for CURVE: the table publishing each curve's counts

    def allowed(self, role: str) -> bool:
        if role == "analyst":
            return True
        if role == "staff_association":
            from metrics.release import is_released

            return self.disclosure == NO_PEOPLE or is_released(self.name)
        return self.disclosure != PERSON_LEVEL


REGISTRY: dict[str, TableSpec] = {}


def table(name: str, title: str, description: str, *, disclosure: str = TIDY, uses_characteristic: bool = True,
          crosstab: tuple[str, str, str] = ("group", "category", "n"), counts_by: tuple[str, ...] = (),
          counts_from: str | None = None):
    def register(fn: Callable[[Warehouse, Filters, Settings], pl.DataFrame]):
        REGISTRY[name] = TableSpec(name, title, description, fn, disclosure, uses_characteristic, crosstab,
                                   counts_by, counts_from)
        return fn

    return register


def get_table(wh: Warehouse, name: str, f: Filters | None = None, *, role: str = "analyst",
              suppressed: bool | None = None, settings: Settings = DEFAULTS) -> pl.DataFrame:
    """A metric table for a role. Staff associations (and `suppressed` for anyone: what a circulated
    pack shows) get the table cut from the protected release (metrics/release.py), for a released
    period only; the Board and analysts get exact numbers for any window."""
    if role not in ROLES:
        raise AccessDenied(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    if name not in REGISTRY:
        raise FilterError(f"unknown table '{name}': choose one of {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[name]
    if not spec.allowed(role):
        if spec.disclosure == PERSON_LEVEL:
            raise AccessDenied(f"the {role.replace('_', ' ')} role cannot see '{name}': it has a row per person")
        raise AccessDenied(f"'{name}' is not in the restricted release for staff associations: it is for the "
                           "Management Board and analysts")
    f = f or Filters()
    if role == "staff_association" or suppressed:
        from metrics import release

        if spec.disclosure == PERSON_LEVEL:
            raise AccessDenied(f"'{name}' has a row per person and is never released")
        if name in release.TABLES or name in release.DERIVED:
            frame = release.release_for(wh, settings).table(name, f)
            if spec.disclosure != TIDY:
                return frame
            from metrics.power import with_evidence  # from the protected counts, like every statistic

            return _dated(wh, f, with_evidence(frame, alpha=settings.alpha, threshold=settings.evidence_ratio_threshold,
                                               min_n=settings.min_group_for_ratio))
        if name == "grievance_funnel":
            release.period_for_filters(wh, f)  # exact area totals, for released periods only
        elif name not in (*release.EXACT_TOTAL_TABLES, *release.PUBLISHED_TABLES) and spec.disclosure != NO_PEOPLE:
            raise AccessDenied(f"'{name}' is not in the restricted release")
    return spec.build(wh, f, settings)


def reference_group(characteristic: str) -> str:
    return q.reference_group(characteristic)


def adjust_across_table(frame: pl.DataFrame, s: Settings, across: str = "stages") -> pl.DataFrame:
    """Re-adjust p-values across every comparison in a multi-part table (one family).

    Adjusting within each stage, year or area lets the chance of a false flag somewhere in the
    table grow with its size (~26% in a six-stage funnel, half the no-effect samples for ten years
    x four groups); the question a reader asks of the table ("is there a difference anywhere?") is
    one family, so the adjustment spans the whole table. `across` names the parts in `method`.
    """
    from metrics.significance import flag_comparisons

    return flag_comparisons(frame, alpha=s.alpha, adjustment=s.adjustment, across=across)


def _data_window(wh: Warehouse) -> tuple:
    """(first month, last month, extract date) of the warehouse."""
    return wh.query("""select min(month_start) as first_month, max(month_start) as last_month,
                              max(extract_date) as extract_date from dim_calendar""").row(0)


def _dated(wh: Warehouse, f: Filters, frame: pl.DataFrame) -> pl.DataFrame:
    """Every tidy table says what period it covers (period_label, unless its rows carry their own)
    and the date the data run to (data_date: the extract date), so no reader takes a part year
    for a whole one or data to October for data to March."""
    from metrics.tidy import month_span, order_tidy

    first, last, extract = _data_window(wh)
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


def _fy_label(fy: int, first_month, last_month, last_day, extract) -> str:
    from metrics.tidy import financial_year_label

    return financial_year_label(fy, first_month, last_month, last_day=last_day, data_date=extract)


def _proportions(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, denominator: str,
                 numerator: str) -> pl.DataFrame:
    """events/n by group from a fact table, as a tidy proportion table."""
    from metrics.rates import proportion_table

    cells = q.proportion_cells(wh, f, table=table, month_col=month_col, denominator=denominator,
                               numerator=numerator)
    return _dated(wh, f, proportion_table(cells, min_n=s.min_group_for_ratio, **_common(f, s)))


def _stratified(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, numerator: str) -> pl.DataFrame:
    """events/n by group compared within financial years (Mantel-Haenszel), for shares that move
    over time: comparing crude shares would report when a group's cases fell as a group difference."""
    from metrics.rates import stratified_proportion_table

    col = q.characteristic_column(f.characteristic)
    where, params = q._where(f, month_col)
    cells = wh.query(
        f"""select {col} as "group", case when month({month_col}) >= 4 then year({month_col})
                                          else year({month_col}) - 1 end as stratum,
                   count(*)::bigint as n, count(*) filter (where {numerator})::bigint as events
            from {table} where {where} group by all order by all""", params)
    return _dated(wh, f, stratified_proportion_table(cells, min_n=s.min_group_for_ratio, **_common(f, s)))


def _common(f: Filters, s: Settings) -> dict:
    return {"characteristic": f.characteristic, "reference_group": reference_group(f.characteristic),
            "alpha": s.alpha, "adjustment": s.adjustment}


# ---------------------------------------------------------------------------------------------
# Grievances
# ---------------------------------------------------------------------------------------------

@table("grievance_rates", "Grievances raised per 1,000 person-years",
       "Grievances raised in the period per 1,000 person-years in post, by group, with exact Poisson "
       "intervals and rate ratios to the reference group.")
def grievance_rates(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table

    cells = q.rate_cells(wh, f, table="fct_grievance_outcomes", month_col="raised_month")
    return _dated(wh, f, exposure_rate_table(cells, **_common(f, s)))


@table("grievance_outcomes", "Grievances upheld (in full or part), of those closed",
       "Share of closed grievances upheld or partly upheld, by the aggrieved person's group, with "
       "Wilson intervals, relative rates (Katz), exact or chi-square tests and adjusted p-values.")
def grievance_outcomes(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _proportions(wh, f, s, table="fct_grievance_outcomes", month_col="closed_month",
                        denominator="not is_open", numerator="is_upheld")


@table("grievance_discrimination_outcomes", "Discrimination grievances upheld, of those closed",
       "As grievance_outcomes, for discrimination grievances only (any protected characteristic).")
def grievance_discrimination_outcomes(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _proportions(wh, f, s, table="fct_grievance_outcomes", month_col="closed_month",
                        denominator="not is_open and is_discrimination", numerator="is_upheld")


@table("grievance_upheld_adjusted", "Odds of a grievance being upheld, adjusted for category",
       "Logistic regression (binomial GLM on cells) of upheld among closed grievances on group and "
       "grievance category: adjusted odds ratios vs the reference group.")
def grievance_upheld_adjusted(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import logistic_odds_ratios

    col = q.characteristic_column(f.characteristic)
    where, params = q._where(f, "closed_month")
    cells = wh.query(
        f"""select {col} as "group", category_label as category, count(*)::bigint as n,
                   count(*) filter (where is_upheld)::bigint as events
            from fct_grievance_outcomes where {where} and not is_open group by all order by all""",
        params,
    )
    return _dated(wh, f, logistic_odds_ratios(cells, covariates=("category",), **_common(f, s)))


@table("grievance_outcome_mix", "How grievances ended, by group",
       "Closed grievances by outcome and group (counts).", disclosure=CROSSTAB)
def grievance_outcome_mix(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return q.crosstab_cells(wh, f, table="fct_grievance_outcomes", month_col="closed_month",
                            column="outcome", label="outcome_label")


@table("grievance_categories", "Grievances raised by category and group",
       "Grievances raised in the period by category and the aggrieved person's group (counts).",
       disclosure=CROSSTAB)
def grievance_categories(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return q.crosstab_cells(wh, f, table="fct_grievance_outcomes", month_col="raised_month",
                            column="category", label="category_label")


@table("grievance_independent_assessor", "Grievances with an independent assessor",
       "Share of grievances raised in the period assessed by someone independent of the local line "
       "management (IOPC recommendation 2), by group; groups compared within each financial year "
       "(Mantel-Haenszel), because the share has risen over time.")
def grievance_independent_assessor(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _stratified(wh, f, s, table="fct_grievance_outcomes", month_col="raised_month",
                       numerator="is_independent_assessor")


@table("grievance_resolution", "Time to resolve a grievance (Kaplan-Meier)",
       "Median days from raised to outcome by group, open grievances censored at the extract date, "
       "with a log-rank test across groups.")
def grievance_resolution(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.survival import median_table

    return _dated(wh, f, median_table(_resolution_rows(wh, f), characteristic=f.characteristic,
                                      reference_group=reference_group(f.characteristic), alpha=s.alpha,
                                      adjustment=s.adjustment))


@table("grievance_resolution_curve", "Share of grievances still open, by days since raised",
       "Kaplan-Meier curve points by group (open grievances censored).", disclosure=CURVE,
       counts_from="grievance_resolution")
def grievance_resolution_curve(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.survival import km_curve

    return km_curve(_resolution_rows(wh, f), characteristic=f.characteristic, alpha=s.alpha)


def _resolution_rows(wh: Warehouse, f: Filters) -> pl.DataFrame:
    col = q.characteristic_column(f.characteristic)
    where, params = q._where(f, "raised_month")
    return wh.query(
        f"""select {col} as "group", days_observed::double as duration, not is_open as is_event
            from fct_grievance_outcomes where {where} order by all""",
        params,
    )


@table("grievance_funnel", "Business areas: grievances per person-year against the force",
       "Each business area's grievance rate with exact Poisson funnel limits (95% and 99.8%) "
       "around the force rate.", uses_characteristic=False)
def grievance_funnel(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.funnel import poisson_funnel

    sub, where, params = q.person_time(f.with_(area=None))
    exposure = wh.query(
        f"""select business_area_code as "group", (sum(exposure_days) / 365.25)::double as exposure
            from {sub} where {where} group by all""", params)
    where, params = q._where(f.with_(area=None), "raised_month")
    events = wh.query(
        f"""select business_area_code as "group", count(*)::bigint as events
            from fct_grievance_outcomes where {where} group by all""", params)
    cells = (exposure.join(events, on="group", how="left")
             .with_columns(pl.col("events").fill_null(0)).sort("group"))
    return _dated(wh, f, poisson_funnel(cells, characteristic="business_area_code", alpha=s.alpha,
                                        adjustment=s.adjustment))


# ---------------------------------------------------------------------------------------------
# Misconduct
# ---------------------------------------------------------------------------------------------

@table("misconduct_rates", "Misconduct referrals per 1,000 person-years",
       "Referrals in the period per 1,000 person-years in post, by the subject's group, with exact "
       "intervals and rate ratios to the reference group.")
def misconduct_rates(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table

    cells = q.rate_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month")
    return _dated(wh, f, exposure_rate_table(cells, **_common(f, s)))


@table("misconduct_trend", "Misconduct referral rate ratio by financial year",
       "The rate ratio to the reference group for each financial year: is 'twice as likely' falling? "
       "A part year is labelled as such; p-values adjusted across every year and group of the table.")
def misconduct_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table
    from metrics.tidy import concat_tidy

    frames = []
    for _fy, label, fy_filters in _financial_years(wh, f):
        cells = q.rate_cells(wh, fy_filters, table="fct_misconduct_referrals", month_col="referral_month")
        if cells.height == 0:
            continue
        frames.append(exposure_rate_table(cells, **_common(f, s)).with_columns(pl.lit(label).alias("stage")))
    if not frames:
        return _empty_with_stage()
    return _dated(wh, f, adjust_across_table(concat_tidy(frames), s, across="financial years and groups"))


@table("misconduct_trend_test", "Is the misconduct referral rate ratio falling? A test for trend",
       "For each group, the change per financial year in its referral rate ratio to the reference group, "
       "from a Poisson regression with a group x year interaction (person-years as the exposure), with the Wald test "
       "of no trend, adjusted across groups.")
def misconduct_trend_test(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import rate_ratio_trend

    cells, labels = [], []
    for fy, label, fy_filters in _financial_years(wh, f):
        part = q.rate_cells(wh, fy_filters, table="fct_misconduct_referrals", month_col="referral_month")
        cells.append(part.with_columns(pl.lit(fy, dtype=pl.Int64).alias("period")))
        labels.append(label)
    frame = pl.concat(cells) if cells else pl.DataFrame(schema={"group": pl.String, "exposure": pl.Float64,
                                                               "events": pl.Int64, "period": pl.Int64})
    table = rate_ratio_trend(frame.select("group", "period", "events", "exposure"), **_common(f, s))
    span = f"{labels[0]} to {labels[-1]}" if labels else "no financial years in the period"
    return _dated(wh, f, table.with_columns(pl.lit(span).alias("period_label")))


def _financial_years(wh: Warehouse, f: Filters) -> list[tuple[int, str, Filters]]:
    """Each financial year the period touches: (year, label, the filters cut to its months). The
    label says when the year is only partly covered (the data end inside it, or the period cuts it)."""
    years = wh.query(
        """select financial_year, min(month_start) as fy_start, max(month_start) as fy_end
           from dim_calendar group by all order by all""")
    extract = _data_window(wh)[2]
    out = []
    for fy, start, end in years.iter_rows():
        lo = max(start, f.start) if f.start else start
        hi = min(end, f.end) if f.end else end
        if lo > hi:
            continue
        last_day = min(q.last_day(hi), extract)
        out.append((fy, _fy_label(fy, lo, hi, last_day, extract), f.with_(start=lo, end=hi)))
    return out


@table("misconduct_adjusted", "Misconduct referral rate ratios adjusted for rank, service and area",
       "Poisson GLM with a log person-years offset: incidence-rate ratios vs the reference group "
       "adjusted for rank, length of service and business area (quasi-Poisson if overdispersed).")
def misconduct_adjusted(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import poisson_irr

    col = q.characteristic_column(f.characteristic)
    covariates = [c for c in ("rank_grade", "service_band", "business_area_code")
                  if c not in q.characteristic_parts(f.characteristic)]
    if f.area is not None and "business_area_code" in covariates:
        covariates.remove("business_area_code")
    keys = ", ".join(covariates)
    sub, where, params = q.person_time(f)
    exposure = wh.query(
        f"""select {col} as "group", {keys}, (sum(exposure_days) / 365.25)::double as exposure
            from {sub} where {where} group by all""",
        params)
    where, params = q._where(f, "referral_month")
    events = wh.query(
        f"""select {col} as "group", {keys}, count(*)::bigint as events
            from fct_misconduct_referrals where {where} group by all""", params)
    cells = (exposure.join(events, on=["group", *covariates], how="full", coalesce=True)
             .with_columns(pl.col("events").fill_null(0), pl.col("exposure").fill_null(0.0))
             .filter(pl.col("exposure") > 0)
             .sort(["group", *covariates]))
    return _dated(wh, f, poisson_irr(cells, covariates=covariates, **_common(f, s)))


@table("misconduct_area_disparity", "Misconduct referrals by business area and group",
       "For every business area, referrals per 1,000 person-years by group with exact Poisson "
       "intervals, the rate ratio to the area's reference group with its interval and the exact "
       "conditional test; p-values adjusted across every comparison in the table.")
def misconduct_area_disparity(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table

    # One query for every (area, group) cell; then each area is its own comparison (its own
    # reference row), computed on arrays. The adjustment family is the whole table, as for the
    # stage tables: a reader scans every area for "is there disparity anywhere?", and with ~40
    # areas x 4 groups a per-area family would flag about 8 comparisons by chance alone.
    cells = q.area_rate_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month")
    table = exposure_rate_table(cells, by="business_area_code", **_common(f, s))
    return _dated(wh, f, adjust_across_table(table, s, across="business areas"))


MISCONDUCT_STAGES = ("Referred", "Investigated", "Meeting or hearing", "Sanction")


@table("misconduct_stages", "Relative rate index at each misconduct decision point",
       "Of those at the previous stage whose decision here has been made, the share who go on to the "
       "next, by group, relative to the reference group (the disproportionate-contact method); open "
       "cases are counted as pending (n_pending), not as not progressing.")
def misconduct_stages(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import decision_stage_table

    col = q.characteristic_column(f.characteristic)
    where, params = q._where(f, "referral_month")
    # (stage, at the previous stage, decided here, progressed)
    steps = (("Investigated", "true", "is_investigation_decided", "is_investigated"),
             ("Meeting or hearing", "is_investigated", "is_route_decided", "is_meeting_or_hearing"),
             ("Sanction", "is_meeting_or_hearing", "is_outcome_decided", "has_sanction"))
    parts = [f"""select {col} as "group", '{stage}' as stage,
                        count(*) filter (where {prev} and {decided})::bigint as n,
                        count(*) filter (where {prev} and {decided} and {done})::bigint as events,
                        count(*) filter (where {prev} and not {decided})::bigint as n_pending
                 from fct_misconduct_referrals where {where} group by all"""  # noqa: S608 - fixed names
             for stage, prev, decided, done in steps]
    long = wh.query(" union all ".join(parts) + " order by 2, 1", params * len(steps))
    return _dated(wh, f, decision_stage_table(long, stages=MISCONDUCT_STAGES[1:], min_n=s.min_group_for_ratio,
                                              **_common(f, s)))


@table("misconduct_outcomes", "Misconduct case outcomes by group",
       "Closed misconduct cases by outcome and the subject's group (counts).", disclosure=CROSSTAB)
def misconduct_outcomes(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return q.crosstab_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month",
                            column="outcome", label="outcome_label")


@table("failed_to_report", "Failing to report or challenge: the reasons given",
       "Misconduct cases that include failing to report or challenge a colleague's conduct "
       "(IOPC recommendations 10-11), by the reason recorded and the subject's group.",
       disclosure=CROSSTAB)
def failed_to_report(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return q.crosstab_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month",
                            column="failed_to_report_reason", label="failed_to_report_reason_label",
                            condition="failed_to_report")


# ---------------------------------------------------------------------------------------------
# Recruitment and representation
# ---------------------------------------------------------------------------------------------

RECRUITMENT_STAGES = ("Applied", "Passed sift", "Passed assessment centre", "Passed vetting",
                      "Passed medical", "Offered a place", "Joined")


@table("recruitment_funnel", "Recruitment: pass rate at each stage and the four-fifths test",
       "Of applicants reaching each stage whose decision there has been made, the share passing it, by "
       "group, as a ratio to the reference group; below 0.8 is adverse impact (four-fifths rule), tested "
       "for significance. Applications still in progress are counted as pending (n_pending).")
def recruitment_funnel(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import decision_stage_table

    col = _applicant_column(f.characteristic)
    where, params = q._where(f, "applied_month", area_col=None, worker_col=None)
    parts = [f"""select {col} as "group", '{stage}' as stage,
                        count(*) filter (where stage_rank >= {rank - 1} and (stage_rank >= {rank} or not is_in_progress))::bigint as n,
                        count(*) filter (where stage_rank >= {rank})::bigint as events,
                        count(*) filter (where stage_rank = {rank - 1} and is_in_progress)::bigint as n_pending
                 from fct_recruitment_funnel where {where} group by all"""  # noqa: S608 - fixed names
             for rank, stage in enumerate(RECRUITMENT_STAGES[1:], start=2)]
    long = wh.query(" union all ".join(parts) + " order by 2, 1", params * (len(RECRUITMENT_STAGES) - 1))
    return _dated(wh, f, decision_stage_table(long, stages=RECRUITMENT_STAGES[1:], kind="four-fifths",
                                              min_n=s.min_group_for_ratio, **_common(f, s)))


def _applicant_column(characteristic: str) -> str:
    allowed = ("ethnicity_group", "ethnicity", "sex", "ethnicity_sex")
    if any(p not in allowed for p in q.characteristic_parts(characteristic)):
        raise FilterError(f"applications record only {', '.join(allowed)}; not '{characteristic}'")
    return q.characteristic_column(characteristic)


@table("outreach", "Applicants who heard through Outreach, and who spoke only to Outreach",
       "Share of applicants by group who heard of the vacancy through an Outreach team, and who spoke "
       "only to Outreach.")
def outreach(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import proportion_table
    from metrics.tidy import concat_tidy

    col = _applicant_column(f.characteristic)
    where, params = q._where(f, "applied_month", area_col=None, worker_col=None)
    frames = []
    for stage, flag in (("Heard via Outreach", "has_heard_via_outreach"),
                        ("Spoke only to Outreach", "has_spoken_only_to_outreach")):
        cells = wh.query(
            f"""select {col} as "group", count(*)::bigint as n,
                       count(*) filter (where {flag})::bigint as events
                from fct_recruitment_funnel where {where} group by all order by all""", params)
        frames.append(proportion_table(cells, min_n=s.min_group_for_ratio, **{**_common(f, s), "characteristic": col})
                      .with_columns(pl.lit(stage).alias("stage")))
    return _dated(wh, f, adjust_across_table(concat_tidy(frames), s))


@table("representation", "Officer representation against the target trajectory",
       "Share of officers in post at each financial year end from the Black, Asian, Mixed and Other "
       "ethnic groups (and each group separately), with Wilson intervals and a one-sided binomial "
       "test against the target trajectory (16% by 2022, 28% by 2030).", uses_characteristic=False)
def representation(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import share_vs_target

    where, params = q._where(f.with_(worker_type=None), "c.month_start", area_col="pt.business_area_code")
    # In post on the last day of each financial year in the window (the extract date for the
    # current year): the stretches that cover that day. The target is read on that same day
    # (31 March), not at the month's start: the 16%-by-2022-03-31 target applies on 31 March 2022.
    counts = wh.query(
        f"""with fy_end as (select financial_year, max(month_start) as month_start,
                                   max(month_end_in_window) as on_date
                            from dim_calendar group by all)
            select c.financial_year, c.on_date as as_at, pt.ethnicity_group as "group",
                   count(distinct pt.person_id)::bigint as n
            from {q.PERSON_TIME} as pt inner join fy_end as c
                on pt.from_date <= c.on_date and pt.to_date >= c.on_date
            where {where} and pt.worker_type_code = 'OFFICER'
            group by all order by all""", params)
    counts = counts.with_columns(pl.struct("financial_year", "as_at").map_elements(
        lambda r: _stock_label(r["financial_year"], r["as_at"]), return_dtype=pl.String).alias("period_label"))
    table = share_vs_target(counts, _targets(wh), measure="OFFICER_REPRESENTATION",
                            aggregate_groups=AGGREGATE_GROUPS, aggregate_label=AGGREGATE_LABEL, alpha=s.alpha)
    return _dated(wh, f, table.with_columns(pl.col("stage").alias("period_label")))


def _stock_label(fy: int, on_date) -> str:
    """A count of people on a day: 'FY2025/26' at 31 March, 'FY2026/27 to date (at 31 Oct 2026)' before."""
    from datetime import date

    base = f"FY{fy}/{(fy + 1) % 100:02d}"
    return base if on_date >= date(fy + 1, 3, 31) else f"{base} to date (at {on_date.day} {on_date:%b %Y})"


@table("recruit_share", "Officer joiners from Black, Asian, Mixed and Other ethnic groups",
       "Share of officers joining in each financial year (by joining date, within the chosen period) by "
       "ethnic group, against the 40% recruit-share target, with a one-sided binomial test. A part year is "
       "labelled as such.", uses_characteristic=False)
def recruit_share(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import share_vs_target

    # By the date they joined (people.join_date), not the date they applied: this year's applicants
    # mostly have not joined yet, which would make the current year's share look like zero. Only
    # joiners inside the period count: --from 2019-01 gives FY2018/19's January-March joiners.
    where, params = q._where(f, "month_start", area_col=None, worker_col=None)
    counts = wh.query(
        f"""with years as (select financial_year, min(month_start) as first_month, max(month_start) as last_month,
                                  max(month_end_in_window) as as_at
                           from dim_calendar where {where} group by all)
            select y.financial_year, y.first_month, y.last_month, y.as_at, p.ethnicity_group as "group",
                   count(*)::bigint as n
            from dim_person as p inner join years as y on p.join_date between y.first_month and y.as_at
            where p.worker_type_code = 'OFFICER' group by all order by all""", params)
    extract = _data_window(wh)[2]
    counts = counts.with_columns(pl.struct("financial_year", "first_month", "last_month", "as_at").map_elements(
        lambda r: _fy_label(r["financial_year"], r["first_month"], r["last_month"], r["as_at"], extract),
        return_dtype=pl.String).alias("period_label"))
    table = share_vs_target(counts, _targets(wh), measure="RECRUIT_SHARE",
                            aggregate_groups=AGGREGATE_GROUPS, aggregate_label=AGGREGATE_LABEL, alpha=s.alpha)
    return _dated(wh, f, table.with_columns(pl.col("stage").alias("period_label")))


@table("representation_projection", "Projected officer representation to 2030",
       "Stock-and-flow projection of the share of officers from Black, Asian, Mixed and Other ethnic "
       "groups, from the latest year's joiners and leaver rates, with a simulation interval.",
       disclosure=NO_PEOPLE, uses_characteristic=False)
def representation_projection(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import representation_projection as project

    flows = wh.query(
        """select financial_year, is_black_asian_mixed_other as is_aggregate,
                  sum(n_headcount_start)::bigint as n_headcount_start,
                  sum(n_joiners)::bigint as n_joiners, sum(n_leavers)::bigint as n_leavers,
                  sum(n_headcount_end)::bigint as n_headcount_end
           from (select *, ethnicity_group in ('Asian', 'Black', 'Mixed', 'Other') as is_black_asian_mixed_other
                 from fct_workforce_flows where worker_type_code = 'OFFICER' and ethnicity_group <> 'Not stated')
           -- complete financial years only: a part-year would understate annual joiners and leavers
           where financial_year in (select financial_year from dim_calendar group by all having count(*) = 12)
           group by all order by all""")
    return project(flows, _targets(wh), alpha=s.alpha)


def _targets(wh: Warehouse) -> pl.DataFrame:
    return wh.query("select measure, target_group, target_date, target_share from stg_targets order by all")


# ---------------------------------------------------------------------------------------------
# Acting-up
# ---------------------------------------------------------------------------------------------

@table("acting_up", "Acting-up selections by group and the four-fifths test",
       "Share of acting-up candidates selected, by group, as a ratio to the reference group (four-fifths "
       "rule), with the test used (IOPC recommendation 15).")
def acting_up(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import four_fifths_table

    cells = q.proportion_cells(wh, f, table="fct_acting_up", month_col="decision_month",
                               denominator="true", numerator="is_selected")
    return _dated(wh, f, four_fifths_table(cells, min_n=s.min_group_for_ratio, **_common(f, s)))


@table("acting_up_rationale", "Acting-up decisions with the rationale recorded",
       "Share of acting-up decisions with a recorded rationale, by group; groups compared within each "
       "financial year (Mantel-Haenszel), because recording has risen over time.")
def acting_up_rationale(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _stratified(wh, f, s, table="fct_acting_up", month_col="decision_month", numerator="has_rationale")


# ---------------------------------------------------------------------------------------------
# STRIDE and the IOPC recommendations (no counts of people: shown to every role)
# ---------------------------------------------------------------------------------------------

@table("stride_status", "STRIDE commitments: latest status", "Each commitment's latest RAG status, "
       "percent complete, overdue milestones and senior lead.", disclosure=NO_PEOPLE, uses_characteristic=False)
def stride_status(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select commitment_id, theme, commitment, board_date, rag_status, previous_rag_status,
                  percent_complete, percent_change, milestones_due, milestones_met, n_milestones_overdue,
                  senior_lead, narrative
           from fct_stride_progress where is_latest order by commitment_id""")


@table("stride_history", "STRIDE commitments: status at every board", "RAG status and percent complete "
       "of each commitment at every Management Board.", disclosure=NO_PEOPLE, uses_characteristic=False)
def stride_history(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select commitment_id, theme, board_date, rag_status, percent_complete, n_milestones_overdue
           from fct_stride_progress order by commitment_id, board_date""")


@table("iopc_status", "IOPC recommendations: latest status of each action", "Latest RAG status, "
       "percent complete and overdue milestones of each action on the 15 recommendations.",
       disclosure=NO_PEOPLE, uses_characteristic=False)
def iopc_status(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select recommendation_id, theme, recommendation, action_id, action, board_date, rag_status,
                  percent_complete, milestones_due, milestones_met, n_milestones_overdue, senior_lead
           from fct_iopc_progress where is_latest order by recommendation_id, action_id""")


# ---------------------------------------------------------------------------------------------
# SPOC monthly and data quality
# ---------------------------------------------------------------------------------------------

SPOC_MEASURES = {
    "n_raised": "Raised",
    "n_closed": "Closed",
    "n_upheld": "Upheld (in full or part)",
    "n_open": "Open at month end",
    "n_open_overdue": "Open beyond 90 days",
    "n_independent_assessor": "Independent assessor",
}


@table("spoc_monthly", "Grievances each month by business area",
       "Raised, closed, upheld, open at month end and open beyond the 90-day service standard, per "
       "business area and month (one row per area, month and measure).", uses_characteristic=False,
       disclosure=COUNTS, counts_by=("month_start", "measure"))
def spoc_monthly(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    where, params = q._where(f, "month_start", worker_col=None)
    wide = wh.query(
        f"""select business_area_code, business_area_name, month_start, {", ".join(SPOC_MEASURES)}
            from fct_spoc_monthly where {where} order by business_area_code, month_start""", params)
    return (wide.unpivot(index=["business_area_code", "business_area_name", "month_start"],
                         variable_name="measure", value_name="n")
            .with_columns(pl.col("measure").replace_strict(SPOC_MEASURES), pl.col("n").cast(pl.Int64)))


# The SPOC pack's headline measures, in display order, with their labels.
PACK_MEASURES = {
    "n_raised": "Grievances raised",
    "n_closed": "Grievances closed",
    "n_open": "Open at month end",
    "n_open_overdue": "Open longer than the 90-day service standard",
}
# Raised and closed add up across months to totals other tables publish (the 12-month categories
# and outcome tables), so over those 12 months they are one suppression set; open and overdue are
# stocks, not additive, so each of their cells stands alone (primary suppression).
PACK_ADDITIVE = ("n_raised", "n_closed")


@table("spoc_trend", "Grievances each month: the 13 months to the period's last month",
       "Raised, closed, open at month end and open beyond the 90-day service standard, for one business "
       "area (the whole force when no area is chosen), each month from 12 months before the period's last "
       "month to it (the period's first month is not used). Raised and closed in the last 12 months add up "
       "to the 12-month totals other tables publish, so each is one suppression set (suppression_set).",
       uses_characteristic=False, disclosure=COUNTS, counts_by=("suppression_set",))
def spoc_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    end = f.end
    if end is None:
        latest = wh.query("select max(month_start) as m from fct_spoc_monthly")["m"]
        end = latest[0] if latest.len() else None
    schema = {"month_start": pl.Date, "measure": pl.String, "label": pl.String, "n": pl.Int64,
              "suppression_set": pl.String}
    if end is None:
        return pl.DataFrame(schema=schema)
    start, year_start = q.add_months(end, -12), q.add_months(end, -11)
    where, params = q._where(f.with_(start=start, end=end), "month_start", worker_col=None)
    sums = ", ".join(f"coalesce(sum({m}), 0)::bigint as {m}" for m in PACK_MEASURES)
    # Every month of the window, with zeros for months the area had nothing.
    wide = wh.query(
        f"""select c.month_start, {", ".join(f"coalesce(x.{m}, 0)::bigint as {m}" for m in PACK_MEASURES)}
            from dim_calendar as c left join (
                select month_start, {sums} from fct_spoc_monthly where {where} group by all
            ) as x using (month_start)
            where c.month_start between ? and ? order by c.month_start""",  # noqa: S608 - fixed column names
        [*params, start, end])
    order = {m: i for i, m in enumerate(PACK_MEASURES)}
    return (wide.unpivot(index="month_start", on=list(PACK_MEASURES), variable_name="measure", value_name="n")
            .with_columns(
                pl.col("measure").replace_strict(PACK_MEASURES, return_dtype=pl.String).alias("label"),
                pl.col("n").cast(pl.Int64),
                pl.when(pl.col("measure").is_in(PACK_ADDITIVE) & (pl.col("month_start") >= year_start))
                .then(pl.col("measure") + pl.lit(f" {year_start:%Y-%m} to {end:%Y-%m}"))
                .otherwise(pl.col("measure") + " " + pl.col("month_start").dt.strftime("%Y-%m"))
                .alias("suppression_set"),
                pl.col("measure").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
            .sort("_o", "month_start").drop("_o")
            .select("month_start", "measure", "label", "n", "suppression_set"))


@table("data_quality", "Rows read, accepted and quarantined per extract",
       "Every input row is accepted or quarantined; the counts reconcile.", disclosure=NO_PEOPLE,
       uses_characteristic=False)
def data_quality(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select extract, file, rows_read, rows_accepted, rows_quarantined, n_normalised, notes
           from load_audit order by extract""")


@table("quarantine_rules", "Quarantined rows by rule", "How many rows each contract rule quarantined.",
       disclosure=NO_PEOPLE, uses_characteristic=False)
def quarantine_rules(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select extract, rule, column_name, count(distinct source_row)::bigint as n_rows
           from quarantine group by all order by extract, n_rows desc""")


@table("quarantine", "Quarantined rows", "Each quarantined row with the rule it broke and the value: "
       "analysts only (rows may carry a person id).", disclosure=PERSON_LEVEL, uses_characteristic=False)
def quarantine(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return wh.query(
        """select extract, file, source_row, rule, column_name, value, message
           from quarantine order by extract, source_row, rule""")


@table("not_stated", "'Not stated' shares by characteristic",
       "Share of people in post at the end of the period whose characteristic is not stated: a data "
       "quality figure (rates are computed on stated values).", uses_characteristic=False)
def not_stated(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import not_stated_share
    from metrics.tidy import concat_tidy

    last = wh.query("select max(month_start) as m from dim_calendar")["m"][0]
    if f.start is not None and f.start > last:
        return _empty_with_stage().drop("stage")  # the period is after the data: nothing to report
    month = min(f.end, last) if f.end else last
    # in post at the end of the month (the extract date for the current month)
    on_date = wh.query("select month_end_in_window as d from dim_calendar where month_start = ?", [month])["d"]
    if on_date.len() == 0:
        return _empty_with_stage().drop("stage")  # the period is before the data
    on_date = on_date[0]
    frames = []
    for c in CHARACTERISTICS.values():
        if c.not_stated is None or c.column in ("ethnicity", "ethnicity_sex"):
            continue
        where, params = q._where(f.with_(start=None, end=None), "from_date")
        counts = wh.query(
            f"""select {c.column} as "group", count(distinct person_id)::bigint as n
                from {q.PERSON_TIME} where {where} and from_date <= ? and to_date >= ? group by all""",
            [*params, on_date, on_date])
        frames.append(not_stated_share(counts, characteristic=c.column, not_stated=c.not_stated, alpha=s.alpha))
    return _dated(wh, f.with_(start=month, end=month), concat_tidy(frames))


def _empty_with_stage() -> pl.DataFrame:
    from metrics.tidy import empty_tidy

    return empty_tidy(("stage",))


# ---------------------------------------------------------------------------------------------
# Benchmarks: the published Home Office tables and the 2011 Census (metrics/benchmarks.py)
# ---------------------------------------------------------------------------------------------

BENCHMARK_TABLES = ("fct_force_headcount", "stg_census_population")


def has_benchmarks(wh: Warehouse) -> bool:
    return all(t in wh.tables() for t in BENCHMARK_TABLES)


def own_force_in_post(wh: Warehouse) -> pl.DataFrame:
    """The warehouse's police officers in post at each 31 March of its window, by rank code and
    ethnic group (year, rank_grade, ethnicity_group, headcount)."""
    from metrics.benchmarks import march_dates

    bounds = wh.query("select min(month_start) as first, max(month_end_in_window) as last from dim_calendar")
    if bounds.height == 0 or bounds["first"][0] is None:
        return pl.DataFrame(schema={"year": pl.Int64, "rank_grade": pl.String, "ethnicity_group": pl.String,
                                    "headcount": pl.Int64})
    dates = march_dates(bounds["first"][0], bounds["last"][0])
    frames = [wh.query(
        f"""select ?::bigint as year, rank_grade, ethnicity_group, count(distinct person_id)::bigint as headcount
            from {q.PERSON_TIME} where worker_type_code = 'OFFICER' and from_date <= ? and to_date >= ?
            group by all""", [d.year, d, d]) for d in dates]
    return pl.concat(frames) if frames else pl.DataFrame()


@table("force_representation", "Police officer representation by force against the 2011 Census",
       "Home Office published headcounts at 31 March for every force, year and rank group (All ranks, each "
       "rank, chief officers 2003-2021): officers of stated ethnicity (n) and of them Black, Asian, Mixed or "
       "Other (events), with a Wilson interval, the force area's 2011 Census share and the ratio to it "
       "(observed / expected, with funnel limits); then each group. Rows from this warehouse (source) place "
       "the force among them.", uses_characteristic=False)
def force_representation(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.benchmarks import EXTRAS, force_representation, own_force_headcount
    from metrics.tidy import empty_tidy

    if not has_benchmarks(wh):
        raise FilterError("this warehouse has no benchmark tables: load them with "
                          "`eqdash benchmark load --reference DIR --db PATH`")
    headcount = wh.table("fct_force_headcount")
    census = wh.table("stg_census_population")
    own = own_force_headcount(own_force_in_post(wh).filter(pl.col("headcount") > 0)) if "fct_person_time" in wh.tables() else None
    frame = force_representation(headcount, census, alpha=s.alpha, adjustment=s.adjustment, own=own)
    if f.start is not None or f.end is not None:  # the counts at each 31 March inside the period
        lo = f.start or q.EARLIEST
        hi = q.last_day(f.end) if f.end else q.LATEST
        years = [y for y in range(lo.year, hi.year + 1) if lo <= date(y, 3, 31) <= hi]
        frame = frame.filter(pl.col("year").is_in(years))
    return frame if frame.height else empty_tidy(EXTRAS)


@table("benchmark_quality", "Published reference tables: rows read, accepted and quarantined",
       "Every row of the Home Office and census files is accepted or quarantined by its contract; the counts "
       "reconcile per file, and what was normalised (zero markers, thousands separators, header spellings) "
       "is noted.", disclosure=NO_PEOPLE, uses_characteristic=False)
def benchmark_quality(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    if "benchmark_audit" not in wh.tables():
        raise FilterError("this warehouse has no benchmark tables: load them with "
                          "`eqdash benchmark load --reference DIR --db PATH`")
    return wh.query("""select extract, file, rows_read, rows_accepted, rows_quarantined, notes
                       from benchmark_audit order by extract desc, file""")


# ---------------------------------------------------------------------------------------------
# Supervision ratios (IOPC recommendations 13-14; metrics/supervision.py)
# ---------------------------------------------------------------------------------------------

def _supervision_rows(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics import supervision as sv

    where, params = q._where(f, "month_start", worker_col=None)
    teams = wh.query(f"select * from fct_team_months where {where}", params)
    tenure = wh.query(f"select * from fct_team_tenure where {where}", params)
    where_force, params_force = q._where(f.with_(area=None), "month_start", worker_col=None)
    recruits = wh.query(f"select * from fct_recruit_months where {where_force}", params_force)
    frames = [sv.constables_per_sergeant(teams, standard=s.constables_per_sergeant),
              sv.teams_per_inspector(teams, standard=s.teams_per_inspector),
              sv.recruits_per_line_manager(recruits, standard=s.recruits_per_line_manager),
              sv.high_demand_tenure(tenure, limit_days=s.high_demand_tenure_days)]
    return pl.concat([fr.cast(sv.RATIO_SCHEMA) for fr in frames])


@table("supervision_ratios", "Supervision ratios by team and month against the standards",
       "At each month end: constables per sergeant by team (standard 10:1), teams per inspector by business "
       "area (6:1), recruits in their first 20 weeks per recruit line manager force-wide (90:1) and, on "
       "night-time economy and permanent-nights teams, the people in post longer than the tenure limit "
       "(730 days). is_outside names each unit outside its standard. Team strength only: no characteristic.",
       disclosure=NO_PEOPLE, uses_characteristic=False)
def supervision_ratios(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _supervision_rows(wh, f, s)


@table("supervision_trend", "Supervision: units outside each standard, month by month",
       "For each supervision measure and month: the units assessed, how many were outside the standard, "
       "their share and their names.", disclosure=NO_PEOPLE, uses_characteristic=False)
def supervision_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.supervision import supervision_trend as trend

    return trend(_supervision_rows(wh, f, s))


# ---------------------------------------------------------------------------------------------
# Two characteristics crossed (`-c ethnicity_group,disability`): every tidy table by group gets
# the Overall row beside its cells (metrics/crossing.py); the cells, reference and adjustment come
# from metrics/queries.py. Kept last: it wraps the tables registered above.
# ---------------------------------------------------------------------------------------------

def _with_overall_when_crossed(build: Callable[[Warehouse, Filters, Settings], pl.DataFrame]):
    def crossed(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
        from metrics.crossing import with_overall

        frame = build(wh, f, s)
        return with_overall(frame, alpha=s.alpha) if q.is_crossed(f.characteristic) else frame

    crossed.__wrapped__ = build  # type: ignore[attr-defined]
    return crossed


for _name, _spec in list(REGISTRY.items()):
    if _spec.disclosure == TIDY and _spec.uses_characteristic:
        REGISTRY[_name] = TableSpec(_spec.name, _spec.title, _spec.description, _with_overall_when_crossed(_spec.build),
                                    _spec.disclosure, _spec.uses_characteristic, _spec.crosstab, _spec.counts_by,
                                    _spec.counts_from)


# Evidence strength on every comparison (metrics/power.py): the smallest ratio each row could have
# detected and the verdict, on every tidy table. Kept last, over the Overall rows above.
def _with_evidence(build: Callable[[Warehouse, Filters, Settings], pl.DataFrame]):
    def evidenced(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
        from metrics.power import with_evidence

        return with_evidence(build(wh, f, s), alpha=s.alpha, threshold=s.evidence_ratio_threshold,
                             min_n=s.min_group_for_ratio)

    evidenced.__wrapped__ = build  # type: ignore[attr-defined]
    return evidenced


for _name, _spec in list(REGISTRY.items()):
    if _spec.disclosure == TIDY:
        REGISTRY[_name] = TableSpec(_spec.name, _spec.title, _spec.description, _with_evidence(_spec.build),
                                    _spec.disclosure, _spec.uses_characteristic, _spec.crosstab, _spec.counts_by,
                                    _spec.counts_from)
