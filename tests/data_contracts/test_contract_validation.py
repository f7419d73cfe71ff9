"""Malformed extracts: each test is the valid dataset plus one defect, and asserts the exact outcome
(the blocking message, or the quarantined (rule, column, source_row) and the reconciled counts)."""

from __future__ import annotations

import polars as pl
import pytest
from contract_data import AS_OF, csv_text, valid_rows, write_dataset

from data_contracts.contract import load_contracts
from data_contracts.errors import BlockingError
from data_contracts.validate import COLUMN_TYPE_THRESHOLD, ValidationResult, validate_dataset
from metrics.config import EXTRACTS


def run(data_dir, upto: str = "targets") -> ValidationResult:
    """Validate the extracts up to and including ``upto`` (references need the earlier ones)."""
    result = validate_dataset(data_dir, EXTRACTS[: EXTRACTS.index(upto) + 1], as_of=AS_OF)
    for r in result.extracts.values():  # every test: nothing lost, nothing counted twice
        assert r.rows_read == r.rows_accepted + r.rows_quarantined
        assert r.rows_quarantined == r.quarantine["source_row"].n_unique()
    return result


def failures(result: ValidationResult, extract: str) -> list[tuple[str, str, int]]:
    q = result.extracts[extract].quarantine
    return sorted(zip(q["rule"], q["column_name"], q["source_row"], strict=True))


def counts(result: ValidationResult, extract: str) -> tuple[int, int, int]:
    r = result.extracts[extract]
    return r.rows_read, r.rows_accepted, r.rows_quarantined


def blocked(data_dir, upto: str = "targets") -> BlockingError:
    with pytest.raises(BlockingError) as info:
        run(data_dir, upto)
    return info.value


def rewrite(data_dir, extract: str, text: str | bytes) -> None:
    path = data_dir / f"{extract}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")


# ---------------------------------------------------------------------------------------------
# The valid dataset itself
# ---------------------------------------------------------------------------------------------


def test_the_valid_dataset_is_accepted_whole(valid_extracts):
    result = run(valid_extracts)
    rows = valid_rows()
    for extract in EXTRACTS:
        assert counts(result, extract) == (len(rows[extract]), len(rows[extract]), 0)
    assert result.quarantine.height == 0
    people = result.extracts["people"].accepted
    assert people.schema["join_date"] == pl.Date
    assert people.schema["birth_year"] == pl.Int64
    assert result.extracts["targets"].accepted.schema["target_share"] == pl.Float64


def test_every_shipped_contract_loads_and_references_point_backwards():
    contracts = load_contracts(EXTRACTS)
    assert list(contracts) == list(EXTRACTS)
    assert contracts["grievances"].column("person_id").references == ("people", "person_id")


# ---------------------------------------------------------------------------------------------
# Blocking failures: one line naming file, column, row and rule
# ---------------------------------------------------------------------------------------------


def test_missing_extract_blocks(valid_extracts):
    (valid_extracts / "grievances.csv").unlink()
    err = blocked(valid_extracts)
    assert (err.file, err.rule) == ("grievances.csv", "missing_file")
    assert "extract 'grievances' is missing: expected grievances.csv (or grievances.parquet)" in str(err)


def test_zero_byte_file_blocks(valid_extracts):
    rewrite(valid_extracts, "people", b"")
    err = blocked(valid_extracts, "people")
    assert str(err) == (
        "people.csv: rule empty_file — the file is empty (0 bytes); every extract needs a header and at least one row"
    )


def test_header_only_file_blocks_because_no_extract_may_be_empty(valid_extracts):
    header = ",".join(valid_rows()["stride_updates"][0])
    rewrite(valid_extracts, "stride_updates", header + "\n")
    err = blocked(valid_extracts, "stride_updates")
    assert (err.file, err.rule, err.row) == ("stride_updates.csv", "no_data_rows", 2)
    assert "has a header but no data rows" in err.message


def test_missing_required_column_blocks_and_names_it(valid_extracts):
    rows = valid_rows()["people"]
    header = [h for h in rows[0] if h != "join_date"]
    rewrite(valid_extracts, "people", csv_text(rows, header=header))
    err = blocked(valid_extracts, "people")
    assert str(err) == "people.csv, column join_date, row 1: rule missing_column — required column 'join_date' is not in the header"


