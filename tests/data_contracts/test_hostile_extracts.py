"""Hostile and unusual extracts (issue 12): each is the valid dataset plus one defect, and the
test asserts the exact blocking message, or the exact quarantined (rule, column, source_row) and the
reconciled counts. Also the as-of date, open-end markers and plausibility rules."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from datetime import date

import polars as pl
import pytest
from contract_data import AS_OF, csv_text, valid_rows, write_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.contract import load_contracts
from data_contracts.errors import BlockingError
from data_contracts.mapping import Mapping
from data_contracts.validate import ValidationResult, validate_dataset
from metrics.config import EXTRACTS


def run(data_dir, upto: str = "targets", **kw) -> ValidationResult:
    result = validate_dataset(data_dir, EXTRACTS[: EXTRACTS.index(upto) + 1], **({"as_of": AS_OF} | kw))
    for r in result.extracts.values():  # nothing lost, nothing counted twice
        assert r.rows_read == r.rows_accepted + r.rows_quarantined
        assert r.rows_quarantined == r.quarantine["source_row"].n_unique()
    return result


def blocked(data_dir, upto: str = "targets") -> BlockingError:
    with pytest.raises(BlockingError) as info:
        run(data_dir, upto)
    return info.value


def failures(result: ValidationResult, extract: str) -> list[tuple[str, str, int]]:
    q = result.extracts[extract].quarantine
    return sorted(zip(q["rule"], q["column_name"], q["source_row"], strict=True))


def messages(result: ValidationResult, extract: str, rule: str) -> list[str]:
    q = result.extracts[extract].quarantine.filter(pl.col("rule") == rule).sort("source_row")
    return q["message"].to_list()


def counts(result: ValidationResult, extract: str) -> tuple[int, int, int]:
    r = result.extracts[extract]
    return r.rows_read, r.rows_accepted, r.rows_quarantined


# ---------------------------------------------------------------------------------------------
# Files that are not what their name says: named by their bytes
# ---------------------------------------------------------------------------------------------


def test_parquet_bytes_named_csv_are_called_parquet(valid_extracts):
    pl.read_csv(valid_extracts / "people.csv", infer_schema=False).write_parquet(valid_extracts / "people.csv")
    assert str(blocked(valid_extracts, "people")) == (
        "people.csv: rule not_csv — the file is Parquet, not CSV (it starts with the Parquet mark PAR1); "
        "name it people.parquet")


def test_gzip_bytes_are_called_gzip(valid_extracts):
    path = valid_extracts / "people.csv"
    path.write_bytes(gzip.compress(path.read_bytes()))
    assert str(blocked(valid_extracts, "people")) == (
        "people.csv: rule not_csv — the file is gzip-compressed (it starts with the gzip mark 1F 8B); "
        "decompress it first (gunzip)")


def test_zip_and_xlsx_bytes_are_named(valid_extracts):
    path = valid_extracts / "people.csv"
    text = path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("people.csv", text)
    path.write_bytes(buffer.getvalue())
    assert blocked(valid_extracts, "people").message == (
        "the file is a zip archive, not CSV (it starts with the zip mark PK); save or extract it as CSV UTF-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    path.write_bytes(buffer.getvalue())
    assert blocked(valid_extracts, "people").message.startswith("the file is an Excel workbook (.xlsx), not CSV")


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "little-endian"), ("utf-16-be", "big-endian")])
def test_utf16_without_a_bom_is_named_not_reported_as_missing_columns(valid_extracts, codec, order):
    path = valid_extracts / "people.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode(codec))
    err = blocked(valid_extracts, "people")
    assert (err.rule, err.message) == ("encoding", f"the file is UTF-16 ({order}) without a byte-order mark: every "
                                                   "other byte is zero; re-export it as UTF-8")


def test_utf16_with_a_bom_is_named(valid_extracts):
    path = valid_extracts / "people.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    assert blocked(valid_extracts, "people").message.startswith("the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark)")


def test_cr_only_line_endings_are_named(valid_extracts):
    path = valid_extracts / "people.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    assert str(blocked(valid_extracts, "people")) == (
        "people.csv, row 1: rule line_endings — lines end with a carriage return only (CR, old Mac OS style), so "
        "the whole file reads as one line; re-export it with LF or CRLF line endings")


def test_an_unterminated_quote_names_the_row_it_opened_on(valid_extracts):
    rows = valid_rows()
    text = csv_text(rows["people"]).splitlines(keepends=True)
    text[3] = text[3].replace(",F,", ',"F,', 1)  # row 4 (P0000003) opens a quote that never closes
    (valid_extracts / "people.csv").write_text("".join(text), encoding="utf-8")
    err = blocked(valid_extracts, "people")
    assert (err.rule, err.row) == ("unterminated_quote", 4)
    assert err.message.startswith("row 4 (line 4) opens a quoted value that is never closed, so everything after it "
                                  "would be read as one value: 'P0000003,STAFF,\"F,1975,A2,")


def test_a_title_line_above_the_header_is_named(valid_extracts):
    path = valid_extracts / "people.csv"
    path.write_text("Workforce extract run 31/10/2026\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert str(blocked(valid_extracts, "people")) == (
        "people.csv, row 1: rule title_line — line 1 ('Workforce extract run 31/10/2026') is not the header: the "
        "header is on line 3; delete the line(s) above it so the header is the first line")


# The checks read the file's head as text and the rest as bytes (csv_read._HEAD_BYTES, 4 MiB); with a
# head of a few bytes, every cut falls inside the small extract, so every character boundary is tried.
_WIDE = "Zoë Ångström €uro 🙂"  # 2-, 3- and 4-byte characters


def _wide_business_areas(valid_extracts) -> bytes:
    rows = valid_rows()["business_areas"]
    rows[1]["business_area_name"] = _WIDE
    data = csv_text(rows).encode("utf-8")
    (valid_extracts / "business_areas.csv").write_bytes(data)
    return data


def test_a_head_cut_inside_any_character_reads_the_same_frame(valid_extracts, monkeypatch):
    from data_contracts import csv_read

    data = _wide_business_areas(valid_extracts)
    whole = csv_read.read_csv_text(data, "business_areas.csv", [], {"business_area_code"})
    start = data.index(_WIDE.encode())
    for cut in range(1, len(data) + 2):
        monkeypatch.setattr(csv_read, "_HEAD_BYTES", cut)
        notes: list[str] = []
        frame = csv_read.read_csv_text(data, "business_areas.csv", notes, {"business_area_code"})
        assert frame.equals(whole) and notes == [], cut
    assert start < len(data)  # the cuts above went through every byte of the wide name


@pytest.mark.parametrize("defect", ["none", "title_line", "cr_only", "unterminated_quote", "field_count"])
def test_bytes_that_are_not_utf8_after_the_head_are_named_before_any_other_problem(valid_extracts, monkeypatch,
                                                                                   defect):
    from data_contracts import csv_read

    monkeypatch.setattr(csv_read, "_HEAD_BYTES", 64)
    rows = valid_rows()["people"]
    text = csv_text(rows)
    if defect == "title_line":
        text = "Workforce extract run 31/10/2026\n" + text
    elif defect == "unterminated_quote":
        text = text.replace(",F,", ',"F,', 1)
    elif defect == "field_count":
        text = text.rstrip("\n") + ",extra,fields\n"
    data = text.encode("utf-8") + "Café,x\n".encode("latin-1")  # a last line in Latin-1, far past the head
    if defect == "cr_only":
        data = data.replace(b"\n", b"\r")
    (valid_extracts / "people.csv").write_bytes(data)
    offset = data.index(b"\xe9")
    line = data.count(b"\n", 0, offset) + 1
    err = blocked(valid_extracts, "people")
    assert (err.rule, err.message) == ("encoding", f"byte 0xE9 at byte offset {offset} (line {line}) "
                                                   "is not valid UTF-8 — the file looks Latin-1/Windows-1252 encoded; "
                                                   "re-export it as UTF-8")


def test_a_blank_head_over_a_blank_file_is_empty_and_over_data_is_not(valid_extracts, monkeypatch):
    from data_contracts import csv_read

    monkeypatch.setattr(csv_read, "_HEAD_BYTES", 8)
    path = valid_extracts / "people.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(" \n\t\u3000" * 10, encoding="utf-8")  # ideographic spaces (3 bytes) too
    assert blocked(valid_extracts, "people").rule == "empty_file"
    path.write_text(" " * 20 + "\n" + text, encoding="utf-8")  # blank first bytes, then the extract
    assert blocked(valid_extracts, "people").rule == "title_line"


def test_a_symlink_loop_is_named_not_missing(valid_extracts):
    path = valid_extracts / "people.csv"
    path.unlink()
    os.symlink(path.name, path)  # people.csv -> people.csv
    err = blocked(valid_extracts, "people")
    assert err.rule == "symlink_loop"
    assert err.message == f"{path} is a symbolic link that loops back on itself ('people.csv'); point it at the extract file"


def test_a_broken_symlink_names_its_target(valid_extracts):
    path = valid_extracts / "people.csv"
    path.unlink()
    os.symlink("/nowhere/people.csv", path)
    assert blocked(valid_extracts, "people").message == f"{path} is a symbolic link to '/nowhere/people.csv', which does not exist"


def test_a_trailing_ctrl_z_is_ignored_with_a_note(valid_extracts):
    path = valid_extracts / "people.csv"
    path.write_bytes(path.read_bytes() + b"\x1a")
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (6, 6, 0)  # not a junk 7th row
    assert "a trailing end-of-file mark (Ctrl-Z, byte 0x1A) was ignored" in result.extracts["people"].notes


# ---------------------------------------------------------------------------------------------
# Plausibility and integrity rules
# ---------------------------------------------------------------------------------------------


def test_overlapping_spells_are_quarantined_together(valid_extracts):
    rows = valid_rows()
    # P0000001 holds S00000001 2005-09-01..2016-03-31; a second spell from 2015-01-01 overlaps it
    rows["postings"].append({"posting_id": "S00000008", "person_id": "P0000001", "business_area_code": "OCU01",
                             "rank_grade": "PC", "start_date": "2015-01-01", "end_date": "2015-12-31"})
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert failures(result, "postings") == [("overlapping_spell", "posting_id", 2), ("overlapping_spell", "posting_id", 9)]
    assert counts(result, "postings") == (8, 6, 2)
    assert messages(result, "postings", "overlapping_spell")[1] == (
        "person_id P0000001 has 2 spells that overlap (rows 2, 9): start_date 2015-01-01 to 2015-12-31 overlaps "
        "another; a person holds one post at a time, and nothing says which spell is right")


def test_spells_that_touch_do_not_overlap_but_sharing_a_day_does(valid_extracts):
    rows = valid_rows()
    rows["postings"][1]["start_date"] = "2016-03-31"  # S00000001 ends 2016-03-31 (inclusive): one shared day
    write_dataset(valid_extracts, rows)
    assert failures(run(valid_extracts, "postings"), "postings") == [
        ("overlapping_spell", "posting_id", 2), ("overlapping_spell", "posting_id", 3)]
    rows["postings"][1]["start_date"] = "2016-04-01"  # the valid data: the next day
    write_dataset(valid_extracts, rows)
    assert failures(run(valid_extracts, "postings"), "postings") == []


def test_a_duplicated_spell_keeps_the_first_copy(valid_extracts):
    rows = valid_rows()
    rows["postings"].append(dict(rows["postings"][2], posting_id="S00000009"))  # S00000003 again, new id
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert failures(result, "postings") == [("duplicate_spell", "posting_id", 9)]
    assert messages(result, "postings", "duplicate_spell") == [
        "person_id P0000002: the same spell as posting_id S00000003 (row 4), start_date 2015-03-02 to 2021-06-30; "
        "the copy is quarantined"]


def _spells_one_by_one(rows: list[dict]) -> list[tuple[int, str, str]]:
    """The spell rule worked out row by row in plain Python, as the contract states it: a row equal to
    an earlier one in every column but posting_id (dates compared as dates) is a copy of the first;
    the other spells of a person overlap when one starts on or before the latest end (inclusive; blank:
    open) of the ones starting before it, and every spell of such a cluster is quarantined."""
    def day(text):
        try:
            return date.fromisoformat(text) if text and len(text) == 10 else None
        except ValueError:
            return None

    others = ("business_area_code", "rank_grade", "team_code", "team_type", "line_manager_id")
    first: dict[tuple, int] = {}
    copies, kept = [], []
    for i, row in enumerate(rows):
        start, end = day(row["start_date"]), day(row["end_date"])
        if row["person_id"] is None or start is None:
            continue
        same = (row["person_id"], start, end, *(row[c] for c in others))
        if same in first:
            j = first[same]
            copies.append((i, "duplicate_spell",
                           f"person_id {row['person_id']}: the same spell as posting_id {rows[j]['posting_id']} (row {j + 2}), "
                           f"start_date {start} to {end or 'open'}; the copy is quarantined"))
        else:
            first[same] = i
            kept.append((row["person_id"], start, end or date(9999, 12, 31), end, i))
    overlaps = []
    for person in {k[0] for k in kept}:
        spells = sorted((k for k in kept if k[0] == person), key=lambda k: (k[1], k[2], k[4]))
        clusters, reach = [], None
        for spell in spells:
            if reach is None or spell[1] > reach:
                clusters.append([])
            clusters[-1].append(spell)
            reach = spell[2] if reach is None or spell[1] > reach else max(reach, spell[2])
        for cluster in (c for c in clusters if len(c) > 1):
            numbers = ", ".join(str(s[4] + 2) for s in sorted(cluster, key=lambda s: s[4])[:10])
            overlaps += [(s[4], "overlapping_spell",
                          f"person_id {person} has {len(cluster)} spells that overlap (rows {numbers}): start_date {s[1]} "
                          f"to {s[3] or 'open'} overlaps another; a person holds one post at a time, and nothing says "
                          "which spell is right") for s in cluster]
    return sorted(copies) + sorted(overlaps)


_SPELL_DATES = st.sampled_from(["2020-01-01", "2020-03-31", "2020-04-01", "2020-06-30", "2021-01-01", "9999-12-31", "bad"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "person_id": st.sampled_from(["P1", "P2", "P3", None]), "business_area_code": st.sampled_from(["A", None]),
    "rank_grade": st.sampled_from(["PC", "PS"]), "start_date": st.one_of(st.none(), _SPELL_DATES),
    "end_date": st.one_of(st.none(), _SPELL_DATES), "team_code": st.sampled_from(["T1", None]),
    "team_type": st.just("X"), "line_manager_id": st.sampled_from([None, "P9"])}), max_size=40),
    st.lists(st.integers(0, 39), max_size=15))
def test_the_spell_rule_agrees_with_working_it_out_row_by_row(rows, repeats):
    """Copies, overlaps, open ends, blanks and unparsable dates in any order: the vectorised rule
    (one sort, neighbours compared) flags exactly the rows, with exactly the messages, that the
    definition worked out one row at a time does."""
    from data_contracts.contract import load_contract
    from data_contracts.parsing import typed_frame
    from data_contracts.row_rules import Failures, check_spells

    rows = rows + [dict(rows[k]) for k in repeats if k < len(rows)]  # exact copies, later in the file
    rows = [dict(row, posting_id=f"S{i:08d}") for i, row in enumerate(rows)]
    contract = load_contract("postings")
    frame = pl.DataFrame(rows, schema={c: pl.String for c in contract.column_names})
    found = Failures()
    check_spells(found, frame.with_row_index("_i"), typed_frame(frame, contract, None), contract)
    assert list(zip(found.rows, found.rules, found.messages, strict=True)) == _spells_one_by_one(rows)


def test_postings_outside_the_persons_service_are_quarantined(valid_extracts):
    rows = valid_rows()
    rows["postings"][2]["start_date"] = "2015-01-05"  # P0000002 joined 2015-03-02
    rows["postings"][5]["end_date"] = "2024-03-31"  # P0000005 left 2024-02-29
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert failures(result, "postings") == [("outside_service", "end_date", 7), ("outside_service", "start_date", 4)]
    assert messages(result, "postings", "outside_service") == [
        "start_date 2015-01-05 is before person_id P0000002 joined (2015-03-02): outside their service",
        "end_date 2024-03-31 is after person_id P0000005 left (2024-02-29): outside their service"]


def test_a_join_date_of_1900_is_below_the_plausible_floor(valid_extracts):
    rows = valid_rows()
    rows["people"][2]["join_date"] = "1900-01-01"
    rows["postings"][3]["start_date"] = "1900-01-01"
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert failures(result, "people") == [("date_floor", "join_date", 4)]
    assert messages(result, "people", "date_floor") == [
        "join_date 1900-01-01 is before 1950-01-01: not a plausible date (a system default or a typo?)"]
    # P0000003 quarantined takes their posting with them (which is below the floor too)
    assert failures(result, "postings") == [("date_floor", "start_date", 5), ("references", "person_id", 5)]


def test_a_leave_date_before_the_join_date_is_quarantined(valid_extracts):
    rows = valid_rows()
    rows["people"][1]["leave_date"] = "2014-06-30"  # joined 2015-03-02
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert failures(result, "people") == [("date_order", "leave_date", 3)]
    assert messages(result, "people", "date_order") == [
        "leave_date_not_before_join_date: leave_date 2014-06-30 is before join_date 2015-03-02"]


def test_integer_keys_compare_as_integers_so_01_duplicates_1(valid_extracts):
    rows = valid_rows()
    rows["stride_updates"].append(dict(rows["stride_updates"][0], commitment_id="01"))
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts)
    assert failures(result, "stride_updates") == [("unique", "commitment_id+board_date", 2),
                                                   ("unique", "commitment_id+board_date", 5)]
    assert messages(result, "stride_updates", "unique")[0] == (
        "commitment_id+board_date '1|2025-01-15' appears in 2 rows (rows 2, 5); every row sharing a duplicated key "
        "is quarantined because nothing says which one is right")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1", "01", "2", "x", "", None]), st.sampled_from(["2025-01-15", "2025-1-15", None])),
                max_size=12))
def test_keys_are_all_distinct_exactly_when_grouping_finds_one_row_a_key(pairs):
    """The uniqueness shortcut (distinct hashes of the keys as the contract compares them) says "all
    distinct" exactly when grouping them does: '01' and '1' are one integer key, blank is a key, and an
    empty extract is never "all distinct" (it has no key of its own to judge)."""
    from data_contracts.contract import load_contract
    from data_contracts.parsing import key_rows, keys_all_distinct

    contract = load_contract("stride_updates")  # key commitment_id (integer) + board_date (date)
    frame = pl.DataFrame([{c: None for c in contract.column_names} | {"commitment_id": a, "board_date": b}
                          for a, b in pairs], schema={c: pl.String for c in contract.column_names})
    grouped = key_rows(frame, contract)
    assert keys_all_distinct(frame, contract, frame.height) == (frame.height > 0 and grouped["_rows"].max() == 1)


def test_the_unique_rule_gives_the_same_verdicts_when_keys_are_grouped_anyway(valid_extracts, monkeypatch):
    """Where the hashes of two keys collide the keys are grouped as before the shortcut; grouping every
    extract's keys (as if every hash collided) gives the same quarantine, row for row."""
    from data_contracts import gx_suite

    rows = valid_rows()
    rows["people"] += [dict(rows["people"][5])] * 3
    rows["stride_updates"].append(dict(rows["stride_updates"][0], commitment_id="01"))
    write_dataset(valid_extracts, rows)
    shortcut = run(valid_extracts)
    monkeypatch.setattr(gx_suite, "keys_all_distinct", lambda *args: False)
    grouped = run(valid_extracts)
    for extract in ("people", "stride_updates", "postings"):
        assert failures(shortcut, extract) == failures(grouped, extract)
        assert shortcut.extracts[extract].quarantine.equals(grouped.extracts[extract].quarantine)
    assert failures(grouped, "people") == [("unique", "person_id", 7), ("unique", "person_id", 8),
                                           ("unique", "person_id", 9), ("unique", "person_id", 10)]


