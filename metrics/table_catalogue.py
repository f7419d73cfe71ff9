"""The metric tables, as data: each table's name, title, description, how it is built (a builder
from metrics/table_builders*.py, with its fact table and columns fixed here) and how it is
disclosure-controlled. metrics/tables.py registers them; adding a table is one entry here (and a
builder, when none of the generic ones fits).
"""

from __future__ import annotations

from functools import partial

from metrics import table_builders as b
from metrics import table_builders_workforce as w
from metrics import table_queries as tq
from metrics.config import DEFAULTS
from metrics.table_spec import COUNTS, CROSSTAB, CURVE, NO_PEOPLE, PERSON_LEVEL, TableSpec

_GRIEVANCES = {"table": "fct_grievance_outcomes"}
_MISCONDUCT = {"table": "fct_misconduct_referrals", "month_col": "referral_month"}
_DAYS = DEFAULTS.service_standard_days
_NO_CHARACTERISTIC = {"disclosure": NO_PEOPLE, "uses_characteristic": False}

GRIEVANCES = (
    TableSpec("grievance_rates", "Grievances raised per 1,000 person-years",
              "Grievances raised in the period per 1,000 person-years in post, by group, with exact Poisson "
              "intervals and rate ratios to the reference group.",
              partial(b.rates, **_GRIEVANCES, month_col="raised_month")),
    TableSpec("grievance_outcomes", "Grievances upheld (in full or part), of those closed",
              "Share of closed grievances upheld or partly upheld, by the aggrieved person's group, with "
              "Wilson intervals, relative rates (Katz), exact or chi-square tests and adjusted p-values.",
              partial(b.proportions, **_GRIEVANCES, month_col="closed_month", denominator="not is_open",
                      numerator="is_upheld")),
    TableSpec("grievance_discrimination_outcomes", "Discrimination grievances upheld, of those closed",
              "As grievance_outcomes, for discrimination grievances only (any protected characteristic).",
              partial(b.proportions, **_GRIEVANCES, month_col="closed_month",
                      denominator="not is_open and is_discrimination", numerator="is_upheld")),
    TableSpec("grievance_bullying_outcomes", "Bullying and harassment grievances upheld, of those closed",
              "As grievance_outcomes, for grievances about bullying, harassment or sexual harassment only: "
              "what the investigation that led to the IOPC recommendations found in one team.",
              partial(b.proportions, **_GRIEVANCES, month_col="closed_month",
                      denominator="not is_open and category in ('BULLYING', 'HARASSMENT', 'SEXUAL_HARASSMENT')",
                      numerator="is_upheld")),
    TableSpec("grievance_upheld_adjusted", "Odds of a grievance being upheld, adjusted for category",
              "Logistic regression (binomial GLM on cells) of upheld among closed grievances on group and "
              "grievance category: adjusted odds ratios vs the reference group.", b.grievance_upheld_adjusted),
    TableSpec("grievance_outcome_mix", "How grievances ended, by group",
              "Closed grievances by outcome and group (counts).",
              partial(b.crosstab, **_GRIEVANCES, month_col="closed_month", column="outcome", label="outcome_label"),
              disclosure=CROSSTAB),
    TableSpec("grievance_categories", "Grievances raised by category and group",
              "Grievances raised in the period by category and the aggrieved person's group (counts).",
              partial(b.crosstab, **_GRIEVANCES, month_col="raised_month", column="category",
                      label="category_label"), disclosure=CROSSTAB),
    TableSpec("grievance_independent_assessor", "Grievances with an independent assessor",
              "Share of grievances raised in the period assessed by someone independent of the local line "
              "management (IOPC recommendation 2), by group; groups compared within each financial year "
              "(Mantel-Haenszel), because the share has risen over time.",
              partial(b.stratified, **_GRIEVANCES, month_col="raised_month", numerator="is_independent_assessor")),
    TableSpec("grievance_resolution", "Time to resolve a grievance (Kaplan-Meier)",
              "Median days from raised to outcome by group, open grievances censored at the extract date, "
              "with a log-rank test across groups.", b.grievance_resolution),
    TableSpec("grievance_resolution_curve", "Share of grievances still open, by days since raised",
              "Kaplan-Meier curve points by group (open grievances censored).", b.grievance_resolution_curve,
              disclosure=CURVE),
    TableSpec("grievance_funnel", "Business areas: grievances per person-year against the force",
              "Each business area's grievance rate with exact Poisson funnel limits (95% and 99.8%) "
              "around the force rate.", b.grievance_funnel, uses_characteristic=False),
)

