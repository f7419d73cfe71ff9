"""Row-level rules on malformed extracts: each test is the valid dataset plus one defect, and the
row is quarantined with its rule, column, source row and value; the counts reconcile."""

from __future__ import annotations

import polars as pl
from contract_data import AS_OF, csv_text, valid_rows, write_dataset
from validation_helpers import blocked, counts, failures, rewrite, run

from metrics.config import EXTRACTS

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


def test_references_looked_up_for_every_extract_at_once_quarantine_what_each_lookup_did(valid_extracts, monkeypatch):
    """validate_dataset looks up every column that references people in one go (_reference_misses);
    each extract looked up on its own (as validate_extract does without them) quarantines the same
    rows with the same messages: an unknown person, a quarantined one, a blank optional one, an
    unknown business area, in four extracts."""
    from data_contracts import validate

    rows = valid_rows()
    rows["people"].append(dict(rows["people"][2], sex="M"))  # P0000003 twice: quarantined
    rows["postings"][0]["person_id"] = "P0009999"  # nobody
    rows["misconduct_cases"][0]["person_id"] = "P0009998"
    rows["misconduct_cases"][1]["business_area_code"] = "NOWHERE"
    rows["applications"][0]["person_id"] = ""  # optional: blank is no reference
    write_dataset(valid_extracts, rows)
    at_once = run(valid_extracts)
    monkeypatch.setattr(validate, "_reference_misses", lambda *args: {})
    one_by_one = run(valid_extracts)
    for extract in EXTRACTS:
        assert at_once.extracts[extract].quarantine.equals(one_by_one.extracts[extract].quarantine), extract
    assert failures(at_once, "postings") == [("references", "person_id", 2), ("references", "person_id", 5)]
    assert ("references", "business_area_code", 3) in failures(at_once, "misconduct_cases")
    assert ("references", "person_id", 2) in failures(at_once, "misconduct_cases")
    assert not [f for f in failures(at_once, "applications") if f[1] == "person_id"]


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


def test_ids_judged_by_their_shape_name_every_failing_value(valid_extracts):
    """GX judges an id's shape (R12345678 as R00000000) once; the rows of a failing shape are found
    again, each with its own value. Digits that are not ASCII are not [0-9], so not a valid shape."""
    rows = valid_rows()
    rows["applications"][0]["application_id"] = "R123"
    rows["applications"][2]["application_id"] = "R456"  # the same failing shape, another value
    rows["applications"][1]["application_id"] = "R\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"  # Arabic-Indic digits
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "applications")
    assert failures(result, "applications") == [("pattern", "application_id", 2), ("pattern", "application_id", 3),
                                                ("pattern", "application_id", 4)]
    assert result.extracts["applications"].quarantine.sort("source_row")["message"].to_list() == [
        "application_id 'R123' does not match the pattern ^R[0-9]{8}$",
        "application_id 'R\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668' does not match the pattern ^R[0-9]{8}$",
        "application_id 'R456' does not match the pattern ^R[0-9]{8}$",
    ]


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


def test_latest_end_before_is_each_persons_running_latest_stop_never_another_persons():
    """The spells sweep's reach without a window per person: on rows sorted by person, the latest
    stop among the person's earlier rows; null on a person's first row. Worked by hand: A's rows
    stop 1969-12-31 (day -1), 1960-01-01, 9999-12-31; B's first row must not see A's 9999-12-31."""
    from datetime import date

    from data_contracts.row_rules import _latest_end_before

    frame = pl.DataFrame({
        "p": ["A", "A", "A", "A", "B", "B", "C"],
        "stop": [date(1969, 12, 31), date(1960, 1, 1), date(9999, 12, 31), date(2001, 5, 1),
                 date(1, 1, 1), date(2020, 1, 1), date(2020, 1, 1)],
    })
    got = frame.select(_latest_end_before(pl.col("p"), pl.col("stop")).alias("r"))["r"].to_list()
    assert got == [None, date(1969, 12, 31), date(1969, 12, 31), date(9999, 12, 31), None, date(1, 1, 1), None]
    window = frame.select(pl.col("stop").cum_max().shift(1).over("p").alias("r"))["r"].to_list()
    assert got == window
