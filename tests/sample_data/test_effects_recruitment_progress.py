"""Planted effects 4-7 recovered from the mps sample's CSVs (sample_data/README.md): recruitment,
outreach and representation, acting up, STRIDE and IOPC progress, and the published targets.
Tolerances: sample_checks (3.5 standard errors from the data's own counts).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import polars as pl
from sample_checks import (
    EXTRACT_DATE,
    GROUP,
    MINORITY,
    assert_prop,
    assert_ratio,
    fy,
    in_post,
    people,
    ratio_of_props,
    read,
)

# ---------------------------------------------------------------------------------------------
# Effects 4 and 5: recruitment, outreach and officer representation


def applications(directory: Path) -> pl.DataFrame:
    return read(directory, "applications").with_columns(GROUP.alias("group"), fy("applied_date"))


STAGE_ORDER = ["APPLIED", "SIFT", "ASSESSMENT", "VETTING", "MEDICAL", "OFFER", "JOINED"]


def stage_pass(a: pl.DataFrame, stage: str, group: str) -> tuple[int, int]:
    """Applicants of a group passing `stage` among those who passed the stage before it."""
    k = STAGE_ORDER.index(stage)
    level = pl.col("furthest_stage").replace_strict(STAGE_ORDER, list(range(7)), return_dtype=pl.Int64)
    sub = a.filter(pl.col("group") == group).with_columns(level.alias("lvl"))
    return int((sub["lvl"] >= k).sum()), int((sub["lvl"] >= k - 1).sum())


def decided_applications(directory: Path) -> pl.DataFrame:
    # applications older than the whole process (about 320 days) are decided at every stage
    return applications(directory).filter(pl.col("applied_date") <= date(2025, 10, 31))


def test_joiners_come_from_applications_with_the_same_characteristics(mps):
    a = read(mps, "applications")
    joined = a.filter(pl.col("furthest_stage") == "JOINED")
    assert a.filter(pl.col("furthest_stage") != "JOINED")["person_id"].null_count() == a.height - joined.height
    assert joined["person_id"].null_count() == 0 and joined["person_id"].n_unique() == joined.height
    j = joined.join(read(mps, "people"), on="person_id", suffix="_p")
    assert j.height == joined.height
    assert (j["sex"] == j["sex_p"]).all() and (j["ethnicity_code"] == j["ethnicity_code_p"]).all()
    assert (j["worker_type"] == "OFFICER").all() and (j["applied_date"] <= j["join_date"]).all()
    officer_joiners = read(mps, "people").filter(pl.col("worker_type") == "OFFICER", pl.col("join_date") >= date(2016, 4, 1))
    assert set(officer_joiners["person_id"]) == set(joined["person_id"])


def test_recruit_share_rises_from_12_to_25_percent(mps):
    j = people(mps).filter(pl.col("worker_type") == "OFFICER", pl.col("join_date") >= date(2016, 4, 1),
                           pl.col("group") != "Not stated").with_columns(fy("join_date"))
    for year, planted in ((2016, 0.12), (2020, 0.12 + 0.13 * 4 / 9), (2025, 0.25)):
        sub = j.filter(pl.col("fy") == year)
        assert_prop(sub["group"].is_in(MINORITY).mean(), sub.height, planted, f"recruit share FY{year}")
    late = j.filter(pl.col("fy") >= 2024)
    assert late["group"].is_in(MINORITY).mean() < 0.40 - 0.1, "well below the 40% target"


def test_stage_pass_rates_and_the_four_fifths_flag(mps):
    a = decided_applications(mps)
    r, se = ratio_of_props(*stage_pass(a, "ASSESSMENT", "Black"), *stage_pass(a, "ASSESSMENT", "White"))
    assert_ratio(r, se, 0.75, "assessment pass rate, Black vs White")
    assert r < 0.8, "fails the four-fifths test"
    r, se = ratio_of_props(*stage_pass(a, "VETTING", "Asian"), *stage_pass(a, "VETTING", "White"))
    assert_ratio(r, se, 0.85, "vetting pass rate, Asian vs White")
    x, n = stage_pass(a, "SIFT", "White")
    assert_prop(x / n, n, 0.60, "sift pass rate, White")
    for stage in ("SIFT", "MEDICAL", "OFFER", "JOINED"):
        for group in ("Black", "Asian", "Mixed"):
            r, se = ratio_of_props(*stage_pass(a, stage, group), *stage_pass(a, stage, "White"))
            assert_ratio(r, se, 1.0, f"{stage} pass rate, {group} vs White")


def test_no_effects_stage_pass_rates_are_alike(mps_null):
    a = decided_applications(mps_null)
    for stage in ("ASSESSMENT", "VETTING"):
        for group in ("Black", "Asian"):
            r, se = ratio_of_props(*stage_pass(a, stage, group), *stage_pass(a, stage, "White"))
            assert_ratio(r, se, 1.0, f"{stage} pass rate, {group} vs White, no effects")


def test_outreach_shares(mps):
    a = applications(mps)
    assert (a.filter(pl.col("spoke_only_to_outreach") == "Y")["heard_via_outreach"] == "Y").all()
    assert (a["outreach_bcu_code"].is_null() == (a["heard_via_outreach"] == "N")).all()
    bcus = read(mps, "business_areas").filter(pl.col("area_type") == "BCU")["business_area_code"]
    assert a["outreach_bcu_code"].drop_nulls().is_in(bcus.implode()).all()
    for group, planted in (("Black", 0.45), ("Asian", 0.35), ("Mixed", 0.35), ("White", 0.15), ("Other", 0.30)):
        sub = a.filter(pl.col("group") == group)
        assert_prop((sub["heard_via_outreach"] == "Y").mean(), sub.height, planted, f"heard via outreach, {group}")
    for label, cond, planted in (
        ("Black women", (pl.col("group") == "Black") & (pl.col("sex") == "F"), 0.27),
        ("Black men", (pl.col("group") == "Black") & (pl.col("sex") == "M"), 0.10),
        ("Asian", pl.col("group") == "Asian", 0.10),
        ("White", pl.col("group") == "White", 0.04),
    ):
        sub = a.filter(cond)
        assert_prop((sub["spoke_only_to_outreach"] == "Y").mean(), sub.height, planted, f"spoke only to outreach, {label}")


def test_officer_representation_rises_to_about_16_percent_and_minority_officers_leave_faster(mps):
    p = people(mps)

    def share(day: date) -> tuple[float, int]:
        o = in_post(p, day).filter(pl.col("worker_type") == "OFFICER", pl.col("group") != "Not stated")
        return o["group"].is_in(MINORITY).mean(), o.height

    s16, n16 = share(date(2016, 4, 1))
    assert_prop(s16, n16, 0.125, "non-White officers 2016-04-01")
    s26, _ = share(EXTRACT_DATE)
    assert 0.155 <= s26 <= 0.175, s26
    # leaving rate (not retirement, not dismissal) among officers too young to retire in the window
    o = p.filter(pl.col("worker_type") == "OFFICER", pl.col("birth_year") >= 1973, pl.col("group") != "Not stated")
    o = o.with_columns(
        pl.max_horizontal(pl.col("join_date"), pl.lit(date(2016, 4, 1))).alias("cs"),
        pl.col("leave_date").fill_null(EXTRACT_DATE).alias("ce"),
        pl.col("leaving_reason").is_in(["RESIGNATION", "TRANSFER", "DEATH", "OTHER"]).alias("left"),
        pl.col("group").is_in(MINORITY).alias("is_minority"),
    ).with_columns(((pl.col("ce") - pl.col("cs")).dt.total_days() / 365.25).alias("py"))
    agg = {m: (x, t) for m, x, t in o.group_by("is_minority").agg(pl.col("left").sum(), pl.col("py").sum()).rows()}
    (x1, t1), (x0, t0) = agg[True], agg[False]
    assert_ratio((x1 / t1) / (x0 / t0), math.sqrt(1 / x1 + 1 / x0), 1.15, "officer leaving rate, non-White vs White")


# ---------------------------------------------------------------------------------------------
# Effect 6: acting-up


def test_acting_up_selection_rates_and_rationale(mps):
    a = read(mps, "acting_up").join(people(mps).select("person_id", "group"), on="person_id")
    sel = {g: (x, n) for g, x, n in a.group_by("group").agg((pl.col("outcome") == "SELECTED").sum(), pl.len()).rows()}
    x, n = sel["White"]
    assert_prop(x / n, n, 0.50, "acting-up selection, White")
    for group, planted in (("Black", 0.70), ("Asian", 0.84), ("Mixed", 0.90), ("Other", 0.90)):
        r, se = ratio_of_props(*sel[group], *sel["White"])
        assert_ratio(r, se, planted, f"acting-up selection ratio, {group} vs White")
    assert (a["duration_days"].is_not_null() == (a["outcome"] == "SELECTED")).all()
    ranks = set(map(tuple, a.select("substantive_rank", "acting_rank").unique().rows()))
    assert {("PC", "PS"), ("PS", "INSP"), ("INSP", "CI")} <= ranks
    assert ranks <= {("PC", "PS"), ("PS", "INSP"), ("INSP", "CI"), ("BAND_E", "BAND_D"), ("BAND_D", "BAND_C"), ("BAND_C", "BAND_B")}
    a = a.with_columns(fy("decision_date"), (pl.col("has_rationale") == "Y").alias("r"))
    y16 = a.filter(pl.col("fy") == 2016)
    assert_prop(y16["r"].mean(), y16.height, 0.60, "rationale recorded FY2016")
    late = a.filter(pl.col("fy") >= 2023)
    assert_prop(late["r"].mean(), late.height, 0.95, "rationale recorded FY2023 on")


def test_no_effects_acting_up_selection_is_alike(mps_null):
    a = read(mps_null, "acting_up").join(people(mps_null).select("person_id", "group"), on="person_id")
    sel = {g: (x, n) for g, x, n in a.group_by("group").agg((pl.col("outcome") == "SELECTED").sum(), pl.len()).rows()}
    for group in ("Black", "Asian"):
        r, se = ratio_of_props(*sel[group], *sel["White"])
        assert_ratio(r, se, 1.0, f"acting-up selection ratio, {group}, no effects")


# ---------------------------------------------------------------------------------------------
# Effect 7: STRIDE and IOPC progress


def test_stride_updates_shape_and_planted_status(small):
    s = read(small, "stride_updates")
    assert sorted(s["commitment_id"].unique()) == list(range(1, 17))
    dates = s["board_date"].unique().sort()
    assert dates[0] == date(2021, 1, 12) and dates[-1] <= EXTRACT_DATE
    assert set(dates.diff().drop_nulls().dt.total_days()) == {42}
    assert s.sort("board_date").group_by("commitment_id").agg(
        (pl.col("percent_complete").diff().drop_nulls() >= 0).all().alias("ok"))["ok"].all()
    assert not s["senior_lead"].str.contains(r"^[A-Z][a-z]+ [A-Z][a-z]+$").any(), "a role, not a name"
    late = s.filter(pl.col("board_date") >= date(2024, 1, 1))
    c11 = late.filter(pl.col("commitment_id") == 11)
    assert (c11["rag_status"] == "R").mean() >= 0.8
    assert (c11["milestones_met"] < c11["milestones_due"]).all()
    c9 = s.filter(pl.col("commitment_id") == 9)
    assert (c9["rag_status"] == "A").mean() >= 0.8
    rest = s.filter(~pl.col("commitment_id").is_in([9, 11]))
    assert rest["rag_status"].is_in(["G", "C"]).mean() >= 0.8


def test_iopc_actions_shape_and_overdue_actions(small):
    a = read(small, "iopc_actions")
    per_rec = a.group_by("recommendation_id").agg(pl.col("action_id").n_unique().alias("n"))
    assert sorted(per_rec["recommendation_id"]) == list(range(1, 16))
    assert per_rec["n"].min() >= 1 and per_rec["n"].max() <= 4
    assert (a["action_id"].str.slice(1, 2).cast(pl.Int64) == a["recommendation_id"]).all()
    assert a["board_date"].min() == date(2022, 3, 1)
    latest = a.filter(pl.col("board_date") == a["board_date"].max())
    assert latest["rag_status"].is_in(["A", "R"]).sum() >= 3


def test_no_effects_stride_has_no_stalled_commitment(mps_null):
    s = read(mps_null, "stride_updates").filter(pl.col("board_date") >= date(2024, 1, 1))
    assert (s.filter(pl.col("commitment_id") == 11)["rag_status"] == "R").mean() < 0.2
    latest = read(mps_null, "iopc_actions")
    latest = latest.filter(pl.col("board_date") == latest["board_date"].max())
    assert (latest["rag_status"] == "R").sum() == 0


def test_targets_are_the_published_commitments(small):
    t = read(small, "targets")
    assert t.select("measure", "target_date", "target_share").rows() == [
        ("OFFICER_REPRESENTATION", date(2022, 3, 31), 0.16),
        ("OFFICER_REPRESENTATION", date(2030, 3, 31), 0.28),
        ("RECRUIT_SHARE", date(2020, 4, 1), 0.40),
        ("RECRUIT_SHARE", date(2030, 3, 31), 0.40),
    ]
    assert t["source"].str.contains("commitment").all()

