"""The quarantine policy (a broken extract blocks the build, the previous warehouse keeps serving)
and mapping files (real HR exports read without editing them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from contract_data import AS_OF, valid_rows, write_dataset

from data_contracts.contract import load_contracts
from data_contracts.errors import BlockingError
from data_contracts.mapping import load_mapping
from data_contracts.policy import check_policy
from data_contracts.validate import validate_dataset
from metrics import config
from metrics.warehouse import Warehouse, build


@pytest.fixture
def sql_dir(tmp_path: Path) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR / "staging", target / "staging")
    (target / "marts").mkdir()
    return target


def _policy(data_dir, **kw):
    result = validate_dataset(data_dir, config.EXTRACTS, as_of=AS_OF)
    return check_policy(result, load_contracts(config.EXTRACTS), **kw)


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------


def test_people_appended_to_itself_blocks_and_the_previous_warehouse_keeps_serving(valid_extracts, tmp_path, sql_dir):
    db = tmp_path / "eq.duckdb"
    old = build(valid_extracts, db, as_of=AS_OF, sql_dir=sql_dir).build_id
    rows = valid_rows()
    rows["people"] = rows["people"] * 2  # every person twice: all 12 rows break unique
    write_dataset(valid_extracts, rows)
    before = db.read_bytes()
    with pytest.raises(BlockingError) as info:
        build(valid_extracts, db, as_of=AS_OF, sql_dir=sql_dir)
    # every person is quarantined, so everything referring to a person goes too
    assert str(info.value) == (
        "people.csv: rule quarantine_policy — every one of its 12 rows is quarantined; rule unique on person_id hit "
        "12 rows (e.g. 'P0000001', 'P0000002', 'P0000003') (and 5 more extract(s): postings.csv, grievances.csv, "
        "misconduct_cases.csv, applications.csv, acting_up.csv). Fix the extract (or its mapping), or build anyway "
        "with --accept-quarantine")
    assert db.read_bytes() == before
    with Warehouse(db, check_version=False) as wh:
        assert wh.build_info()["build_id"] == old


def test_a_share_over_the_threshold_blocks_naming_rule_rows_and_values(valid_extracts):
    rows = valid_rows()
    rows["grievances"][1]["category"] = "Bullied"  # 1 of 4 grievances: 25%
    write_dataset(valid_extracts, rows)
    breaches = _policy(valid_extracts)
    assert [(b.extract, b.reason, b.message) for b in breaches] == [
        ("grievances", "share", "grievances.csv: 1 of 4 rows (25.0%) are quarantined, more than the 5% allowed; rule "
                                "codes on category hit 1 row (e.g. 'Bullied')")]
    assert _policy(valid_extracts, thresholds={"grievances": 0.25}) == []  # at the threshold is allowed
    assert _policy(valid_extracts, default_threshold=0.3) == []


def test_a_whole_column_rejected_by_one_rule_blocks_even_under_the_share(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    cases = pl.read_csv(data / "misconduct_cases.csv", infer_schema=False)
    # every reason given (130 of 1,772 cases, 7.3%) written as words instead of codes
    cases = cases.with_columns(("Reason: " + pl.col("failed_to_report_reason").str.to_lowercase()).alias("failed_to_report_reason"))
    cases.write_csv(data / "misconduct_cases.csv")
    result = validate_dataset(data, config.EXTRACTS)
    contracts = load_contracts(config.EXTRACTS)
    assert result.extracts["misconduct_cases"].rows_quarantined == 130
    share = check_policy(result, contracts)
    assert [(b.extract, b.reason) for b in share] == [("misconduct_cases", "share")]
    assert share[0].message.startswith("misconduct_cases.csv: 130 of 1,772 rows (7.3%) are quarantined, more than the "
                                       "5% allowed; rule codes on failed_to_report_reason hit 130 rows (e.g. '")
    whole = check_policy(result, contracts, thresholds={"misconduct_cases": 0.10})
    assert [(b.extract, b.reason) for b in whole] == [("misconduct_cases", "whole_column")]
    assert whole[0].message.startswith("misconduct_cases.csv: rule codes rejects every value of column "
                                       "failed_to_report_reason (130 rows, e.g. '")
    assert whole[0].message.endswith("): the column, not its rows, is wrong")


def test_yes_no_words_in_a_required_column_block_the_build_and_the_mapping_fixes_them(small_dir, tmp_path, small_warehouse):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    cases = pl.read_csv(data / "misconduct_cases.csv", infer_schema=False)
    cases.with_columns(pl.col("is_investigated").replace({"Y": "Yes", "N": "No"})).write_csv(data / "misconduct_cases.csv")
    with pytest.raises(BlockingError) as info:
        build(data, tmp_path / "eq.duckdb")
    assert str(info.value).startswith(
        "misconduct_cases.csv: rule quarantine_policy — every one of its 1,772 rows is quarantined; rule codes on "
        "is_investigated hit 1,772 rows (e.g. ")
    assert not (tmp_path / "eq.duckdb").exists()
    mapping = tmp_path / "map.yaml"
    mapping.write_text("extracts:\n  misconduct_cases:\n    values:\n      is_investigated: {Yes: Y, No: N}\n")
    report = build(data, tmp_path / "eq.duckdb", mapping_path=mapping, keep_staging=True)
    assert report.quarantine_counts == {}
    with Warehouse(tmp_path / "eq.duckdb", check_version=False) as new, Warehouse(small_warehouse) as plain:
        for table in ("fct_misconduct_referrals", "stg_misconduct_cases", "fct_person_time"):
            assert new.table(table).equals(plain.table(table)), table
        assert new.build_info()["mapping_file"] == str(mapping.resolve())


def test_accept_quarantine_builds_and_records_the_breach(valid_extracts, tmp_path, sql_dir):
    rows = valid_rows()
    rows["grievances"][1]["category"] = "Bullied"
    write_dataset(valid_extracts, rows)
    report = build(valid_extracts, tmp_path / "eq.duckdb", as_of=AS_OF, sql_dir=sql_dir, accept_quarantine=True)
    assert report.accepted_breaches == [
        "grievances.csv: 1 of 4 rows (25.0%) are quarantined, more than the 5% allowed; rule codes on category hit "
        "1 row (e.g. 'Bullied')"]
    with Warehouse(tmp_path / "eq.duckdb", check_version=False) as wh:
        info = wh.build_info()
        assert info["accepted_quarantine"] == report.accepted_breaches[0]
        assert (info["as_of_source"], str(info["as_of"])) == ("--as-of", "2026-10-31")


def test_build_refuses_to_replace_a_file_that_is_not_a_warehouse(valid_extracts, tmp_path, sql_dir):
    target = valid_extracts / "people.csv"
    before = target.read_bytes()
    with pytest.raises(BlockingError) as info:
        build(valid_extracts, target, as_of=AS_OF, sql_dir=sql_dir)
    assert info.value.message == (f"{target} exists and is not an eqdash warehouse; refusing to replace it (choose "
                                  "another --db, or delete the file yourself)")
    assert target.read_bytes() == before
    with pytest.raises(BlockingError) as info:
        build(valid_extracts, tmp_path, as_of=AS_OF, sql_dir=sql_dir)
    assert info.value.message == f"{tmp_path} is a directory; give the warehouse file, e.g. {tmp_path / 'eqdash.duckdb'}"


# ---------------------------------------------------------------------------------------------
# Mapping files
# ---------------------------------------------------------------------------------------------

HR_PEOPLE = """Employee Ref,worker_type,Gender,birth_year,Ethnic Origin,Disabled,gender_reassignment,marital_status,pregnancy_maternity,religion,sexual_orientation,Date Joined,leave_date,leaving_reason
P0000001,OFFICER,Male,1980,White - British,No,N,MARRIED,N,CHRISTIAN,HETEROSEXUAL,01/09/2005,,
P0000002,OFFICER,Female,1990,Black or Black British - Caribbean,Yes,NS,SINGLE,Y,NONE,BISEXUAL,02/03/2015,2021-06-30,RESIGNATION
P0000003,STAFF,Female,1975,A2,NS,N,CIVIL_PARTNERSHIP,NS,MUSLIM,GAY_LESBIAN,04/01/2010,,
P0000004,PCSO,M,1999,M1,N,Y,NS,N,NS,NS,11/11/2019,,
P0000005,SPECIAL,Female,1985,NS,Maybe,N,DIVORCED,N,HINDU,OTHER,16/07/2012,2024-02-29,RETIREMENT
P0000006,OFFICER,Male,2001,O1,No,N,WIDOWED,N,SIKH,HETEROSEXUAL,2023-04-03,,
"""

MAPPING = """
extracts:
  people:
    columns: {Employee Ref: person_id, Gender: sex, Ethnic Origin: ethnicity_code, Disabled: disability, Date Joined: join_date}
    values:
      sex: {Female: F, Male: M}
      ethnicity_code: {"White - British": W1, "Black or Black British - Caribbean": B1}
      disability: {Yes: Y, No: N}
    dates: {join_date: "%d/%m/%Y"}
