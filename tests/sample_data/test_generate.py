"""The sample generator: deterministic, contract-valid, and carrying exactly the effects it documents.

Every check is computed straight from the CSVs with polars (no warehouse). Planted sizes are checked
at the mps profile (~46,000 in post; it generates in about 2 s), where the samples are large enough
to pin each number. Tolerances are 3.5 standard errors of the estimate, worked out from the counts
in the data itself: a correct generator is outside them with probability < 0.001 (and the seed is
fixed, so the test is deterministic), while a missing or wrong effect lies many standard errors away.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from metrics.config import CONTRACTS_DIR, EXTRACTS, SHARED_REFERENCE_DIR
from sample_data.generate import PROFILES, generate
from sample_data.reference import CENSUS_FORCES, STRIDE_COMMITMENTS

EXTRACT_DATE = date(2026, 10, 31)
SEED = 2016
Z = 3.5  # tolerance in standard errors (see module docstring)


# ---------------------------------------------------------------------------------------------
# Data, generated once per module


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate("small", SEED, out)
    return out


@pytest.fixture(scope="module")
def mps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mps")
    generate("mps", SEED, out)
    return out


@pytest.fixture(scope="module")
def mps_null(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mps_null")
    generate("mps", SEED, out, effects=False)
    return out


def read(directory: Path, extract: str) -> pl.DataFrame:
    """An extract with dates and integers typed (the contract says which)."""
    contract = yaml.safe_load((CONTRACTS_DIR / f"{extract}.yaml").read_text(encoding="utf-8"))
    types = {"date": pl.Date, "integer": pl.Int64, "number": pl.Float64, "string": pl.String}
    schema = {c["name"]: types[c["type"]] for c in contract["columns"]}
    return pl.read_csv(directory / f"{extract}.csv", schema=schema)


GROUP = (
    pl.when(pl.col("ethnicity_code") == "NS").then(pl.lit("Not stated"))
    .when(pl.col("ethnicity_code").str.starts_with("W")).then(pl.lit("White"))
    .when(pl.col("ethnicity_code").str.starts_with("A")).then(pl.lit("Asian"))
    .when(pl.col("ethnicity_code").str.starts_with("B")).then(pl.lit("Black"))
    .when(pl.col("ethnicity_code").str.starts_with("M")).then(pl.lit("Mixed"))
    .otherwise(pl.lit("Other"))
)
MINORITY = ("Asian", "Black", "Mixed", "Other")


def fy(col: str) -> pl.Expr:
    return (pl.col(col).dt.year() - (pl.col(col).dt.month() < 4).cast(pl.Int32)).alias("fy")


def people(directory: Path) -> pl.DataFrame:
    return read(directory, "people").with_columns(GROUP.alias("group"))


def prop_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-9) / n)


def ratio_of_props(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """Ratio of two proportions and the standard error of its log (Katz)."""
    r = (x1 / n1) / (x0 / n0)
    return r, math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)


def assert_ratio(value: float, se_log: float, planted: float, what: str) -> None:
    lo, hi = planted * math.exp(-Z * se_log), planted * math.exp(Z * se_log)
    assert lo <= value <= hi, f"{what}: {value:.3f} not within [{lo:.3f}, {hi:.3f}] around planted {planted}"


def assert_prop(p: float, n: int, planted: float, what: str) -> None:
    tol = Z * prop_se(planted, n)
    assert abs(p - planted) <= tol, f"{what}: {p:.4f} vs planted {planted} (+/- {tol:.4f}, n={n})"


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


def contract_violations(directory: Path) -> list[str]:
    """Every way the data breaks its contract YAML (empty when valid), checked independently of data_contracts/."""
    codes = yaml.safe_load((CONTRACTS_DIR / "codes.yaml").read_text(encoding="utf-8"))
    problems: list[str] = []
    raw = {e: pl.read_csv(directory / f"{e}.csv", infer_schema=False) for e in EXTRACTS}
    for extract in EXTRACTS:
        contract = yaml.safe_load((CONTRACTS_DIR / f"{extract}.yaml").read_text(encoding="utf-8"))
        df = raw[extract]
        names = [c["name"] for c in contract["columns"]]
        if df.columns != names:
            problems.append(f"{extract}: columns {df.columns} != contract {names}")
            continue
        for col in contract["columns"]:
            name, s = col["name"], df[col["name"]]
            present = s.drop_nulls()
            if col.get("required") and s.null_count():
                problems.append(f"{extract}.{name}: {s.null_count()} blank in a required column")
            if "pattern" in col and not present.str.contains(col["pattern"]).all():
                problems.append(f"{extract}.{name}: values break {col['pattern']}")
            if "codes" in col:
                allowed = [str(k) for k in codes[col["codes"]]]
                bad = present.filter(~present.is_in(allowed)).unique().to_list()
                if bad:
                    problems.append(f"{extract}.{name}: codes not in {col['codes']}: {bad[:5]}")
            if col["type"] == "integer":
                if not present.str.contains(r"^-?[0-9]+$").all():
                    problems.append(f"{extract}.{name}: not integers")
                    continue
                values = present.cast(pl.Int64)
            elif col["type"] == "number":
                values = present.cast(pl.Float64)
            elif col["type"] == "date":
                if not present.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$").all():
                    problems.append(f"{extract}.{name}: not ISO dates")
                    continue
                values = present.str.to_date("%Y-%m-%d")
                if extract != "targets" and len(values) and values.max() > EXTRACT_DATE:
                    problems.append(f"{extract}.{name}: dates after {EXTRACT_DATE}")
                continue
            else:
                values = None
            if values is not None and len(values):
                if "min" in col and values.min() < col["min"]:
                    problems.append(f"{extract}.{name}: below min {col['min']}")
                if "max" in col and values.max() > col["max"]:
                    problems.append(f"{extract}.{name}: above max {col['max']}")
            if "references" in col:
                ref_extract, ref_col = col["references"].split(".")
                missing = present.filter(~present.is_in(raw[ref_extract][ref_col].implode()))
                if len(missing):
                    problems.append(f"{extract}.{name}: {len(missing)} values not in {col['references']}")
        key = contract["primary_key"]
        if df.select(key).is_duplicated().any():
            problems.append(f"{extract}: primary key {key} not unique")
        for rule in contract.get("rules", []):
            if rule["check"] == "date_order":
                bad = df.filter(pl.col(rule["later"]).is_not_null() & (pl.col(rule["later"]) < pl.col(rule["earlier"])))
            elif rule["check"] == "both_or_neither":
                a, b = rule["columns"]
                bad = df.filter(pl.col(a).is_null() != pl.col(b).is_null())
            elif rule["check"] == "not_greater":
                bad = df.filter(pl.col(rule["smaller"]).cast(pl.Int64) > pl.col(rule["larger"]).cast(pl.Int64))
            else:
                raise AssertionError(f"unknown rule {rule}")
            if bad.height:
                problems.append(f"{extract}: {bad.height} rows break {rule['name']}")
    return problems


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


def in_post(p: pl.DataFrame, day: date) -> pl.DataFrame:
    return p.filter((pl.col("join_date") <= day) & (pl.col("leave_date").is_null() | (pl.col("leave_date") >= day)))


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