def test_many_copies_of_one_key_are_each_quarantined_naming_the_first_ten_rows(valid_extracts):
    rows = valid_rows()
    rows["people"] += [dict(rows["people"][5])] * 20_000  # P0000006 is row 7; copies are rows 8..20007
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "people")
    assert counts(result, "people") == (20_006, 5, 20_001)
    q = result.extracts["people"].quarantine
    assert q["rule"].unique().to_list() == ["unique"]
    assert q["message"].unique().to_list() == [
        "person_id 'P0000006' appears in 20001 rows (rows 7, 8, 9, 10, 11, 12, 13, 14, 15, 16); every row sharing a "
        "duplicated key is quarantined because nothing says which one is right"]


# ---------------------------------------------------------------------------------------------
# End dates: open-end markers and dates after the as-of date
# ---------------------------------------------------------------------------------------------


def test_9999_12_31_reads_as_open_and_a_planned_end_as_open_at_as_of(valid_extracts):
    rows = valid_rows()
    rows["postings"][1]["end_date"] = "9999-12-31"  # S00000002, open
    rows["postings"][3]["end_date"] = "2027-06-30"  # S00000004, a planned end after the as-of date
    rows["people"][0]["leave_date"], rows["people"][0]["leaving_reason"] = "2027-06-30", "RETIREMENT"  # planned
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert result.quarantine.height == 0
    postings = result.extracts["postings"]
    assert postings.accepted.filter(pl.col("posting_id") == "S00000002")["end_date"].to_list() == [None]
    assert postings.notes == ("1 end_date value(s) 9999-12-31 read as open (no end date)",
                              "1 end_date value(s) after the as-of date 2026-10-31: still open at the as-of date")
    assert result.extracts["people"].notes == (
        "1 leave_date value(s) after the as-of date 2026-10-31: still open at the as-of date",)


