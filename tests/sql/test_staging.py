"""Staging models: one row per raw row, keys unique, every code recoded to a label, derived flags
exact, and the dbt-style shape (header comment, CTEs, select * from final, no cross-extract joins)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from contract_data import AS_OF, valid_rows, write_dataset

from data_contracts.contract import load_codes, load_contracts
from metrics import config
from metrics.sql_models import read_model, tables_read
from metrics.warehouse import Warehouse, build

CODES = load_codes()
STAGING = sorted((config.SQL_DIR / "staging").glob("stg_*.sql"))

# (model, code column, label column, code list): the label must exist for every code of the list
LABELS = [
    ("stg_business_areas", "area_type", "area_type_label", "area_type"),
    ("stg_people", "worker_type_code", "worker_type", "worker_type"),
    ("stg_people", "sex_code", "sex", "sex"),
    ("stg_people", "ethnicity_code", "ethnicity", "ethnicity"),
    ("stg_people", "ethnicity_code", "ethnicity_group", "ethnicity"),
    ("stg_people", "disability_code", "disability", "yes_no_ns"),
    ("stg_people", "gender_reassignment_code", "gender_reassignment", "yes_no_ns"),
    ("stg_people", "marital_status_code", "marital_status", "marital_status"),
    ("stg_people", "pregnancy_maternity_code", "pregnancy_maternity", "yes_no_ns"),
    ("stg_people", "religion_code", "religion", "religion"),
    ("stg_people", "sexual_orientation_code", "sexual_orientation", "sexual_orientation"),
    ("stg_people", "caring_responsibilities_code", "caring_responsibilities", "caring_responsibilities"),
    ("stg_people", "leaving_reason_code", "leaving_reason", "leaving_reason"),
    ("stg_postings", "rank_grade", "rank_label", "rank_grade"),
    ("stg_postings", "rank_grade", "worker_type", "rank_grade"),
    ("stg_grievances", "category", "category_label", "grievance_category"),
    ("stg_grievances", "stage", "stage_label", "grievance_stage"),
    ("stg_grievances", "assessor_type", "assessor_type_label", "assessor_type"),
    ("stg_grievances", "outcome", "outcome_label", "grievance_outcome"),
    ("stg_misconduct_cases", "source", "source_label", "misconduct_source"),
    ("stg_misconduct_cases", "allegation_type", "allegation_type_label", "allegation_type"),
    ("stg_misconduct_cases", "severity", "severity_label", "severity"),
    ("stg_misconduct_cases", "route", "route_label", "misconduct_route"),
    ("stg_misconduct_cases", "outcome", "outcome_label", "misconduct_outcome"),
    ("stg_misconduct_cases", "failed_to_report_reason", "failed_to_report_reason_label", "failed_to_report_reason"),
    ("stg_applications", "entry_route", "entry_route_label", "entry_route"),
    ("stg_applications", "sex_code", "sex", "sex"),
    ("stg_applications", "ethnicity_code", "ethnicity_group", "ethnicity"),
    ("stg_applications", "furthest_stage", "furthest_stage_label", "recruitment_stage"),
    ("stg_applications", "furthest_stage", "stage_rank", "recruitment_stage"),
    ("stg_acting_up", "substantive_rank", "substantive_rank_label", "rank_grade"),
    ("stg_acting_up", "acting_rank", "acting_rank_label", "rank_grade"),
    ("stg_acting_up", "outcome", "outcome_label", "acting_up_outcome"),
    ("stg_stride_updates", "rag_status", "rag_status_label", "rag_status"),
    ("stg_iopc_actions", "rag_status", "rag_status_label", "rag_status"),
    ("stg_targets", "measure", "measure_label", "target_measure"),
    ("stg_targets", "target_group", "target_group_label", "target_group"),
]


def _cycle(code_list: str, i: int) -> str:
    codes = list(CODES[code_list])
    return codes[i % len(codes)]


def _coverage_rows() -> dict[str, list[dict[str, str]]]:
    """The valid dataset plus rows that use every code of every code list at least once."""
    rows = valid_rows()
    for i in range(20):
        reason = _cycle("leaving_reason", i) if i < 6 else ""
        rows["people"].append({
            "person_id": f"P00010{i:02d}", "worker_type": _cycle("worker_type", i), "sex": _cycle("sex", i),
            "birth_year": str(1960 + i), "ethnicity_code": _cycle("ethnicity", i), "disability": _cycle("yes_no_ns", i),
            "gender_reassignment": _cycle("yes_no_ns", i + 1), "marital_status": _cycle("marital_status", i),
            "caring_responsibilities": _cycle("caring_responsibilities", i),
            "pregnancy_maternity": _cycle("yes_no_ns", i + 2), "religion": _cycle("religion", i),
            "sexual_orientation": _cycle("sexual_orientation", i), "join_date": "2010-05-01",
            "leave_date": "2020-05-01" if reason else "", "leaving_reason": reason,
        })
    for i in range(15):
        rows["postings"].append({
            "posting_id": f"S000100{i:02d}", "person_id": f"P00010{i:02d}", "business_area_code": "BCU01",
            "rank_grade": _cycle("rank_grade", i), "start_date": "2010-05-01", "end_date": "",
        })
        rows["acting_up"].append({
            "decision_id": f"D00010{i:02d}", "person_id": f"P00010{i:02d}", "business_area_code": "HQ01",
            "decision_date": "2021-01-01", "substantive_rank": _cycle("rank_grade", i),
            "acting_rank": _cycle("rank_grade", i + 1), "outcome": _cycle("acting_up_outcome", i),
            "duration_days": "30", "is_qualified": "Y", "has_rationale": "N",
        })
    for i in range(12):
        outcome = _cycle("grievance_outcome", i) if i % 6 != 5 else ""
        rows["grievances"].append({
            "grievance_id": f"G00010{i:02d}", "person_id": f"P00010{i:02d}", "business_area_code": "BCU01",
            "raised_date": "2021-03-01", "category": _cycle("grievance_category", i), "stage": _cycle("grievance_stage", i),
            "assessor_type": _cycle("assessor_type", i), "outcome": outcome,
            "outcome_date": "2021-04-01" if outcome else "", "satisfaction_score": "",
        })
    for i in range(10):
        route = _cycle("misconduct_route", i) if i < 5 else ""
        outcome = _cycle("misconduct_outcome", i) if i < 7 else ""
        rows["misconduct_cases"].append({
            "case_id": f"C00010{i:02d}", "person_id": f"P00010{i:02d}", "business_area_code": "OCU01",
            "referral_date": "2022-02-02", "source": _cycle("misconduct_source", i),
            "allegation_type": _cycle("allegation_type", i), "severity": _cycle("severity", i),
            "is_investigated": "Y", "route": route, "outcome": outcome, "outcome_date": "2022-09-09" if outcome else "",
            "failed_to_report": "Y" if i < 6 else "N", "failed_to_report_reason": _cycle("failed_to_report_reason", i) if i < 6 else "",
        })
    for i in range(20):
        rows["applications"].append({
            "application_id": f"R000100{i:02d}", "applied_date": "2023-03-03", "entry_route": _cycle("entry_route", i),
            "sex": _cycle("sex", i), "ethnicity_code": _cycle("ethnicity", i), "heard_via_outreach": "N",
            "spoke_only_to_outreach": "N", "outreach_bcu_code": "", "furthest_stage": _cycle("recruitment_stage", i),
            "person_id": "",
        })
    for i, rag in enumerate(CODES["rag_status"]):
        rows["stride_updates"].append({
            "commitment_id": "3", "board_date": f"2024-0{i + 1}-01", "rag_status": rag, "percent_complete": "50",
            "milestones_due": "2", "milestones_met": "1", "senior_lead": "Director of People", "narrative": "",
        })
        rows["iopc_actions"].append({
            "action_id": "R05-01", "recommendation_id": "5", "board_date": f"2024-0{i + 1}-01", "rag_status": rag,
            "percent_complete": "50", "milestones_due": "2", "milestones_met": "1", "senior_lead": "Director of People",
            "action": "Review social media guidance", "narrative": "",
        })
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("staging")
    sql_dir = root / "sql"
    shutil.copytree(config.SQL_DIR / "staging", sql_dir / "staging")
    (sql_dir / "marts").mkdir()
    data = write_dataset(root / "data", _coverage_rows())
    report = build(data, root / "eq.duckdb", as_of=AS_OF, sql_dir=sql_dir, keep_staging=True)
    assert report.quarantine_counts == {}, report.quarantine_counts  # the coverage rows are all valid
    return root / "eq.duckdb"


def test_one_staging_model_per_extract():
    assert [p.stem for p in STAGING] == sorted(f"stg_{e}" for e in config.EXTRACTS)


@pytest.mark.parametrize("extract", config.EXTRACTS)
def test_row_count_equals_accepted_raw_rows_and_key_is_unique(warehouse, extract):
    key = load_contracts(config.EXTRACTS)[extract].primary_key
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        stg = wh.table(f"stg_{extract}")
        raw_n = wh.query("select rows_accepted from load_audit where extract = ?", [extract])["rows_accepted"][0]
    assert stg.height == raw_n == len(_coverage_rows()[extract])
    assert stg.select(key).is_duplicated().sum() == 0
    assert stg.select(pl.col(k).null_count() for k in key).sum_horizontal()[0] == 0


@pytest.mark.parametrize(("model", "code_col", "label_col", "code_list"), LABELS, ids=[f"{m}.{lab}" for m, _, lab, _ in LABELS])
def test_every_code_has_a_label(warehouse, model, code_col, label_col, code_list):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        stg = wh.table(model)
    present = set(stg[code_col].drop_nulls())
    assert present == set(CODES[code_list])  # the coverage rows really use every code
    unlabelled = stg.filter(pl.col(code_col).is_not_null() & pl.col(label_col).is_null())
    assert unlabelled.height == 0, unlabelled


def test_labels_include_every_characteristic_reference_group(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        people = wh.table("stg_people")
        ranks = set(wh.table("stg_postings")["rank_label"])
    for column, characteristic in config.CHARACTERISTICS.items():
        if column in people.columns:
            assert characteristic.reference_group in set(people[column]), column
            if characteristic.not_stated:
                assert characteristic.not_stated in set(people[column]), column
    assert config.CHARACTERISTICS["rank_grade"].reference_group in ranks
    assert set(people["ethnicity_group"]) == {"White", "Mixed", "Asian", "Black", "Other", "Not stated"}
    assert set(people["disability"]) == {"Disabled", "Not disabled", "Not stated"}
    assert set(people["sex"]) == {"Female", "Male"}


def test_people_recodes(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        p = wh.query("select * from stg_people where person_id = ?", ["P0000002"]).row(0, named=True)
    assert (p["sex"], p["ethnicity"], p["ethnicity_group"], p["disability"]) == ("Female", "Caribbean", "Black", "Disabled")
    assert (p["gender_reassignment"], p["pregnancy_maternity"], p["worker_type"]) == ("Not stated", "Yes", "Police officer")
    assert (p["leaving_reason"], p["leave_date"], p["has_left"]) == ("Resignation", date(2021, 6, 30), True)


def test_grievance_flags(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        g = {r["grievance_id"]: r for r in wh.query(
            "select * from stg_grievances where grievance_id in (?, ?, ?, ?)", ["G0000001", "G0000002", "G0000003", "G0000004"]
        ).iter_rows(named=True)}
    # (date(2019, 8, 1) - date(2019, 5, 10)).days == 83; (date(2022, 3, 1) - date(2022, 1, 17)).days == 43
    assert (g["G0000001"]["is_upheld"], g["G0000001"]["is_discrimination"], g["G0000001"]["days_to_resolve"]) == (False, True, 83)
    assert (g["G0000002"]["is_upheld"], g["G0000002"]["is_discrimination"], g["G0000002"]["days_to_resolve"]) == (True, False, 43)
    assert (g["G0000003"]["is_open"], g["G0000003"]["is_upheld"], g["G0000003"]["days_to_resolve"]) == (True, None, None)
    assert g["G0000004"]["is_upheld"] is True and g["G0000004"]["outcome_label"] == "Upheld"


def test_misconduct_flags(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        c = {r["case_id"]: r for r in wh.query(
            "select * from stg_misconduct_cases where case_id in (?, ?, ?)", ["C0000001", "C0000002", "C0000003"]
        ).iter_rows(named=True)}
        sanctions = wh.query("select outcome from stg_misconduct_cases where has_sanction group by outcome order by outcome")
    assert (c["C0000001"]["is_investigated"], c["C0000001"]["has_reached_meeting_or_hearing"], c["C0000001"]["has_sanction"]) == (True, True, True)
    assert (c["C0000002"]["has_sanction"], c["C0000002"]["failed_to_report"]) == (True, True)
    assert (c["C0000003"]["is_investigated"], c["C0000003"]["has_reached_meeting_or_hearing"], c["C0000003"]["has_sanction"], c["C0000003"]["is_open"]) == (False, False, False, True)
    assert sanctions["outcome"].to_list() == ["DISMISSAL", "FINAL_WRITTEN_WARNING", "REDUCTION_IN_RANK", "WRITTEN_WARNING"]


def test_application_stages(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        a = {r["application_id"]: r for r in wh.table("stg_applications").iter_rows(named=True)}
    vetting, joined, applied = a["R00000001"], a["R00000002"], a["R00000003"]
    assert vetting["stage_rank"] == 4 and (vetting["passed_vetting"], vetting["passed_medical"]) == (True, False)
    assert joined["stage_rank"] == 7 and joined["passed_joined"] is True
    assert applied["stage_rank"] == 1 and applied["passed_sift"] is False
    assert (vetting["has_heard_via_outreach"], vetting["has_spoken_only_to_outreach"], vetting["sex"]) == (True, True, "Female")


def test_postings_and_acting_up_recodes(warehouse):
    with Warehouse(warehouse, check_version=False) as wh:  # staging models only
        s = wh.query("select * from stg_postings where posting_id = ?", ["S00000002"]).row(0, named=True)
        d = wh.query("select * from stg_acting_up where decision_id = ?", ["D0000001"]).row(0, named=True)
    assert (s["rank_label"], s["rank_order"], s["worker_type_code"], s["worker_type"], s["is_current"]) == (
        "Sergeant", 2, "OFFICER", "Police officer", True)
    assert (d["substantive_rank_label"], d["acting_rank_label"], d["is_selected"], d["is_qualified"], d["has_rationale"]) == (
        "Sergeant", "Inspector", True, True, True)


@pytest.mark.parametrize("path", STAGING, ids=[p.stem for p in STAGING])
def test_staging_model_shape_and_no_cross_extract_joins(path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith(f"-- {path.stem}: ")
    assert any(line.startswith("-- Grain: ") for line in lines[:6])
    assert any(line.startswith("-- Upstream: ") for line in lines[:6])
    assert text.rstrip().endswith("select * from final")
    extract = path.stem.removeprefix("stg_")
    tables = tables_read(read_model(path, "staging"))  # from DuckDB's parse tree
    raw_tables = {t for t in tables if t.startswith("raw_")}
    assert raw_tables == {f"raw_{extract}"}  # staging recodes with ref_codes only, never another extract
    assert not {t for t in tables if t.startswith(("stg_", "fct_", "dim_"))}
