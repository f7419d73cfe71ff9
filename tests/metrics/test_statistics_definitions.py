"""The definitions issue 11 fixed, one test per finding: each fails on the code before the fix.

Independent values come from R (the call is in each comment) or from the raw extracts; the R parity
suite (tests/reference) checks the same tables number by number.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests

from metrics import narrative
from metrics.disparity import decision_stage_table
from metrics.intervals import katz_relative_rate
from metrics.models import rate_ratio_trend
from metrics.queries import Filters
from metrics.rates import mantel_haenszel, stratified_proportion_table
from metrics.significance import NOT_STATED_NOTE, flag_comparisons
from metrics.survival import km_quantile
from metrics.tables import REGISTRY, TIDY, get_table
from metrics.tidy import financial_year_label
from metrics.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


def rows(frame: pl.DataFrame, *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in frame.iter_rows(named=True)}


# 1. representation: the target is read on 31 March, the day officers are counted -------------------

def test_representation_reads_the_target_on_31_march(wh):
    table = rows(get_table(wh, "representation", Filters()).filter(pl.col("target_share").is_not_null()), "stage")
    # 16% by 2022-03-31: FY2021/22 is tested against it (read on 1 March it was "no target set")
    assert table["FY2021/22"]["target_share"] == pytest.approx(0.16, abs=1e-12)
    assert table["FY2021/22"]["p_value"] is not None
    # linear to 28% on 2030-03-31: 0.16 + 0.12 * 365 / 2922 on 2023-03-31 (0.17376 on 1 March)
    assert table["FY2022/23"]["target_share"] == pytest.approx(0.16 + 0.12 * 365 / 2922, rel=1e-12)


# 2. recruit share: only joiners inside the chosen period --------------------------------------------

def test_recruit_share_counts_only_joiners_inside_the_period(wh, small_dir):
    table = get_table(wh, "recruit_share", Filters(start=date(2019, 1, 1), end=date(2023, 6, 1)))
    first = table.filter(pl.col("group") == "Black, Asian, Mixed and Other ethnic groups").row(0, named=True)
    assert first["stage"] == "FY2018/19 part (Jan-Mar 2019)"
    people = pl.read_csv(small_dir / "people.csv", try_parse_dates=True)
    joiners = people.filter((pl.col("worker_type") == "OFFICER") & (pl.col("ethnicity_code") != "NS")
                            & pl.col("join_date").is_between(date(2019, 1, 1), date(2019, 3, 31)))
    assert first["n"] == joiners.height
    last = table.filter(pl.col("group") == "Black, Asian, Mixed and Other ethnic groups").row(-1, named=True)
    assert last["stage"] == "FY2023/24 part (Apr-Jun 2023)"


# 3 and 4. stage tables: decided cases only, pending shown -------------------------------------------

def test_open_cases_are_pending_not_failures():
    # White: 10 at the stage decided (6 sanctioned) and 5 still open; Black: 8 decided (6), 1 open
    frame = pl.DataFrame({"group": ["White", "Black"], "stage": ["Sanction"] * 2, "n": [10, 8], "events": [6, 6],
                          "n_pending": [5, 1]})
    table = rows(decision_stage_table(frame, stages=["Sanction"], characteristic="e", reference_group="White",
                                      min_n=1), "group")
    assert table["White"]["rate"] == pytest.approx(0.6)  # not 6 / 15 = 0.4
    assert (table["White"]["n_pending"], table["Black"]["n_pending"]) == (5, 1)
    assert "decided cases only" in table["Black"]["method"]


def test_misconduct_stages_count_open_cases_as_pending(wh):
    table = get_table(wh, "misconduct_stages", Filters())
    counts = wh.query(
        """select ethnicity_group as "group", count(*) filter (where is_meeting_or_hearing)::bigint as at_stage,
                  count(*) filter (where is_meeting_or_hearing and is_open)::bigint as still_open
           from fct_misconduct_referrals group by all""")
    sanction = rows(table.filter(pl.col("stage") == "Sanction"), "group")
    for g, at_stage, still_open in counts.iter_rows():
        assert sanction[g]["n_pending"] == still_open
        assert sanction[g]["n"] + sanction[g]["n_pending"] == at_stage
    assert sum(r["n_pending"] for r in sanction.values()) > 0  # the sample has open cases


def test_recruitment_applications_in_progress_are_pending(wh):
    table = get_table(wh, "recruitment_funnel", Filters())
    extract = wh.query("select max(extract_date) as d from dim_calendar")["d"][0]
    # in progress: made within 365 days of the extract date and not (yet) joined
    counts = wh.query(
        """select ethnicity_group as "group",
                  count(*) filter (where stage_rank = 6 and applied_date > ?::date - 365)::bigint as waiting,
                  count(*) filter (where stage_rank >= 6)::bigint as offered
           from fct_recruitment_funnel group by all""", [extract])
    joined = rows(table.filter(pl.col("stage") == "Joined"), "group")
    for g, waiting, offered in counts.iter_rows():
        assert joined[g]["n_pending"] == waiting
        assert joined[g]["n"] == offered - waiting
    assert sum(r["n_pending"] for r in joined.values()) > 0


# 5. Kaplan-Meier median exactly on 0.5: R's midpoint, whatever the float rounding --------------------

def test_km_median_where_the_curve_sits_on_one_half():
    # R: quantile(survfit(Surv(c(1,2,3,4), rep(1,4)) ~ 1, conf.type = "log-log"), 0.5) -> 2.5, 1, NA
    assert km_quantile(np.array([1.0, 2, 3, 4]), np.ones(4, dtype=bool), 0.5) == (2.5, 1.0, None)
    # Here the product-limit estimate is 0.4999999999999999 in floating point after 6 days:
    # R: t <- c(1,2,4,4,5,6,6,7,7,9,9,9,11); s <- c(0, rep(1, 12))
    #    quantile(survfit(Surv(t, s) ~ 1, conf.type = "log-log"), 0.5) -> 6.5, 4, 9 (statsmodels: 6)
    t = np.array([1.0, 2, 4, 4, 5, 6, 6, 7, 7, 9, 9, 9, 11])
    assert km_quantile(t, np.array([0] + [1] * 12, dtype=bool), 0.5) == (6.5, 4.0, 9.0)


# 6. Katz interval when every case had the outcome ----------------------------------------------------

def test_katz_interval_does_not_collapse_when_events_equal_n():
    rr, low, high, note = katz_relative_rate(1, 1, 30, 300)
    assert rr == pytest.approx(10.0)
    # unmodified Katz would give exp(log 10 +/- 1.96 * sqrt(1/30 - 1/300)) = 7.0-14.2 around 1 of 1;
    # with 0.5 added to each cell (R, see test_metrics_rates): 3.1071250844-17.6318183190
    assert (low, high) == pytest.approx((3.1071250844, 17.6318183190), rel=1e-9)
    assert "0.5 added to each cell" in note


# 7. interval and test disagreeing: said in words -----------------------------------------------------

def _comparisons(p, low, high, **extra):
    n = len(p)
    return pl.DataFrame({"group": [f"g{i}" for i in range(n)], "p_value": p, "p_adjusted": [None] * n,
                         "is_significant": [False] * n, "ratio_ci_low": low, "ratio_ci_high": high,
                         "method": ["test"] * n, "note": [None] * n, "is_reference": [False] * n,
                         "is_not_stated": [False] * n, **extra},
                        schema_overrides={"p_adjusted": pl.Float64, "note": pl.String})


def test_interval_for_one_comparison_is_explained_after_adjustment():
    frame = flag_comparisons(_comparisons([0.02, 0.5, 0.6, 0.7], [1.1, 0.8, 0.7, 0.6], [1.5, 1.3, 1.4, 1.5]))
    first = frame.row(0, named=True)
    assert first["p_adjusted"] == pytest.approx(0.08) and not first["is_significant"]
    assert first["note"] == ("the 95% interval is for this comparison alone: after allowing for 4 comparisons "
                             "(Holm) the difference is not significant")
    assert frame["note"][1:].is_null().all()  # intervals that include 1 and a test that agrees: no note


def test_flag_comparisons_keeps_reference_and_not_stated_out_and_is_idempotent():
    frame = _comparisons([None, 0.01, 0.04, 0.03], [None, 1.2, 1.1, 1.1], [None, 2.0, 1.9, 1.8]).with_columns(
        pl.Series("is_reference", [True, False, False, False]), pl.Series("is_not_stated", [False, False, False, True]))
    once = flag_comparisons(frame, across="stages")
    # the family is g1 and g2 only: Holm of (0.01, 0.04) = (0.02, 0.04)
    assert once["p_adjusted"].to_list() == pytest.approx([None, 0.02, 0.04, None], nan_ok=True)
    assert once["note"][3] == NOT_STATED_NOTE
    assert once["method"][1] == "test; Holm across all stages (2 comparisons)"
    assert flag_comparisons(once, across="stages").equals(once)


# 8. part years are labelled as such, and every tidy table carries the data date ----------------------

@pytest.mark.parametrize(("fy", "first", "last", "last_day", "expected"), [
    (2025, date(2025, 4, 1), date(2026, 3, 1), date(2026, 3, 31), "FY2025/26"),
    (2026, date(2026, 4, 1), date(2026, 10, 1), date(2026, 10, 31), "FY2026/27 to date (Apr-Oct 2026)"),
    (2026, date(2026, 4, 1), date(2026, 10, 1), date(2026, 10, 15), "FY2026/27 to date (Apr-Oct 2026, to 15 Oct)"),
    (2018, date(2019, 1, 1), date(2019, 3, 1), date(2019, 3, 31), "FY2018/19 part (Jan-Mar 2019)"),
    (2022, date(2022, 10, 1), date(2023, 2, 1), date(2023, 2, 28), "FY2022/23 part (Oct 2022-Feb 2023)"),
])
def test_financial_year_labels_say_part_years(fy, first, last, last_day, expected):
    assert financial_year_label(fy, first, last, last_day=last_day, data_date=last_day if "date" in expected else
                                date(2026, 10, 31)) == expected


def test_tidy_tables_carry_the_data_date_and_the_partial_year(wh):
    extract = wh.query("select max(extract_date) as d from dim_calendar")["d"][0]
    for name, spec in REGISTRY.items():
        if spec.disclosure != TIDY or name == "force_representation":  # published years, each at 31 March
            continue
        table = get_table(wh, name, Filters())
        assert "data_date" in table.columns and "period_label" in table.columns, name
        assert table["data_date"].unique().to_list() == [extract], name
    trend = get_table(wh, "misconduct_trend", Filters())
    assert trend["stage"].unique(maintain_order=True).to_list()[-1] == "FY2026/27 to date (Apr-Oct 2026)"


# 9. the trend test, and the tests named in the sentences ----------------------------------------------

TREND = pl.DataFrame({"group": ["White"] * 4 + ["Black"] * 4, "period": list(range(2016, 2020)) * 2,
                      "events": [40, 42, 45, 41, 30, 26, 24, 19],
                      "exposure": [4000.0, 4100, 4200, 4300, 1000, 1050, 1100, 1150]})


def test_trend_in_the_rate_ratio_matches_r_glm():
    # R: d$slope <- (d$group == "Black") * d$period
    #    glm(events ~ factor(period) + group + slope, offset = log(exposure), family = poisson, data = d)
    #    slope: estimate -0.182881376535217, SE 0.115605890701565, p 0.113663675558965;
    #    exp(est + c(0, -1, 1) * qnorm(.975) * SE) -> 0.832866947440477 0.664005558230974 1.044671002433877
    black = rows(rate_ratio_trend(TREND, characteristic="e", reference_group="White"), "group")["Black"]
    assert (black["ratio"], black["ratio_ci_low"], black["ratio_ci_high"]) == pytest.approx(
        (0.832866947440477, 0.664005558230974, 1.044671002433877), rel=1e-8)
    assert black["p_value"] == pytest.approx(0.113663675558965, rel=1e-7)


def test_is_it_falling_sentence_names_the_trend_test():
    table = rate_ratio_trend(TREND, characteristic="ethnicity_group", reference_group="White")
    [sentence] = narrative.trend_sentences(table.with_columns(pl.lit("FY2016/17 to FY2019/20").alias("period_label")))
    assert sentence == (
        "Is the gap falling? The referral rate ratio of Black officers and staff to White officers and staff "
        "changed by a factor of 0.83 a year (95% CI 0.66–1.04) over FY2016/17 to FY2019/20; not significant after "
        "Holm adjustment (Wald test of the group x year interaction in a Poisson regression, adjusted p = 0.114): "
        "no evidence that it is changing.")


def test_time_to_resolve_sentence_gives_the_log_rank_result(wh):
    sentence = narrative.median_sentence(get_table(wh, "grievance_resolution", Filters()))
    table = rows(get_table(wh, "grievance_resolution", Filters()), "group")
    black = table["Black"]
    assert (f"Black officers and staff: {black['median_days']:.0f} days, vs White: significant after Holm "
            f"adjustment (log-rank test, adjusted p = {black['p_adjusted']:.3f})") in sentence
    assert "White officers and staff: " in sentence and "(the reference group)" in sentence


# 10. the stage docstring says what the code does ------------------------------------------------------

def test_stage_p_values_are_adjusted_across_every_stage():
    # 200 White and 100 Black at stage a; 120 and 70 reach b; 60 and 40 reach c (all decided)
    frame = pl.DataFrame({"group": ["White", "Black"] * 2, "stage": ["b"] * 2 + ["c"] * 2,
                          "n": [200, 100, 120, 70], "events": [120, 70, 60, 40], "n_pending": [0] * 4})
    table = decision_stage_table(frame, stages=["b", "c"], characteristic="e", reference_group="White")
    family = table.filter(pl.col("p_adjusted").is_not_null())
    assert family.height == 2
    assert family["p_adjusted"].to_list() == pytest.approx(multipletests(family["p_value"].to_list(), method="holm")[1])
    assert "adjusted across every stage and group at once" in " ".join(decision_stage_table.__doc__.split())


# 11. families span the table; shares that move over time are compared within years ------------------

def test_misconduct_trend_adjusts_across_every_year_and_group(wh):
    table = get_table(wh, "misconduct_trend", Filters())
    family = table.filter(pl.col("p_adjusted").is_not_null())
    assert family.height == table.filter(~pl.col("is_reference") & ~pl.col("is_not_stated")
                                         & pl.col("p_value").is_not_null()).height > 30
    assert family["p_adjusted"].to_list() == pytest.approx(multipletests(family["p_value"].to_list(), method="holm")[1])


def test_grievance_funnel_writes_the_adjusted_p(wh):
    table = get_table(wh, "grievance_funnel", Filters())
    assert table["p_adjusted"].to_list() == pytest.approx(multipletests(table["p_value"].to_list(), method="holm")[1])
    assert table["is_significant"].to_list() == [p < 0.05 for p in table["p_adjusted"].to_list()]


def test_mantel_haenszel_matches_r():
    # stratum 1: group 3/10, reference 18/90; stratum 2: group 22/40, reference 36/60
    # R: mantelhaen.test(arr, correct = FALSE)$p.value -> 0.912266050656512; MH RR and the
    # Greenland-Robins interval: 0.981481481481481 0.704847208394567 1.366687541666241
    rr, low, high, p, _ = mantel_haenszel([3, 22], [10, 40], [18, 36], [90, 60])
    assert (rr, low, high) == pytest.approx((0.981481481481481, 0.704847208394567, 1.366687541666241), rel=1e-12)
    assert p == pytest.approx(0.912266050656512, rel=1e-12)


def test_a_composition_effect_is_not_reported_as_a_group_difference():
    # Both groups have the same share within each year (20% then 60%), but the minority group's
    # cases are mostly in the later year: crude shares differ (52% vs 36%), within years they do not.
    cells = pl.DataFrame({"group": ["White", "Black", "White", "Black"], "stratum": [2020, 2020, 2021, 2021],
                          "n": [500, 50, 300, 300], "events": [100, 10, 180, 180]})
    row = rows(stratified_proportion_table(cells, characteristic="e", reference_group="White"), "group")["Black"]
    assert row["rate"] == pytest.approx(190 / 350)
    assert row["ratio"] == pytest.approx(1.0, rel=1e-12)
    assert row["p_value"] == pytest.approx(1.0)
    assert not row["is_significant"]
