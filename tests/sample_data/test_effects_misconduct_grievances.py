"""Planted effects 1-3 recovered from the mps sample's CSVs (sample_data/README.md): misconduct
referral rate ratios by ethnic group and year, the misconduct decision points, grievance rates,
outcomes and times. Tolerances: sample_checks (3.5 standard errors from the data's own counts).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sample_checks import (
    EXTRACT_DATE,
    MINORITY,
    Z,
    assert_prop,
    assert_ratio,
    fy,
    people,
    ratio_of_props,
    read,
)

# ---------------------------------------------------------------------------------------------
# Effect 1: misconduct referrals (conditional rate ratio by ethnic group and financial year)


SERVICE_BREAKS = [2, 5, 10, 20]


def officer_strata(directory: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Officer person-time and referrals by month stratum: FY, rank, service band, area, ethnic group.

    Person-time is counted in days within each calendar month; service band and FY are taken at the
    first of the month for both exposure and events, so the two line up exactly.
    """
    p = people(directory).filter(pl.col("worker_type") == "OFFICER").select("person_id", "group", "join_date")
    s = read(directory, "postings").join(p, on="person_id")
    start, end = date(2016, 4, 1), EXTRACT_DATE
    s = s.with_columns(
        pl.max_horizontal(pl.col("start_date"), pl.lit(start)).alias("cs"),
        pl.min_horizontal(pl.col("end_date").fill_null(end), pl.lit(end)).alias("ce"),
    ).filter(pl.col("ce") >= pl.col("cs"))
    s = s.with_columns(pl.date_ranges(pl.col("cs").dt.month_start(), pl.col("ce"), "1mo").alias("month")).explode("month")
    s = s.with_columns(
        ((pl.min_horizontal(pl.col("ce"), pl.col("month").dt.month_end()) - pl.max_horizontal(pl.col("cs"), pl.col("month"))).dt.total_days() + 1).alias("days")
    )
    years = (pl.col("month") - pl.col("join_date")).dt.total_days() / 365.25

    def band() -> pl.Expr:
        return pl.sum_horizontal([(years >= b).cast(pl.Int8) for b in SERVICE_BREAKS])

    keys = ["fy", "rank_grade", "band", "business_area_code", "group"]
    exposure = s.with_columns(fy("month"), band().alias("band")).group_by(keys).agg((pl.col("days").sum() / 365.25).alias("py"))
    cases = read(directory, "misconduct_cases").join(p, on="person_id")
    cases = cases.join(read(directory, "postings").select("person_id", "business_area_code", "rank_grade", "start_date", "end_date"),
                       on=["person_id", "business_area_code"])
    cases = cases.filter((pl.col("referral_date") >= pl.col("start_date")) & (pl.col("end_date").is_null() | (pl.col("referral_date") <= pl.col("end_date"))))
    cases = cases.with_columns(pl.col("referral_date").dt.month_start().alias("month"))
    events = cases.with_columns(fy("month"), band().alias("band")).group_by(keys).agg(pl.len().alias("events"))
    return exposure, events


def mh_rate_ratio(exposure: pl.DataFrame, events: pl.DataFrame, group: str | tuple[str, ...], fys: range) -> tuple[float, float, float]:
    """Mantel-Haenszel rate ratio (group vs White) over strata, its log SE (Greenland-Robins), and the crude ratio."""
    groups = (group,) if isinstance(group, str) else group
    d = exposure.join(events, on=["fy", "rank_grade", "band", "business_area_code", "group"], how="left").fill_null(0)
    d = d.filter(pl.col("fy").is_in(list(fys)), pl.col("group").is_in([*groups, "White"]))
    d = d.with_columns(pl.col("group").is_in(groups).alias("is_g"))
    st = d.group_by(["fy", "rank_grade", "band", "business_area_code"]).agg(
        pl.col("events").filter(pl.col("is_g")).sum().alias("a"),
        pl.col("events").filter(~pl.col("is_g")).sum().alias("b"),
        pl.col("py").filter(pl.col("is_g")).sum().alias("t1"),
        pl.col("py").filter(~pl.col("is_g")).sum().alias("t0"),
    ).filter((pl.col("t1") > 0) & (pl.col("t0") > 0))
    a, b, t1, t0 = (st[c].to_numpy().astype(float) for c in ("a", "b", "t1", "t0"))
    t = t1 + t0
    num, den = (a * t0 / t).sum(), (b * t1 / t).sum()
    rr = num / den
    var = (t1 * t0 * (a + b) / t**2).sum() / (num * den)
    crude = (a.sum() / t1.sum()) / (b.sum() / t0.sum())
    return rr, math.sqrt(var), crude


@pytest.fixture(scope="module")
def misconduct_strata(mps):
    return officer_strata(mps)


