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
        return role == "analyst" or self.disclosure != PERSON_LEVEL


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
    """A metric table for a role. Suppression is forced for staff associations, optional otherwise."""
    if role not in ROLES:
        raise AccessDenied(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
    if name not in REGISTRY:
        raise FilterError(f"unknown table '{name}': choose one of {', '.join(sorted(REGISTRY))}")
    spec = REGISTRY[name]
    if not spec.allowed(role):
        raise AccessDenied(f"the {role.replace('_', ' ')} role cannot see '{name}': it has a row per person")
    f = f or Filters()
    frame = spec.build(wh, f, settings)
    if role == "staff_association" or suppressed:
        frame = apply_disclosure_control(frame, spec, settings)
        if spec.disclosure == CURVE and spec.counts_from:
            # A curve steps down once per closure, so it shows its group's closed and open counts:
            # draw only the groups whose counts the companion table shows (the SPOC pack's rule too).
            counts = get_table(wh, spec.counts_from, f, role=role, suppressed=True, settings=settings)
            hidden = counts.filter(pl.col("is_suppressed").fill_null(False))["group"]
            frame = frame.filter(~pl.col("group").is_in(hidden.implode()))
    return frame


def apply_disclosure_control(frame: pl.DataFrame, spec: TableSpec, settings: Settings) -> pl.DataFrame:
    from metrics import suppression

    if spec.disclosure == TIDY:
        return suppression.suppress_tidy(frame, threshold=settings.suppression_threshold,
                                         style=settings.suppression_style)
    if spec.disclosure == CROSSTAB:
        row, col, value = spec.crosstab
        return suppression.suppress_crosstab(frame, row=row, col=col, value=value,
                                             threshold=settings.suppression_threshold,
                                             style=settings.suppression_style)
    if spec.disclosure == COUNTS:
        return suppression.suppress_counts(frame, by=list(spec.counts_by), value="n",
                                           threshold=settings.suppression_threshold,
                                           style=settings.suppression_style)
    if spec.disclosure == CURVE:
        # A curve step reveals when each case closed and how many were at risk: show only groups
        # large enough for a ratio, and never the at-risk or event counts.
        starts = frame.filter(pl.col("time") == 0).select("group", "at_risk")
        keep = starts.filter(pl.col("at_risk") >= settings.min_group_for_ratio)["group"]
        return frame.filter(pl.col("group").is_in(keep.implode())).drop("at_risk", "n_events")
    if spec.disclosure == NO_PEOPLE:
        return frame
    raise AccessDenied(f"'{spec.name}' has a row per person and cannot be disclosure-controlled")


def reference_group(characteristic: str) -> str:
    return CHARACTERISTICS[q.characteristic_column(characteristic)].reference_group


def adjust_across_table(frame: pl.DataFrame, s: Settings, across: str = "stages") -> pl.DataFrame:
    """Re-adjust p-values across every comparison in a multi-stage table (one family).

    Adjusting within each stage lets the chance of a false flag somewhere in a six-stage funnel
    reach ~26%; the question a reader asks of the table ("is there adverse impact anywhere?") is
    one family, so the adjustment spans the whole table. `across` names the parts in `method`.
    """
    from metrics.significance import ADJUSTMENT_LABELS, adjust_pvalues

    if frame.height == 0:
        return frame
    in_family = frame["p_adjusted"].is_not_null()  # the stated, non-reference comparisons
    raw = [p if keep else None for p, keep in zip(frame["p_value"].to_list(), in_family.to_list(), strict=True)]
    adjusted = adjust_pvalues(raw, s.adjustment)
    label = ADJUSTMENT_LABELS.get(s.adjustment, s.adjustment)
    return frame.with_columns(
        pl.Series("p_adjusted", adjusted, dtype=pl.Float64),
        pl.Series("is_significant", [a is not None and a < s.alpha for a in adjusted], dtype=pl.Boolean),
        pl.when(in_family).then(pl.col("method").str.replace(f"; {label}", "", literal=True) + f"; {label} across all {across}")
        .otherwise(pl.col("method")).alias("method"),
    )


def _proportions(wh: Warehouse, f: Filters, s: Settings, *, table: str, month_col: str, denominator: str,
                 numerator: str) -> pl.DataFrame:
    """events/n by group from a fact table, as a tidy proportion table."""
    from metrics.rates import proportion_table

    cells = q.proportion_cells(wh, f, table=table, month_col=month_col, denominator=denominator,
                               numerator=numerator)
    return proportion_table(cells, min_n=s.min_group_for_ratio, **_common(f, s))


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
    return exposure_rate_table(cells, **_common(f, s))


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
    return logistic_odds_ratios(cells, covariates=("category",), **_common(f, s))


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
       "management (IOPC recommendation 2), by group.")
