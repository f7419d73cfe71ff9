"""Malformed extracts: each test is the valid dataset plus one defect, and asserts the exact outcome
(the blocking message, or the quarantined (rule, column, source_row) and the reconciled counts)."""

from __future__ import annotations

from datetime import date

import polars as pl
from contract_data import csv_text, valid_rows
from validation_helpers import blocked, counts, failures, rewrite, run

from data_contracts.contract import load_contracts
from data_contracts.validate import COLUMN_TYPE_THRESHOLD
from metrics.config import EXTRACTS

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


def test_great_expectations_judges_the_code_values_as_they_stand_after_normalising(small_dir, tmp_path):
    """Reading hands each code column's distinct values on to great-expectations (found once, not
    twice); a column whose codes were normalised hands on nothing, so its values are found again as
    they now stand. Verdicts are the same as when every column's values are found afresh."""
    from data_contracts import gx_worker
    from data_contracts.contract import load_codes
    from data_contracts.gx_suite import judge
    from data_contracts.mapping import Mapping
    from data_contracts.reading import read_and_normalise

    people = pl.read_csv(small_dir / "people.csv", infer_schema=False)
    people = people.with_columns(pl.col("sex").str.to_lowercase(),  # normalised to M/F
                                 pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("ZZ"))  # not a code, on one row
                                 .otherwise(pl.col("ethnicity_code")).alias("ethnicity_code"))
    people.write_csv(tmp_path / "people.csv")
    contract, codes = load_contracts(EXTRACTS)["people"], load_codes()
    read = read_and_normalise(tmp_path / "people.csv", contract, codes, Mapping())
    assert "sex" not in read.distinct and sorted(read.distinct["ethnicity_code"].to_list())[-1] == "ZZ"
    assert sorted(read.distinct) == sorted(c.name for c in contract.columns if c.codes and c.name != "sex")
    handed = judge({"people": read.frame}, {"people": contract}, codes, date(2026, 10, 31), gx_worker.shared(),
                   distinct={"people": read.distinct})
    found = judge({"people": read.frame}, {"people": contract}, codes, date(2026, 10, 31), gx_worker.shared())
    assert handed["codes"].select("column", "value").rows() == [("ethnicity_code", "ZZ")]
    assert sorted(handed) == sorted(found)
    for kind in handed:
        assert handed[kind].sort(handed[kind].columns).equals(found[kind].sort(found[kind].columns)), kind


def test_notes_count_in_the_one_number_style(small_dir, tmp_path):
    """Counts in an extract's notes carry thousands separators, as every count the pages show."""
    from data_contracts.contract import load_codes
    from data_contracts.mapping import Mapping
    from data_contracts.reading import read_and_normalise

    people = pl.read_csv(small_dir / "people.csv", infer_schema=False)
    assert people.height == 7_245
    people.with_columns(pl.col("sex").str.to_lowercase(), pl.col("ethnicity_code") + " ").write_csv(tmp_path / "people.csv")
    read = read_and_normalise(tmp_path / "people.csv", load_contracts(EXTRACTS)["people"], load_codes(), Mapping())
    assert read.notes == ["7,245 values had surrounding whitespace trimmed",
                          "7,245 codes normalised to the code list's case (sex: 7,245)"]


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
