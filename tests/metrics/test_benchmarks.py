"""Benchmarks on the real published tables: the contracts for the Home Office workforce table and
the 2011 Census table, `eqdash benchmark load`, and force_representation reproducing the published
headcounts exactly for every force, year and rank group (recomputed here from the raw files in
polars, independently of the contract, the SQL models and metrics/benchmarks.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from dashboard.cli import app
from data_contracts.errors import BlockingError
from data_contracts.reference_tables import validate_reference
from metrics.config import AGGREGATE_LABEL, REFERENCE_DIR
from metrics.queries import Filters
from metrics.tables import get_table
from metrics.warehouse import Warehouse, load_benchmarks

HO = REFERENCE_DIR / "home-office"
OFFICERS = HO / "police-officers-by-rank-ethnicity-2003-2006.csv"
CHIEFS = HO / "chief-officers-by-ethnicity-2003-2021.csv"
CENSUS = REFERENCE_DIR / "census-2011-population-by-police-force-area.csv"
GROUPS = {"Asian or Asian British": "Asian", "Black or Black British": "Black", "Mixed": "Mixed",
          "Chinese or Other Ethnic Group (pre 2021 category)": "Other", "Other ethnic group": "Other"}


def _raw(path: Path) -> pl.DataFrame:
    """A published file read with polars alone: ' -' is zero, '1,832' is 1832."""
    frame = pl.read_csv(path, infer_schema=False)
    count = pl.col("Total (headcount)").str.strip_chars().str.replace_all(",", "")
    return frame.select(
        pl.col("As at 31 March...").cast(pl.Int64).alias("year"), pl.col("Force Name").alias("force"),
        pl.col("Gender").alias("sex"), pl.col("Rank description").alias("rank"), pl.col("Ethnicity").alias("ethnicity"),
        pl.when(count == "-").then(pl.lit("0")).otherwise(count).cast(pl.Int64).alias("headcount"))


def _published() -> pl.DataFrame:
    """force, year, rank, group, n, events for every published force-year-rank, from the raw files."""
    officers, chiefs = _raw(OFFICERS), _raw(CHIEFS)
    key = ["year", "force", "sex", "rank", "ethnicity"]
    overlap = officers.join(chiefs, on=key, suffix="_chiefs")
    assert overlap.height == 2064  # 43 forces x 4 years x 2 sexes x 6 categories of chief officer
    assert (overlap["headcount"] == overlap["headcount_chiefs"]).all()
    cells = pl.concat([officers, chiefs]).unique(subset=key)
    all_ranks = officers.with_columns(pl.lit("All ranks").alias("rank"))
    cells = pl.concat([cells, all_ranks])
    stated = pl.col("ethnicity") != "Not stated"
    out = []
    for group in (AGGREGATE_LABEL, "Asian", "Black", "Mixed", "Other"):
        in_group = pl.col("ethnicity").is_in([e for e, g in GROUPS.items() if group in (g, AGGREGATE_LABEL)])
        out.append(cells.group_by("force", "year", "rank").agg(
            pl.col("headcount").filter(stated).sum().alias("n"),
            pl.col("headcount").filter(in_group).sum().alias("events")).with_columns(pl.lit(group).alias("group")))
    return pl.concat(out).select("force", "year", "rank", "group", "n", "events")


@pytest.fixture(scope="module")
def representation(small_warehouse) -> pl.DataFrame:
    with Warehouse(small_warehouse) as wh:
        return get_table(wh, "force_representation", Filters())


def test_force_representation_reproduces_every_published_headcount(representation):
    published = _published()
    ours = (representation.filter(pl.col("source") == "Home Office")
            .select("force", "year", "rank", "group", "n", "events"))
    # 43 forces x 2003-2006 x (All ranks + 7 ranks) + 44 forces (with BTP) x 2007-2021 chief officers,
    # each as the aggregate and four groups
    assert published.height == (43 * 4 * 8 + 44 * 15) * 5 == 10_180
    assert ours.height == published.height
    joined = published.join(ours, on=["force", "year", "rank", "group"], how="full", suffix="_ours")
    assert joined.filter(pl.col("n").is_null() | pl.col("n_ours").is_null()).height == 0
    assert (joined["n"] == joined["n_ours"]).all() and (joined["events"] == joined["events_ours"]).all()
    # "All ranks" adds the ranks up (the mart's invariant), and the whole table counts every officer
    all_ranks = ours.filter(pl.col("rank") == "All ranks", pl.col("group") == AGGREGATE_LABEL)
    by_rank = (ours.filter(pl.col("rank") != "All ranks", pl.col("group") == AGGREGATE_LABEL, pl.col("year") <= 2006)
               .group_by("force", "year").agg(pl.col("n").sum(), pl.col("events").sum()))
    assert all_ranks.join(by_rank, on=["force", "year"]).filter(
        (pl.col("n") != pl.col("n_right")) | (pl.col("events") != pl.col("events_right"))).height == 0
    assert _raw(OFFICERS)["headcount"].sum() == 560_265  # every officer, all sexes and categories, 2003-2006


def test_met_chief_officers_2021_pinned_to_scipy(representation):
    row = representation.filter(pl.col("source") == "Home Office", pl.col("force") == "Metropolitan Police",
                                pl.col("year") == 2021, pl.col("rank") == "Chief Officer").sort("group")
    agg = row.filter(pl.col("group") == AGGREGATE_LABEL).row(0, named=True)
    # published 2021: Asian 2, Black 1 + 1, White 9 + 15, Not stated 1 + 10 -> 28 stated, 4 of them
    assert (agg["n"], agg["events"]) == (28, 4)
    # scipy.stats.binomtest(4, 28).proportion_ci(method="wilson") -> (0.05699005319749392, 0.31489802163525293)
    assert agg["ci_low"] == pytest.approx(0.05699005319749392, rel=1e-9)
    assert agg["ci_high"] == pytest.approx(0.31489802163525293, rel=1e-9)
    # census 2011, Metropolitan: (8,166,566 - 4,881,636 White) / 8,166,566
    assert agg["census_share"] == pytest.approx(0.4022412847701225, rel=1e-12)
    assert agg["ratio"] == pytest.approx(0.35515286040015637, rel=1e-9)
    # scipy.stats.binomtest(4, 28, 0.4022412847701225).pvalue
    assert agg["p_value"] == pytest.approx(0.005860146962566094, rel=1e-6)
    asian = row.filter(pl.col("group") == "Asian").row(0, named=True)
    # 2021 uses the post-2021 categories: Chinese counted with Asian, (1,386,619 + 123,987) / 8,166,566
    assert asian["census_share"] == pytest.approx(0.18497444335844465, rel=1e-12)
    # scipy.stats.binomtest(2, 28, 0.18497444335844465).pvalue
    assert asian["p_value"] == pytest.approx(0.14707865797092987, rel=1e-6)
    # 2020 (pre-2021 categories): Chinese with Other, so Asian's share is 1,386,619 / 8,166,566
    asian_2020 = representation.filter(pl.col("force") == "Metropolitan Police", pl.col("year") == 2020,
                                       pl.col("rank") == "Chief Officer", pl.col("group") == "Asian")
    assert asian_2020["census_share"][0] == pytest.approx(1386619 / 8166566, rel=1e-12)


def test_every_force_area_has_its_census_share_and_btp_has_none(representation):
    published = representation.filter(pl.col("source") == "Home Office", pl.col("group") == AGGREGATE_LABEL)
    missing = published.filter(pl.col("census_share").is_null())["force"].unique().to_list()
    assert missing == ["British Transport Police"]
    assert published.filter(pl.col("census_share").is_not_null())["force"].n_unique() == 43


def test_own_force_is_placed_among_them_from_its_own_warehouse(representation, small_dir):
    own = representation.filter(pl.col("source") == "This warehouse", pl.col("rank") == "All ranks",
                                pl.col("group") == AGGREGATE_LABEL, pl.col("year") == 2026).row(0, named=True)
    # officers in post on 31 March 2026, counted from the CSV extracts
    people = pl.read_csv(small_dir / "people.csv", infer_schema=False)
    postings = pl.read_csv(small_dir / "postings.csv", infer_schema=False)
    day = "2026-03-31"
    in_post = (postings.filter(pl.col("start_date") <= day, pl.col("end_date").is_null() | (pl.col("end_date") >= day))
               .join(people.filter(pl.col("worker_type") == "OFFICER"), on="person_id")
               .unique("person_id"))
    stated = in_post.filter(pl.col("ethnicity_code") != "NS")
    events = stated.filter(~pl.col("ethnicity_code").str.starts_with("W"))
    assert (own["n"], own["events"], own["force"]) == (stated.height, events.height, "Metropolitan Police")
    assert own["census_share"] == pytest.approx(0.4022412847701225, rel=1e-12)


def test_staff_associations_see_the_published_statistics_as_published(small_warehouse):
    """The Home Office publishes every force's officers by rank and ethnic group, small cells
    included (the Met's chief officers in 2021): released as published to every role."""
    with Warehouse(small_warehouse) as wh:
        table = get_table(wh, "force_representation", Filters(), role="staff_association")
        assert table.equals(get_table(wh, "force_representation", Filters(), role="analyst"))
    met = table.filter(pl.col("force") == "Metropolitan Police", pl.col("year") == 2021, pl.col("rank") == "Chief Officer")
    assert met.height and (met["group"] == "Black").any()


# --- the contracts ----------------------------------------------------------------------------

NEW_HEADER = "As at 31 March...,Geocode,Force name,Region,Sex,Rank,Worker type,Ethnicity,Ethnic group,Total (Headcount),Total (FTE)\n"


def _reference_copy(tmp_path: Path, chief_rows: str | None = None) -> Path:
    ref = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, ref)
    if chief_rows is not None:
        (ref / "home-office" / "newer-edition.csv").write_text(NEW_HEADER + chief_rows, encoding="utf-8")
    return ref