MISCONDUCT = (
    TableSpec("misconduct_rates", "Misconduct referrals per 1,000 person-years",
              "Referrals in the period per 1,000 person-years in post, by the subject's group, with exact "
              "intervals and rate ratios to the reference group.", partial(b.rates, **_MISCONDUCT)),
    TableSpec("misconduct_trend", "Misconduct referral rate ratio by financial year",
              "The rate ratio to the reference group for each financial year: is 'twice as likely' falling? "
              "A part year is labelled as such; p-values adjusted across every year and group of the table.",
              b.misconduct_trend),
    TableSpec("misconduct_trend_test", "Is the misconduct referral rate ratio falling? A test for trend",
              "For each group, the change per financial year in its referral rate ratio to the reference group, "
              "from a Poisson regression with a group x year interaction (person-years as the exposure), with the "
              "Wald test of no trend, adjusted across groups.", b.misconduct_trend_test),
    TableSpec("misconduct_adjusted", "Misconduct referral rate ratios adjusted for rank, service and area",
              "Poisson GLM with a log person-years offset: incidence-rate ratios vs the reference group "
              "adjusted for rank, length of service and business area (quasi-Poisson if overdispersed).",
              b.misconduct_adjusted),
    TableSpec("misconduct_area_disparity", "Misconduct referrals by business area and group",
              "For every business area, referrals per 1,000 person-years by group with exact Poisson "
              "intervals, the rate ratio to the area's reference group with its interval and the exact "
              "conditional test; p-values adjusted across every comparison in the table.",
              b.misconduct_area_disparity),
    TableSpec("misconduct_stages", "Relative rate index at each misconduct decision point",
              "Of those at the previous stage whose decision here has been made, the share who go on to the "
              "next, by group, relative to the reference group (the disproportionate-contact method); open "
              "cases are counted as pending (n_pending), not as not progressing.", b.misconduct_stages),
    TableSpec("misconduct_outcomes", "Misconduct case outcomes by group",
              "Closed misconduct cases by outcome and the subject's group (counts).",
              partial(b.crosstab, **_MISCONDUCT, column="outcome", label="outcome_label"), disclosure=CROSSTAB),
    TableSpec("failed_to_report", "Failing to report or challenge: the reasons given",
              "Misconduct cases that include failing to report or challenge a colleague's conduct "
              "(IOPC recommendations 10-11), by the reason recorded and the subject's group.",
              partial(b.crosstab, **_MISCONDUCT, column="failed_to_report_reason",
                      label="failed_to_report_reason_label", condition="failed_to_report"), disclosure=CROSSTAB),
)

RECRUITMENT = (
    TableSpec("recruitment_funnel", "Recruitment: pass rate at each stage and the four-fifths test",
              "Of applicants reaching each stage whose decision there has been made, the share passing it, by "
              "group, as a ratio to the reference group; below 0.8 is adverse impact (four-fifths rule), tested "
              "for significance. Applications still in progress are counted as pending (n_pending).",
              w.recruitment_funnel),
    TableSpec("outreach", "Applicants who heard through Outreach, and who spoke only to Outreach",
              "Share of applicants by group who heard of the vacancy through an Outreach team, and who spoke "
              "only to Outreach.", w.outreach),
    TableSpec("representation", "Officer representation against the target trajectory",
              "Share of officers in post at each financial year end from the Black, Asian, Mixed and Other "
              "ethnic groups (and each group separately), with Wilson intervals and a one-sided binomial "
              "test against the target trajectory (16% by 2022, 28% by 2030).", w.representation,
              uses_characteristic=False),
    TableSpec("recruit_share", "Officer joiners from Black, Asian, Mixed and Other ethnic groups",
              "Share of officers joining in each financial year (by joining date, within the chosen period) by "
              "ethnic group, against the 40% recruit-share target, with a one-sided binomial test. A part year is "
              "labelled as such.", w.recruit_share, uses_characteristic=False),
    TableSpec("representation_projection", "Projected officer representation to 2030",
              "Stock-and-flow projection of the share of officers from Black, Asian, Mixed and Other ethnic "
              "groups, from the latest year's joiners and leaver rates, with a simulation interval.",
              w.representation_projection, **_NO_CHARACTERISTIC),
    TableSpec("acting_up", "Acting-up selections by group and the four-fifths test",
              "Share of acting-up candidates selected, by group, as a ratio to the reference group (four-fifths "
              "rule), with the test used (IOPC recommendation 15).",
              partial(b.four_fifths, table="fct_acting_up", month_col="decision_month", denominator="true",
                      numerator="is_selected")),
    TableSpec("acting_up_rationale", "Acting-up decisions with the rationale recorded",
              "Share of acting-up decisions with a recorded rationale, by group; groups compared within each "
              "financial year (Mantel-Haenszel), because recording has risen over time.",
              partial(b.stratified, table="fct_acting_up", month_col="decision_month", numerator="has_rationale")),
)

