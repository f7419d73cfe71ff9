"""The sample generator: deterministic, contract-valid, the workforce it documents, and the plan of
the national profile. The planted effects are checked in test_effects_*.py; every check is computed
straight from the CSVs with polars (no warehouse).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from sample_checks import (
    EXTRACT_DATE,
    MINORITY,
    SEED,
    assert_prop,
    contract_violations,
    fy,
    in_post,
    people,
    read,
)

from metrics.config import CONTRACTS_DIR, EXTRACTS, SHARED_REFERENCE_DIR
from sample_data.generate import PROFILES, generate
from sample_data.reference import CENSUS_FORCES, STRIDE_COMMITMENTS

# ---------------------------------------------------------------------------------------------
# API, determinism and manifest


def test_same_seed_gives_identical_bytes_and_another_seed_differs(small, tmp_path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate("small", SEED, again)
    generate("small", SEED + 1, other)

    def digest(d: Path, name: str) -> str:
        return hashlib.sha256((d / name).read_bytes()).hexdigest()

    for name in [f"{e}.csv" for e in EXTRACTS] + ["manifest.json"]:
        assert digest(small, name) == digest(again, name), name
    for extract in ("people", "postings", "grievances", "misconduct_cases", "applications", "acting_up"):
        assert digest(small, f"{extract}.csv") != digest(other, f"{extract}.csv"), extract


def test_manifest_records_profile_seed_effects_and_exact_row_counts(small):
    manifest = json.loads((small / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["profile"] == "small"
    assert manifest["seed"] == SEED
    assert manifest["effects"] is True
    assert manifest["extract_date"] == "2026-10-31"
    assert manifest["generator_version"]
    assert set(manifest["rows"]) == set(EXTRACTS)
    for extract in EXTRACTS:
        lines = (small / f"{extract}.csv").read_text(encoding="utf-8").count("\n")
        assert manifest["rows"][extract] == lines - 1, extract
        assert manifest["sha256"][extract] == hashlib.sha256((small / f"{extract}.csv").read_bytes()).hexdigest()
    # no wall clock anywhere in the manifest
    assert "time" not in json.dumps(manifest).lower()


def test_unknown_profile_is_a_clear_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"unknown profile 'huge': choose one of small, mps, national"):
        generate("huge", 1, tmp_path)
    assert PROFILES == ("small", "mps", "national")


def test_progress_is_reported_for_every_extract(tmp_path):
    calls: list[tuple[str, int, int]] = []
    generate("small", 7, tmp_path, progress=lambda step, done, total: calls.append((step, done, total)))
    steps = [c[0] for c in calls]
    for extract in EXTRACTS:
        assert extract in steps
    assert calls[-1][1] == calls[-1][2]
    assert [c[1] for c in calls] == sorted(c[1] for c in calls)


def test_small_profile_has_the_documented_size(small):
    p = people(small)
    in_post = p.filter((pl.col("join_date") <= EXTRACT_DATE) & pl.col("leave_date").is_null()).height
    assert 3_600 <= in_post <= 4_400
    assert read(small, "business_areas").height == 40


# ---------------------------------------------------------------------------------------------
# Contracts: every row of every extract passes


@pytest.mark.parametrize("which", ["small", "mps", "mps_null"])
def test_every_row_passes_its_contract(which, request):
    assert contract_violations(request.getfixturevalue(which)) == []


def test_contract_checker_catches_a_planted_defect(small, tmp_path):
    # the checker above is only worth its silence if it speaks up
    for e in EXTRACTS:
        (tmp_path / f"{e}.csv").write_bytes((small / f"{e}.csv").read_bytes())
    g = pl.read_csv(tmp_path / "grievances.csv", infer_schema=False)
    g = g.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("2027-01-01")).otherwise(pl.col("raised_date")).alias("raised_date"))
    g.write_csv(tmp_path / "grievances.csv")
    assert contract_violations(tmp_path) == [
        "grievances.raised_date: dates after 2026-10-31",
        "grievances: 1 rows break outcome_date_not_before_raised_date",
    ]


def test_person_ids_are_unique_and_not_sequential(mps):
    ids = read(mps, "people")["person_id"].str.slice(1).cast(pl.Int64).sort()
    assert ids.n_unique() == len(ids)
    # a random sample of 7-digit numbers: gaps everywhere, spread over the whole range
    assert (ids.diff().drop_nulls() == 1).mean() < 0.05
    assert ids.min() < 100_000 and ids.max() > 9_900_000


def test_postings_cover_each_persons_service_without_overlap(mps):
    p = read(mps, "people")
    s = read(mps, "postings").sort(["person_id", "start_date"])
    s = s.with_columns(
        pl.col("start_date").shift(-1).over("person_id").alias("next_start"),
        pl.col("rank_grade").shift(-1).over("person_id").alias("next_rank"),
    )
    # contiguous, never overlapping: each spell ends the day before the next begins
    inner = s.filter(pl.col("next_start").is_not_null())
    assert (inner["end_date"] == inner["next_start"].dt.offset_by("-1d")).all()
    first = s.group_by("person_id").agg(pl.col("start_date").first(), pl.col("end_date").last(),
                                        pl.col("end_date").is_null().sum().alias("n_open"))
    j = p.join(first, on="person_id", how="left")
    assert j["start_date"].null_count() == 0, "everyone has postings"
    assert (j["start_date"] == j["join_date"]).all()
    assert (j["end_date"].is_null() == j["leave_date"].is_null()).all()
    closed = j.filter(pl.col("leave_date").is_not_null())
    assert (closed["end_date"] == closed["leave_date"]).all()
    assert (j["n_open"] <= 1).all()


def test_ranks_match_worker_type_and_only_go_up(mps):
    codes = yaml.safe_load((CONTRACTS_DIR / "codes.yaml").read_text(encoding="utf-8"))["rank_grade"]
    worker = pl.DataFrame({"rank_grade": list(codes), "rank_worker_type": [v["worker_type"] for v in codes.values()],
                           "order": [v["order"] for v in codes.values()]})
    s = read(mps, "postings").join(read(mps, "people").select("person_id", "worker_type"), on="person_id")
    s = s.join(worker, on="rank_grade")
    assert (s["worker_type"] == s["rank_worker_type"]).all()
    s = s.sort(["person_id", "start_date"]).with_columns(pl.col("order").diff().over("person_id").alias("step"))
    assert (s["step"].drop_nulls() >= 0).all()
    promotions = s.filter(pl.col("step") > 0, pl.col("start_date") >= date(2016, 4, 1))
    assert promotions.height > 2_000  # promotions happen every year
    assert promotions.select(fy("start_date"))["fy"].n_unique() == 11


def test_events_happen_while_the_person_is_in_post(mps):
    s = read(mps, "postings")
    for extract, day in (("grievances", "raised_date"), ("misconduct_cases", "referral_date"), ("acting_up", "decision_date")):
        e = read(mps, extract).join(s, on=["person_id", "business_area_code"], how="inner")
        ok = e.filter((pl.col(day) >= pl.col("start_date")) & (pl.col("end_date").is_null() | (pl.col(day) <= pl.col("end_date"))))
        assert ok.select(pl.col(e.columns[0]).n_unique()).item() == read(mps, extract).height, extract


def test_spoc_is_someone_in_post_in_their_area(mps):
    b = read(mps, "business_areas")
    current = read(mps, "postings").filter(pl.col("end_date").is_null())
    j = b.join(current, left_on=["spoc_person_id", "business_area_code"], right_on=["person_id", "business_area_code"])
    assert j.height == b.height


# ---------------------------------------------------------------------------------------------
# Workforce composition and volumes (mps)


def test_mps_headcount_composition_and_areas(mps):
    p = people(mps)
    now = in_post(p, EXTRACT_DATE)
    counts = dict(now.group_by("worker_type").len().rows())
    assert 44_000 <= now.height <= 49_000
    assert 31_000 <= counts["OFFICER"] <= 35_000
    assert 10_000 <= counts["STAFF"] <= 12_500
    assert 1_000 <= counts["PCSO"] <= 1_400
    assert 1_200 <= counts["SPECIAL"] <= 1_800
    officers_2016 = in_post(p, date(2016, 4, 1)).filter(pl.col("worker_type") == "OFFICER")
    officers_2023 = in_post(p, date(2023, 3, 31)).filter(pl.col("worker_type") == "OFFICER")
    assert officers_2023.height > officers_2016.height + 2_000, "the 2019-2023 uplift"
    assert (officers_2016["sex"] == "F").mean() == pytest.approx(0.27, abs=0.01)
    assert (now.filter(pl.col("worker_type") == "OFFICER")["sex"] == "F").mean() == pytest.approx(0.31, abs=0.015)
    staff = now.filter(pl.col("worker_type") == "STAFF", pl.col("group") != "Not stated")
    assert staff["group"].is_in(MINORITY).mean() == pytest.approx(0.30, abs=0.02)
    assert (staff["sex"] == "F").mean() == pytest.approx(0.58, abs=0.02)
    b = read(mps, "business_areas")
    bcus = b.filter(pl.col("area_type") == "BCU")
    assert sorted(bcus["business_area_code"]) == sorted(["CE", "CN", "AS", "AW", "EA", "NA", "NE", "NW", "SN", "SE", "SW", "WA"])
    assert "North East" in bcus["business_area_name"].to_list()
    assert b.height == 40 and set(b["force_name"]) == {"Metropolitan Police Service"}


def test_not_stated_shares_are_realistic(mps):
    p = read(mps, "people")
    planted = {"ethnicity_code": 0.03, "disability": 0.12, "sexual_orientation": 0.22, "religion": 0.18,
               "gender_reassignment": 0.25, "marital_status": 0.08, "pregnancy_maternity": 0.10}
    for column, share in planted.items():
        assert_prop((p[column] == "NS").mean(), p.height, share, f"{column} not stated")


def test_yearly_volumes_at_mps(mps):
    per_year = 10.58  # 2016-04-01 .. 2026-10-31
    assert 250 <= read(mps, "grievances").height / per_year <= 350
    assert 1_500 <= read(mps, "misconduct_cases").height / per_year <= 2_500
    assert 12_000 <= read(mps, "applications").height / per_year <= 20_000
    assert 2_000 <= read(mps, "acting_up").height / per_year <= 3_000
    g = read(mps, "grievances")
    m = read(mps, "misconduct_cases")
    assert g["outcome"].null_count() > 10, "open grievances at the extract date"
    assert m["outcome"].null_count() > 100, "open misconduct cases at the extract date"




# ---------------------------------------------------------------------------------------------
# Embedded reference lists equal the real files


@pytest.mark.skipif(not SHARED_REFERENCE_DIR.is_dir(), reason=f"shared reference data absent: {SHARED_REFERENCE_DIR}")
def test_embedded_reference_lists_equal_the_shared_csvs():
    stride = pl.read_csv(SHARED_REFERENCE_DIR / "stride-commitments.csv")
    assert [tuple(r) for r in stride.rows()] == list(STRIDE_COMMITMENTS)
    census = pl.read_csv(SHARED_REFERENCE_DIR / "census-2011-population-by-police-force-area.csv")
    assert [(r[0], tuple(r[1:])) for r in census.rows()] == [(n, p) for n, _, p in CENSUS_FORCES]


def test_national_profile_forces_and_area_codes():
    # the force list and area codes without generating 250k people: the plan the generator follows
    from sample_data.profiles import profile_forces

    forces = profile_forces("national")
    assert len(forces) == 43
    codes = [a.code for f in forces for a in f.areas]
    assert len(codes) == len(set(codes))
    assert all(pl.Series(codes).str.contains(r"^[A-Z0-9]{2,8}$"))
    sizes = np.array([sum(h[-1] for h in f.headcount) for f in forces])
    assert 240_000 <= sizes.sum() <= 260_000
    assert "Metropolitan Police Service" in [f.name for f in forces]