def test_open_end_markers_are_configurable(valid_extracts):
    rows = valid_rows()
    rows["postings"][1]["end_date"] = "4712-12-31"  # Oracle HR's end of time
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings", mapping=Mapping(open_end_markers=(date(4712, 12, 31),)))
    assert result.extracts["postings"].notes[0] == "1 end_date value(s) 4712-12-31 read as open (no end date)"
    default = run(valid_extracts, "postings")  # without the marker it is a planned end, still open at as-of
    assert default.extracts["postings"].notes == (
        "1 end_date value(s) after the as-of date 2026-10-31: still open at the as-of date",)


def test_default_as_of_is_the_manifest_extract_date(valid_extracts):
    (valid_extracts / "manifest.json").write_text(json.dumps({"extract_date": "2026-09-30"}))
    rows = valid_rows()
    write_dataset(valid_extracts, rows)
    result = validate_dataset(valid_extracts, EXTRACTS)
    assert (result.as_of, result.as_of_source) == (date(2026, 9, 30), "the extract date in manifest.json")
    # G0000003 (raised 2026-09-01) is fine; C0000003 referred 2026-08-01 too; nothing is after 2026-09-30
    assert result.quarantine.height == 0


def test_default_as_of_is_the_latest_event_date_never_an_end_date(valid_extracts):
    rows = valid_rows()
    rows["postings"][1]["end_date"] = "9999-12-31"
    rows["postings"][3]["end_date"] = "2026-10-30"  # an end date later than every event: not the edge
    write_dataset(valid_extracts, rows)
    result = validate_dataset(valid_extracts, EXTRACTS)
    # the latest event: grievance G0000003 raised 2026-09-01 (C0000003 2026-08-01, people joined <= 2023)
    assert (result.as_of, result.as_of_source) == (date(2026, 9, 1), "the latest event date (grievances.raised_date)")
    assert result.extracts["postings"].notes[-1] == (
        "1 end_date value(s) after the as-of date 2026-09-01: still open at the as-of date")