def test_renamed_column_blocks_and_suggests_the_near_match(valid_extracts):
    rows = valid_rows()["people"]
    text = csv_text(rows).replace("leave_date", "leaving_date", 1)
    rewrite(valid_extracts, "people", text)
    err = blocked(valid_extracts, "people")
    assert err.rule == "missing_column" and err.column == "leave_date"
    assert "(found 'leaving_date' — renamed?)" in err.message


def test_semicolon_delimiter_is_detected_and_named(valid_extracts):
    text = csv_text(valid_rows()["people"]).replace(",", ";")
    rewrite(valid_extracts, "people", text)
    err = blocked(valid_extracts, "people")
    assert str(err) == (
        "people.csv, row 1: rule delimiter — the file is separated by semicolons (';'), not commas; "
        "re-export it as comma-separated CSV"
    )


def test_latin1_bytes_block_with_offset_line_and_advice(valid_extracts):
    rows = valid_rows()["business_areas"]
    rows[1]["business_area_name"] = "Café Quarter"
    data = csv_text(rows).encode("latin-1")
    rewrite(valid_extracts, "business_areas", data)
    offset = data.index(b"\xe9")  # the é, one byte in Latin-1
    err = blocked(valid_extracts, "business_areas")
    assert err.rule == "encoding"
    assert f"byte 0xE9 at byte offset {offset} (line 3) is not valid UTF-8" in str(err)
    assert "re-export it as UTF-8" in str(err)


def test_wrong_type_column_blocks_with_share_and_example(valid_extracts):
    rows = valid_rows()["people"]
    for row in rows[:5]:  # 5 of 6 join dates day-first: 83% > the 50% threshold
        y, m, d = row["join_date"].split("-")
        row["join_date"] = f"{d}/{m}/{y}"
    rewrite(valid_extracts, "people", csv_text(rows))
    err = blocked(valid_extracts, "people")
    assert COLUMN_TYPE_THRESHOLD == 0.5
    assert str(err) == (
        "people.csv, column join_date: rule column_type — 83% of values are not dates (YYYY-MM-DD), e.g. row 2: '01/09/2005'"
    )


def test_duplicate_header_names_block(valid_extracts):
    rows = valid_rows()["people"]
    header = list(rows[0]) + ["sex"]
    rewrite(valid_extracts, "people", csv_text(rows, header=header))
    err = blocked(valid_extracts, "people")
    assert (err.rule, err.column, err.row) == ("duplicate_header", "sex", 1)
    assert "column name 'sex' appears 2 times in the header (columns 3, 16)" in err.message


def test_row_with_more_fields_than_the_header_blocks_naming_the_row(valid_extracts):
    lines = csv_text(valid_rows()["targets"]).splitlines()
    lines[2] = lines[2] + ",extra"  # the second data row = spreadsheet row 3
    rewrite(valid_extracts, "targets", "\n".join(lines) + "\n")
    err = blocked(valid_extracts)
    assert (err.file, err.rule, err.row) == ("targets.csv", "field_count", 3)
    assert "row 3 has 6 fields but the header has 5" in err.message


def test_unnamed_column_holding_data_blocks(valid_extracts):
    rows = valid_rows()["targets"]
    lines = csv_text(rows).splitlines()
    lines = [lines[0] + ","] + [line + ("," if i != 1 else ",stray") for i, line in enumerate(lines[1:])]
    rewrite(valid_extracts, "targets", "\n".join(lines) + "\n")
    err = blocked(valid_extracts)
    assert (err.rule, err.row) == ("unnamed_column", 3)
    assert "column 6 has no header name but holds data (e.g. row 3)" in err.message


def test_csv_and_parquet_of_the_same_extract_is_ambiguous(valid_extracts):
    pl.read_csv(valid_extracts / "targets.csv").write_parquet(valid_extracts / "targets.parquet")
    err = blocked(valid_extracts)
    assert err.rule == "ambiguous_file" and "keep only one" in err.message


def test_bad_input_never_escapes_as_a_raw_exception(valid_extracts):
    # an unterminated quote swallows the rest of the file: still one BlockingError naming the file
    rewrite(valid_extracts, "targets", 'measure,target_group,target_date,target_share,source\n"OFFICER_REPRESENTATION,x\n')
    err = blocked(valid_extracts)
    assert err.file == "targets.csv"


# ---------------------------------------------------------------------------------------------
# Tolerated with a note: nothing lost
# ---------------------------------------------------------------------------------------------


def test_utf8_bom_is_stripped(valid_extracts):
    rewrite(valid_extracts, "people", b"\xef\xbb\xbf" + csv_text(valid_rows()["people"]).encode())
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)
    assert result.extracts["people"].accepted["person_id"][0] == "P0000001"
    assert "UTF-8 byte-order mark removed" in result.extracts["people"].notes