def grievance_independent_assessor(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _proportions(wh, f, s, table="fct_grievance_outcomes", month_col="raised_month",
                        denominator="true", numerator="is_independent_assessor")


@table("grievance_resolution", "Time to resolve a grievance (Kaplan-Meier)",
       "Median days from raised to outcome by group, open grievances censored at the extract date, "
       "with a log-rank test across groups.")
def grievance_resolution(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.survival import median_table

    return median_table(_resolution_rows(wh, f), characteristic=f.characteristic,
                        reference_group=reference_group(f.characteristic), alpha=s.alpha)


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
    return poisson_funnel(cells, characteristic="business_area_code")


# ---------------------------------------------------------------------------------------------
# Misconduct
# ---------------------------------------------------------------------------------------------

@table("misconduct_rates", "Misconduct referrals per 1,000 person-years",
       "Referrals in the period per 1,000 person-years in post, by the subject's group, with exact "
       "intervals and rate ratios to the reference group.")
def misconduct_rates(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table

    cells = q.rate_cells(wh, f, table="fct_misconduct_referrals", month_col="referral_month")
    return exposure_rate_table(cells, **_common(f, s))


@table("misconduct_trend", "Misconduct referral rate ratio by financial year",
       "The rate ratio to the reference group for each financial year: is 'twice as likely' falling?")
def misconduct_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import exposure_rate_table
    from metrics.tidy import concat_tidy

    years = wh.query(
        """select financial_year, min(month_start) as fy_start, max(month_start) as fy_end
           from dim_calendar group by all order by all""")
    frames = []
    for fy, start, end in years.iter_rows():
        lo = max(start, f.start) if f.start else start
        hi = min(end, f.end) if f.end else end
        if lo > hi:
            continue
        fy_filters = f.with_(start=lo, end=hi)
        cells = q.rate_cells(wh, fy_filters, table="fct_misconduct_referrals", month_col="referral_month")
        if cells.height == 0:
            continue
        frames.append(exposure_rate_table(cells, **_common(f, s)).with_columns(
            pl.lit(f"FY{fy}/{(fy + 1) % 100:02d}").alias("stage")))
    return concat_tidy(frames) if frames else _empty_with_stage()


@table("misconduct_adjusted", "Misconduct referral rate ratios adjusted for rank, service and area",
       "Poisson GLM with a log person-years offset: incidence-rate ratios vs the reference group "
       "adjusted for rank, length of service and business area (quasi-Poisson if overdispersed).")
def misconduct_adjusted(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.models import poisson_irr

    col = q.characteristic_column(f.characteristic)
    covariates = [c for c in ("rank_grade", "service_band", "business_area_code") if c != col]
    if f.area is not None:
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
    return poisson_irr(cells, covariates=covariates, **_common(f, s))


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
    return adjust_across_table(table, s, across="business areas")


MISCONDUCT_STAGES = ("Referred", "Investigated", "Meeting or hearing", "Sanction")


@table("misconduct_stages", "Relative rate index at each misconduct decision point",
       "Of those at the previous stage, the share who go on to the next, by group, relative to the "
       "reference group (the disproportionate-contact method).")
def misconduct_stages(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import relative_rate_index

    col = q.characteristic_column(f.characteristic)
    where, params = q._where(f, "referral_month")
    wide = wh.query(
        f"""select {col} as "group",
                   count(*)::bigint as "Referred",
                   count(*) filter (where is_investigated)::bigint as "Investigated",
                   count(*) filter (where is_meeting_or_hearing)::bigint as "Meeting or hearing",
                   count(*) filter (where has_sanction)::bigint as "Sanction"
            from fct_misconduct_referrals where {where} group by all order by all""", params)
    long = wide.unpivot(index="group", variable_name="stage", value_name="n")
    return adjust_across_table(
        relative_rate_index(long, stages=MISCONDUCT_STAGES, min_n=s.min_group_for_ratio, **_common(f, s)), s)


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
       "Of applicants reaching each stage, the share passing it, by group, as a ratio to the "
       "reference group; below 0.8 is adverse impact (four-fifths rule), tested for significance.")
def recruitment_funnel(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import adverse_impact

    col = _applicant_column(f.characteristic)
    where, params = q._where(f, "applied_month", area_col=None, worker_col=None)
    wide = wh.query(
        f"""select {col} as "group",
                   count(*)::bigint as "Applied",
                   count(*) filter (where passed_sift)::bigint as "Passed sift",
                   count(*) filter (where passed_assessment)::bigint as "Passed assessment centre",
                   count(*) filter (where passed_vetting)::bigint as "Passed vetting",
                   count(*) filter (where passed_medical)::bigint as "Passed medical",
                   count(*) filter (where was_offered)::bigint as "Offered a place",
                   count(*) filter (where has_joined)::bigint as "Joined"
            from fct_recruitment_funnel where {where} group by all order by all""", params)
    long = wide.unpivot(index="group", variable_name="stage", value_name="n")
    return adjust_across_table(adverse_impact(long, stages=RECRUITMENT_STAGES, min_n=s.min_group_for_ratio,
                                              **{**_common(f, s), "characteristic": col}), s)


def _applicant_column(characteristic: str) -> str:
    allowed = ("ethnicity_group", "ethnicity", "sex", "ethnicity_sex")
    if characteristic not in allowed:
        raise FilterError(f"applications record only {', '.join(allowed)}; not '{characteristic}'")
    return characteristic


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
    return adjust_across_table(concat_tidy(frames), s)


@table("representation", "Officer representation against the target trajectory",
       "Share of officers in post at each financial year end from the Black, Asian, Mixed and Other "
       "ethnic groups (and each group separately), with Wilson intervals and a one-sided binomial "
       "test against the target trajectory (16% by 2022, 28% by 2030).", uses_characteristic=False)
def representation(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import share_vs_target

    where, params = q._where(f.with_(worker_type=None), "c.month_start", area_col="pt.business_area_code")
    # In post on the last day of each financial year in the window (the extract date for the
    # current year): the stretches that cover that day.
    counts = wh.query(
        f"""with fy_end as (select financial_year, max(month_start) as month_start,
                                   max(month_end_in_window) as on_date
                            from dim_calendar group by all)
            select c.financial_year, c.month_start as as_at, pt.ethnicity_group as "group",
                   count(distinct pt.person_id)::bigint as n
            from {q.PERSON_TIME} as pt inner join fy_end as c
                on pt.from_date <= c.on_date and pt.to_date >= c.on_date
            where {where} and pt.worker_type_code = 'OFFICER'
            group by all order by all""", params)
    return share_vs_target(counts, _targets(wh), measure="OFFICER_REPRESENTATION",
                           aggregate_groups=AGGREGATE_GROUPS, aggregate_label=AGGREGATE_LABEL, alpha=s.alpha)


@table("recruit_share", "Officer joiners from Black, Asian, Mixed and Other ethnic groups",
       "Share of officers joining in each financial year (by joining date) by ethnic group, against "
       "the 40% recruit-share target, with a one-sided binomial test.", uses_characteristic=False)
def recruit_share(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import share_vs_target

    # By the year they joined (people.join_date), not the year they applied: this year's applicants
    # mostly have not joined yet, which would make the current year's share look like zero.
    where, params = q._where(f, "month_start", area_col=None, worker_col=None)
    counts = wh.query(
        f"""with years as (select financial_year, max(month_end_in_window) as as_at
                           from dim_calendar where {where} group by all)
            select y.financial_year, y.as_at, w.ethnicity_group as "group", sum(w.n_joiners)::bigint as n
            from fct_workforce_flows as w inner join years as y using (financial_year)
            where w.worker_type_code = 'OFFICER' group by all order by all""", params)
    return share_vs_target(counts, _targets(wh), measure="RECRUIT_SHARE",
                           aggregate_groups=AGGREGATE_GROUPS, aggregate_label=AGGREGATE_LABEL, alpha=s.alpha)


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
    return four_fifths_table(cells, min_n=s.min_group_for_ratio, **_common(f, s))


@table("acting_up_rationale", "Acting-up decisions with the rationale recorded",
       "Share of acting-up decisions with a recorded rationale, by group.")
def acting_up_rationale(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    return _proportions(wh, f, s, table="fct_acting_up", month_col="decision_month",
                        denominator="true", numerator="has_rationale")


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
    return concat_tidy(frames)


def _empty_with_stage() -> pl.DataFrame:
    from metrics.tidy import empty_tidy

    return empty_tidy(("stage",))
