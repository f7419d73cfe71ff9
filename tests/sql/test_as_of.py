"""The as-of date is the analysis edge (issue 12): an open-end marker or a planned end date never
moves the calendar, and --as-of bounds every period."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import polars as pl

from metrics.warehouse import Warehouse, build


def _tables(db) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.sql("select table_name from information_schema.tables order by 1").fetchall()]
        return {n: con.sql(f'select * from "{n}"').pl() for n in names  # noqa: S608 - names from the catalogue
                if n not in ("build_info", "load_audit")}
    finally:
        con.close()


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    cols = a.columns
    return a.columns == b.columns and a.sort(cols, nulls_last=True).equals(b.sort(cols, nulls_last=True))


def test_9999_and_a_planned_end_date_leave_every_mart_unchanged(small_dir, small_warehouse, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    postings = pl.read_csv(data / "postings.csv", infer_schema=False)
    open_ids = postings.filter(pl.col("end_date").is_null())["posting_id"].head(2).to_list()
    # one open posting exported as 9999-12-31 (SAP/Oracle "open"), one with a planned end in 2027
    postings = postings.with_columns(
        pl.when(pl.col("posting_id") == open_ids[0]).then(pl.lit("9999-12-31"))
        .when(pl.col("posting_id") == open_ids[1]).then(pl.lit("2027-06-30"))
        .otherwise(pl.col("end_date")).alias("end_date"))
    postings.write_csv(data / "postings.csv")
    report = build(data, tmp_path / "eq.duckdb", keep_staging=True)  # as-of from manifest.json: 2026-10-31
    assert (report.as_of, report.as_of_source) == (date(2026, 10, 31), "the extract date in manifest.json")
    audit = {r["extract"]: r["notes"] for r in report.extracts}
    assert audit["postings"] == ("1 end_date value(s) 9999-12-31 read as open (no end date); 1 end_date value(s) "
                                 "after the as-of date 2026-10-31: still open at the as-of date")
    built, plain = _tables(tmp_path / "eq.duckdb"), _tables(small_warehouse)
    assert set(built) == set(plain)
    differ = [n for n in built if not _same(built[n], plain[n])]
    # only what the file says differs: the raw rows and the recorded end date of the planned posting
    assert differ == ["raw_postings", "stg_postings"]
    stg = built["stg_postings"].filter(pl.col("posting_id").is_in(open_ids))
    got = {r[0]: r[1:] for r in stg.select("posting_id", "end_date", "end_date_recorded", "is_current").rows()}
    assert got == {open_ids[0]: (None, None, True), open_ids[1]: (None, date(2027, 6, 30), True)}
    assert _same(built["stg_postings"].drop("end_date_recorded"), plain["stg_postings"].drop("end_date_recorded"))
    with Warehouse(tmp_path / "eq.duckdb") as wh:
        assert wh.query("select max(extract_date) as d from dim_calendar")["d"][0] == date(2026, 10, 31)


def test_as_of_bounds_every_period(small_dir, tmp_path):
    report = build(small_dir, tmp_path / "eq.duckdb", as_of=date(2026, 6, 30), accept_quarantine=True, keep_staging=True)
    assert report.as_of_source == "--as-of"
    with Warehouse(tmp_path / "eq.duckdb") as wh:
        cal = wh.query("select max(month_start) as m, max(extract_date) as d, max(month_end_in_window) as e from dim_calendar")
        assert cal.row(0) == (date(2026, 6, 1), date(2026, 6, 30), date(2026, 6, 30))
        assert wh.query("select max(to_date) as d from fct_person_time")["d"][0] == date(2026, 6, 30)
        # nothing after the edge is counted as an event: later events are 'in the future', quarantined
        later = wh.query("select count(*)::bigint as n from stg_grievances where raised_date > ?", [date(2026, 6, 30)])
        assert later["n"][0] == 0
        rules = wh.query("select distinct rule from quarantine where extract = 'grievances'")["rule"].to_list()
        assert rules == ["not_future"]


def test_a_posting_left_open_for_a_leaver_ends_on_the_leave_date(valid_extracts, tmp_path):
    from contract_data import AS_OF, valid_rows, write_dataset

    rows = valid_rows()
    rows["postings"][2]["end_date"] = ""  # P0000002 left 2021-06-30; HR never closed the posting
    write_dataset(valid_extracts, rows)
    report = build(valid_extracts, tmp_path / "eq.duckdb", as_of=AS_OF)
    assert report.quarantine_counts == {}
    with Warehouse(tmp_path / "eq.duckdb") as wh:
        spells = wh.query("select min(from_date) as a, max(to_date) as b, sum(exposure_days)::bigint as d "
                          "from fct_person_time where posting_id = 'S00000003'")
    # clipped to the first event month (2018-03, case C0000001) .. the leave date 2021-06-30:
    # date(2021, 6, 30) - date(2018, 3, 1) + 1 = 1218 days
    assert spells.row(0) == (date(2018, 3, 1), date(2021, 6, 30), (date(2021, 6, 30) - date(2018, 3, 1)).days + 1)
