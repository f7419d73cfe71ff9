"""Every mart: its declared grain is unique, its keys are not null, and its totals reconcile with
figures worked out independently from the CSV extracts (polars, not SQL)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import polars as pl
import pytest

from metrics import config
from metrics.sql_models import discover_models, read_header
from metrics.warehouse import Warehouse

# Grains and invariants are declared once, in each model's header (metrics/sql_models.read_header).
MODELS = {m.name: m for m in discover_models(config.SQL_DIR, ("marts", "benchmarks"))}
HEADERS = {name: read_header(m) for name, m in MODELS.items()}
INVARIANTS = [(name, inv) for name, h in HEADERS.items() for inv in h.invariants]


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


@pytest.fixture(scope="module")
def csv(small_dir):
    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(small_dir / f"{name}.csv", infer_schema=False)

    return read


def _date(col: str) -> pl.Expr:
    return pl.col(col).str.to_date("%Y-%m-%d", strict=True)


@pytest.mark.parametrize("mart", sorted(HEADERS))
def test_grain_is_unique_and_keys_not_null(wh, mart):
    keys = list(HEADERS[mart].grain)
    frame = wh.table(mart)
    assert frame.height > 0, f"{mart} is empty"
    assert frame.select(keys).null_count().sum_horizontal().item() == 0
    assert frame.select(keys).is_duplicated().sum() == 0


def test_headers_declare_the_grains_the_marts_are_known_by():
    """The header parser reads what the files say (a few grains spelled out by hand, so a parser
    that read nothing, or the wrong line, fails here)."""
    assert HEADERS["dim_calendar"].purpose.startswith("the analysis window, one row per calendar month")
    assert HEADERS["fct_person_time"].grain == ("posting_id", "from_date")
    assert HEADERS["fct_workforce_flows"].grain == ("financial_year", "worker_type_code", "ethnicity_group", "sex")
    assert HEADERS["int_event_as_at"].grain == ("event", "event_id")
    assert HEADERS["fct_force_headcount"].grain == ("year", "force", "rank", "ethnicity_group")
    assert INVARIANTS == [("fct_team_months", "n_on_team = n_constables + n_sergeants + n_inspectors + n_other")]


@pytest.mark.parametrize(("mart", "invariant"), INVARIANTS)
def test_declared_invariant_holds_on_every_row(wh, mart, invariant):
    n = wh.query(f'select count(*) as n from "{mart}" where not ({invariant})')["n"].item()  # noqa: S608 - from our headers
    assert wh.table(mart).height > 0 and n == 0


def _orphans(wh: Warehouse) -> dict[str, int]:
    """Rows of each fact (every table with a person_id but dim_person) whose person_id is not in
    dim_person; a null person_id (an applicant who never joined) is no orphan."""
    tables = wh.query("""select table_name from information_schema.columns
                         where column_name = 'person_id' and table_name like 'fct%' order by 1""")["table_name"]
    return {t: wh.query(f"""select count(*)::bigint as n from "{t}" as f
                            where f.person_id is not null
                              and not exists (select 1 from dim_person as d where d.person_id = f.person_id)"""
                        )["n"].item() for t in tables}  # noqa: S608 - names from the catalogue


def test_every_person_id_in_every_fact_is_in_dim_person(wh):
    orphans = _orphans(wh)
    assert set(orphans) == {"fct_acting_up", "fct_grievance_outcomes", "fct_misconduct_referrals", "fct_person_time",
                            "fct_recruit_months", "fct_recruitment_funnel", "fct_team_tenure"}
    assert orphans == dict.fromkeys(orphans, 0)


def test_relationship_check_counts_planted_orphans_exactly(small_warehouse, tmp_path):
    import duckdb

    db = tmp_path / "planted.duckdb"
    shutil.copyfile(small_warehouse, db)
    con = duckdb.connect(str(db))
    try:  # three grievances and one referral of people who are in no people extract
        con.execute("""insert into fct_grievance_outcomes select * replace ('P9999999' as person_id)
                       from fct_grievance_outcomes order by grievance_id limit 3""")
        con.execute("""insert into fct_misconduct_referrals select * replace ('P9999998' as person_id)
                       from fct_misconduct_referrals order by case_id limit 1""")
    finally:
        con.close()
    with Warehouse(db, check_version=False) as planted:
        orphans = _orphans(planted)
    assert {t: n for t, n in orphans.items() if n} == {"fct_grievance_outcomes": 3, "fct_misconduct_referrals": 1}


@pytest.fixture(scope="module")
def window(csv):
    """The analysis window as dim_calendar.sql defines it, worked out from the CSVs."""
    g, m, a, p = csv("grievances"), csv("misconduct_cases"), csv("applications"), csv("postings")
    events = pl.concat([
        g.select(_date("raised_date").alias("d")), g.select(_date("outcome_date").alias("d")),
        m.select(_date("referral_date").alias("d")), a.select(_date("applied_date").alias("d")),
    ]).drop_nulls()
    posting_max = p.select(pl.max_horizontal(_date("start_date"), _date("end_date")).max()).item()
    first = events["d"].min().replace(day=1)
    extract = max(events["d"].max(), posting_max)
    return first, extract


def test_calendar_spans_first_event_month_to_extract_date(wh, window):
    first, extract = window
    cal = wh.table("dim_calendar")
    assert cal["month_start"].min() == first
    assert cal["month_start"].max() == extract.replace(day=1)
    assert cal["extract_date"].unique().to_list() == [extract]
    fy = cal.filter(pl.col("month_start") == date(2017, 3, 1)).row(0, named=True)
    # March 2017 is in FY2016/17, which runs 1 April 2016 to 31 March 2017
    assert (fy["financial_year"], fy["financial_year_start"], fy["financial_year_end"]) == (
        2016, date(2016, 4, 1), date(2017, 3, 31))
    starts = cal.with_columns(pl.col("month_start").dt.offset_by("-3mo").dt.year().alias("want"))
    assert (starts["financial_year"] == starts["want"]).all()  # April..March: the year three months back
    assert cal.filter((pl.col("month_start") < pl.col("financial_year_start"))
                      | (pl.col("month_start") > pl.col("financial_year_end"))).height == 0


def _clipped_spells(csv, window) -> pl.DataFrame:
    first, extract = window
    p = csv("postings").select(
        "posting_id", "person_id", _date("start_date").alias("s"), _date("end_date").alias("e"))
    return p.with_columns(
        pl.max_horizontal(pl.col("s"), pl.lit(first)).alias("lo"),
        pl.min_horizontal(pl.col("e").fill_null(extract), pl.lit(extract)).alias("hi"),
    ).filter(pl.col("hi") >= pl.col("lo"))


def test_person_time_exposure_equals_posting_days_in_window(wh, csv, window):
    clipped = _clipped_spells(csv, window)
    expected = ((clipped["hi"] - clipped["lo"]).dt.total_days() + 1).sum()
    got = wh.query("select sum(exposure_days)::bigint as x from fct_person_time")["x"].item()
    assert got == expected
    # and person by person: the ten people with the most postings
    busiest = clipped.group_by("person_id").len().sort(["len", "person_id"], descending=[True, False]).head(10)
    for pid in busiest["person_id"]:
        mine = clipped.filter(pl.col("person_id") == pid)
        exp = ((mine["hi"] - mine["lo"]).dt.total_days() + 1).sum()
        got = wh.query("select sum(exposure_days)::bigint as x from fct_person_time where person_id = ?", [pid])["x"].item()
        assert got == exp, pid


def test_stretches_tile_each_spell_without_gaps_or_overlaps(wh, csv, window):
    clipped = _clipped_spells(csv, window).select("posting_id", "lo", "hi")
    pt = wh.query("select posting_id, from_date, to_date from fct_person_time order by posting_id, from_date")
    assert pt.filter(pl.col("to_date") < pl.col("from_date")).height == 0
    ends = pt.group_by("posting_id").agg(pl.col("from_date").min().alias("lo"), pl.col("to_date").max().alias("hi"))
    assert ends.sort("posting_id").equals(clipped.sort("posting_id"))
    # each stretch starts the day after the one before it ends
    gaps = pt.with_columns(pl.col("to_date").shift(1).over("posting_id").alias("prev_to")).drop_nulls("prev_to")
    assert (gaps["from_date"] - gaps["prev_to"]).dt.total_days().unique().to_list() == [1]
    # stretches are cut only on the first of a month, so a posting has one stretch in any month
    assert gaps["from_date"].dt.day().unique().to_list() == [1]


def test_age_and_service_bands_match_their_monthly_definitions(wh, csv):
    """Every month a stretch covers has the bands DOMAIN.md defines for that month, worked out in
    polars from people.csv: age = calendar year - birth year; service = whole months from the
    month of joining."""
    people = csv("people").select("person_id", pl.col("birth_year").cast(pl.Int32),
                                  _date("join_date").dt.truncate("1mo").alias("join_month"))
    pt = wh.query("select person_id, from_date, to_date, age_band, service_band from fct_person_time")
    months = (pt.with_columns(pl.date_ranges(pl.col("from_date").dt.truncate("1mo"), pl.col("to_date"), "1mo")
                              .alias("month")).explode("month").join(people, on="person_id"))
    age = pl.col("month").dt.year() - pl.col("birth_year")
    served = ((pl.col("month").dt.year() - pl.col("join_month").dt.year()) * 12
              + pl.col("month").dt.month() - pl.col("join_month").dt.month())
    expected = months.with_columns(
        pl.when(age < 25).then(pl.lit("Under 25")).when(age < 35).then(pl.lit("25-34"))
        .when(age < 45).then(pl.lit("35-44")).when(age < 55).then(pl.lit("45-54"))
        .otherwise(pl.lit("55 and over")).alias("age_want"),
        pl.when(served < 24).then(pl.lit("Under 2 years")).when(served < 60).then(pl.lit("2-4 years"))
        .when(served < 120).then(pl.lit("5-9 years")).when(served < 240).then(pl.lit("10-19 years"))
        .otherwise(pl.lit("20 years and over")).alias("service_want"))
    assert months.height > 10 * pt.height  # the check really is month by month
    assert expected.filter(pl.col("age_band") != pl.col("age_want")).height == 0
    assert expected.filter(pl.col("service_band") != pl.col("service_want")).height == 0


def test_in_post_on_the_extract_date_matches_headcount(wh, csv, window):
    _, extract = window
    people = csv("people").with_columns(_date("join_date").alias("j"), _date("leave_date").alias("l"))
    in_post = people.filter((pl.col("j") <= extract) & (pl.col("l").is_null() | (pl.col("l") >= extract))).height
    got = wh.query(
        """select count(distinct person_id) as n from fct_person_time
           where from_date <= ? and to_date >= ?""", [extract, extract])["n"].item()
    assert got == in_post


@pytest.mark.parametrize(("mart", "extract"), [
    ("fct_grievance_outcomes", "grievances"),
    ("fct_misconduct_referrals", "misconduct_cases"),
    ("fct_recruitment_funnel", "applications"),
    ("fct_acting_up", "acting_up"),
    ("dim_person", "people"),
])
def test_fact_rows_reconcile_with_accepted_rows(wh, csv, mart, extract):
    audit = wh.query("select rows_read, rows_accepted from load_audit where extract = ?", [extract]).row(0)
    assert audit[0] == csv(extract).height
    assert wh.query(f"select count(*) as n from {mart}")["n"].item() == audit[1]


def test_misconduct_stages_are_nested(wh):
    bad = wh.query(
        """select count(*) as n from fct_misconduct_referrals
           where (is_meeting_or_hearing and not is_investigated) or (has_sanction and not is_meeting_or_hearing)""")
    assert bad["n"].item() == 0


def test_recruitment_stages_are_nested(wh, csv):
    f = wh.table("fct_recruitment_funnel")
    flags = ["passed_sift", "passed_assessment", "passed_vetting", "passed_medical", "was_offered", "has_joined"]
    for earlier, later in zip(flags, flags[1:], strict=False):
        assert f.filter(pl.col(later) & ~pl.col(earlier)).height == 0, (earlier, later)
    joined_csv = csv("applications").filter(pl.col("furthest_stage") == "JOINED").height
    assert f["has_joined"].sum() == joined_csv


def test_grievance_open_and_upheld_flags(wh, csv):
    g = csv("grievances")
    f = wh.table("fct_grievance_outcomes")
    assert f["is_open"].sum() == g.filter(pl.col("outcome").is_null()).height
    assert f["is_upheld"].sum() == g.filter(pl.col("outcome").is_in(["UPHELD", "PARTLY_UPHELD"])).height
    assert f.filter(pl.col("is_open"))["is_upheld"].null_count() == f["is_open"].sum()


def test_spoc_monthly_reconciles_with_grievances(wh, csv):
    g = csv("grievances").with_columns(_date("raised_date").alias("r"), _date("outcome_date").alias("o"))
    spoc = wh.table("fct_spoc_monthly")
    assert spoc["n_raised"].sum() == g.height
    assert spoc["n_closed"].sum() == g.filter(pl.col("o").is_not_null()).height
    # open at the end of one month, area by area, worked out from the CSV
    month_end = date(2024, 6, 30)
    open_csv = (g.filter((pl.col("r") <= month_end) & (pl.col("o").is_null() | (pl.col("o") > month_end)))
                .group_by("business_area_code").agg(pl.len().alias("n_open"),
                                                    ((pl.lit(month_end) - pl.col("r")).dt.total_days() > 90)
                                                    .sum().alias("n_open_overdue")))
    mart = spoc.filter(pl.col("month_start") == date(2024, 6, 1)).select(
        "business_area_code", "n_open", "n_open_overdue")
    joined = mart.join(open_csv, on="business_area_code", how="left", suffix="_csv").fill_null(0)
    assert (joined["n_open"] == joined["n_open_csv"]).all()
    assert (joined["n_open_overdue"] == joined["n_open_overdue_csv"]).all()
    areas = csv("business_areas").height
    months = wh.table("dim_calendar").height
    assert spoc.height == areas * months  # every area every month, zeros included


def _overdue_from_staging(wh: Warehouse, days: int) -> pl.DataFrame:
    """Open and overdue grievances at each month's end, area by area, worked out in polars from
    stg_grievances and the calendar: open = raised by the month end and not resolved by it;
    overdue = open and raised more than ``days`` days before it."""
    g = wh.query("select business_area_code, raised_date, outcome_date from stg_grievances")
    months = wh.query("select month_start, month_end_in_window as month_end from dim_calendar")
    grid = months.join(g, how="cross").filter(
        (pl.col("raised_date") <= pl.col("month_end"))
        & (pl.col("outcome_date").is_null() | (pl.col("outcome_date") > pl.col("month_end"))))
    return (grid.group_by("business_area_code", "month_start")
            .agg(((pl.col("month_end") - pl.col("raised_date")).dt.total_days() > days).sum().alias("want"))
            .filter(pl.col("want") > 0))


def test_service_standard_comes_from_the_build_settings(small_dir, wh, tmp_path):
    """Built with service_standard_days=60, n_open_overdue counts grievances open more than 60 days,
    month by month and area by area, exactly as polars counts them from stg_grievances."""
    from metrics.config import Settings
    from metrics.warehouse import build

    db = tmp_path / "sixty.duckdb"
    build(small_dir, db, as_of=date(2026, 10, 31), settings=Settings(service_standard_days=60), reference_dir=None,
          keep_staging=True)
    with Warehouse(db, check_version=False) as sixty:
        assert sixty.table("build_settings")["service_standard_days"].to_list() == [60]
        got = sixty.query("select business_area_code, month_start, n_open_overdue from fct_spoc_monthly")
        want = _overdue_from_staging(sixty, 60)
    joined = got.join(want, on=["business_area_code", "month_start"], how="left").fill_null(0)
    assert joined.filter(pl.col("n_open_overdue") != pl.col("want")).height == 0
    default = wh.query("select sum(n_open_overdue)::bigint as n from fct_spoc_monthly")["n"].item()
    assert default == _overdue_from_staging(wh, 90)["want"].sum()
    assert joined["n_open_overdue"].sum() > default  # 60 days really is another standard


def test_workforce_flows_reconcile_with_people(wh, csv):
    people = csv("people").with_columns(_date("join_date").alias("j"), _date("leave_date").alias("l"))
    flows = wh.table("fct_workforce_flows")
    for fy in (2016, 2020, 2025):
        start, end = date(fy, 4, 1), date(fy + 1, 3, 31)
        joiners = people.filter(pl.col("j").is_between(start, end)).height
        leavers = people.filter(pl.col("l").is_between(start, end)).height
        at_start = people.filter((pl.col("j") <= start) & (pl.col("l").is_null() | (pl.col("l") >= start))).height
        year = flows.filter(pl.col("financial_year") == fy)
        assert year["n_joiners"].sum() == joiners
        assert year["n_leavers"].sum() == leavers
        assert year["n_headcount_start"].sum() == at_start


def test_stride_latest_status_one_per_commitment(wh, csv):
    latest = wh.query("select * from fct_stride_progress where is_latest")
    assert sorted(latest["commitment_id"].to_list()) == list(range(1, 17))
    assert latest["theme"].null_count() == 0 and latest["commitment"].null_count() == 0
    raw = csv("stride_updates").with_columns(pl.col("commitment_id").cast(pl.Int64))
    last = raw.sort("board_date").group_by("commitment_id").last().sort("commitment_id")
    assert latest.sort("commitment_id")["rag_status"].to_list() == last["rag_status"].to_list()
    overdue = latest["milestones_due"] - latest["milestones_met"]
    assert (latest["n_milestones_overdue"] == overdue).all()


def test_iopc_progress_covers_all_fifteen_recommendations(wh):
    latest = wh.query("select distinct recommendation_id, recommendation from fct_iopc_progress where is_latest")
    assert sorted(latest["recommendation_id"].to_list()) == list(range(1, 16))
    assert latest["recommendation"].null_count() == 0


def test_event_characteristics_come_from_the_person(wh, csv):
    people = csv("people").select("person_id", "ethnicity_code")
    g = wh.table("fct_grievance_outcomes").select("person_id", "ethnicity").join(
        wh.table("dim_person").select("person_id", "ethnicity_code"), on="person_id")
    assert g.height == wh.table("fct_grievance_outcomes").height
    joined = g.join(people, on="person_id", suffix="_csv")
    assert (joined["ethnicity_code"] == joined["ethnicity_code_csv"]).all()


def test_rank_at_event_is_the_posting_on_that_date(wh, csv):
    """A grievance's rank_grade is the label of the posting covering its raised month."""
    labels = {"PC": "Constable", "PS": "Sergeant", "INSP": "Inspector", "CI": "Chief Inspector"}
    f = wh.query("select grievance_id, person_id, raised_date, rank_grade from fct_grievance_outcomes "
                 "where rank_grade in ('Constable', 'Sergeant', 'Inspector', 'Chief Inspector')")
    postings = csv("postings").with_columns(_date("start_date").alias("s"), _date("end_date").alias("e"))
    checked = 0
    for gid, pid, raised, rank in f.head(40).iter_rows():
        p = postings.filter((pl.col("person_id") == pid) & (pl.col("s") <= raised)
                            & (pl.col("e").is_null() | (pl.col("e") >= raised - timedelta(days=31))))
        assert rank in {labels.get(r) for r in p["rank_grade"]}, gid
        checked += 1
    assert checked > 0