def test_misconduct_referral_ratio_is_two_in_2016_for_every_group(misconduct_strata):
    exposure, events = misconduct_strata
    rr, se, _ = mh_rate_ratio(exposure, events, MINORITY, range(2016, 2017))
    assert_ratio(rr, se, 2.0, "all non-White groups vs White, FY2016/17")
    for group in MINORITY:
        rr, se, _ = mh_rate_ratio(exposure, events, group, range(2016, 2017))
        assert_ratio(rr, se, 2.0, f"{group} vs White, FY2016/17")


@pytest.mark.parametrize(("group", "planted"), [("Black", 1.8), ("Asian", 1.55), ("Mixed", 1.4), ("Other", 1.5)])
def test_misconduct_referral_ratio_falls_to_planted_values_from_2022(misconduct_strata, group, planted):
    exposure, events = misconduct_strata
    rr, se, crude = mh_rate_ratio(exposure, events, group, range(2022, 2027))
    assert_ratio(rr, se, planted, f"{group} vs White, FY2022/23 on (adjusted)")


def test_crude_misconduct_ratio_is_higher_than_the_adjusted(misconduct_strata):
    # non-White officers are more often junior PCs with short service, both of which carry more referrals
    exposure, events = misconduct_strata
    rr, _, crude = mh_rate_ratio(exposure, events, MINORITY, range(2016, 2027))
    assert crude > rr * 1.04, (crude, rr)


def test_no_effects_misconduct_ratio_is_one(mps_null):
    c = read(mps_null, "misconduct_cases").join(people(mps_null).select("person_id", "group"), on="person_id")
    exposure, events = officer_strata(mps_null)
    for group in MINORITY:
        rr, se, crude = mh_rate_ratio(exposure, events, group, range(2016, 2027))
        assert_ratio(rr, se, 1.0, f"{group} vs White with no effects (adjusted)")
        assert_ratio(crude, se, 1.0, f"{group} vs White with no effects (crude)")
    # with no effects every decision point is alike too
    inv = c.group_by("group").agg((pl.col("is_investigated") == "Y").sum().alias("x"), pl.len().alias("n"))
    rates = {g: (x, n) for g, x, n in inv.rows()}
    r, se = ratio_of_props(*rates["Black"], *rates["White"])
    assert_ratio(r, se, 1.0, "investigation RRI Black, no effects")


# ---------------------------------------------------------------------------------------------
# Effect 2: misconduct decision points


def test_investigation_rate_is_planted_at_each_decision_point(mps):
    c = read(mps, "misconduct_cases").join(people(mps).select("person_id", "group"), on="person_id")
    inv = {g: (x, n) for g, x, n in c.group_by("group").agg((pl.col("is_investigated") == "Y").sum(), pl.len()).rows()}
    x, n = inv["White"]
    assert_prop(x / n, n, 0.45, "P(investigated | referred), White")
    r, se = ratio_of_props(*inv["Black"], *inv["White"])
    assert_ratio(r, se, 1.25, "relative rate index at investigation, Black")
    for group in ("Asian", "Mixed", "Other"):
        r, se = ratio_of_props(*inv[group], *inv["White"])
        assert_ratio(r, se, 1.0, f"relative rate index at investigation, {group}")
    # later stages: meeting/hearing given investigated, sanction given meeting/hearing - equal for all
    decided = c.filter(pl.col("is_investigated") == "Y", pl.col("route").is_not_null())
    hearing = pl.col("route").is_in(["MISCONDUCT_MEETING", "GROSS_MISCONDUCT_HEARING"])
    mh = {g: (x, n) for g, x, n in decided.group_by("group").agg(hearing.sum(), pl.len()).rows()}
    r, se = ratio_of_props(*mh["Black"], *mh["White"])
    assert_ratio(r, se, 1.0, "meeting/hearing given investigated, Black vs White")
    sanction = pl.col("outcome").is_in(["WRITTEN_WARNING", "FINAL_WRITTEN_WARNING", "REDUCTION_IN_RANK", "DISMISSAL"])
    heard = c.filter(hearing, pl.col("outcome").is_not_null(), pl.col("outcome") != "RESIGNED_RETIRED")
    sa = {g: (x, n) for g, x, n in heard.group_by("group").agg(sanction.sum(), pl.len()).rows()}
    r, se = ratio_of_props(*sa["Black"], *sa["White"])
    assert_ratio(r, se, 1.0, "sanction given meeting/hearing, Black vs White")


