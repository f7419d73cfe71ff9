"""Caring responsibilities, end to end: the generator draws it without disturbing anything else, the
contract takes it (and older extracts without it), and the registry tables break down by it with
the counts a direct polars count of the extract gives and the effect planted in a test-only extract.

Uses the session's small sample (tests/conftest.py: profile small, seed 2016, 7,245 people).
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from metrics.queries import Filters
from metrics.tables import get_table
from metrics.warehouse import Warehouse, build

CARING = "caring_responsibilities"
LABELS = {"PRIMARY_CARER": "Primary carer", "NOT_CARER": "Not a carer", "NS": "Not stated"}
WINDOW = (date(2016, 4, 1), date(2026, 10, 31))
F = Filters(characteristic=CARING)


def _people(small_dir: Path) -> pl.DataFrame:
    return pl.read_csv(small_dir / "people.csv", infer_schema=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# The generator


def test_shares_are_within_the_binomial_999_interval(small_dir):
    people = _people(small_dir)
    assert people.height == 7245
    counts = dict(people[CARING].value_counts().iter_rows())
    assert set(counts) == set(LABELS)  # every code, and no blanks
    # 99.9% binomial intervals for 7,245 draws at the generator's shares:
    # scipy.stats.binom.interval(0.999, 7245, 0.12) == (780.0, 962.0)
    # scipy.stats.binom.interval(0.999, 7245, 0.08) == (505.0, 657.0)
    # scipy.stats.binom.interval(0.999, 7245, 0.80) == (5683.0, 5907.0)
    assert 780 <= counts["PRIMARY_CARER"] <= 962
    assert 505 <= counts["NS"] <= 657
    assert 5683 <= counts["NOT_CARER"] <= 5907


# sha256 of the small sample (seed 2016) as written by the generator before caring responsibilities
# existed (commit ebdd9b2): the new draw comes last in each force's stream, so nothing else moved.
BEFORE = {
    "acting_up.csv": "41d654e92096e37a8c5952f16804d07d6940c0781f0361a8df49063c6b937669",
    "applications.csv": "52c7b9931f46dfcfe051e0381a56e40872248390d98a79db4f050a0a47cad54d",
    "business_areas.csv": "63a3a9424623a82f71d61e33fe7d6918b9418906e92e2b1d2f3b3b547af666ab",
    "grievances.csv": "fb13fb90e34ba090d7e6c86224f25c30ac34d7b5f4b53612476a8fe6501057f6",
    "iopc_actions.csv": "66400df213eb22dad6b9dedd3095ae48faccf2d13dd1709e588ab9407721a943",
    "misconduct_cases.csv": "fdc77b6e289a42bd09d57a8f546fd56a02e61aa760d64142b8a942f83c761dd1",
    "people.csv": "c78f79fc60be8a7ac52ecf99bd972ce526c99cca7a2698434cf50012fb44158f",
    "postings.csv": "36c65e5c4f489a279a43203fd3a1b8a2bc1aef188dfdc728515c5093f73bbf82",
    "stride_updates.csv": "96bd672a604cbbb107cdd4afd87585f44b08968daa0e0ff16ef6e3871f140cb4",
    "targets.csv": "342f065670e7a41b19adfe5d162f21759b1b95ea7c8fc9c0f4b0a0e78f87ee97",
}


def test_every_other_column_is_byte_identical_to_before(small_dir, tmp_path):
    for name, digest in BEFORE.items():
        if name == "people.csv":
            without = tmp_path / name
            _people(small_dir).drop(CARING).write_csv(without, line_terminator="\n")
            assert _sha(without.read_bytes()) == digest, name
        else:
            assert _sha((small_dir / name).read_bytes()) == digest, name


# ---------------------------------------------------------------------------------------------
# The contract and staging


def test_an_older_people_extract_without_the_column_builds_as_not_stated(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    _people(small_dir).drop(CARING).write_csv(data / "people.csv", line_terminator="\n")
    report = build(data, tmp_path / "old.duckdb", as_of=WINDOW[1])
    notes = next(e["notes"] for e in report.extracts if e["extract"] == "people")
    assert "column(s) not in this extract read as blank: caring_responsibilities" in notes.split("; ")
    with Warehouse(tmp_path / "old.duckdb") as wh:
        got = wh.query("select caring_responsibilities as g, count(*)::bigint as n from dim_person group by 1")
    assert got.rows() == [("Not stated", 7245)]


# ---------------------------------------------------------------------------------------------
# Registry tables: exact counts, and a planted effect


def _by_person(small_dir: Path, extract: str, date_col: str) -> pl.DataFrame:
    """Rows of an extract dated inside the window, with the person's caring label."""
    people = _people(small_dir).select("person_id", pl.col(CARING).replace_strict(LABELS).alias("group"))
    rows = pl.read_csv(small_dir / f"{extract}.csv", infer_schema=False)
    day = pl.col(date_col).str.to_date()
    return rows.filter(day.is_between(*WINDOW)).join(people, on="person_id", how="left", validate="m:1")