def _in_post_at_month_ends(wh, postings: pl.DataFrame) -> pl.DataFrame:
    """Every posting x month whose end in the window (dim_calendar) falls inside the posting: the
    plain definition, worked out in polars (the marts avoid building this table)."""
    months = wh.query("select month_start, month_end_in_window from dim_calendar")
    spells = postings.with_columns(_date("start_date").alias("s"), _date("end_date").alias("e"))
    return spells.join(months, how="cross").filter(
        (pl.col("s") <= pl.col("month_end_in_window"))
        & (pl.col("e").is_null() | (pl.col("e") >= pl.col("month_end_in_window"))))


def test_team_months_count_the_postings_in_post_at_each_month_end(wh, csv):
    on_team = _in_post_at_month_ends(wh, csv("postings").filter(pl.col("team_code").is_not_null()))
    rank = pl.col("rank_grade")
    want = (on_team.group_by("month_start", "business_area_code", "team_code")
            .agg((rank == "PC").sum().alias("n_constables"), (rank == "PS").sum().alias("n_sergeants"),
                 (rank == "INSP").sum().alias("n_inspectors"), (~rank.is_in(["PC", "PS", "INSP"])).sum().alias("n_other"),
                 pl.len().alias("n_on_team"))
            .with_columns(pl.exclude("month_start", "business_area_code", "team_code").cast(pl.Int64))
            .sort("month_start", "team_code"))
    got = wh.query("""select month_start, business_area_code, team_code, n_constables, n_sergeants, n_inspectors,
                             n_other, n_on_team from fct_team_months order by month_start, team_code""")
    assert want.height > 1000  # the small sample has teams in post over many months
    assert got.equals(want)