PROGRESS = (
    TableSpec("stride_status", "STRIDE commitments: latest status", "Each commitment's latest RAG status, "
              "percent complete, overdue milestones and senior lead.", partial(b.rows, query=tq.stride_status),
              **_NO_CHARACTERISTIC),
    TableSpec("stride_history", "STRIDE commitments: status at every board", "RAG status and percent complete "
              "of each commitment at every Management Board.", partial(b.rows, query=tq.stride_history),
              **_NO_CHARACTERISTIC),
    TableSpec("iopc_status", "IOPC recommendations: latest status of each action", "Latest RAG status, "
              "percent complete and overdue milestones of each action on the 15 recommendations.",
              partial(b.rows, query=tq.iopc_status), **_NO_CHARACTERISTIC),
)

SPOC_AND_QUALITY = (
    TableSpec("spoc_monthly", "Grievances each month by business area",
              f"Raised, closed, upheld, open at month end and open beyond the {_DAYS}-day service standard, per "
              "business area and month (one row per area, month and measure).", w.spoc_monthly,
              uses_characteristic=False, disclosure=COUNTS),
    TableSpec("spoc_trend", "Grievances each month: the 13 months to the period's last month",
              f"Raised, closed, open at month end and open beyond the {_DAYS}-day service standard, for one "
              "business area (the whole force when no area is chosen), each month from 12 months before the "
              "period's last month to it (the period's first month is not used). Raised and closed in the last 12 "
              "months add up to the 12-month totals other tables publish, so each is one suppression set "
              "(suppression_set).", w.spoc_trend,
              uses_characteristic=False, disclosure=COUNTS),
    TableSpec("data_quality", "Rows read, accepted and quarantined per extract",
              "Every input row is accepted or quarantined; the counts reconcile.",
              partial(b.rows, query=tq.load_audit), **_NO_CHARACTERISTIC),
    TableSpec("quarantine_rules", "Quarantined rows by rule", "How many rows each contract rule quarantined.",
              partial(b.rows, query=tq.quarantine_by_rule), **_NO_CHARACTERISTIC),
    TableSpec("quarantine", "Quarantined rows", "Each quarantined row with the rule it broke and the value: "
              "analysts only (rows may carry a person id).", partial(b.rows, query=tq.quarantine_rows),
              disclosure=PERSON_LEVEL, uses_characteristic=False),
    TableSpec("not_stated", "'Not stated' shares by characteristic",
              "Share of people in post at the end of the period whose characteristic is not stated: a data "
              "quality figure (rates are computed on stated values).", w.not_stated, uses_characteristic=False),
)

BENCHMARKS_AND_SUPERVISION = (
    TableSpec("force_representation", "Police officer representation by force against the 2011 Census",
              "Home Office published headcounts at 31 March for every force, year and rank group (All ranks, each "
              "rank, chief officers 2003-2021): officers of stated ethnicity (n) and of them Black, Asian, Mixed or "
              "Other (events), with a Wilson interval, the force area's 2011 Census share and the ratio to it "
              "(observed / expected, with funnel limits); then each group. Rows from this warehouse (source) place "
              "the force among them.", w.force_representation, uses_characteristic=False),
    TableSpec("benchmark_quality", "Published reference tables: rows read, accepted and quarantined",
              "Every row of the Home Office and census files is accepted or quarantined by its contract; the counts "
              "reconcile per file, and what was normalised (zero markers, thousands separators, header spellings) "
              "is noted.", w.benchmark_quality, **_NO_CHARACTERISTIC),
    TableSpec("supervision_ratios", "Supervision ratios by team and month against the standards",
              "At each month end: constables per sergeant by team (standard "
              f"{DEFAULTS.constables_per_sergeant:g}:1), teams per inspector by business area "
              f"({DEFAULTS.teams_per_inspector:g}:1), recruits in their first 20 weeks per recruit line manager "
              f"force-wide ({DEFAULTS.recruits_per_line_manager:g}:1) and, on night-time economy and "
              "permanent-nights teams, the people in post longer than the tenure limit "
              f"({DEFAULTS.high_demand_tenure_days} days). is_outside names each unit outside its standard. Team "
              "strength only: no characteristic.", w.supervision_ratios, **_NO_CHARACTERISTIC),
    TableSpec("supervision_trend", "Supervision: units outside each standard, month by month",
              "For each supervision measure and month: the units assessed, how many were outside the standard, "
              "their share and their names.", w.supervision_trend, **_NO_CHARACTERISTIC),
)

# In the order the registry lists them (the order of the original definitions).
TABLES: tuple[TableSpec, ...] = (GRIEVANCES + MISCONDUCT + RECRUITMENT + PROGRESS
                                 + SPOC_AND_QUALITY + BENCHMARKS_AND_SUPERVISION)