def test_crlf_line_endings_are_read(valid_extracts):
    rewrite(valid_extracts, "people", csv_text(valid_rows()["people"]).replace("\n", "\r\n"))
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)
    assert result.extracts["people"].accepted["leaving_reason"].to_list()[1] == "RESIGNATION"  # no stray \r
    assert "Windows (CRLF) line endings read" in result.extracts["people"].notes


def test_quoted_newline_is_one_record_and_later_rows_keep_spreadsheet_numbers(valid_extracts):
    rows = valid_rows()["stride_updates"]
    rows[0]["narrative"] = "Two lines,\nwith a comma"
    rows[2]["milestones_met"] = "9"  # third data row: spreadsheet row 4, text line 5
    rewrite(valid_extracts, "stride_updates", csv_text(rows))
    result = run(valid_extracts, "stride_updates")
    assert counts(result, "stride_updates") == (3, 2, 1)
    assert failures(result, "stride_updates") == [("not_greater", "milestones_met", 4)]
    assert result.extracts["stride_updates"].accepted["narrative"][0] == "Two lines,\nwith a comma"


def test_surrounding_whitespace_is_trimmed(valid_extracts):
    rows = valid_rows()["people"]
    rows[0]["person_id"] = "  P0000001 "
    rows[1]["ethnicity_code"] = "B1 "
    rows[2]["join_date"] = " 2010-01-04"
    rewrite(valid_extracts, "people", csv_text(rows))
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)
    accepted = result.extracts["people"].accepted
    assert accepted["person_id"][0] == "P0000001" and accepted["ethnicity_code"][1] == "B1"
    assert "3 values had surrounding whitespace trimmed" in result.extracts["people"].notes


def test_trailing_empty_columns_are_dropped(valid_extracts):
    lines = csv_text(valid_rows()["people"]).splitlines()
    rewrite(valid_extracts, "people", "\n".join(line + ",," for line in lines) + "\n")
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)
    assert result.extracts["people"].accepted.columns == list(valid_rows()["people"][0])
    assert "2 empty unnamed or unknown column(s) dropped" in result.extracts["people"].notes


def test_lower_case_codes_are_normalised_and_counted(valid_extracts):
    rows = valid_rows()["people"]
    rows[0]["sex"] = "m"
    rows[1]["ethnicity_code"] = "b1"
    rows[2]["marital_status"] = "Civil_Partnership"
    rewrite(valid_extracts, "people", csv_text(rows))
    result = run(valid_extracts, "people")
    people = result.extracts["people"]
    assert counts(result, "people") == (6, 6, 0)
    assert people.n_normalised == 3 and result.n_normalised == 3
    assert people.accepted["sex"][0] == "M" and people.accepted["ethnicity_code"][1] == "B1"
    assert people.accepted["marital_status"][2] == "CIVIL_PARTNERSHIP"
    assert "3 codes normalised to the code list's case (sex: 1, ethnicity_code: 1, marital_status: 1)" in people.notes


def test_unknown_extra_column_is_ignored_with_a_warning(valid_extracts):
    rows = valid_rows()["people"]
    for row in rows:
        row["payroll_number"] = "123"
    rewrite(valid_extracts, "people", csv_text(rows))
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)
    assert "payroll_number" not in result.extracts["people"].accepted.columns
    assert "WARNING: column(s) not in the contract ignored: payroll_number" in result.extracts["people"].notes


def test_parquet_extract_is_read_like_csv(valid_extracts):
    csv_path = valid_extracts / "targets.csv"
    frame = pl.read_csv(csv_path, schema_overrides={"target_date": pl.Date, "target_share": pl.Float64})
    frame.write_parquet(valid_extracts / "targets.parquet")
    csv_path.unlink()
    result = run(valid_extracts)
    assert counts(result, "targets") == (3, 3, 0)
    assert result.extracts["targets"].accepted["target_share"].to_list() == [0.16, 0.28, 0.4]


# ---------------------------------------------------------------------------------------------
# Row-level rules: the row is quarantined with its rule, column, source row and value
# ---------------------------------------------------------------------------------------------