def test_failed_to_report_share_and_reasons(mps):
    c = read(mps, "misconduct_cases")
    ftr = c.filter(pl.col("failed_to_report") == "Y")
    assert_prop(ftr.height / c.height, c.height, 0.07, "failed_to_report share")
    assert c.filter(pl.col("failed_to_report") == "N")["failed_to_report_reason"].null_count() == c.height - ftr.height
    assert ftr["failed_to_report_reason"].null_count() == 0
    shares = {"FEAR_OF_REPRISAL": 0.40, "LOYALTY_TO_COLLEAGUES": 0.25, "DID_NOT_RECOGNISE": 0.15,
              "NOT_BELIEVED": 0.10, "DID_NOT_KNOW_HOW": 0.05, "OTHER": 0.05}
    for reason, share in shares.items():
        assert_prop((ftr["failed_to_report_reason"] == reason).mean(), ftr.height, share, reason)


def test_dismissal_ends_service_on_the_outcome_date(mps):
    c = read(mps, "misconduct_cases").filter(pl.col("outcome") == "DISMISSAL")
    p = read(mps, "people").filter(pl.col("leaving_reason") == "DISMISSAL")
    assert c.height > 50
    assert set(c["person_id"]) == set(p["person_id"])
    first = c.group_by("person_id").agg(pl.col("outcome_date").min()).join(p, on="person_id")
    assert (first["outcome_date"] == first["leave_date"]).all()


# ---------------------------------------------------------------------------------------------
# Effect 3: grievances


def grievance_exposure(directory: Path) -> pl.DataFrame:
    """Person-years in the window by person and whether the spell was in North East BCU."""
    s = read(directory, "postings").with_columns(
        pl.max_horizontal(pl.col("start_date"), pl.lit(date(2016, 4, 1))).alias("cs"),
        pl.min_horizontal(pl.col("end_date").fill_null(EXTRACT_DATE), pl.lit(EXTRACT_DATE)).alias("ce"),
    ).filter(pl.col("ce") >= pl.col("cs"))
    s = s.with_columns((((pl.col("ce") - pl.col("cs")).dt.total_days() + 1) / 365.25).alias("py"),
                       (pl.col("business_area_code") == "NE").alias("is_ne"))
    return s.join(people(directory).select("person_id", "sex", "group"), on="person_id")


def grievance_rates(directory: Path, by: list[str]) -> pl.DataFrame:
    e = grievance_exposure(directory).group_by(by).agg(pl.col("py").sum())
    g = read(directory, "grievances").with_columns((pl.col("business_area_code") == "NE").alias("is_ne"))
    g = g.join(people(directory).select("person_id", "sex", "group"), on="person_id").group_by(by).agg(pl.len().alias("events"))
    return e.join(g, on=by, how="left").fill_null(0)


def mh_grievance_ratio(d: pl.DataFrame, column: str, group: str, ref: str, strata: list[str]) -> tuple[float, float]:
    d = d.filter(pl.col(column).is_in([group, ref]))
    st = d.group_by(strata).agg(
        pl.col("events").filter(pl.col(column) == group).sum().alias("a"),
        pl.col("events").filter(pl.col(column) == ref).sum().alias("b"),
        pl.col("py").filter(pl.col(column) == group).sum().alias("t1"),
        pl.col("py").filter(pl.col(column) == ref).sum().alias("t0"),
    ).filter((pl.col("t1") > 0) & (pl.col("t0") > 0))
    a, b, t1, t0 = (st[c].to_numpy().astype(float) for c in ("a", "b", "t1", "t0"))
    t = t1 + t0
    num, den = (a * t0 / t).sum(), (b * t1 / t).sum()
    return num / den, math.sqrt((t1 * t0 * (a + b) / t**2).sum() / (num * den))


def test_grievance_rates_by_sex_ethnic_group_and_the_outlier_bcu(mps):
    d = grievance_rates(mps, ["sex", "group", "is_ne"])
    overall = d["events"].sum() / d["py"].sum() * 1000
    assert overall == pytest.approx(6.5, abs=Z * math.sqrt(d["events"].sum()) / d["py"].sum() * 1000)
    rr, se = mh_grievance_ratio(d, "sex", "F", "M", ["group", "is_ne"])
    assert_ratio(rr, se, 1.5, "grievances, women vs men")
    for group, planted in (("Black", 2.0), ("Asian", 1.5), ("Mixed", 1.4), ("Other", 1.0)):
        rr, se = mh_grievance_ratio(d, "group", group, "White", ["sex", "is_ne"])
        assert_ratio(rr, se, planted, f"grievances, {group} vs White")
    bcu = grievance_rates(mps, ["sex", "group", "business_area_code"])
    codes = read(mps, "business_areas").filter(pl.col("area_type") == "BCU")["business_area_code"]
    bcu = bcu.filter(pl.col("business_area_code").is_in(codes)).with_columns(
        pl.when(pl.col("business_area_code") == "NE").then(pl.lit("NE")).otherwise(pl.lit("other")).alias("bcu"))
    rr, se = mh_grievance_ratio(bcu, "bcu", "NE", "other", ["sex", "group"])
    assert_ratio(rr, se, 2.5, "grievances, North East BCU vs other BCUs")