def test_a_team_whose_postings_disagree_on_its_type_counts_them_all_and_shows_one_type(small_dir, tmp_path):
    """The contract does not forbid two team types on one team. Planted: every other posting of the
    busiest team given another type. Every posting is still counted (the plain definition, summed over
    types), and the type shown is the smallest type code among the postings that change the team
    (start, or end the month before) in the latest month of change up to that month."""
    from metrics.warehouse import build

    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    postings = pl.read_csv(data / "postings.csv", infer_schema=False).with_row_index("_n")
    team = postings.filter(pl.col("team_code").is_not_null())["team_code"].value_counts(sort=True)["team_code"][0]
    first_type = postings.filter(pl.col("team_code") == team)["team_type"][0]
    other = "NIGHTS" if first_type != "NIGHTS" else "RESPONSE"
    flipped = postings.filter(pl.col("team_code") == team)["_n"].gather_every(2)
    postings = postings.with_columns(
        pl.when(pl.col("_n").is_in(flipped.implode())).then(pl.lit(other)).otherwise("team_type").alias("team_type"))
    postings.drop("_n").write_csv(data / "postings.csv")
    db = tmp_path / "planted.duckdb"
    build(data, db, as_of=date(2026, 10, 31), reference_dir=None)
    with Warehouse(db) as planted:
        got = planted.query("select month_start, team_type, n_on_team from fct_team_months where team_code = ? "
                            "order by month_start", [team])
        in_post = _in_post_at_month_ends(planted, postings.filter(pl.col("team_code") == team))
    assert len(flipped) > 10 and set(got["team_type"]) == {first_type, other}
    counts = in_post.group_by("month_start").agg(pl.len().cast(pl.Int64).alias("n_on_team")).sort("month_start")
    assert got.select("month_start", "n_on_team").equals(counts)
    # each posting changes the team in its first month in post and in the month after its last
    spans = in_post.group_by("posting_id", "team_type").agg(pl.col("month_start").min().alias("first"),
                                                             pl.col("month_start").max().alias("last"))
    changes = pl.concat([spans.select("team_type", pl.col("first").alias("month")),
                         spans.select("team_type", pl.col("last").dt.offset_by("1mo").alias("month"))])
    change_type = changes.group_by("month").agg(pl.col("team_type").min()).sort("month")
    want = got.sort("month_start").join_asof(change_type, left_on="month_start", right_on="month", strategy="backward")
    assert want.filter(pl.col("team_type") != pl.col("team_type_right")).height == 0


def test_recruit_months_are_officers_within_140_days_of_joining(wh, csv):
    officers = csv("people").filter(pl.col("worker_type") == "OFFICER").select("person_id", _date("join_date").alias("j"))
    in_post = _in_post_at_month_ends(wh, csv("postings")).join(officers, on="person_id")
    days = (pl.col("month_end_in_window") - pl.col("j")).dt.total_days()
    want = (in_post.filter((pl.col("j") <= pl.col("month_end_in_window")) & (days < 140))
            .select("month_start", "person_id").unique().sort("month_start", "person_id"))
    got = wh.query("select month_start, person_id from fct_recruit_months order by month_start, person_id")
    assert want.height > 100
    assert got.equals(want)