def test_duplicate_ids_quarantine_every_row_sharing_the_key_and_cascade(valid_extracts):
    rows = valid_rows()
    rows["people"].append(dict(rows["people"][2], sex="M"))  # P0000003 again, spreadsheet row 8
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "grievances")
    assert counts(result, "people") == (7, 5, 2)
    assert failures(result, "people") == [("unique", "person_id", 4), ("unique", "person_id", 8)]
    msg = result.extracts["people"].quarantine["message"][0]
    assert msg == (
        "person_id 'P0000003' appears in 2 rows (rows 4, 8); every row sharing a duplicated key is "
        "quarantined because nothing says which one is right"
    )
    # P0000003's posting (row 5) and grievance (row 3) cannot stand without their person
    assert failures(result, "postings") == [("references", "person_id", 5)]
    assert failures(result, "grievances") == [("references", "person_id", 3)]
    assert result.extracts["grievances"].quarantine["message"][0] == (
        "person_id 'P0000003' was quarantined in people.csv (row 4), so this row is quarantined too"
    )
    assert counts(result, "grievances") == (4, 3, 1)


def test_unknown_ethnicity_code_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["people"][3]["ethnicity_code"] = "Z9"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [("codes", "ethnicity_code", 5)]
    q = result.extracts["people"].quarantine.row(0, named=True)
    assert q["value"] == "Z9"
    assert q["message"].startswith("ethnicity_code 'Z9' is not in code list ethnicity (W1, W2, W3")
    assert counts(result, "people") == (6, 5, 1)


def test_blank_required_field_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["people"][1]["religion"] = "   "
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [("required", "religion", 3)]
    assert result.extracts["people"].quarantine["message"][0] == "religion is required but blank"
    assert counts(result, "people") == (6, 5, 1)


def test_outcome_before_raised_date_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["grievances"][0]["outcome_date"] = "2019-04-01"  # raised 2019-05-10
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "grievances")
    assert failures(result, "grievances") == [("date_order", "outcome_date", 2)]
    assert result.extracts["grievances"].quarantine["message"][0] == (
        "outcome_date_not_before_raised_date: outcome_date 2019-04-01 is before raised_date 2019-05-10"
    )
    assert counts(result, "grievances") == (4, 3, 1)


def test_date_in_the_future_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["misconduct_cases"][2]["referral_date"] = "2026-11-01"  # the day after as_of
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "misconduct_cases")
    assert failures(result, "misconduct_cases") == [("not_future", "referral_date", 4)]
    assert result.extracts["misconduct_cases"].quarantine["message"][0] == (
        "referral_date 2026-11-01 is after the as-of date 2026-10-31 (a date in the future)"
    )
    assert counts(result, "misconduct_cases") == (3, 2, 1)


def test_as_of_date_itself_is_not_the_future(valid_extracts):
    rows = valid_rows()
    rows["misconduct_cases"][2]["referral_date"] = AS_OF.isoformat()
    write_dataset(valid_extracts, rows)
    assert counts(run(valid_extracts, "misconduct_cases"), "misconduct_cases") == (3, 3, 0)


def test_orphan_person_id_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["grievances"][3]["person_id"] = "P0000099"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "grievances")
    assert failures(result, "grievances") == [("references", "person_id", 5)]
    assert result.extracts["grievances"].quarantine["message"][0] == (
        "person_id 'P0000099' is not in people.csv (people.person_id)"
    )


def test_negative_duration_is_below_the_minimum(valid_extracts):
    rows = valid_rows()
    rows["acting_up"][0]["duration_days"] = "-5"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "acting_up")
    assert failures(result, "acting_up") == [("min", "duration_days", 2)]
    assert result.extracts["acting_up"].quarantine["message"][0] == "duration_days -5 is below the minimum 1"
    assert counts(result, "acting_up") == (2, 1, 1)


def test_score_above_the_maximum_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["grievances"][0]["satisfaction_score"] = "7"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "grievances")
    assert failures(result, "grievances") == [("max", "satisfaction_score", 2)]
    assert result.extracts["grievances"].quarantine["message"][0] == "satisfaction_score 7 is above the maximum 5"


def test_bad_date_format_in_one_row_is_a_row_level_type_failure(valid_extracts):
    rows = valid_rows()
    rows["people"][4]["join_date"] = "31/03/2019"  # 1 of 6: under the column threshold
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [("type", "join_date", 6)]
    assert result.extracts["people"].quarantine["message"][0] == "join_date '31/03/2019' is not a date (YYYY-MM-DD)"
    assert counts(result, "people") == (6, 5, 1)