def test_a_typo_in_the_far_future_does_not_become_the_as_of_date(valid_extracts):
    rows = valid_rows()
    rows["grievances"][0]["raised_date"] = "3019-05-10"
    write_dataset(valid_extracts, rows)
    result = validate_dataset(valid_extracts, EXTRACTS)
    assert result.as_of == date(2026, 9, 1)
    # G0000001 is quarantined twice over: in the future, and closed (2019-08-01) before it was raised
    assert failures(result, "grievances") == [("date_order", "outcome_date", 2), ("not_future", "raised_date", 2)]


def test_every_contract_declares_its_end_dates_open():
    contracts = load_contracts(EXTRACTS)
    assert [(e, c.name) for e, k in contracts.items() for c in k.columns if c.open_end] == [
        ("people", "leave_date"), ("postings", "end_date")]
    assert contracts["postings"].spells == ("person_id", "start_date", "end_date")


@pytest.mark.parametrize(("pattern", "expected"), [
    ("^P[0-9]{7}$", True), ("^R[0-9]{2}-[0-9]{2}$", True), ("^[A-Z0-9]{2,8}$", True), (r"^A\d{3}$", True),
    ("^P1[0-9]{6}$", False), ("^[1-9][0-9]*$", False), ("^A0-9$", False),
])
def test_ids_collapse_to_their_shape_only_when_the_pattern_cannot_tell_digits_apart(pattern, expected):
    from data_contracts.validate import _digits_interchangeable

    assert _digits_interchangeable(pattern) is expected


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789PSZaz-_ é٣", max_size=10)), max_size=40))
def test_distinct_shapes_are_the_shapes_of_every_value(values):
    """The shapes GX judges come from the distinct (head, trailing digits) pairs; they must be the set
    digit_shape gives value by value (an ASCII digit anywhere, Arabic-Indic digits left alone)."""
    from data_contracts.parsing import digit_shape, distinct_digit_shapes

    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    one_by_one = set(frame.select(digit_shape(pl.col("x").drop_nulls())).to_series().to_list())
    assert set(distinct_digit_shapes(frame.lazy(), pl.col("x")).collect()["v"].to_list()) == one_by_one


def test_distinct_shapes_of_ids_with_digits_inside_their_head():
    from data_contracts.parsing import distinct_digit_shapes

    frame = pl.LazyFrame({"x": ["R12-34", "R99-01", "A1B2", "A1B22", "007", None, "P0012345"]})
    assert sorted(distinct_digit_shapes(frame, pl.col("x")).collect()["v"].to_list()) == [
        "000", "A0B0", "A0B00", "P0000000", "R00-00"]


def test_a_malformed_id_among_many_is_quarantined_with_its_own_value(valid_extracts):
    rows = valid_rows()
    rows["postings"][4]["posting_id"] = "S0000005"  # 7 digits, not 8: the only bad shape among the ids
    rows["postings"][5]["posting_id"] = "S000000O6"  # a letter O for a zero
    write_dataset(valid_extracts, rows)
    result = run(valid_extracts, "postings")
    assert failures(result, "postings") == [("pattern", "posting_id", 6), ("pattern", "posting_id", 7)]
    assert messages(result, "postings", "pattern") == [
        "posting_id 'S0000005' does not match the pattern ^S[0-9]{8}$",
        "posting_id 'S000000O6' does not match the pattern ^S[0-9]{8}$"]
