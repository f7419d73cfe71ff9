"""Supervision ratios (IOPC recommendations 13-14): the ratios and standards on hand-made teams, the
counts recomputed from the CSV extracts, and the planted effects recovered (and absent without
effects)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics import supervision as sv
from metrics.config import Settings
from metrics.queries import Filters
from metrics.tables import get_table
from metrics.warehouse import Warehouse

# ---------------------------------------------------------------------------------------------
# The arithmetic on hand-made teams (worked by hand: 21/2 = 10.5 > 10; 20/2 = 10 is within)
# ---------------------------------------------------------------------------------------------

M = date(2024, 1, 1)
TEAMS = pl.DataFrame({
    "month_start": [M] * 5,
    "business_area_code": ["A", "A", "A", "A", "B"],
    "team_code": ["A-RESP01", "A-RESP02", "A-NTE01", "A-NIGHTS01", "B-RESP01"],
    "team_type_label": ["Emergency response", "Emergency response", "Night-time economy", "Permanent nights",
                        "Emergency response"],
    "n_constables": [21, 20, 5, 0, 12],
    "n_sergeants": [2, 2, 0, 1, 3],
    "n_inspectors": [1, 0, 0, 0, 0],
})


def test_constables_per_sergeant_against_the_standard():
    out = sv.constables_per_sergeant(TEAMS, standard=10)
    got = {r["unit"]: (r["ratio"], r["is_outside"], r["note"]) for r in out.iter_rows(named=True)}
    assert got == {"A-NIGHTS01": (0.0, False, None), "A-NTE01": (None, True, "no sergeant in post"),
                   "A-RESP01": (10.5, True, None), "A-RESP02": (10.0, False, None), "B-RESP01": (4.0, False, None)}
    relaxed = sv.constables_per_sergeant(TEAMS, standard=12)
    assert relaxed.filter(pl.col("is_outside"))["unit"].to_list() == ["A-NTE01"]


def test_teams_per_inspector_counts_teams_with_someone_to_lead():
    out = sv.teams_per_inspector(TEAMS, standard=3).sort("unit")
    # area A: 4 teams with constables or sergeants, 1 inspector -> 4 > 3; area B: 1 team, none -> outside
    assert out.select("unit", "numerator", "denominator", "ratio", "is_outside", "note").rows() == [
        ("A", 4, 1, 4.0, True, None), ("B", 1, 0, None, True, "no inspector on team duties")]
    assert not sv.teams_per_inspector(TEAMS, standard=6).filter(pl.col("unit") == "A")["is_outside"][0]


def test_recruits_per_line_manager_at_90():
    months = [date(2024, 1, 1)] * 180 + [date(2024, 2, 1)] * 181 + [date(2024, 3, 1)] * 3
    managers = (["P0000001", "P0000002"] * 90 + ["P0000001", "P0000002"] * 90 + ["P0000001"]
                + ["P0000003", None, None])
    out = sv.recruits_per_line_manager(pl.DataFrame({"month_start": months, "line_manager_id": managers}), standard=90)
    assert out.select("numerator", "denominator", "ratio", "is_outside").rows() == [
        (180, 2, 90.0, False), (181, 2, 90.5, True), (3, 1, 3.0, False)]
    assert out["note"].to_list() == [None, None, "2 recruit(s) with no line manager named"]


def test_tenure_counts_those_over_the_limit():
    tenure = pl.DataFrame({"month_start": [M] * 4, "business_area_code": ["A"] * 4, "team_code": ["A-NTE01"] * 3
                           + ["A-NIGHTS01"], "team_type_label": ["Night-time economy"] * 3 + ["Permanent nights"],
                           "days_in_post": [730, 731, 100, 500]})
    out = sv.high_demand_tenure(tenure, limit_days=730).sort("unit")
    assert out.select("unit", "numerator", "denominator", "is_outside", "note").rows() == [
        ("A-NIGHTS01", 0, 1, False, "longest in post 500 days"), ("A-NTE01", 1, 3, True, "longest in post 731 days")]


def test_trend_names_the_units_outside():
    ratios = pl.concat([sv.constables_per_sergeant(TEAMS), sv.teams_per_inspector(TEAMS)])
    trend = sv.supervision_trend(ratios)
    assert trend.select("measure", "n_units", "n_outside", "outside").rows() == [
        ("constables_per_sergeant", 5, 2, "A-NTE01, A-RESP01"), ("teams_per_inspector", 2, 1, "B")]


# ---------------------------------------------------------------------------------------------
# The sample: counts from the CSV extracts, the planted effects, and none without effects
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ratios(small_warehouse) -> pl.DataFrame:
    with Warehouse(small_warehouse) as wh:
        return get_table(wh, "supervision_ratios", Filters())


@pytest.fixture(scope="module")
def no_effect_ratios(tmp_path_factory) -> pl.DataFrame:
    from metrics.warehouse import build
    from sample_data.generate import generate

    base = tmp_path_factory.mktemp("small-no-effects")
    generate("small", 2016, base / "data", effects=False)
    build(base / "data", base / "w.duckdb", as_of=date(2026, 11, 1), reference_dir=None)
    with Warehouse(base / "w.duckdb") as wh:
        return get_table(wh, "supervision_ratios", Filters())


def _share_outside(ratios: pl.DataFrame, measure: str) -> dict[str, float]:
    per = ratios.filter(pl.col("measure") == measure).group_by("unit").agg(pl.col("is_outside").mean())
    return dict(per.iter_rows())


def test_team_counts_equal_the_postings_extract(ratios, small_dir):
    postings = pl.read_csv(small_dir / "postings.csv", infer_schema=False)
    day = "2026-03-31"
    on = postings.filter(pl.col("start_date") <= day, pl.col("end_date").is_null() | (pl.col("end_date") >= day))
    team = on.filter(pl.col("team_code") == "CN-RESP01")
    row = ratios.filter(pl.col("measure") == "constables_per_sergeant", pl.col("unit") == "CN-RESP01",
                        pl.col("month_start") == date(2026, 3, 1)).row(0, named=True)
    assert (row["numerator"], row["denominator"]) == (team.filter(pl.col("rank_grade") == "PC").height,
                                                      team.filter(pl.col("rank_grade") == "PS").height)
    nights = on.filter(pl.col("team_code") == "AW-NIGHTS01", pl.col("rank_grade") == "PC").with_columns(
        (pl.lit(date(2026, 3, 31)) - pl.col("start_date").str.to_date()).dt.total_days().alias("days"))
    tenure = ratios.filter(pl.col("measure") == "high_demand_tenure", pl.col("unit") == "AW-NIGHTS01",
                           pl.col("month_start") == date(2026, 3, 1)).row(0, named=True)
    # days in post counts the first day: start on 31 March is day 1, so over 730 means days + 1 > 730
    assert (tenure["numerator"], tenure["denominator"]) == ((nights["days"] + 1 > 730).sum(), nights.height)


def test_planted_team_without_a_sergeant_is_named_every_month(ratios, no_effect_ratios):
    shares = _share_outside(ratios, "constables_per_sergeant")
    assert shares.pop("AW-NTE01") == 1.0
    assert max(shares.values()) < 0.5  # others stray over 10:1 now and then, never most months
    planted = ratios.filter(pl.col("measure") == "constables_per_sergeant", pl.col("unit") == "AW-NTE01")
    assert set(planted["note"]) == {"no sergeant in post"}
    assert max(_share_outside(no_effect_ratios, "constables_per_sergeant").values()) < 0.5


def test_planted_area_with_inspectors_off_team_duties(ratios, no_effect_ratios):
    shares = _share_outside(ratios, "teams_per_inspector")
    assert shares.pop("AW") == 1.0
    assert set(shares.values()) == {0.0}
    assert set(_share_outside(no_effect_ratios, "teams_per_inspector").values()) == {0.0}


def test_planted_recruit_surge_breaks_the_90_to_1_commitment(ratios, no_effect_ratios):
    force = ratios.filter(pl.col("measure") == "recruits_per_line_manager")
    outside = set(force.filter(pl.col("is_outside"))["month_start"])
    surge = {date(y, m, 1) for y, m in [(2022, 9), (2022, 10), (2022, 11), (2022, 12), (2023, 1), (2023, 2),
                                        (2023, 3)]}
    assert surge <= outside
    assert all(date(2022, 4, 1) <= d <= date(2023, 8, 1) for d in outside)
    assert not no_effect_ratios.filter(pl.col("measure") == "recruits_per_line_manager")["is_outside"].any()


def test_standards_are_settings(small_warehouse):
    with Warehouse(small_warehouse) as wh:
        strict = get_table(wh, "supervision_trend", Filters(start=date(2022, 10, 1), end=date(2022, 10, 1)),
                           settings=Settings(recruits_per_line_manager=200, teams_per_inspector=6))
    row = strict.filter(pl.col("measure") == "recruits_per_line_manager").row(0, named=True)
    assert (row["n_outside"], row["outside"]) == (0, "")
    inspectors = strict.filter(pl.col("measure") == "teams_per_inspector").row(0, named=True)
    assert (inspectors["n_outside"], inspectors["outside"]) == (1, "AW")