def test_newer_edition_spelling_is_read_and_bad_rows_quarantined(tmp_path):
    rows = ("2022,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,Other ethnic group,"
            "\"Black, Asian and Minority Ethnic\", -, -\n"
            "2022,E23000001,Metropolitan Police,London,Female,Chief Officer,Police Officer,White,White,\" 1,204 \",12.5\n"
            "2022,E23000001,Metropolitan Police,London,Female,Chief Officer,Police Officer,Martian,White,3,3\n"
            "2022,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,White,White,many,3\n")
    result = validate_reference(_reference_copy(tmp_path, rows))
    newer = next(f for f in result.files if f.file == "home-office/newer-edition.csv")
    assert (newer.rows_read, newer.rows_accepted, newer.rows_quarantined) == (4, 2, 2)
    assert "2 zero marker(s) ' -' read as 0" in newer.notes  # headcount and FTE
    assert "1 number(s) with thousands separators read" in newer.notes
    q = newer.quarantine.select("source_row", "rule", "column_name").rows()
    assert q == [(4, "codes", "ethnicity"), (5, "type", "headcount")]
    accepted = result.ho_workforce.filter(pl.col("year") == 2022).sort("sex")["headcount"].to_list()
    assert accepted == [1204, 0]


def test_files_judged_in_one_batch_keep_their_own_quarantine_rows(tmp_path):
    """Every reference file is judged by great-expectations in one batch: each file's verdicts go
    back to that file alone (a bad code in one file quarantines no row of another)."""
    rows = ("2022,E23000001,Metropolitan Police,London,Female,Chief Officer,Police Officer,White,White,3,3\n"
            "2022,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,Venusian,White,1,1\n")
    ref = _reference_copy(tmp_path, rows)
    (ref / "home-office" / "another-edition.csv").write_text(
        NEW_HEADER + "2023,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,White,White,4,4\n"
        "2023,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,Black or Black British,"
        "\"Black, Asian and Minority Ethnic\",many,4\n"
        "2023,E23000001,Metropolitan Police,London,Female,Chief Officer,Police Officer,White,White,2,2\n",
        encoding="utf-8")
    result = validate_reference(ref)
    by_file = {f.file: f for f in result.files}
    newer, another = by_file["home-office/newer-edition.csv"], by_file["home-office/another-edition.csv"]
    assert (newer.rows_read, newer.rows_accepted, newer.rows_quarantined) == (2, 1, 1)
    assert newer.quarantine.select("source_row", "rule", "column_name", "file").rows() == [
        (3, "codes", "ethnicity", "home-office/newer-edition.csv")]
    assert (another.rows_read, another.rows_accepted, another.rows_quarantined) == (3, 2, 1)
    assert another.quarantine.select("source_row", "rule", "column_name", "file").rows() == [
        (3, "type", "headcount", "home-office/another-edition.csv")]
    assert sum(f.rows_quarantined for f in result.files) == 2  # the shipped files have none
    assert result.ho_workforce.filter(pl.col("year") == 2023)["headcount"].sort().to_list() == [2, 4]


