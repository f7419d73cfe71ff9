"""A minimal valid data directory of all ten extracts, so every malformed-input test is "a valid
dataset plus one defect". Imported by tests as `contract_data` (tests/ is on pytest's pythonpath);
a module named conftest cannot be imported reliably when several folders have one."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path

import polars as pl

AS_OF = date(2026, 10, 31)

_ROWS: dict[str, list[dict[str, str]]] = {
    "business_areas": [
        {"business_area_code": "BCU01", "business_area_name": "Central West", "area_type": "BCU",
         "spoc_person_id": "P0000001", "force_name": "Metropolitan Police Service"},
        {"business_area_code": "OCU01", "business_area_name": "Roads and Transport", "area_type": "OCU",
         "spoc_person_id": "", "force_name": "Metropolitan Police Service"},
        {"business_area_code": "HQ01", "business_area_name": "People Directorate", "area_type": "HQ",
         "spoc_person_id": "P0000004", "force_name": "Metropolitan Police Service"},
    ],
    "people": [
        {"person_id": "P0000001", "worker_type": "OFFICER", "sex": "M", "birth_year": "1980", "ethnicity_code": "W1",
         "disability": "N", "gender_reassignment": "N", "marital_status": "MARRIED", "pregnancy_maternity": "N",
         "caring_responsibilities": "NOT_CARER",
         "religion": "CHRISTIAN", "sexual_orientation": "HETEROSEXUAL", "join_date": "2005-09-01",
         "leave_date": "", "leaving_reason": ""},
        {"person_id": "P0000002", "worker_type": "OFFICER", "sex": "F", "birth_year": "1990", "ethnicity_code": "B1",
         "disability": "Y", "gender_reassignment": "NS", "marital_status": "SINGLE", "pregnancy_maternity": "Y",
         "caring_responsibilities": "PRIMARY_CARER",
         "religion": "NONE", "sexual_orientation": "BISEXUAL", "join_date": "2015-03-02",
         "leave_date": "2021-06-30", "leaving_reason": "RESIGNATION"},
        {"person_id": "P0000003", "worker_type": "STAFF", "sex": "F", "birth_year": "1975", "ethnicity_code": "A2",
         "disability": "NS", "gender_reassignment": "N", "marital_status": "CIVIL_PARTNERSHIP", "pregnancy_maternity": "NS",
         "caring_responsibilities": "NS",
         "religion": "MUSLIM", "sexual_orientation": "GAY_LESBIAN", "join_date": "2010-01-04",
         "leave_date": "", "leaving_reason": ""},
        {"person_id": "P0000004", "worker_type": "PCSO", "sex": "M", "birth_year": "1999", "ethnicity_code": "M1",
         "disability": "N", "gender_reassignment": "Y", "marital_status": "NS", "pregnancy_maternity": "N",
         "caring_responsibilities": "NOT_CARER",
         "religion": "NS", "sexual_orientation": "NS", "join_date": "2019-11-11",
         "leave_date": "", "leaving_reason": ""},
        {"person_id": "P0000005", "worker_type": "SPECIAL", "sex": "F", "birth_year": "1985", "ethnicity_code": "NS",
         "disability": "N", "gender_reassignment": "N", "marital_status": "DIVORCED", "pregnancy_maternity": "N",
         "caring_responsibilities": "PRIMARY_CARER",
         "religion": "HINDU", "sexual_orientation": "OTHER", "join_date": "2012-07-16",
         "leave_date": "2024-02-29", "leaving_reason": "RETIREMENT"},
        {"person_id": "P0000006", "worker_type": "OFFICER", "sex": "M", "birth_year": "2001", "ethnicity_code": "O1",
         "disability": "N", "gender_reassignment": "N", "marital_status": "WIDOWED", "pregnancy_maternity": "N",
         "caring_responsibilities": "NOT_CARER",
         "religion": "SIKH", "sexual_orientation": "HETEROSEXUAL", "join_date": "2023-04-03",
         "leave_date": "", "leaving_reason": ""},
    ],
    "postings": [
        {"posting_id": "S00000001", "person_id": "P0000001", "business_area_code": "BCU01", "rank_grade": "PC",
         "start_date": "2005-09-01", "end_date": "2016-03-31", "team_code": "BCU01-RESP01", "team_type": "RESPONSE",
         "line_manager_id": ""},
        {"posting_id": "S00000002", "person_id": "P0000001", "business_area_code": "BCU01", "rank_grade": "PS",
         "start_date": "2016-04-01", "end_date": ""},
        {"posting_id": "S00000003", "person_id": "P0000002", "business_area_code": "OCU01", "rank_grade": "PC",
         "start_date": "2015-03-02", "end_date": "2021-06-30"},
        {"posting_id": "S00000004", "person_id": "P0000003", "business_area_code": "HQ01", "rank_grade": "BAND_D",
         "start_date": "2010-01-04", "end_date": ""},
        {"posting_id": "S00000005", "person_id": "P0000004", "business_area_code": "BCU01", "rank_grade": "PCSO",
         "start_date": "2019-11-11", "end_date": ""},
        {"posting_id": "S00000006", "person_id": "P0000005", "business_area_code": "BCU01", "rank_grade": "SC",
         "start_date": "2012-07-16", "end_date": "2024-02-29"},
        {"posting_id": "S00000007", "person_id": "P0000006", "business_area_code": "OCU01", "rank_grade": "PC",
         "start_date": "2023-04-03", "end_date": ""},
    ],
    "grievances": [
        {"grievance_id": "G0000001", "person_id": "P0000002", "business_area_code": "OCU01", "raised_date": "2019-05-10",
         "category": "DISCRIM_RACE", "stage": "STAGE_1", "assessor_type": "LOCAL", "outcome": "NOT_UPHELD",
         "outcome_date": "2019-08-01", "satisfaction_score": "2"},
        {"grievance_id": "G0000002", "person_id": "P0000003", "business_area_code": "HQ01", "raised_date": "2022-01-17",
         "category": "BULLYING", "stage": "INFORMAL", "assessor_type": "INDEPENDENT", "outcome": "PARTLY_UPHELD",
         "outcome_date": "2022-03-01", "satisfaction_score": ""},
        {"grievance_id": "G0000003", "person_id": "P0000004", "business_area_code": "BCU01", "raised_date": "2026-09-01",
         "category": "HARASSMENT", "stage": "STAGE_1", "assessor_type": "LOCAL", "outcome": "",
         "outcome_date": "", "satisfaction_score": ""},
        {"grievance_id": "G0000004", "person_id": "P0000002", "business_area_code": "OCU01", "raised_date": "2020-02-03",
         "category": "SEXUAL_HARASSMENT", "stage": "STAGE_2", "assessor_type": "INDEPENDENT", "outcome": "UPHELD",
         "outcome_date": "2020-06-15", "satisfaction_score": "4"},
    ],
    "misconduct_cases": [
        {"case_id": "C0000001", "person_id": "P0000002", "business_area_code": "OCU01", "referral_date": "2018-03-05",
         "source": "PUBLIC_COMPLAINT", "allegation_type": "USE_OF_FORCE", "severity": "MISCONDUCT",
         "is_investigated": "Y", "route": "MISCONDUCT_MEETING", "outcome": "WRITTEN_WARNING",
         "outcome_date": "2018-10-12", "failed_to_report": "N", "failed_to_report_reason": ""},
        {"case_id": "C0000002", "person_id": "P0000006", "business_area_code": "OCU01", "referral_date": "2025-06-20",
         "source": "INTERNAL_CONDUCT", "allegation_type": "CHALLENGING_REPORTING", "severity": "GROSS_MISCONDUCT",
         "is_investigated": "Y", "route": "GROSS_MISCONDUCT_HEARING", "outcome": "DISMISSAL",
         "outcome_date": "2026-01-09", "failed_to_report": "Y", "failed_to_report_reason": "FEAR_OF_REPRISAL"},
        {"case_id": "C0000003", "person_id": "P0000001", "business_area_code": "BCU01", "referral_date": "2026-08-01",
         "source": "DISCRIMINATION_UNIT", "allegation_type": "EQUALITY_DIVERSITY", "severity": "NO_MISCONDUCT",
         "is_investigated": "N", "route": "", "outcome": "", "outcome_date": "",
         "failed_to_report": "N", "failed_to_report_reason": ""},
    ],
    "applications": [
        {"application_id": "R00000001", "applied_date": "2021-01-11", "entry_route": "PCDA", "sex": "F",
         "ethnicity_code": "B2", "heard_via_outreach": "Y", "spoke_only_to_outreach": "Y", "outreach_bcu_code": "BCU01",
         "furthest_stage": "VETTING", "person_id": ""},
        {"application_id": "R00000002", "applied_date": "2022-12-11", "entry_route": "DHEP", "sex": "M",
         "ethnicity_code": "W1", "heard_via_outreach": "N", "spoke_only_to_outreach": "N", "outreach_bcu_code": "",
         "furthest_stage": "JOINED", "person_id": "P0000006"},
        {"application_id": "R00000003", "applied_date": "2024-05-30", "entry_route": "PCEP", "sex": "F",
         "ethnicity_code": "A1", "heard_via_outreach": "Y", "spoke_only_to_outreach": "N", "outreach_bcu_code": "BCU01",
         "furthest_stage": "APPLIED", "person_id": ""},
    ],
    "acting_up": [
        {"decision_id": "D0000001", "person_id": "P0000001", "business_area_code": "BCU01", "decision_date": "2020-06-01",
         "substantive_rank": "PS", "acting_rank": "INSP", "outcome": "SELECTED", "duration_days": "90",
         "is_qualified": "Y", "has_rationale": "Y"},
        {"decision_id": "D0000002", "person_id": "P0000006", "business_area_code": "OCU01", "decision_date": "2025-02-14",
         "substantive_rank": "PC", "acting_rank": "PS", "outcome": "NOT_SELECTED", "duration_days": "",
         "is_qualified": "N", "has_rationale": "N"},
    ],
    "stride_updates": [
        {"commitment_id": "1", "board_date": "2025-01-15", "rag_status": "A", "percent_complete": "40",
         "milestones_due": "5", "milestones_met": "2", "senior_lead": "Director of People", "narrative": "On track"},
        {"commitment_id": "1", "board_date": "2025-02-26", "rag_status": "G", "percent_complete": "55",
         "milestones_due": "5", "milestones_met": "3", "senior_lead": "Director of People", "narrative": ""},
        {"commitment_id": "2", "board_date": "2025-01-15", "rag_status": "R", "percent_complete": "10",
         "milestones_due": "4", "milestones_met": "0", "senior_lead": "Assistant Commissioner", "narrative": "Delayed"},
    ],
    "iopc_actions": [
        {"action_id": "R01-01", "recommendation_id": "1", "board_date": "2025-01-15", "rag_status": "G",
         "percent_complete": "80", "milestones_due": "3", "milestones_met": "3", "senior_lead": "Director of Professionalism",
         "action": "Publish the grievance outcome data", "narrative": ""},
        {"action_id": "R03-02", "recommendation_id": "3", "board_date": "2025-01-15", "rag_status": "A",
         "percent_complete": "30", "milestones_due": "4", "milestones_met": "1", "senior_lead": "Director of People",
         "action": "Share grievance data with staff associations", "narrative": "Data-sharing agreement drafted"},
    ],
    "targets": [
        {"measure": "OFFICER_REPRESENTATION", "target_group": "BLACK_ASIAN_MIXED_OTHER", "target_date": "2022-03-31",
         "target_share": "0.16", "source": "Met Police 2022 commitment"},
        {"measure": "OFFICER_REPRESENTATION", "target_group": "BLACK_ASIAN_MIXED_OTHER", "target_date": "2030-03-31",
         "target_share": "0.28", "source": "Met Police 2030 ambition"},
        {"measure": "RECRUIT_SHARE", "target_group": "BLACK_ASIAN_MIXED_OTHER", "target_date": "2030-03-31",
         "target_share": "0.4", "source": ""},
    ],
}


def valid_rows() -> dict[str, list[dict[str, str]]]:
    """A fresh copy of the minimal valid dataset, extract -> rows (all text, as a CSV holds them)."""
    return {extract: [dict(r) for r in rows] for extract, rows in _ROWS.items()}


def csv_text(rows: list[dict[str, str]], *, header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = header or list(rows[0])
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue()


def write_dataset(directory: Path, rows: dict[str, list[dict[str, str]]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for extract, extract_rows in rows.items():
        (directory / f"{extract}.csv").write_text(csv_text(extract_rows), encoding="utf-8")
    return directory


def copy_with_open_end_marker(source: Path, target: Path) -> str:
    """A copy of a data folder whose first open posting ends 9999-12-31 (how SAP and Oracle HR
    exports write "no end yet"); returns that posting's id."""
    shutil.copytree(source, target)
    postings = pl.read_csv(target / "postings.csv", infer_schema=False)
    first_open = postings.filter(pl.col("end_date").is_null())["posting_id"][0]
    postings.with_columns(pl.when(pl.col("posting_id") == first_open).then(pl.lit("9999-12-31"))
                          .otherwise(pl.col("end_date")).alias("end_date")).write_csv(target / "postings.csv")
    return first_open