def _counts(frame: pl.DataFrame, flag: pl.Expr | None = None) -> dict[str, int]:
    if flag is not None:
        frame = frame.filter(flag)
    return dict(frame.group_by("group").len().iter_rows())


def _column(table: pl.DataFrame, column: str) -> dict[str, int]:
    return dict(table.select("group", column).iter_rows())


def test_analyst_tables_count_exactly_what_the_extract_holds(small_warehouse, small_dir):
    grievances = _by_person(small_dir, "grievances", "raised_date")
    cases = _by_person(small_dir, "misconduct_cases", "referral_date")
    acting = _by_person(small_dir, "acting_up", "decision_date")
    with Warehouse(small_warehouse) as wh:
        rates = get_table(wh, "grievance_rates", F, role="analyst")
        misconduct = get_table(wh, "misconduct_rates", F, role="analyst")
        selection = get_table(wh, "acting_up", F, role="analyst")
    assert set(rates["group"]) == set(LABELS.values())
    assert _column(rates, "events") == _counts(grievances)
    assert _column(misconduct, "events") == _counts(cases)
    assert _column(selection, "n") == _counts(acting)
    assert _column(selection, "events") == _counts(acting, pl.col("outcome") == "SELECTED")
    assert sum(_column(rates, "events").values()) == grievances.height  # every grievance has a group


@pytest.fixture(scope="module")
def planted(small_dir, tmp_path_factory) -> Path:
    """The small sample with every primary carer's grievance raised twice (a second grievance, its own
    id, the same person, day and details): primary carers' grievance rate exactly doubles, nobody
    else's moves, and person-time is untouched."""
    data = tmp_path_factory.mktemp("planted") / "data"
    shutil.copytree(small_dir, data)
    grievances = pl.read_csv(small_dir / "grievances.csv", infer_schema=False)
    carers = _people(small_dir).filter(pl.col(CARING) == "PRIMARY_CARER")["person_id"]
    copies = grievances.filter(pl.col("person_id").is_in(carers.implode()))
    start = grievances.height + 1
    copies = copies.with_columns(
        pl.format("G{}", pl.int_range(start, start + copies.height).cast(pl.String).str.zfill(7)).alias("grievance_id"))
    pl.concat([grievances, copies]).write_csv(data / "grievances.csv", line_terminator="\n")
    build(data, data.parent / "planted.duckdb", as_of=WINDOW[1])
    return data.parent / "planted.duckdb"


def test_a_planted_doubling_for_primary_carers_is_found_by_the_rate_ratio_table(small_warehouse, planted):
    with Warehouse(small_warehouse) as wh:
        before = get_table(wh, "grievance_rates", F, role="analyst").sort("group")
    with Warehouse(planted) as wh:
        after = get_table(wh, "grievance_rates", F, role="analyst").sort("group")
    b = {r["group"]: r for r in before.iter_rows(named=True)}
    a = {r["group"]: r for r in after.iter_rows(named=True)}
    carer, ref = "Primary carer", "Not a carer"
    assert a[ref]["reference_group"] == ref and a[ref]["ratio"] == 1.0
    assert a[carer]["events"] == 2 * b[carer]["events"]
    for group in LABELS.values():
        assert a[group]["exposure"] == b[group]["exposure"]
        if group != carer:
            assert a[group]["events"] == b[group]["events"]
    # the rate ratio to the reference doubles exactly: same exposure, twice the events
    assert a[carer]["ratio"] == pytest.approx(2 * b[carer]["ratio"], rel=1e-12)
    # unplanted, primary carers are like everyone else; planted, the table finds the difference
    assert b[carer]["ratio_ci_low"] < 1 < b[carer]["ratio_ci_high"] and not b[carer]["is_significant"]
    assert a[carer]["ratio_ci_low"] > 1 and a[carer]["is_significant"]