def test_no_effects_grievance_rates_are_alike(mps_null):
    d = grievance_rates(mps_null, ["sex", "group", "is_ne"])
    rr, se = mh_grievance_ratio(d, "sex", "F", "M", ["group", "is_ne"])
    assert_ratio(rr, se, 1.0, "grievances, women vs men, no effects")
    rr, se = mh_grievance_ratio(d, "is_ne", True, False, ["sex", "group"])
    assert_ratio(rr, se, 1.0, "grievances, North East, no effects")
    for group in ("Black", "Asian"):
        rr, se = mh_grievance_ratio(d, "group", group, "White", ["sex", "is_ne"])
        assert_ratio(rr, se, 1.0, f"grievances, {group} vs White, no effects")


def closed_grievances(directory: Path) -> pl.DataFrame:
    g = read(directory, "grievances").join(people(directory).select("person_id", "group"), on="person_id")
    return g.filter(pl.col("outcome").is_not_null()).with_columns(
        pl.col("category").str.starts_with("DISCRIM_").alias("is_discrim"),
        pl.col("outcome").is_in(["UPHELD", "PARTLY_UPHELD"]).alias("is_upheld"),
    )


def test_grievance_outcomes_are_planted(mps):
    c = closed_grievances(mps)
    disc = c.filter("is_discrim")
    for group, planted in (("White", 0.40), ("Black", 0.20)):
        sub = disc.filter(pl.col("group") == group)
        assert_prop(sub["is_upheld"].mean(), sub.height, planted, f"upheld discrimination grievances, {group}")
    others = disc.filter(pl.col("group").is_in(["Asian", "Mixed", "Other"]))
    assert_prop(others["is_upheld"].mean(), others.height, 0.40, "upheld discrimination grievances, Asian/Mixed/Other")
    non = c.filter(~pl.col("is_discrim"))
    assert_prop(non["is_upheld"].mean(), non.height, 0.30, "upheld, non-discrimination categories")
    black_non = non.filter(pl.col("group") == "Black")
    assert_prop(black_non["is_upheld"].mean(), black_non.height, 0.30, "upheld non-discrimination, Black")
    assert_prop((c["outcome"] == "WITHDRAWN").mean(), c.height, 0.08, "withdrawn")
    assert_prop((c["outcome"] == "RESOLVED_INFORMALLY").mean(), c.height, 0.15, "resolved informally")
    scored = c["satisfaction_score"].is_not_null()
    assert_prop(scored.mean(), c.height, 0.40, "satisfaction surveyed")


def test_no_effects_grievance_outcomes_are_alike(mps_null):
    c = closed_grievances(mps_null)
    rate = {g: (x, n) for g, x, n in c.group_by("group").agg(pl.col("is_upheld").sum(), pl.len()).rows()}
    r, se = ratio_of_props(*rate["Black"], *rate["White"])
    assert_ratio(r, se, 1.0, "upheld, Black vs White, no effects")
    r, se = ratio_of_props(int(c.filter("is_discrim")["is_upheld"].sum()), c.filter("is_discrim").height,
                           int(c.filter(~pl.col("is_discrim"))["is_upheld"].sum()), c.filter(~pl.col("is_discrim")).height)
    assert_ratio(r, se, 1.0, "upheld, discrimination vs other categories, no effects")


def test_independent_assessors_rise_and_black_complainants_wait_longer(mps):
    g = read(mps, "grievances").with_columns(fy("raised_date"), (pl.col("assessor_type") == "INDEPENDENT").alias("ind"))
    y16 = g.filter(pl.col("fy") == 2016)
    assert_prop(y16["ind"].mean(), y16.height, 0.20, "independent assessor FY2016")
    late = g.filter(pl.col("fy") >= 2023)
    assert_prop(late["ind"].mean(), late.height, 0.65, "independent assessor FY2023 on")
    # resolution time among grievances raised before FY2024 (virtually all closed by the extract date)
    c = closed_grievances(mps).filter(pl.col("raised_date") < date(2024, 4, 1)).with_columns(
        (pl.col("outcome_date") - pl.col("raised_date")).dt.total_days().alias("days"))
    black = c.filter(pl.col("group") == "Black")["days"]
    rest = c.filter(pl.col("group") != "Black")["days"]
    assert c["days"].median() == pytest.approx(70, rel=0.15)
    se = 1.2533 * 0.8 * math.sqrt(1 / len(black) + 1 / len(rest))  # log-normal sigma 0.8: SE of log median
    assert_ratio(black.median() / rest.median(), se, 1.4, "median days to resolution, Black vs others")