def test_two_editions_that_disagree_stop_the_load_and_keep_the_warehouse(tmp_path, small_warehouse):
    # a 2021 Met cell the shipped chief-officer table publishes as 15
    rows = ("2021,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,White,White,16,16\n")
    ref = _reference_copy(tmp_path, rows)
    with pytest.raises(BlockingError, match=r"editions_disagree — 1 published cell\(s\) differ between files, e\.g\. "
                       r"2021, Metropolitan Police, Male, Chief Officer, White \(home-office/chief-officers-by-"
                       r"ethnicity-2003-2021\.csv: 15; home-office/newer-edition\.csv: 16\)"):
        validate_reference(ref)
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(small_warehouse, db)
    before = db.read_bytes()
    result = CliRunner().invoke(app, ["benchmark", "load", "--reference", str(ref), "--db", str(db)])
    assert result.exit_code == 2
    assert "benchmark load stopped, the warehouse is unchanged" in result.output
    assert "Traceback" not in result.output
    assert db.read_bytes() == before


def test_benchmark_load_replaces_the_tables_with_a_newer_edition(tmp_path, small_warehouse):
    rows = ("2022,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,White,White,20,20\n"
            "2022,E23000001,Metropolitan Police,London,Male,Chief Officer,Police Officer,Black or Black British,"
            "\"Black, Asian and Minority Ethnic\",2,2\n")
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(small_warehouse, db)
    load_benchmarks(_reference_copy(tmp_path, rows), db)
    with Warehouse(db) as wh:
        table = get_table(wh, "force_representation", Filters())
        audit = wh.table("benchmark_audit")
    assert audit["rows_read"].to_list() == [10776, 2, 14448, 43]  # files in name order, then the census
    row = table.filter(pl.col("source") == "Home Office", pl.col("year") == 2022, pl.col("group") == AGGREGATE_LABEL)
    assert row.select("force", "rank", "n", "events").rows() == [("Metropolitan Police", "Chief Officer", 22, 2)]


def test_a_period_keeps_the_counts_at_each_31_march_inside_it(small_warehouse):
    from datetime import date

    with Warehouse(small_warehouse) as wh:
        table = get_table(wh, "force_representation", Filters(start=date(2005, 4, 1), end=date(2006, 3, 1)))
    assert set(table["year"]) == {2006}  # 31 March 2005 is before April 2005; 31 March 2006 is in March 2006


def test_benchmark_quality_reconciles_every_file(small_warehouse):
    with Warehouse(small_warehouse) as wh:
        quality = get_table(wh, "benchmark_quality", Filters(), role="staff_association")
    assert quality.select("file", "rows_read", "rows_accepted", "rows_quarantined").rows() == [
        ("home-office/chief-officers-by-ethnicity-2003-2021.csv", 10776, 10776, 0),
        ("home-office/police-officers-by-rank-ethnicity-2003-2006.csv", 14448, 14448, 0),
        ("census-2011-population-by-police-force-area.csv", 43, 43, 0)]
    notes = quality["notes"].to_list()
    assert "3 empty unnamed trailing column(s) dropped" in notes[0]
    assert "19,617 zero marker(s) ' -' read as 0" in notes[1] and "250 number(s) with thousands separators read" in notes[1]