def test_impossible_calendar_date_and_decimal_year_are_type_failures(valid_extracts):
    rows = valid_rows()
    rows["people"][0]["join_date"] = "2019-02-30"
    rows["people"][1]["birth_year"] = "1990.5"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [("type", "birth_year", 3), ("type", "join_date", 2)]
    messages = set(result.extracts["people"].quarantine["message"])
    assert "birth_year '1990.5' is not a whole number" in messages


def test_both_or_neither_broken_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["grievances"][1]["outcome_date"] = ""  # outcome PARTLY_UPHELD stays
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "grievances")
    assert failures(result, "grievances") == [("both_or_neither", "outcome_date", 3)]
    q = result.extracts["grievances"].quarantine.row(0, named=True)
    assert q["value"] == "PARTLY_UPHELD"
    assert q["message"] == (
        "outcome_given_with_outcome_date: outcome is 'PARTLY_UPHELD' but outcome_date is blank; give both or neither"
    )


def test_milestones_met_above_due_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["iopc_actions"][1]["milestones_met"] = "5"  # due 4
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "iopc_actions")
    assert failures(result, "iopc_actions") == [("not_greater", "milestones_met", 3)]
    assert result.extracts["iopc_actions"].quarantine["message"][0] == (
        "milestones_met_not_above_due: milestones_met 5 is greater than milestones_due 4"
    )


def test_pattern_mismatch_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["applications"][2]["application_id"] = "R123"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "applications")
    assert failures(result, "applications") == [("pattern", "application_id", 4)]
    assert result.extracts["applications"].quarantine["message"][0] == (
        "application_id 'R123' does not match the pattern ^R[0-9]{8}$"
    )


def test_duplicate_compound_key_quarantines_both_rows(valid_extracts):
    rows = valid_rows()
    rows["stride_updates"][1]["board_date"] = "2025-01-15"  # now commitment 1 twice on 2025-01-15
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "stride_updates")
    assert failures(result, "stride_updates") == [
        ("unique", "commitment_id+board_date", 2),
        ("unique", "commitment_id+board_date", 3),
    ]
    assert result.extracts["stride_updates"].quarantine["value"][0] == "1|2025-01-15"


def test_row_breaking_several_rules_is_listed_per_rule_but_counted_once(valid_extracts):
    rows = valid_rows()
    rows["people"][5].update(sex="X", religion="", join_date="2027-01-01")
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [
        ("codes", "sex", 7),
        ("not_future", "join_date", 7),
        ("required", "religion", 7),
    ]
    assert counts(result, "people") == (6, 5, 1)


def test_blank_line_is_a_quarantined_row_and_later_rows_keep_their_numbers(valid_extracts):
    lines = csv_text(valid_rows()["targets"]).splitlines()
    lines.insert(2, "")  # a blank line after the first data row
    lines[3] = lines[3].replace("0.28", "1.5")  # header 1, first row 2, blank 3: this is row 4
    rewrite(valid_extracts, "targets", "\n".join(lines) + "\n")
    result = run(valid_extracts)
    assert counts(result, "targets") == (4, 2, 2)
    assert failures(result, "targets") == [
        ("max", "target_share", 4),
        ("required", "measure", 3),
        ("required", "target_date", 3),
        ("required", "target_group", 3),
        ("required", "target_share", 3),
    ]


def test_unknown_files_in_the_data_dir_are_ignored(valid_extracts):
    (valid_extracts / "manifest.json").write_text('{"profile": "small"}', encoding="utf-8")
    (valid_extracts / "README.txt").write_bytes(b"\xff not even text")
    result = run(valid_extracts)
    assert list(result.extracts) == list(EXTRACTS) and result.quarantine.height == 0


def test_utf16_file_blocks_with_its_own_advice(valid_extracts):
    rewrite(valid_extracts, "people", csv_text(valid_rows()["people"]).encode("utf-16"))
    err = blocked(valid_extracts, "people")
    assert str(err) == (
        "people.csv: rule encoding — the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); re-export it as UTF-8"
    )


def test_parquet_rows_are_quarantined_with_spreadsheet_style_numbers(valid_extracts):
    rows = valid_rows()["targets"]
    rows[1]["target_share"] = "1.5"
    frame = pl.DataFrame(rows).with_columns(pl.col("target_date").str.to_date(), pl.col("target_share").cast(pl.Float64))
    frame.write_parquet(valid_extracts / "targets.parquet")
    (valid_extracts / "targets.csv").unlink()
    result = run(valid_extracts)
    assert failures(result, "targets") == [("max", "target_share", 3)]
    assert result.extracts["targets"].file == "targets.parquet"
    assert counts(result, "targets") == (3, 2, 1)