"""


def test_a_mapping_renames_recodes_and_redates_and_reconciles(valid_extracts, tmp_path):
    (valid_extracts / "people.csv").write_text(HR_PEOPLE, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping(tmp_path / "map.yaml", config.EXTRACTS)
    result = validate_dataset(valid_extracts, config.EXTRACTS[:2], as_of=AS_OF, mapping=mapping)
    people = result.extracts["people"]
    # P0000005's "Maybe" is no word the mapping knows: quarantined by the codes rule with its value;
    # P0000006's ISO join date is not dd/mm/yyyy: left as written, and the contract reads it
    assert (people.rows_read, people.rows_accepted, people.rows_quarantined) == (6, 5, 1)
    assert people.quarantine.select("rule", "column_name", "source_row", "value").rows() == [
        ("codes", "disability", 6, "Maybe")]
    expected = pl.DataFrame([r for r in valid_rows()["people"] if r["person_id"] != "P0000005"])
    # this HR export predates caring_responsibilities: the contract reads the absent column as blank
    assert people.accepted["caring_responsibilities"].null_count() == 5
    expected = expected.drop("caring_responsibilities")
    got = people.accepted.select(expected.columns).with_columns(pl.all().cast(pl.String))
    assert got.equals(expected.with_columns(pl.when(pl.all() == "").then(None).otherwise(pl.all()).name.keep()))
    assert people.notes == ("mapping: 5 column(s) renamed", "mapping: 10 value(s) mapped to codes",
                            "mapping: dates read from join_date (%d/%m/%Y)",
                            "column(s) not in this extract read as blank: caring_responsibilities")


def test_excel_serials_and_iso_datetimes_are_read_as_dates(valid_extracts, tmp_path):
    rows = valid_rows()
    # Excel: 2019-05-10 is day 43595 (=DATE(2019,5,10) in Excel); ISO with a time of day
    rows["grievances"][0]["raised_date"] = "43595"
    rows["grievances"][0]["outcome_date"] = "2019-08-01T14:30:00"
    rows["grievances"][1]["raised_date"] = "44578.0"  # 2022-01-17
    rows["grievances"][1]["outcome_date"] = "2022-03-01 09:00"
    rows["grievances"][2]["raised_date"] = "not a day"
    write_dataset(valid_extracts, rows)
    (tmp_path / "map.yaml").write_text(
        "extracts:\n  grievances:\n    dates: {raised_date: excel, outcome_date: iso_datetime}\n", encoding="utf-8")
    result = validate_dataset(valid_extracts, config.EXTRACTS[:4], as_of=AS_OF,
                              mapping=load_mapping(tmp_path / "map.yaml", config.EXTRACTS))
    g = result.extracts["grievances"]
    assert g.quarantine.select("rule", "column_name", "source_row", "value").rows() == [
        ("type", "raised_date", 4, "not a day")]
    dates = g.accepted.sort("grievance_id").select(pl.col("raised_date", "outcome_date").cast(pl.String)).rows()
    assert dates == [("2019-05-10", "2019-08-01"), ("2022-01-17", "2022-03-01"), ("2020-02-03", "2020-06-15")]


@pytest.mark.parametrize(("text", "message"), [
    ("extracts:\n  payroll: {}\n", "extract 'payroll' is not one of business_areas, people, postings, grievances, "
                                   "misconduct_cases, applications, acting_up, stride_updates, iopc_actions, targets"),
    ("extracts:\n  people:\n    dates: {join_date: dd/mm/yyyy}\n",
     "people.dates.join_date: 'dd/mm/yyyy' is not a strptime format (e.g. %d/%m/%Y), excel or iso_datetime"),
    ("extracts:\n  people:\n    renames: {}\n", "people: unknown key(s) ['renames'] (use columns, values, dates)"),
    ("open_end_markers: [31/12/9999]\n", "open_end_markers must be a list of dates like 9999-12-31, not ['31/12/9999']"),
    ("extracts: [unclosed\n", None),
])
def test_a_bad_mapping_file_is_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BlockingError) as info:
        load_mapping(path, config.EXTRACTS)
    assert info.value.rule == "mapping"
    if message is None:
        assert info.value.message.startswith(f"mapping file {path} is not valid YAML: ")
    else:
        assert info.value.message == message


def test_a_renamed_column_missing_from_the_export_names_its_source(valid_extracts, tmp_path):
    (tmp_path / "map.yaml").write_text("extracts:\n  people:\n    columns: {Employee Ref: person_id}\n", encoding="utf-8")
    path = valid_extracts / "people.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("person_id", "Employee No", 1), encoding="utf-8")
    with pytest.raises(BlockingError) as info:
        validate_dataset(valid_extracts, config.EXTRACTS[:2], as_of=AS_OF,
                         mapping=load_mapping(tmp_path / "map.yaml", config.EXTRACTS))
    # the export calls it 'Employee No'; the mapping expects 'Employee Ref'
    assert info.value.message == ("required column 'person_id' is not in the header (the mapping reads it from source "
                                  "column 'Employee Ref')")


def test_a_parquet_export_goes_through_the_mapping_with_its_float_ids_as_whole_numbers(valid_extracts, tmp_path):
    frame = pl.read_csv(valid_extracts / "stride_updates.csv", infer_schema=False)
    # a spreadsheet-made Parquet: the commitment id renamed and stored as a float (1.0, 2.0)
    frame.rename({"commitment_id": "Commitment No"}).with_columns(pl.col("Commitment No").cast(pl.Float64)).write_parquet(
        valid_extracts / "stride_updates.parquet")
    (valid_extracts / "stride_updates.csv").unlink()
    (tmp_path / "map.yaml").write_text("extracts:\n  stride_updates:\n    columns: {Commitment No: commitment_id}\n")
    result = validate_dataset(valid_extracts, config.EXTRACTS, as_of=AS_OF,
                              mapping=load_mapping(tmp_path / "map.yaml", config.EXTRACTS))
    stride = result.extracts["stride_updates"]
    assert (stride.rows_read, stride.rows_accepted, stride.rows_quarantined) == (3, 3, 0)
    assert stride.accepted["commitment_id"].to_list() == [1, 1, 2]
